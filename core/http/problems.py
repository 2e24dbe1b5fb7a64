"""Answering a refusal as problem+json straight on the ASGI ``send``, for the middlewares
that answer before (or instead of) the app: the gateway and idempotency."""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.types import Send

from scanserve.errors import (
    DEFAULT_PROBLEM_TYPE_BASE,
    PROBLEM_CONTENT_TYPE,
    ScanserveError,
    problem_body,
)


async def send_problem(
    send: Send,
    error: ScanserveError,
    extra_headers: Mapping[str, str],
    *,
    type_base: str = DEFAULT_PROBLEM_TYPE_BASE,
) -> None:
    body = json.dumps(problem_body(error, type_base=type_base)).encode()
    headers = {**error.headers, **extra_headers, "content-type": PROBLEM_CONTENT_TYPE}
    headers["content-length"] = str(len(body))
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        }
    )
    await send({"type": "http.response.body", "body": body})
