"""A real, threaded HTTP server on a loopback address, answering from a route table.

For tests that need real sockets (redirect chains, slow or huge answers, refused
connections) without leaving the machine::

    with LoopbackServer({"/a": Route(301, {"Location": "/b"}), "/b": Route(200)}) as srv:
        ...srv.url("/a")...
        assert srv.paths() == ["/a", "/b"]

A route is matched on the request target with its query first, then on the path alone;
anything else answers 404. Routes may be added while the server runs (``srv.route(...)``).
Every request is recorded (method, target, headers) before it is answered, so a test can
assert that nothing reached a server. Handler threads are daemons, delays wake up early on
shutdown, and ``close()`` stops the server, so a failing test cannot hang the run.

As a pytest fixture: ``pytest_plugins = ["loopback"]`` in the root conftest makes
``loopback_server`` available, a factory that starts servers and closes them after the test::

    def test_x(loopback_server):
        srv = loopback_server({"/": Route(200)}, host="127.0.0.2")

A test module that imports this one itself (pytest could then no longer rewrite its asserts
as a plugin) builds the same fixture from :func:`server_factory` instead.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Route:
    """A scripted answer. ``delay`` seconds pass before the status line is sent.

    ``body`` is sent as is, with a Content-Length unless ``headers`` give one. ``headers``
    may repeat a name when given as pairs.
    """

    status: int = 200
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = ()
    body: bytes = b""
    delay: float = 0.0
    #: The connection's SO_SNDBUF while it answers (None: the kernel's), so that what the
    #: server could write stays close to what the client read (see ``body_bytes_sent``).
    send_buffer: int | None = None

    def header_pairs(self) -> list[tuple[str, str]]:
        if isinstance(self.headers, Mapping):
            return list(self.headers.items())
        return list(self.headers)


def redirect(status: int, location: str) -> Route:
    return Route(status, {"Location": location})


@dataclass
class RecordedRequest:
    method: str
    target: str
    headers: dict[str, str] = field(default_factory=dict)
    #: Body bytes the kernel took from the server before the client went away (or all).
    body_bytes_sent: int = 0
    #: Set once the server has finished answering (or given up on the client).
    answered: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: LoopbackServer
    tls: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = super().get_request()
        if self.tls is not None:  # the handshake happens in the handler thread
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients in these tests hang up on purpose (capped reads, timeouts): stay quiet.
        pass


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 10  # a client that connects and says nothing cannot hold a thread for long

    def setup(self) -> None:
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self) -> None:
        owner = self.server.owner
        recorded = RecordedRequest(self.command, self.path, dict(self.headers.items()))
        owner._record(recorded)
        try:
            self._answer_with(recorded, owner._match(self.path))
        finally:
            recorded.answered.set()

    def _answer_with(self, recorded: RecordedRequest, route: Route) -> None:
        owner = self.server.owner
        if route.send_buffer is not None:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, route.send_buffer)
        if route.delay and owner._stopping.wait(route.delay):
            return
        pairs = route.header_pairs()
        self.send_response_only(route.status)  # no automatic Server or Date: as scripted
        names = {name.lower() for name, _ in pairs}
        for name, value in pairs:
            self.send_header(name, value)
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(route.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command == "HEAD":
            return
        body = memoryview(route.body)
        with contextlib.suppress(OSError):
            for start in range(0, len(body), _CHUNK):
                if owner._stopping.is_set():
                    return
                piece = body[start : start + _CHUNK]
                self.wfile.write(piece)
                with owner._lock:
                    recorded.body_bytes_sent += len(piece)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = _answer


class LoopbackServer:
    """An HTTP/1.1 server on ``host`` (127.0.0.x or ::1) and ``port`` (0: any free).

    With ``tls`` (a server-side ``ssl.SSLContext``) it speaks HTTPS.
    """

    def __init__(
        self,
        routes: Mapping[str, Route] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.scheme = "https" if tls else "http"
        self._routes: dict[str, Route] = dict(routes or {})
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        server_class = _Server6 if ":" in host else _Server
        self._server = server_class((host, port), _Handler)
        self._server.tls = tls
        self._server.owner = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"loopback-{host}:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def url(self, path: str = "/", *, host: str | None = None) -> str:
        """Absolute URL on this server; ``host`` replaces the address (for fake DNS names)."""
        name = host or self.host
        if ":" in name:
            name = f"[{name}]"
        return f"{self.scheme}://{name}:{self.port}{path}"

    def route(self, path: str, route: Route) -> None:
        with self._lock:
            self._routes[path] = route

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _match(self, target: str) -> Route:
        with self._lock:
            found = self._routes.get(target) or self._routes.get(target.partition("?")[0])
        return found or Route(404, {"Content-Type": "text/plain"}, b"not found")

    def close(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_BASE_URL = re.compile(r"^Base URL: https?://(?:\[[^\]]*\]|[^:/\s]+):(\d+)", re.MULTILINE)


def banner_text(line: str) -> str:
    """A line of ``scanserve serve``'s banner as text: with ``--log-format json`` each line
    is a JSON log line, and its ``message`` is the text."""
    if line.startswith("{"):
        try:
            return str(json.loads(line)["message"])
        except (ValueError, KeyError, TypeError):
            return line
    return line


def banner_port(text: str) -> int | None:
    """The port in ``scanserve serve``'s "Base URL:" line (it names the port it bound, so
    ``--port 0`` lets the kernel pick a free one), or None before that line."""
    found = _BASE_URL.search("\n".join(banner_text(line) for line in text.splitlines()))
    return int(found.group(1)) if found else None


def served_port(proc: subprocess.Popen, stdout: Path, within: float = 60) -> int:
    """The port ``scanserve serve --port 0`` bound, read from the file its standard output
    goes to (``stdout``: a path); fails at once if the process ends first."""
    deadline = time.monotonic() + within
    while (port := banner_port(stdout.read_text(errors="replace"))) is None:
        if proc.poll() is not None:
            raise RuntimeError(f"serve ended ({proc.returncode}) before it printed its port")
        if time.monotonic() > deadline:
            raise TimeoutError(f"serve printed no Base URL within {within} s")
        time.sleep(0.05)
    return port


def unused_port(host: str = "127.0.0.1") -> int:
    """A port free a moment ago, for a server that cannot bind port 0 and report the port it
    got: redis-server (its ``--port 0`` turns TCP off) and a PostgreSQL restarted on the same
    port. Bound and released, so another process could take it in between: scanserve's own
    servers bind port 0 instead (:func:`served_port`)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _tcp_queues(local_port: int, remote_port: int) -> tuple[int, int] | None:
    """(tx_queue, rx_queue) of the TCP socket from ``local_port`` to ``remote_port`` on this
    machine, from /proc/net/tcp and tcp6; None if there is no such socket."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, remote, queues = fields[1], fields[2], fields[4]
                if (
                    int(local.rsplit(":", 1)[1], 16) == local_port
                    and int(remote.rsplit(":", 1)[1], 16) == remote_port
                ):
                    tx, rx = queues.split(":")
                    return int(tx, 16), int(rx, 16)
    return None


def wait_until_read(sock: socket.socket, within: float = 10.0) -> None:
    """Return once the peer (a server on this machine) has read every byte sent on ``sock``:
    nothing left in this end's send queue nor in the peer's receive queue, as the kernel
    counts them (/proc/net/tcp). What a test sends before it leaves mid-request has then
    reached the server's parser, however loaded the machine; a sleep would only guess."""
    local, peer = sock.getsockname()[1], sock.getpeername()[1]
    deadline = time.monotonic() + within
    while True:
        ours, theirs = _tcp_queues(local, peer), _tcp_queues(peer, local)
        delivered = ours is None or ours[0] == 0  # nothing sent is waiting for its ACK
        # then either the server has read it all, or its end is gone (closed or reset)
        if delivered and (theirs is None or theirs[1] == 0):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the server did not read what was sent within {within} s")
        time.sleep(0.01)


@contextlib.contextmanager
def refused_port(host: str = "127.0.0.1") -> Iterator[int]:
    """A port that refuses connections for as long as the block lasts: bound by this process
    and never listened on, so no other test (or xdist worker) can take it meanwhile."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        yield int(sock.getsockname()[1])


def servers_on_one_port(
    *hosts: str, routes: Mapping[str, Route] | None = None, attempts: int = 20
) -> list[LoopbackServer]:
    """One server per host, all on the same port (a port free on the first may be taken
    on another, so this retries)."""
    for _ in range(attempts):
        first = LoopbackServer(routes, host=hosts[0])
        started = [first]
        try:
            for host in hosts[1:]:
                started.append(LoopbackServer(routes, host=host, port=first.port))
        except OSError:
            for server in started:
                server.close()
            continue
        return started
    raise RuntimeError(f"no port free on all of {hosts}")


@contextlib.contextmanager
def server_factory() -> Iterator[Callable[..., LoopbackServer]]:
    """Yields ``start(routes, host=, port=, tls=)``; every server started is closed on exit."""
    started: list[LoopbackServer] = []

    def start(
        routes: Mapping[str, Route] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> LoopbackServer:
        server = LoopbackServer(routes, host=host, port=port, tls=tls)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.close()


@pytest.fixture
def loopback_server() -> Iterator[Callable[..., LoopbackServer]]:
    """Factory fixture: ``loopback_server(routes, host=, port=, tls=)``; closed after the test."""
    with server_factory() as start:
        yield start


def server_side_owner(client: socket.socket, pids: list[str]) -> str | None:
    """Which of ``pids`` holds the server's end of ``client``'s (open, accepted) connection:
    its socket's inode from /proc/net/tcp, then the process with that socket among its fds."""
    local_port = client.getsockname()[1]
    server_port = client.getpeername()[1]
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == (
            local_port
        ):
            inode = fields[9]
    if inode is None:
        return None
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                        return pid
    return None
