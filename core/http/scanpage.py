"""``/scan/``: the public scanning page, served by scanserve itself.

Its files ship in the package (``scanserve/scan_page``: the page, its script and stylesheet,
and the vendored ZXing WebAssembly decoder), read once when the app is built. The page needs
a publishable key to call the API: ``scan_page_key`` (``SCANSERVE_SCAN_PAGE_KEY``), else the
one ``scanserve scan-page --key`` kept in ``<data_dir>/scan-page-key`` (read at each request
for the page, so setting it needs no restart). Without one the page says it is not
configured (``503``). Only a ``cpk_`` key is ever put in the page.

The page is no operation of the contract (like ``/`` and the reference page): it sits
inside the gateway, so header limits and the anonymous rate limit apply to it, and answers
its own refusals (``404``, ``405``) as problem documents. Every answer carries a
Content-Security-Policy without ``'unsafe-inline'`` (the page has no inline script or
style; ``'wasm-unsafe-eval'`` lets the decoder compile its WebAssembly), ``nosniff`` and a
referrer policy.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import html
import logging
import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from anyio import to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from scanserve.errors import MethodNotAllowed, NotFound
from scanserve.http.problems import send_problem
from scanserve.settings import PUBLISHABLE_KEY_PATTERN, Settings

logger = logging.getLogger("scanserve.scanpage")

PAGE = "/scan/"
BARE = PAGE.rstrip("/")  # redirected to PAGE
#: The file in the data directory where ``scanserve scan-page --key`` keeps the page's key.
KEY_FILE = "scan-page-key"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self'",
        "media-src 'self' mediastream: blob:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()"),
)
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".wasm": "application/wasm",
    ".svg": "image/svg+xml",
}
HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: bytes
    #: the body gzipped, for a client that accepts it (None: not worth it)
    gzipped: bytes | None = None

    @property
    def gzip_etag(self) -> bytes:
        return self.etag[:-1] + b'-gzip"'


def _asset(body: bytes, media_type: str, *, compress: bool = False) -> Asset:
    etag = b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
    gzipped = gzip.compress(body, compresslevel=6, mtime=0) if compress else None
    if gzipped is not None and len(gzipped) > len(body) * 0.9:
        gzipped = None
    return Asset(body, media_type, etag, gzipped)


def _walk(folder: Traversable, prefix: str = "") -> dict[str, Asset]:
    found: dict[str, Asset] = {}
    for entry in folder.iterdir():
        if entry.is_dir():
            found.update(_walk(entry, f"{prefix}{entry.name}/"))
            continue
        media_type = MEDIA_TYPES.get(Path(entry.name).suffix)
        if media_type is not None:  # the page's template and the licences are not served
            found[prefix + entry.name] = _asset(entry.read_bytes(), media_type, compress=True)
    return found


@functools.lru_cache(maxsize=1)
def _shipped() -> tuple[dict[str, Asset], str, Asset]:
    """The page's files, read (and gzipped: the decoder's WebAssembly goes from 946 kB to
    about 410 kB) once a process: package data never changes while it runs, and every app
    a process builds (each test's) shares them."""
    folder = files("scanserve") / "scan_page"
    unconfigured = _asset((folder / "unconfigured.html").read_bytes(), HTML)
    return _walk(folder), (folder / "index.html").read_text(encoding="utf-8"), unconfigured


def _accepts_gzip(scope: Scope) -> bool:
    accepted = b",".join(v for k, v in scope["headers"] if k.lower() == b"accept-encoding")
    for coding in accepted.decode("latin-1").lower().split(","):
        name, _, params = coding.partition(";")
        if name.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def page_key(settings: Settings) -> str:
    """The publishable key the page is configured with, or ``""``: the setting, else the key
    file of the data directory. A file that holds anything but a ``cpk_`` key counts as
    none (and is logged), so that no other kind of key can reach the page."""
    if settings.scan_page_key:
        return settings.scan_page_key
    try:
        kept = (settings.data_dir / KEY_FILE).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        logger.warning("the scanning page's key file cannot be read: %s", exc)
        return ""
    if not re.fullmatch(PUBLISHABLE_KEY_PATTERN, kept):
        logger.warning(
            "%s holds no publishable key (cpk_...): the scanning page is not configured",
            settings.data_dir / KEY_FILE,
        )
        return ""
    return kept


class ScanPageMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.settings = settings
        self.assets, self.template, self.unconfigured = _shipped()

    def page(self, key: str) -> Asset:
        filled = self.template.replace(
            "{{API_BASE}}", html.escape(self.settings.base_path.rstrip("/"))
        ).replace("{{KEY}}", html.escape(key))
        return _asset(filled.encode(), HTML)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")  # on every request: kept to a lookup and two compares
        if (path != BARE and not path.startswith(PAGE)) or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        type_base = self.settings.problem_type_base
        if scope["method"] not in ("GET", "HEAD"):
            error = MethodNotAllowed("The scanning page answers GET and HEAD only.")
            error.headers["Allow"] = "GET, HEAD"
            await send_problem(send, error, {}, type_base=type_base)
            return
        if path == BARE:
            headers = [*SECURITY_HEADERS, (b"location", PAGE.encode()), (b"content-length", b"0")]
            await self._send(scope, send, 308, headers, b"")
            return
        name = path[len(PAGE) :]
        status = 200
        if name in ("", "index.html"):
            key = await to_thread.run_sync(page_key, self.settings)
            asset = self.page(key) if key else self.unconfigured
            status = 200 if key else 503
        elif name in self.assets:
            asset = self.assets[name]
        else:
            await send_problem(
                send, NotFound("The scanning page has no such file."), {}, type_base=type_base
            )
            return
        body, etag = asset.body, asset.etag
        headers = [*SECURITY_HEADERS, (b"cache-control", b"no-cache")]  # revalidated
        if asset.gzipped is not None:
            headers.append((b"vary", b"Accept-Encoding"))
            if _accepts_gzip(scope):
                body, etag = asset.gzipped, asset.gzip_etag
                headers.append((b"content-encoding", b"gzip"))
        headers.append((b"etag", etag))
        if status == 200 and dict(scope["headers"]).get(b"if-none-match") == etag:
            await self._send(scope, send, 304, headers, b"")
            return
        headers.append((b"content-type", asset.media_type.encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        await self._send(scope, send, status, headers, body)

    @staticmethod
    async def _send(
        scope: Scope, send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )
