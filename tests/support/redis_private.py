"""A private Redis for fault tests, and real ``scanserve`` processes to run against it.

Tests that stop Redis must never stop the machine's shared one: :class:`PrivateRedis` starts
``redis-server`` on a free loopback port with its own data directory (append-only file on,
so what was queued before a stop is there after the start), stops it (``SIGTERM``: Redis
writes its data and exits) and starts it again on the same port and directory.
:class:`Processes` starts ``scanserve serve`` and ``scanserve worker`` subprocesses, each
logging to its own file, and kills whatever is left at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import cli_fork
import pytest
from cli_fork import COMMAND, run_command
from loopback import served_port, unused_port

REDIS_SERVER = "redis-server"
BASE = "/scanner/api/v1"


class PrivateRedis:
    def __init__(self, directory: Path):
        executable = shutil.which(REDIS_SERVER)
        if executable is None:
            pytest.skip(f"needs {REDIS_SERVER} on the PATH")
        self.executable = executable
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = unused_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = directory / "redis.log"

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 20.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        options = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "dir": str(self.directory),
            "appendonly": "yes",
            "appendfsync": "always",
            "save": "",
            "protected-mode": "no",
            "logfile": str(self.log),
        }
        self.proc = subprocess.Popen(
            [self.executable, *(a for k, v in options.items() for a in (f"--{k}", v))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer within {timeout} s")
            time.sleep(0.05)

    def ping(self) -> bool:
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self, timeout: float = 20.0) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def scanserve_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a scanserve process: none of this machine's SCANSERVE_ settings,
    no plugins from entry points, no outbound lookups; ``settings`` as SCANSERVE_<NAME>."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANSERVE_")}
    env.update(
        PYTHONUNBUFFERED="1",
        SCANSERVE_DATA_DIR=str(data_dir),
        SCANSERVE_LOAD_ENTRYPOINT_PLUGINS="false",
        SCANSERVE_OPENFOODFACTS_ENABLED="false",
    )
    env.update({f"SCANSERVE_{name.upper()}": value for name, value in settings.items()})
    return env


def cli(env: dict[str, str], *args: str) -> str:
    return run_command(args, env, check=True).stdout.strip()


class Processes:
    """``scanserve`` subprocesses, each logging to its own file; all killed at the end."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            proc = cli_fork.Popen([*COMMAND, *args], env=env, stdout=log, stderr=subprocess.STDOUT)
        self.started.append((proc, log_path))
        return proc

    def serve(self, name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        """``scanserve serve`` on port 0: the kernel picks the port, which the server names
        in its banner (:meth:`base_url`); nothing picks a port and releases it."""
        return self.start(name, env, "serve", "--host", "127.0.0.1", "--port", "0")

    def base_url(self, name: str, proc: subprocess.Popen[bytes]) -> str:
        """The base URL of the server ``serve(name, ...)`` started, once it has bound."""
        port = served_port(proc, self.log_dir / f"{name}.log")
        return f"http://127.0.0.1:{port}{BASE}"

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name} (exit {proc.poll()}):\n{path.read_text(errors='replace')[-4000:]}"
            for proc, path in self.started
        )

    def kill_all(self) -> None:
        for proc, _ in self.started:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def wait_listening(base_url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode})")
        try:
            httpx.get(f"{base_url}/health/live", timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listening at {base_url} after {timeout} s") from None
            time.sleep(0.1)
        else:
            return
