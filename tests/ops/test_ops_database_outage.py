"""The database goes away under load and comes back: a real ``scanserve serve`` (and, on the
Redis queue, a real ``scanserve worker``) on a private PostgreSQL that the test stops with
``pg_ctl -m immediate`` (as a crash would) for about ten seconds, or on SQLite locked by
another process past its busy timeout.

What must hold (issue 14): no 500 and nothing but problem documents: every failure is a
``503`` with ``retryable: true`` and ``Retry-After``; liveness answers 200 throughout while
readiness names the database; the service is back within 15 s of the database without a
restart; every acknowledged (201) capture is processed to a terminal state, by the
capture threads or the worker that lived through the outage; none is stored twice, and
none failed because of the outage.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from cli_fork import run_command
from ops_support import (
    CaptureLoad,
    assert_failures_are_retryable_problems,
    scanserve_env,
    scanserve_process,
    served,
)
from private_postgres import PrivatePostgres

from scanserve.bootstrap import build_services
from scanserve.settings import Settings
from scanserve.testing import issue_key, wait_for

pytestmark = pytest.mark.slow

OUTAGE_SECONDS = 10
BACK_WITHIN_SECONDS = 15
# answers in a row, all 201, that show the service back after the outage
STREAK = 20
TERMINAL = {"COMPLETED", "NOT_FOUND", "FAILED"}


def _prepare(settings: Settings) -> dict[str, str]:
    """Migrate the database and issue a key with room for the load; its headers."""
    services = build_services(settings)
    try:
        key = issue_key("Ops", rate_limit_per_minute=100_000, rate_limit_per_day=10_000_000)
    finally:
        services.db.close()
    return key.headers


def _stored(settings: Settings) -> list[tuple[str, str, str]]:
    """(raw value, status, error message) of every capture, read with a connection of its
    own (peewee's thread-local one would be this test's)."""
    url = settings.effective_database_url
    query = "SELECT raw_value, status, error_message FROM capture"
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        try:
            return list(conn.execute(query))
        finally:
            conn.close()
    import psycopg2

    pg = psycopg2.connect(url)
    try:
        with pg.cursor() as cursor:
            cursor.execute(query)
            return list(cursor.fetchall())
    finally:
        pg.close()


def _log_tail(log: Path) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-60:])


def _run_outage(
    settings: Settings,
    env: dict[str, str],
    tmp_path: Path,
    outage: Callable[[], Iterator[None]],
    *,
    reads_fail: bool = True,
) -> None:
    """Serve, load, run ``outage`` (a generator: down at its first step, back at its end)
    and check everything the module docstring lists."""
    headers = _prepare(settings)
    log = tmp_path / "serve.log"
    with served(env, log) as url:
        session = httpx.post(f"{url}/sessions", json={}, headers=headers, timeout=30)
        assert session.status_code == 201, session.text
        load = CaptureLoad(url, headers, session.json()["id"])
        load.start()
        try:
            wait_for(lambda: len(load.acknowledged()) >= 20, 60, "captures before the outage")
            steps = outage()
            next(steps)  # down
            went_down = time.monotonic()
            wait_for(
                lambda: any(a.status != 201 for a in load.answers if a.at > went_down),
                30,
                "a request to meet the outage",
            )
            live = httpx.get(f"{url}/health/live", timeout=30)
            assert live.status_code == 200, live.text
            if reads_fail:  # (SQLite in WAL mode reads on under another's write lock)
                ready = httpx.get(f"{url}/health/ready", timeout=30)
                assert ready.status_code == 503, ready.text
                assert ready.json()["checks"]["database"].startswith("unavailable"), ready.text
            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - went_down)))
            for _ in steps:  # back
                pass
            back = time.monotonic()

            def served_again() -> bool:
                """The last STREAK answers since the return all 201: the service is back
                (a failure later than BACK_WITHIN_SECONDS fails below; one that goes on
                keeps this from ever being true)."""
                since = [a for a in load.answers if a.at > back]
                return len(since) >= STREAK and all(a.status == 201 for a in since[-STREAK:])

            wait_for(
                served_again,
                BACK_WITHIN_SECONDS + 30,
                f"{STREAK} answers in a row after the outage",
                interval=0.2,
            )
        finally:
            load.stop()
        ready = httpx.get(f"{url}/health/ready", timeout=30)
        assert ready.status_code == 200, ready.text

        failures = assert_failures_are_retryable_problems(load.answers)
        assert failures, "no request met the outage: the test proved nothing"
        late = [a for a in failures if a.at > back + BACK_WITHIN_SECONDS]
        assert not late, f"still failing {late[0].at - back:.1f} s after the database returned"
        last_failed = max(a.at for a in failures)
        after = [a for a in load.answers if a.at > last_failed]
        assert len(after) >= STREAK, "too few requests after the outage to show the service back"

        acknowledged = load.acknowledged()
        last_failure = max(a.at for a in failures) - back
        print(  # for the run's record: -s shows it
            f"{len(load.answers)} requests, {len(acknowledged)} acknowledged, "
            f"{len(failures)} answered 503; the last {last_failure:+.1f} s from the return"
        )

        def all_processed() -> list[tuple[str, str, str]] | None:
            rows = _stored(settings)
            done = {raw for raw, status, _ in rows if status in TERMINAL}
            return rows if set(acknowledged) <= done else None

        rows = wait_for(all_processed, 60, "every acknowledged capture to be processed", 0.5)
        server_log = _log_tail(log)
        said = log.read_text(errors="replace")
        # one line when the database went down, one when it came back; no traceback
        assert said.count("scanserve.database: database unavailable") == 1, server_log
        assert said.count("scanserve.database: database is back") == 1, server_log
        assert "Traceback" not in said, server_log

    raws = [raw for raw, _, _ in rows]
    assert len(raws) == len(set(raws)), "a capture was stored twice"
    # A capture stored without a 201 can only be one whose commit the outage cut off from
    # its answer (answered 503); none of a request that was answered otherwise.
    in_doubt = set(raws) - set(acknowledged)
    assert in_doubt <= {a.raw_value for a in failures}, in_doubt
    assert len(in_doubt) <= 3, in_doubt
    for raw, status, error in rows:
        assert status in TERMINAL, (raw, status)
        assert "internal error" not in error, (raw, status, error, server_log)


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivatePostgres]:
    with PrivatePostgres() as pg:  # initdb once for the module's tests
        yield pg


@pytest.fixture
def private_postgres(cluster: PrivatePostgres) -> PrivatePostgres:
    cluster.ensure_running()
    return cluster


def _postgres_restart(pg: PrivatePostgres) -> Callable[[], Iterator[None]]:
    def outage() -> Iterator[None]:
        pg.stop("immediate")
        yield
        pg.start()

    return outage


@pytest.mark.postgres
def test_postgres_restart_under_load_embedded_queue(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    database_url = private_postgres.new_database()
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        queue="immediate",
        load_entrypoint_plugins=False,
    )
    env = scanserve_env(settings.data_dir, SCANSERVE_DATABASE_URL=database_url)
    _run_outage(settings, env, tmp_path, _postgres_restart(private_postgres))


@pytest.mark.postgres
@pytest.mark.redis
def test_postgres_restart_under_load_redis_queue_and_worker(
    private_postgres: PrivatePostgres, tmp_path: Path, redis_url: str
) -> None:
    from redis_support import delete_queue_keys

    queue_name = f"scanserve_ops_{uuid.uuid4().hex[:12]}"
    database_url = private_postgres.new_database()
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        queue="immediate",
        load_entrypoint_plugins=False,
    )
    env = scanserve_env(
        settings.data_dir,
        SCANSERVE_DATABASE_URL=database_url,
        SCANSERVE_QUEUE="redis",
        SCANSERVE_REDIS_URL=redis_url,
        SCANSERVE_QUEUE_NAME=queue_name,
    )
    try:
        # the database first, as an operator would: a worker refuses one without tables, and
        # it may well start before the server has made them
        run_command(["db", "upgrade"], env, check=True)
        with scanserve_process("worker", env, tmp_path / "worker.log"):
            _run_outage(settings, env, tmp_path, _postgres_restart(private_postgres))
    finally:
        delete_queue_keys(redis_url, queue_name)


def test_sqlite_locked_past_its_busy_timeout_under_load(tmp_path: Path) -> None:
    """SQLite's outage: another process holds the write lock longer than the server's
    ``busy_timeout`` (10 s), as a long ``scanserve`` command or a backup could."""
    settings = Settings(
        data_dir=tmp_path / "data", queue="immediate", load_entrypoint_plugins=False
    )
    env = scanserve_env(settings.data_dir)
    path = str(settings.sqlite_path)

    def outage() -> Iterator[None]:
        holder = sqlite3.connect(path, timeout=30, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
            time.sleep(2.5)  # a little past the busy timeout: the writer waiting gives up
        finally:
            holder.execute("ROLLBACK")
            holder.close()

    _run_outage(settings, env, tmp_path, outage, reads_fail=False)
