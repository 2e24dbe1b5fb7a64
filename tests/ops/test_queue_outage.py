"""The queue's Redis stopped for ten seconds under keyed POST load with client retries
(issue 14): every keyed request creates exactly one capture, answered 201 throughout (the
committed PENDING row is the outbox; the server's relay hands the message over once Redis
is back), and every capture is processed within 45 s of Redis returning, without the
5-minute sweep and without restarting the server or the worker.

Real parts throughout: a private ``redis-server`` (stopped and started again on the same
port and data directory), ``scanserve serve`` and ``scanserve worker`` subprocesses with
``SCANSERVE_QUEUE=redis``, on SQLite and (when ``SCANSERVE_TEST_POSTGRES_URL`` is set) on a
scratch PostgreSQL database.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from biip.checksums import gs1_standard_check_digit
from redis_private import (
    PrivateRedis,
    Processes,
    cli,
    private_redis,  # noqa: F401  (fixture)
    scanserve_env,
    wait_listening,
)

pytestmark = [pytest.mark.redis, pytest.mark.slow]

TERMINAL = ("COMPLETED", "FAILED", "NOT_FOUND")
OUTAGE_SECONDS = 10
CLIENTS = 4
REPEATS = 3  # each keyed request is sent this often: the client "lost" the first answers


def gtin(n: int) -> str:
    body = f"200{n:09d}"
    return body + str(gs1_standard_check_digit(body))


class KeyedLoad:
    """Client threads, each posting captures with a fresh Idempotency-Key per capture; a key
    is sent REPEATS times (and again after any 409, 5xx or transport error) until each send
    has an answer. Records every acknowledged (key, raw value, capture id)."""

    def __init__(self, base_url: str, api_key: str, session_id: str):
        self.base_url = base_url
        self.api_key = api_key
        self.session_id = session_id
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acknowledged: dict[str, tuple[str, str]] = {}  # key -> (raw value, capture id)
        self.answers: list[int] = []
        self.errors: list[str] = []
        self.counter = 0
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(CLIENTS)]

    def _next(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def _client(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=15) as http:
            while not self.stop.is_set():
                n = self._next()
                key, raw = f"load-{n}-{uuid.uuid4().hex[:8]}", gtin(n)
                ids = {self._send(http, key, raw) for _ in range(REPEATS)}
                ids.discard(None)
                if len(ids) != 1:
                    self.errors.append(f"{key}: answered ids {ids}")
                    continue
                with self.lock:
                    self.acknowledged[key] = (raw, ids.pop())
                time.sleep(0.02)

    def _send(self, http: httpx.Client, key: str, raw: str) -> str | None:
        body = {"session_id": self.session_id, "capture_type": "BARCODE", "raw_value": raw}
        headers = {"X-API-Key": self.api_key, "Idempotency-Key": key}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                answer = http.post("/captures", json=body, headers=headers)
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            with self.lock:
                self.answers.append(answer.status_code)
            if answer.status_code == 201:
                return str(answer.json()["id"])
            if answer.status_code == 409 or answer.status_code >= 500:
                time.sleep(float(answer.headers.get("retry-after", "0.2")))
                continue
            self.errors.append(f"{key}: {answer.status_code} {answer.text[:300]}")
            return None
        self.errors.append(f"{key}: no answer within 60 s")
        return None

    def __enter__(self) -> KeyedLoad:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(90)


def _drive_through_an_outage(
    tmp_path: Path, redis: PrivateRedis, database: dict[str, str], count: Callable[[], Any]
) -> None:
    data_dir = tmp_path / "data"
    env = scanserve_env(
        data_dir,
        queue="redis",
        redis_url=redis.url(),
        queue_name=f"ops_{uuid.uuid4().hex[:10]}",
        rate_limit_per_minute="100000",
        rate_limit_per_day="1000000",
        worker_process_threads="2",
        **database,
    )
    cli(env, "db", "upgrade")
    cli(env, "orgs", "create", "Outage Shop")
    api_key = cli(env, "keys", "create", "--org", "Outage Shop")
    procs = Processes(tmp_path)
    try:
        server = procs.serve("server", env)
        worker = procs.start("worker", env, "worker")
        base_url = procs.base_url("server", server)
        wait_listening(base_url, server)
        session = httpx.post(
            f"{base_url}/sessions", json={}, headers={"X-API-Key": api_key}, timeout=10
        )
        assert session.status_code == 201, session.text

        with KeyedLoad(base_url, api_key, session.json()["id"]) as load:
            time.sleep(2)
            redis.stop()
            stopped_at = time.monotonic()
            acknowledged_before = len(load.acknowledged)
            time.sleep(OUTAGE_SECONDS)
            acknowledged_during = len(load.acknowledged) - acknowledged_before
            redis.start()
            back_at = time.monotonic()
            time.sleep(2)
        assert not load.errors, load.errors[:10]
        assert worker.poll() is None and server.poll() is None, procs.logs()
        # the outage did not stop the writes: they were answered 201 meanwhile
        assert acknowledged_during > 0, (acknowledged_before, load.answers[-20:])
        assert all(status in (201, 409) for status in load.answers), sorted(set(load.answers))

        acknowledged = load.acknowledged
        # The relay hands the held messages over once the queue is back; the sweep would only
        # re-queue a PENDING capture after capture_stale_seconds (300 s), so any bound well
        # under that tells the relay's work from the sweep's. 45 s leaves a loaded machine room
        # to work off a thousand messages.
        deadline = back_at + 45
        while True:
            rows = count()
            done = all(status in TERMINAL for status, _ in rows.values())
            if done and set(rows) >= {raw for raw, _ in acknowledged.values()}:
                break
            if time.monotonic() > deadline:
                waiting = {raw: r for raw, r in rows.items() if r[0] not in TERMINAL}
                ids = {cid for raw, cid in acknowledged.values() if raw in waiting}
                said = [
                    line
                    for name in ("server", "worker")
                    for line in procs.log(name).splitlines()
                    if any(cid in line for cid in ids) or " WARNING " in line or "ERROR" in line
                ]
                pytest.fail(
                    f"{len(waiting)} capture(s) not processed 45 s after Redis returned "
                    f"(outage {back_at - stopped_at:.1f} s): {list(waiting.items())[:5]} "
                    f"{sorted(ids)[:5]}\nwhat the logs say of them, and their warnings:\n"
                    + "\n".join(said[-60:])
                    + "\n"
                    + procs.logs()
                )
            time.sleep(0.2)
        processed_after = time.monotonic() - back_at

        # exactly one capture per key: one per raw value, the one each key was answered
        duplicated = {raw: n for raw, (_, n) in rows.items() if n != 1}
        assert not duplicated, duplicated
        assert len(rows) == len(acknowledged)
        assert processed_after <= 15

        # one line when the queue went down and one when it came back, no tracebacks
        server_log, worker_log = procs.log("server"), procs.log("worker")
        assert server_log.count("the queue is unreachable") == 1, server_log[-3000:]
        assert server_log.count("the queue is reachable again") == 1, server_log[-3000:]
        assert worker_log.count("the queue is unreachable") == 1, worker_log[-3000:]
        assert worker_log.count("the queue is reachable again") == 1, worker_log[-3000:]
        assert "Traceback" not in worker_log, worker_log[-3000:]
        # and nothing else a capture (the worker's one INFO line per capture it finished is
        # its log, not the outage's)
        per_capture = re.compile(r"scanserve\.pipeline: capture \S+ (COMPLETED|NOT_FOUND|FAILED)")
        rest = [line for line in worker_log.splitlines() if not per_capture.search(line)]
        assert len(rest) < 100, "\n".join(rest)[-3000:]
    finally:
        procs.kill_all()


def _sqlite_counts(path: Path) -> Callable[[], dict[str, tuple[str, int]]]:
    def count() -> dict[str, tuple[str, int]]:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            rows = conn.execute(
                "SELECT raw_value, min(status), count(*) FROM capture GROUP BY raw_value"
            ).fetchall()
        finally:
            conn.close()
        return {raw: (status, n) for raw, status, n in rows}

    return count


def test_queue_redis_outage_on_sqlite(tmp_path: Path, private_redis: PrivateRedis) -> None:  # noqa: F811
    count = _sqlite_counts(tmp_path / "data" / "scanserve.db")
    _drive_through_an_outage(tmp_path, private_redis, {}, count)


@pytest.mark.postgres
def test_queue_redis_outage_on_postgres(
    tmp_path: Path,
    private_redis: PrivateRedis,  # noqa: F811
    postgres_url: str,
) -> None:
    import psycopg2

    def count() -> dict[str, tuple[str, int]]:
        conn = psycopg2.connect(postgres_url)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT raw_value, min(status), count(*) FROM capture GROUP BY raw_value"
                )
                rows = cur.fetchall()
        finally:
            conn.close()
        return {raw: (status, n) for raw, status, n in rows}

    _drive_through_an_outage(tmp_path, private_redis, {"database_url": postgres_url}, count)


def test_a_worker_started_with_redis_down_backs_off_and_resumes(
    tmp_path: Path,
    private_redis: PrivateRedis,  # noqa: F811
) -> None:
    """``scanserve worker`` with Redis unreachable from the start: a line, not a traceback a
    second; once Redis starts it takes the capture the server accepted meanwhile."""
    redis = private_redis
    redis.stop()
    data_dir = tmp_path / "data"
    env = scanserve_env(
        data_dir, queue="redis", redis_url=redis.url(), queue_name=f"ops_{uuid.uuid4().hex[:10]}"
    )
    cli(env, "db", "upgrade")
    cli(env, "orgs", "create", "Late Shop")
    api_key = cli(env, "keys", "create", "--org", "Late Shop")
    procs = Processes(tmp_path)
    headers = {"X-API-Key": api_key}
    try:
        server = procs.serve("server", env)
        worker = procs.start("worker", env, "worker")
        base_url = procs.base_url("server", server)
        wait_listening(base_url, server)
        with httpx.Client(base_url=base_url, timeout=10) as http:
            session = http.post("/sessions", json={}, headers=headers).json()["id"]
            body = {"session_id": session, "capture_type": "BARCODE", "raw_value": gtin(1)}
            created = http.post("/captures", json=body, headers=headers)
            assert created.status_code == 201, created.text
            time.sleep(8)
            log = procs.log("worker")
            assert worker.poll() is None, log[-3000:]
            assert log.count("the queue is unreachable") == 1, log[-3000:]
            assert "Traceback" not in log and len(log.splitlines()) < 40, log[-3000:]

            redis.start()
            back_at = time.monotonic()
            capture = f"/captures/{created.json()['id']}"
            while http.get(capture, headers=headers).json()["status"] not in TERMINAL:
                assert time.monotonic() < back_at + 45, procs.logs()  # the sweep: 300 s
                time.sleep(0.2)
        assert procs.log("worker").count("the queue is reachable again") == 1, procs.logs()
        assert procs.log("server").count("the queue is reachable again") == 1, procs.logs()
    finally:
        procs.kill_all()
