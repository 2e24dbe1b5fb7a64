"""The floor: a bare Starlette app that answers each path with bytes recorded from scanserve.

    python bench/floor.py RESPONSES.json PORT [WORKERS]

RESPONSES.json maps a request path to ``[status, content_type, body]``. It is served exactly
as ``scanserve serve`` serves scanserve, through ``scanserve.infra.server`` with the settings read
from the same ``SCANSERVE_*`` environment: the same uvicorn configuration (the guarded
httptools protocol, uvloop, keep-alive and head limits), the same logging (one redacted
access-log line a request) and, with WORKERS, the same worker processes. So the ratio
scanserve / floor is what scanserve's app costs, not a difference between servers.
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
    from scanserve.infra import server
    from scanserve.infra.logconfig import configure_logging, logging_config
    from scanserve.settings import Settings

    os.environ["SCANSERVE_BENCH_FLOOR"] = sys.argv[1]
    port = int(sys.argv[2])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    settings = Settings()
    # as `scanserve serve` sets it up (cli.common.setup_logging)
    configure_logging(settings.log_format, settings.log_level)
    log_config = logging_config(settings.log_format, settings.log_level)
    if workers == 1:
        server.run(
            build(), settings, host="127.0.0.1", port=port, log_config=log_config, access_log=True
        )
    else:
        # worker processes import this module by name (uvicorn spawns them)
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        server.run_workers(
            settings,
            workers,
            host="127.0.0.1",
            port=port,
            log_config=log_config,
            app_factory="floor:build",
            access_log=True,  # uvicorn's line a request, as scanserve writes its own
        )
