"""Lower layers' failures mapped to the error the client is answered with, in one place, and
the outermost guard that makes sure every answer is a problem document.

:func:`problem_for` is the boundary: the app's error handlers, the gateway's last resort
and :class:`LastResort` all call it.

- a :class:`~scanserve.errors.ScanserveError` is itself;
- the database down, restarting, locked past its busy timeout (peewee, sqlite3, psycopg:
  :func:`scanserve.storage.database.outage_of` reads them) and a Redis server that does not
  answer (the queue's, the rate limits') are ``503 service_unavailable``, retryable, with
  ``Retry-After``: nothing of the request was stored, or the transaction would not commit;
- no space left (the database's disk, the data directory) is ``507 insufficient_storage``;
- anything else is a bug of ours: ``500 internal_error``, not retryable, traceback logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import redis.exceptions
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scanserve.errors import (
    DEFAULT_PROBLEM_TYPE_BASE,
    PROBLEM_CONTENT_TYPE,
    InsufficientStorage,
    InternalError,
    ScanserveError,
    ServiceUnavailable,
    problem_body,
)
from scanserve.storage.database import DOWN, FULL, free_disk_bytes, note_failure

logger = logging.getLogger("scanserve.faults")

_REDIS_DOWN = (
    redis.exceptions.ConnectionError,  # refused, reset, closed (TimeoutError's sibling)
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    redis.exceptions.TryAgainError,
    redis.exceptions.ReadOnlyError,  # a replica while a failover goes on
)


def problem_for(exc: BaseException) -> ScanserveError:
    """The error to answer ``exc`` with (see the module docstring). Logs what it maps: an
    outage through :class:`~scanserve.storage.database.Outage` (once per outage), a bug
    with its traceback."""
    if isinstance(exc, ScanserveError):
        return exc
    kind = note_failure(exc)
    if kind == FULL:
        logger.error("no space left: %s", exc)
        return InsufficientStorage()
    if kind == DOWN:
        return ServiceUnavailable(
            {"database": "unavailable"},
            "The database is unavailable or restarting; nothing was stored. Retry shortly.",
        )
    if isinstance(exc, _REDIS_DOWN):
        logger.warning("a Redis server did not answer: %s", exc)
        return ServiceUnavailable(
            {"redis": "unavailable"},
            "A Redis server the request needs (the queue or the rate limits) does not answer; "
            "retry shortly.",
        )
    logger.error("unhandled exception", exc_info=exc)
    return InternalError()


def problem_message(
    error: ScanserveError, type_base: str = DEFAULT_PROBLEM_TYPE_BASE
) -> tuple[Message, Message]:
    """The ASGI ``http.response.start`` and ``http.response.body`` messages of ``error``."""
    body = json.dumps(problem_body(error, type_base=type_base)).encode()
    headers = {k.lower(): v for k, v in error.headers.items()}
    headers["content-type"] = PROBLEM_CONTENT_TYPE
    headers["content-length"] = str(len(body))
    start = {
        "type": "http.response.start",
        "status": error.status,
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
    }
    return start, {"type": "http.response.body", "body": body}


class LastResort:
    """The outermost middleware, in place of Connexion's ``ServerErrorMiddleware``: an
    exception that gets past every handler (one raised in a middleware outside Connexion's
    exception middleware, or by an error handler itself) is answered as a problem document,
    if no answer has started; otherwise the connection is closed by the server, as there is
    no way to mend a half-sent answer. (Connexion's own, on Starlette 1.x, answered plain
    text after failing inside itself: ``'coroutine' object is not callable``.)"""

    def __init__(self, app: ASGIApp, type_base: str = DEFAULT_PROBLEM_TYPE_BASE, **_: Any):
        self.app = app
        self.type_base = type_base

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception as exc:
            if started:
                logger.exception("exception after the answer started")
                raise
            try:
                error = problem_for(exc)
            except Exception:  # the guard of the guard: never plain text
                error = InternalError()
            start, body = problem_message(error, self.type_base)
            await send(start)
            await send(body)


class DiskGuard:
    """Whether the data directory's filesystem has less than ``min_free_mb`` free: then the
    gateway refuses writes with ``507`` before they start (readiness says ``503`` the same
    while), rather than let a write fail halfway between the database, the queue and the
    object store. Looked at (``statvfs``, a few microseconds) at most once a second, and
    only for writes. ``min_free_mb`` 0 turns it off."""

    def __init__(self, path: Path, min_free_mb: int, interval: float = 1.0):
        self.path = path
        self.min_free = min_free_mb * 1024 * 1024
        self.interval = interval
        self._checked = float("-inf")
        self._low = False
        self._lock = threading.Lock()

    def low(self) -> bool:
        if self.min_free <= 0:
            return False
        now = time.monotonic()
        if now - self._checked >= self.interval:
            with self._lock:
                try:
                    low = free_disk_bytes(self.path) < self.min_free
                except OSError:
                    low = False  # not ours to judge: readiness reports it
                if low != self._low:
                    (logger.error if low else logger.warning)(
                        "data directory %s: %s",
                        self.path,
                        "free space below the minimum, writes refused"
                        if low
                        else "free space is back, writes accepted",
                    )
                self._low, self._checked = low, now
        return self._low

    def refusal(self) -> InsufficientStorage | None:
        if not self.low():
            return None
        return InsufficientStorage(
            "The server's disk is almost full; nothing was stored. Retry once space is freed."
        )
