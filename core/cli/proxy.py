"""``scanserve proxy``: a validating proxy in front of any server of the Scanner API.

As Prism's proxy mode and openapi-cop do: every request is forwarded to ``--upstream`` as it
came (method, path, query, headers, a body streamed through, multipart included), and the
request and the answer are judged against the contract (:mod:`scanserve.http.contract_check`).
An invalid request to an operation that the upstream refuses with a 4xx is the contract at
work (printed, not counted; ``--strict-requests`` counts it); one it accepts, or fails on,
is a violation.
The answer goes back to the client as the upstream gave it, with one
``X-Scanserve-Violation`` header per violation found (none when clean). Violations are
written as they happen to ``--ndjson`` (one JSON object a line) and on stderr; at SIGINT or
SIGTERM the proxy drains, prints a table per operation, writes ``--junit-xml`` and exits 1
if it found any violation.

A request outside the contract's base path (health probes at the root, a sandbox's
test-control endpoints) is forwarded without judgement; one under the base path that fits no
operation is a violation. What is judged of a body is a copy of at most
:data:`KEEP_BYTES`; a larger body still passes through whole, unjudged.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import click

# Copies of bodies kept for judging: above the server's default upload limit (10 MiB) with
# room for a form's framing, so that every body the server would take is judged.
KEEP_BYTES = 12 * 1024 * 1024
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
_MAX_VIOLATION_HEADERS = 20


class _ClientGone(Exception):
    pass


class Recorder:
    """Where violations go: stderr, the NDJSON file (a line each, flushed) and the tally."""

    def __init__(self, ndjson: IO[str] | None) -> None:
        from scanserve.http.contract_check import Tally

        self.tally = Tally()
        self.exchanges = 0
        self.violations = 0
        self._ndjson = ndjson

    def record(self, operation_id: str, violations: list[Any]) -> None:
        from scanserve.http.contract_check import OUTSIDE

        if operation_id == OUTSIDE:
            return
        self.exchanges += 1
        self.violations += len(violations)
        self.tally.record(operation_id, [v.header_value() for v in violations])
        for violation in violations:
            click.echo(
                f"proxy: {violation.method} {violation.path} -> {violation.status}: "
                f"{operation_id}: {violation.header_value()}",
                err=True,
            )
            if self._ndjson is not None:
                self._ndjson.write(json.dumps(violation.as_record()) + "\n")
                self._ndjson.flush()


class ValidatingProxy:
    """The proxy as an ASGI app: forwards to ``upstream`` (scheme://host:port) with httpx."""

    def __init__(
        self, check: Any, upstream: str, recorder: Recorder, *, strict_requests: bool = False
    ) -> None:
        self.check = check
        self.strict_requests = strict_requests
        self.upstream = upstream.rstrip("/")
        self.recorder = recorder
        self._client: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            try:
                await self._exchange(scope, receive, send)
            except _ClientGone:
                return

    async def _lifespan(self, receive: Any, send: Any) -> None:
        import httpx

        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # No timeouts and no pool limits of the proxy's own: the upstream's are what
                # the client would meet without the proxy.
                self._client = httpx.AsyncClient(
                    timeout=None,  # noqa: S113 (the upstream's own timeouts apply, not ours)
                    limits=httpx.Limits(max_connections=None),
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _exchange(self, scope: Any, receive: Any, send: Any) -> None:
        import httpx

        from scanserve.http.contract_check import Violation

        method: str = scope["method"]
        path: str = scope["path"]
        query = scope["query_string"].decode("latin-1")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        as_dict = {name.lower(): value for name, value in headers}
        has_body = "transfer-encoding" in as_dict or as_dict.get("content-length", "0") != "0"
        incoming = _TeedBody(receive, complete=not has_body)
        forwarded = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]
        client = scope.get("client")
        if client:
            prior = as_dict.get("x-forwarded-for")
            forwarded.append(("X-Forwarded-For", f"{prior}, {client[0]}" if prior else client[0]))
        raw_path = scope.get("raw_path") or path.encode()
        url = self.upstream + raw_path.decode("latin-1") + (f"?{query}" if query else "")
        request = self._client.build_request(
            method, url, headers=forwarded, content=incoming.chunks() if has_body else None
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as error:
            operation_id, violations = self.check.check_request(method, path, query, as_dict, None)
            violations.append(
                Violation(operation_id, method, path, 502, "upstream", f"no answer: {error!r}")
            )
            self.recorder.record(operation_id, violations)
            await _send_bad_gateway(send, violations)
            return
        try:
            operation_id, violations = self.check.check_request(
                method, path, query, as_dict, incoming.judged()
            )
            await self._answer(
                response,
                send,
                method=method,
                path=path,
                operation_id=operation_id,
                violations=violations,
            )
        finally:
            await response.aclose()

    async def _answer(
        self,
        response: Any,
        send: Any,
        *,
        method: str,
        path: str,
        operation_id: str,
        violations: list[Any],
    ) -> None:
        """The upstream's answer judged, recorded and passed on with the violation headers."""
        from scanserve.http.contract_check import UNKNOWN, VIOLATION_HEADER

        status = response.status_code
        if 400 <= status < 500 and not self.strict_requests and operation_id != UNKNOWN:
            # refused as the contract says: the upstream did its part, and the client was
            # told with a problem document (whose own conformance is judged below)
            for violation in violations:
                click.echo(f"proxy: refused ({status}): {violation.header_value()}", err=True)
            violations = []
        # the request's violations are reported with the status it got
        violations = [v if v.status is not None else replace(v, status=status) for v in violations]
        answer_headers = {k.lower(): v for k, v in response.headers.items()}
        whole = _judge_whole(answer_headers)
        content = b"".join([chunk async for chunk in response.aiter_raw()]) if whole else None
        violations.extend(
            self.check.check_response(method, path, response.status_code, answer_headers, content)
        )
        self.recorder.record(operation_id, violations)
        out = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in response.headers.multi_items()
            if k.lower() not in _HOP_BY_HOP
            and not (content is not None and k.lower() == "content-length")
        ]
        if content is not None:
            out.append((b"content-length", str(len(content)).encode()))
        out.extend(
            (VIOLATION_HEADER.encode(), v.header_value().encode("latin-1"))
            for v in violations[:_MAX_VIOLATION_HEADERS]
        )
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        if content is not None:
            await send({"type": "http.response.body", "body": content})
            return
        async for chunk in response.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


class _TeedBody:
    """A request body streamed to the upstream as it arrives, a copy of at most
    :data:`KEEP_BYTES` kept for judging."""

    def __init__(self, receive: Any, *, complete: bool) -> None:
        self._receive = receive
        self._kept = bytearray()
        self._over = False
        self._complete = complete

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            if chunk:
                if not self._over and len(self._kept) + len(chunk) <= KEEP_BYTES:
                    self._kept.extend(chunk)
                else:
                    self._over = True
                    self._kept.clear()
                yield chunk
            if not message.get("more_body"):
                self._complete = True
                return

    def judged(self) -> bytes | None:
        """The whole body, or None when it is not all here or was too large to keep."""
        return bytes(self._kept) if self._complete and not self._over else None


def _judge_whole(headers: dict[str, str]) -> bool:
    """Whether the answer is read whole (and judged) before it is passed on: JSON, or any
    body declared small enough, unless it is compressed (its bytes pass through as they are)."""
    if headers.get("content-encoding", "identity") != "identity":
        return False
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return True
    length = headers.get("content-length")
    return length is not None and length.isdigit() and int(length) <= KEEP_BYTES


async def _send_bad_gateway(send: Any, violations: list[Any]) -> None:
    from scanserve.http.contract_check import VIOLATION_HEADER

    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Bad Gateway",
            "status": 502,
            "detail": "scanserve proxy: the upstream gave no answer",
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        *((VIOLATION_HEADER.encode(), v.header_value().encode("latin-1")) for v in violations),
    ]
    await send({"type": "http.response.start", "status": 502, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def load_contract(spec: Path | None) -> Any:
    """The ContractCheck of ``spec`` (a file), or of the bundled contract."""
    from scanserve.http.contract_check import ContractCheck
    from scanserve.http.oas31_spec import load_spec

    if spec is None:
        from importlib.resources import files

        spec_file: Any = files("scanserve.spec") / "openapi.yaml"
        return ContractCheck(load_spec(str(spec_file)))
    try:
        return ContractCheck(load_spec(spec))
    except Exception as error:  # an unreadable or invalid document: one line, not a traceback
        raise click.ClickException(f"{spec}: not a contract scanserve can read: {error}") from None


@click.command()
@click.option(
    "--upstream",
    required=True,
    metavar="URL",
    help="The server to forward to, scheme://host:port (paths are forwarded as they come).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8010, show_default=True, type=int, help="0: any free port")
@click.option(
    "--ndjson",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write each violation to this file as a JSON line, as it is found.",
)
@click.option(
    "--junit-xml",
    type=click.Path(dir_okay=False, path_type=Path),
    help="At stop, write a JUnit XML report here: a test case per operation seen.",
)
@click.option(
    "--spec",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The contract to judge by (default: the one scanserve bundles).",
)
@click.option(
    "--strict-requests",
    is_flag=True,
    help="Count an invalid request as a violation even when the upstream refused it with a "
    "4xx (by default that is the contract at work, and only printed).",
)
def proxy(
    *,
    upstream: str,
    host: str,
    port: int,
    ndjson: Path | None,
    junit_xml: Path | None,
    spec: Path | None,
    strict_requests: bool,
) -> None:
    """Forward every request to URL and check both ways against the contract.

    Each answer carries an X-Scanserve-Violation header per violation found. Stop it with
    Ctrl-C or SIGTERM: it prints a table per operation and exits 1 if it found any.
    """
    import uvicorn

    from scanserve.cli.common import url_host
    from scanserve.infra.server import bind

    if not upstream.startswith(("http://", "https://")):
        raise click.UsageError(f"--upstream must be an http(s) URL, not {upstream!r}")
    check = load_contract(spec)
    if urlsplit(upstream).path.rstrip("/").endswith(check.base_path):
        # the Base URL that serve prints: every path would get the base path twice, a 404
        origin = upstream.rstrip("/").removesuffix(check.base_path)
        raise click.UsageError(
            f"--upstream is the server's origin, not its base URL: the proxy forwards "
            f"{check.base_path}/... as it comes (try --upstream {origin})"
        )
    try:
        sock = bind(host, port)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from None
    sock.listen(2048)  # connections made once the URL is printed wait for uvicorn to accept
    port = sock.getsockname()[1]
    shown_host = url_host(host)
    with ndjson.open("w", encoding="utf-8") if ndjson else nullcontext() as out:
        recorder = Recorder(out)
        app = ValidatingProxy(check, upstream, recorder, strict_requests=strict_requests)
        click.echo(f"scanserve proxy -> {upstream.rstrip('/')}")
        click.echo(f"Base URL: http://{shown_host}:{port}{check.base_path}")
        sys.stdout.flush()
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", server_header=False, date_header=False
        )
        # uvicorn raises the signal that stopped it again once it is done; these handlers take
        # it, so the summary below is printed and the exit code is this command's own.
        for each in (signal.SIGINT, signal.SIGTERM):
            signal.signal(each, lambda *_: None)
        uvicorn.Server(config).run(sockets=[sock])  # on uvloop and httptools where present
    click.echo(recorder.tally.table())
    click.echo(
        f"scanserve proxy: {recorder.exchanges} exchange(s), {recorder.violations} "
        f"violation(s) in {recorder.tally.failed} exchange(s)"
    )
    if junit_xml is not None:
        from scanserve.http.contract_check import junit_xml as junit_document

        junit_xml.write_bytes(junit_document({"scanserve proxy": recorder.tally}))
    sys.exit(1 if recorder.violations else 0)
