"""Publishable (``cpk``) keys at the edge: their scope, their browser origins, and CORS.

A publishable key is made to sit in a web page, where anyone can read it, so it may do only
what a scanning page needs. Which operations those are is the contract's to say: an
operation is in the publishable scope when its ``security`` lists a scheme that takes ``cpk``
keys (``PublishableKeyAuth``; :attr:`scanserve.http.routing.Route.publishable`). The gateway
refuses every other operation here, from the route table, before anything else runs (the
fast path and the full stack alike, and Connexion's security handlers check the same rule
again, :mod:`scanserve.http.security`). Operations that need no credential (``{}`` in their
``security``: the health probes, the storage upload target) stay open to anyone.

A publishable key may list the browser origins it is allowed from (``scanserve keys create
--kind cpk --allowed-origin https://shop.example``). With a list, a request whose ``Origin``
is not in it is refused, and requests from a listed origin get CORS answers: the origin
echoed in ``Access-Control-Allow-Origin``, ``Vary: Origin``, and preflight ``OPTIONS``
requests answered with the methods of the path's publishable operations and the headers a
page sends. Nothing else ever gets a CORS answer: a key without a list (and every business
key, token and browser session) is usable from pages of the server's own origin only, as
browsers enforce by themselves. A request without ``Origin`` (not from a browser page) is
not refused: an origin list protects the key in browsers, and anything else can send any
``Origin`` it likes.
"""

from __future__ import annotations

from collections.abc import Mapping

from anyio import to_thread
from starlette.types import Message, Scope, Send

from scanserve.errors import OutsidePublishableScope
from scanserve.http.faults import problem_for
from scanserve.http.problems import send_problem
from scanserve.http.routing import Route, RouteTable
from scanserve.identity.auth import Principal, origin_allowed_for_some_key

# What a scanning page sends besides the CORS-safelisted headers.
ALLOWED_HEADERS = "X-API-Key, Idempotency-Key, Content-Type"
# What a page may read of an answer besides the CORS-safelisted headers.
EXPOSED_HEADERS = (
    "RateLimit-Policy, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, "
    "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, "
    "Idempotent-Replayed"
)
PREFLIGHT_MAX_AGE_SECONDS = 600
_PLANNED = ("GET", "POST", "PATCH", "PUT", "DELETE")


def refusal(
    principal: Principal, route: Route | None, headers: Mapping[str, str]
) -> OutsidePublishableScope | None:
    """Why a publishable key may not make this request (None: it may, or the caller holds no
    publishable key). An unknown path or method is left to the 404 and 405 answers."""
    if not principal.publishable:
        return None
    origin = headers.get("origin")
    allowed = principal.allowed_origins
    if allowed and origin is not None and origin not in allowed:
        return OutsidePublishableScope(
            f"The publishable key is not allowed from the browser origin {origin!r}; the "
            "key's owner lists the origins it may be used from."
        )
    if route is None or route.public:
        return None
    if principal.via != "api_key":
        return OutsidePublishableScope(
            "A browser session signed in with a publishable key (cpk) may not make requests; "
            "send the key itself in X-API-Key."
        )
    if not route.publishable:
        return OutsidePublishableScope(
            f"The credential is a publishable key (cpk), and {route.operation_id} is outside "
            "its scope: a publishable key may only create sessions, add captures to them, "
            "read them and their captures, and read freshness thresholds."
        )
    return None


def cors_headers(principal: Principal, headers: Mapping[str, str]) -> dict[str, str]:
    """The CORS headers of an answer to this caller: only for a publishable key with
    allowed origins, from one of them."""
    origin = headers.get("origin")
    if origin is None or origin not in principal.allowed_origins:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
        "Vary": "Origin",
    }


def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
    return (
        method == "OPTIONS"
        and "origin" in headers
        and ("access-control-request-method" in headers)
    )


def preflight_methods(routes: RouteTable, path: str) -> list[str]:
    """The methods of the path's operations in the publishable scope, as the route table
    picks them (a method a more specific path refuses is not one)."""
    methods = []
    for method in _PLANNED:
        found = routes.match(method, path)
        if found.route is not None and not found.refused and found.route.publishable:
            methods.append(method)
    return methods


def with_cors(message: Message, cors: list[tuple[bytes, bytes]]) -> Message:
    """A response start with the CORS headers, ``Origin`` added to any ``Vary`` it has."""
    if not cors:
        return message
    headers = list(message.get("headers", []))
    present = {name.lower() for name, _ in headers}
    for name, value in cors:
        if name == b"vary" and name in present:
            headers = [(k, v + b", " + value if k.lower() == b"vary" else v) for k, v in headers]
        elif name not in present:
            headers.append((name, value))
    return {**message, "headers": headers}


async def preflight(
    routes: RouteTable,
    scope: Scope,
    headers: Mapping[str, str],
    rate_headers: Mapping[str, str],
    send: Send,
    *,
    type_base: str,
) -> bool:
    """Answer a CORS preflight for an origin some live publishable key is allowed from, on
    a path with operations in the publishable scope (True: answered). Any other preflight
    goes on as any ``OPTIONS`` request does, and gets no CORS headers."""
    methods = preflight_methods(routes, scope["path"])
    if not methods:
        return False
    origin = headers["origin"]
    try:
        allowed = await to_thread.run_sync(origin_allowed_for_some_key, origin)
    except Exception as exc:  # the database is down: say so
        await send_problem(send, problem_for(exc), rate_headers, type_base=type_base)
        return True
    if not allowed:
        return False
    answer = {**rate_headers, **preflight_headers(origin, methods)}
    await send(
        {
            "type": "http.response.start",
            "status": 204,
            "headers": [(k.lower().encode(), v.encode()) for k, v in answer.items()],
        }
    )
    await send({"type": "http.response.body", "body": b""})
    return True


def preflight_headers(origin: str, methods: list[str]) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": ", ".join(methods),
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
        "Vary": "Origin",
    }
