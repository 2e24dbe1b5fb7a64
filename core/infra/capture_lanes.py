"""The embedded queue's capture lanes: captures posted to this process, processed by threads
of this process, handed over in memory.

Inside ``scanserve serve`` with the embedded queue the server that accepts a capture is the
one that processes it, so the message need not go through the queue's SQLite file: a
committed PENDING row is already the durable form of the message (``Queue.recover`` queues
every unfinished capture when the server starts, so a crash loses none). In memory the
hand-over costs no write of its own, and a waiting consumer thread wakes at once instead of
at its next poll of the queue file (Huey polls a SQLite queue; at a few captures a second
that poll was most of a capture's time from accepted to COMPLETED).

Two lanes, as on the shared queue: the slow lane takes the expensive work (captures that
follow a URL, seconds each or a timeout, and uploaded images to decode), so nobody's plain
barcodes wait behind one tenant's slow links or large images. Captures queued by other
processes (a CLI command) still arrive through Huey's consumer.

Fair between organisations (:class:`FairQueue`): each lane keeps one queue per organisation
and its threads take from them in turn (round-robin), so a capture of organisation B waits
for at most one capture of each other organisation with work waiting, never behind the whole
flood of organisation A; and an organisation may occupy at most ``per_org`` of a lane's
threads at once, so with ``per_org`` below the lane's threads another organisation's capture
always finds a thread within one capture's time, even when A's captures each take until the
URL timeout.
"""

from __future__ import annotations

import collections
import functools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from scanserve.infra import metrics
from scanserve.storage.database import outage_of, through_outages

logger = logging.getLogger("scanserve.queue")


class FairQueue:
    """Items queued per organisation (any hashable key; None is one more key), taken in
    turn across organisations, with at most ``per_org`` of one organisation's items taken
    and not yet :meth:`done` at once (0: no cap).

    :meth:`take` blocks until an item may be taken (or the queue is closed: None). The taker
    calls :meth:`done` with the item's key when it has finished with it."""

    def __init__(self, per_org: int = 0):
        self.per_org = per_org
        self._waiting: dict[Hashable, collections.deque[Any]] = {}
        # organisations with items waiting, in the order they get their next turn
        self._turns: collections.deque[Hashable] = collections.deque()
        self._running: collections.Counter[Hashable] = collections.Counter()
        self._size = 0
        self._closed = False
        self._cond = threading.Condition(threading.Lock())

    def put(self, org: Hashable, item: Any) -> None:
        with self._cond:
            waiting = self._waiting.get(org)
            if waiting is None:
                waiting = self._waiting[org] = collections.deque()
                self._turns.append(org)
            waiting.append(item)
            self._size += 1
            self._cond.notify()

    def _next(self) -> tuple[Hashable, Any] | None:
        for _ in range(len(self._turns)):
            org = self._turns[0]
            self._turns.rotate(-1)  # whoever is served (or skipped) goes to the back
            if self.per_org and self._running[org] >= self.per_org:
                continue
            waiting = self._waiting[org]
            item = waiting.popleft()
            if not waiting:
                del self._waiting[org]
                self._turns.pop()  # it was just rotated to the back
            self._running[org] += 1
            self._size -= 1
            return org, item
        return None

    def take(self) -> tuple[Hashable, Any] | None:
        """The next item by turn, with its organisation; None once closed."""
        with self._cond:
            while not self._closed:
                found = self._next()
                if found is not None:
                    return found
                self._cond.wait()
            return None

    def done(self, org: Hashable) -> None:
        with self._cond:
            self._running[org] -= 1
            if self._running[org] <= 0:
                del self._running[org]
            if self._size:
                self._cond.notify()  # a capped organisation's next item may go now

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def qsize(self) -> int:
        return self._size

    def running(self, org: Hashable) -> int:
        """How many of ``org``'s items are taken and not done (for tests and metrics)."""
        with self._cond:
            return self._running.get(org, 0)


class _Lane:
    def __init__(self, name: str, threads: int, per_org: int, process: Callable[..., None]):
        self.name = name
        self.label = "slow" if name.endswith("-slow") else "main"  # the metrics' lane
        self.items = FairQueue(per_org if 0 < per_org < threads else 0)
        self._process = process
        self._stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._work, name=f"scanserve-{name}-{n}", daemon=True)
            for n in range(threads)
        ]

    def _work(self) -> None:
        while (taken := self.items.take()) is not None:
            org, item = taken
            metrics.recorder().lane_waiting(self.label, -1)
            try:
                # a database outage is waited out (capped back-off, one log line each way):
                # the capture stays in hand and goes on once the database is back
                through_outages(functools.partial(self._process, *item), stopping=self._stopping)
            except Exception as exc:  # the pipeline fails captures itself; else a bug of ours
                if outage_of(exc) is None:
                    logger.exception(
                        "capture %s: unexpected error in the %s lane", item[0], self.name
                    )
            finally:
                self.items.done(org)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        """Every thread ends after the capture it is on; captures still waiting stay PENDING
        in the database, and the next start recovers them."""
        self._stopping.set()
        self.items.close()

    def join(self, deadline: float) -> None:
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class CaptureLanes:
    def __init__(
        self,
        process: Callable[..., None],
        threads: int,
        slow_threads: int,
        *,
        per_org: int = 0,
        slow_per_org: int = 0,
    ):
        self.main = _Lane("captures", threads, per_org, process)
        self.slow = _Lane("captures-slow", slow_threads, slow_per_org, process)

    def put(
        self,
        capture_short_id: str,
        *,
        slow: bool,
        interpretation: Any = None,
        org: Any = None,
        request_id: str | None = None,
        trace: dict[str, str] | None = None,
    ) -> None:
        """Queue a capture; ``process`` gets its short id, interpretation, request id and
        trace context."""
        lane = self.slow if slow else self.main
        metrics.recorder().lane_waiting(lane.label, 1)
        lane.items.put(org, (capture_short_id, interpretation, request_id, trace))

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
