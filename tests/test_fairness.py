"""Fairness under a hostile tenant, on a real server: slow QR targets must not starve anyone
else. Asserted on completion and order, never on timings."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from loopback import LoopbackServer, Route, served_port

from scanserve.services import build_services
from scanserve.settings import Settings
from scanserve.testing import IssuedKey, issue_key, wait_for

BASE = "/scanner/api/v1"
CLI = (sys.executable, "-c", "from scanserve.cli import main; main()")
PER_CALLER = 2


class Served:
    def __init__(self, data_dir: Path, **env: str):
        self.env = {
            **os.environ,
            "SCANSERVE_DATA_DIR": str(data_dir),
            "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
            **env,
        }
        out = data_dir.parent / f"serve-{data_dir.name}.out"
        with out.open("wb") as out_file:
            self.proc = subprocess.Popen(
                [*CLI, "serve", "--port", "0"],
                env=self.env,
                stdout=out_file,
                stderr=subprocess.DEVNULL,
            )
        self.port = served_port(self.proc, out)
        self.base = f"http://127.0.0.1:{self.port}{BASE}"

        def up() -> bool:
            try:
                httpx.get(f"{self.base}/openapi.json", timeout=5)
            except httpx.TransportError:
                return False
            return True

        wait_for(up, 60, "the server to start")

    def stop(self) -> None:
        self.proc.kill()  # requests are still hanging on purpose: no graceful shutdown
        self.proc.wait()


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[tuple[IssuedKey, IssuedKey]]:
    services = build_services(
        Settings(data_dir=tmp_path / "data", queue="immediate", load_entrypoint_plugins=False)
    )
    yield issue_key("Hostile"), issue_key("Bystander")
    services.db.close()


def test_resolve_calls_to_a_host_that_never_answers_do_not_delay_others(
    tmp_path: Path, keys: tuple[IssuedKey, IssuedKey]
) -> None:
    hostile, bystander = keys
    target = LoopbackServer({"/hang": Route(200, delay=120), "/ok": Route(200)})
    server = Served(
        tmp_path / "data",
        SCANSERVE_QR_ALLOW_PRIVATE="true",
        SCANSERVE_QR_TIMEOUT_SECONDS="120",
        SCANSERVE_RESOLVE_CONCURRENCY_PER_CALLER=str(PER_CALLER),
    )
    finished: list[Any] = []
    loop = asyncio.new_event_loop()

    async def flood() -> None:
        # more calls than the default thread pool has threads (40)
        async with httpx.AsyncClient(headers=hostile.headers, timeout=300) as client:
            calls = [
                client.post(f"{server.base}/resolve-url", json={"url": target.url("/hang")})
                for _ in range(60)
            ]
            for done in asyncio.as_completed(calls):
                try:
                    finished.append(await done)
                except httpx.HTTPError as exc:
                    finished.append(exc)

    flooding = threading.Thread(target=loop.run_until_complete, args=(flood(),), daemon=True)
    flooding.start()
    try:
        wait_for(lambda: len(target.requests) >= PER_CALLER, 60, "the hostile calls to hang")
        with httpx.Client(timeout=60) as client:
            # an anonymous request, a keyed one, and another tenant's resolve call all answer
            fresh = client.get(
                f"{server.base}/freshness-thresholds", params={"gtin": "4006381333931"}
            )
            assert fresh.status_code == 200
            listed = client.get(f"{server.base}/sessions", headers=bystander.headers)
            assert listed.status_code == 200
            resolved = client.post(
                f"{server.base}/resolve-url",
                json={"url": target.url("/ok")},
                headers=bystander.headers,
            )
            assert resolved.status_code == 200 and resolved.json()["succeeded"] is True
        # ...while every hostile call is still waiting, and only PER_CALLER of them ever
        # reached the host: the rest wait in their caller's lane, holding no thread
        assert finished == []
        hung = [r for r in target.requests if r.path == "/hang"]
        assert len(hung) == PER_CALLER
    finally:
        server.stop()
        target.close()
        flooding.join(timeout=60)
        loop.close()


def test_one_organisations_slow_captures_do_not_delay_anothers(tmp_path: Path) -> None:
    """Org A scans a dozen links to a host that never answers; org B's catalog hit, posted
    after them, completes while every one of A's is still pending: links follow on the
    queue's slow lane, barcodes on the main one."""
    from importlib.resources import as_file, files

    from scanserve import catalog
    from scanserve.app import create_app
    from scanserve.captures import TERMINAL
    from scanserve.storage import models

    target = LoopbackServer({"/hang": Route(200, delay=120)})
    settings = Settings(
        data_dir=tmp_path / "data",
        queue="embedded",
        queue_name=f"fair{os.getpid()}{threading.get_ident() % 10_000}",
        load_entrypoint_plugins=False,
        auth_cache_seconds=0,
        qr_allow_private=True,
        qr_timeout_seconds=120,
    )
    app = create_app(settings, start_queue=True)
    try:
        with as_file(files("scanserve") / "demo" / "demo_catalog.csv") as path:
            catalog.import_file(path)
        org_a, org_b = issue_key("A"), issue_key("B")
        with app.test_client() as client:

            def post(key: IssuedKey, raw_value: str) -> str:
                sid = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()["id"]
                created = client.post(
                    f"{BASE}/captures",
                    json={"session_id": sid, "capture_type": "BARCODE", "raw_value": raw_value},
                    headers=key.headers,
                )
                assert created.status_code == 201, created.text
                return str(created.json()["id"])

            slow = [post(org_a, target.url(f"/hang?n={i}")) for i in range(12)]
            wait_for(lambda: len(target.requests) >= 2, 60, "org A's captures to reach the host")
            fast = post(org_b, "4006381333931")

            def completed() -> dict[str, Any] | None:
                got = client.get(f"{BASE}/captures/{fast}", headers=org_b.headers).json()
                return got if got["status"] == "COMPLETED" else None

            wait_for(completed, 60, "org B's catalog hit to complete")
            statuses = [
                models.Capture.get(models.Capture.short_id == short_id).status for short_id in slow
            ]
            assert not any(status in TERMINAL for status in statuses), statuses
            target.close()  # lets the hanging resolves fail before the lifespan stops the queue
    finally:
        target.close()
        app.services.queue.stop_embedded()
        app.services.db.close()
