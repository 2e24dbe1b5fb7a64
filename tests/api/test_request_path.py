"""The fast read paths: rows straight to responses in a fixed number of queries, the
authentication cache and its one-second bound on revocation, across processes."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import cli_fork
import httpx
import pytest
from cli_fork import COMMAND, run_command
from loopback import served_port

from scanserve.app import create_app
from scanserve.domain import sessions
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.testing import issue_key, wait_for

BASE = "/scanner/api/v1"


def _spy(db):
    executed: list[str] = []
    original = db.execute_sql

    def spy(sql, params=None, *args, **kwargs):
        executed.append(sql)
        return original(sql, params, *args, **kwargs)

    db.execute_sql = spy
    return executed, lambda: setattr(db, "execute_sql", original)


def _add_captures(org_id: int, session_short_id: str, n: int, product: models.Product) -> None:
    session = models.ScanSession.get(models.ScanSession.short_id == session_short_id)
    with models.Capture._meta.database.atomic():
        for _ in range(n):
            models.Capture.create(
                organization=org_id,
                session=session.id,
                capture_type="BARCODE",
                raw_value="4006381333931",
                gtin="04006381333931",
                status="COMPLETED",
                product=product.id,
                metadata={"n": "x"},
            )


@pytest.fixture
def product(scanserve_app):
    return models.Product.create(short_id="P" * 22, gtin="04006381333931", name="Highlighter")


@pytest.mark.parametrize("suffix", ["", "/status"])
def test_small_and_large_sessions_take_the_same_queries(
    scanserve_client, scanserve_app, api_key, product, suffix
):
    """20 captures are read on the event loop, 1,000 in a worker thread (past
    sessions.INLINE_ROWS): both take the same statements, and both responses pass the
    contract's response validation (on in tests)."""
    db = scanserve_app.services.db
    counts = {}
    for n in (20, sessions.INLINE_ROWS + 800):
        sid = scanserve_client.post(f"{BASE}/sessions", json={}, headers=api_key.headers).json()[
            "id"
        ]
        _add_captures(api_key.org_id, sid, n, product)
        executed, restore = _spy(db)
        try:
            response = scanserve_client.get(
                f"{BASE}/sessions/{sid}{suffix}", headers=api_key.headers
            )
        finally:
            restore()
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["captures"]) == n
        if not suffix:
            assert body["capture_count"] == n and body["photo_count"] == 0
            first = body["captures"][0]
            assert first["session_id"] == sid
            assert first["product_short_id"] == "P" * 22
            assert first["product_name"] == "Highlighter"
            assert first["metadata"] == {"n": "x"}
            assert first["created"].endswith("Z")
        else:
            assert body["session_status"] == "ACTIVE"
            assert body["captures"][0] == {
                "id": body["captures"][0]["id"],
                "status": "COMPLETED",
                "proposal_count": 0,
            }
        counts[n] = len(executed)
    assert len(set(counts.values())) == 1, counts


@pytest.mark.parametrize("suffix", ["", "/status"])
def test_large_session_reads_run_one_at_a_time_on_sqlite(
    scanserve_app, api_key, product, monkeypatch, suffix
):
    """A session too large for the event loop is read in a worker thread, one such read at
    a time (scanserve.http.context.read_large): in many threads at once, sqlite3's per-row GIL
    hand-overs cost several times the read. Twelve concurrent requests all answer, in full,
    and never two of the reads overlap."""
    import asyncio
    import threading

    app = scanserve_app
    with app.test_client() as client:
        sid = client.post(f"{BASE}/sessions", json={}, headers=api_key.headers).json()["id"]
    n = sessions.INLINE_ROWS + 1
    _add_captures(api_key.org_id, sid, n, product)
    running, most = 0, 0
    lock = threading.Lock()
    read = sessions.detail_of if not suffix else sessions.status_of

    def watched(*args, **kwargs):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.01)  # long enough for overlapping reads to show
            return read(*args, **kwargs)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(sessions, read.__name__, watched)

    async def many() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await asyncio.gather(
                *(
                    c.get(f"{BASE}/sessions/{sid}{suffix}", headers=api_key.headers)
                    for _ in range(12)
                )
            )

    answers = asyncio.run(many())
    assert [a.status_code for a in answers] == [200] * 12
    assert all(len(a.json()["captures"]) == n for a in answers)
    assert most == 1


def test_capture_is_read_by_its_own_organisation_only(scanserve_client, api_key, product):
    sid = scanserve_client.post(f"{BASE}/sessions", json={}, headers=api_key.headers).json()["id"]
    _add_captures(api_key.org_id, sid, 1, product)
    capture = models.Capture.select().order_by(models.Capture.id.desc()).get()
    mine = scanserve_client.get(f"{BASE}/captures/{capture.short_id}", headers=api_key.headers)
    assert mine.status_code == 200
    assert mine.json()["session_id"] == sid
    assert mine.json()["product_name"] == "Highlighter"
    other = issue_key("Other")
    theirs = scanserve_client.get(f"{BASE}/captures/{capture.short_id}", headers=other.headers)
    assert theirs.status_code == 404
    assert theirs.headers["content-type"] == "application/problem+json"


@pytest.fixture
def cached_settings(scanserve_settings):
    return scanserve_settings.model_copy(update={"auth_cache_seconds": 0.5})


def test_a_cached_key_is_not_looked_up_again(cached_settings):
    app = create_app(cached_settings)
    try:
        key = issue_key()
        with app.test_client() as client:
            assert client.get(f"{BASE}/sessions", headers=key.headers).status_code == 200
            executed, restore = _spy(app.services.db)
            try:
                assert client.get(f"{BASE}/sessions", headers=key.headers).status_code == 200
            finally:
                restore()
            assert not [sql for sql in executed if '"api_key"' in sql], executed
            # a wrong key is never cached: it is refused every time
            bad = {"X-API-Key": key.key[:-8] + "00000000"}
            assert client.get(f"{BASE}/sessions", headers=bad).status_code == 401
    finally:
        app.services.db.close()


def test_revocation_bites_within_a_second_in_every_process(tmp_path: Path, cached_settings):
    """Two processes on one database (this one, and ``scanserve serve``), both holding the key
    in their cache; revoked through the CLI, it is refused by both a second later."""
    settings = cached_settings.model_copy(update={"data_dir": tmp_path / "shared"})
    app = create_app(settings)
    env = {
        **os.environ,
        "SCANSERVE_DATA_DIR": str(settings.data_dir),
        "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
        "SCANSERVE_AUTH_CACHE_SECONDS": "0.5",
    }
    out = tmp_path / "serve.out"
    with out.open("wb") as out_file:
        server = cli_fork.Popen(
            [*COMMAND, "serve", "--port", "0"],
            env=env,
            stdout=out_file,
            stderr=subprocess.DEVNULL,
        )
    try:
        port = served_port(server, out)
        key = issue_key()
        url = f"http://127.0.0.1:{port}{BASE}/sessions"

        def served() -> int | None:
            try:
                return httpx.get(url, headers=key.headers, timeout=5).status_code
            except httpx.TransportError:
                return None

        assert wait_for(served, 60, "the second process to serve") == 200
        with app.test_client() as client:
            assert client.get(f"{BASE}/sessions", headers=key.headers).status_code == 200
            revoke = run_command(["keys", "revoke", key.key_id], env, check=True)
            assert "revoked" in revoke.stdout
            time.sleep(1.0)  # the bound the contract promises, not a speed measurement
            assert client.get(f"{BASE}/sessions", headers=key.headers).status_code == 401
            assert served() == 401
    finally:
        server.terminate()
        server.wait(timeout=30)
        app.services.db.close()


def test_auth_cache_refuses_a_ttl_past_one_second():
    with pytest.raises(ValueError):
        Settings(auth_cache_seconds=1.5)
