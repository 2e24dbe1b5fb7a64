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
for the next minute.

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

from .storage.database import private_file

if TYPE_CHECKING:
    from .services import Services

logger = logging.getLogger("scanserve.queue")


def _make_huey(services: Services) -> Huey:
    settings = services.settings
    if settings.queue == "immediate":
        return MemoryHuey(settings.queue_name, immediate=True, results=False)
    if settings.queue == "redis":
        return RedisHuey(settings.queue_name, url=settings.redis_url, results=False)
    path = private_file(settings.data_dir / "queue.db")
    return SqliteHuey(settings.queue_name, filename=str(path), results=False)


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
        self._consumer: Consumer | None = None
        from . import extraction, pipeline, sessions

        huey = self.huey

        @huey.task(name="process_capture")
        def process_capture(capture_short_id: str) -> None:
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
        self._extract_session = extract_session
        self._pipeline = pipeline
        self._extraction = extraction

    def enqueue_capture(self, capture_short_id: str) -> None:
        self._process_capture(capture_short_id)

    def enqueue_extraction(self, session_short_id: str) -> None:
        self._extract_session(session_short_id)

    def sweep(self) -> int:
        """Re-queue captures stuck in a non-terminal state, and extractions left
        ``processing``; returns how many captures and sessions."""
        stale = self._pipeline.requeue_stale(
            self.services, self.services.settings.capture_stale_seconds
        )
        for short_id in stale:
            self.enqueue_capture(short_id)
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
        return len(stale) + len(sessions)

    def consumer(self, workers: int | None = None, *, handle_signals: bool = False) -> Consumer:
        """A consumer of this queue in threads; ``start()`` it and ``stop()`` it, or ``run()``
        it in the foreground with ``handle_signals=True``."""
        return _Consumer(
            self.huey,
            handle_signals=handle_signals,
            workers=workers or self.services.settings.worker_threads,
            worker_type="thread",
            periodic=True,
            check_worker_health=True,
            # The SQLite queue is polled; Huey's default 10 s ceiling would let a capture
            # posted after a quiet spell wait that long. (Redis blocks on the list instead.)
            max_delay=1.0,
        )

    def start_embedded(self) -> None:
        """Start consumer threads in this process (``serve`` with the embedded queue)."""
        if self.services.settings.queue != "embedded" or self._consumer is not None:
            return
        self.sweep()
        self._consumer = self.consumer()
        self._consumer.start()

    def stop_embedded(self) -> None:
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
            self._consumer = None

    def run_worker(self, workers: int | None = None) -> None:  # pragma: no cover - blocks
        """Run a consumer in the foreground until SIGINT/SIGTERM (``scanserve worker``)."""
        self.sweep()
        self.consumer(workers, handle_signals=True).run()

    def pending_count(self) -> Any:
        return self.huey.pending_count()
