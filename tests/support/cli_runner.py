"""The command line as a user runs it: ``scanserve`` in a process of its own on a data directory
(forked from a warm server, :mod:`cli_fork`).

``run`` runs one command to its end; ``start`` runs ``scanserve serve`` until its base URL
answers; ``banner_and_base`` reads the banner of a server already started (``--port 0``: the
banner names the port it bound) and waits for it to answer.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import cli_fork
import httpx
from cli_fork import COMMAND, run_command
from loopback import banner_port, banner_text

from scanserve.storage.database import open_database
from scanserve.storage.migrate import upgrade
from scanserve.testing import wait_for


def run(
    data_dir: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SCANSERVE_DATA_DIR": str(data_dir),
        "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
        **(env or {}),
    }
    return run_command(args, env, check=check)


def create_database(data_dir: Path) -> None:
    """What ``scanserve db upgrade`` does, in-process (commands refuse to create one)."""
    db = open_database(f"sqlite:///{data_dir / 'scanserve.db'}")
    try:
        upgrade(db)
    finally:
        db.close()


def start(data_dir: Path, *flags: str, log: Path | None = None) -> tuple[list[str], str]:
    """Run ``scanserve serve`` until its base URL answers; returns the banner and the base.
    Its stderr (the logs) goes to ``log`` when given."""
    env = {**os.environ, "SCANSERVE_DATA_DIR": str(data_dir)}
    env["SCANSERVE_LOAD_ENTRYPOINT_PLUGINS"] = "false"
    command = [*COMMAND, "serve"]
    with (
        open(log or os.devnull, "w") as stderr,
        cli_fork.Popen(
            [*command, "--port", "0", *flags],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        ) as proc,
    ):
        try:
            return banner_and_base(proc)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def banner_and_base(proc: subprocess.Popen[str]) -> tuple[list[str], str]:
    assert proc.stdout is not None
    banner = []
    while not (line := banner_text(proc.stdout.readline())).startswith(("API key", "API keys")):
        assert line, f"serve stopped; printed {banner}"
        banner.append(line.rstrip("\n"))
    banner.append(line.rstrip("\n"))
    port = banner_port("\n".join(banner))  # --port 0: the banner names the port it bound
    assert port, banner
    base = f"http://127.0.0.1:{port}/scanner/api/v1"

    def up() -> httpx.Response | None:
        try:
            return httpx.get(base, timeout=5)
        except httpx.TransportError:
            return None

    answer = wait_for(up, 30, "the server to answer")
    assert answer.status_code == 200 and answer.json()["reference"].endswith("/ui/")
    assert httpx.get(f"{base}/ui/", timeout=5).status_code == 200
    return banner, base
