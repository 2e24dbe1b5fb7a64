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

KeyKind = Literal["csb", "csu", "cpk"]
KEY_KINDS: tuple[KeyKind, ...] = ("csb", "csu", "cpk")
_BODY_ALPHABET = string.ascii_letters + string.digits
_KEY_RE = re.compile(r"^(csb|csu|cpk)_([A-Za-z0-9]{32})_([0-9a-f]{8})$")


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
