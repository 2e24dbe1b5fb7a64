"""API keys: ``<prefix>_<body>_<checksum>``.

``prefix`` is ``csb`` (business key: one organisation, server side), ``csu`` (user key) or
``cpk`` (publishable key: safe in a web page, lower default rate limit); ``body`` is 32 random
ASCII letters and digits; ``checksum`` is the unsigned CRC-32 of the body's UTF-8 bytes as 8
lowercase hex digits. The checksum lets us refuse typos and garbage without touching the
database. Only the SHA-256 of the whole key is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import zlib
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import idna

KeyKind = Literal["csb", "csu", "cpk"]
KEY_KINDS: tuple[KeyKind, ...] = ("csb", "csu", "cpk")
_BODY_ALPHABET = string.ascii_letters + string.digits
_KEY_RE = re.compile(r"^(csb|csu|cpk)_([A-Za-z0-9]{32})_([0-9a-f]{8})$")
# ApiKeyOrigin.origin
MAX_ORIGIN_LENGTH = 255
# a DNS name or IPv4 address (letters, digits, dots, hyphens), or an IPv6 address
_ORIGIN_HOST = re.compile(r"[a-z0-9.-]+|[0-9a-f:.]+")


@dataclass(frozen=True)
class ParsedKey:
    kind: KeyKind
    body: str
    raw: str

    @property
    def hint(self) -> str:
        return f"{self.kind}_{self.body[:6]}"


def checksum(body: str) -> str:
    return f"{zlib.crc32(body.encode('utf-8')) & 0xFFFFFFFF:08x}"


def generate_key(kind: KeyKind) -> str:
    if kind not in KEY_KINDS:
        raise ValueError(f"unknown key kind {kind!r}; expected one of {', '.join(KEY_KINDS)}")
    body = "".join(secrets.choice(_BODY_ALPHABET) for _ in range(32))
    return f"{kind}_{body}_{checksum(body)}"


def parse_key(raw: str) -> ParsedKey | None:
    """The key's parts, or None when its shape or checksum is wrong."""
    match = _KEY_RE.fullmatch(raw)
    if match is None:
        return None
    kind, body, check = match.groups()
    if not secrets.compare_digest(checksum(body), check):
        return None
    return ParsedKey(kind=kind, body=body, raw=raw)  # type: ignore[arg-type]


def hash_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _ascii_host(text: str, host: str) -> str:
    """``host`` as a browser writes it in ``Origin``: labels in Unicode converted by IDNA
    (UTS #46 mapping, then IDNA 2008: the ``idna`` package), ASCII ones as they are."""
    if host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"{text!r} has a host IDNA cannot write in ASCII ({exc})") from None


def normalize_origin(text: str) -> str:
    """A browser origin as browsers send it in ``Origin``: ``scheme://host[:port]``, scheme
    and host in lower case, an internationalised host in its ASCII form (``bücher.example``:
    ``xn--bcher-kva.example``), the scheme's default port left out. Raises ValueError for
    anything else (a path, a query, credentials, a scheme other than http and https, a host
    IDNA cannot write)."""
    parts = urlsplit(text.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"{text!r} is not an http(s) origin such as https://shop.example")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in text:
        raise ValueError(f"{text!r} has more than an origin (scheme://host[:port])")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{text!r} carries credentials; an origin has none")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{text!r} has an invalid port") from None
    host = _ascii_host(text, (parts.hostname or "").lower())
    if not host or not _ORIGIN_HOST.fullmatch(host):
        raise ValueError(f"{text!r} has no valid host")
    if ":" in host:  # IPv6, bracketed as in a URL
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[scheme]
    origin = f"{scheme}://{host}" + (f":{port}" if port not in (None, default) else "")
    if len(origin) > MAX_ORIGIN_LENGTH:
        raise ValueError(f"{text!r} is longer than {MAX_ORIGIN_LENGTH} characters")
    return origin
