"""Prometheus metrics: what a process records, and the port that serves them.

Off by default. ``scanserve serve --metrics-port N`` and ``scanserve worker --metrics-port N``
(or ``SCANSERVE_METRICS_PORT``) turn them on: :func:`enable` before anything is recorded,
then :func:`serve` in the process that owns the command (the supervisor of ``serve --workers``).

Every process records into prometheus-client's multiprocess files (one directory a run,
``PROMETHEUS_MULTIPROC_DIR``, emptied at start); the scrape sums them, so ``serve --workers N``
answers one total, and a dead process's live gauges go with it (:func:`process_exited`).
Values only the serving process can read at scrape time (the queue's backlog, the
dependencies' state) come from the callables :func:`serve` is given.

The recording side is :class:`Recorder`: with metrics off every call is an empty method, so
the request path pays one attribute look-up and a call. Labels are bounded: operationIds of
the contract (``unknown`` for a path it does not have), statuses, provider and extractor
names, capture outcomes.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
UNKNOWN_OPERATION = "unknown"  # the one label of every path the contract does not have

# seconds: from a cached key lookup (~1 ms) to a slow provider or a stuck client
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
EXTRACTION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class Recorder:
    """Metrics off: every record is a no-op. :class:`_Live` records them."""

    enabled = False

    def request(self, operation: str, status: int, seconds: float) -> None:
        """An HTTP answer of ``operation`` (operationId, or :data:`UNKNOWN_OPERATION`)."""

    def capture_finished(self, outcome: str) -> None:
        """A capture reached a terminal status (``COMPLETED``, ``FAILED``, ``NOT_FOUND``)."""

    def provider_call(self, plugin: str, hook: str, seconds: float, *, failed: bool) -> None:
        """A call to a provider of a plugin (``hook``: lookup, enrichment, qr-resolver,
        extractor) that took ``seconds``; ``failed`` when it raised or overran."""

    def extraction(self, extractor: str, seconds: float, outcome: str) -> None:
        """One extractor on one photo (or capture): ``ok``, ``error`` or ``timeout``."""

    def rate_limit_fallback(self) -> None:
        """The rate-limit store could not be reached: a request counted in the process."""

    def lane_waiting(self, lane: str, delta: int) -> None:
        """Captures waiting in this process's in-process lanes (embedded queue)."""


class _Live(Recorder):
    enabled = True

    def __init__(self, client: Any) -> None:
        counter, histogram, gauge = client.Counter, client.Histogram, client.Gauge
        self._requests = counter(
            "scanserve_http_requests_total",
            "HTTP answers by operationId and status.",
            ["operation", "status"],
        )
        self._latency = histogram(
            "scanserve_http_request_duration_seconds",
            "Time from the request's arrival to its answer's last byte, by operationId.",
            ["operation"],
            buckets=REQUEST_BUCKETS,
        )
        self._captures = counter(
            "scanserve_captures_finished_total",
            "Captures that reached a terminal status, by outcome.",
            ["outcome"],
        )
        self._calls = counter(
            "scanserve_provider_calls_total",
            "Calls to plugins' providers, by plugin (provider name), hook and outcome (ok, "
            "or error when it raised or overran).",
            ["plugin", "hook", "outcome"],
        )
        self._call_latency = histogram(
            "scanserve_provider_call_duration_seconds",
            "Time of a call to a plugin's provider, by plugin and hook.",
            ["plugin", "hook"],
            buckets=CALL_BUCKETS,
        )
        self._extractions = histogram(
            "scanserve_extraction_duration_seconds",
            "Time of one extractor on one photo or capture, by extractor and outcome.",
            ["extractor", "outcome"],
            buckets=EXTRACTION_BUCKETS,
        )
        self._fallbacks = counter(
            "scanserve_rate_limit_fallbacks_total",
            "Requests counted in the process because the rate-limit store was unreachable.",
        )
        self._lanes = gauge(
            "scanserve_inprocess_queue_tasks",
            "Captures waiting in the server processes' own lanes (embedded queue), by lane.",
            ["lane"],
            multiprocess_mode="livesum",
        )
        # children made once per label set: .labels() looks them up under a lock each time
        self._request_children: dict[tuple[str, int], Any] = {}
        self._latency_children: dict[str, Any] = {}

    def request(self, operation: str, status: int, seconds: float) -> None:
        counted = self._request_children.get((operation, status))
        if counted is None:
            counted = self._requests.labels(operation, str(status))
            self._request_children[(operation, status)] = counted
        timed = self._latency_children.get(operation)
        if timed is None:
            timed = self._latency_children[operation] = self._latency.labels(operation)
        counted.inc()
        timed.observe(seconds)

    def capture_finished(self, outcome: str) -> None:
        self._captures.labels(outcome).inc()

    def provider_call(self, plugin: str, hook: str, seconds: float, *, failed: bool) -> None:
        self._calls.labels(plugin, hook, "error" if failed else "ok").inc()
        self._call_latency.labels(plugin, hook).observe(seconds)

    def extraction(self, extractor: str, seconds: float, outcome: str) -> None:
        self._extractions.labels(extractor, outcome).observe(seconds)

    def rate_limit_fallback(self) -> None:
        self._fallbacks.inc()

    def lane_waiting(self, lane: str, delta: int) -> None:
        self._lanes.labels(lane).inc(delta)


_current: list[Recorder] = [Recorder()]


def recorder() -> Recorder:
    """This process's recorder: a no-op one unless :func:`enable` was called."""
    return _current[0]


def prepare_directory() -> tuple[Path, bool]:
    """The multiprocess directory of this run, set in the environment for this process and
    the processes it starts: ``PROMETHEUS_MULTIPROC_DIR`` when the operator set it (its files
    of an earlier run deleted), else a new temporary directory. Whether it was made here (and
    is to be removed at the end, :func:`remove_directory`)."""
    given = os.environ.get(MULTIPROC_VARIABLE)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in glob.glob(str(directory / "*.db")):
            os.remove(stale)
        return directory, False
    directory = Path(tempfile.mkdtemp(prefix="scanserve-metrics-"))
    os.environ[MULTIPROC_VARIABLE] = str(directory)
    return directory, True


def remove_directory(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)


def enable() -> Recorder:
    """Record from now on, into the multiprocess directory the environment names (the
    command set it: :func:`prepare_directory`; a ``serve --workers`` process inherits it).
    Idempotent."""
    if recorder().enabled:
        return recorder()
    if not os.environ.get(MULTIPROC_VARIABLE):
        raise RuntimeError(f"metrics need {MULTIPROC_VARIABLE}: see prepare_directory")
    # Imported here, once the directory is set: prometheus-client chooses its value store
    # (in memory, or the multiprocess files) when it is first imported.
    import prometheus_client  # noqa: PLC0415 - must follow PROMETHEUS_MULTIPROC_DIR
    from prometheus_client import values  # noqa: PLC0415 - see above

    if not getattr(values.ValueClass, "_multiprocess", False):
        raise RuntimeError(
            "prometheus_client was imported before the metrics directory was set; its "
            "metrics would not be summed across processes"
        )
    live = _Live(prometheus_client)
    _current[0] = live
    return live


def process_exited(pid: int) -> None:
    """A recording process ended: its live gauges stop counting (``serve --workers``)."""
    from prometheus_client import multiprocess  # noqa: PLC0415 - see enable

    multiprocess.mark_process_dead(pid)


# Read at scrape time by the serving process: lane -> (tasks waiting, age of the oldest in
# seconds or None), and dependency -> up.
Backlog = Callable[[], Mapping[str, tuple[int, float | None]]]
Unfinished = Callable[[], tuple[int, float | None]]
Dependencies = Callable[[], Mapping[str, bool]]


class _StateCollector:
    """The values read when Prometheus scrapes, in the serving process."""

    def __init__(
        self,
        backlog: Backlog | None,
        unfinished: Unfinished | None,
        dependencies: Dependencies | None,
    ) -> None:
        self.backlog = backlog
        self.unfinished = unfinished
        self.dependencies = dependencies

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily  # noqa: PLC0415 - see enable

        if self.backlog is not None:
            tasks = GaugeMetricFamily(
                "scanserve_queue_tasks",
                "Tasks waiting in the shared queue (Huey on Redis or SQLite), by lane.",
                labels=["lane"],
            )
            age = GaugeMetricFamily(
                "scanserve_queue_oldest_task_age_seconds",
                "Age of the next task to be taken from the shared queue, by lane "
                "(0 when none is waiting).",
                labels=["lane"],
            )
            try:
                backlog = self.backlog()
            except Exception:  # the queue is down: dependency_up says so
                backlog = {}
            for lane, (waiting, oldest) in backlog.items():
                tasks.add_metric([lane], waiting)
                age.add_metric([lane], oldest or 0.0)
            yield tasks
            yield age
        if self.unfinished is not None:
            try:
                count, oldest = self.unfinished()
            except Exception:  # the database is down: dependency_up says so
                count, oldest = None, None
            if count is not None:
                yield GaugeMetricFamily(
                    "scanserve_captures_unfinished",
                    "Captures accepted and not yet in a terminal status, whichever queue "
                    "holds them.",
                    value=count,
                )
                yield GaugeMetricFamily(
                    "scanserve_captures_oldest_unfinished_age_seconds",
                    "Age of the oldest capture not yet in a terminal status (0 when none).",
                    value=oldest or 0.0,
                )
        if self.dependencies is not None:
            up = GaugeMetricFamily(
                "scanserve_dependency_up",
                "1 when the dependency answers, 0 when not (the readiness probe's checks).",
                labels=["dependency"],
            )
            for name, ok in self.dependencies().items():
                up.add_metric([name], 1.0 if ok else 0.0)
            yield up
        yield GaugeMetricFamily(
            "scanserve_metrics_scrape_timestamp_seconds",
            "When this scrape was answered (Unix time).",
            value=time.time(),
        )


class MetricsServer:
    """The metrics port: Prometheus text on every path, in a daemon thread."""

    def __init__(self, httpd: Any, thread: Any) -> None:
        self._httpd = httpd
        self._thread = thread
        self.port: int = httpd.server_port

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def serve(
    host: str,
    port: int,
    *,
    backlog: Backlog | None = None,
    unfinished: Unfinished | None = None,
    dependencies: Dependencies | None = None,
) -> MetricsServer:
    """Serve the metrics of every process of this run on ``host:port`` (0: any free port;
    the server's ``port`` says which)."""
    enable()
    from prometheus_client import CollectorRegistry, start_http_server  # noqa: PLC0415 - see enable
    from prometheus_client.multiprocess import MultiProcessCollector  # noqa: PLC0415 - see enable

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(_StateCollector(backlog, unfinished, dependencies))  # type: ignore[arg-type]
    httpd, thread = start_http_server(port, addr=host, registry=registry)
    return MetricsServer(httpd, thread)
