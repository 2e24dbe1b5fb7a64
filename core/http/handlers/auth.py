"""Authentication operations: browser sign-in and sign-out (``scanserve.identity.websessions``)."""

from __future__ import annotations

from typing import Any

from connexion import request

from scanserve.http.context import principal, services
from scanserve.identity import websessions
from scanserve.storage.fields import utcnow


def _secure() -> bool:
    forced = services().settings.session_cookie_secure
    return forced if forced is not None else request.scope.get("scheme") == "https"


def sign_in() -> tuple[dict[str, Any], int, dict[str, str]]:
    settings = services().settings
    signed = websessions.sign_in(principal(), settings)
    max_age = int((signed.expires_at - utcnow()).total_seconds())
    cookie = websessions.set_cookie_header(
        signed.cookie, max_age, secure=_secure(), path=settings.base_path
    )
    body = {
        "csrf_token": signed.csrf_token,
        "expires": signed.expires_at.isoformat().replace("+00:00", "Z"),
        "organization_short_ids": signed.org_short_ids,
        "scopes": signed.scopes,
    }
    return body, 201, {"Set-Cookie": cookie, "Cache-Control": "no-store"}


def sign_out() -> tuple[None, int, dict[str, str]]:
    websessions.sign_out(principal())
    cookie = websessions.set_cookie_header(
        '""', 0, secure=_secure(), path=services().settings.base_path
    )
    return None, 204, {"Set-Cookie": cookie}
