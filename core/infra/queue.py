"""The background queue: Huey.

Why Huey: one small, well-kept library that runs the same tasks embedded (SQLite storage, a
consumer in threads inside ``scanserve serve``, so the quick start needs no other process) and
distributed (Redis storage, separate ``scanserve worker`` processes), with periodic tasks
built in. Celery and RQ need a broker even for the embedded case; Dramatiq has no SQLite
broker.

The database, not the queue, is the truth about a capture. A task carries a capture's short id
(and, for fairness, logs and the backlog's age, its organisation, the id of the request that
posted it and when it was queued: an older worker cannot take such a message, so workers are
upgraded before the servers); a worker killed mid-task loses that message, and the periodic
sweep re-queues every capture left in a non-terminal state past ``capture_stale_seconds``, and
every session's vision extraction left ``processing`` past ``extraction_stale_seconds``. Every
pipeline step is safe to run twice. A starting worker sweeps once at once, so recovery does not
wait for the next minute; the embedded queue, which runs inside the only server there is, goes
further at start-up and queues every unfinished capture at once, whatever its age
(:meth:`Queue.recover`): a PENDING row is the durable form of its message. So the embedded
queue hands the captures posted to its own server to that server's threads in memory
(:mod:`scanserve.infra.capture_lanes`); Huey's SQLite file carries the rest (extraction,
periodic tasks, captures queued by other processes).

Signals: only ``scanserve worker`` lets Huey's consumer install its SIGINT/SIGTERM handlers.
Inside ``scanserve serve`` the process belongs to uvicorn, whose handlers must stay in place
or the server ignores SIGTERM (``scanserve.infra.server`` starts the queue's drain when uvicorn
begins to shut down); under a test client the app starts outside the main thread, where
Python refuses to install handlers at all.

Shutdown drains (:meth:`Queue.begin_drain`, then :meth:`Queue.stop_embedded` or the end of
:meth:`Queue.run_worker`): at SIGTERM or SIGINT no thread takes new work, the work in flight
has ``shutdown_grace_seconds`` to finish, and then the process stops whatever is still
running. Nothing acknowledged is lost: a capture not yet processed, or caught mid-step, is
still a non-terminal row that the next start (embedded) or the sweep re-queues; an
extraction still running at the end of the grace period has its lease released
(:class:`scanserve.domain.extraction.Running`) and is queued again.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from huey import Huey, crontab
from huey.consumer import Consumer

from scanserve.infra import tracing
from scanserve.infra.after_outage import AfterOutage
from scanserve.infra.capture_lanes import CaptureLanes
from scanserve.infra.logconfig import REQUEST_ID
from scanserve.infra.outage import Outage
from scanserve.infra.queue_huey import (
    QUEUE_UNREACHABLE,
    QueueConsumer,
    every,
    make_huey,
    threads_of,
)
from scanserve.infra.relay import Relay
from scanserve.storage.database import through_outages

if TYPE_CHECKING:
    from scanserve.settings import Settings

logger = logging.getLogger("scanserve.queue")


SLOW_LANE_SUFFIX = "_slow"
# How long a queued task waits for the database to come back before it leaves its capture
# to the sweep.
OUTAGE_PATIENCE_SECONDS = 120.0


class RunningWork(Protocol):
    """The extractions this process runs (:class:`scanserve.domain.extraction.Running`): what is
    still running when the shutdown's grace period ends is released and queued again."""

    def release_all(self) -> list[str]: ...


@dataclass(frozen=True)
class Tasks:
    """The background work the queue runs, handed in by the composition root
    (:func:`scanserve.bootstrap.queue_tasks`), each bound to the process's services: the
    queue knows captures and sessions only by their short ids, and imports no domain
    module."""

    # (capture short id, its raw value's interpretation or None): the pipeline's run
    process_capture: Callable[..., None]
    run_extraction: Callable[[str], None]  # (session short id)
    session_org: Callable[[str], int | None]  # a session's organisation, None if gone
    # each capture's lane (slow?) and organisation
    lanes_of: Callable[[list[str]], dict[str, tuple[bool, int]]]
    # (stale seconds) -> the short ids put back to be queued again
    requeue_stale_captures: Callable[[int], list[str]]
    # (seconds) -> the short ids of the captures PENDING that long, put back to be queued again
    requeue_pending_captures: Callable[[float], list[str]]
    requeue_stale_extractions: Callable[[int], list[str]]
    expire_idle_sessions: Callable[[int], int]  # (ttl seconds) -> how many expired
    purge_idempotency: Callable[[int], object]  # (ttl seconds)
    # presigned uploads never registered, and objects a purge left to delete
    sweep_unregistered: Callable[[], object]
    extractions: RunningWork
    # (days) ended sessions unchanged that long deleted; run when retention_days is set
    purge_ended_sessions: Callable[[int], object] | None = None


def as_request(
    request_id: str | None, trace: dict[str, str] | None, fn: Callable[..., None], *args: Any
) -> None:
    """``fn(*args)`` (a capture's processing: its short id first) on behalf of the request
    ``request_id`` (None: of none): its log lines name that request
    (:data:`scanserve.infra.logconfig.REQUEST_ID`), and with tracing on its span is a child
    of the request's (``trace``: the context the message carried)."""
    token = REQUEST_ID.set(request_id)
    try:
        with tracing.span(
            "process_capture",
            parent=tracing.extract(trace),
            capture_id=args[0] if args else None,
            request_id=request_id,
        ):
            fn(*args)
    finally:
        REQUEST_ID.reset(token)


class OrgSlots:
    """How many captures of each organisation a lane runs at once in this process, capped at
    ``per_org`` (0: no cap): on the shared queue (Huey's one list per lane) a worker thread
    that takes a capture of an organisation already at its cap puts it back at the end of
    the queue and takes the next, so another organisation's capture behind a flood is
    reached after one pass over the queue (a pop and a push each, no pipeline work), and
    always finds a thread the capped organisation may not use.

    A thread that has put back as many captures in a row as the queue holds has met nothing
    it may run: it waits until a capture of this process ends (or half a second, for
    captures of other organisations arriving meanwhile) instead of spinning on the queue."""

    _IDLE_WAIT_SECONDS = 0.5

    def __init__(self, per_org: int):
        self.per_org = per_org
        self._running: collections.Counter[Any] = collections.Counter()
        self._cond = threading.Condition(threading.Lock())
        self._streak = threading.local()  # captures put back in a row by this thread

    def run(self, org: Any, fn: Callable[..., None], *args: Any) -> bool:
        """``fn(*args)`` unless ``org`` is at its cap; whether it ran."""
        if not self.per_org or org is None:
            fn(*args)
            return True
        with self._cond:
            if self._running[org] >= self.per_org:
                return False
            self._running[org] += 1
        self._streak.count = 0
        try:
            fn(*args)
        finally:
            with self._cond:
                self._running[org] -= 1
                if self._running[org] <= 0:
                    del self._running[org]
                self._cond.notify_all()
        return True

    def wait_if_all_deferred(self, huey: Huey) -> None:
        streak = getattr(self._streak, "count", 0) + 1
        if streak == 1:
            try:
                self._streak.pass_length = int(huey.pending_count()) + 1
            except QUEUE_UNREACHABLE:  # the message is put back through the relay next
                self._streak.pass_length = 1
        if streak >= self._streak.pass_length:
            with self._cond:
                self._cond.wait(self._IDLE_WAIT_SECONDS)
            streak = 0
        self._streak.count = streak

    def running(self, org: Any) -> int:
        with self._cond:
            return self._running.get(org, 0)


# The module a task's messages name (huey keys a task by its function's module and name).
# Messages outlive a release: one queued in Redis before an upgrade must find its task after
# it, so the name stays what it was when the queue lived in scanserve/queue.py.
TASK_MODULE = "scanserve.queue"


def _some(short_ids: list[str]) -> str:
    """Short ids for a log line: the first twenty."""
    return ", ".join(short_ids[:20]) + (" ..." if len(short_ids) > 20 else "")


def _named_stably(fn: Callable[..., None]) -> Callable[..., None]:
    fn.__module__ = TASK_MODULE
    return fn


class Queue:
    def __init__(self, settings: Settings, tasks: Tasks):
        self.settings = settings
        self.tasks = tasks
        self.outage = self._watch_outages()
        # Messages the queue could not take, handed over by a thread once it can (the
        # outbox's relay: the committed rows are the durable messages).
        self.relay = Relay(self.outage, QUEUE_UNREACHABLE)
        self.huey = make_huey(settings, self.outage)
        # The slow lane: captures whose processing follows a URL (seconds, or a timeout, per
        # capture) have their own queue and consumer threads, so a tenant scanning slow links
        # never holds up anyone's plain barcodes (see enqueue_capture).
        self.slow_huey = make_huey(settings, self.outage, SLOW_LANE_SUFFIX)
        self._consumer: Consumer | None = None
        self._slow_consumer: Consumer | None = None
        self._lanes: CaptureLanes | None = None  # the embedded queue in this process
        self._drain_deadline: float | None = None  # set when the process begins to stop
        self.extractions = tasks.extractions  # this process's, for the shutdown

        huey = self.huey

        # Fairness between organisations on the shared queue (scanserve.infra.capture_lanes does
        # it for the embedded lanes): one organisation runs at most so many captures of a
        # lane at once in this process; a further one is put back at the end of the queue.
        # A task that meets a database outage waits it out (capped back-off) rather than
        # dropping its message; past OUTAGE_PATIENCE_SECONDS it gives up and the sweep
        # queues the capture again once the database is back.
        def patiently(fn: Callable[..., None]) -> Callable[..., None]:
            def run(*args: Any) -> None:
                through_outages(lambda: fn(*args), give_up_after=OUTAGE_PATIENCE_SECONDS)

            return run

        process = patiently(tasks.process_capture)
        extract = patiently(tasks.run_extraction)
        immediate = settings.queue == "immediate"
        main_slots = OrgSlots(0 if immediate else settings.worker_threads_per_org)
        slow_slots = OrgSlots(0 if immediate else settings.slow_worker_threads_per_org)

        # A capture's message carries the request that posted it (its log lines name it, on
        # the worker too) and when it was queued (the backlog's age: see backlog).
        @huey.task(name="process_capture")
        @_named_stably
        def process_capture(
            capture_short_id: str,
            org: int | None = None,
            request_id: str | None = None,
            queued_at: float | None = None,
            trace: dict[str, str] | None = None,
        ) -> None:
            if main_slots.run(org, as_request, request_id, trace, process, capture_short_id):
                return
            main_slots.wait_if_all_deferred(self.huey)
            # to the end of the queue (through the relay: the queue may be down by now, and
            # this message exists nowhere else)
            self.relay.send(
                ("capture", capture_short_id),
                lambda: process_capture(
                    capture_short_id, org, request_id=request_id, queued_at=queued_at, trace=trace
                ),
            )

        @self.slow_huey.task(name="process_capture")
        @_named_stably
        def process_capture_slow(
            capture_short_id: str,
            org: int | None = None,
            request_id: str | None = None,
            queued_at: float | None = None,
            trace: dict[str, str] | None = None,
        ) -> None:
            if slow_slots.run(org, as_request, request_id, trace, process, capture_short_id):
                return
            slow_slots.wait_if_all_deferred(self.slow_huey)
            self.relay.send(  # to the end of the queue, as on the main lane
                ("capture", capture_short_id),
                lambda: process_capture_slow(
                    capture_short_id, org, request_id=request_id, queued_at=queued_at, trace=trace
                ),
            )

        # Vision extraction (outside extractors, seconds to extraction_timeout_seconds per
        # photo) is expensive work: the slow lane, its organisation capped like captures.
        @self.slow_huey.task(name="extract_session")
        @_named_stably
        def extract_session(session_short_id: str, org: int | None = None) -> None:
            org = tasks.session_org(session_short_id) if org is None else org
            if slow_slots.run(org, extract, session_short_id):
                return
            slow_slots.wait_if_all_deferred(self.slow_huey)
            self.relay.send(  # to the end of the queue, as captures
                ("extraction", session_short_id), lambda: extract_session(session_short_id, org)
            )

        @huey.task(name="extract_session")
        @_named_stably
        def extract_session_main(session_short_id: str) -> None:
            # messages queued on the main lane by a release before extraction moved
            extract(session_short_id)

        @huey.periodic_task(every(settings.sweep_interval_seconds), name="sweep")
        @_named_stably
        def sweep() -> None:
            self.sweep()

        @huey.periodic_task(crontab(minute="*"), name="expire_sessions")
        @_named_stably
        def expire_sessions() -> None:
            expired = tasks.expire_idle_sessions(settings.session_ttl_seconds)
            if expired:
                logger.info("expired %d idle sessions", expired)

        @huey.periodic_task(crontab(minute="7"), name="purge_idempotency")
        @_named_stably
        def purge_idempotency() -> None:
            tasks.purge_idempotency(settings.idempotency_ttl_seconds)

        purge_ended = tasks.purge_ended_sessions
        if settings.retention_days and purge_ended is not None:

            @huey.periodic_task(crontab(hour="3", minute="17"), name="purge_ended_sessions")
            @_named_stably
            def purge_ended_sessions() -> None:
                purge_ended(settings.retention_days)

        self._process_capture = process_capture
        self._process_capture_slow = process_capture_slow
        self._extract_session = extract_session

    def _watch_outages(self) -> Outage:
        """One outage for both lanes (they live on the same Redis, or the same SQLite file).
        Once Redis answers again after one, the captures whose message it may have lost in
        flight are queued again (:mod:`scanserve.infra.after_outage`); the embedded queue's
        SQLite file loses nothing it took (a transaction took a message or did not)."""
        self.after_outage: AfterOutage | None = None
        if self.settings.queue == "redis":
            self.after_outage = AfterOutage(
                backlog=self._backlog_size,
                requeue=self._requeue_waiting_since_outage,
                unreachable=QUEUE_UNREACHABLE,
            )
        return Outage(
            "the queue",
            logger,
            on_recovered=self.after_outage.recovered if self.after_outage else None,
        )

    def enqueue_capture(
        self,
        capture_short_id: str,
        *,
        slow: bool = False,
        interpretation: Any = None,
        org: int | None = None,
    ) -> None:
        """Queue a capture of organisation ``org``; ``slow`` (a URL to follow or an image to
        decode: see ``captures.is_slow``) puts it on the slow lane. In a process running the
        embedded queue the capture goes to this process's own lanes, with ``interpretation``
        (its raw value's, when the caller made it) for the pipeline to use again
        (:mod:`scanserve.infra.capture_lanes`). Either way the organisation gets its turn: see
        :class:`OrgSlots` and :class:`scanserve.infra.capture_lanes.FairQueue`."""
        request_id = REQUEST_ID.get()
        trace = tracing.carrier()
        lanes = self._lanes
        if lanes is not None:
            lanes.put(
                capture_short_id,
                slow=slow,
                interpretation=interpretation,
                org=org,
                request_id=request_id,
                trace=trace,
            )
            return
        if self.settings.queue == "immediate":  # runs here and now: nothing to hold
            self._process_capture(capture_short_id, org)
            return
        task = self._process_capture_slow if slow else self._process_capture
        queued_at = time.time()
        # The capture row is committed: if the queue cannot take the message now, the relay
        # holds it and hands it over once the queue is back (scanserve.infra.relay).
        self.relay.send(
            ("capture", capture_short_id),
            lambda: task(
                capture_short_id, org, request_id=request_id, queued_at=queued_at, trace=trace
            ),
        )

    def _backlog_size(self) -> int:
        """The messages the shared queue (both lanes) and this process's relay still hold."""
        return (
            int(self.huey.pending_count())
            + int(self.slow_huey.pending_count())
            + self.relay.held()
        )

    def _requeue_waiting_since_outage(self, seconds: float) -> None:
        """Queue again the captures PENDING since before the queue's outage began,
        ``seconds`` ago (:mod:`scanserve.infra.after_outage`)."""
        requeued = self.tasks.requeue_pending_captures(seconds)
        self._requeue(requeued)
        if requeued:
            logger.warning(
                "queued again %d capture(s) waiting since before the queue's outage (their "
                "message may have been lost with it): %s",
                len(requeued),
                _some(requeued),
            )

    def _requeue(self, short_ids: list[str]) -> None:
        lanes = self.tasks.lanes_of(short_ids)
        for short_id in short_ids:
            slow, org = lanes.get(short_id, (False, None))
            self.enqueue_capture(short_id, slow=slow, org=org)

    def enqueue_extraction(self, session_short_id: str) -> None:
        if self.settings.queue == "immediate":
            self._extract_session(session_short_id)
            return
        task = self._extract_session
        self.relay.send(("extraction", session_short_id), lambda: task(session_short_id))

    def state(self) -> dict[str, Any]:
        """For readiness: the queue's :meth:`Outage.state` plus ``held``, the messages the
        relay holds until the queue takes them."""
        return {**self.outage.state(), "held": self.relay.held()}

    def sweep(self) -> int:
        """Re-queue captures stuck in a non-terminal state, and extractions left
        ``processing``; returns how many captures and sessions. Deletes the presigned uploads
        never registered (:func:`scanserve.domain.quotas.sweep_unregistered`)."""
        stale = self.tasks.requeue_stale_captures(self.settings.capture_stale_seconds)
        self._requeue(stale)
        if stale:  # a worker died or stalled on them: worth an operator's attention
            logger.warning(
                "re-queued %d capture(s) stuck past %d s: %s",
                len(stale),
                self.settings.capture_stale_seconds,
                _some(stale),
            )
        sessions = self.tasks.requeue_stale_extractions(self.settings.extraction_stale_seconds)
        for short_id in sessions:
            self.enqueue_extraction(short_id)
        if sessions:
            logger.warning(
                "re-queued %d extraction(s) stuck past %d s: %s",
                len(sessions),
                self.settings.extraction_stale_seconds,
                _some(sessions),
            )
        self.tasks.sweep_unregistered()  # presigned uploads never registered
        return len(stale) + len(sessions)

    def consumer(
        self, workers: int | None = None, *, handle_signals: bool = False, slow: bool = False
    ) -> Consumer:
        """A consumer of this queue (``slow``: of its slow lane) in threads; ``start()`` it
        and ``stop()`` it, or ``run()`` it in the foreground with ``handle_signals=True``.
        Periodic tasks run on the main lane's consumer."""
        settings = self.settings
        return QueueConsumer(
            self.slow_huey if slow else self.huey,
            handle_signals=handle_signals,
            on_signal=self.begin_drain,
            # a graceful stop waits this long for the tasks in flight (Huey: for ever)
            shutdown_timeout=settings.shutdown_grace_seconds,
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
        too is processed once: the second message finds it claimed or done. Extractions
        are queued again when their lease has expired or was released at a shutdown."""
        recovered = self.tasks.requeue_stale_captures(0)
        self._requeue(recovered)
        if recovered:
            logger.info("recovered %d unfinished captures at start-up", len(recovered))
        sessions = self.tasks.requeue_stale_extractions(self.settings.extraction_stale_seconds)
        for short_id in sessions:
            self.enqueue_extraction(short_id)
        if sessions:
            logger.info("recovered %d unfinished extraction(s) at start-up", len(sessions))
        return len(recovered)

    def start_embedded(self) -> None:
        """Start consumer threads in this process (``serve`` with the embedded queue): the
        capture lanes, fed by :meth:`recover` first, and Huey's consumers."""
        settings = self.settings
        if settings.queue != "embedded" or self._consumer is not None:
            return
        self._drain_deadline = None  # started again after a stop (tests do)
        process = self.tasks.process_capture
        self._lanes = CaptureLanes(
            lambda short_id, interpretation, request_id, trace: as_request(
                request_id, trace, process, short_id, interpretation
            ),
            settings.worker_threads,
            settings.slow_worker_threads,
            per_org=settings.worker_threads_per_org,
            slow_per_org=settings.slow_worker_threads_per_org,
        )
        self.recover()  # into the lanes, which start next
        self._lanes.start()
        self._slow_consumer = self.consumer(slow=True)
        self._slow_consumer.start()
        self._consumer = self.consumer()
        self._consumer.start()

    def begin_drain(self) -> None:
        """The process is stopping (SIGTERM, SIGINT): take no new work from now on; the work
        in flight has until ``shutdown_grace_seconds`` from now. Only sets flags and closes
        the lanes; it does not wait."""
        if self._drain_deadline is not None:
            return
        self._drain_deadline = time.monotonic() + self.settings.shutdown_grace_seconds
        lanes = self._lanes
        if lanes is not None:
            lanes.stop(timeout=0)  # each thread ends after its capture; the rest stay PENDING
        for consumer in (self._consumer, self._slow_consumer):
            if consumer is not None:
                consumer.stop_flag.set()

    def _finish_drain(self, threads: list[threading.Thread]) -> None:
        """Wait for ``threads`` until the drain's deadline; then release the extractions
        still running and queue them again."""
        deadline = self._drain_deadline or time.monotonic()
        for thread in threads:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))
        busy = [t.name for t in threads if t.is_alive()]
        self._release_extractions()
        if busy:
            logger.warning(
                "stopped with %d thread(s) still busy after the %g s grace period (%s); "
                "their work is picked up again by the next start or the sweep",
                len(busy),
                self.settings.shutdown_grace_seconds,
                ", ".join(busy),
            )
        elif threads:
            logger.info("the work in flight finished; the queue stopped")

    def _release_extractions(self) -> list[str]:
        released = self.extractions.release_all()
        for short_id in released:
            try:
                self.enqueue_extraction(short_id)
            except Exception as exc:  # the lease is released: the sweep queues it then
                logger.warning("extraction of %s not queued again (%s)", short_id, exc)
        if released:
            logger.warning(
                "released %d extraction(s) unfinished at shutdown: %s",
                len(released),
                ", ".join(released),
            )
        return released

    def stop_embedded(self) -> None:
        """Stop this process's consumer threads, draining (:meth:`begin_drain`, if nothing
        began it yet): at most ``shutdown_grace_seconds`` from the drain's start."""
        if self._lanes is None and self._consumer is None:
            return
        self.begin_drain()
        lanes, self._lanes = self._lanes, None  # captures queued from now on go to Huey
        threads = lanes.threads() if lanes is not None else []
        for consumer in (self._consumer, self._slow_consumer):
            if consumer is not None:
                threads += threads_of(consumer)
        self._finish_drain(threads)
        self._consumer = self._slow_consumer = None
        self._stop_helpers()

    def run_worker(self, workers: int | None = None) -> None:  # pragma: no cover - blocks
        """Run the consumers until SIGINT/SIGTERM (``scanserve worker``): the slow lane's in
        threads, the main lane's in the foreground, which owns the signal handling; then
        drain (see the module docstring). A database that is down at start is waited for
        (the first sweep needs it)."""
        through_outages(self.sweep, cap=5.0)
        slow = self.consumer(slow=True)
        self._slow_consumer = slow
        slow.start()
        threads = workers or self.settings.worker_process_threads
        main = self.consumer(threads, handle_signals=True)
        try:
            # until a signal (which calls begin_drain, stopping the slow lane too); then it
            # waits for its own threads for the grace period
            main.run()
        finally:
            self.begin_drain()
            self._finish_drain(threads_of(main) + threads_of(slow))
            self._slow_consumer = None
            self._stop_helpers()

    def _stop_helpers(self) -> None:
        if self.after_outage is not None:
            self.after_outage.stop()
        self.relay.stop()

    def backlog(self) -> dict[str, tuple[int, float | None]]:
        """For the metrics, per lane of the shared queue (Huey's, on Redis or SQLite): the
        tasks waiting, and how long the next one to be taken has waited (None: unknown, a
        periodic task or a message of an earlier release)."""
        if self.settings.queue == "immediate":
            return {}
        backlog: dict[str, tuple[int, float | None]] = {}
        for lane, huey in (("main", self.huey), ("slow", self.slow_huey)):
            waiting = int(huey.pending_count())
            age = None
            if waiting:
                for task in huey.pending(1):
                    queued_at = (task.kwargs or {}).get("queued_at")
                    if isinstance(queued_at, int | float):
                        age = max(0.0, time.time() - queued_at)
            backlog[lane] = (waiting, age)
        return backlog

    def pending_count(self) -> Any:
        lanes = self._lanes
        waiting = lanes.waiting() if lanes is not None else 0
        return self.huey.pending_count() + self.slow_huey.pending_count() + waiting
