"""Who is calling: credentials to a :class:`Principal`.

The gateway middleware authenticates once per request (``authenticate``), before routing, so
that rate limits and their headers apply to every response, errors included. Connexion's
security layer then only checks that the operation's schemes admit the principal (see
``scanserve.security``). A credential that is present but wrong is refused with 401 even on
operations that allow anonymous calls: a client with a broken key should learn it.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from .errors import Unauthorized
from .keys import hash_secret, parse_key
from .settings import Settings
from .storage import models
from .storage.fields import utcnow

Via = Literal["api_key", "bearer", "cookie", "anonymous"]
API_KEY_HEADER = "x-api-key"
SESSION_COOKIE = "sessionid"
# last_used is a write per request otherwise; a minute's precision is plenty.
_LAST_USED_GRANULARITY = timedelta(seconds=60)


@dataclass(frozen=True)
class Principal:
    via: Via
    # Organisations whose objects this caller may see and change.
    org_ids: frozenset[int]
    # The organisation new objects belong to when the request names none (keys, tokens).
    default_org_id: int | None
    # Identity for rate limiting, and the per-window limits that apply to it.
    rate_key: str
    per_minute: int
    per_day: int

    @property
    def is_anonymous(self) -> bool:
        return self.via == "anonymous"


@dataclass(frozen=True)
class Credentials:
    api_key: str | None = None
    bearer: str | None = None
    session_cookie: str | None = None


def anonymous(client_host: str, settings: Settings) -> Principal:
    return Principal(
        via="anonymous",
        org_ids=frozenset(),
        default_org_id=None,
        rate_key=f"ip:{client_host}",
        per_minute=settings.anonymous_rate_limit_per_minute,
        per_day=settings.anonymous_rate_limit_per_day,
    )


def _alive(is_active: bool, expires_at: datetime | None, now: datetime) -> bool:
    return is_active and (expires_at is None or expires_at > now)


def authenticate(creds: Credentials, client_host: str, settings: Settings) -> Principal:
    """Resolve the first credential given (key, then bearer, then cookie). Runs DB queries:
    call it from a worker thread."""
    now = utcnow()
    if creds.api_key is not None:
        return _by_api_key(creds.api_key, settings, now)
    if creds.bearer is not None:
        return _by_bearer(creds.bearer, settings, now)
    if creds.session_cookie is not None:
        return _by_cookie(creds.session_cookie, settings, now)
    return anonymous(client_host, settings)


def _by_api_key(raw: str, settings: Settings, now: datetime) -> Principal:
    parsed = parse_key(raw)
    if parsed is None:  # shape or checksum wrong: no database lookup
        raise Unauthorized("The API key is malformed.")
    digest = hash_secret(parsed.raw)
    key = models.ApiKey.get_or_none(models.ApiKey.key_hash == digest)
    if key is None or not hmac.compare_digest(key.key_hash, digest):
        raise Unauthorized("The API key is not recognised.")
    if not key.is_active:
        raise Unauthorized("The API key has been revoked.")
    if not _alive(True, key.expires_at, now):
        raise Unauthorized("The API key has expired.")
    if key.last_used is None or now - key.last_used > _LAST_USED_GRANULARITY:
        models.ApiKey.update(last_used=now).where(models.ApiKey.id == key.id).execute()
    default_minute = (
        settings.publishable_rate_limit_per_minute
        if key.kind == "cpk"
        else settings.rate_limit_per_minute
    )
    return Principal(
        via="api_key",
        org_ids=frozenset({key.organization_id}),
        default_org_id=key.organization_id,
        rate_key=f"key:{key.short_id}",
        per_minute=key.rate_limit_per_minute or default_minute,
        per_day=key.rate_limit_per_day or settings.rate_limit_per_day,
    )


def _by_bearer(token: str, settings: Settings, now: datetime) -> Principal:
    row = models.AccessToken.get_or_none(models.AccessToken.token_hash == hash_secret(token))
    if row is None or not _alive(row.is_active, row.expires_at, now):
        raise Unauthorized("The access token is not valid.")
    return _user_principal("bearer", row.user_id, settings)


def _by_cookie(cookie: str, settings: Settings, now: datetime) -> Principal:
    row = models.WebSession.get_or_none(models.WebSession.session_hash == hash_secret(cookie))
    if row is None or row.expires_at <= now:
        raise Unauthorized("The browser session is not valid.")
    return _user_principal("cookie", row.user_id, settings)


def _user_principal(via: Via, user_id: int, settings: Settings) -> Principal:
    """A user acts for each organisation they are a member of; new objects need the
    request to name one (``organization_short_id``)."""
    org_ids = frozenset(
        m.organization_id
        for m in models.Membership.select(models.Membership.organization).where(
            models.Membership.user == user_id
        )
    )
    return Principal(
        via=via,
        org_ids=org_ids,
        default_org_id=None,
        rate_key=f"user:{user_id}",
        per_minute=settings.rate_limit_per_minute,
        per_day=settings.rate_limit_per_day,
    )
