"""The outermost middleware: authentication, rate limits, body size, and the headers that
every response carries, errors included.

It sits before Connexion's exception middleware (``MiddlewarePosition.BEFORE_EXCEPTION``) so
its headers reach every response, and answers its own refusals (401, 413, 429, and a last
resort 500) as problem+json itself. It leaves the authenticated :class:`~scanserve.auth.Principal`
in the ASGI scope for the security layer and the handlers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any

from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import API_KEY_HEADER, SESSION_COOKIE, Credentials, Principal, anonymous, authenticate
from .authcache import AuthCache
from .errors import (
    PROBLEM_CONTENT_TYPE,
    Forbidden,
    InternalError,
    PayloadTooLarge,
    RateLimited,
    ScanserveError,
    Unauthorized,
    problem_body,
)
from .websessions import CSRF_HEADER, SAFE_METHODS, csrf_ok

if TYPE_CHECKING:
    from .services import Services

logger = logging.getLogger("scanserve.gateway")

PRINCIPAL_KEY = "scanserve.principal"
SERVICES_KEY = "scanserve.services"
RATE_HEADERS_KEY = "scanserve.rate_headers"
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def _with_rate_headers(message: Message, rate_headers: list[tuple[bytes, bytes]]) -> Message:
    present = {name.lower() for name, _ in message.get("headers", [])}
    missing = [(k, v) for k, v in rate_headers if k not in present]
    if not missing:
        return message
    return {**message, "headers": [*message.get("headers", []), *missing]}


def _credentials(headers: Mapping[str, str]) -> Credentials:
    api_key = headers.get(API_KEY_HEADER)
    bearer = None
    auth = headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Only 'Authorization: Bearer <token>' is accepted.")
        bearer = token.strip()
    cookie_value = None
    if "cookie" in headers:
        try:
            jar: SimpleCookie = SimpleCookie(headers["cookie"])
        except CookieError:
            jar = SimpleCookie()
        if SESSION_COOKIE in jar:
            cookie_value = jar[SESSION_COOKIE].value
    return Credentials(api_key=api_key, bearer=bearer, session_cookie=cookie_value)


def _headers_of(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


async def send_problem(
    send: Send, error: ScanserveError, extra_headers: Mapping[str, str]
) -> None:
    body = json.dumps(problem_body(error)).encode()
    headers = {**error.headers, **extra_headers, "content-type": PROBLEM_CONTENT_TYPE}
    headers["content-length"] = str(len(body))
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it exceeds ``limit``."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body may be at most {limit} bytes.")


class GatewayMiddleware:
    def __init__(self, app: ASGIApp, services: Services):
        self.app = app
        self.services = services
        self.auth_cache = AuthCache(services.settings.auth_cache_seconds)
        # memory:// counters are a dict behind a lock: counting on the event loop costs less
        # than the thread hop; Redis counters are network round trips and go to a thread.
        self._limits_in_memory = services.settings.rate_limit_storage_url.startswith("memory:")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers_of(scope)
        principal, rate_headers, refusal = await self._admit(scope, headers)
        if refusal is not None:
            await send_problem(send, refusal, rate_headers)
            return

        scope[PRINCIPAL_KEY] = principal
        scope[SERVICES_KEY] = self.services
        limit = self._body_limit(scope, headers)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            # Connexion reads a body only when Content-Length says there is one; a chunked
            # body is read here, within the limit, and passed on with its length.
            body = await _read_body(receive, limit)
            if body is None:
                await send_problem(send, _too_large(limit), rate_headers)
                return
            scope["headers"] = [
                (k, v)
                for k, v in scope["headers"]
                if k.lower() not in (b"transfer-encoding", b"content-length")
            ] + [(b"content-length", str(len(body)).encode())]
            receive = _replay(body, receive)

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(limit)
            return message

        started = False
        encoded_rate_headers = [(k.lower().encode(), v.encode()) for k, v in rate_headers.items()]
        scope[RATE_HEADERS_KEY] = encoded_rate_headers

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = _with_rate_headers(message, encoded_rate_headers)
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except Exception as exc:  # the exception middleware handles errors; this is a last resort
            logger.exception("unhandled error outside the exception middleware")
            if started:
                raise
            error = exc if isinstance(exc, ScanserveError) else InternalError()
            await send_problem(send, error, rate_headers)

    async def _admit(
        self, scope: Scope, headers: Mapping[str, str]
    ) -> tuple[Principal, dict[str, str], ScanserveError | None]:
        """Who is calling, the rate-limit headers for them, and why not (or None)."""
        settings = self.services.settings
        client_host = (scope.get("client") or ("unknown", 0))[0]
        refusal: ScanserveError | None = None
        try:
            creds = _credentials(headers)
            cached = self.auth_cache.get(creds)
            if cached is None:
                checked_at = self.auth_cache.now()
                principal = await to_thread.run_sync(
                    authenticate, creds, client_host, settings, self.services.jwt_verifier
                )
                self.auth_cache.put(creds, principal, checked_at)
            else:
                principal = cached
        except Unauthorized as exc:
            refusal = exc
            principal = anonymous(client_host, settings)
        limiter = self.services.limiter
        if self._limits_in_memory:
            verdict = limiter.hit(principal.rate_key, principal.per_minute, principal.per_day)
        else:
            verdict = await to_thread.run_sync(
                limiter.hit, principal.rate_key, principal.per_minute, principal.per_day
            )
        if refusal is None and not verdict.allowed:
            refusal = RateLimited(verdict.retry_after)
        if (
            refusal is None
            and principal.via == "cookie"
            and scope["method"] not in SAFE_METHODS
            and not csrf_ok(principal, headers.get(CSRF_HEADER.lower()))
        ):
            # Cookie sessions need the CSRF token on unsafe methods (scanserve.websessions).
            refusal = Forbidden(
                f"A request signed in with the session cookie must send the {CSRF_HEADER} "
                "header with the token returned at sign-in."
            )
        if refusal is None:
            limit = self._body_limit(scope, headers)
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                refusal = _too_large(limit)
        return principal, verdict.headers, refusal

    def _body_limit(self, scope: Scope, headers: Mapping[str, Any]) -> int:
        settings = self.services.settings
        if headers.get("content-type", "").startswith("multipart/"):
            # the file may be max_upload_bytes; the form's other fields and part headers
            # get some room besides (the handlers hold the file itself to the limit)
            return settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES
        return settings.max_body_bytes


class RateHeadersMiddleware:
    """The innermost middleware: puts the gateway's rate-limit headers on handler responses
    before Connexion's response validation looks at them (the spec requires them). Responses
    made further out (errors) get them from the gateway itself."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rate_headers = scope.get(RATE_HEADERS_KEY)
        if scope["type"] != "http" or not rate_headers:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = _with_rate_headers(message, rate_headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class IgnoreBodyWithoutContract:
    """An operation whose contract has no request body ignores whatever body is sent.

    Connexion already does for JSON or url-encoded bodies, but parses a multipart one for
    every operation and fails on a broken one (400, which such operations do not declare).
    This innermost middleware, after routing, drops the body and its headers instead.
    """

    def __init__(self, app: ASGIApp, operations_with_body: frozenset[str]):
        self.app = app
        self.operations_with_body = operations_with_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get("connexion_routing", {})
        operation = routing.get("operation_id")
        if scope["type"] != "http" or operation is None or operation in self.operations_with_body:
            await self.app(scope, receive, send)
            return
        scope = {
            **scope,
            "headers": [
                (k, v)
                for k, v in scope["headers"]
                if k.lower() not in (b"content-type", b"content-length", b"transfer-encoding")
            ],
        }

        async def empty() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        await self.app(scope, empty, send)


class MostSpecificPath:
    """A request path answers only the methods of the contract's path that fits it best.

    ``/captures/upload-image`` (POST) also fits the template ``/captures/{id}`` (GET), and
    ``.../photos/reorder`` (POST) fits ``.../photos/{photo_id}`` (PATCH); routing would hand
    a GET of the first to ``getCapture``, whose id check then answers 422. OpenAPI matches
    concrete paths before templated ones, so any other method there is a 405, which the
    exception middleware renders (with ``Allow``) like every other.
    """

    def __init__(self, app: ASGIApp, paths: Any):
        self.app = app
        self.paths = paths  # scanserve.app.PathMethods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.paths.refuses(scope["path"], scope["method"]):
            from starlette.exceptions import HTTPException

            raise HTTPException(405)
        await self.app(scope, receive, send)
