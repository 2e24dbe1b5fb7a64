"""The outermost middleware: authentication, rate limits, body size, and the headers that
every response carries, errors included.

It sits before Connexion's exception middleware (``MiddlewarePosition.BEFORE_EXCEPTION``) so
its headers reach every response, and answers its own refusals (401, 413, 429, a 503 when the
credential or limits store is down, and a last resort 500) as problem+json itself. It finds
the request's operation in the contract's route table (:mod:`scanserve.http.routing`) once, and
leaves that match in the ASGI scope for the middlewares further in, beside the authenticated
:class:`~scanserve.identity.auth.Principal` for the security layer and the handlers. (Outside it,
:class:`scanserve.http.faults.LastResort` catches its own failures.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

import anyio
from anyio import to_thread
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scanserve.errors import (
    Forbidden,
    HeadersTooLarge,
    PayloadTooLarge,
    RateLimited,
    RequestTimeout,
    ScanserveError,
    Unauthorized,
    UnsupportedMediaType,
)
from scanserve.http import publishable
from scanserve.http.asgi_body import replaying, whole_body
from scanserve.http.asgi_keys import (
    PRINCIPAL_KEY,
    RATE_HEADERS_KEY,
    REQUEST_ID_KEY,
    SERVICES_KEY,
)
from scanserve.http.clients import client_address, networks
from scanserve.http.faults import DiskGuard, problem_for
from scanserve.http.innermost import with_rate_headers
from scanserve.http.problems import send_problem
from scanserve.http.routing import ROUTE_KEY, Route, RouteTable
from scanserve.identity.auth import (
    API_KEY_HEADER,
    SESSION_COOKIE,
    Credentials,
    Principal,
    anonymous,
    authenticate,
)
from scanserve.identity.authcache import AuthCache
from scanserve.identity.cookies import cookie_value
from scanserve.identity.websessions import CSRF_HEADER, SAFE_METHODS, csrf_ok
from scanserve.infra.ratelimit import RateLimiter, Verdict
from scanserve.settings import Settings

logger = logging.getLogger("scanserve.gateway")

MULTIPART_OVERHEAD_BYTES = 64 * 1024
# The liveness probe's operation: answered even when admission cannot be decided (the limits
# store or the credential store down), since it must depend on nothing outside the process.
LIVENESS = "getLiveness"
# Operations with an unsafe method that store nothing: not refused when the disk is full.
STORES_NOTHING = frozenset({"resolveUrl"})


class Edge(Protocol):
    """What the gateway uses of the process's services: the settings, the rate limiter and
    the JWT verifier (:class:`~scanserve.domain.services.Services` has them all; the mock
    server, :mod:`scanserve.http.mock`, has only these)."""

    settings: Settings
    limiter: RateLimiter
    jwt_verifier: Any


# Who a credential is: identity.auth.authenticate, or the mock's check of its shape alone.
Authenticator = Callable[[Credentials, str, Settings, Any], Principal]


def _credentials(headers: Mapping[str, str], raw: Sequence[tuple[bytes, bytes]]) -> Credentials:
    api_keys = [v for k, v in raw if k.lower() == b"x-api-key"]
    authorizations = [v for k, v in raw if k.lower() == b"authorization"]
    if len(api_keys) > 1 or len(authorizations) > 1 or (api_keys and authorizations):
        # Which credential a server picks from two is a guess, and a wrong guess acts for
        # the wrong organisation: refuse rather than guess.
        raise Unauthorized(
            "Ambiguous credentials: send one X-API-Key header or one Authorization header, "
            "not several."
        )
    api_key = headers.get(API_KEY_HEADER)
    bearer = None
    auth = headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Only 'Authorization: Bearer <token>' is accepted.")
        bearer = token.strip()
    session = None
    if api_key is None and bearer is None:
        # Read only when no other credential decides (and after the header size check), in
        # linear time: never by http.cookies (scanserve.identity.cookies).
        # HTTP/2 may split the cookies over several header fields (RFC 9113, 8.2.3).
        cookies = [v.decode("latin-1") for k, v in raw if k.lower() == b"cookie"]
        session = cookie_value("; ".join(cookies), SESSION_COOKIE)
    return Credentials(api_key=api_key, bearer=bearer, session_cookie=session)


def _one_api_key(raw: Sequence[tuple[bytes, bytes]]) -> bool:
    return sum(1 for k, _ in raw if k.lower() == b"x-api-key") == 1


def _headers_of(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it exceeds ``limit``."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()  # never pass a truncated body on as a whole one
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body may be at most {limit} bytes.")


def _media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").partition(";")[0].strip().lower()


def _lower_media_type(scope: Scope) -> None:
    """The ``Content-Type``'s media type in lower case, its parameters as sent. Media types
    are case-insensitive (RFC 9110, 8.3.1), but Connexion looks them up as sent: to it,
    ``Application/JSON`` had no schema to validate against, and the handler got the body's
    bytes."""
    headers = scope["headers"]
    found = False
    lowered = []
    for name, value in headers:
        if name.lower() == b"content-type":
            media_type, sep, params = value.partition(b";")
            found = found or media_type != media_type.lower()
            lowered.append((name, media_type.lower() + sep + params))
        else:
            lowered.append((name, value))
    if found:
        scope["headers"] = lowered


def _has_body(headers: Mapping[str, str]) -> bool:
    declared = headers.get("content-length", "").strip()
    return "chunked" in headers.get("transfer-encoding", "").lower() or (declared not in {"", "0"})


class GatewayMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        services: Edge,
        routes: RouteTable | None = None,
        authenticator: Authenticator | None = None,
    ):
        self.app = app
        self.services = services
        self.routes = routes or RouteTable([])
        self._authenticator = authenticator  # None: identity.auth.authenticate
        self.trusted_proxies = networks(services.settings.trusted_proxies)
        self._type_base = services.settings.problem_type_base
        self.auth_cache = AuthCache(services.settings.auth_cache_seconds)
        # memory:// counters are a dict behind a lock: counting on the event loop costs less
        # than the thread hop; Redis counters are network round trips and go to a thread.
        self._limits_in_memory = services.settings.rate_limit_storage_url.startswith("memory:")
        # liveness probes when the limits store cannot count them (see _admit_or_fail)
        self._liveness_limiter = RateLimiter("memory://")
        self._disk = DiskGuard(services.settings.data_dir, services.settings.min_free_disk_mb)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = self._header_problem(scope["headers"])
        if too_large is not None:  # first, before any header is read
            await self._refuse_head(scope, send, too_large)
            return
        headers = _headers_of(scope)
        found = self.routes.match(scope["method"], scope["path"])
        route = found.route
        principal, rate_headers, refusal = await self._admit_or_fail(scope, headers, route)
        # a publishable key's allowed browser origin gets CORS answers (scanserve.http.publishable)
        encoded_cors = await self._cors_unless_answered(
            scope, headers, send, principal, refusal=refusal, rate_headers=rate_headers
        )
        if encoded_cors is None:
            return

        scope[PRINCIPAL_KEY] = principal
        scope[SERVICES_KEY] = self.services
        scope[ROUTE_KEY] = found  # matched once: MostSpecificPath and the fast path read it
        _lower_media_type(scope)
        limit = self._body_limit(headers, route)
        receive = self._timed(receive, self.services.settings.body_timeout_seconds)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            replay = await self._read_chunked(scope, receive, send, limit, rate_headers)
            if replay is None:
                return
            receive = replay

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
        encoded_rate_headers = _encoded(rate_headers, scope.get(REQUEST_ID_KEY))
        scope[RATE_HEADERS_KEY] = encoded_rate_headers

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = _relative_redirect(with_rate_headers(message, encoded_rate_headers))
                message = _without_content_type(publishable.with_cors(message, encoded_cors))
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except ClientDisconnect:
            logger.info("client left before sending the whole body")
        except Exception as exc:  # the exception middleware handles errors; this is a last resort
            if started:
                logger.exception("unhandled error outside the exception middleware")
                raise
            error = problem_for(exc)  # logs a bug's traceback; an outage once
            await send_problem(send, error, rate_headers, type_base=self._type_base)

    def _authenticate(self) -> Authenticator:
        # looked up on each call: a test replaces the module's authenticate
        return self._authenticator or authenticate

    async def _admit_or_fail(
        self, scope: Scope, headers: Mapping[str, str], route: Route | None
    ) -> tuple[Principal, dict[str, str], ScanserveError | None]:
        """:meth:`_admit`, and when it cannot decide (the credential store or the limits
        store is down), the refusal that says so; the liveness probe, which must depend on
        nothing outside the process, is let through uncounted instead."""
        try:
            return await self._admit(scope, headers, route)
        except Exception as exc:
            anon = anonymous((scope.get("client") or ("unknown", 0))[0], self.services.settings)
            if route is None or route.operation_id != LIVENESS:
                return anon, {}, problem_for(exc)
            # counted in this process instead, as the address's anonymous budget
            logger.debug("liveness admitted in process: %r", exc)
            verdict = self._liveness_limiter.hit(anon.rate_key, anon.per_minute, anon.per_day)
            refusal = None if verdict.allowed else RateLimited(verdict.retry_after)
            return anon, verdict.headers, refusal

    async def _cors_unless_answered(
        self,
        scope: Scope,
        headers: Mapping[str, str],
        send: Send,
        principal: Principal,
        *,
        refusal: ScanserveError | None,
        rate_headers: Mapping[str, str],
    ) -> list[tuple[bytes, bytes]] | None:
        """The CORS headers the caller's answers carry (a publishable key from one of its
        allowed origins: :mod:`scanserve.http.publishable`), or None when the gateway has
        answered itself: a refusal, or a CORS preflight."""
        cors = publishable.cors_headers(principal, headers)
        if refusal is not None:
            await send_problem(send, refusal, {**rate_headers, **cors}, type_base=self._type_base)
            return None
        if publishable.is_preflight(scope["method"], headers) and await publishable.preflight(
            self.routes, scope, headers, rate_headers, send, type_base=self._type_base
        ):
            return None
        return [(k.lower().encode(), v.encode()) for k, v in cors.items()]

    async def _refuse_head(self, scope: Scope, send: Send, error: ScanserveError) -> None:
        peer = anonymous((scope.get("client") or ("unknown", 0))[0], self.services.settings)
        try:
            verdict = await to_thread.run_sync(
                self.services.limiter.hit, peer.rate_key, peer.per_minute, peer.per_day
            )
        except Exception as exc:  # the limits store is down: answer that
            error = problem_for(exc)
            rate_headers: Mapping[str, str] = {}
        else:
            rate_headers = verdict.headers
        await send_problem(send, error, rate_headers, type_base=self._type_base)

    async def _read_chunked(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        limit: int,
        rate_headers: Mapping[str, str],
    ) -> Receive | None:
        """Connexion reads a body only when Content-Length says there is one; a chunked body
        is read here, within the limit, and passed on with its length. None: answered (or
        the client left)."""
        try:
            body = await _read_body(receive, limit)
        except ClientDisconnect:
            logger.info("client left before sending the whole body")
            return None
        except RequestTimeout as exc:
            await send_problem(send, exc, rate_headers, type_base=self._type_base)
            return None
        if body is None:
            await send_problem(send, _too_large(limit), rate_headers, type_base=self._type_base)
            return None
        scope["headers"] = [
            (k, v)
            for k, v in scope["headers"]
            if k.lower() not in (b"transfer-encoding", b"content-length")
        ] + [(b"content-length", str(len(body)).encode())]
        return replaying(receive, [whole_body(body)])

    def _timed(self, receive: Receive, seconds: float) -> Receive:
        """``receive`` with one deadline for the whole body: a client that sends it slowly
        (or not at all) is answered ``408`` when it runs out, not waited for. Once the body is
        complete, waiting (for a disconnect) is not bounded."""
        deadline = time.monotonic() + seconds
        body_done = False

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                with anyio.fail_after(max(0.0, deadline - time.monotonic())):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(
                    f"The request body did not arrive within {seconds:g} seconds."
                ) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            return message

        return timed_receive

    async def _admit(
        self, scope: Scope, headers: Mapping[str, str], route: Route | None
    ) -> tuple[Principal, dict[str, str], ScanserveError | None]:
        """Who is calling, the rate-limit headers for them, and why not (or None).

        The headers are within their limits (checked first, in ``__call__``). A refused
        credential counts against the address's budget of failed credentials (``429`` once
        spent), an accepted one against its own budget.
        """
        settings = self.services.settings
        limiter = self.services.limiter
        peer = (scope.get("client") or ("unknown", 0))[0]
        client_host = client_address(peer, scope["headers"], self.trusted_proxies)
        # A credential is always checked: refusing good keys because others failed from the
        # same (shared, NATed) address would let anyone there lock everyone out. Failures
        # count against their own budget, never the address's anonymous one.
        failed_key = f"authfail:{client_host}"
        failed_budget = (settings.failed_auth_per_minute, settings.failed_auth_per_day)

        def identify() -> tuple[Credentials, Principal]:  # header parsing off the loop too
            creds = _credentials(headers, scope["headers"])
            principal = self._authenticate()(
                creds, client_host, settings, self.services.jwt_verifier
            )
            return creds, principal

        async def hit(key: str, per_minute: int, per_day: int) -> Verdict:
            if self._limits_in_memory:
                return limiter.hit(key, per_minute, per_day)
            return await to_thread.run_sync(limiter.hit, key, per_minute, per_day)

        try:
            # An API key checked within auth_cache_seconds answers from memory, with no thread hop
            # and no query (scanserve.identity.authcache): when it is the request's one credential
            # header, the credentials _credentials would make are exactly these.
            cached: Principal | None = None
            if "authorization" not in headers and _one_api_key(scope["headers"]):
                cached = self.auth_cache.get(Credentials(api_key=headers[API_KEY_HEADER]))
            if cached is None:
                checked_at = self.auth_cache.now()
                creds, principal = await to_thread.run_sync(identify)
                self.auth_cache.put(creds, principal, checked_at)
            else:
                principal = cached
        except Unauthorized as exc:
            anon = anonymous(client_host, settings)  # only a refused credential needs it
            if route is not None and route.public_read:
                # A public read ignores a credential that fails (a proxy's Basic, a revoked
                # key); a valid API key beside it still counts.
                principal = await self._lenient(headers, client_host, anon)
            else:
                verdict = await hit(failed_key, *failed_budget)
                if not verdict.allowed:
                    return anon, verdict.headers, self._failed_auth_refusal(verdict.retry_after)
                return anon, verdict.headers, exc
        verdict = await hit(principal.rate_key, principal.per_minute, principal.per_day)
        if not verdict.allowed:
            return principal, verdict.headers, RateLimited(verdict.retry_after)
        scope_refusal = publishable.refusal(principal, route, headers)
        if scope_refusal is not None:  # a publishable key outside its scope or origins
            return principal, verdict.headers, scope_refusal
        if (
            principal.via == "cookie"
            and scope["method"] not in SAFE_METHODS
            and not csrf_ok(principal, headers.get(CSRF_HEADER.lower()))
        ):
            # Cookie sessions need the CSRF token on unsafe methods
            # (scanserve.identity.websessions).
            return (
                principal,
                verdict.headers,
                Forbidden(
                    f"A request signed in with the session cookie must send the {CSRF_HEADER} "
                    "header with the token returned at sign-in."
                ),
            )
        problem = self._body_problem(headers, route)
        if (
            problem is None
            and scope["method"] not in SAFE_METHODS
            and (route is None or route.operation_id not in STORES_NOTHING)
        ):
            problem = self._disk.refusal()  # writes only: reads go on with a full disk
        return principal, verdict.headers, problem

    async def _lenient(
        self, headers: Mapping[str, str], client_host: str, anon: Principal
    ) -> Principal:
        """A public read's caller: the API key alone if it is valid, else anonymous."""
        api_key = headers.get(API_KEY_HEADER)
        if api_key is not None:
            try:
                return await to_thread.run_sync(
                    self._authenticate(),
                    Credentials(api_key=api_key),
                    client_host,
                    self.services.settings,
                    None,
                )
            except Unauthorized:
                pass
        return anon

    @staticmethod
    def _failed_auth_refusal(retry_after: int) -> RateLimited:
        return RateLimited(
            retry_after,
            "Too many requests with failed credentials from this address; "
            "wait before trying again.",
        )

    def _header_problem(self, raw: Sequence[tuple[bytes, bytes]]) -> HeadersTooLarge | None:
        settings = self.services.settings
        if len(raw) > settings.max_header_count:
            return HeadersTooLarge(
                f"A request may carry at most {settings.max_header_count} header fields."
            )
        if sum(len(k) + len(v) for k, v in raw) > settings.max_header_bytes:
            return HeadersTooLarge(
                f"The request's header fields may hold at most {settings.max_header_bytes} "
                "bytes in all."
            )
        return None

    def _body_problem(
        self, headers: Mapping[str, str], route: Route | None
    ) -> ScanserveError | None:
        """Refusals decided by the headers alone, before a byte of the body is read."""
        if route is not None and route.media_types and _has_body(headers):
            media_type = _media_type(headers)
            accepted = ", ".join(sorted(route.media_types))
            if not media_type:
                return UnsupportedMediaType(
                    f"The request body has no Content-Type; send {accepted}."
                )
            if media_type.startswith("multipart/") and media_type not in route.media_types:
                return UnsupportedMediaType(
                    f"Content-Type {media_type!r} is not accepted here; send {accepted}."
                )
        limit = self._body_limit(headers, route)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return _too_large(limit)
        return None

    def _body_limit(self, headers: Mapping[str, Any], route: Route | None) -> int:
        """The upload limit for a multipart body to an operation that takes one (the image
        upload); the body limit for everything else."""
        settings = self.services.settings
        media_type = _media_type(headers)
        multipart = media_type.startswith("multipart/")
        if multipart and route is not None and media_type in route.media_types:
            # the file may be max_upload_bytes; the form's other fields and part headers
            # get some room besides (the handlers hold the file itself to the limit)
            return settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES
        return settings.max_body_bytes


def _encoded(
    rate_headers: Mapping[str, str], request_id: bytes | None
) -> list[tuple[bytes, bytes]]:
    """The headers of every answer that passes the gateway: the rate-limit headers and the
    request id, put on the handler's answer before Connexion's response validation sees it
    (the contract requires them; scanserve.http.observe puts the id on the others)."""
    encoded = [(k.lower().encode(), v.encode()) for k, v in rate_headers.items()]
    if request_id is not None:
        encoded.append((b"x-request-id", request_id))
    return encoded


def _without_content_type(message: Message) -> Message:
    """A ``204 No Content`` (or ``304``) without ``Content-Type``: it has no content to type.
    Connexion types every body-less answer with its operation's one declared media type,
    which for these operations is that of their error answers (``application/problem+json``),
    on the full stack and the fast path alike."""
    if message.get("status") not in (204, 304):
        return message
    headers = message.get("headers", [])
    kept = [(k, v) for k, v in headers if k.lower() != b"content-type"]
    return message if len(kept) == len(headers) else {**message, "headers": kept}


def _relative_redirect(message: Message) -> Message:
    """A redirect's ``Location`` without scheme and host: Starlette builds them from the
    request's ``Host`` header, which the client chose (``Host: evil.example``)."""
    if not 300 <= message.get("status", 0) < 400:
        return message
    headers = []
    for name, value in message.get("headers", []):
        parts = urlsplit(value.decode("latin-1")) if name.lower() == b"location" else None
        if parts is not None and (parts.scheme or parts.netloc):
            relative = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            headers.append((name, relative.encode("latin-1")))
        else:
            headers.append((name, value))
    return {**message, "headers": headers}
