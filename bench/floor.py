"""The floor: a bare Starlette app that answers each path with bytes recorded from scanserve.

    python bench/floor.py RESPONSES.json PORT [WORKERS]

RESPONSES.json maps a request path to ``[status, content_type, body]``. It runs under the same
ASGI server as ``scanserve serve`` (uvicorn, with uvloop and httptools when installed), so the
ratio scanserve / floor is what scanserve's own work costs.
"""

from __future__ import annotations

import json
import os
import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def build() -> Starlette:
    with open(os.environ["SCANSERVE_BENCH_FLOOR"], encoding="utf-8") as f:
        recorded = {path: (s, ct, body.encode()) for path, (s, ct, body) in json.load(f).items()}

    async def answer(request: Request) -> Response:
        status, content_type, body = recorded.get(
            request.url.path, (404, "text/plain", b"not recorded")
        )
        return Response(body, status_code=status, media_type=content_type)

    return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])


if __name__ == "__main__":
    import uvicorn

    os.environ["SCANSERVE_BENCH_FLOOR"] = sys.argv[1]
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    uvicorn.run(
        "floor:build",
        factory=True,
        host="127.0.0.1",
        port=int(sys.argv[2]),
        workers=workers,
        log_level="warning",
        app_dir=os.path.dirname(os.path.abspath(__file__)),
    )
