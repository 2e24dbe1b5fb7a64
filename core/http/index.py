"""``/`` and the API's base path: where to go from here.

A browser (``Accept: text/html``) is redirected to the interactive API reference; anything
else gets a small JSON document of links (the reference, the contract, the health probes).
These two paths are not operations of the contract, like the reference page itself, whose
answers this middleware sends with headers that keep other sites from framing it
(:data:`REFERENCE_HEADERS`).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scanserve import __version__

# What the reference page (Swagger UI, under ``<base>/ui/``) is sent with: no other site may
# frame it (it holds the Authorize dialog and runs requests with the visitor's session, so
# a framing page could steer clicks onto "Execute"), no type sniffing, no referrer. Its own
# inline start-up script keeps it from a script policy; its files may still be loaded from
# elsewhere (an embedding harness, say), so no resource policy either.
REFERENCE_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


class IndexMiddleware:
    def __init__(self, app: ASGIApp, base_path: str):
        self.app = app
        self.base = base_path.rstrip("/")
        self.paths = {"/", "", self.base, self.base + "/"}
        self.reference = self.base + "/ui"

    def links(self) -> dict[str, object]:
        return {
            "name": "scanserve",
            "version": __version__,
            "api": self.base + "/",
            "reference": self.base + "/ui/",
            "openapi": self.base + "/openapi.json",
            "health": {"live": self.base + "/health/live", "ready": self.base + "/health/ready"},
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.reference):

            async def with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = [*message.get("headers", ()), *REFERENCE_HEADERS]
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, with_headers)
            return
        if (
            scope["type"] != "http"
            or scope["path"] not in self.paths
            or scope["method"] not in ("GET", "HEAD")
        ):
            await self.app(scope, receive, send)
            return
        accept = dict(scope["headers"]).get(b"accept", b"").decode("latin-1")
        if "text/html" in accept:
            status, body = 307, b""
            headers = [(b"location", (self.base + "/ui/").encode()), (b"content-length", b"0")]
        else:
            status, body = 200, json.dumps(self.links()).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )
