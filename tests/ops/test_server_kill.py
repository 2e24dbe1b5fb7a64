"""A server killed (SIGKILL) in the middle of keyed requests, then the clients' retries
against a new server on the same data (issue 14): exactly one object per key, and a key
whose request died is taken over once its lease lapses (seconds), not after a 300 s lock.

Real ``scanserve serve`` processes: on PostgreSQL a request is caught deterministically
inside its transaction (the test holds a lock on the session row the capture's transaction
updates) when the server is killed; on SQLite the server is killed under concurrent keyed
load at whatever point each request has reached.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from biip.checksums import gs1_standard_check_digit
from redis_private import Processes, cli, scanserve_env, wait_listening

pytestmark = [pytest.mark.slow]

LEASE_SECONDS = 10  # the default idempotency_lock_seconds, not set here


def gtin(n: int) -> str:
    body = f"300{n:09d}"
    return body + str(gs1_standard_check_digit(body))


def _post_until_answered(
    http: httpx.Client, api_key: str, key: str, body: dict[str, str], timeout: float = 60
) -> httpx.Response:
    """A client's retries: again after a 409 (key in flight) or a 5xx, until answered."""
    headers = {"X-API-Key": api_key, "Idempotency-Key": key}
    deadline = time.monotonic() + timeout
    while True:
        answer = http.post("/captures", json=body, headers=headers)
        if answer.status_code != 409 and answer.status_code < 500:
            return answer
        assert time.monotonic() < deadline, answer.text
        time.sleep(float(answer.headers.get("retry-after", "0.5")) / 4)


class Server:
    def __init__(self, tmp_path: Path, env: dict[str, str]):
        self.procs = Processes(tmp_path)
        self.env = env
        self.runs = 0
        self.clients: list[httpx.Client] = []

    def start(self) -> tuple[httpx.Client, str]:
        self.runs += 1
        self.proc = self.procs.serve(f"server-{self.runs}", self.env)
        base_url = self.procs.base_url(f"server-{self.runs}", self.proc)
        wait_listening(base_url, self.proc)
        self.clients.append(httpx.Client(base_url=base_url, timeout=30))
        return self.clients[-1], base_url

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: nothing of the server runs after this
        self.proc.wait(10)

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.procs.kill_all()


def _setup(tmp_path: Path, **database: str) -> tuple[dict[str, str], str]:
    env = scanserve_env(
        tmp_path / "data",
        queue="embedded",
        rate_limit_per_minute="100000",
        **database,
    )
    cli(env, "db", "upgrade")
    cli(env, "orgs", "create", "Kill Shop")
    return env, cli(env, "keys", "create", "--org", "Kill Shop")


@pytest.mark.postgres
def test_a_request_killed_inside_its_transaction_is_run_once_by_a_retry(
    tmp_path: Path, postgres_url: str
) -> None:
    import psycopg2

    env, api_key = _setup(tmp_path, database_url=postgres_url)
    server = Server(tmp_path, env)
    lock = psycopg2.connect(postgres_url)
    try:
        http, _ = server.start()
        session_id = http.post("/sessions", json={}, headers={"X-API-Key": api_key}).json()["id"]
        body = {"session_id": session_id, "capture_type": "BARCODE", "raw_value": gtin(1)}

        # Hold the session row: the capture's transaction (insert, then the session's
        # activity) waits on it, its key claimed, when the server is killed.
        with lock.cursor() as cur:
            cur.execute("SELECT 1 FROM scan_session WHERE short_id = %s FOR UPDATE", [session_id])
        caught = threading.Thread(
            target=lambda: _ignore_transport_errors(
                lambda: http.post(
                    "/captures", json=body, headers={"X-API-Key": api_key, "Idempotency-Key": "k1"}
                )
            ),
            daemon=True,
        )
        caught.start()
        deadline = time.monotonic() + 30
        while not _waiting_on_a_lock(postgres_url):
            assert time.monotonic() < deadline, server.procs.logs()
            time.sleep(0.05)
        server.kill()
        lock.rollback()
        caught.join(30)

        http, _ = server.start()
        retried_at = time.monotonic()
        answer = _post_until_answered(http, api_key, "k1", body)
        waited = time.monotonic() - retried_at
        assert answer.status_code == 201, answer.text
        assert "idempotent-replayed" not in answer.headers  # taken over: it ran, once
        again = _post_until_answered(http, api_key, "k1", body)
        assert again.json()["id"] == answer.json()["id"]
        assert again.headers["idempotent-replayed"] == "true"
        with psycopg2.connect(postgres_url) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM capture")
            assert cur.fetchone()[0] == 1
        assert waited < LEASE_SECONDS + 20, waited  # the lease, not a 300 s lock
    finally:
        lock.close()
        server.close()


def _ignore_transport_errors(call: object) -> None:
    with contextlib.suppress(httpx.TransportError):  # the server was killed under it
        call()  # type: ignore[operator]


def _waiting_on_a_lock(url: str) -> bool:
    import psycopg2

    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return bool(cur.fetchone()[0])


def test_keyed_load_through_a_killed_server_creates_one_capture_per_key(tmp_path: Path) -> None:
    env, api_key = _setup(tmp_path)
    server = Server(tmp_path, env)
    try:
        http, base_url = server.start()
        session_id = http.post("/sessions", json={}, headers={"X-API-Key": api_key}).json()["id"]
        sent: dict[str, dict[str, str]] = {}
        sent_lock = threading.Lock()
        stop = threading.Event()

        def client(n0: int) -> None:
            with httpx.Client(base_url=base_url, timeout=10) as own:
                n = n0
                while not stop.is_set():
                    n += 1000
                    key = f"k-{n}-{uuid.uuid4().hex[:6]}"
                    body = {
                        "session_id": session_id,
                        "capture_type": "BARCODE",
                        "raw_value": gtin(n),
                    }
                    with sent_lock:
                        sent[key] = body
                    headers = {"X-API-Key": api_key, "Idempotency-Key": key}
                    try:
                        own.post("/captures", json=body, headers=headers)
                    except httpx.TransportError:
                        return  # the server is gone

        clients = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(6)]
        for thread in clients:
            thread.start()
        time.sleep(1.5)
        server.kill()
        stop.set()
        for thread in clients:
            thread.join(30)

        http, _ = server.start()
        started = time.monotonic()
        ids: dict[str, str] = {}
        for key, body in sent.items():  # every key retried, answered before the kill or not
            answer = _post_until_answered(http, api_key, key, body)
            assert answer.status_code == 201, answer.text
            ids[key] = answer.json()["id"]
        assert time.monotonic() - started < LEASE_SECONDS + 30
        conn = sqlite3.connect(tmp_path / "data" / "scanserve.db", timeout=10)
        try:
            rows = conn.execute("SELECT raw_value, count(*) FROM capture GROUP BY raw_value")
            counts = dict(rows.fetchall())
        finally:
            conn.close()
        assert {raw: n for raw, n in counts.items() if n != 1} == {}
        assert set(counts) == {body["raw_value"] for body in sent.values()}
        assert len(set(ids.values())) == len(sent)
    finally:
        server.close()
