"""The background queue: Huey.

Why Huey: one small, well-kept library that runs the same tasks embedded (SQLite storage, a
consumer in threads inside ``scanserve serve``, so the quick start needs no other process) and
distributed (Redis storage, separate ``scanserve worker`` processes), with periodic tasks
built in. Celery and RQ need a broker even for the embedded case; Dramatiq has no SQLite
broker.

The database, not the queue, is the truth about a capture. A task carries only a capture's
short id; a worker killed mid-task loses that message, and the periodic sweep re-queues
every capture left in a non-terminal state past ``capture_stale_seconds``. Every pipeline
step is safe to run twice. A starting worker sweeps once at once, so recovery does not wait
for the next minute.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer

if TYPE_CHECKING:
    from .services import Services

logger = logging.getLogger("scanserve.queue")


def _make_huey(services: Services) -> Huey:
    settings = services.settings
    if settings.queue == "immediate":
        return MemoryHuey(settings.queue_name, immediate=True, results=False)
    if settings.queue == "redis":
        return RedisHuey(settings.queue_name, url=settings.redis_url, results=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        settings.queue_name, filename=str(settings.data_dir / "queue.db"), results=False
    )


class Queue:
    def __init__(self, services: Services):
        self.services = services
        self.huey = _make_huey(services)
        self._consumer: Consumer | None = None
        from . import pipeline, sessions

        huey = self.huey

        @huey.task(name="process_capture")
        def process_capture(capture_short_id: str) -> None:
            pipeline.process_capture(services, capture_short_id)

        @huey.periodic_task(crontab(minute="*"), name="sweep")
        def sweep() -> None:
            self.sweep()

        @huey.periodic_task(crontab(minute="*"), name="expire_sessions")
        def expire_sessions() -> None:
            expired = sessions.expire_idle(services.settings.session_ttl_seconds)
            if expired:
                logger.info("expired %d idle sessions", expired)

        self._process_capture = process_capture
        self._pipeline = pipeline

    def enqueue_capture(self, capture_short_id: str) -> None:
        self._process_capture(capture_short_id)

    def sweep(self) -> int:
        """Re-queue captures stuck in a non-terminal state; returns how many."""
        stale = self._pipeline.stale_captures(self.services.settings.capture_stale_seconds)
        for short_id in stale:
            self.enqueue_capture(short_id)
        if stale:
            logger.info("re-queued %d stale captures", len(stale))
        return len(stale)

    def consumer(self, workers: int | None = None) -> Consumer:
        return Consumer(
            self.huey,
            workers=workers or self.services.settings.worker_threads,
            worker_type="thread",
            periodic=True,
            check_worker_health=True,
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
        self.consumer(workers).run()

    def pending_count(self) -> Any:
        return self.huey.pending_count()
