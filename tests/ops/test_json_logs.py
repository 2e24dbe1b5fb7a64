"""``--log-format json`` on ``scanserve serve`` and ``scanserve worker`` (Redis queue): every
line either writes, on stdout and stderr, is a JSON object (the banner, the worker's first
line, uvicorn's lines, Python's warnings), and one capture's request id is on its server
access line and on the worker's line for that capture."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import cli_fork
import httpx
import pytest
from loopback import served_port
from ops_support import BASE, scanserve_env
from prometheus_client.parser import text_string_to_metric_families
from redis_support import delete_queue_keys

from scanserve.bootstrap import build_services
from scanserve.settings import Settings
from scanserve.testing import issue_key, wait_for

GTIN = "4006381333931"


def _records(*files: Path) -> list[dict[str, Any]]:
    """Every line of ``files``, each parsed as JSON (a line that is not fails the test)."""
    records = []
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            try:
                record = json.loads(line)
            except ValueError:
                pytest.fail(f"{path.name}:{number} is not JSON: {line!r}")
            assert isinstance(record, dict), line
            assert {"time", "level", "logger", "message"} <= set(record), line
            records.append(record)
    return records


def _metrics_port(log: Path) -> int | None:
    """The port in the worker's "Metrics:" line, once written (the lines being written after
    it may be incomplete: only that one is read)."""
    for line in log.read_text().splitlines():
        if '"metrics_port"' in line:
            return int(json.loads(line)["metrics_port"])
    return None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


@pytest.mark.redis
def test_every_line_is_json_and_a_capture_names_its_request(
    tmp_path: Path, redis_url: str
) -> None:
    data_dir = tmp_path / "data"
    queue_name = f"obs-{uuid.uuid4().hex[:12]}"
    services = build_services(
        Settings(data_dir=data_dir, queue="immediate", load_entrypoint_plugins=False)
    )
    key = issue_key("Logs")
    services.db.close()
    env = scanserve_env(
        data_dir,
        SCANSERVE_QUEUE="redis",
        SCANSERVE_REDIS_URL=redis_url,
        SCANSERVE_QUEUE_NAME=queue_name,
        SCANSERVE_LOG_FORMAT="json",
        SCANSERVE_NOT_A_SETTING="1",  # warned about, as a JSON line
        # every warning Python would otherwise hide (the dependencies' deprecations at
        # import): they must come out as JSON lines too
        PYTHONWARNINGS="default",
    )
    files = {
        name: tmp_path / name for name in ("serve.out", "serve.err", "worker.out", "worker.err")
    }
    with files["serve.out"].open("wb") as out, files["serve.err"].open("wb") as err:
        server = cli_fork.Popen(
            [*cli_fork.COMMAND, "serve", "--port", "0"], env=env, stdout=out, stderr=err
        )
    with files["worker.out"].open("wb") as out, files["worker.err"].open("wb") as err:
        worker = cli_fork.Popen(
            [*cli_fork.COMMAND, "worker", "--log-format", "json", "--metrics-port", "0"],
            env=env,
            stdout=out,
            stderr=err,
        )
    request_id = f"client-{uuid.uuid4()}"
    try:
        port = served_port(server, files["serve.out"], within=90)
        api = f"http://127.0.0.1:{port}{BASE}"
        headers = {"X-API-Key": key.key}
        session = httpx.post(f"{api}/sessions", json={}, headers=headers, timeout=30).json()
        posted = httpx.post(
            f"{api}/captures",
            json={"session_id": session["id"], "capture_type": "BARCODE", "raw_value": GTIN},
            headers={**headers, "X-Request-ID": request_id},
            timeout=30,
        )
        assert posted.status_code == 201, posted.text
        assert posted.headers["X-Request-ID"] == request_id
        capture_id = posted.json()["id"]

        def finished() -> bool:
            assert worker.poll() is None, files["worker.err"].read_text()
            answer = httpx.get(f"{api}/captures/{capture_id}", headers=headers, timeout=30)
            return answer.json()["status"] in ("COMPLETED", "NOT_FOUND", "FAILED")

        wait_for(finished, 90, "the worker to process the capture")
        # the worker's own metrics: the capture it finished, the shared queue's lanes
        metrics_port = wait_for(
            lambda: _metrics_port(files["worker.err"]), 30, "the worker's metrics port"
        )
        scraped = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(
                httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=30).text
            )
            for s in family.samples
        }
        finished_here = {
            labels: value
            for (name, labels), value in scraped.items()
            if name == "scanserve_captures_finished_total"
        }
        assert sum(finished_here.values()) == 1, scraped
        assert ("scanserve_queue_tasks", (("lane", "main"),)) in scraped
        assert scraped[("scanserve_dependency_up", (("dependency", "queue"),))] == 1
        # an id that is not one is replaced, on errors too
        refused = httpx.get(f"{api}/sessions", headers={"X-Request-ID": "a b"}, timeout=30)
        assert refused.status_code == 401
        assert refused.headers["X-Request-ID"] not in ("", "a b")
        long_id = httpx.get(f"{api}/nowhere", headers={"X-Request-ID": "x" * 129}, timeout=30)
        assert long_id.status_code == 404 and len(long_id.headers["X-Request-ID"]) <= 128
    finally:
        _stop(server)
        _stop(worker)
        delete_queue_keys(redis_url, queue_name)

    server_lines = _records(files["serve.out"], files["serve.err"])
    worker_lines = _records(files["worker.out"], files["worker.err"])
    assert server_lines and worker_lines
    access = [
        r
        for r in server_lines
        if r["logger"] == "scanserve.access" and r["request_id"] == request_id
    ]
    assert len(access) == 1, server_lines
    assert {k: access[0][k] for k in ("method", "path", "operation", "status")} == {
        "method": "POST",
        "path": f"{BASE}/captures",
        "operation": "createCapture",
        "status": 201,
    }
    assert access[0]["organisation"] is not None
    assert isinstance(access[0]["duration_ms"], int | float)
    on_worker = [r for r in worker_lines if r.get("request_id") == request_id]
    assert [(r["logger"], r["capture_id"]) for r in on_worker] == [
        ("scanserve.pipeline", capture_id)
    ], worker_lines
    assert on_worker[0]["outcome"] in ("COMPLETED", "NOT_FOUND")
    # the worker's first line says where its data is; the unknown variable is a warning
    assert any(r["message"].startswith("scanserve: data directory") for r in worker_lines[:2])
    assert any(
        "SCANSERVE_NOT_A_SETTING" in r["message"] and r["level"] == "WARNING" for r in worker_lines
    )
    assert any(r["logger"] == "uvicorn.error" for r in server_lines)
    assert any(r["logger"] == "py.warnings" for r in server_lines + worker_lines), [
        r["message"] for r in server_lines + worker_lines
    ]
