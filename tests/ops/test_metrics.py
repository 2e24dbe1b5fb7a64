"""Prometheus metrics of ``scanserve serve --workers 2 --metrics-port 0``: one scrape sums the
two server processes, every metric family is there, labels are operationIds, and the
multiprocess directory is emptied at start and loses a process's live gauges when it ends."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import cli_fork
import httpx
import pytest
from extraction_support import add_photo, ean13_image
from loopback import banner_text, served_port, server_side_owner
from ops_support import BASE, scanserve_env
from prometheus_client.parser import text_string_to_metric_families

from scanserve.bootstrap import build_services
from scanserve.domain import catalog_import
from scanserve.settings import Settings
from scanserve.testing import issue_key, wait_for

GTIN = "4006381333931"
_METRICS = re.compile(r"^Metrics: http://127\.0\.0\.1:(\d+)/metrics$", re.MULTILINE)

FAMILIES = {
    "scanserve_http_requests": "counter",
    "scanserve_http_request_duration_seconds": "histogram",
    "scanserve_captures_finished": "counter",
    "scanserve_provider_calls": "counter",
    "scanserve_provider_call_duration_seconds": "histogram",
    "scanserve_extraction_duration_seconds": "histogram",
    "scanserve_rate_limit_fallbacks": "counter",
    "scanserve_inprocess_queue_tasks": "gauge",
    "scanserve_queue_tasks": "gauge",
    "scanserve_queue_oldest_task_age_seconds": "gauge",
    "scanserve_captures_unfinished": "gauge",
    "scanserve_captures_oldest_unfinished_age_seconds": "gauge",
    "scanserve_dependency_up": "gauge",
}


def _get(port: int, path: str, pids: list[str]) -> tuple[int, str | None]:
    """A GET on a new connection (so that either process may accept it): its status and the
    process that answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        raw = b""
        while b"\r\n\r\n" not in raw:
            chunk = sock.recv(65536)
            assert chunk, raw
            raw += chunk
        return int(raw.split(b" ", 2)[1]), server_side_owner(sock, pids)


def _samples(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    """Family name -> its samples (name, labels, value), parsed as Prometheus parses them."""
    return {
        family.name: [(s.name, s.labels, s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def _value(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    return sum(v for n, lab, v in samples if n == name and labels.items() <= lab.items())


@pytest.mark.redis
def test_two_server_processes_are_scraped_as_one(tmp_path: Path, redis_url: str) -> None:
    data_dir = tmp_path / "data"
    services = build_services(
        Settings(data_dir=data_dir, queue="immediate", load_entrypoint_plugins=False)
    )
    key = issue_key("Metrics")
    csv = tmp_path / "catalog.csv"
    csv.write_text(f"gtin,name,gpc_brick_code\n{GTIN},Highlighter,10000025\n")
    catalog_import.import_file(csv)
    services.db.close()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    stale = metrics_dir / "counter_1.db"  # an earlier run's: emptied at start
    stale.write_bytes(b"\0" * 16)
    env = scanserve_env(
        data_dir,
        SCANSERVE_RATE_LIMIT_STORAGE_URL=redis_url,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        # the liveness requests are anonymous, counted per address in the shared Redis
        SCANSERVE_ANONYMOUS_RATE_LIMIT_PER_MINUTE=str(10**9),
        SCANSERVE_ANONYMOUS_RATE_LIMIT_PER_DAY=str(10**9),
    )
    out = tmp_path / "serve.out"
    with out.open("wb") as out_file:
        server = cli_fork.Popen(
            [*cli_fork.COMMAND, "serve", "--workers", "2", "--port", "0", "--metrics-port", "0"],
            env=env,
            stdout=out_file,
            stderr=subprocess.STDOUT,
        )
    try:
        port = served_port(server, out, within=90)
        shown = "\n".join(banner_text(line) for line in out.read_text().splitlines())
        found = _METRICS.search(shown)
        assert found, shown
        metrics_url = f"http://127.0.0.1:{found.group(1)}/metrics"
        assert not stale.exists()

        def children() -> list[str] | None:
            pids = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
            return pids if len(pids) >= 2 else None

        pids = wait_for(children, 90, "two server processes")

        def up() -> bool:  # the readiness probe: counted apart from what is asserted below
            try:
                httpx.get(f"http://127.0.0.1:{port}{BASE}/health/ready", timeout=5)
            except httpx.TransportError:
                return False
            return True

        wait_for(up, 90, "the server processes to start")
        # liveness on new connections until both processes have answered some: the second
        # may still be starting while the first answers hundreds, so the bound is a time
        live: list[str | None] = []

        def spread() -> int:  # processes that answered at least three
            return sum(1 for pid in set(live) if pid is not None and live.count(pid) >= 3)

        deadline = time.monotonic() + 90
        while spread() < 2 and time.monotonic() < deadline:
            # the processes as they are now: uvicorn's supervisor replaces one that misses its
            # health check (a loaded machine), and the replacement has another pid
            status, pid = _get(port, f"{BASE}/health/live", children() or pids)
            assert status == 200
            live.append(pid)
            if len(live) > 20:
                time.sleep(0.05)  # one process answering all: give the other time to start
        assert spread() == 2, (
            f"not spread over two processes: {live[-40:]}\n" + out.read_text()[-3000:]
        )
        assert _get(port, "/no/such/path", pids)[0] == 404
        assert _get(port, f"{BASE}/sessions/none/at/all", pids)[0] == 404

        # a capture (a catalog hit, enriched by the in-process GPC labels) and a submitted
        # session (the lookup-data extractor runs on the capture)
        headers = {"X-API-Key": key.key}
        api = f"http://127.0.0.1:{port}{BASE}"
        session = httpx.post(f"{api}/sessions", json={}, headers=headers, timeout=30).json()
        capture = httpx.post(
            f"{api}/captures",
            json={"session_id": session["id"], "capture_type": "BARCODE", "raw_value": GTIN},
            headers=headers,
            timeout=30,
        ).json()

        def finished() -> bool:
            answer = httpx.get(f"{api}/captures/{capture['id']}", headers=headers, timeout=30)
            return answer.json()["status"] == "COMPLETED"

        wait_for(finished, 60, "the capture to be COMPLETED")
        # a barcode photo of it, for the barcode extractor (written as the upload would)
        photos = build_services(
            Settings(data_dir=data_dir, queue="immediate", load_entrypoint_plugins=False)
        )
        add_photo(photos, session["id"], ean13_image(GTIN), "barcode", capture_id=capture["id"])
        photos.db.close()
        submitted = httpx.post(f"{api}/sessions/{session['id']}/submit", headers=headers)
        assert submitted.status_code == 200, submitted.text

        def extracted() -> bool:
            status = httpx.get(f"{api}/sessions/{session['id']}/status", headers=headers)
            return status.json()["extraction_status"] == "ready"

        wait_for(extracted, 60, "the extraction to be ready")

        text = httpx.get(metrics_url, timeout=30).text
        families = {f.name: f.type for f in text_string_to_metric_families(text)}
        missing = {n: t for n, t in FAMILIES.items() if families.get(n) != t}
        assert not missing, f"missing or mistyped: {missing}\n{text}"
        samples = _samples(text)
        requests = samples["scanserve_http_requests"]
        # both processes' counts, summed: each answered only part of them
        assert _value(
            requests, "scanserve_http_requests_total", operation="getLiveness", status="200"
        ) == len(live)
        latency = samples["scanserve_http_request_duration_seconds"]
        assert _value(
            latency, "scanserve_http_request_duration_seconds_count", operation="getLiveness"
        ) == len(live)
        # unknown paths share one label; no raw path is ever a label
        assert _value(requests, "scanserve_http_requests_total", operation="unknown") == 2
        assert not any("/" in lab.get("operation", "") for _, lab, _ in requests)
        assert (
            _value(
                requests, "scanserve_http_requests_total", operation="createCapture", status="201"
            )
            == 1
        )
        captures = samples["scanserve_captures_finished"]
        assert _value(captures, "scanserve_captures_finished_total", outcome="COMPLETED") == 1
        calls = samples["scanserve_provider_calls"]
        assert _value(calls, "scanserve_provider_calls_total", hook="enrichment") >= 1
        assert _value(calls, "scanserve_provider_calls_total", hook="extractor", outcome="ok") >= 1
        extractions = samples["scanserve_extraction_duration_seconds"]
        assert (
            _value(
                extractions,
                "scanserve_extraction_duration_seconds_count",
                extractor="barcode",
                outcome="ok",
            )
            == 1
        )
        up = samples["scanserve_dependency_up"]
        assert _value(up, "scanserve_dependency_up", dependency="database") == 1
        assert (
            _value(samples["scanserve_inprocess_queue_tasks"], "scanserve_inprocess_queue_tasks")
            == 0
        )
        assert (
            _value(samples["scanserve_captures_unfinished"], "scanserve_captures_unfinished") == 0
        )
        live_gauges = list(metrics_dir.glob("gauge_livesum_*.db"))
        assert live_gauges, list(metrics_dir.iterdir())
    finally:
        server.terminate()
        server.wait(timeout=60)
    # the supervisor marked its processes dead: their live gauges are gone with them
    assert not list(metrics_dir.glob("gauge_livesum_*.db")), list(metrics_dir.iterdir())
    assert server.returncode == 0, out.read_text()[-3000:]


def test_metrics_are_off_by_default(tmp_path: Path) -> None:
    """Without --metrics-port (or SCANSERVE_METRICS_PORT) no metrics port, no directory."""
    out = tmp_path / "serve.out"
    env = scanserve_env(tmp_path / "data")
    with out.open("wb") as out_file:
        server = cli_fork.Popen(
            [*cli_fork.COMMAND, "serve", "--port", "0"],
            env=env,
            stdout=out_file,
            stderr=subprocess.STDOUT,
        )
    try:
        port = served_port(server, out, within=90)
        answer = httpx.get(f"http://127.0.0.1:{port}{BASE}/health/live", timeout=30)
        assert answer.status_code == 200
        assert "Metrics:" not in out.read_text()
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).status_code == 404
    finally:
        server.terminate()
        server.wait(timeout=60)
