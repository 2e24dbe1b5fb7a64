"""The HTTP/1.1 protocol's own cost per request, in process: no sockets, no load generator.

    python bench/protocol.py [--asyncio]

Feeds one keep-alive GET at a time to each uvicorn protocol class through a fake transport
and a trivial ASGI app, and prints the CPU time per request (the best of 5 rounds of 5,000):
uvicorn's h11 and httptools protocols as they come, and scanserve's guarded httptools one
(``scanserve.infra.server``). On uvloop unless ``--asyncio``. A way to see what the server adds to
every request that is steadier than wrk on a busy machine.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from scanserve.infra.server import GuardedHttpToolsProtocol

REQUEST = (
    b"GET /scanner/api/v1/captures/U6hfQtTpbmG5Gdnpr6akJD HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
    b"X-API-Key: csb_abcdefghijklmnopqrstuvwxyzabcdef_12345678\r\n\r\n"
)
BODY = b'{"id": "U6hfQtTpbmG5Gdnpr6akJD"}' * 20


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes += 1

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def app(scope: Any, receive: Any, send: Any) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})


async def requests(protocol_class: type, n: int) -> None:
    config = uvicorn.Config(app, ws="none", log_config=None)
    config.load()
    protocol = protocol_class(config, ServerState(), {})
    transport = Transport()
    protocol.connection_made(transport)
    for _ in range(n):
        protocol.data_received(REQUEST)
        await asyncio.sleep(0)  # the request's task runs and answers
        await asyncio.sleep(0)
    assert transport.writes >= n, protocol_class
    assert not transport.closed, protocol_class
    protocol.connection_lost(None)


async def main() -> None:
    classes = {
        "uvicorn h11": H11Protocol,
        "uvicorn httptools": HttpToolsProtocol,
        "scanserve (guarded httptools)": GuardedHttpToolsProtocol,
    }
    best = dict.fromkeys(classes, float("inf"))
    n = 5000
    for _ in range(5):  # interleaved, so that a busy moment falls on all of them
        for name, cls in classes.items():
            await requests(cls, 200)
            started = time.process_time()
            await requests(cls, n)
            best[name] = min(best[name], (time.process_time() - started) / n)
    for name, seconds in best.items():
        print(f"{name:32s} {seconds * 1e6:6.1f} us of CPU a request")


if __name__ == "__main__":
    if "--asyncio" in sys.argv:
        asyncio.run(main())
    else:
        import uvloop

        uvloop.run(main())
