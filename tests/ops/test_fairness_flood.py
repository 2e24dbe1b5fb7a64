"""Fairness between organisations under a flood of expensive work, on a real server: one
organisation uploads images to decode and posts links to a host that answers slowly, as
fast as its budgets let it; another organisation's barcode captures must complete within
2 s, and its link captures within their own resolve time plus 2 s, while the flood is still
queued and running. The images are real PNGs of noise (nothing to read: each is decoded in
full and searched for codes in vain, a few tenths of a second of CPU), the slow host a real
HTTP server on loopback.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cli_fork
import httpx
import pytest
from loopback import LoopbackServer, Route

from scanserve.bootstrap import build_services
from scanserve.domain.captures import TERMINAL
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.testing import IssuedKey, issue_key, wait_for

BASE = "/scanner/api/v1"
DEMO_GTIN = "4006381333931"  # in the demo catalog: a catalog hit, no outside provider
SLOW_LINK_SECONDS = 3.0  # how long the loopback host takes to answer one of A's links
OWN_LINK_SECONDS = 1.0  # ... and one of B's
BOUND = 2.0  # the promise: B waits at most this long for anyone else's work
FLOOD_IMAGES = 24
FLOOD_LINKS = 24


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _noise_png(side: int, seed: int) -> bytes:
    from PIL import Image

    pixels = random.Random(seed).randbytes(side * side)
    buffer = io.BytesIO()
    Image.frombytes("L", (side, side), pixels).save(buffer, "PNG")
    return buffer.getvalue()


class _Served:
    """``scanserve serve`` in a process of its own, on a free loopback port."""

    def __init__(self, data_dir: Path, **env: str):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}{BASE}"
        self.proc = cli_fork.Popen(
            [*cli_fork.COMMAND, "serve", "--port", str(self.port)],
            env={
                **os.environ,
                "SCANSERVE_DATA_DIR": str(data_dir),
                "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
                **env,
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def up() -> bool:
            try:
                httpx.get(f"{self.base}/openapi.json", timeout=5)
            except httpx.TransportError:
                return False
            return True

        wait_for(up, 60, "the server to start")

    def stop(self) -> None:
        self.proc.kill()  # A's flood is still running on purpose
        self.proc.wait()


@pytest.fixture
def data(tmp_path: Path) -> Iterator[tuple[Path, IssuedKey, IssuedKey]]:
    from importlib.resources import as_file, files

    from scanserve.domain import catalog_import as catalog

    data_dir = tmp_path / "data"
    services = build_services(
        Settings(data_dir=data_dir, queue="immediate", load_entrypoint_plugins=False)
    )
    with as_file(files("scanserve") / "demo" / "demo_catalog.csv") as path:
        catalog.import_file(path)
    # A floods within the default budgets; B's request budget is raised only for the
    # test's own polling of its captures (every 20 ms)
    yield data_dir, issue_key("Flooder"), issue_key("Bystander", rate_limit_per_minute=10_000)
    services.db.close()


def _unfinished(short_ids: list[str]) -> int:
    rows = models.Capture.select(models.Capture.status).where(
        models.Capture.short_id.in_(short_ids)
    )
    return sum(1 for row in rows if row.status not in TERMINAL)


def _timed_capture(
    client: httpx.Client, base: str, key: IssuedKey, session: str, raw_value: str
) -> tuple[float, dict[str, Any]]:
    """Post a capture and poll it until it is terminal: the seconds that took, and it."""
    started = time.monotonic()
    created = client.post(
        f"{base}/captures",
        json={"session_id": session, "capture_type": "BARCODE", "raw_value": raw_value},
        headers=key.headers,
    )
    assert created.status_code == 201, created.text
    short_id = created.json()["id"]

    def finished() -> dict[str, Any] | None:
        got = client.get(f"{base}/captures/{short_id}", headers=key.headers).json()
        return got if got["status"] in TERMINAL else None

    capture = wait_for(finished, 120, f"capture {short_id} to finish", interval=0.02)
    return time.monotonic() - started, capture


def _flood(
    base: str, key: IssuedKey, session: str, slow_url: Callable[[int], str], posted: list[str]
) -> None:
    """Organisation A's flood: image uploads and slow links, several requests at a time."""

    async def run() -> None:
        images = [_noise_png(1000, seed) for seed in range(4)]
        gate = asyncio.Semaphore(8)
        async with httpx.AsyncClient(headers=key.headers, timeout=120) as client:

            async def upload(n: int) -> None:
                async with gate:
                    answer = await client.post(
                        f"{base}/captures/upload-image",
                        data={"session_id": session},
                        files={"image": (f"noise{n}.png", images[n % len(images)], "image/png")},
                    )
                assert answer.status_code == 201, answer.text
                posted.append(answer.json()["id"])

            async def link(n: int) -> None:
                async with gate:
                    answer = await client.post(
                        f"{base}/captures",
                        json={
                            "session_id": session,
                            "capture_type": "BARCODE",
                            "raw_value": slow_url(n),
                        },
                    )
                assert answer.status_code == 201, answer.text
                posted.append(answer.json()["id"])

            work = [upload(n) for n in range(FLOOD_IMAGES)] + [link(n) for n in range(FLOOD_LINKS)]
            random.Random(7).shuffle(work)
            await asyncio.gather(*work)

    asyncio.run(run())


def test_a_flood_of_images_and_slow_links_does_not_delay_another_organisation(
    data: tuple[Path, IssuedKey, IssuedKey],
) -> None:
    data_dir, org_a, org_b = data
    target = LoopbackServer(
        {"/slow": Route(200, delay=SLOW_LINK_SECONDS), "/own": Route(200, delay=OWN_LINK_SECONDS)}
    )
    server = _Served(
        data_dir,
        SCANSERVE_QR_ALLOW_PRIVATE="true",
        SCANSERVE_QR_TIMEOUT_SECONDS="30",
    )
    try:
        with httpx.Client(timeout=60) as client:

            def session_of(key: IssuedKey) -> str:
                created = client.post(f"{server.base}/sessions", json={}, headers=key.headers)
                assert created.status_code == 201, created.text
                return str(created.json()["id"])

            session_a, session_b = session_of(org_a), session_of(org_b)
            posted: list[str] = []
            flooding = threading.Thread(
                target=_flood,
                args=(server.base, org_a, session_a, lambda n: target.url(f"/slow?n={n}"), posted),
                daemon=True,
            )
            flooding.start()
            # the flood is under way: its links reach the slow host, its images are queued
            wait_for(lambda: len(target.requests) >= 2, 60, "A's links to reach the slow host")
            wait_for(lambda: len(posted) >= 24, 60, "A to post half its flood")

            # B's links and B's barcodes at the same time, each timed from post to finish
            link_times: list[float] = []
            links: list[dict[str, Any]] = []

            def own_links() -> None:
                with httpx.Client(timeout=60) as own:
                    for n in range(2):
                        seconds, capture = _timed_capture(
                            own, server.base, org_b, session_b, target.url(f"/own?n={n}")
                        )
                        links.append(capture)
                        link_times.append(seconds)

            linking = threading.Thread(target=own_links, daemon=True)
            linking.start()
            barcode_times: list[float] = []
            for _ in range(5):
                seconds, capture = _timed_capture(client, server.base, org_b, session_b, DEMO_GTIN)
                assert capture["status"] == "COMPLETED", capture
                barcode_times.append(seconds)
            linking.join(timeout=120)
            assert len(links) == 2
            for capture in links:  # followed (the host answers 200 and names no product)
                assert capture["status"] == "COMPLETED" and capture["qr_analysis"], capture
            # the flood was real: most of A's work is still queued or running now
            flooding.join(timeout=120)
            assert len(posted) == FLOOD_IMAGES + FLOOD_LINKS
            still = _unfinished(posted)
        assert still >= (FLOOD_IMAGES + FLOOD_LINKS) // 2, (still, barcode_times, link_times)
        assert max(barcode_times) < BOUND, barcode_times
        assert max(link_times) < OWN_LINK_SECONDS + BOUND, link_times
        own = [r for r in target.requests if r.path == "/own"]
        assert len(own) >= 2  # B's links really went to the slow host
    finally:
        server.stop()
        target.close()
