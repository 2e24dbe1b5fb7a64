"""Authentication operations: browser sign-in and sign-out (``scanserve.identity.websessions``)."""

from __future__ import annotations

from connexion import request

from scanserve.generated import shapes
from scanserve.http import presenters
from scanserve.http.context import principal, services
from scanserve.identity import websessions
from scanserve.storage.fields import utcnow


def _secure() -> bool:
    forced = services().settings.session_cookie_secure
    return forced if forced is not None else request.scope.get("scheme") == "https"


def sign_in() -> tuple[shapes.WebSession, int, dict[str, str]]:
    settings = services().settings
    signed = websessions.sign_in(principal(), settings)
    max_age = int((signed.expires_at - utcnow()).total_seconds())
    cookie = websessions.set_cookie_header(
        signed.cookie, max_age, secure=_secure(), path=settings.base_path
    )
    headers = {"Set-Cookie": cookie, "Cache-Control": "no-store"}
    return presenters.web_session_view(signed), 201, headers


def sign_out() -> tuple[None, int, dict[str, str]]:
    websessions.sign_out(principal())
    cookie = websessions.set_cookie_header(
        '""', 0, secure=_secure(), path=services().settings.base_path
    )
    return None, 204, {"Set-Cookie": cookie}
