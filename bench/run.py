"""Benchmarks: figures and ratios, never pass/fail.

    python bench/run.py            # the full run (tox -e bench)
    python bench/run.py --quick    # shorter loads, same figures

Every request-path figure is printed beside a bare Starlette app (``bench/floor.py``) serving
the very bytes scanserve answered, served exactly as ``scanserve serve`` serves scanserve
(``scanserve.infra.server``: protocol, event loop, logging, worker processes), measured side by
side in the same run: on a shared or small machine only the ratios travel. The load comes
from wrk when it is installed (``apt-get install wrk``), else from a Python client, which the
output says.

1. GET /sessions/{id} (20 captures), /sessions/{id}/status, /captures/{id},
   /freshness-thresholds: req/s and the ratio to the floor; the session detail by size
   (10, 100, 1,000 captures) with its SQL statement count.
2. POST /captures on the embedded default (SQLite, queue consumer threads in the server):
   accepted/s and completed/s under load; accepted -> COMPLETED latency at 100 captures/s.
3. ``scanserve worker`` on Redis: captures/s for 1, 2 and 4 worker processes, and their CPU
   per capture (needs SCANSERVE_BENCH_REDIS_URL or SCANSERVE_TEST_REDIS_URL).
4. ``scanserve serve --workers N`` for N = 1, 2, 4 (rate limits shared in Redis).
5. Server RSS under load, and across two soaks.
6. PostgreSQL: 1, 2 and 3 again on a scratch database created on the server named by
   SCANSERVE_BENCH_POSTGRES_URL (or SCANSERVE_TEST_POSTGRES_URL), dropped afterwards.
7. create_app start-up and GS1 interpretation throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

import httpx
import load

from scanserve.app import create_app
from scanserve.bootstrap import build_services
from scanserve.domain import catalog_import as catalog
from scanserve.domain import gs1
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.testing import issue_key

BASE = "/scanner/api/v1"
HERE = Path(__file__).resolve().parent
GTIN = "4006381333931"  # in the bench catalog: every capture is a catalog hit
UNLIMITED = str(10**9)


@dataclass
class Options:
    quick: bool
    seconds: float  # per request-path measurement
    soak_seconds: float
    connections: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
        else:
            return


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children (server worker processes), in MB."""
    total = 0
    pids = [pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    for p in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) ``pid`` has used, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """``scanserve serve`` (or ``worker``) in a subprocess on the bench's data."""

    def __init__(self, env: dict[str, str], *args: str, port: int | None = None):
        self.port = port or free_port()
        # its output kept beside the bench's data, to read when a figure looks wrong
        self.log = Path(env["SCANSERVE_DATA_DIR"]) / f"{args[0]}-{self.port}-{time.time_ns()}.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from scanserve.cli import main; main()", *args]
                + (["--port", str(self.port)] if args and args[0] == "serve" else []),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}{BASE}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def serving(env: dict[str, str], workers: int = 1) -> Iterator[Server]:
    args = ["serve"] + (["--workers", str(workers)] if workers > 1 else [])
    server = Server(env, *args)
    try:
        wait_until_up(f"{server.base}/openapi.json")
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def floor(
    responses: dict[str, tuple[int, str, str]], env: dict[str, str], workers: int = 1
) -> Iterator[str]:
    """The floor app (``floor.py``), served as ``scanserve serve`` is with the same ``env``."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(responses, f)
    port = free_port()
    # its access log to a file as scanserve's (Server): the same work per request
    log = Path(env["SCANSERVE_DATA_DIR"]) / f"floor-{port}-{time.time_ns()}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "floor.py"), f.name, str(port), str(workers)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        os.unlink(f.name)


@dataclass
class Fixture:
    """What the bench seeded: a key, sessions of 20 and 1,000 catalog-hit captures."""

    env: dict[str, str]
    key: str
    org_id: int
    session20: str
    session1000: str
    capture: str
    settings: Settings


def seed(data_dir: Path, database_url: str = "") -> Fixture:
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        queue="immediate",
        load_entrypoint_plugins=False,
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    services = build_services(settings)
    key = issue_key("Bench")
    csv = data_dir / "catalog.csv"
    csv.write_text(f"gtin,name,gpc_brick_code\n{GTIN},Highlighter,10000025\n")
    catalog.import_file(csv)
    product = models.Product.get(models.Product.gtin == "0" + GTIN)
    ids = []
    for size in (20, 1000):
        session = models.ScanSession.create(organization=key.org_id)
        ids.append(session.short_id)
        with services.db.atomic():
            for _ in range(size):
                capture = models.Capture.create(
                    organization=key.org_id,
                    session=session.id,
                    capture_type="BARCODE",
                    raw_value=GTIN,
                    gtin="0" + GTIN,
                    status="COMPLETED",
                    product=product.id,
                )
    services.db.close()
    env = {
        **os.environ,
        "SCANSERVE_DATA_DIR": str(data_dir),
        "SCANSERVE_DATABASE_URL": database_url,
        "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
        "SCANSERVE_RATE_LIMIT_PER_MINUTE": UNLIMITED,
        "SCANSERVE_RATE_LIMIT_PER_DAY": UNLIMITED,
        "SCANSERVE_ANONYMOUS_RATE_LIMIT_PER_MINUTE": UNLIMITED,
        "SCANSERVE_ANONYMOUS_RATE_LIMIT_PER_DAY": UNLIMITED,
    }
    return Fixture(env, key.key, key.org_id, ids[0], ids[1], capture.short_id, settings)


def endpoints(fx: Fixture) -> list[tuple[str, str, float]]:
    """(label, path, target ratio)."""
    return [
        ("GET /sessions/{id} (20 captures)", f"{BASE}/sessions/{fx.session20}", 0.12),
        ("GET /sessions/{id}/status", f"{BASE}/sessions/{fx.session20}/status", 0.15),
        ("GET /captures/{id}", f"{BASE}/captures/{fx.capture}", 0.15),
        ("GET /freshness-thresholds", f"{BASE}/freshness-thresholds?gtin=0{GTIN}", 0.15),
        ("GET /sessions/{id} (1,000 captures)", f"{BASE}/sessions/{fx.session1000}", 0.0),
    ]


def record(server: Server, fx: Fixture) -> dict[str, tuple[int, str, str]]:
    recorded = {}
    for _, path, _ in endpoints(fx):
        r = httpx.get(f"http://127.0.0.1:{server.port}{path}", headers={"X-API-Key": fx.key})
        assert r.status_code == 200, (path, r.status_code, r.text)
        recorded[urlsplit(path).path] = (r.status_code, r.headers["content-type"], r.text)
    return recorded


def measure(url: str, opts: Options, key: str) -> load.Result:
    return load.run(
        url, seconds=opts.seconds, connections=opts.connections, headers={"X-API-Key": key}
    )


def request_path(fx: Fixture, opts: Options, label: str) -> None:
    print(f"\n## Request path ({label}; 1 server process, {opts.connections} connections)")
    print(f"{'endpoint':38s} {'floor req/s':>12s} {'scanserve':>10s} {'ratio':>7s} {'target':>7s}")
    with serving(fx.env) as server:
        recorded = record(server, fx)
        with floor(recorded, fx.env) as floor_base:
            # warm both up (imports, caches, connections) before measuring
            load.run(f"{floor_base}{BASE}/", seconds=1, connections=4)
            load.run(
                f"{server.base}/sessions/{fx.session20}",
                seconds=1,
                connections=4,
                headers={"X-API-Key": fx.key},
            )
            tool = ""
            for name, path, target in endpoints(fx):
                bare = measure(f"{floor_base}{path}", opts, fx.key)
                ours = measure(f"http://127.0.0.1:{server.port}{path}", opts, fx.key)
                tool = ours.tool
                assert ours.non_2xx == 0, f"{name}: {ours.non_2xx} non-2xx answers"
                ratio = ours.rate / bare.rate
                print(
                    f"{name:38s} {bare.rate:12,.0f} {ours.rate:10,.0f} {ratio:7.3f} "
                    f"{'>= ' + format(target, '.2f') if target else '':>7s}"
                )
    print(f"(load: {tool})")


def session_detail_queries(fx: Fixture) -> None:
    """In process, through the real app: SQL statements and time per capture by size."""
    settings = Settings(
        data_dir=fx.settings.data_dir,
        database_url=fx.settings.database_url,
        queue="immediate",
        load_entrypoint_plugins=False,
        rate_limit_per_minute=10**9,
        rate_limit_per_day=10**9,
        auth_cache_seconds=0,  # every request looks its key up: the count includes it
    )
    app = create_app(settings)
    print("\n## GET /sessions/{id} by session size (in process, test client)")
    db = app.services.db  # type: ignore[attr-defined]
    h = {"X-API-Key": fx.key}
    rows = []
    with app.test_client() as client:
        for size in (10, 100, 1000):
            sid = client.post(f"{BASE}/sessions", json={}, headers=h).json()["id"]
            session = models.ScanSession.get(models.ScanSession.short_id == sid)
            with db.atomic():
                for _ in range(size):
                    models.Capture.create(
                        organization=fx.org_id,
                        session=session.id,
                        capture_type="BARCODE",
                        raw_value=GTIN,
                        gtin="0" + GTIN,
                        status="COMPLETED",
                    )
            executed: list[str] = []
            original = db.execute_sql

            def spy(sql, params=None, *a, _executed=executed, _original=original, **k):  # type: ignore[no-untyped-def]
                _executed.append(sql)
                return _original(sql, params, *a, **k)

            db.execute_sql = spy
            try:
                client.get(f"{BASE}/sessions/{sid}", headers=h)
            finally:
                db.execute_sql = original
            times = []
            for _ in range(20):
                t = time.perf_counter()
                client.get(f"{BASE}/sessions/{sid}", headers=h)
                times.append(time.perf_counter() - t)
            median = statistics.median(times)
            rows.append((size, median, len(executed)))
            print(
                f"  {size:5d} captures: {median * 1000:8.2f} ms, {len(executed)} SQL statements "
                f"per request, {median / size * 1e6:7.1f} us per capture"
            )
    print(
        f"  1,000 vs 10 captures: time x{rows[-1][1] / rows[0][1]:.1f}, "
        f"SQL statements x{rows[-1][2] / rows[0][2]:.1f}"
    )
    db.close()


def _captures_since(session_short_id: str) -> list[tuple[str, float | None, float]]:
    rows = (
        models.Capture.select(
            models.Capture.status, models.Capture.processed_at, models.Capture.created
        )
        .join(models.ScanSession)
        .where(models.ScanSession.short_id == session_short_id)
        .tuples()
    )
    return [(s, p.timestamp() if p is not None else None, c.timestamp()) for s, p, c in rows]


def _wait_terminal(session_short_id: str, timeout: float) -> list[tuple[str, float | None, float]]:
    deadline = time.monotonic() + timeout
    while True:
        rows = _captures_since(session_short_id)
        if all(p is not None for _, p, _ in rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def _new_session(server: Server, key: str) -> str:
    r = httpx.post(f"{server.base}/sessions", json={}, headers={"X-API-Key": key})
    return str(r.json()["id"])


def _capture_body(session_id: str) -> str:
    return json.dumps({"session_id": session_id, "capture_type": "BARCODE", "raw_value": GTIN})


def ingestion(fx: Fixture, opts: Options, label: str, server: Server | None = None) -> None:
    print(f"\n## POST /captures, catalog hits ({label}; 1 server process, embedded queue)")
    with contextlib.ExitStack() as stack:
        server = server or stack.enter_context(serving(fx.env))
        open_db(fx)
        sid = _new_session(server, fx.key)
        seconds = 5
        cpu_before = cpu_seconds(server.proc.pid)
        result = load.run(
            f"{server.base}/captures",
            seconds=seconds,
            connections=16,
            method="POST",
            headers={"X-API-Key": fx.key},
            body=_capture_body(sid),
        )
        rows = _wait_terminal(sid, timeout=300)
        cpu_ms = (cpu_seconds(server.proc.pid) - cpu_before) * 1000 / max(len(rows), 1)
        done = [r for r in rows if r[1] is not None]
        completed = [r for r in done if r[0] == "COMPLETED"]
        span = max(p for _, p, _ in done) - min(c for _, _, c in rows) if done else 0
        print(
            f"  under load ({seconds} s, 16 connections, {result.tool}): "
            f"{result.ok_rate:,.0f} accepted/s (target >= 600), "
            f"{len(completed) / span if span else 0:,.0f} completed/s from first POST to last "
            f"COMPLETED (target >= 300); {len(completed)} of {len(rows)} COMPLETED; "
            f"server CPU {cpu_ms:.2f} ms per capture, accepted to COMPLETED (steadier than "
            "rates on a shared machine)"
        )
        # paced: 100 captures/s for a few seconds, latency from accepted to COMPLETED
        sid = _new_session(server, fx.key)
        n = 300 if opts.quick else 1000
        asyncio.run(_paced(server, fx.key, sid, rate=100, n=n))
        rows = _wait_terminal(sid, timeout=120)
        latencies = sorted((p - c) * 1000 for _, p, c in rows if p is not None)
        print(
            f"  paced at 100 captures/s ({n}): accepted -> COMPLETED p50 "
            f"{statistics.median(latencies):.0f} ms (target <= 50), "
            f"p95 {latencies[int(0.95 * len(latencies))]:.0f} ms"
        )


async def _paced(server: Server, key: str, sid: str, rate: float, n: int) -> None:
    body = _capture_body(sid)
    async with httpx.AsyncClient(
        headers={"X-API-Key": key, "Content-Type": "application/json"}, timeout=30
    ) as client:
        started = time.monotonic()
        tasks = []
        for i in range(n):
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(client.post(f"{server.base}/captures", content=body)))
        for r in await asyncio.gather(*tasks):
            assert r.status_code == 201, r.text


async def _posted(server: Server, key: str, sid: str, n: int, concurrency: int) -> None:
    body = _capture_body(sid)
    left = iter(range(n))
    async with httpx.AsyncClient(
        headers={"X-API-Key": key, "Content-Type": "application/json"}, timeout=30
    ) as client:

        async def post() -> None:
            for _ in left:
                r = await client.post(f"{server.base}/captures", content=body)
                assert r.status_code == 201, r.text

        await asyncio.gather(*(post() for _ in range(concurrency)))


def open_db(fx: Fixture) -> None:
    from scanserve.storage.database import open_database

    open_database(fx.settings.effective_database_url)


def redis_workers(
    fx: Fixture, opts: Options, redis_url: str | None, label: str = "SQLite"
) -> None:
    print(f"\n## scanserve worker on Redis ({label}; captures queued first, then the workers)")
    if not redis_url:
        print("  skipped: set SCANSERVE_BENCH_REDIS_URL (or SCANSERVE_TEST_REDIS_URL)")
        return
    import redis

    queue_name = f"bench-{secrets.token_hex(4)}"
    env = {**fx.env, "SCANSERVE_QUEUE": "redis", "SCANSERVE_REDIS_URL": redis_url}
    env["SCANSERVE_QUEUE_NAME"] = queue_name
    n = 600 if opts.quick else 2000
    threads = fx.settings.worker_process_threads
    try:
        for processes in (1, 2, 4):
            with serving(env) as server:
                sid = _new_session(server, fx.key)
                # 16 at a time: hundreds of connections at once made the server drop some
                asyncio.run(_posted(server, fx.key, sid, n=n, concurrency=16))
            open_db(fx)
            workers = [Server(env, "worker") for _ in range(processes)]
            try:
                # worker CPU from the first capture done to the last: start-up is not per capture
                while all(p is None for _, p, _ in _captures_since(sid)):
                    time.sleep(0.05)
                cpu_before = [cpu_seconds(w.proc.pid) for w in workers]
                rows = _wait_terminal(sid, timeout=600)
                cpu = sum(cpu_seconds(w.proc.pid) for w in workers) - sum(cpu_before)
            finally:
                for w in workers:
                    w.stop()
            done = sorted(p for _, p, _ in rows if p is not None)
            # from the first capture done to the last: worker start-up is not throughput
            rate = (len(done) - 1) / (done[-1] - done[0]) if len(done) > 1 else 0
            print(
                f"  {processes} worker process(es) x {threads} threads: "
                f"{rate:,.0f} captures/s ({len(done)} of {n} done), "
                f"worker CPU {cpu / max(1, len(done) - 1) * 1000:.2f} ms per capture"
                + ("   (target >= 300 per process)" if processes == 1 else "")
            )
    finally:
        r = redis.Redis.from_url(redis_url)
        for k in r.scan_iter(f"*{queue_name}*"):
            r.delete(k)


def scale_out(fx: Fixture, opts: Options, redis_url: str | None) -> None:
    print("\n## scanserve serve --workers N: GET /sessions/{id} (20 captures)")
    if not redis_url:
        print("  skipped: N > 1 needs Redis for the rate limits; set SCANSERVE_BENCH_REDIS_URL")
        return
    env = {**fx.env, "SCANSERVE_RATE_LIMIT_STORAGE_URL": redis_url}
    path = f"{BASE}/sessions/{fx.session20}"
    print(f"{'processes':>10s} {'floor req/s':>12s} {'scanserve':>10s} {'ratio':>7s}")
    for n in (1, 2, 4):
        with serving(env, workers=n) as server:
            recorded = record(server, fx)
            with floor(recorded, env, workers=n) as floor_base:
                load.run(
                    f"{server.base}/sessions/{fx.session20}",
                    seconds=1,
                    connections=4,
                    headers={"X-API-Key": fx.key},
                )
                bare = measure(f"{floor_base}{path}", opts, fx.key)
                ours = measure(f"http://127.0.0.1:{server.port}{path}", opts, fx.key)
        print(f"{n:10d} {bare.rate:12,.0f} {ours.rate:10,.0f} {ours.rate / bare.rate:7.3f}")


def memory(fx: Fixture, opts: Options) -> None:
    s = opts.soak_seconds
    print(f"\n## Server RSS: two soaks of {s:.0f} s (GET session detail + POST captures at once)")
    with serving(fx.env) as server:
        sid = _new_session(server, fx.key)
        before = rss_mb(server.proc.pid)
        peaks = []
        after = []
        for _ in range(2):
            samples: list[float] = []
            stop = threading.Event()

            def sample(samples: list[float] = samples, stop: threading.Event = stop) -> None:
                while not stop.wait(0.5):
                    samples.append(rss_mb(server.proc.pid))

            sampler = threading.Thread(target=sample)
            sampler.start()
            posting = threading.Thread(
                target=load.run,
                args=(f"{server.base}/captures",),
                kwargs={
                    "seconds": s,
                    "connections": 4,
                    "method": "POST",
                    "headers": {"X-API-Key": fx.key},
                    "body": _capture_body(sid),
                    "threads": 1,
                },
            )
            posting.start()
            load.run(
                f"{server.base}/sessions/{fx.session20}",
                seconds=s,
                connections=16,
                headers={"X-API-Key": fx.key},
                threads=1,
            )
            posting.join()
            stop.set()
            sampler.join()
            peaks.append(max(samples))
            time.sleep(2)
            after.append(rss_mb(server.proc.pid))
    print(
        f"  before {before:.0f} MB; peak under load {peaks[0]:.0f} / {peaks[1]:.0f} MB "
        f"(target <= 200); after soak 1 {after[0]:.0f} MB, after soak 2 {after[1]:.0f} MB "
        f"(growth {after[1] - after[0]:+.1f} MB)"
    )


@contextlib.contextmanager
def scratch_postgres(url: str) -> Iterator[str]:
    import psycopg2

    name = f"scanserve_bench_{secrets.token_hex(4)}"
    admin = psycopg2.connect(url)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    parts = urlsplit(url)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        from scanserve.storage.database import database_proxy

        with contextlib.suppress(Exception):
            database_proxy.close()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def startup_and_gs1(tmp: Path) -> None:
    settings = Settings(data_dir=tmp / "startup", queue="immediate", load_entrypoint_plugins=False)
    create_app(settings).services.db.close()  # type: ignore[attr-defined]
    t = time.perf_counter()
    create_app(settings).services.db.close()  # type: ignore[attr-defined]
    elapsed_ms = (time.perf_counter() - t) * 1000
    print(f"\n## create_app start-up (second in the process): {elapsed_ms:.0f} ms")
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
    print(f"## gs1.interpret: {n / elapsed:,.0f} values/s ({elapsed / n * 1e6:.1f} us each)")


SECTIONS = ("request", "queries", "ingest", "redis", "scale", "memory", "postgres", "misc")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short loads (about 3 minutes)")
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only these sections (repeatable)"
    )
    parser.add_argument(
        "--metrics",
        action="store_true",
        help="serve with Prometheus metrics on (SCANSERVE_METRICS_PORT=0): their cost",
    )
    args = parser.parse_args()
    opts = Options(
        quick=args.quick,
        seconds=3 if args.quick else 10,
        soak_seconds=10 if args.quick else 60,
        connections=32,
    )
    only = set(args.only or SECTIONS)
    redis_url = os.environ.get("SCANSERVE_BENCH_REDIS_URL") or os.environ.get(
        "SCANSERVE_TEST_REDIS_URL"
    )
    pg_url = os.environ.get("SCANSERVE_BENCH_POSTGRES_URL") or os.environ.get(
        "SCANSERVE_TEST_POSTGRES_URL"
    )
    tmp = Path(tempfile.mkdtemp(prefix="scanserve-bench-"))
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load by "
        + (
            "wrk"
            if load.wrk_path()
            else "a Python client: wrk is NOT installed, ratios are compressed"
        )
        + f", {'quick' if args.quick else 'full'} run"
        + (", metrics on" if args.metrics else "")
        + f", data in {tmp}"
    )
    fx = seed(tmp / "sqlite")
    if args.metrics:  # every scanserve process the bench starts records (the floor does not)
        fx.env["SCANSERVE_METRICS_PORT"] = "0"
    if "request" in only:
        request_path(fx, opts, "SQLite")
    if "queries" in only:
        session_detail_queries(fx)
    if "ingest" in only:
        ingestion(fx, opts, "SQLite")
    if "redis" in only:
        redis_workers(fx, opts, redis_url)
    if "scale" in only:
        scale_out(fx, opts, redis_url)
    if "memory" in only:
        memory(fx, opts)
    if "postgres" in only:
        if not pg_url:
            print("\n## PostgreSQL: skipped, set SCANSERVE_BENCH_POSTGRES_URL")
        else:
            with scratch_postgres(pg_url) as url:
                pg = seed(tmp / "pg", url)
                request_path(pg, opts, "PostgreSQL")
                ingestion(pg, opts, "PostgreSQL")
                redis_workers(pg, opts, redis_url, "PostgreSQL")
    if "misc" in only:
        startup_and_gs1(tmp)


if __name__ == "__main__":
    main()
