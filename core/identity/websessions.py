"""Browser sign-in: a ``sessionid`` cookie made from a credential the caller already holds.

``POST /auth/session``, authenticated with an API key or a bearer token (personal access
token or outside JWT), creates a server-side :class:`~scanserve.storage.models.WebSession`
and answers with the cookie (``HttpOnly``, ``SameSite=Lax``, ``Path`` the API's base path,
``Secure`` over HTTPS) and a CSRF token. The session acts as the credential did, expires after
``web_session_ttl_seconds`` or when the credential expires (whichever is first), and ends
when the credential is revoked (checked on every request) or on ``DELETE /auth/session``.

CSRF: the synchronizer-token pattern (OWASP CSRF Prevention Cheat Sheet). Under cookie
authentication every request with an unsafe method (anything but GET, HEAD, OPTIONS) must
carry ``X-CSRF-Token`` with the token returned at sign-in; the gateway compares its hash with
the session's and answers 403 otherwise. A page of another site can make the browser send
the cookie, but cannot read the token nor set a custom header on a cross-site request
without a CORS preflight, which this server never grants. ``SameSite=Lax`` is a second wall.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from scanserve.errors import Unauthorized
from scanserve.identity.auth import SESSION_COOKIE, Principal
from scanserve.identity.keys import hash_secret
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.storage.fields import utcnow

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class SignedIn:
    cookie: str
    csrf_token: str
    expires_at: datetime
    org_short_ids: list[str]
    scopes: list[str] | None


def sign_in(principal: Principal, settings: Settings) -> SignedIn:
    if principal.source is None:
        raise Unauthorized("Sign in with an API key or a bearer token.")
    now = utcnow()
    # Expired sessions are of no use to anyone; sign-in (rare) keeps the table small.
    models.WebSession.delete().where(models.WebSession.expires_at <= now).execute()
    expires_at = now + timedelta(seconds=settings.web_session_ttl_seconds)
    if principal.expires_at is not None:
        expires_at = min(expires_at, principal.expires_at)
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    kind, ref = principal.source
    fields: dict[str, object] = {}
    if kind == "api_key":
        fields["api_key"] = ref
    elif kind == "access_token":
        fields["access_token"] = ref
    else:  # an outside JWT: keep what it said, it cannot be looked up again
        fields["subject"] = principal.rate_key.removeprefix("jwt:")
        fields["org_short_ids"] = _short_ids(principal.org_ids)
        fields["scopes"] = sorted(principal.scopes or ())
    models.WebSession.create(
        session_hash=hash_secret(cookie),
        csrf_hash=hash_secret(csrf),
        expires_at=expires_at,
        **fields,
    )
    return SignedIn(
        cookie=cookie,
        csrf_token=csrf,
        expires_at=expires_at,
        org_short_ids=_short_ids(principal.org_ids),
        scopes=sorted(principal.scopes) if principal.scopes is not None else None,
    )


def sign_out(principal: Principal) -> None:
    if principal.web_session_id is not None:
        models.WebSession.delete().where(
            models.WebSession.id == principal.web_session_id
        ).execute()


def end_sessions_of(*, api_key_id: int | None = None, access_token_id: int | None = None) -> int:
    """Delete the browser sessions made from a key or token (on revocation)."""
    query = models.WebSession.delete()
    if api_key_id is not None:
        return int(query.where(models.WebSession.api_key == api_key_id).execute())
    if access_token_id is not None:
        return int(query.where(models.WebSession.access_token == access_token_id).execute())
    return 0


def csrf_ok(principal: Principal, sent: str | None) -> bool:
    if not sent or not principal.csrf_hash:
        return False
    return secrets.compare_digest(hash_secret(sent), principal.csrf_hash)


def set_cookie_header(value: str, max_age: int, *, secure: bool, path: str) -> str:
    parts = [f"{SESSION_COOKIE}={value}", f"Path={path}", f"Max-Age={max(0, max_age)}"]
    parts += ["HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def _short_ids(org_ids: frozenset[int]) -> list[str]:
    if not org_ids:
        return []
    return sorted(
        o.short_id
        for o in models.Organization.select(models.Organization.short_id).where(
            models.Organization.id.in_(list(org_ids))
        )
    )
