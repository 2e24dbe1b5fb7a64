"""How ``scanserve serve`` runs the app under uvicorn: limits and timeouts set on purpose.

- HTTP/1.1 by httptools (llhttp, in C) on uvloop, through :class:`GuardedHttpToolsProtocol`,
  instead of uvicorn's pure-Python h11 protocol: the protocol's own CPU per request is 18 us
  against 69 us for h11 (``python bench/protocol.py``: in process, one keep-alive GET, no
  sockets). Under wrk on the shared 2-core machine (32 connections, three runs side by side)
  the bare Starlette floor took 86 us of server CPU a request on httptools against 159 us on
  h11, and scanserve 763 against 1,008 us on ``GET /captures/{id}``. uvloop saves about 6 us
  a request against asyncio's loop (in process; within the noise under wrk).
- llhttp refuses more malformed framing than h11 did (obs-fold, bare LF, a duplicate or listed
  ``Content-Length``, ``Transfer-Encoding`` with ``Content-Length``, control characters in
  values), but it has no limit of its own on the size of a request head and checks neither
  ``Host`` nor the version. The protocol adds them: a request head (request line, fields and
  the blank line) longer than ``max_header_bytes`` is refused (``414`` while still in the
  request line, else ``431``) before any more of it is parsed, and the connection closed; so
  is a chunked body whose framing or trailers run longer than that without data. An HTTP/1.1
  request without exactly one ``Host``, or with more than one under HTTP/1.0, is a ``400``;
  a version other than 1.0 and 1.1 a ``505``. The gateway then counts fields and bytes again
  (``431``), also under servers other than this one.
- No WebSockets (``ws="none"``): an ``Upgrade`` request is served as plain HTTP/1.1, and one
  with a body refused (llhttp would read its body as the next request).
- A connection must send its whole request head within ``header_timeout_seconds`` of its
  first byte (or of its opening), else it is closed; uvicorn itself waits forever for a head
  that never completes. The body has ``body_timeout_seconds`` (the gateway's ``408``). Idle
  kept-alive connections close after ``keep_alive_seconds``.
- ``proxy_headers`` is off: uvicorn would trust ``X-Forwarded-For`` from loopback. The
  gateway honours it only from ``trusted_proxies``.
- Logging is :mod:`scanserve.infra.logconfig`'s (``log_config``), whose filter redacts the values
  of query parameters that carry credentials (``api_key``, ``token``, ...) in access-log lines.
  uvicorn's own access line is off: scanserve writes a richer one
  (:mod:`scanserve.http.observe`); the bench's bare app keeps uvicorn's (``access_log``).

``bench/floor.py`` runs its bare Starlette app through :func:`uvicorn_config` too, so the
bench's ratios compare the apps alone.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from scanserve.errors import PROBLEM_CONTENT_TYPE, BadRequest, HeadersTooLarge, problem_body
from scanserve.infra.logconfig import new_request_id
from scanserve.settings import Settings

_HEAD_END = b"\r\n\r\n"  # llhttp takes no bare LF, so a head ends here and nowhere else
# After a refusal, how long the rest of what a client sends is read and dropped before the
# connection closes: closing on unread bytes resets it, and the client would lose the answer.
_LINGER_SECONDS = 1.0


class _Refused(Exception):
    """Raised from a parser callback: the parser stops, and the protocol answers with the
    status the callback chose (``_refusal``)."""


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bounded request head, a head timeout (slowloris)
    and the ``Host``/version checks llhttp leaves to its caller.

    Request heads are counted where they arrive: in :meth:`data_received` the bytes are fed
    to the parser no further than the end of the head (its blank line), so the count is of
    the head alone, and a head that reaches ``max_head_bytes`` is refused before another byte
    of it is parsed (the parser holds a header's name and value until the line ends). A body
    of known length is fed up to its end, so a pipelined head after it is counted exactly.
    Where a chunked body ends within a read is not known: a head begun after it in the same
    read is counted by what the parser gave of it (target and whole fields), and exactly from
    the next read on, so one read (at most 256 KiB) is the slack, on pipelined requests only."""

    header_timeout: float = 10.0
    max_head_bytes: int = 16 * 1024

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._in_head = True  # between messages or inside a head: bytes count against the cap
        self._head_bytes = 0
        self._body_left: int | None = None  # of a Content-Length body; None: chunked
        self._url_bytes = 0  # of the current request's target
        # during one feed of the parser: a head began and is still open, a message ended, and
        # the bytes of body it gave
        self._head_open = self._completed = False
        self._fed_body = 0
        self._framing = 0  # bytes of a chunked body since its last data (sizes, trailers)
        self._refusal: tuple[int, str] | None = None
        self._refused: bytes | None = None  # the refusal, once there is one
        self._lingering: asyncio.TimerHandle | None = None
        self._head_timer: asyncio.TimerHandle | None = None
        self._arm_head_timer()

    # The wire

    def data_received(self, data: bytes) -> None:
        if self._refused is not None:
            return  # refused: dropped unparsed
        self._unset_keepalive_if_required()
        while data:
            n = self._next_piece(data)
            if n is None:
                return
            chunk, data = (data, b"") if n == len(data) else (data[:n], data[n:])
            chunked = not self._in_head and self._body_left is None
            self._head_open = self._completed = False
            self._fed_body = 0
            rest = self._feed(chunk)
            if rest is None:
                return
            if rest:  # an upgrade ignored: the parser stopped after its head
                data = rest + data
            elif chunked and not self._account_chunked(len(chunk)):
                return
        if self._in_head and self._head_bytes:
            self._arm_head_timer()  # a head begun (or a new one after keep-alive)
        else:
            self._disarm_head_timer()

    def _next_piece(self, data: bytes) -> int | None:
        """How many bytes of ``data`` to parse next: up to the end of a head or of a body of
        known length. None when the head is too long (refused)."""
        if not self._in_head:
            # (a body of known length ends by its last byte: never 0 here, but never stall)
            return min(self._body_left or len(data), len(data))
        end = data.find(_HEAD_END)
        if end >= 0:
            n = end + len(_HEAD_END)
        else:  # the blank line may straddle two reads
            n = _straddling_end(data) if self._head_bytes else len(data)
        if self._head_bytes + n <= self.max_head_bytes:
            self._head_bytes += n
            return n
        # parse what fits, so that the answer can tell a request line from fields
        fits = self.max_head_bytes - self._head_bytes
        if fits > 0 and self._feed(data[:fits]) is None:
            return None
        self._head_bytes += fits
        self._refuse_oversized_head()
        return None

    def _feed(self, chunk: bytes) -> bytes | None:
        """Parse ``chunk``. None when the connection was answered and closed; else what the
        parser left unparsed, after the head of an ``Upgrade`` request."""
        if self.parser is None or self.transport.is_closing():
            return None
        try:
            self.parser.feed_data(chunk)
        except httptools.HttpParserError:
            self._refuse(*(self._refusal or (400, "Invalid HTTP request received.")))
            return None
        except httptools.HttpParserUpgrade as upgrade:
            # No protocol to switch to (ws="none"): the request is served as plain HTTP/1.1,
            # as RFC 9110 lets a server ignore Upgrade, and the parser goes on after its head
            # (it has taken the request as body-less; one with a body was refused already).
            return chunk[upgrade.args[0] :]
        return b""

    def _account_chunked(self, fed: int) -> bool:
        """After a feed that began in a chunked body: count what was not body. False when
        the connection was refused."""
        framing = fed - self._fed_body
        if not self._completed:  # still in the body: sizes, extensions, trailers since data
            self._framing = 0 if self._fed_body else self._framing + framing
            if self._framing > self.max_head_bytes:
                self._refuse(400, "Chunk framing or trailers too long.")
                return False
        elif self._in_head and self._head_open:  # a head began after the body, in this read
            # where is not known: count what the parser gave of it (its target and whole
            # fields), not the field it holds unfinished (at most the rest of this read)
            fields = sum(len(name) + len(value) + 4 for name, value in self.headers)
            self._head_bytes = self._url_bytes + fields
            if self._head_bytes > self.max_head_bytes:
                self._refuse_oversized_head()
                return False
        return True

    def _refuse_oversized_head(self) -> None:
        in_request_line = self._head_bytes - self._url_bytes < 32
        if in_request_line:
            self._refuse(414, "Request line too long.")
        else:
            self._refuse(431, "Request header fields too large.")

    def _refuse(self, status: int, msg: str) -> None:
        """Answer ``status`` and close; what the client sends from now on is dropped. Requests
        pipelined before this one are answered first, in order."""
        self.logger.warning("%s (HTTP %d)", msg, status)
        body = _refusal_body(status, msg)
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: " + PROBLEM_CONTENT_TYPE.encode("ascii") + b"\r\n",
                # as on every answer (scanserve.http.observe); no app saw this request
                b"x-request-id: " + new_request_id().encode("ascii") + b"\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self._refused = b"".join(content)
        self._disarm_head_timer()
        if self._answering():
            return  # sent when they are answered (on_response_complete)
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # the request being read is the broken one: its app sees a disconnect
            cycle.disconnected = True
            cycle.message_event.set()
            if cycle.response_started:  # an answer half sent: nothing can follow it
                self.transport.close()
                return
        self._send_refusal()

    def _answering(self) -> bool:
        """Whether whole requests read before the refused one are still being answered."""
        cycle = self.cycle
        in_flight = cycle is not None and not cycle.response_complete and not cycle.more_body
        return bool(self.pipeline) or in_flight

    def _send_refusal(self) -> None:
        assert self._refused is not None
        if self.transport.is_closing():
            return
        self.transport.write(self._refused)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._lingering = self.loop.call_later(_LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_open = True
        self._url_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._url_bytes += len(url)
        super().on_url(url)

    def on_headers_complete(self) -> None:
        version = self.parser.get_http_version()
        if version not in ("1.1", "1.0"):
            self._refusal = (505, "HTTP version not supported.")
            raise _Refused
        hosts = 0
        length: int | None = 0
        chunked = False
        for name, value in self.headers:
            if name == b"host":
                hosts += 1
            elif name == b"content-length":
                length = int(value)  # llhttp has checked it: digits, once, not beside chunked
            elif name == b"transfer-encoding":
                chunked = True  # llhttp has checked that it ends in chunked
        if hosts > 1 or (hosts == 0 and version == "1.1"):
            self._refusal = (400, "A request needs exactly one Host header.")
            raise _Refused
        if chunked:
            length = None
        if self.parser.should_upgrade() and length != 0:
            # llhttp would take the body for bytes of the new protocol, and we switch to
            # none: those bytes would be parsed as the next request (smuggled)
            self._refusal = (400, "An Upgrade request cannot have a body here.")
            raise _Refused
        self._in_head = self._head_open = False
        self._framing = 0
        self._body_left = length
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._fed_body += len(body)
        if self._body_left is not None:
            self._body_left -= len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_head = self._completed = True
        self._head_bytes = 0
        self._body_left = None
        super().on_message_complete()

    # The head timer

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._refused is not None:
            if not self._answering():
                self._send_refusal()
            return
        self._disarm_head_timer()  # the keep-alive timeout takes over until the next byte
        if self._in_head and self._head_bytes and not self.transport.is_closing():
            self._arm_head_timer()  # a pipelined head began during the response

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        if self._lingering is not None:
            self._lingering.cancel()
        super().connection_lost(exc)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        answering = self.cycle is not None and not self.cycle.response_complete
        if self._in_head and not answering and not self.transport.is_closing():
            self.logger.info("closed a connection that sent no complete request head in time")
            self.transport.close()


def _straddling_end(data: bytes) -> int:
    """How many bytes of ``data`` to feed while in a head whose earlier bytes came in earlier
    reads: up to the end of a blank line begun there (``\\r``, ``\\r\\n`` or ``\\r\\n\\r``
    last), else all. A wrong guess costs only one more turn of the loop: the parser, not this,
    says where the head ends."""
    for rest in (b"\n\r\n", b"\r\n", b"\n"):
        if data.startswith(rest):
            return len(rest)
    return len(data)


def _protocol_class(settings: Settings) -> type[GuardedHttpToolsProtocol]:
    return type(
        "ScanserveHttpToolsProtocol",
        (GuardedHttpToolsProtocol,),
        {
            "header_timeout": settings.header_timeout_seconds,
            "max_head_bytes": settings.max_header_bytes,
        },
    )


def uvicorn_config(
    app: Any,
    settings: Settings,
    *,
    host: str,
    port: int,
    log_config: dict[str, Any] | None = None,
    access_log: bool = False,
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        # with our log_config, its levels stand (SCANSERVE_LOG_LEVEL)
        log_level=None if log_config else "info",
        log_config=log_config,
        http=_protocol_class(settings),
        loop="auto",  # uvloop (a dependency), or asyncio's own loop where it does not build
        ws="none",  # no WebSocket operations: an Upgrade is served as plain HTTP/1.1
        timeout_keep_alive=max(1, round(settings.keep_alive_seconds)),
        # requests still in flight at SIGTERM get this long; then they are cancelled
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_seconds)),
        proxy_headers=False,
        server_header=False,
        access_log=access_log,
    )


def bind(host: str, port: int) -> socket.socket:
    """The listening address bound and listened on, so that the port is known before the
    server starts (with ``port`` 0 the kernel picks a free one, which ``serve`` prints) and a
    client that reads the banner may connect at once: it waits in the backlog until uvicorn,
    which listens on the same socket, takes it (before, a client that read the banner while
    the demo was still being seeded met a refused connection). As uvicorn binds: address
    reuse on, inheritable by the worker processes of ``--workers``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    sock.listen(2048)  # uvicorn's default backlog
    return sock


class DrainingServer(uvicorn.Server):
    """uvicorn's server telling ``on_exit`` as soon as it begins to shut down (within a tick
    of SIGTERM/SIGINT), so the queue's threads begin to drain while uvicorn finishes the
    requests in flight, not after (both within ``shutdown_grace_seconds``; see
    :mod:`scanserve.infra.queue`). Called from the shutdown, not from the signal handler: the
    handler may interrupt the loop's thread while it holds a lock ``on_exit`` takes."""

    def __init__(self, config: uvicorn.Config, on_exit: Any = None) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    async def shutdown(self, sockets: Any = None) -> None:
        if self._on_exit is not None:
            self._on_exit()
        await super().shutdown(sockets)


def run(
    app: Any,
    settings: Settings,
    *,
    host: str,
    port: int,
    log_config: dict[str, Any] | None = None,
    sock: socket.socket | None = None,
    access_log: bool = False,
) -> None:
    """Serve ``app`` until SIGINT/SIGTERM (on ``sock`` when given, bound by :func:`bind`),
    then drain for at most ``shutdown_grace_seconds``. ``access_log``: uvicorn's own line a
    request (for an app that does not write one)."""
    config = uvicorn_config(
        app, settings, host=host, port=port, log_config=log_config, access_log=access_log
    )
    services = getattr(app, "services", None)
    server = DrainingServer(config, services.queue.begin_drain if services else None)
    server.run(sockets=[sock] if sock is not None else None)


def _refusal_body(status: int, msg: str) -> bytes:
    """A refusal of the HTTP layer, before any app saw the request, as the problem document
    every other error is: ``headers_too_large`` for 431, else ``bad_request`` (a request
    line too long, a version or framing the server does not take), with the status sent."""
    error = HeadersTooLarge(msg) if status == 431 else BadRequest(msg)
    body = problem_body(error)
    body["status"], body["title"] = status, HTTPStatus(status).phrase
    return json.dumps(body).encode("ascii")


class WorkerProtocol(GuardedHttpToolsProtocol):
    """The guarded protocol for ``serve --workers N``: uvicorn starts each process by pickling
    its config, so the protocol class must be importable by name; each process reads its
    limits from the environment, as it builds its app (``scanserve.asgi``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        settings = _worker_settings()
        self.header_timeout = settings.header_timeout_seconds
        self.max_head_bytes = settings.max_header_bytes
        super().connection_made(transport)


_WORKER_SETTINGS: list[Settings] = []


def _worker_settings() -> Settings:
    if not _WORKER_SETTINGS:
        _WORKER_SETTINGS.append(Settings())
    return _WORKER_SETTINGS[0]


def run_workers(
    settings: Settings,
    workers: int,
    *,
    host: str,
    port: int,
    log_config: dict[str, Any] | None = None,
    app_factory: str = "scanserve.asgi:served_app",
    sock: socket.socket | None = None,
    access_log: bool = False,
    on_exit: Callable[[int], None] | None = None,
) -> None:
    """Serve with ``workers`` processes (uvicorn's supervisor restarts one that dies), each
    building its app by calling ``app_factory`` (``module:function``; by default
    :func:`scanserve.asgi.served_app`, which builds it from the environment). ``on_exit``
    is called with the pid of each process that ended (the metrics' bookkeeping)."""
    config = uvicorn_config(
        app_factory, settings, host=host, port=port, log_config=log_config, access_log=access_log
    )
    config.factory = True
    config.workers = workers
    config.http = WorkerProtocol
    sockets = [sock if sock is not None else config.bind_socket()]
    _Supervisor(config, sockets=sockets, on_exit=on_exit).run()


class _Supervisor(Multiprocess):
    """uvicorn's supervisor, telling ``on_exit`` the pid of every process that ended: one that
    died and was replaced, or each at the end."""

    def __init__(
        self, config: uvicorn.Config, sockets: list[socket.socket], on_exit: Any = None
    ) -> None:
        super().__init__(config, sockets=sockets)
        self._on_exit: Callable[[int], None] | None = on_exit

    def _ended(self, before: set[int | None]) -> None:
        if self._on_exit is None:
            return
        for pid in before - {process.pid for process in self.processes}:
            if pid is not None:
                self._on_exit(pid)

    def keep_subprocess_alive(self) -> None:
        before = {process.pid for process in self.processes}
        super().keep_subprocess_alive()
        self._ended(before)

    def restart_all(self) -> None:
        before = {process.pid for process in self.processes}
        super().restart_all()
        self._ended(before)

    def join_all(self) -> None:
        super().join_all()
        if self._on_exit is not None:
            for process in self.processes:
                if process.pid is not None:
                    self._on_exit(process.pid)
