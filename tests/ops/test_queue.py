"""The background queue with its real parts: Huey on a SQLite file inside the app (embedded),
on Redis with a consumer in threads, and immediate; the sweep; the pipeline's compare-and-set
when two workers race for one capture; and the embedded consumer inside a real
``scanserve serve`` process, which must still stop on SIGTERM.

Redis tests need ``SCANSERVE_TEST_REDIS_URL`` (CI: ``redis://127.0.0.1:6379/0``); each uses
its own queue name and deletes its keys afterwards.
"""

from __future__ import annotations

import os
import queue as stdlib_queue
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import cli_fork
import httpx
import pytest
from loopback import banner_port
from redis_private import PrivateRedis, private_redis  # noqa: F401  (fixture)
from redis_support import delete_queue_keys

from scanserve.app import create_app
from scanserve.bootstrap import build_services
from scanserve.domain import catalog_import as catalog
from scanserve.domain import pipeline
from scanserve.domain.captures import COMPLETED, ENRICHING, FAILED, LOOKING_UP, PENDING, RESOLVING
from scanserve.domain.services import Services
from scanserve.plugins.hookspecs import hookimpl
from scanserve.plugins.providers import ProductRecord
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.testing import FakeLookupProvider, issue_key, wait_for

BASE = "/scanner/api/v1"
DEMO_GTIN = "4006381333931"  # in the packaged demo catalog
NEW_GTIN = "05000112637939"  # in no catalog: only a lookup provider knows it


def unique_queue_name() -> str:
    return f"scanserve_test_{uuid.uuid4().hex[:12]}"  # Huey strips anything but [A-Za-z0-9_]


def barcode(session_id: str, raw_value: str) -> dict[str, str]:
    return {"session_id": session_id, "capture_type": "BARCODE", "raw_value": raw_value}


def import_demo_catalog() -> None:
    with as_file(files("scanserve") / "demo" / "demo_catalog.csv") as path:
        report = catalog.import_file(path)
    assert report.upserted
    assert not report.errors


def new_capture(
    *,
    status: str = PENDING,
    age: float = 0.0,
    gtin: str = "0" + DEMO_GTIN,
    attempts: int = 0,
) -> models.Capture:
    """A capture row as a worker (or a dead one) left it, ``age`` seconds in its status."""
    org = models.Organization.create(name="Queue Org")
    session = models.ScanSession.create(organization=org)
    when = utcnow() - timedelta(seconds=age)
    return models.Capture.create(
        organization=org,
        session=session,
        capture_type="BARCODE",
        raw_value=gtin.removeprefix("0"),
        gtin=gtin,
        status=status,
        attempts=attempts,
        state_changed_at=when,
        modified=when,
        processed_at=when if status in (COMPLETED, FAILED) else None,
    )


def row(capture: models.Capture) -> models.Capture:
    return models.Capture.get_by_id(capture.id)


def snapshot(capture: models.Capture) -> dict[str, Any]:
    return models.Capture.select().where(models.Capture.id == capture.id).dicts().get()


@dataclass
class Transitions:
    """Records the pipeline events (a plugin on the app's manager)."""

    moves: list[tuple[str, str, str]] = field(default_factory=list)
    finished: list[dict[str, Any]] = field(default_factory=list)

    @hookimpl
    def capture_state_changed(self, capture_id: str, old_status: str, new_status: str) -> None:
        self.moves.append((capture_id, old_status, new_status))

    @hookimpl
    def capture_finished(self, capture: dict[str, Any]) -> None:
        self.finished.append(capture)

    def of(self, capture: models.Capture) -> list[tuple[str, str]]:
        return [(old, new) for cid, old, new in self.moves if cid == capture.short_id]


@dataclass
class MeddlingLookup(FakeLookupProvider):
    """A lookup provider that lets "another worker" act while this one waits for the answer."""

    meanwhile: Callable[[str], None] | None = None

    def lookup(self, gtin: str) -> ProductRecord | None:
        if self.meanwhile is not None:
            self.meanwhile(gtin)
        return super().lookup(gtin)


@pytest.fixture
def transitions() -> Transitions:
    return Transitions()


@pytest.fixture
def meddler() -> MeddlingLookup:
    return MeddlingLookup({NEW_GTIN: ProductRecord(gtin=NEW_GTIN, name="Cola Zero 330 ml")})


def services_for(tmp_path: Path, *plugins: Any, **settings: Any) -> Services:
    """What a worker holds (database, plugins, queue), without the HTTP app."""
    settings.setdefault("queue", "immediate")
    return build_services(
        Settings(data_dir=tmp_path / "data", load_entrypoint_plugins=False, **settings),
        extra_plugins=plugins,
    )


@pytest.fixture
def services(
    tmp_path: Path, transitions: Transitions, meddler: MeddlingLookup
) -> Iterator[Services]:
    """A worker's services on the immediate queue, with the recorder and the meddler."""
    built = services_for(tmp_path, transitions, meddler)
    yield built
    built.db.close()


def test_task_names_outlive_the_module_that_defines_them(tmp_path: Path) -> None:
    """A message names its task by module and name; one queued by an earlier release (when
    the queue lived in scanserve/queue.py) must find its task after an upgrade."""
    built = services_for(tmp_path, queue="embedded")
    try:
        registry = built.queue.huey._registry
        names = {registry.task_to_string(t) for t in registry._registry.values()}
        slow = {
            registry.task_to_string(t) for t in built.queue.slow_huey._registry._registry.values()
        }
    finally:
        built.db.close()
    assert {
        "scanserve.queue.process_capture",
        "scanserve.queue.extract_session",
        "scanserve.queue.sweep",
        "scanserve.queue.expire_sessions",
        "scanserve.queue.purge_idempotency",
    } <= names
    assert {"scanserve.queue.process_capture", "scanserve.queue.extract_session"} <= slow


# -- the embedded queue: consumer threads inside the app ------------------------------------


def test_embedded_consumer_runs_inside_the_app_and_stops_with_it(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        queue="embedded",
        queue_name=unique_queue_name(),
        load_entrypoint_plugins=False,
    )
    app = create_app(settings, start_queue=True)
    queue = app.services.queue
    try:
        # The test client runs the lifespan in a thread other than the main one: starting the
        # consumer there must not try to install signal handlers.
        with app.test_client() as client:
            consumer = queue._consumer
            assert consumer is not None
            import_demo_catalog()
            key = issue_key()
            session = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()
            created = client.post(
                f"{BASE}/captures",
                json=barcode(session["id"], DEMO_GTIN),
                headers=key.headers,
            )
            assert created.status_code == 201, created.text
            body = created.json()

            def completed() -> dict[str, Any] | None:
                got = client.get(f"{BASE}/captures/{body['id']}", headers=key.headers).json()
                return got if got["status"] == COMPLETED else None

            done = wait_for(completed, 10, "the embedded consumer to complete the capture")
            assert done["product_name"] == "Stabilo Boss Original Highlighter Yellow"
            assert done["processed_at"] is not None
            assert (settings.data_dir / "queue.db").is_file()
            # The scheduler queues the periodic tasks (sweep, expire_sessions) at each minute
            # boundary; the consumer's threads drain them too.
            wait_for(
                lambda: queue.pending_count() == 0 or None, 10, "the consumer to drain its queue"
            )
        # Leaving the client ran the lifespan's shutdown: the consumer is stopped and gone.
        assert queue._consumer is None
        assert consumer.stop_flag.is_set()
        threads = [t for _, t in consumer.worker_threads] + [consumer.scheduler]
        assert not any(t.is_alive() for t in threads)
    finally:
        queue.stop_embedded()
        app.services.db.close()


# -- the sweep ------------------------------------------------------------------------------


def test_sweep_requeues_only_stale_non_terminal_captures(
    services: Services, transitions: Transitions
) -> None:
    stale_seconds = services.settings.capture_stale_seconds
    import_demo_catalog()
    stuck = new_capture(status=LOOKING_UP, age=stale_seconds + 60, attempts=1)  # a dead worker's
    fresh = new_capture(status=LOOKING_UP, age=1, attempts=1)  # a live worker's
    done = new_capture(status=COMPLETED, age=stale_seconds + 60)
    failed = new_capture(status=FAILED, age=stale_seconds + 60)
    before = {c.short_id: snapshot(c) for c in (fresh, done, failed)}

    assert services.queue.sweep() == 1  # the immediate queue runs the re-queued task at once

    recovered = row(stuck)
    assert recovered.status == COMPLETED
    assert recovered.processed_at is not None
    assert recovered.product.gtin == "0" + DEMO_GTIN
    assert recovered.attempts == 2
    assert transitions.of(stuck) == [
        (LOOKING_UP, PENDING),  # back in the queue
        (PENDING, LOOKING_UP),
        (LOOKING_UP, ENRICHING),
        (ENRICHING, RESOLVING),
        (RESOLVING, COMPLETED),
    ]
    for capture in (fresh, done, failed):
        assert snapshot(capture) == before[capture.short_id]
        assert transitions.of(capture) == []
    assert services.queue.sweep() == 0


def test_sweep_queues_a_stale_capture_once_however_many_sweep(tmp_path: Path) -> None:
    """Every worker sweeps (as it starts, then periodically): a stale capture is queued once,
    not once per worker and sweep."""
    # A real SQLite queue with no consumer: tasks stay in it.
    services = services_for(
        tmp_path, queue="embedded", queue_name=unique_queue_name(), capture_stale_seconds=30
    )
    try:
        stuck = new_capture(status=LOOKING_UP, age=120, attempts=1)
        assert services.queue.sweep() == 1
        assert services.queue.sweep() == 0
        assert services.queue.pending_count() == 1
        [task] = services.queue.huey.pending()
        assert task.args == (stuck.short_id, stuck.organization_id)  # its organisation: its turn
        assert (row(stuck).status, row(stuck).attempts) == (PENDING, 1)
    finally:
        services.db.close()


def test_periodic_tasks_sweep_and_expire_idle_sessions(tmp_path: Path) -> None:
    services = services_for(tmp_path, sweep_interval_seconds=300, session_ttl_seconds=60)
    huey = services.queue.huey
    try:
        on_five = {t.name for t in huey.read_periodic(datetime(2026, 3, 1, 10, 5))}
        on_six = {t.name for t in huey.read_periodic(datetime(2026, 3, 1, 10, 6))}
        assert on_five == {"sweep", "expire_sessions"}
        assert on_six == {"expire_sessions"}  # sweep_interval_seconds=300: every fifth minute

        org = models.Organization.create(name="Idle Org")
        idle = models.ScanSession.create(
            organization=org, last_activity=utcnow() - timedelta(seconds=120)
        )
        busy = models.ScanSession.create(organization=org)
        [expire] = huey.read_periodic(datetime(2026, 3, 1, 10, 6))
        expire.execute()
        assert models.ScanSession.get_by_id(idle.id).status == "EXPIRED"
        assert models.ScanSession.get_by_id(busy.id).status == "ACTIVE"
    finally:
        services.db.close()


# -- running a capture twice, and two workers racing ----------------------------------------


def test_processing_a_completed_capture_again_changes_nothing(
    services: Services, transitions: Transitions
) -> None:
    import_demo_catalog()
    capture = new_capture()
    pipeline.process_capture(services, capture.short_id)
    assert row(capture).status == COMPLETED
    before = snapshot(capture)
    moves, finished = list(transitions.moves), list(transitions.finished)

    pipeline.process_capture(services, capture.short_id)  # a duplicate message, a re-queue
    pipeline.process_capture(services, capture.short_id)

    assert snapshot(capture) == before
    assert transitions.moves == moves
    assert transitions.finished == finished


def test_a_duplicate_task_leaves_a_capture_a_live_worker_holds_alone(
    services: Services, transitions: Transitions
) -> None:
    capture = new_capture(status=ENRICHING, age=2, attempts=1, gtin=NEW_GTIN)
    before = snapshot(capture)

    pipeline.process_capture(services, capture.short_id)

    assert snapshot(capture) == before
    assert transitions.moves == []


def test_a_worker_whose_capture_moved_on_meanwhile_stops(
    services: Services, meddler: MeddlingLookup, transitions: Transitions
) -> None:
    capture = new_capture(gtin=NEW_GTIN)
    finished_at = utcnow()

    def other_worker_finishes(_gtin: str) -> None:
        models.Capture.update(status=COMPLETED, processed_at=finished_at).where(
            models.Capture.id == capture.id
        ).execute()

    meddler.meanwhile = other_worker_finishes
    pipeline.process_capture(services, capture.short_id)

    after = row(capture)
    assert after.status == COMPLETED
    assert after.processed_at == finished_at
    assert after.error_message == ""
    assert after.product is None  # the loser linked nothing
    assert transitions.of(capture) == [(PENDING, LOOKING_UP)]  # its claim, and nothing after
    assert transitions.finished == []


def test_a_slow_worker_whose_capture_the_sweep_handed_on_stops(
    services: Services, meddler: MeddlingLookup, transitions: Transitions
) -> None:
    """A lookup outlasts ``capture_stale_seconds``: the sweep gives the capture to another
    worker, which finishes it; the slow one, when its answer comes, writes nothing."""
    capture = new_capture(gtin=NEW_GTIN)

    def much_later(_gtin: str) -> None:
        meddler.meanwhile = None  # the other worker's own lookup is quick
        models.Capture.update(state_changed_at=utcnow() - timedelta(hours=1)).where(
            models.Capture.id == capture.id
        ).execute()
        assert services.queue.sweep() == 1  # immediate: the other worker runs it right here
        assert row(capture).status == COMPLETED

    meddler.meanwhile = much_later
    pipeline.process_capture(services, capture.short_id)

    done = row(capture)
    assert (done.status, done.attempts, done.error_message) == (COMPLETED, 2, "")
    assert done.product.name == "Cola Zero 330 ml"
    assert transitions.of(capture) == [
        (PENDING, LOOKING_UP),  # the slow worker's claim
        (LOOKING_UP, PENDING),  # the sweep
        (PENDING, LOOKING_UP),  # the other worker, to the end
        (LOOKING_UP, ENRICHING),
        (ENRICHING, RESOLVING),
        (RESOLVING, COMPLETED),
    ]
    assert len(transitions.finished) == 1


def test_of_two_workers_claiming_one_stale_capture_the_first_stops(
    services: Services, meddler: MeddlingLookup, transitions: Transitions
) -> None:
    """Two tasks for one capture a dead worker left: both see it LOOKING_UP and stale, both
    claim it; the status is the same for both, only ``attempts`` tells them apart."""
    capture = new_capture(status=LOOKING_UP, age=600, attempts=1, gtin=NEW_GTIN)

    def other_worker_claims(_gtin: str) -> None:
        models.Capture.update(
            attempts=models.Capture.attempts + 1, state_changed_at=utcnow()
        ).where(models.Capture.id == capture.id).execute()

    meddler.meanwhile = other_worker_claims
    pipeline.process_capture(services, capture.short_id)

    taken = row(capture)
    assert (taken.status, taken.attempts, taken.product) == (LOOKING_UP, 3, None)
    assert taken.error_message == ""
    assert transitions.of(capture) == [(LOOKING_UP, LOOKING_UP)]  # the claim, nothing after


def test_a_worker_that_crashes_after_losing_its_claim_fails_nothing(
    services: Services,
    meddler: MeddlingLookup,
    transitions: Transitions,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    capture = new_capture(status=LOOKING_UP, age=600, attempts=1, gtin=NEW_GTIN)

    def other_worker_claims(_gtin: str) -> None:
        models.Capture.update(attempts=5, state_changed_at=utcnow()).where(
            models.Capture.id == capture.id
        ).execute()

    def disk_full(*_args: Any) -> Any:
        raise RuntimeError("disk full")

    meddler.meanwhile = other_worker_claims
    monkeypatch.setattr(pipeline, "_store_product", disk_full)
    pipeline.process_capture(services, capture.short_id)

    after = row(capture)
    assert (after.status, after.attempts, after.error_message) == (LOOKING_UP, 5, "")
    assert after.processed_at is None
    assert transitions.finished == []


def test_two_workers_storing_the_same_new_product_both_complete(
    services: Services,
    meddler: MeddlingLookup,
    transitions: Transitions,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two scans of one product a provider just found: both workers look for the product
    row, find none, and insert it; the second insert must not fail its capture."""
    capture = new_capture(gtin=NEW_GTIN)
    real_get_or_none = models.Product.get_or_none
    armed = threading.Event()

    def get_or_none(*args: Any, **kwargs: Any) -> Any:
        if armed.is_set():
            armed.clear()
            # The other worker inserts the product between this worker's check and insert.
            models.Product.create(
                short_id=pipeline.product_short_id(NEW_GTIN),
                gtin=NEW_GTIN,
                name="Cola Zero 330 ml",
                source="other-worker",
            )
            return None
        return real_get_or_none(*args, **kwargs)

    monkeypatch.setattr(models.Product, "get_or_none", get_or_none)
    meddler.meanwhile = lambda _gtin: armed.set()  # after the catalog provider has looked
    pipeline.process_capture(services, capture.short_id)

    done = row(capture)
    assert (done.status, done.error_message) == (COMPLETED, "")
    assert done.product.source == "other-worker"
    assert models.Product.select().where(models.Product.gtin == NEW_GTIN).count() == 1
    assert not armed.is_set()  # the race really happened


# -- Redis, with a consumer in threads of this process --------------------------------------


def test_redis_queue_with_an_in_process_consumer(tmp_path: Path, redis_url: str) -> None:
    queue_name = unique_queue_name()
    services = services_for(tmp_path, queue="redis", redis_url=redis_url, queue_name=queue_name)
    consumer = None
    try:
        import_demo_catalog()
        capture = new_capture()
        services.queue.enqueue_capture(capture.short_id)
        assert services.queue.pending_count() == 1  # waiting in Redis for a worker
        assert row(capture).status == PENDING

        consumer = services.queue.consumer(workers=1)
        consumer.start()
        wait_for(lambda: row(capture).status == COMPLETED, 10, "the Redis consumer")
        done = row(capture)
        assert done.product.name == "Stabilo Boss Original Highlighter Yellow"
        assert done.processed_at is not None
        assert done.attempts == 1
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)
        delete_queue_keys(redis_url, queue_name)
        services.db.close()
    threads = [t for _, t in consumer.worker_threads] + [consumer.scheduler]
    assert not any(t.is_alive() for t in threads)


def test_a_redis_worker_fetches_a_capture_in_one_round_trip(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The BRPOP that fetched the task is all a worker thread asks Redis for a capture: Huey's
    revocation flags (a read before each task, a delete after it) are not kept."""
    import redis

    queue_name = unique_queue_name()
    services = services_for(tmp_path, queue="redis", redis_url=redis_url, queue_name=queue_name)
    consumer = None
    asked: list[tuple[str, str]] = []  # (thread, command)
    original = redis.Redis.execute_command

    def recording(self: Any, *args: Any, **options: Any) -> Any:
        asked.append((threading.current_thread().name, str(args[0])))
        return original(self, *args, **options)

    try:
        import_demo_catalog()
        captures = [new_capture() for _ in range(3)]
        for capture in captures:
            services.queue.enqueue_capture(capture.short_id)
        monkeypatch.setattr(redis.Redis, "execute_command", recording)
        consumer = services.queue.consumer(workers=1)
        consumer.start()
        wait_for(
            lambda: all(row(c).status == COMPLETED for c in captures), 10, "the Redis consumer"
        )
        worker = consumer.worker_threads[0][1].name
        assert {command for thread, command in asked if thread == worker} == {"BRPOP"}
        with pytest.raises(NotImplementedError):  # nothing can revoke a task unheard
            services.queue.huey.revoke_by_id("any")
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)
        delete_queue_keys(redis_url, queue_name)
        services.db.close()


@pytest.mark.parametrize(("option", "threads"), [(None, 8), (3, 3)])
def test_a_worker_process_runs_more_main_lane_threads_than_the_embedded_consumer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: int | None, threads: int
) -> None:
    services = services_for(tmp_path, queue="embedded")  # worker_threads: 2
    started: list[tuple[int | None, bool]] = []

    class Idle:
        stop_flag = threading.Event()
        worker_threads = ()
        scheduler = threading.Thread(target=lambda: None)  # never started

        def start(self) -> None: ...
        def run(self) -> None: ...
        def stop(self, graceful: bool) -> None: ...

    def consumer(workers: int | None = None, *, handle_signals: bool = False, slow: bool = False):  # type: ignore[no-untyped-def]
        started.append((workers, slow))
        return Idle()

    monkeypatch.setattr(services.queue, "consumer", consumer)
    services.queue.run_worker(option)  # what `scanserve worker [--threads N]` runs
    assert started == [(None, True), (threads, False)]
    services.db.close()


def test_huey_says_nothing_per_task_at_info() -> None:
    from scanserve.infra.logconfig import logging_config

    loggers = logging_config("text", "INFO")["loggers"]
    assert loggers["huey"]["level"] == "WARNING"  # "Executing ...", "... executed in"
    assert loggers["huey.consumer"]["level"] == "INFO"  # start, stop, periodic tasks
    assert logging_config("text", "DEBUG")["loggers"]["huey"]["level"] == "DEBUG"


# -- `scanserve serve`: the embedded consumer in the real server ----------------------------


def scanserve_env(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANSERVE_")}
    env.update(
        PYTHONUNBUFFERED="1",
        SCANSERVE_DATA_DIR=str(data_dir),
        SCANSERVE_LOAD_ENTRYPOINT_PLUGINS="false",
        **settings,
    )
    return env


def scanserve_command(*args: str) -> list[str]:
    return [*cli_fork.COMMAND, *args]


def stop_process(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


@pytest.mark.slow
def test_serve_runs_the_embedded_consumer_and_stops_on_sigterm(tmp_path: Path) -> None:
    log_path = tmp_path / "serve.stderr"
    with log_path.open("wb") as log:
        proc = cli_fork.Popen(
            scanserve_command("serve", "--demo", "--port", "0"),
            env=scanserve_env(tmp_path / "data", SCANSERVE_QUEUE_NAME=unique_queue_name()),
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    lines: stdlib_queue.Queue[str] = stdlib_queue.Queue()
    stdout = proc.stdout
    assert stdout is not None

    def read_stdout() -> None:  # a thread, so waiting for a line can have a deadline
        for line in stdout:
            lines.put(line)

    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()

    def server_says() -> str:
        return log_path.read_text(errors="replace")[-3000:]

    try:
        key, port = "", None
        deadline = time.monotonic() + 20
        while not key:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or proc.poll() is not None:
                pytest.fail(f"no API key from `serve --demo`:\n{server_says()}")
            try:
                line = lines.get(timeout=remaining)
            except stdlib_queue.Empty:
                continue
            port = banner_port(line) or port  # the port it bound (--port 0)
            if line.startswith("API key: "):
                key = line.removeprefix("API key: ").strip()
        assert port is not None, "no Base URL line before the API key"

        base = f"http://127.0.0.1:{port}{BASE}"
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=5) as http:

            def listening() -> bool:
                try:
                    http.get("/sessions")
                except httpx.TransportError:
                    return False
                return True

            wait_for(listening, 20, f"the server on port {port}", interval=0.1)
            session = http.post("/sessions", json={"metadata": {"store": "demo"}})
            assert session.status_code == 201, session.text
            created = http.post(
                "/captures",
                json=barcode(session.json()["id"], DEMO_GTIN),
            )
            assert created.status_code == 201, created.text
            capture_id = created.json()["id"]

            def completed() -> dict[str, Any] | None:
                got = http.get(f"/captures/{capture_id}").json()
                return got if got["status"] == COMPLETED else None

            done = wait_for(completed, 15, "the consumer inside `serve`", interval=0.1)
            assert done["product_name"] == "Stabilo Boss Original Highlighter Yellow"

        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"`scanserve serve` ignored SIGTERM for 10 s:\n{server_says()}")
        assert code in (0, -signal.SIGTERM), server_says()
        assert "Application shutdown complete" in server_says()
    finally:
        stop_process(proc)
        reader.join(timeout=5)
        stdout.close()


@pytest.mark.redis
def test_a_capture_whose_message_died_with_redis_is_queued_again_when_it_returns(
    tmp_path: Path,
    private_redis: PrivateRedis,  # noqa: F811
) -> None:
    """A capture PENDING with its message nowhere (as one Redis handed to a worker in the
    instant the connection dropped) is processed within seconds of the queue's return, not
    at the sweep ``capture_stale_seconds`` (300 s) later; a capture posted meanwhile whose
    message did reach the queue is processed once."""
    services = services_for(
        tmp_path, queue="redis", redis_url=private_redis.url(), queue_name=unique_queue_name()
    )
    consumer = None
    try:
        import_demo_catalog()
        lost = new_capture(age=5)  # committed, PENDING, its message gone
        consumer = services.queue.consumer(workers=1)
        consumer.start()
        queued = new_capture()
        services.queue.enqueue_capture(queued.short_id)
        wait_for(lambda: row(queued).status == COMPLETED, 10, "the queued capture")
        assert row(lost).status == PENDING  # nothing queues it while the queue is up

        private_redis.stop()
        wait_for(lambda: services.queue.outage.down, 10, "the worker to notice the outage")
        private_redis.start()
        wait_for(lambda: row(lost).status == COMPLETED, 20, "the lost capture's new message")
        assert row(lost).attempts == 1
        assert row(queued).attempts == 1  # done before the outage: not queued again
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)
        services.queue._stop_helpers()
        services.db.close()


@pytest.mark.redis
def test_a_capture_put_back_for_fairness_while_redis_is_down_is_not_lost(
    tmp_path: Path,
    private_redis: PrivateRedis,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker thread holding a capture it may not run yet (its organisation at
    ``worker_threads_per_org``) puts it back at the end of the queue: with Redis down at that
    moment the message is held by the relay and handed over when Redis returns (it used to
    fail the task, and the message was gone). The thread is held, message in hand, until
    Redis is down: otherwise the message would as likely be back in Redis at the stop."""
    from scanserve.infra import queue as queue_module

    release = threading.Event()
    blocked = threading.Event()
    holding = threading.Event()
    redis_down = threading.Event()

    class Blocking(FakeLookupProvider):
        def lookup(self, gtin: str) -> ProductRecord | None:
            blocked.set()
            release.wait(30)
            return super().lookup(gtin)

    deferred = queue_module.OrgSlots.wait_if_all_deferred

    def held_until_redis_is_down(self: Any, huey: Any) -> None:
        holding.set()
        redis_down.wait(30)
        deferred(self, huey)

    monkeypatch.setattr(queue_module.OrgSlots, "wait_if_all_deferred", held_until_redis_is_down)
    services = services_for(
        tmp_path,
        Blocking({NEW_GTIN: ProductRecord(gtin=NEW_GTIN, name="Cola Zero 330 ml")}),
        queue="redis",
        redis_url=private_redis.url(),
        queue_name=unique_queue_name(),
        worker_threads_per_org=1,
    )
    consumer = None
    try:
        first = new_capture(gtin=NEW_GTIN)
        org = first.organization
        second = models.Capture.create(
            organization=org,
            session=first.session,
            capture_type="BARCODE",
            raw_value=DEMO_GTIN,
            gtin="0" + DEMO_GTIN,
            status=PENDING,
        )
        import_demo_catalog()
        # the second is queued once the first runs: queued together, two threads could pop
        # them at once and the second begin first (nothing to defer then)
        services.queue.enqueue_capture(first.short_id, org=org.id)
        consumer = services.queue.consumer(workers=2)
        consumer.start()
        assert blocked.wait(10), "the first capture's lookup never started"
        services.queue.enqueue_capture(second.short_id, org=org.id)
        # the other thread took the second capture, may not run it, and holds it
        assert holding.wait(10), "the second capture was never deferred"
        private_redis.stop()
        redis_down.set()
        # its put-back met the dead queue: the relay holds the message
        wait_for(lambda: services.queue.relay.held() == 1, 10, "the relay to hold it")
        assert services.queue.outage.down
        release.set()
        wait_for(lambda: row(first).status == COMPLETED, 20, "the first capture")
        private_redis.start()
        wait_for(lambda: row(second).status == COMPLETED, 20, "the capture put back")
        assert row(second).attempts == 1
    finally:
        release.set()
        redis_down.set()
        if consumer is not None:
            consumer.stop(graceful=True)
        services.queue._stop_helpers()
        services.db.close()
