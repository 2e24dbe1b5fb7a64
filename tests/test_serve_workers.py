"""``scanserve serve --workers N``: N server processes, which must share their rate limits."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from scanserve.services import build_services
from scanserve.settings import Settings
from scanserve.testing import issue_key, wait_for

BASE = "/scanner/api/v1"
CLI = (sys.executable, "-c", "from scanserve.cli import main; main()")


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANSERVE_")}
    return {
        **env,
        "SCANSERVE_DATA_DIR": str(data_dir),
        "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
        **extra,
    }


def test_several_workers_without_shared_rate_limits_refuse_to_start(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "serve", "--workers", "2", "--port", "1"],
        env=_env(tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "SCANSERVE_RATE_LIMIT_STORAGE_URL=redis://" in result.stderr
    assert not (tmp_path / "data" / "scanserve.db").exists()  # refused before doing anything


def test_two_workers_serve_and_share_one_rate_limit(tmp_path: Path, redis_url: str) -> None:
    data_dir = tmp_path / "data"
    services = build_services(
        Settings(data_dir=data_dir, queue="immediate", load_entrypoint_plugins=False)
    )
    key = issue_key("Workers", rate_limit_per_minute=6)
    services.db.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [*CLI, "serve", "--workers", "2", "--port", str(port)],
        env=_env(data_dir, SCANSERVE_RATE_LIMIT_STORAGE_URL=redis_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}{BASE}/sessions"

        def up() -> bool:
            try:
                httpx.get(url, timeout=5)
            except httpx.TransportError:
                return False
            return True

        wait_for(up, 90, "the server processes to start")
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert len(children) >= 2, children
        # new connections each time, so both processes answer; together they allow 6
        statuses = [httpx.get(url, headers=key.headers).status_code for _ in range(8)]
        assert statuses[:6] == [200] * 6
        assert statuses[6:] == [429, 429]
    finally:
        server.terminate()
        server.wait(timeout=60)
