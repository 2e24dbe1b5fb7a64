"""How ``scanserve serve`` runs the app under uvicorn: limits and timeouts set on purpose.

- HTTP/1.1 by h11 (not httptools, which has no limit on the size of a request head), whose
  ``h11_max_incomplete_event_size`` is ``max_header_bytes``: a longer request line and head
  is refused (``400``) before it is buffered any further. The gateway then counts fields and
  bytes again (``431``), also under servers other than this one.
- A connection must send its whole request head within ``header_timeout_seconds`` of its
  first byte (or of its opening), else it is closed; uvicorn itself waits forever for a head
  that never completes. The body has ``body_timeout_seconds`` (the gateway's ``408``). Idle
  kept-alive connections close after ``keep_alive_seconds``.
- ``proxy_headers`` is off: uvicorn would trust ``X-Forwarded-For`` from loopback. The
  gateway honours it only from ``trusted_proxies``.
- Logging is :mod:`scanserve.logconfig`'s (``log_config``), whose filter redacts the values of
  query parameters that carry credentials (``api_key``, ``token``, ...) in access-log lines.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .settings import Settings


class _GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head does not arrive in
    time (slowloris)."""

    header_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            self._arm_head_timer()  # a head begun (or a new one after keep-alive)
        else:
            self._disarm_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._disarm_head_timer()  # the keep-alive timeout takes over until the next byte

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.info("closed a connection that sent no complete request head in time")
            self.transport.close()


def uvicorn_config(
    app: Any, settings: Settings, *, host: str, port: int, log_config: dict[str, Any] | None = None
) -> uvicorn.Config:
    protocol = type(
        "ScanserveH11Protocol",
        (_GuardedH11Protocol,),
        {"header_timeout": settings.header_timeout_seconds},
    )
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        # with our log_config, its levels stand (SCANSERVE_LOG_LEVEL)
        log_level=None if log_config else "info",
        log_config=log_config,
        http=protocol,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_keep_alive=max(1, round(settings.keep_alive_seconds)),
        proxy_headers=False,
        server_header=False,
    )


def run(
    app: Any, settings: Settings, *, host: str, port: int, log_config: dict[str, Any] | None = None
) -> None:
    """Serve ``app`` until SIGINT/SIGTERM."""
    config = uvicorn_config(app, settings, host=host, port=port, log_config=log_config)
    uvicorn.Server(config).run()


class WorkerH11Protocol(_GuardedH11Protocol):
    """The guarded protocol for ``serve --workers N``: uvicorn starts each process by pickling
    its config, so the protocol class must be importable by name; each process reads its
    header timeout from the environment, as it builds its app (``scanserve.asgi``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.header_timeout = _worker_settings().header_timeout_seconds
        super().connection_made(transport)


_WORKER_SETTINGS: list[Settings] = []


def _worker_settings() -> Settings:
    if not _WORKER_SETTINGS:
        _WORKER_SETTINGS.append(Settings())
    return _WORKER_SETTINGS[0]


def run_workers(
    settings: Settings,
    workers: int,
    *,
    host: str,
    port: int,
    log_config: dict[str, Any] | None = None,
) -> None:
    """Serve with ``workers`` processes (uvicorn's supervisor restarts one that dies), each
    building its app from the environment with :func:`scanserve.asgi.served_app`."""
    config = uvicorn_config(
        "scanserve.asgi:served_app", settings, host=host, port=port, log_config=log_config
    )
    config.factory = True
    config.workers = workers
    config.http = WorkerH11Protocol
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=[config.bind_socket()]).run()
