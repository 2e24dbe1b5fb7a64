"""Fairness under a hostile tenant, on a real server: slow QR targets must not starve anyone
else. Asserted on completion and order, never on timings."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cli_fork
import httpx
import pytest
from loopback import LoopbackServer, Route, served_port

from scanserve.bootstrap import build_services
from scanserve.settings import Settings
from scanserve.testing import IssuedKey, issue_key, wait_for

BASE = "/scanner/api/v1"
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
            self.proc = cli_fork.Popen(
                [*cli_fork.COMMAND, "serve", "--port", "0"],
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

    from scanserve.app import create_app
    from scanserve.domain import catalog_import as catalog
    from scanserve.domain.captures import TERMINAL
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


# -- turns and caps per organisation, as the lanes use them ---------------------------------


def test_a_fair_queue_serves_organisations_in_turn() -> None:
    from scanserve.infra.capture_lanes import FairQueue

    fair = FairQueue()
    for n in range(4):
        fair.put("A", f"a{n}")
    fair.put("B", "b0")
    fair.put("C", "c0")
    fair.put("B", "b1")
    taken = []
    for _ in range(7):
        found = fair.take()
        assert found is not None
        taken.append(found[1])
        fair.done(found[0])
    # B's and C's wait for one of A's each, not for A's whole flood
    assert taken == ["a0", "b0", "c0", "a1", "b1", "a2", "a3"]
    assert fair.qsize() == 0


def test_a_fair_queue_caps_what_one_organisation_runs_at_once() -> None:
    from scanserve.infra.capture_lanes import FairQueue

    fair = FairQueue(per_org=2)
    for n in range(5):
        fair.put("A", f"a{n}")
    assert [fair.take(), fair.take()] == [("A", "a0"), ("A", "a1")]
    got: list[Any] = []
    taker = threading.Thread(target=lambda: got.append(fair.take()), daemon=True)
    taker.start()
    taker.join(0.3)
    assert taker.is_alive() and got == []  # A is at its cap: a third thread waits...
    fair.put("B", "b0")
    taker.join(10)
    assert got == [("B", "b0")]  # ...and takes B's capture at once
    fair.done("A")
    assert fair.take() == ("A", "a2")  # A's next goes when one of its own ends
    assert fair.running("A") == 2
    fair.close()
    assert fair.take() is None


@pytest.mark.redis
def test_a_redis_worker_runs_another_organisations_link_past_a_flood(
    tmp_path: Path, redis_url: str
) -> None:
    """On the shared queue the slow lane is one Redis list: org A's twelve links to a slow
    host are queued first, org B's one link last. The worker's threads run at most two of
    A's at once and put A's others back, so B's link is followed within its own resolve time
    plus 2 s, while most of A's still wait."""
    from redis_support import delete_queue_keys

    from scanserve.domain.captures import TERMINAL
    from scanserve.storage import models

    target = LoopbackServer({"/slow": Route(200, delay=4), "/own": Route(200, delay=0.5)})
    queue_name = f"scanserve_fair_{os.getpid()}_{threading.get_ident() % 10_000}"
    services = build_services(
        Settings(
            data_dir=tmp_path / "data",
            queue="redis",
            redis_url=redis_url,
            queue_name=queue_name,
            load_entrypoint_plugins=False,
            qr_allow_private=True,
            qr_timeout_seconds=30,
            slow_worker_threads=3,
            slow_worker_threads_per_org=2,
        )
    )
    consumer = None
    try:

        def link_capture(org: models.Organization, url: str) -> str:
            session = models.ScanSession.create(organization=org)
            capture = models.Capture.create(
                organization=org,
                session=session,
                capture_type="BARCODE",
                raw_value=url,
                gtin="",
                metadata={},
            )
            services.queue.enqueue_capture(capture.short_id, slow=True, org=org.id)
            return str(capture.short_id)

        org_a = models.Organization.create(name="A")
        org_b = models.Organization.create(name="B")
        flood = [link_capture(org_a, target.url(f"/slow?n={n}")) for n in range(12)]
        own = link_capture(org_b, target.url("/own"))

        def status(short_id: str) -> str:
            return str(models.Capture.get(models.Capture.short_id == short_id).status)

        consumer = services.queue.consumer(slow=True)
        started = time.monotonic()
        consumer.start()
        wait_for(lambda: status(own) in TERMINAL, 60, "org B's link to be followed")
        took = time.monotonic() - started
        unfinished = [s for s in flood if status(s) not in TERMINAL]
        assert status(own) == "COMPLETED"
        assert took < 0.5 + 2.0, took
        assert len(unfinished) >= 10, unfinished  # the flood was real, and is still there
        slow_hits = [r for r in target.requests if r.path == "/slow"]
        assert len(slow_hits) <= 2  # A never ran more than its cap at once
    finally:
        target.close()  # lets the hanging resolves end
        if consumer is not None:
            consumer.stop(graceful=True)
        delete_queue_keys(redis_url, queue_name)
        services.db.close()


def test_extraction_and_images_are_queued_on_the_slow_lane(tmp_path: Path) -> None:
    """Expensive work never waits on the main lane with the barcodes: a session's vision
    extraction and an uploaded image to decode go to the slow lane, with their organisation
    (the shared queue's cap per organisation needs it)."""
    from scanserve.storage import models

    services = build_services(
        Settings(
            data_dir=tmp_path / "data",
            queue="embedded",  # a real SQLite queue with no consumer: tasks stay in it
            queue_name=f"fairslow{os.getpid()}{threading.get_ident() % 10_000}",
            load_entrypoint_plugins=False,
        )
    )
    try:
        org = models.Organization.create(name="A")
        session = models.ScanSession.create(organization=org)
        image = models.Capture.create(
            organization=org,
            session=session,
            capture_type="IMAGE",
            raw_value="",
            gtin="",
            uploaded_image_key="scanner/x/y/captures/z.png",
            metadata={},
        )
        services.queue.enqueue_extraction(session.short_id)
        services.queue._requeue([image.short_id])  # as the sweep and the recovery queue it
        assert services.queue.huey.pending() == []
        slow = {(task.name, task.args) for task in services.queue.slow_huey.pending()}
        assert slow == {
            ("extract_session", (session.short_id,)),
            ("process_capture", (image.short_id, org.id)),
        }
    finally:
        services.db.close()
