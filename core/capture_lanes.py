"""The embedded queue's capture lanes: captures posted to this process, processed by threads
of this process, handed over in memory.

Inside ``scanserve serve`` with the embedded queue the server that accepts a capture is the
one that processes it, so the message need not go through the queue's SQLite file: a
committed PENDING row is already the durable form of the message (``Queue.recover`` queues
every unfinished capture when the server starts, so a crash loses none). In memory the
hand-over costs no write of its own, and a waiting consumer thread wakes at once instead of
at its next poll of the queue file (Huey polls a SQLite queue; at a few captures a second
that poll was most of a capture's time from accepted to COMPLETED).

Two lanes, as on the shared queue: captures that follow a URL (seconds each, or a timeout)
have their own threads, so nobody's plain barcodes wait behind one tenant's slow links.
Captures queued by other processes (a CLI command) still arrive through Huey's consumer.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from .storage.database import outage_of, through_outages

logger = logging.getLogger("scanserve.queue")

_STOP = object()


class _Lane:
    def __init__(self, name: str, threads: int, process: Callable[..., None]):
        self.name = name
        self.items: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._process = process
        self._stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._work, name=f"scanserve-{name}-{n}", daemon=True)
            for n in range(threads)
        ]

    def _work(self) -> None:
        while (item := self.items.get()) is not _STOP and not self._stopping.is_set():
            try:
                # a database outage is waited out (capped back-off, one log line each way):
                # the capture stays in hand and goes on once the database is back
                through_outages(functools.partial(self._process, *item), stopping=self._stopping)
            except Exception as exc:  # the pipeline fails captures itself; else a bug of ours
                if outage_of(exc) is None:
                    logger.exception(
                        "capture %s: unexpected error in the %s lane", item[0], self.name
                    )

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        """Every thread ends after the capture it is on; captures still waiting stay PENDING
        in the database, and the next start recovers them."""
        self._stopping.set()
        for _ in self.threads:
            self.items.put(_STOP)

    def join(self, deadline: float) -> None:
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class CaptureLanes:
    def __init__(self, process: Callable[..., None], threads: int, slow_threads: int):
        self.main = _Lane("captures", threads, process)
        self.slow = _Lane("captures-slow", slow_threads, process)

    def put(self, capture_short_id: str, *, slow: bool, interpretation: Any = None) -> None:
        (self.slow if slow else self.main).items.put((capture_short_id, interpretation))

    def start(self) -> None:
        self.main.start()
        self.slow.start()

    def stop(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for lane in (self.main, self.slow):
            lane.stop()
        for lane in (self.main, self.slow):
            lane.join(deadline)

    def waiting(self) -> int:
        return self.main.items.qsize() + self.slow.items.qsize()

    def threads(self) -> list[threading.Thread]:
        return self.main.threads + self.slow.threads
