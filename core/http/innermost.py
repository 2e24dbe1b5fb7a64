"""The innermost middlewares, after routing, around the handler: the rate-limit headers the
gateway decided put on handler responses, and the body of an operation without one dropped.

The fast path (:mod:`scanserve.http.fastpath`) does the same two things inline.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scanserve.http.asgi_keys import RATE_HEADERS_KEY


def with_rate_headers(message: Message, rate_headers: list[tuple[bytes, bytes]]) -> Message:
    """The message with those of ``rate_headers`` it does not carry yet."""
    present = {name.lower() for name, _ in message.get("headers", [])}
    missing = [(k, v) for k, v in rate_headers if k not in present]
    if not missing:
        return message
    return {**message, "headers": [*message.get("headers", []), *missing]}


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
                message = with_rate_headers(message, rate_headers)
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
