"""``scanserve serve --workers N``: N server processes, which must share their rate limits."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import cli_fork
import httpx
import pytest
from cli_fork import COMMAND, run_command
from loopback import served_port, server_side_owner

from scanserve.bootstrap import build_services
from scanserve.settings import Settings
from scanserve.testing import issue_key, wait_for

BASE = "/scanner/api/v1"


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANSERVE_")}
    return {
        **env,
        "SCANSERVE_DATA_DIR": str(data_dir),
        "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
        **extra,
    }


def test_several_workers_without_shared_rate_limits_refuse_to_start(tmp_path: Path) -> None:
    result = run_command(
        ["serve", "--workers", "2", "--port", "1"], _env(tmp_path / "data"), timeout=120
    )
    assert result.returncode != 0
    assert "SCANSERVE_RATE_LIMIT_STORAGE_URL=redis://" in result.stderr
    assert not (tmp_path / "data" / "scanserve.db").exists()  # refused before doing anything


def _get(port: int, path: str, key: str, pids: list[str]) -> tuple[int, str | None]:
    """A GET on a new connection: its status, and which server process answered it."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\n\r\n".encode()
        )
        raw = b""
        while b"\r\n\r\n" not in raw:
            chunk = sock.recv(65536)
            assert chunk, raw
            raw += chunk
        return int(raw.split(b" ", 2)[1]), server_side_owner(sock, pids)


@pytest.mark.redis
def test_two_workers_serve_and_share_one_rate_limit(tmp_path: Path, redis_url: str) -> None:
    """Six requests a minute for one key, counted together by two processes: a process that
    answered fewer than six itself still refuses once the key has had its six (each
    answer's process is told from the connection's socket in /proc)."""
    data_dir = tmp_path / "data"
    services = build_services(
        Settings(data_dir=data_dir, queue="immediate", load_entrypoint_plugins=False)
    )
    key = issue_key("Workers", rate_limit_per_minute=6)
    services.db.close()
    out = tmp_path / "serve.out"
    with out.open("wb") as out_file:
        server = cli_fork.Popen(
            [*COMMAND, "serve", "--workers", "2", "--port", "0"],
            env=_env(data_dir, SCANSERVE_RATE_LIMIT_STORAGE_URL=redis_url),
            stdout=out_file,
            stderr=subprocess.DEVNULL,
        )
    try:
        port = served_port(server, out, within=90)
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
        # new connections each time (the kernel hands each to whichever process accepts
        # first), until both processes have answered and the key has been refused
        answers: list[tuple[int, str | None]] = []
        while len(answers) < 200 and (
            len({pid for _, pid in answers}) < 2 or 429 not in [s for s, _ in answers]
        ):
            answers.append(_get(port, f"{BASE}/sessions", key.key, children))
        statuses = [status for status, _ in answers]
        assert all(pid in children for _, pid in answers), answers
        assert len({pid for _, pid in answers}) == 2, f"one process answered all: {answers}"
        # together they allow 6: per-process counts would let a seventh through
        assert statuses[:6] == [200] * 6, answers
        assert statuses[6:] == [429] * (len(statuses) - 6), answers
        assert any(
            status == 429 and [s for s, p in answers if p == pid].count(200) < 6
            for status, pid in answers
        ), answers  # refused by a process that had let fewer than six through itself
    finally:
        server.terminate()
        server.wait(timeout=60)
