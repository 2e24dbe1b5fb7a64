"""Benchmarks: figures and ratios, never pass/fail.

    python bench/run.py            # or: tox -e bench

1. GET /sessions/{id} as the session grows: the captures and photos come in a fixed number of
   queries, so time per capture should fall, and the query count must not move.
2. The request path: POST /sessions and POST /captures (immediate queue, so the capture's
   whole pipeline runs in the request) through the real middleware, validation and SQLite.
3. GS1 interpretation throughput (biip under scanserve.gs1).
4. create_app start-up time (spec validation, migrations, plugins).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from scanserve import catalog, gs1
from scanserve.app import create_app
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.testing import issue_key

BASE = "/scanner/api/v1"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def request_path(data_dir: Path, api_key: str) -> None:
    """Real HTTP: ``scanserve serve`` in a subprocess (uvicorn, embedded queue) on loopback."""
    import os
    import socket
    import subprocess

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "SCANSERVE_DATA_DIR": str(data_dir),
        "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
        "SCANSERVE_RATE_LIMIT_PER_MINUTE": str(10**9),
        "SCANSERVE_RATE_LIMIT_PER_DAY": str(10**9),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from scanserve.cli import main; main()",
            "serve",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}{BASE}"
        with httpx.Client(headers={"X-API-Key": api_key}, timeout=10) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    http.get(f"{base}/openapi.json")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            session_times, capture_times = [], []
            session_id = ""
            for _ in range(300):
                t = time.perf_counter()
                session_id = http.post(f"{base}/sessions", json={}).json()["id"]
                session_times.append(time.perf_counter() - t)
            ids = []
            for _ in range(300):
                t = time.perf_counter()
                r = http.post(
                    f"{base}/captures",
                    json={
                        "session_id": session_id,
                        "capture_type": "BARCODE",
                        "raw_value": "4006381333931",
                    },
                )
                capture_times.append(time.perf_counter() - t)
                ids.append(r.json()["id"])
            t = time.perf_counter()
            while http.get(f"{base}/captures/{ids[-1]}").json()["status"] != "COMPLETED":
                time.sleep(0.01)
            drain = time.perf_counter() - t
        print("real HTTP on loopback (uvicorn, 1 process, embedded queue with 2 worker threads):")
        for name, values in (
            ("POST /sessions", session_times),
            ("POST /captures (queued)", capture_times),
        ):
            print(
                f"  {name:24s} p50 {statistics.median(values) * 1000:6.2f} ms   "
                f"p95 {percentile(values, 0.95) * 1000:6.2f} ms   "
                f"{len(values) / sum(values):6.0f} req/s"
            )
        print(f"  last of {len(ids)} captures COMPLETED {drain * 1000:.0f} ms after the last POST")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="scanserve-bench-"))
    settings = Settings(
        data_dir=tmp,
        queue="immediate",
        load_entrypoint_plugins=False,
        rate_limit_per_minute=10**9,
        rate_limit_per_day=10**9,
    )
    started = time.perf_counter()
    app = create_app(settings)
    startup = time.perf_counter() - started
    key = issue_key("Bench")
    csv = tmp / "catalog.csv"
    csv.write_text("gtin,name\n4006381333931,Highlighter\n")
    catalog.import_file(csv)
    print(f"python {sys.version.split()[0]}, SQLite in {tmp}")
    print(f"create_app start-up: {startup * 1000:.0f} ms")

    request_path(tmp, key.key)
    with app.test_client() as client:
        h = key.headers
        # 1. session detail as it grows
        db = app.services.db
        print("GET /sessions/{id} by session size:")
        rows = []
        for size in (10, 100, 1000):
            sid = client.post(f"{BASE}/sessions", json={}, headers=h).json()["id"]
            session = models.ScanSession.get(models.ScanSession.short_id == sid)
            for _ in range(size):
                models.Capture.create(
                    organization=key.org_id,
                    session=session.id,
                    capture_type="BARCODE",
                    raw_value="4006381333931",
                    gtin="04006381333931",
                    status="COMPLETED",
                )
            executed: list[str] = []
            original = db.execute_sql

            def spy(sql, params=None, *a, _executed=executed, _original=original, **k):
                _executed.append(sql)
                return _original(sql, params, *a, **k)

            db.execute_sql = spy
            try:
                client.get(f"{BASE}/sessions/{sid}", headers=h)
            finally:
                db.execute_sql = original
            queries = len(executed)
            times = []
            for _ in range(20):
                t = time.perf_counter()
                client.get(f"{BASE}/sessions/{sid}", headers=h)
                times.append(time.perf_counter() - t)
            median = statistics.median(times)
            rows.append((size, median, queries))
            print(
                f"  {size:5d} captures: {median * 1000:8.2f} ms, {queries} SQL statements, "
                f"{median / size * 1e6:7.1f} us per capture"
            )
        print(
            f"  ratio 1000 vs 10 captures: time x{rows[-1][1] / rows[0][1]:.1f}, "
            f"SQL statements x{rows[-1][2] / rows[0][2]:.1f}"
        )

    # 3. GS1 interpretation
    samples = [
        "4006381333931",
        "https://id.gs1.org/01/09506000134352/10/ABC123?17=261231",
        "]C10109506000134352101234\x1d17261231",
        "036000291452",
        "https://bit.ly/abc",
    ]
    n = 20_000
    t = time.perf_counter()
    for i in range(n):
        gs1.interpret(samples[i % len(samples)])
    elapsed = time.perf_counter() - t
    print(f"gs1.interpret: {n / elapsed:,.0f} values/s ({elapsed / n * 1e6:.1f} us each)")
    app.services.db.close()


if __name__ == "__main__":
    main()
