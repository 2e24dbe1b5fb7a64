"""The app ``scanserve serve --workers N`` runs in each server process, built from the
environment there (``uvicorn scanserve.asgi:served_app --factory`` does the same)."""

from __future__ import annotations

from typing import Any

from scanserve.app import create_app
from scanserve.settings import Settings


def served_app() -> Any:
    return create_app(Settings(), start_queue=True)
