"""The queue's outbox relay: messages the queue could not take, handed over once it can.

A capture is written (PENDING) and committed before its message is queued, so when the
queue is down (Redis stopped or restarting) the row is already the durable message and the
request still answers ``201``. The message itself waits here, in memory, and a relay thread
hands it over with exponential back-off (capped at a few seconds) once the queue answers
again, so a capture accepted during an outage is processed within seconds of the queue's
return rather than at the next periodic sweep. While the queue is known to be down, new
messages are not tried against it at all (no request waits for a dead Redis); the relay's
own tries are the probes.

If the process dies while holding messages, nothing is lost either: the rows are still
PENDING, and the sweep (``capture_stale_seconds``) or the embedded queue's start-up
recovery queues them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from scanserve.infra.outage import Outage

logger = logging.getLogger("scanserve.queue")


class Relay:
    def __init__(
        self, outage: Outage, unreachable: tuple[type[BaseException], ...], name: str = "relay"
    ):
        self.outage = outage
        self._unreachable = unreachable
        self._name = name
        # (kind, id) -> the call that queues it; one message per object however often it is
        # queued meanwhile (a second message would find the capture claimed or done anyway)
        self._held: dict[tuple[str, str], Callable[[], object]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def send(self, key: tuple[str, str], deliver: Callable[[], object]) -> None:
        """Queue a message now (``deliver()``), or hold it for the relay when the queue is
        down or cannot take it. Never raises for an unreachable queue."""
        if not self.outage.down:
            try:
                deliver()
            except self._unreachable as exc:
                self.outage.failed(exc)
            else:
                return
        self._hold(key, deliver)

    def held(self) -> int:
        return len(self._held)

    def _hold(self, key: tuple[str, str], deliver: Callable[[], object]) -> None:
        with self._lock:
            self._held[key] = deliver
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._run, name=f"scanserve-{self._name}", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        delivered = 0
        while not self._stop.is_set():
            wait = self.outage.wait_seconds()
            if wait and self._stop.wait(wait):
                break
            with self._lock:
                if not self._held:
                    self._thread = None  # the next held message starts another
                    break
                batch = list(self._held.items())
            try:
                for key, deliver in batch:
                    deliver()
                    with self._lock:
                        if self._held.get(key) is deliver:
                            del self._held[key]
                    delivered += 1
                    self.outage.recovered()
            except self._unreachable as exc:
                self.outage.failed(exc)
            except Exception:  # a bug of ours: keep the message and try again later
                logger.exception("the queue relay could not hand a message over")
                self.outage.failed("unexpected error")
        if delivered:
            logger.info("handed %d message(s) held during the outage to the queue", delivered)

    def stop(self) -> None:
        """Stop the relay thread; messages still held stay PENDING in the database, for the
        sweep or the next start's recovery."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(5.0)
        if self._held:
            logger.warning(
                "stopping with %d message(s) the queue never took; their captures stay "
                "PENDING for the sweep",
                len(self._held),
            )
