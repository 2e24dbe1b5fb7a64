"""Images decoded in bounded memory, measured on a real ``scanserve serve`` process: 40
concurrent ``upload-image`` of a 40-megapixel RGB PNG (the issue's attack took the server
from 129 MB to 3.35 GB, and left it at 2.5 GB) stay under the stated budget, and the memory
comes back once the burst is over."""

from __future__ import annotations

import io
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cli_fork
import httpx
import pytest
from loopback import served_port
from PIL import Image, ImageDraw

from scanserve.bootstrap import build_services
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.storage.database import open_database
from scanserve.testing import issue_key, wait_for

BASE = "/scanner/api/v1"
# The budget this test holds the server to, with the default settings: the server's own
# memory (about 100 MB) plus image_decode_budget_bytes (256 MiB), with room to spare.
PEAK_BUDGET_MB = 500
# After the burst the server holds little more than before it (the decoded pixels went back
# to the system: scanserve.domain.imaging's mmap threshold and its malloc_trim once image work is
# idle; measured 12 MB more, 70 MB more without the trim).
SETTLED_ABOVE_START_MB = 40


def big_png() -> bytes:
    """A 6300x6300 (39.7-megapixel) RGB PNG of a few hundred KB, as in the issue."""
    image = Image.new("RGB", (6300, 6300), "white")
    draw = ImageDraw.Draw(image)
    for x in range(0, 6300, 300):
        draw.line([(x, 0), (6300 - x, 6300)], fill=(200, 30, 30), width=3)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def memory_mb(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (the peak) of the process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) // 1024
    return fields


@pytest.mark.slow
def test_forty_concurrent_uploads_of_a_40_megapixel_png_stay_in_budget(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    services = build_services(
        Settings(data_dir=data_dir, queue="immediate", load_entrypoint_plugins=False)
    )
    key = issue_key("Images", rate_limit_per_minute=1000)
    services.db.close()
    image = big_png()
    assert len(image) < 10 * 1024 * 1024
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANSERVE_")}
    env.update(SCANSERVE_DATA_DIR=str(data_dir), SCANSERVE_LOAD_ENTRYPOINT_PLUGINS="false")
    out = tmp_path / "serve.out"
    with out.open("wb") as stdout:
        server = subprocess.Popen(
            [*cli_fork.COMMAND, "serve", "--port", "0"],
            env=env,
            stdout=stdout,
            stderr=subprocess.DEVNULL,
        )
    try:
        base = f"http://127.0.0.1:{served_port(server, out, within=90)}{BASE}"

        def up() -> bool:
            try:
                httpx.get(f"{base}/sessions", headers=key.headers, timeout=5)
            except httpx.TransportError:
                return False
            return True

        wait_for(up, 90, "the server to start")
        with httpx.Client(timeout=120) as client:
            session_id = client.post(f"{base}/sessions", json={}, headers=key.headers).json()["id"]
            start = memory_mb(server.pid)

            def upload(number: int) -> httpx.Response:
                # every upload is decoded whole to check it; two of them are also searched for
                # codes on the queue (the others carry the value the client decoded)
                form = {"session_id": session_id}
                if number % 20:
                    form.update(capture_type="BARCODE", raw_value="4006381333931")
                return client.post(
                    f"{base}/captures/upload-image",
                    data=form,
                    files={"image": ("big.png", image, "image/png")},
                    headers=key.headers,
                )

            began = time.monotonic()
            with ThreadPoolExecutor(40) as pool:
                responses = list(pool.map(upload, range(40)))
            took = time.monotonic() - began
        statuses = sorted(r.status_code for r in responses)
        for response in responses:
            if response.status_code != 201:  # the only other answer: busy, retry later
                assert response.status_code == 503, response.text
                assert response.headers["content-type"] == "application/problem+json"
                assert int(response.headers["retry-after"]) >= 1
        assert statuses.count(201) >= 30, statuses

        # the captures the queue decodes finish (FAILED: the picture holds no code)
        def decoded() -> bool:
            db = open_database(f"sqlite:///{data_dir / 'scanserve.db'}")
            try:
                return (
                    not models.Capture.select().where(models.Capture.status == "PENDING").exists()
                )
            finally:
                db.close()

        wait_for(decoded, 60, "the queue to decode the uploaded images", interval=0.5)
        peak = memory_mb(server.pid)["VmHWM"]
        print(
            f"40 uploads of {len(image)} bytes in {took:.1f} s: {statuses.count(201)} stored; "
            f"RSS {start['VmRSS']} MB before, peak {peak} MB"
        )
        assert peak < PEAK_BUDGET_MB, (start, peak)
        # the burst is over: what the decoders held went back to the system
        settled = wait_for(
            lambda: (
                (m := memory_mb(server.pid))["VmRSS"] <= start["VmRSS"] + SETTLED_ABOVE_START_MB
                and m
            ),
            20,
            "the server's memory to come back down",
            interval=0.5,
        )
        print(f"RSS {settled['VmRSS']} MB after the burst")
    finally:
        server.terminate()
        server.wait(timeout=60)
