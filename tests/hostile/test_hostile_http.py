"""`scanserve serve` against clients that misbehave on the wire: raw sockets on loopback
against the real server process, its log read afterwards."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cli_fork
import httpx
import pytest
from loopback import served_port, wait_until_read

from scanserve.storage import migrate
from scanserve.storage.database import open_database
from scanserve.testing import issue_key, wait_for

BASE = "/scanner/api/v1"
SERVE = [*cli_fork.COMMAND, "serve"]
# The same command serving create_app(fast_path=False): every request walks Connexion's stack.
SERVE_FULL_STACK = [
    sys.executable,
    "-c",
    "import functools, scanserve.app as a; "
    "a.create_app = functools.partial(a.create_app, fast_path=False); "
    "from scanserve.cli import main; main()",
    "serve",
]
WAIT = 20.0  # a socket's patience: far above every timeout configured below
# How long a read waits for the server to answer or close before the test fails: far above
# the 1 s timeouts the tests configure, far below what a server that never enforces them
# would make the test wait (a read that times out is a failure, never an empty answer).
PATIENCE = 8.0


@dataclass
class Server:
    port: int
    key: str
    log: Path
    out: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}{BASE}"

    def said(self) -> str:
        return self.log.read_text(errors="replace") + self.out.read_text(errors="replace")

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=PATIENCE)
        return sock

    def get(self, path: str, **kwargs) -> httpx.Response:
        return httpx.get(self.base + path, timeout=WAIT, **kwargs)


class NoAnswer(AssertionError):
    """The server neither answered nor closed the connection within PATIENCE."""


def read_response(sock: socket.socket) -> bytes:
    """One whole response, or what the server sent before it closed the connection (b"" for
    a close without an answer; a reset counts as a close). A server that keeps the
    connection open and silent for PATIENCE seconds fails the test (:class:`NoAnswer`)."""
    sock.settimeout(PATIENCE)
    raw = b""
    try:
        while not (b"\r\n\r\n" in raw and _complete(raw)):
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        raise NoAnswer(f"no answer and no close within {PATIENCE} s; got {raw[:300]!r}") from None
    return raw


def _complete(raw: bytes) -> bool:
    head, _, body = raw.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


@contextlib.contextmanager
def _servers(folder: Path) -> Iterator[Callable[..., Server]]:
    """Yields ``start(fast_path=, **settings)``, which starts a server with its data and logs
    in ``folder``; every server started is stopped on exit."""
    started: list[subprocess.Popen] = []

    def start(*, fast_path: bool = True, **settings: str) -> Server:
        data = folder / f"data{len(started)}"
        db = open_database(f"sqlite:///{data / 'scanserve.db'}")
        migrate.upgrade(db)
        key = issue_key().key
        db.close()
        env = {
            **os.environ,
            "SCANSERVE_DATA_DIR": str(data),
            "SCANSERVE_QUEUE": "immediate",
            "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
            **{f"SCANSERVE_{k.upper()}": v for k, v in settings.items()},
        }
        log, out = folder / f"serve{len(started)}.err", folder / f"serve{len(started)}.out"
        with log.open("wb") as err_file, out.open("wb") as out_file:
            proc = cli_fork.Popen(
                [*(SERVE if fast_path else SERVE_FULL_STACK), "--port", "0"],
                env=env,
                stdout=out_file,
                stderr=err_file,
            )
        started.append(proc)
        try:
            port = served_port(proc, out)
        except (RuntimeError, TimeoutError) as error:
            pytest.fail(f"{error}:\n{log.read_text(errors='replace')[-3000:]}")
        server = Server(port=port, key=key, log=log, out=out)
        deadline = time.monotonic() + 30
        while True:
            try:
                if server.get("/openapi.json").status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"scanserve serve did not come up:\n{server.said()[-3000:]}")
            time.sleep(0.1)

    try:
        yield start
    finally:
        for proc in started:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """A server of the test's own, with the settings it names: ``serve(**settings)``."""
    with _servers(tmp_path) as start:
        yield start


@pytest.fixture(scope="module")
def default_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server on the default settings, shared by the module's tests that only send it
    requests and read the answers (the query-secret test also reads its log, where only its
    own request carries its secret). Starting a server was most of each such test's time;
    a test that counts what was stored or asserts a quiet log has a server of its own."""
    with _servers(tmp_path_factory.mktemp("default-server")) as start:
        yield start()


def head(server: Server, method: str, path: str, *lines: str) -> bytes:
    return (
        "\r\n".join(
            [f"{method} {BASE}{path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", *lines]
        ).encode()
        + b"\r\n\r\n"
    )


def status_of(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else 0


def test_client_disconnect_mid_body_logs_no_error_and_stores_nothing(serve):
    server = serve()
    for framing, sent in (
        ("Content-Length: 1000", b'{"metadata":'),
        ("Transfer-Encoding: chunked", b'a\r\n{"metadata"\r\n'),
        # a prefix that is valid JSON on its own, and the end of the body never comes
        ("Transfer-Encoding: chunked", b"2\r\n{}\r\n"),
    ):
        sock = server.connect()
        sock.sendall(
            head(
                server,
                "POST",
                "/sessions",
                f"X-API-Key: {server.key}",
                framing,
                "Content-Type: application/json",
            )
        )
        sock.sendall(sent)
        wait_until_read(sock)  # the server has read the head and the part of the body
        sock.close()
    time.sleep(0.5)
    # the server is fine, and a body that never ended was not taken as a whole one
    listed = server.get("/sessions", headers={"X-API-Key": server.key})
    assert listed.status_code == 200 and listed.json()["data"] == []
    time.sleep(0.5)
    said = server.said()
    assert "Traceback" not in said and "unhandled" not in said and "ERROR" not in said, said


def _multipart(fields: dict[str, str], file_field: str, data: bytes) -> tuple[str, bytes]:
    parts = [
        f'--b0und\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--b0und\r\nContent-Disposition: form-data; name="{file_field}"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n".encode()
        + data
        + b"\r\n--b0und--\r\n"
    )
    return "multipart/form-data; boundary=b0und", b"".join(parts)


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), "olive").save(out, format="PNG")
    return out.getvalue()


def test_clients_that_leave_at_any_point_of_a_request_log_no_error_and_store_nothing(
    serve, tmp_path
):
    """JSON and multipart operations (an Idempotency-Key on some), framed by Content-Length
    or chunked, the connection closed (or reset) in the middle of the head, right after it,
    and in the middle of the body, on the embedded queue. Nothing is stored, the
    Idempotency-Key is free for the retry, and the log holds no error."""
    server = serve(queue="embedded")
    key = {"X-API-Key": server.key}
    session = httpx.post(f"{server.base}/sessions", headers=key, json={}, timeout=WAIT).json()
    presigned = server.get(
        f"/sessions/{session['id']}/presigned-upload-url",
        params={"photo_type": "front", "original_filename": "a.png"},
        headers=key,
    ).json()
    png = _png()
    capture = json.dumps(
        {"session_id": session["id"], "capture_type": "BARCODE", "raw_value": "4006381333931"}
    ).encode()
    operations = [
        ("/sessions", "application/json", b'{"metadata": {"store": "left"}}', True),
        ("/captures", "application/json", capture, True),
        ("/captures/upload-image", *_multipart({"session_id": session["id"]}, "image", png), True),
        ("/uploads", *_multipart(presigned["upload_fields"], "file", png), False),
    ]
    retries = []
    for path, content_type, body, with_key in operations:
        for chunked in (False, True):
            for cut in ("head", "after-head", "body"):
                for reset in (False, True):
                    idempotency_key = f"left-{len(retries)}"
                    lines = [
                        f"Content-Type: {content_type}",
                        f"Idempotency-Key: {idempotency_key}",
                    ]
                    lines += [f"X-API-Key: {server.key}"] if with_key else []
                    if chunked:
                        lines.append("Transfer-Encoding: chunked")
                        part = f"{len(body) // 2:x}\r\n".encode() + body[: len(body) // 2]
                    else:
                        lines.append(f"Content-Length: {len(body)}")
                        part = body[: len(body) // 2]
                    request_head = head(server, "POST", path, *lines)
                    sock = server.connect()
                    if cut == "head":
                        sock.sendall(request_head[: len(request_head) // 2])
                    else:
                        sock.sendall(request_head + (part if cut == "body" else b""))
                    wait_until_read(sock)  # the server has read what was sent
                    if reset:
                        sock.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                    sock.close()
                    if with_key:
                        retries.append((path, content_type, body, idempotency_key))
    time.sleep(0.5)
    # nothing was stored: one session (the test's), no captures, no objects
    listed = server.get("/sessions", headers=key).json()["data"]
    assert [s["id"] for s in listed] == [session["id"]]
    assert server.get(f"/sessions/{session['id']}", headers=key).json()["capture_count"] == 0
    objects = tmp_path / "data0" / "objects"
    assert not objects.exists() or not [p for p in objects.rglob("*") if p.is_file()]
    # the presigned key was never written, and no Idempotency-Key is held by a request
    # whose client left: the whole requests now go through
    upload_type, upload_body = _multipart(presigned["upload_fields"], "file", png)
    stored = httpx.post(
        presigned["upload_url"],
        content=upload_body,
        headers={"Content-Type": upload_type},
        timeout=WAIT,
    )
    assert stored.status_code == 204, stored.text
    for path, content_type, body, idempotency_key in retries[::6]:
        answer = httpx.post(
            f"{server.base}{path}",
            content=body,
            headers={**key, "Content-Type": content_type, "Idempotency-Key": idempotency_key},
            timeout=WAIT,
        )
        assert answer.status_code == 201, (path, answer.text)
        assert "idempotent-replayed" not in answer.headers
    time.sleep(0.5)
    said = server.said()
    assert "Traceback" not in said and "nhandled" not in said and "ERROR" not in said, said


def _trickle_until_closed(sock: socket.socket, data: bytes) -> bool:
    """Send ``data`` a byte at a time, slowly; True when the server closed the connection
    before all of it was sent (a slowloris client is cut off)."""
    sock.settimeout(0.25)
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
            if sock.recv(1024) == b"":
                return True
        except TimeoutError:
            continue  # nothing from the server yet: go on
        except OSError:
            return True  # reset or broken pipe: closed
    return False


def _partial_heads_are_closed(server: Server) -> None:
    with server.connect() as silent:  # sends nothing at all
        assert read_response(silent) == b""  # closed by the server, no answer
    # ~80 bytes at one per 0.25 s: 20 s of head, which a 1 s head timeout cuts short
    dribble = f"GET {BASE}/sessions HTTP/1.1\r\nHost: x\r\n".encode() + b"X-Slow: " + b"a" * 40
    with server.connect() as slow:
        assert _trickle_until_closed(slow, dribble)
    # a kept-alive connection that begins its next head and stalls is cut off the same way
    with server.connect() as kept:
        kept.sendall(head(server, "GET", "/health/live"))
        assert status_of(_one_response(kept)) == 200
        assert _trickle_until_closed(kept, dribble)
    assert server.get("/sessions", headers={"X-API-Key": server.key}).status_code == 200


def test_partial_request_heads_are_closed(serve):
    _partial_heads_are_closed(serve(header_timeout_seconds="1"))


def _idle_kept_alive_is_closed(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(head(server, "GET", "/health/live"))
        assert status_of(_one_response(sock)) == 200
        assert read_response(sock) == b""  # then nothing, and closed (well before PATIENCE)


def test_an_idle_kept_alive_connection_is_closed(serve):
    _idle_kept_alive_is_closed(serve(keep_alive_seconds="1"))


def test_the_timeout_checks_fail_against_a_server_without_the_timeouts(serve, monkeypatch):
    """The test of the two tests above: against a server whose head and keep-alive timeouts
    are as good as off (an hour), each fails; a silent open socket is not taken for a
    close."""
    monkeypatch.setattr(sys.modules[__name__], "PATIENCE", 3.0)
    server = serve(header_timeout_seconds="3600", keep_alive_seconds="3600")
    with pytest.raises(NoAnswer):
        _partial_heads_are_closed(server)
    with pytest.raises(NoAnswer):
        _idle_kept_alive_is_closed(server)
    # the dribbled head is not cut off either
    with server.connect() as slow:
        assert not _trickle_until_closed(slow, b"GET / HTTP/1.1\r\n")


def _one_response(sock: socket.socket) -> bytes:
    """One whole response (Content-Length framed), the connection left open."""
    raw = b""
    while not (b"\r\n\r\n" in raw and _complete(raw)):
        chunk = sock.recv(65536)
        assert chunk, raw
        raw += chunk
    return raw


def test_a_body_that_does_not_arrive_gets_a_408(serve):
    server = serve(body_timeout_seconds="1")
    sock = server.connect()
    sock.sendall(
        head(
            server,
            "POST",
            "/sessions",
            f"X-API-Key: {server.key}",
            "Content-Type: application/json",
            "Content-Length: 100",
        )
    )
    sock.sendall(b'{"metadata": ')
    raw = read_response(sock)
    sock.close()
    assert status_of(raw) == 408, raw[:500]
    body = json.loads(raw.partition(b"\r\n\r\n")[2])
    assert body["error_code"] == "request_timeout" and body["retryable"] is False


def test_a_chunked_multipart_body_to_a_json_operation_is_refused_before_it_is_read(default_server):
    server = default_server
    sock = server.connect()
    sock.sendall(
        head(
            server,
            "POST",
            "/sessions",
            f"X-API-Key: {server.key}",
            "Content-Type: multipart/form-data; boundary=x",
            "Transfer-Encoding: chunked",
        )
    )
    sock.sendall(b"4\r\n--x\n\r\n")  # and never the rest: the answer must not wait for it
    raw = read_response(sock)
    sock.close()
    assert status_of(raw) == 415, raw[:500]


def test_a_4_mb_cookie_is_refused_at_the_door(default_server):
    server = default_server
    sock = server.connect()
    with contextlib.suppress(OSError):  # the server may close before taking it all
        sock.sendall(head(server, "GET", "/sessions", "Cookie: sessionid=" + "x" * 4_000_000))
    raw = read_response(sock)
    sock.close()
    assert status_of(raw) in (0, 400, 431), raw[:300]  # 0: reset before an answer
    assert status_of(raw) != 401  # it never reached authentication
    # still serving, and the 16 KiB just below the limit's reach are fine
    assert server.get("/sessions", headers={"X-API-Key": server.key}).status_code == 200


def test_query_string_secrets_never_reach_the_log(default_server):
    server = default_server
    answer = server.get(f"/sessions?api_key={server.key}&page=1&access_token=s3cr3t-t0ken")
    assert answer.status_code == 401
    assert server.get("/sessions", headers={"X-API-Key": server.key}).status_code == 200
    # the access line is written after the answer: wait for it (it names the path's
    # template, never the query string)
    line = "GET /scanner/api/v1/sessions listSessions 401"
    wait_for(lambda: line in server.said(), 10, f"{line!r} in the access log")
    said = server.said()
    assert server.key not in said and "s3cr3t-t0ken" not in said


def test_forwarded_for_from_loopback_is_not_trusted_by_default(default_server):
    server = default_server
    url = "/freshness-thresholds?gtin=4006381333931"
    first = server.get(url, headers={"X-Forwarded-For": "203.0.113.1"})
    second = server.get(url, headers={"X-Forwarded-For": "203.0.113.2"})
    # one budget, the real peer's (start-up polling has used some of it)
    remaining = int(first.headers["ratelimit-remaining"])
    assert int(second.headers["ratelimit-remaining"]) == remaining - 1


def test_trailing_slash_redirect_is_relative(default_server):
    server = default_server
    answer = server.get(
        "/sessions/",
        headers={"X-API-Key": server.key, "Host": "evil.example"},
        follow_redirects=False,
    )
    assert 300 <= answer.status_code < 400
    assert answer.headers["location"] == f"{BASE}/sessions"


def test_a_body_without_content_type_on_the_wire_is_a_415(default_server):
    # what `curl -H 'Content-Type:'` sends: the header removed, the body kept
    server = default_server
    for path in ("/sessions", "/captures", "/resolve-url"):
        for header in ("Content-Type:", None):
            lines = [f"X-API-Key: {server.key}", "Content-Length: 2"]
            sock = server.connect()
            sock.sendall(head(server, "POST", path, *lines, *([header] if header else [])) + b"{}")
            raw = read_response(sock)
            sock.close()
            assert status_of(raw) == 415, (path, header, raw[:500])
            assert b"application/problem+json" in raw.partition(b"\r\n\r\n")[0]


def _until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as a
    close); a server that stays silent and open for PATIENCE fails the test."""
    sock.settimeout(PATIENCE)
    raw = b""
    try:
        while chunk := sock.recv(65536):
            raw += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        raise NoAnswer(f"not closed within {PATIENCE} s; got {raw[:300]!r}") from None
    return raw


def _all_statuses(sock: socket.socket) -> list[int]:
    """The status of every response on the connection until the server closes it."""
    return [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", _until_closed(sock))]


def _sent_in_pieces(server: Server, data: bytes, size: int) -> bytes:
    """``data`` written ``size`` bytes at a time (so that no read holds all of a head); then
    everything the server answers until it closes."""
    sock = server.connect()
    with contextlib.suppress(OSError):  # it may close while we still write
        for i in range(0, len(data), size):
            sock.sendall(data[i : i + size])
            time.sleep(0.01)
    raw = read_response(sock)
    sock.close()
    return raw


def test_a_request_head_over_the_limit_is_refused_before_it_is_read(serve):
    server = serve(max_header_bytes="4096")
    fields = [f"X-Field-{i}: {'a' * 60}" for i in range(80)]  # 5.7 KB of fields
    raw = _sent_in_pieces(server, head(server, "GET", "/sessions", *fields), 500)
    assert status_of(raw) == 431, raw[:300]
    assert b"connection: close" in raw.lower()
    # refused by the HTTP layer, before any app saw it: a problem document all the same
    assert b"content-type: application/problem+json" in raw.lower(), raw[:300]
    assert b'"error_code": "headers_too_large"' in raw and b'"status": 431' in raw, raw
    assert re.search(rb"(?im)^x-request-id: [0-9a-f]{32}\r$", raw), raw[:300]  # as every answer
    # a request line that long is a 414, whether its end comes or not
    long_target = f"/sessions?page={'1' * 5000}"
    raw = _sent_in_pieces(server, head(server, "GET", long_target), 500)
    assert status_of(raw) == 414, raw[:300]
    assert b"content-type: application/problem+json" in raw.lower(), raw[:300]
    assert b'"status": 414' in raw and b'"retryable": false' in raw, raw
    raw = _sent_in_pieces(server, head(server, "GET", long_target)[:4500], 500)
    assert status_of(raw) == 414, raw[:300]
    # in one write too, and just under the limit is served
    sock = server.connect()
    sock.sendall(head(server, "GET", "/sessions", *fields))
    assert status_of(read_response(sock)) == 431
    sock.close()
    sock = server.connect()
    sock.sendall(head(server, "GET", "/sessions", f"X-API-Key: {server.key}", *fields[:40]))
    assert status_of(read_response(sock)) == 200
    sock.close()
    said = server.said()
    assert "Traceback" not in said and "ERROR" not in said, said[-2000:]


def test_endless_chunk_trailers_are_refused(serve):
    server = serve(max_header_bytes="4096")
    start = head(
        server,
        "POST",
        "/sessions",
        f"X-API-Key: {server.key}",
        "Content-Type: application/json",
        "Transfer-Encoding: chunked",
    )
    trailers = b"".join(b"X-Trailer-%d: %s\r\n" % (i, b"t" * 60) for i in range(200))
    raw = _sent_in_pieces(server, start + b"2\r\n{}\r\n0\r\n" + trailers + b"\r\n", 500)
    assert status_of(raw) in (400, 431), raw[:300]
    listed = server.get("/sessions", headers={"X-API-Key": server.key})
    assert listed.json()["data"] == []


def _post(server: Server, *framing: str, body: bytes = b"{}") -> bytes:
    return (
        head(
            server,
            "POST",
            "/sessions",
            f"X-API-Key: {server.key}",
            "Content-Type: application/json",
            *framing,
        )
        + body
    )


SMUGGLED = "GET /scanner/api/v1/sessions HTTP/1.1\r\nHost: x\r\n\r\n"


def _chunked(body: bytes) -> bytes:
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"


def test_ambiguous_or_malformed_framing_is_refused_and_the_connection_closed(default_server):
    """What RFC 9112 says a server must refuse (or may, where a proxy in front could read the
    message another way): each is a 400 (505 for the version), nothing behind it is served,
    and nothing is stored."""
    server = default_server
    key = f"X-API-Key: {server.key}"
    host = f"Host: 127.0.0.1:{server.port}"
    live = f"{BASE}/health/live"
    smuggled = _chunked(b"") + SMUGGLED.encode()
    cases = {
        "obs-fold": f"GET {live} HTTP/1.1\r\n{host}\r\nX-A: a\r\n b\r\n\r\n".encode(),
        "bare LF": f"GET {live} HTTP/1.1\n{host}\n\n".encode(),
        "bare LF in one line": f"GET {live} HTTP/1.1\r\n{host}\nX-A: b\r\n\r\n".encode(),
        "duplicate Content-Length": _post(server, "Content-Length: 2", "Content-Length: 2"),
        "different Content-Lengths": _post(server, "Content-Length: 2", "Content-Length: 12"),
        "Content-Length list": _post(server, "Content-Length: 2, 2"),
        "Content-Length sign": _post(server, "Content-Length: +2"),
        "Transfer-Encoding and Content-Length": _post(
            server, "Content-Length: 5", "Transfer-Encoding: chunked", body=smuggled
        ),
        "Content-Length and Transfer-Encoding": _post(
            server, "Transfer-Encoding: chunked", "Content-Length: 5", body=smuggled
        ),
        "Transfer-Encoding not chunked": _post(server, "Transfer-Encoding: gzip"),
        "Transfer-Encoding chunked, then other": _post(
            server, "Transfer-Encoding: chunked, gzip", body=_chunked(b"{}")
        ),
        "Transfer-Encoding twice": _post(
            server,
            "Transfer-Encoding: chunked",
            "Transfer-Encoding: chunked",
            body=_chunked(b"{}"),
        ),
        "space before colon": _post(server, "Transfer-Encoding : chunked", body=_chunked(b"{}")),
        "bad chunk size": _post(
            server, "Transfer-Encoding: chunked", body=b"2x\r\n{}\r\n0\r\n\r\n"
        ),
        "chunks ended by bare LF": _post(
            server, "Transfer-Encoding: chunked", body=b"2\n{}\n0\n\n"
        ),
        "control character in a value": f"GET {live} HTTP/1.1\r\n{host}\r\nX-A: a\x01b\r\n\r\n".encode(),
        "no Host": f"GET {live} HTTP/1.1\r\n{key}\r\n\r\n".encode(),
        "two Hosts": f"GET {live} HTTP/1.1\r\n{host}\r\nHost: evil.example\r\n\r\n".encode(),
        "HTTP/0.9": f"GET {live}\r\n\r\n".encode(),
        "HTTP/2.0 in HTTP/1 framing": f"GET {live} HTTP/2.0\r\n{host}\r\n\r\n".encode(),
        "Upgrade with a body": _post(
            server, "Connection: Upgrade", "Upgrade: foo", "Content-Length: 2"
        ),
    }
    for name, request in cases.items():
        sock = server.connect()
        sock.sendall(request + f"GET {live} HTTP/1.1\r\n{host}\r\n\r\n".encode())
        statuses = _all_statuses(sock)
        sock.close()
        expected = 505 if "HTTP/" in name else 400
        assert statuses == [expected], (name, statuses)
    listed = server.get("/sessions", headers={"X-API-Key": server.key})
    assert listed.status_code == 200 and listed.json()["data"] == []


def test_pipelined_requests_are_all_answered_in_order(default_server):
    server = default_server
    get = head(server, "GET", "/sessions", f"X-API-Key: {server.key}")
    ignored_upgrade = head(
        server,
        "GET",
        "/sessions",
        f"X-API-Key: {server.key}",
        "Connection: Upgrade, HTTP2-Settings",
        "Upgrade: h2c",
        "HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA",
    )
    for name, requests, expected in (
        ("three GETs", get * 3, [200, 200, 200]),
        ("a POST with a body, then a GET", _post(server, "Content-Length: 2") + get, [201, 200]),
        (
            "a chunked POST, then GETs",
            _post(server, "Transfer-Encoding: chunked", body=_chunked(b"{}")) + get + get,
            [201, 200, 200],
        ),
        ("an Upgrade (h2c) ignored, then a GET", ignored_upgrade + get, [200, 200]),
    ):
        for size in (len(requests), 7):  # in one write, and in small pieces
            sock = server.connect()
            for i in range(0, len(requests), size):
                sock.sendall(requests[i : i + size])
            sock.sendall(head(server, "GET", "/health/live", "Connection: close"))
            statuses = _all_statuses(sock)
            sock.close()
            assert statuses == [*expected, 200], (name, size, statuses)
    # a refused request is answered after those before it, and nothing after it is served
    obs_fold = head(server, "GET", "/sessions", "X-A: a", " b")
    sock = server.connect()
    sock.sendall(get + get + obs_fold + get)
    assert _all_statuses(sock) == [200, 200, 400]
    sock.close()


# What two servers on two databases answer differently for the same requests: the ids, times
# and secrets each made anew, and when the rate-limit windows reset.
_MADE_ANEW = re.compile(
    rb'"(id|session_id|created|modified|processed_at|timestamp|csrf_token|expires'
    rb'|organization_short_ids)": ?("[^"]*"|\[[^\]]*\])'
)
_UNCOMPARED = (b"date", b"content-length", b"ratelimit-reset", b"x-ratelimit-reset")


def _answers(raw: bytes) -> list[tuple[bytes, list[bytes], bytes]]:
    """Each response on a connection (status line, headers, body), less what differs between
    two servers by nature (:data:`_MADE_ANEW`, :data:`_UNCOMPARED`, the cookie's value)."""
    answers = []
    while raw:
        head, _, raw = raw.partition(b"\r\n\r\n")
        status, *fields = head.split(b"\r\n")
        length = 0
        kept = []
        for field in fields:
            name, _, value = field.partition(b":")
            name = name.lower()
            if name == b"content-length":
                length = int(value)
            if name == b"set-cookie":
                value = re.sub(rb"=[^;]*", b"=...", value, count=1)
                value = re.sub(rb"Max-Age=\d+", b"Max-Age=...", value)
            if name == b"x-request-id":
                value = b" <made anew>"  # a new one each request: only its presence counts
            if name not in _UNCOMPARED:
                kept.append(name + b":" + value)
        body, raw = raw[:length], raw[length:]
        answers.append((status, sorted(kept), _MADE_ANEW.sub(rb'"\1": "..."', body)))
    return answers


def test_the_fast_path_answers_hostile_clients_as_the_full_stack_does(serve):
    """Two real servers, one with the fast path and one serving every request through
    Connexion's whole stack, get the same raw requests in the same order: chunked JSON bodies
    with chunk extensions and trailers, ``Expect: 100-continue``, odd Content-Types, bodies
    the plan leaves to the full stack, a body too slow or too large, Idempotency-Key replays
    under another framing, pipelining, bodiless writes and signing in. Every answer is the
    same (but for the ids and times each made anew), so is what each stored, and neither log
    holds an error."""
    settings = {"body_timeout_seconds": "1", "max_body_bytes": "4096"}
    fast, full = serve(**settings), serve(fast_path=False, **settings)
    sessions = {}
    for server in (fast, full):
        made = httpx.post(
            f"{server.base}/sessions", headers={"X-API-Key": server.key}, json={}, timeout=WAIT
        )
        sessions[server.port] = made.json()["id"]

    def requests(server: Server) -> dict[str, list[bytes]]:
        """Per case, what one connection sends (a pause between the parts)."""
        session = sessions[server.port]
        key, closing = f"X-API-Key: {server.key}", "Connection: close"

        def post(path: str, *lines: str, body: bytes = b"") -> bytes:
            return head(server, "POST", path, key, *lines) + body

        def json_post(path: str, body: bytes, *lines: str) -> bytes:
            length = f"Content-Length: {len(body)}"
            return post(path, "Content-Type: application/json", length, *lines, body=body)

        capture = json.dumps(
            {"session_id": session, "capture_type": "BARCODE", "raw_value": "4006381333931"}
        ).encode()
        chunked_capture = b"%x;ext=1\r\n%s\r\n%x\r\n%s\r\n0\r\nX-Trailer: t\r\n\r\n" % (
            10,
            capture[:10],
            len(capture) - 10,
            capture[10:],
        )
        chunked = ("Transfer-Encoding: chunked", closing)
        listed = head(server, "GET", f"/sessions/{session}", key, closing)
        return {
            "chunked, extension, trailer": [
                post("/captures", "Content-Type: application/json", *chunked) + chunked_capture
            ],
            "100-continue": [json_post("/captures", capture, "Expect: 100-continue", closing)],
            "media type spelt otherwise": [
                json_post("/captures", capture, closing).replace(
                    b"application/json", b"Application/JSON; charset=UTF-8"
                )
            ],
            "two Content-Types": [
                json_post("/captures", capture, "Content-Type: text/plain", closing)
            ],
            "a UTF-8 BOM": [json_post("/sessions", b"\xef\xbb\xbf{}", closing)],
            "latin-1": [
                json_post("/sessions", '{"metadata": {"a": "\xe9"}}'.encode("latin-1"), closing)
            ],
            "nested too deep": [json_post("/sessions", b"[" * 300 + b"]" * 300, closing)],
            "JSON null": [json_post("/sessions", b"null", closing)],
            "too slow": [json_post("/sessions", b'{"metadata": {}}', closing)[:-3]],
            "too large, chunked": [
                post("/sessions", "Content-Type: application/json", *chunked)
                + _chunked(b'{"metadata": {"a": "%s"}}' % (b"x" * 5000))
            ],
            "Idempotency-Key": [
                json_post("/sessions", b'{"metadata": {"i": "1"}}', "Idempotency-Key: k", closing)
            ],
            "its replay, chunked": [
                post("/sessions", "Content-Type: application/json", "Idempotency-Key: k", *chunked)
                + _chunked(b'{ "metadata" : {"i": "1"} }')
            ],
            "its key, another body": [
                json_post("/sessions", b'{"metadata": {"i": "2"}}', "Idempotency-Key: k", closing)
            ],
            "pipelined": [json_post("/sessions", b'{"metadata": {"p": "1"}}') + listed],
            "client leaves mid-body": [
                post("/captures", "Content-Type: application/json", *chunked)
                + chunked_capture[:30],
                b"",
            ],
            "bodiless, chunked": [
                post(f"/sessions/{session}/submit", *chunked) + _chunked(b""),
            ],
            "bodiless, Content-Length: 0": [
                post(f"/sessions/{session}/end", "Content-Length: 0", closing)
            ],
            "signing in": [post("/auth/session", "Content-Length: 0", closing)],
            "stored": [listed],
        }

    cases = {server.port: requests(server) for server in (fast, full)}
    for case in cases[fast.port]:
        answers = []
        for server in (fast, full):
            sock = server.connect()
            *parts, last = cases[server.port][case]
            for part in parts:
                sock.sendall(part)
                wait_until_read(sock)
            if last:
                sock.sendall(last)
                answers.append(_answers(_until_closed(sock)))
            sock.close()
        if answers:
            assert answers[0] == answers[1], case
            assert answers[0], case
    # the four captures answered 201 stored once each, none of the client that left, and
    # the replayed session stored once
    for server in (fast, full):
        session = server.get(
            f"/sessions/{sessions[server.port]}", headers={"X-API-Key": server.key}
        )
        assert session.json()["capture_count"] == 4, session.text
        listed = server.get("/sessions", headers={"X-API-Key": server.key})
        assert sorted(json.dumps(s["metadata"]) for s in listed.json()["data"]) == [
            '{"i": "1"}',
            '{"p": "1"}',
            "{}",
        ], listed.text
    time.sleep(0.5)
    for server in (fast, full):
        said = server.said()
        assert "Traceback" not in said and "nhandled" not in said and "ERROR" not in said, said
