"""Scanner Captures operations."""

from __future__ import annotations

from typing import Any

from scanserve.domain import captures
from scanserve.generated import shapes
from scanserve.http import presenters, untrusted
from scanserve.http.context import principal, read, services


def create_capture(body: dict[str, Any]) -> tuple[shapes.CaptureResponse, int]:
    untrusted.check_free_forms(body, ["gs1_dl_data"], services().settings)
    body = captures.naming_one_session(body)
    return presenters.capture_view(captures.create(services(), principal(), body)), 201


async def get_capture(id_: str) -> shapes.CaptureResponse:
    return presenters.capture_view(await read(captures.get_row, principal(), id_))


def retry_capture(id_: str) -> shapes.CaptureResponse:
    return presenters.capture_view(captures.retry(services(), principal(), id_))
