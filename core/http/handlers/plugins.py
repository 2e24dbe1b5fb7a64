"""Scanner Plugins operations."""

from __future__ import annotations

from typing import Any

from scanserve.http.context import services
from scanserve.plugins.manager import report


def list_plugins() -> dict[str, Any]:
    return report(services().plugins)
