"""Limits that hold under concurrency, a budget for failed credentials, trusted proxies,
ambiguous credentials, header limits, private files, and per-organisation redirect rules."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import anyio
import httpx
import pytest

from scanserve.app import create_app
from scanserve.domain import catalog_import as catalog
from scanserve.http.clients import client_address
from scanserve.infra.ratelimit import RateLimiter
from scanserve.storage import migrate, models
from scanserve.storage.database import open_database
from scanserve.testing import issue_key

BASE = "/scanner/api/v1"


# -- exact limits under concurrency ---------------------------------------------------------


def _admitted(limiter: RateLimiter, identity: str, per_minute: int, per_day: int, n: int) -> int:
    barrier = threading.Barrier(n)

    def one(_: int) -> bool:
        barrier.wait()
        return limiter.hit(identity, per_minute, per_day).allowed

    with ThreadPoolExecutor(max_workers=n) as pool:
        return sum(pool.map(one, range(n)))


@pytest.mark.parametrize(("per_minute", "per_day", "budget"), [(5, 1000, 5), (1000, 10, 10)])
def test_memory_limits_are_exact_under_concurrency(per_minute, per_day, budget):
    for _ in range(5):  # a race shows up in some rounds only
        limiter = RateLimiter("memory://")
        assert _admitted(limiter, "key:k", per_minute, per_day, 64) == budget


def test_redis_limits_are_exact_across_four_processes(redis_url, tmp_path):
    identity = f"test:{uuid.uuid4()}"
    go = tmp_path / "go"
    script = textwrap.dedent(
        f"""
        import json, os, threading, time
        from concurrent.futures import ThreadPoolExecutor
        from scanserve.infra.ratelimit import RateLimiter
        limiter = RateLimiter({redis_url!r})
        limiter.hit("warm-up:" + str(os.getpid()), 1, 1)  # connect before the start
        print("ready", flush=True)
        while not os.path.exists({str(go)!r}):
            time.sleep(0.005)
        with ThreadPoolExecutor(16) as pool:
            verdicts = list(pool.map(lambda _: limiter.hit({identity!r}, 5, 1000), range(16)))
        print(json.dumps([v.headers["RateLimit-Remaining"] for v in verdicts if v.allowed]))
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        go.touch()
        admitted = [json.loads(proc.communicate(timeout=60)[0]) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    # 64 requests in four processes, five admitted, and each saw its own count
    assert sorted(r for one in admitted for r in one) == ["0", "1", "2", "3", "4"], admitted


def test_concurrent_requests_through_the_app_admit_exactly_the_budget(scanserve_app):
    key = issue_key("Tight", rate_limit_per_minute=5)

    async def main() -> list[int]:
        transport = httpx.ASGITransport(app=scanserve_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            statuses: list[int] = []

            async def one() -> None:
                r = await client.get(f"{BASE}/sessions", headers=key.headers)
                statuses.append(r.status_code)

            async with anyio.create_task_group() as tg:
                for _ in range(32):
                    tg.start_soon(one)
            return statuses

    statuses = anyio.run(main)
    assert statuses.count(200) == 5 and statuses.count(429) == 27


# -- failed credentials ---------------------------------------------------------------------


WRONG_KEY = "csb_" + "A" * 32 + "_00000000"  # well formed, wrong checksum


class TestFailedCredentials:
    @pytest.fixture
    def scanserve_settings(self, scanserve_settings):
        return scanserve_settings.model_copy(update={"failed_auth_per_minute": 3})

    def test_failed_credentials_have_their_own_budget(self, scanserve_client, api_key):
        c = scanserve_client
        unknown = issue_key("Gone")
        models.ApiKey.delete().where(models.ApiKey.short_id == unknown.key_id).execute()
        for bad in (WRONG_KEY, unknown.key, WRONG_KEY):
            refused = c.get(f"{BASE}/sessions", headers={"X-API-Key": bad})
            assert refused.status_code == 401
            assert refused.headers["ratelimit-policy"] == "3;w=60, 200;w=86400"
        for bad in (unknown.key, WRONG_KEY):
            spent = c.get(f"{BASE}/sessions", headers={"X-API-Key": bad})
            assert spent.status_code == 429, spent.text
            assert spent.json()["error_code"] == "rate_limited"
            assert "failed credentials" in spent.json()["detail"]
            assert int(spent.headers["retry-after"]) >= 1
        # the anonymous budget of the same address is untouched ...
        anonymous = c.get(f"{BASE}/freshness-thresholds?gtin=4006381333931")
        assert anonymous.status_code == 200
        assert anonymous.headers["ratelimit-remaining"] == "59"
        # ... and a good key from the same address is not locked out by the failures
        good = c.get(f"{BASE}/sessions", headers=api_key.headers)
        assert good.status_code == 200
        assert good.headers["ratelimit-remaining"] == "299"


# -- ambiguous credentials ------------------------------------------------------------------


def test_ambiguous_credentials_are_refused(scanserve_client, api_key):
    other = issue_key("Other")
    for headers in (
        [("X-API-Key", api_key.key), ("X-API-Key", other.key)],
        [("X-API-Key", api_key.key), ("X-API-Key", api_key.key)],
        [("X-API-Key", api_key.key), ("Authorization", "Bearer not-a-token")],
        [("X-API-Key", api_key.key), ("Authorization", "Basic dXNlcjpwYXNz")],
        [("Authorization", "Bearer a"), ("Authorization", "Bearer b")],
    ):
        refused = scanserve_client.get(f"{BASE}/sessions", headers=headers)
        assert refused.status_code == 401, headers
        assert "Ambiguous credentials" in refused.json()["detail"]
    assert scanserve_client.get(f"{BASE}/sessions", headers=api_key.headers).status_code == 200


# -- trusted proxies ------------------------------------------------------------------------


def _remaining_for(app, forwarded_for: str, peer: str = "127.0.0.1") -> str:
    async def main() -> str:
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.get(
                f"{BASE}/freshness-thresholds?gtin=4006381333931",
                headers={"X-Forwarded-For": forwarded_for},
            )
            assert r.status_code == 200
            return r.headers["ratelimit-remaining"]

    return anyio.run(main)


def test_x_forwarded_for_is_ignored_by_default(scanserve_app):
    # from loopback too: each "client" named in the header shares the peer's budget
    assert _remaining_for(scanserve_app, "203.0.113.1") == "59"
    assert _remaining_for(scanserve_app, "203.0.113.2") == "58"


def test_x_forwarded_for_is_honoured_from_trusted_proxies_only(scanserve_settings):
    settings = scanserve_settings.model_copy(update={"trusted_proxies": ["127.0.0.0/8"]})
    app = create_app(settings)
    try:
        assert _remaining_for(app, "203.0.113.1") == "59"
        assert _remaining_for(app, "203.0.113.2") == "59"  # another client, another budget
        assert _remaining_for(app, "203.0.113.1") == "58"
        # a client cannot pick its budget by writing the header itself: the rightmost
        # untrusted entry counts
        assert _remaining_for(app, "198.51.100.7, 203.0.113.1") == "57"
        # an untrusted peer's header is ignored
        assert _remaining_for(app, "203.0.113.9", peer="192.0.2.10") == "59"
        assert _remaining_for(app, "203.0.113.8", peer="192.0.2.10") == "58"
    finally:
        app.services.db.close()


def test_client_address_walks_from_the_right():
    import ipaddress

    trusted = [ipaddress.ip_network("10.0.0.0/8")]
    xff = [(b"x-forwarded-for", b"1.1.1.1, 2.2.2.2, 10.0.0.3")]
    assert client_address("10.0.0.2", xff, trusted) == "2.2.2.2"
    assert client_address("10.0.0.2", [(b"x-forwarded-for", b"10.0.0.9")], trusted) == "10.0.0.9"
    assert client_address("10.0.0.2", [(b"x-forwarded-for", b"junk, 10.0.0.9")], trusted) == (
        "10.0.0.9"
    )
    assert client_address("10.0.0.2", [], trusted) == "10.0.0.2"
    assert client_address("192.0.2.1", xff, trusted) == "192.0.2.1"
    assert client_address("10.0.0.2", xff, []) == "10.0.0.2"


# -- header limits --------------------------------------------------------------------------


def test_header_count_and_size_are_capped_before_credentials(scanserve_client, api_key):
    many = [(f"X-Filler-{i}", "1") for i in range(120)]
    refused = scanserve_client.get(f"{BASE}/sessions", headers=[*api_key.headers.items(), *many])
    assert refused.status_code == 431, refused.text
    assert refused.json()["error_code"] == "headers_too_large"
    assert "ratelimit-policy" in refused.headers
    cookie = "sessionid=" + "x" * 20_000
    big = scanserve_client.get(f"{BASE}/sessions", headers={**api_key.headers, "Cookie": cookie})
    assert big.status_code == 431 and "16384 bytes" in big.json()["detail"]
    assert scanserve_client.get(f"{BASE}/sessions", headers=api_key.headers).status_code == 200


def test_trailing_slash_redirect_does_not_reflect_the_host(scanserve_app, api_key):
    with scanserve_app.test_client(follow_redirects=False) as client:
        answer = client.get(
            f"{BASE}/sessions/", headers={**api_key.headers, "Host": "evil.example"}
        )
    assert answer.status_code in (301, 302, 307, 308)
    assert answer.headers["location"] == f"{BASE}/sessions"


# -- private files --------------------------------------------------------------------------


def test_data_directory_and_databases_are_private(tmp_path, scanserve_settings):
    data = tmp_path / "fresh" / "data"
    settings = scanserve_settings.model_copy(update={"data_dir": data, "queue": "embedded"})
    app = create_app(settings)
    try:
        issue_key()  # writes, so SQLite makes its -wal and -shm files
        with app.test_client() as client:
            assert client.get(f"{BASE}/freshness-thresholds?gtin=4006381333931").status_code == 200
    finally:
        app.services.db.close()
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    files = sorted(p.name for p in data.iterdir())
    assert "scanserve.db" in files and "queue.db" in files
    for name in files:
        assert stat.S_IMODE(os.stat(data / name).st_mode) == 0o600, name


def test_existing_world_readable_database_is_made_private(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    db_file = data / "scanserve.db"
    db_file.touch(mode=0o644)
    os.chmod(db_file, 0o644)
    open_database(f"sqlite:///{db_file}").close()
    assert stat.S_IMODE(os.stat(db_file).st_mode) == 0o600


# -- redirect rules per organisation --------------------------------------------------------


def test_redirect_rules_are_numbered_per_organisation(scanserve_client, tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text("gtin,name\n09506000134352,Organic Whole Milk 1 L\n")
    catalog.import_file(csv)
    positions = {}
    for org in ("A", "B"):
        key = issue_key(org)
        session = scanserve_client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()
        capture = scanserve_client.post(
            f"{BASE}/captures",
            json={
                "session_id": session["id"],
                "capture_type": "BARCODE",
                "raw_value": "09506000134352",
            },
            headers=key.headers,
        ).json()
        positions[org] = [
            scanserve_client.post(
                f"{BASE}/captures/{capture['id']}/save-redirect",
                json={"url": f"https://{org.lower()}.example/{i}"},
                headers=key.headers,
            ).json()["position"]
            for i in range(2)
        ]
    assert positions == {"A": [0, 1], "B": [0, 1]}  # the same product, each its own sequence


def test_migration_renumbers_existing_rules_per_organisation(tmp_path, monkeypatch):
    first_only = tmp_path / "migrations"
    first_only.mkdir()
    shutil.copy(migrate.MIGRATIONS_DIR / "001_initial.py", first_only)
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", first_only)
    db = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert migrate.upgrade(db) == ["001_initial"]
    a, b = models.Organization.create(name="A"), models.Organization.create(name="B")
    product = models.Product.create(short_id="p" * 22, gtin="09506000134352", name="Milk")
    insert = "INSERT INTO redirect_rule (short_id, product_id, organization_id, url, position, created) VALUES (?, ?, ?, ?, ?, '2026-01-01')"
    for i, org in enumerate([a, b, a, b, a]):  # one shared sequence, as before
        db.execute_sql(insert, (f"r{i}".ljust(22, "x"), product.id, org.id, f"https://{i}", i))
    monkeypatch.undo()
    assert "008_redirect_position_per_org" in migrate.upgrade(db)
    rows = db.execute_sql(
        "SELECT organization_id, url, position FROM redirect_rule ORDER BY organization_id, position"
    ).fetchall()
    assert rows == [
        (a.id, "https://0", 0),
        (a.id, "https://2", 1),
        (a.id, "https://4", 2),
        (b.id, "https://1", 0),
        (b.id, "https://3", 1),
    ]
    db.close()


def test_making_an_open_database_private_keeps_its_locks(tmp_path):
    """Opening the database file again (a second app, a CLI command, the queue) must not
    drop the POSIX locks a connection of this process holds: closing any descriptor of the
    file releases them, and another process could then write beside ours and corrupt it."""
    import sqlite3
    import subprocess
    import sys

    from scanserve.storage.database import private_file

    path = private_file(tmp_path / "locked.db")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=wal")
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN")
    holder.execute("SELECT * FROM t").fetchall()  # a reader: a shared lock on the file
    try:
        private_file(path)  # what open_database does for every app and command
        # Another process that could lock the file exclusively now would also believe it is
        # the last connection when it closes, and checkpoint and delete the WAL under us.
        other = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=0, "
                "isolation_level=None); c.execute('PRAGMA locking_mode=EXCLUSIVE'); "
                "c.execute('BEGIN EXCLUSIVE'); print('got the lock')",
                str(path),
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "database is locked" in other.stderr, other.stdout + other.stderr
        assert "got the lock" not in other.stdout
    finally:
        holder.execute("ROLLBACK")
        holder.close()
