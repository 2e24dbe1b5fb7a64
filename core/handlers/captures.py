"""Scanner Captures operations."""

from __future__ import annotations

from typing import Any

from .. import captures, untrusted, views
from ..context import principal, read, services


def create_capture(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    untrusted.check_free_forms(body, ["gs1_dl_data"], services().settings)
    return views.capture_view(captures.create(services(), principal(), body)), 201


async def get_capture(id_: str) -> dict[str, Any]:
    return views.capture_view(await read(captures.get_row, principal(), id_))


def retry_capture(id_: str) -> dict[str, Any]:
    return views.capture_view(captures.retry(services(), principal(), id_))
