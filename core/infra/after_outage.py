"""After a queue outage: the messages the queue may have lost, queued again from the rows.

A Redis list hands a message to a worker by popping it (``BRPOP``). If the connection drops in
that instant (Redis stopped, restarted or failed over, a network cut), the message has left
Redis and never reached the worker: its capture stays PENDING, and only the periodic sweep,
``capture_stale_seconds`` later (five minutes by default), would queue it again. A capture row
is the durable form of its message, so once the queue answers again, every capture PENDING
since before the outage began is queued again: after the queue's backlog is worked off (such
a capture's message may still be waiting in it, and while processing a capture twice is safe,
it is wasted work), or after ``patience`` seconds however long the backlog stays.

A capture that was already past PENDING is in a worker's hands and no longer needs its
message; captures posted during the outage are held by the relay (:mod:`scanserve.infra.relay`)
and handed over by it. Every process that sees the queue come back does this (servers and
workers); the reset is a compare-and-set, so each capture is queued again once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("scanserve.queue")

# How long to wait for the backlog to empty before queuing the captures again anyway, and
# how often to look at it meanwhile.
PATIENCE_SECONDS = 60.0
POLL_SECONDS = 1.0


class AfterOutage:
    """Call :meth:`recovered` (an :class:`~scanserve.infra.outage.Outage` callback) when the
    queue answers again, with the outage's start on :func:`time.monotonic` (the outage's
    clock); a thread then waits for ``backlog()`` to reach 0 (at most
    :data:`PATIENCE_SECONDS`) and calls ``requeue(seconds)`` with how long ago the outage
    began."""

    def __init__(
        self,
        *,
        backlog: Callable[[], int],
        requeue: Callable[[float], object],
        unreachable: tuple[type[BaseException], ...],
    ):
        self._backlog = backlog
        self._requeue = requeue
        self._unreachable = unreachable
        self._lock = threading.Lock()
        self._since: float | None = None  # the latest outage's start not yet dealt with
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def recovered(self, began: float) -> None:
        with self._lock:
            # of several outages meanwhile, the latest start covers the captures of all
            self._since = began if self._since is None else max(self._since, began)
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="scanserve-after-outage", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + PATIENCE_SECONDS
        while time.monotonic() < deadline:
            try:
                if self._backlog() == 0:
                    break
            except self._unreachable:
                pass  # down again: its return calls recovered() again
            if self._stop.wait(POLL_SECONDS):
                return
        with self._lock:
            since, self._since, self._thread = self._since, None, None
        if since is None:
            return
        try:
            self._requeue(time.monotonic() - since)
        except Exception as exc:  # the database down meanwhile, say: the sweep does it later
            logger.warning(
                "captures waiting since the queue's outage not queued again (%s); the sweep "
                "will queue them",
                exc,
            )

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(5.0)
