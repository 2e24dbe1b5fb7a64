"""Huey as scanserve runs it (the queue itself, :class:`scanserve.infra.queue.Queue`, is built on
these): the SQLite storage without an fsync per message, Redis without revocation, consumer
threads that back off quietly while the queue is unreachable, and a consumer that installs
its signal handlers only when told to and drains on SIGTERM as on SIGINT.

One module apart from the queue's facade because these are subclasses of Huey's own classes,
overriding its internals: what changes with a Huey upgrade is here.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer, Scheduler, Worker
from huey.storage import SqliteStorage
from redis import ConnectionPool  # imported by huey already

from scanserve.infra.outage import UNREACHABLE, Outage
from scanserve.storage.database import private_file

if TYPE_CHECKING:
    from scanserve.settings import Settings

# What says "the queue cannot take it now" (Redis down or restarting, the queue's SQLite file
# locked or its disk full), as opposed to a bug: the message is held and handed over later.
QUEUE_UNREACHABLE: tuple[type[BaseException], ...] = (*UNREACHABLE, sqlite3.OperationalError)
# A Redis that does not answer must not hold a request (or a worker) for long: connecting
# gives up after this, and a command after _REDIS_SOCKET_SECONDS (more than the 1 s that
# Huey's blocking read waits for a message).
_REDIS_CONNECT_SECONDS = 2.0
_REDIS_SOCKET_SECONDS = 10.0


def make_huey(settings: Settings, outage: Outage, suffix: str = "") -> Huey:
    """The Huey of ``settings.queue`` (lane ``suffix``): in memory and immediate, on
    Redis, or in the SQLite file of the data directory; its threads back off during
    ``outage``."""
    name = settings.queue_name + suffix
    huey: Huey
    if settings.queue == "immediate":
        huey = MemoryHuey(name, immediate=True, results=False)
    elif settings.queue == "redis":
        pool = ConnectionPool.from_url(
            settings.redis_url,
            socket_connect_timeout=_REDIS_CONNECT_SECONDS,
            socket_timeout=_REDIS_SOCKET_SECONDS,
        )
        huey = _RedisQueue(name, connection_pool=pool, results=False)
    else:
        path = private_file(settings.data_dir / "queue.db")
        huey = SqliteHuey(name, filename=str(path), results=False, storage_class=_QueueStorage)
    huey.scanserve_outage = outage  # type: ignore[attr-defined]  # read by _Worker, _Scheduler
    return huey


class _RedisQueue(RedisHuey):
    """Huey on Redis without revocation: before each task Huey reads the task's revocation
    flags (HMGET) and after it deletes the task's own (HDEL), two of the three round trips a
    capture made to Redis, for a feature scanserve never uses. Nothing revokes a queued task:
    the capture row is the truth, and a message for a capture already claimed or done finds
    it so and does nothing (``scanserve.domain.pipeline``). Revoking raises, so it cannot silently
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


def every(seconds: int) -> Callable[[datetime], bool]:
    """A periodic-task schedule for ``sweep_interval_seconds``. Huey looks at periodic tasks
    once a minute, so the interval is rounded to whole minutes, at least one."""
    minutes = max(1, round(seconds / 60))
    if minutes == 1:
        return crontab(minute="*")
    return lambda when: (when.hour * 60 + when.minute) % minutes == 0


class _Worker(Worker):
    """Huey's consumer thread, backing off while the queue is unreachable: Huey's own logs a
    traceback at every failed read and retries within a second (thousands of lines a
    minute with Redis down). Here one line says the queue went down and one that it came
    back (:class:`~scanserve.infra.outage.Outage`), and reads are tried again with exponential
    back-off, capped."""

    def loop(self, now: Any = None) -> None:
        outage: Outage = self.huey.scanserve_outage
        if outage.down and not outage.due():
            self.stop_flag.wait(min(1.0, outage.wait_seconds()))
            return
        try:
            task = self.huey.dequeue()
        except QUEUE_UNREACHABLE as exc:
            self.stop_flag.wait(outage.failed(exc))
            return
        except Exception:
            self._logger.exception("Error reading from queue")
            self.sleep()
            return
        outage.recovered()
        if task is not None:
            self.delay = self.default_delay
            self.task_count += 1
            try:
                self.huey.execute(task, now)
            except Exception:
                self._logger.exception("Unhandled error during execution of task %s.", task.id)
        elif not self.huey.storage.blocking:
            self.sleep()


class _Scheduler(Scheduler):
    """Huey's scheduler (delayed and periodic tasks), quiet and backing off while the queue
    is unreachable, as :class:`_Worker` is. Periodic tasks due meanwhile are skipped; the
    next of each runs when it comes round."""

    def loop(self, now: Any = None) -> None:
        outage: Outage = self.huey.scanserve_outage
        current = time.monotonic()
        self._next_loop = current + self.interval
        if outage.down and not outage.due():
            self.stop_flag.wait(min(self.interval, outage.wait_seconds()))
            return
        try:
            for task in self.huey.read_schedule(now):
                self.huey.enqueue(task)
        except QUEUE_UNREACHABLE as exc:
            outage.failed(exc)
            self.sleep_for_interval(current, self.interval)
            return
        outage.recovered()
        if self.periodic and self._next_periodic <= time.monotonic():
            # Skip checks missed during a stall (e.g. suspend), as Huey does.
            while self._next_periodic <= time.monotonic():
                self._next_periodic += self.periodic_task_seconds
            self.enqueue_periodic_tasks(now)
        self.sleep_for_interval(current, self.interval)

    def enqueue_periodic_tasks(self, now: Any) -> None:
        outage: Outage = self.huey.scanserve_outage
        for task in self.huey.read_periodic(now):
            try:
                self.huey.enqueue(task)
            except QUEUE_UNREACHABLE as exc:
                outage.failed(exc)
                return


class QueueConsumer(Consumer):
    """Huey's consumer, installing its signal handlers only when told to (see the module
    docstring). Both SIGTERM and SIGINT stop it gracefully (Huey's default takes SIGTERM as
    "stop now", abandoning the tasks in flight), calling ``on_signal`` first; a second signal
    stops it at once. Its threads back off while the queue is unreachable."""

    worker_class = _Worker
    scheduler_class = _Scheduler

    def __init__(
        self,
        huey: Huey,
        *,
        handle_signals: bool,
        on_signal: Callable[[], None] | None = None,
        **options: Any,
    ) -> None:
        self._handle_signals = handle_signals
        self._on_signal = on_signal
        super().__init__(huey, **options)
        self._signal_actions[signal.SIGTERM] = self._signal_actions[signal.SIGINT] = (
            False,
            True,
        )

    def _set_signal_handlers(self) -> None:
        if self._handle_signals:
            super()._set_signal_handlers()

    def _handle_signal(self, signum: int, frame: Any) -> None:
        if self._signum is None and self._on_signal is not None:
            self._on_signal()
        super()._handle_signal(signum, frame)


def threads_of(consumer: Consumer) -> list[threading.Thread]:
    return [thread for _, thread in consumer.worker_threads] + [consumer.scheduler]
