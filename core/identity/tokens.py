"""Personal access tokens and scopes.

A personal access token is ``cst_<body>_<checksum>``, shaped like an API key (``body``: 32
random ASCII letters and digits; ``checksum``: CRC-32 of the body, 8 lowercase hex digits),
so a typo or a stray string is refused before any database lookup, and a secret scanner can
recognise a leaked one. It is sent as ``Authorization: Bearer cst_...``, belongs to a user
(optionally limited to one of their organisations), is stored as a SHA-256 hash, expires, and
can be revoked.

Scopes (for tokens and outside JWTs; API keys hold every scope):

``scanner:read``
    every ``GET`` operation that reads data.
``scanner:write``
    every operation that creates, changes or starts work (``POST``, ``PATCH``, ``DELETE``),
    and ``GET /sessions/{session_id}/presigned-upload-url``, which lets its holder upload.
"""

from __future__ import annotations

import re
import secrets
import string

from scanserve.identity.keys import checksum

SCOPE_READ = "scanner:read"
SCOPE_WRITE = "scanner:write"
SCOPES: tuple[str, ...] = (SCOPE_READ, SCOPE_WRITE)

TOKEN_PREFIX = "cst"  # noqa: S105 - a public prefix, not a secret
_BODY_ALPHABET = string.ascii_letters + string.digits
_TOKEN_RE = re.compile(r"^cst_([A-Za-z0-9]{32})_([0-9a-f]{8})$")


def generate_token() -> str:
    body = "".join(secrets.choice(_BODY_ALPHABET) for _ in range(32))
    return f"{TOKEN_PREFIX}_{body}_{checksum(body)}"


def looks_like_token(raw: str) -> bool:
    """Has the token prefix: the caller meant a personal access token (not a JWT)."""
    return raw.startswith(TOKEN_PREFIX + "_")


def is_well_formed(raw: str) -> bool:
    """Shape and checksum are right (says nothing about whether the token exists)."""
    match = _TOKEN_RE.fullmatch(raw)
    return match is not None and secrets.compare_digest(checksum(match.group(1)), match.group(2))


def hint(raw: str) -> str:
    return raw[:10]


def parse_scopes(value: object) -> frozenset[str]:
    """Scopes from a claim or a column: a space-separated string or a list of strings."""
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list | tuple):
        return frozenset(s for s in value if isinstance(s, str))
    return frozenset()
