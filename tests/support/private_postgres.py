"""A PostgreSQL server of the test's own, to stop and start: never the machine's shared one.

``initdb``, ``pg_ctl`` and ``postgres`` must be on ``PATH`` (or in ``/usr/local/bin`` or
PostgreSQL's usual ``/usr/lib/postgresql/<n>/bin``). PostgreSQL refuses to run as root, so
as root (CI) the cluster belongs to the ``postgres`` user and every command runs as it
(``runuser``). The server listens on a free loopback port, its socket and data in a
temporary directory, and is stopped and removed at the end, whatever happened::

    with PrivatePostgres() as pg:
        pg.url                  # postgresql://postgres@127.0.0.1:<port>/postgres
        pg.stop()               # pg_ctl -m immediate: as a crash or a kill -9 would
        pg.start()

Starting a cluster (``initdb``) is most of the cost, so a module's tests share one
(``scope="module"``), each with a database of its own (:meth:`new_database`) and the
server running again before it starts (:meth:`ensure_running`).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from types import TracebackType

import pytest

_SEARCH = ("/usr/local/bin", *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True))


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in _SEARCH:
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivatePostgres:
    def __init__(self) -> None:
        self.initdb, self.pg_ctl = _binary("initdb"), _binary("pg_ctl")
        if not self.initdb or not self.pg_ctl:
            pytest.skip("initdb and pg_ctl (PostgreSQL's server binaries) are not installed")
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root without a 'postgres' user to run PostgreSQL as")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.root = Path(tempfile.mkdtemp(prefix="scanserve-ops-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        if self.as_user:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}\n{result.stderr}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c max_connections=200 -c shared_buffers=16MB"
        )
        self._run(self.pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.log), "-w",
                  "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def ensure_running(self) -> None:
        """Start the server if it is stopped (a module's tests share one server, and a test
        that failed between its stop and its start leaves it stopped)."""
        if not self.running():
            self.start()

    def new_database(self) -> str:
        """A database of its own on this server, for one test of the module sharing it; its
        URL. Never dropped: the whole cluster goes at :meth:`close`."""
        import psycopg2

        name = f"test_{uuid.uuid4().hex[:12]}"
        admin = psycopg2.connect(self.url)
        try:
            admin.autocommit = True
            admin.cursor().execute(f'CREATE DATABASE "{name}"')
        finally:
            admin.close()
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def running(self) -> bool:
        result = subprocess.run(
            [*self.as_user, str(self.pg_ctl), "-D", str(self.data), "status"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        return result.returncode == 0

    def close(self) -> None:
        try:
            if self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivatePostgres:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
