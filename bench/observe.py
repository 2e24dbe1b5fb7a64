"""What the request id, the access line and the metrics cost a request, in process.

    python bench/observe.py

CPU time per ``GET /captures/{id}`` through the whole ASGI app (gateway, fast path, handler,
SQLite), called directly in a loop without sockets, best of five rounds: without
:class:`scanserve.http.observe.ObserveMiddleware` at all, with it and metrics off (the
default: request id and access line), and with metrics on (prometheus-client's multiprocess
files). Each in a process of its own (metrics are chosen per process); the access lines go
to a file, as a server's go to its log. ``bench/run.py --metrics`` gives the same comparison
under wrk, where the shared machine's noise is larger than the difference.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROUNDS, REQUESTS = 5, 2000
VARIANTS = ("without", "off", "on")


def _measure(variant: str, data_dir: Path) -> float:
    if variant == "on":
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bench-metrics-")
    from run import seed

    from scanserve import app as app_module
    from scanserve.infra.logconfig import configure_logging
    from scanserve.settings import Settings

    configure_logging("json", "INFO")  # stderr: a file (see main)
    fx = seed(data_dir)
    if variant == "without":
        app_module._observe_outermost = lambda app, routes: None  # type: ignore[assignment]
    settings = Settings(
        data_dir=data_dir,
        queue="immediate",
        load_entrypoint_plugins=False,
        rate_limit_per_minute=10**9,
        rate_limit_per_day=10**9,
        metrics_port=0 if variant == "on" else None,
    )
    app = app_module.create_app(settings)
    path = f"/scanner/api/v1/captures/{fx.capture}"
    headers = [(b"host", b"bench"), (b"x-api-key", fx.key.encode())]

    async def one() -> int:
        status = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": list(headers),
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
        }
        await app(scope, receive, send)
        return status

    async def rounds() -> float:
        for _ in range(200):  # warm up: plans, caches, connections
            assert await one() == 200
        best = float("inf")
        for _ in range(ROUNDS):
            start = time.process_time()
            for _ in range(REQUESTS):
                await one()
            best = min(best, (time.process_time() - start) / REQUESTS)
        return best

    return asyncio.run(rounds())


def main() -> None:
    if len(sys.argv) == 3:  # one variant, in this process
        print(f"{_measure(sys.argv[1], Path(sys.argv[2])) * 1e6:.1f}")
        return
    figures = {}
    for variant in VARIANTS:
        with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "log", "w") as log:
            out = subprocess.run(
                [sys.executable, __file__, variant, str(Path(tmp) / "data")],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                check=True,
            )
            figures[variant] = float(out.stdout.strip().splitlines()[-1])
    print(f"GET /captures/{{id}} in process, CPU us a request (best of {ROUNDS} x {REQUESTS}):")
    print(f"  without the observe middleware  {figures['without']:8.1f}")
    print(f"  request id + access line        {figures['off']:8.1f}  (metrics off: the default)")
    print(f"  + metrics on                    {figures['on']:8.1f}")


if __name__ == "__main__":
    main()
