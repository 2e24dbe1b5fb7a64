"""The background queue: Huey.

Why Huey: one small, well-kept library that runs the same tasks embedded (SQLite storage, a
consumer in threads inside ``scanserve serve``, so the quick start needs no other process) and
distributed (Redis storage, separate ``scanserve worker`` processes), with periodic tasks
built in. Celery and RQ need a broker even for the embedded case; Dramatiq has no SQLite
broker.

The database, not the queue, is the truth about a capture. A task carries only a capture's
short id; a worker killed mid-task loses that message, and the periodic sweep re-queues
every capture left in a non-terminal state past ``capture_stale_seconds``, and every
session's vision extraction left ``processing`` past ``extraction_stale_seconds``. Every pipeline
step is safe to run twice. A starting worker sweeps once at once, so recovery does not wait
for the next minute; the embedded queue, which runs inside the only server there is, goes
further at start-up and queues every unfinished capture at once, whatever its age
(:meth:`Queue.recover`): a PENDING row is the durable form of its message. So the embedded
queue hands the captures posted to its own server to that server's threads in memory
(:mod:`scanserve.capture_lanes`); Huey's SQLite file carries the rest (extraction, periodic
tasks, captures queued by other processes).

Signals: only ``scanserve worker`` lets Huey's consumer install its SIGINT/SIGTERM handlers.
Inside ``scanserve serve`` the process belongs to uvicorn, whose handlers must stay in place
or the server ignores SIGTERM; under a test client the app starts outside the main thread,
where Python refuses to install handlers at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer
from huey.storage import SqliteStorage

from .capture_lanes import CaptureLanes
from .storage.database import private_file

if TYPE_CHECKING:
    from .services import Services

logger = logging.getLogger("scanserve.queue")


SLOW_LANE_SUFFIX = "_slow"


def _make_huey(services: Services, suffix: str = "") -> Huey:
    settings = services.settings
    name = settings.queue_name + suffix
    if settings.queue == "immediate":
        return MemoryHuey(name, immediate=True, results=False)
    if settings.queue == "redis":
        return _RedisQueue(name, url=settings.redis_url, results=False)
    path = private_file(settings.data_dir / "queue.db")
    return SqliteHuey(name, filename=str(path), results=False, storage_class=_QueueStorage)


class _RedisQueue(RedisHuey):
    """Huey on Redis without revocation: before each task Huey reads the task's revocation
    flags (HMGET) and after it deletes the task's own (HDEL), two of the three round trips a
    capture made to Redis, for a feature scanserve never uses. Nothing revokes a queued task:
    the capture row is the truth, and a message for a capture already claimed or done finds
    it so and does nothing (``scanserve.pipeline``). Revoking raises, so it cannot silently
    do nothing."""

    _REVOKE_PREFIX = "r:"  # Huey's Task.revoke_id

    def is_revoked(self, task: Any, timestamp: Any = None, peek: bool = True) -> bool:
        return False

    def delete(self, key: str) -> Any:
        if key.startswith(self._REVOKE_PREFIX):
            return False  # the flag cleared after every task: never set here
        return super().delete(key)

    def revoke(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("scanserve's Redis queue does not revoke tasks")

    revoke_all = revoke_by_id = revoke


class _QueueStorage(SqliteStorage):
    """Huey's SQLite storage with ``synchronous=NORMAL`` (as scanserve.db has): in WAL mode
    a commit then waits for no fsync. Huey's default (FULL) fsyncs every enqueue while
    holding the one lock every request thread and consumer thread share, which capped
    ingestion at about a hundred captures a second. What a power loss could take (the last
    messages) the capture rows still hold: the embedded queue's start-up recovery queues
    every unfinished capture again (:meth:`Queue.recover`)."""

    def _create_connection(self) -> Any:
        conn = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


def _every(seconds: int) -> Callable[[datetime], bool]:
    """A periodic-task schedule for ``sweep_interval_seconds``. Huey looks at periodic tasks
    once a minute, so the interval is rounded to whole minutes, at least one."""
    minutes = max(1, round(seconds / 60))
    if minutes == 1:
        return crontab(minute="*")
    return lambda when: (when.hour * 60 + when.minute) % minutes == 0


class _Consumer(Consumer):
    """Huey's consumer, installing its signal handlers only when told to (see the module
    docstring)."""

    def __init__(self, huey: Huey, *, handle_signals: bool, **options: Any) -> None:
        self._handle_signals = handle_signals
        super().__init__(huey, **options)

    def _set_signal_handlers(self) -> None:
        if self._handle_signals:
            super()._set_signal_handlers()


class Queue:
    def __init__(self, services: Services):
        self.services = services
        self.huey = _make_huey(services)
        # The slow lane: captures whose processing follows a URL (seconds, or a timeout, per
        # capture) have their own queue and consumer threads, so a tenant scanning slow links
        # never holds up anyone's plain barcodes (see enqueue_capture).
        self.slow_huey = _make_huey(services, SLOW_LANE_SUFFIX)
        self._consumer: Consumer | None = None
        self._slow_consumer: Consumer | None = None
        self._lanes: CaptureLanes | None = None  # the embedded queue in this process
        from . import extraction, pipeline, sessions

        huey = self.huey

        @huey.task(name="process_capture")
        def process_capture(capture_short_id: str) -> None:
            pipeline.process_capture(services, capture_short_id)

        @self.slow_huey.task(name="process_capture")
        def process_capture_slow(capture_short_id: str) -> None:
            pipeline.process_capture(services, capture_short_id)

        @huey.task(name="extract_session")
        def extract_session(session_short_id: str) -> None:
            extraction.run_extraction(services, session_short_id)

        @huey.periodic_task(_every(services.settings.sweep_interval_seconds), name="sweep")
        def sweep() -> None:
            self.sweep()

        @huey.periodic_task(crontab(minute="*"), name="expire_sessions")
        def expire_sessions() -> None:
            expired = sessions.expire_idle(services.settings.session_ttl_seconds)
            if expired:
                logger.info("expired %d idle sessions", expired)

        @huey.periodic_task(crontab(minute="7"), name="purge_idempotency")
        def purge_idempotency() -> None:
            from . import idempotency

            idempotency.purge(services.settings.idempotency_ttl_seconds)

        self._process_capture = process_capture
        self._process_capture_slow = process_capture_slow
        self._extract_session = extract_session
        self._pipeline = pipeline
        self._extraction = extraction

    def enqueue_capture(
        self, capture_short_id: str, *, slow: bool = False, interpretation: Any = None
    ) -> None:
        """Queue a capture; ``slow`` (its raw value is a URL to follow: see
        ``pipeline.is_slow``) puts it on the slow lane. In a process running the embedded
        queue the capture goes to this process's own lanes, with ``interpretation`` (its raw
        value's, when the caller made it) for the pipeline to use again
        (:mod:`scanserve.capture_lanes`)."""
        lanes = self._lanes
        if lanes is not None:
            lanes.put(capture_short_id, slow=slow, interpretation=interpretation)
            return
        (self._process_capture_slow if slow else self._process_capture)(capture_short_id)

    def _requeue(self, short_ids: list[str]) -> None:
        slow = self._pipeline.slow_ones(short_ids)
        for short_id in short_ids:
            self.enqueue_capture(short_id, slow=short_id in slow)

    def enqueue_extraction(self, session_short_id: str) -> None:
        self._extract_session(session_short_id)

    def sweep(self) -> int:
        """Re-queue captures stuck in a non-terminal state, and extractions left
        ``processing``; returns how many captures and sessions. Deletes the presigned uploads
        never registered (:func:`scanserve.quotas.sweep_unregistered`)."""
        stale = self._pipeline.requeue_stale(
            self.services, self.services.settings.capture_stale_seconds
        )
        self._requeue(stale)
        if stale:  # a worker died or stalled on them: worth an operator's attention
            logger.warning(
                "re-queued %d capture(s) stuck past %d s: %s",
                len(stale),
                self.services.settings.capture_stale_seconds,
                ", ".join(stale[:20]) + (" ..." if len(stale) > 20 else ""),
            )
        sessions = self._extraction.requeue_stale(
            self.services, self.services.settings.extraction_stale_seconds
        )
        for short_id in sessions:
            self.enqueue_extraction(short_id)
        if sessions:
            logger.warning(
                "re-queued %d extraction(s) stuck past %d s: %s",
                len(sessions),
                self.services.settings.extraction_stale_seconds,
                ", ".join(sessions[:20]) + (" ..." if len(sessions) > 20 else ""),
            )
        from . import quotas

        quotas.sweep_unregistered(self.services)  # presigned uploads never registered
        return len(stale) + len(sessions)

    def consumer(
        self, workers: int | None = None, *, handle_signals: bool = False, slow: bool = False
    ) -> Consumer:
        """A consumer of this queue (``slow``: of its slow lane) in threads; ``start()`` it
        and ``stop()`` it, or ``run()`` it in the foreground with ``handle_signals=True``.
        Periodic tasks run on the main lane's consumer."""
        settings = self.services.settings
        return _Consumer(
            self.slow_huey if slow else self.huey,
            handle_signals=handle_signals,
            workers=(settings.slow_worker_threads if slow else workers or settings.worker_threads),
            worker_type="thread",
            periodic=not slow,
            check_worker_health=True,
            # The SQLite queue is polled; Huey's default 10 s ceiling would let a capture
            # posted after a quiet spell wait that long. (Redis blocks on the list instead.)
            max_delay=1.0,
        )

    def recover(self) -> int:
        """Queue every capture not in a terminal state, whatever its age: at start-up of the
        embedded queue, what is not terminal was left by a crash (PENDING rows whose message
        never reached the queue, or captures mid-step), and waiting for
        ``capture_stale_seconds`` would only delay it. A capture that does have a message
        too is processed once: the second message finds it claimed or done."""
        recovered = self._pipeline.requeue_stale(self.services, 0)
        self._requeue(recovered)
        if recovered:
            logger.info("recovered %d unfinished captures at start-up", len(recovered))
        return len(recovered)

    def start_embedded(self) -> None:
        """Start consumer threads in this process (``serve`` with the embedded queue): the
        capture lanes, fed by :meth:`recover` first, and Huey's consumers."""
        settings = self.services.settings
        if settings.queue != "embedded" or self._consumer is not None:
            return
        services = self.services
        self._lanes = CaptureLanes(
            lambda short_id, interpretation: self._pipeline.process_capture(
                services, short_id, interpretation
            ),
            settings.worker_threads,
            settings.slow_worker_threads,
        )
        self.recover()  # into the lanes, which start next
        self._lanes.start()
        self._slow_consumer = self.consumer(slow=True)
        self._slow_consumer.start()
        self._consumer = self.consumer()
        self._consumer.start()

    def stop_embedded(self) -> None:
        lanes, self._lanes = self._lanes, None  # captures queued from now on go to Huey
        if lanes is not None:
            lanes.stop()
        for consumer in (self._consumer, self._slow_consumer):
            if consumer is not None:
                consumer.stop(graceful=True)
        self._consumer = self._slow_consumer = None

    def run_worker(self, workers: int | None = None) -> None:  # pragma: no cover - blocks
        """Run the consumers until SIGINT/SIGTERM (``scanserve worker``): the slow lane's in
        threads, the main lane's in the foreground, which owns the signal handling."""
        self.sweep()
        slow = self.consumer(slow=True)
        slow.start()
        threads = workers or self.services.settings.worker_process_threads
        try:
            self.consumer(threads, handle_signals=True).run()
        finally:
            slow.stop(graceful=True)

    def pending_count(self) -> Any:
        lanes = self._lanes
        waiting = lanes.waiting() if lanes is not None else 0
        return self.huey.pending_count() + self.slow_huey.pending_count() + waiting
