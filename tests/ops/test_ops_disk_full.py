"""A data directory filled to the brim: a small tmpfs of the test's own (mounting needs root,
as CI runs; elsewhere the test is skipped), holding the SQLite database, the embedded queue
and the local objects of a real ``scanserve serve``.

What must hold (issue 14): readiness 503 naming the disk; writes answered 507 (or 503) as
problem documents, never a 500; reads go on; nothing half-written (every acknowledged capture
is there, the database passes its integrity check); the service resumes, without a restart,
once space is freed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ops_support import scanserve_env, served

from scanserve.app import create_app
from scanserve.bootstrap import build_services
from scanserve.settings import Settings
from scanserve.testing import issue_key, wait_for

pytestmark = pytest.mark.slow

BASE = "/scanner/api/v1"
PROBLEM = "application/problem+json"


@contextlib.contextmanager
def small_filesystem(megabytes: int) -> Iterator[Path]:
    """A tmpfs of ``megabytes`` of the test's own, unmounted after."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs the suite as root)")
    where = Path(tempfile.mkdtemp(prefix="scanserve-ops-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
        where.rmdir()


def fill(folder: Path) -> Path:
    """Write a file until the filesystem has no byte left; the file."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    return filler


def _capture(url: str, headers: dict[str, str], session: str, raw: str) -> httpx.Response:
    body = {"session_id": session, "capture_type": "MANUAL", "raw_value": raw}
    return httpx.post(f"{url}/captures", json=body, headers=headers, timeout=30)


def _assert_problem(answer: httpx.Response, statuses: tuple[int, ...]) -> dict[str, object]:
    assert answer.status_code in statuses, (answer.status_code, answer.text)
    assert answer.headers["content-type"] == PROBLEM, answer.text
    body = answer.json()
    assert body["retryable"] is True and int(answer.headers["retry-after"]) > 0, body
    return body


def test_a_full_data_directory_refuses_writes_and_resumes(tmp_path: Path) -> None:
    with small_filesystem(24) as data_dir:
        settings = Settings(data_dir=data_dir, queue="immediate", load_entrypoint_plugins=False)
        services = build_services(settings)
        try:
            headers = issue_key("Disk", rate_limit_per_minute=100_000).headers
        finally:
            services.db.close()
        env = scanserve_env(data_dir, SCANSERVE_MIN_FREE_DISK_MB="4")
        with served(env, tmp_path / "serve.log") as url:
            session = httpx.post(f"{url}/sessions", json={}, headers=headers, timeout=30)
            assert session.status_code == 201, session.text
            session_id = session.json()["id"]
            before = [_capture(url, headers, session_id, f"DISK-A{n}") for n in range(5)]
            assert [a.status_code for a in before] == [201] * 5
            assert httpx.get(f"{url}/health/ready", timeout=30).status_code == 200

            filler = fill(data_dir)
            ready = httpx.get(f"{url}/health/ready", timeout=30)
            body = _assert_problem(ready, (503,))
            assert str(body["checks"]["disk"]).startswith("low: 0 MiB free"), body  # type: ignore[index]
            refused = [_capture(url, headers, session_id, f"DISK-B{n}") for n in range(5)]
            for answer in refused:
                assert _assert_problem(answer, (507, 503))["status"] in (507, 503)
            new_session = httpx.post(f"{url}/sessions", json={}, headers=headers, timeout=30)
            _assert_problem(new_session, (507, 503))
            # reads go on, and liveness does not care
            read = httpx.get(f"{url}/sessions/{session_id}", headers=headers, timeout=30)
            assert read.status_code == 200, read.text
            assert httpx.get(f"{url}/health/live", timeout=30).status_code == 200

            filler.unlink()

            def resumed() -> bool:
                return httpx.get(f"{url}/health/ready", timeout=30).status_code == 200

            wait_for(resumed, 30, "readiness once space was freed", interval=0.5)
            after = _capture(url, headers, session_id, "DISK-C0")
            assert after.status_code == 201, after.text

            def processed() -> list[tuple[str, str]] | None:
                rows = _rows(settings)
                mine = [r for r in rows if r[0].startswith("DISK-")]
                return mine if all(s != "PENDING" for _, s in mine) else None

            rows = wait_for(processed, 60, "the captures to be processed", interval=0.5)
        stored = sorted(raw for raw, _ in rows)
        # exactly the acknowledged captures: none of the refused ones half-stored
        assert stored == sorted([*(f"DISK-A{n}" for n in range(5)), "DISK-C0"])
        conn = sqlite3.connect(settings.sqlite_path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        finally:
            conn.close()


def _rows(settings: Settings) -> list[tuple[str, str]]:
    conn = sqlite3.connect(settings.sqlite_path, timeout=30)
    try:
        return list(conn.execute("SELECT raw_value, status FROM capture"))
    finally:
        conn.close()


def test_sqlite_out_of_space_is_a_507_and_stores_nothing_half(tmp_path: Path) -> None:
    """With the early refusal turned off (``SCANSERVE_MIN_FREE_DISK_MB=0``) the writes reach
    SQLite on a full disk: each is stored whole (the WAL may still have room) or answered
    507/503, never a 500, and the database stays whole."""
    with small_filesystem(16) as data_dir:
        settings = Settings(
            data_dir=data_dir,
            queue="immediate",
            load_entrypoint_plugins=False,
            min_free_disk_mb=0,
        )
        app = create_app(settings)
        try:
            with app.test_client() as client:
                headers = issue_key("Disk", rate_limit_per_minute=100_000).headers
                filler = fill(data_dir)
                statuses = []
                for n in range(200):  # until SQLite needs a page the disk does not have
                    answer = client.post(
                        f"{BASE}/sessions",
                        json={"user_agent": f"full-{n:03d}" * 40},
                        headers=headers,
                    )
                    statuses.append(answer.status_code)
                    if answer.status_code != 201:
                        _assert_problem(answer, (507, 503))
                assert set(statuses) <= {201, 507, 503}, statuses
                assert 507 in statuses or 503 in statuses, "the disk never filled up"
                filler.unlink()
                again = client.post(f"{BASE}/sessions", json={}, headers=headers)
                assert again.status_code == 201, again.text
                listed = client.get(f"{BASE}/sessions?page_size=100", headers=headers)
                assert listed.status_code == 200, listed.text
        finally:
            app.services.db.close()
        conn = sqlite3.connect(settings.sqlite_path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            stored = conn.execute("SELECT count(*) FROM scan_session").fetchone()[0]
        finally:
            conn.close()
        assert stored == statuses.count(201) + 1  # the refused ones stored nothing
