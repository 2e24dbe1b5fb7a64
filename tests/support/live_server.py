"""``scanserve serve --demo`` and ``scanserve proxy`` as a user runs them, in subprocesses on
loopback (port 0, read from their ``Base URL:`` line), for the proxy and conformance tests.

``live_scanserve(root)`` yields the server's base URL, the demo key and a second
organisation's key; rate limits are lifted (a conformance run sends hundreds of requests in
a minute; the limits have tests of their own). ``running(args, out)`` starts any ``scanserve``
command and stops it at the end (SIGTERM, then a kill after 30 s). ``breaking_upstream``
puts a planted break of the contract in front of a server.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import cli_fork
import httpx
from cli_fork import COMMAND, run_command
from loopback import served_port

from scanserve.testing import wait_for

UNLIMITED = str(10**9)


def server_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANSERVE_")}
    env.update(
        SCANSERVE_DATA_DIR=str(data_dir),
        SCANSERVE_LOAD_ENTRYPOINT_PLUGINS="false",
        SCANSERVE_RATE_LIMIT_PER_MINUTE=UNLIMITED,
        SCANSERVE_RATE_LIMIT_PER_DAY=UNLIMITED,
        SCANSERVE_PUBLISHABLE_RATE_LIMIT_PER_MINUTE=UNLIMITED,
        SCANSERVE_ANONYMOUS_RATE_LIMIT_PER_MINUTE=UNLIMITED,
        SCANSERVE_ANONYMOUS_RATE_LIMIT_PER_DAY=UNLIMITED,
        SCANSERVE_FAILED_AUTH_PER_MINUTE=UNLIMITED,
        SCANSERVE_FAILED_AUTH_PER_DAY=UNLIMITED,
        SCANSERVE_ORG_IMAGE_UPLOADS_PER_MINUTE=UNLIMITED,
        SCANSERVE_ORG_IMAGE_UPLOADS_PER_DAY=UNLIMITED,
        SCANSERVE_ORG_LINK_CAPTURES_PER_MINUTE=UNLIMITED,
        SCANSERVE_ORG_LINK_CAPTURES_PER_DAY=UNLIMITED,
        SCANSERVE_ORG_EXTRACTIONS_PER_MINUTE=UNLIMITED,
        SCANSERVE_ORG_EXTRACTIONS_PER_DAY=UNLIMITED,
    )
    return env


@contextlib.contextmanager
def running(
    args: list[str], out: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``scanserve ARGS`` with stdout to ``out`` and stderr to ``out`` + ``.err``; stopped
    with SIGTERM at the end if it still runs."""
    with (
        out.open("wb") as stdout,
        out.with_suffix(".err").open("wb") as stderr,
        cli_fork.Popen(
            [*COMMAND, *args], stdout=stdout, stderr=stderr, env=env or dict(os.environ)
        ) as proc,
    ):
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def base_url(proc: subprocess.Popen[bytes], out: Path) -> str:
    """The base URL a ``serve`` or ``proxy`` started with ``--port 0`` printed, once it
    answers."""
    port = served_port(proc, out)
    base = f"http://127.0.0.1:{port}/scanner/api/v1"

    def live() -> bool:
        try:
            return httpx.get(f"{base}/health/live", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(live, 60, f"{base} to answer")
    return base


def second_key(env: dict[str, str]) -> str:
    """A business key of another organisation, made with the command line."""
    run_command(["orgs", "create", "Peer Org"], env, check=True)
    made = run_command(
        ["keys", "create", "--org", "Peer Org", "--name", "peer"], env, check=True
    ).stdout
    found = re.search(r"csb_\w+", made)
    assert found, made
    return found.group(0)


@contextlib.contextmanager
def live_scanserve(root: Path, **settings: str) -> Iterator[tuple[str, str, str]]:
    """``scanserve serve --demo`` on a data directory under ``root``: (base URL, demo key,
    a second organisation's key). ``settings``: environment variables over the defaults."""
    env = {**server_env(root / "data"), **settings}
    with running(["serve", "--demo", "--port", "0"], root / "serve.out", env) as proc:
        base = base_url(proc, root / "serve.out")
        key = (root / "data" / "demo-key").read_text().strip()
        yield base, key, second_key(env)


class _Breaking(http.server.BaseHTTPRequestHandler):
    """Forwards to ``server.upstream``; answers of GET ``server.broken`` (a path regex) lose
    ``server.field`` from their JSON body."""

    server: _BreakingServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
        }
        answer = httpx.request(
            self.command,
            self.server.upstream + self.path,
            headers=headers,
            content=body,
            timeout=60,
        )
        content = answer.content
        if self.command == "GET" and re.fullmatch(self.server.broken, self.path.partition("?")[0]):
            document = answer.json()
            document.pop(self.server.field, None)
            content = json.dumps(document).encode()
        self.send_response_only(answer.status_code)
        for name, value in answer.headers.multi_items():
            if name.lower() not in (
                "content-length",
                "transfer-encoding",
                "connection",
                "content-encoding",
            ):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PATCH = do_DELETE = _forward


class _BreakingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    upstream: str
    broken: str
    field: str


@contextlib.contextmanager
def breaking_upstream(upstream: str, broken: str, field: str) -> Iterator[str]:
    """A server on loopback in front of ``upstream`` (scheme://host:port) that drops ``field``
    from the JSON answers to GETs of paths matching ``broken``: a planted break of the
    contract. Yields its origin."""
    server = _BreakingServer(("127.0.0.1", 0), _Breaking)
    server.upstream, server.broken, server.field = upstream, broken, field
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
