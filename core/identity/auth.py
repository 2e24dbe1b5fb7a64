"""Who is calling: credentials to a :class:`Principal`.

The gateway middleware authenticates once per request (``authenticate``), before routing, so
that rate limits and their headers apply to every response, errors included. Connexion's
security layer then only checks that the operation's schemes admit the principal (see
``scanserve.http.security``). A credential that is present but wrong is refused with 401 even on
operations that allow anonymous calls: a client with a broken key should learn it.

Credentials (``docs/authentication.md``): an API key acts for its organisation with every
scope; a personal access token (``scanserve.identity.tokens``) for its user's organisations (or the
one it is limited to) with its scopes; an outside JWT (``scanserve.identity.oidc``) for the
organisations and scopes its claims name; a ``sessionid`` cookie
(``scanserve.identity.websessions``) as the credential it was signed in with, re-checked on every
request, so revoking that credential ends the session.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from scanserve.errors import Unauthorized
from scanserve.identity import tokens
from scanserve.identity.keys import hash_secret, parse_key
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.storage.prepared import Prepared

if TYPE_CHECKING:
    from scanserve.identity.oidc import JwtVerifier, VerifiedJwt

Via = Literal["api_key", "bearer", "cookie", "anonymous"]
API_KEY_HEADER = "x-api-key"
SESSION_COOKIE = "sessionid"
# scanserve.identity.websessions makes a sessionid of secrets.token_urlsafe(32), 43 of these
# characters: anything else is refused before the database is asked.
_SESSION_VALUE = re.compile(r"[A-Za-z0-9_-]{1,128}")
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
    # What the credential may do (``scanserve.identity.tokens``); None: everything (API keys).
    scopes: frozenset[str] | None = None
    # The credential behind it, for signing a browser in with it (and ending that session
    # with it): ("api_key", row id), ("access_token", row id), or ("jwt", VerifiedJwt).
    source: tuple[str, Any] | None = None
    # When the credential stops being valid, if it says (tokens, JWTs, expiring keys).
    expires_at: datetime | None = None
    # Cookie principals: their WebSession row and the hash of its CSRF token.
    web_session_id: int | None = None
    csrf_hash: str | None = None
    # Publishable (``cpk``) keys: the key's row id, and the browser origins it is allowed
    # from (none: no CORS answers, so pages of the server's own origin only). Such a caller
    # may use only the operations of the publishable scope (``PublishableKeyAuth`` in the
    # spec) and sees only the sessions this key created (scanserve.identity.scoping).
    publishable_key_id: int | None = None
    allowed_origins: frozenset[str] = frozenset()

    @property
    def is_anonymous(self) -> bool:
        return self.via == "anonymous"

    @property
    def publishable(self) -> bool:
        return self.publishable_key_id is not None

    @property
    def api_key_id(self) -> int | None:
        """The API key behind the caller (directly, or through a browser session made from
        it), if any: the key a new session remembers as its creator."""
        if self.source is not None and self.source[0] == "api_key":
            return int(self.source[1])
        return None


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


def authenticate(
    creds: Credentials,
    client_host: str,
    settings: Settings,
    jwt_verifier: JwtVerifier | None = None,
) -> Principal:
    """Resolve the first credential given (key, then bearer, then cookie). Runs DB queries
    (and may fetch the issuer's keys): call it from a worker thread."""
    now = utcnow()
    if creds.api_key is not None:
        return _by_api_key(creds.api_key, settings, now)
    if creds.bearer is not None:
        return _by_bearer(creds.bearer, settings, now, jwt_verifier)
    if creds.session_cookie is not None:
        return _by_cookie(creds.session_cookie, settings, now)
    return anonymous(client_host, settings)


def _key_lookup(by: str) -> Prepared:
    """An API key's row by ``key_hash`` or ``id``: every request whose key is not in the
    auth cache asks, so a prepared query (no model query built, no model hydrated)."""
    k = models.ApiKey
    return Prepared(
        lambda ph: k.select(
            k.id,
            k.short_id,
            k.organization.alias("organization_id"),
            k.kind,
            k.key_hash,
            k.is_active,
            k.expires_at,
            k.last_used,
            k.rate_limit_per_minute,
            k.rate_limit_per_day,
        ).where(k.id == ph("id") if by == "id" else k.key_hash == ph("key_hash"))
    )


_KEY_BY_HASH, _KEY_BY_ID = _key_lookup("key_hash"), _key_lookup("id")


def _by_api_key(raw: str, settings: Settings, now: datetime) -> Principal:
    parsed = parse_key(raw)
    if parsed is None:  # shape or checksum wrong: no database lookup
        raise Unauthorized("The API key is malformed.")
    digest = hash_secret(parsed.raw)
    key = _KEY_BY_HASH.first(key_hash=digest)
    if key is None or not hmac.compare_digest(key["key_hash"], digest):
        raise Unauthorized("The API key is not recognised.")
    if not key["is_active"]:
        raise Unauthorized("The API key has been revoked.")
    if not _alive(True, key["expires_at"], now):
        raise Unauthorized("The API key has expired.")
    if key["last_used"] is None or now - key["last_used"] > _LAST_USED_GRANULARITY:
        models.ApiKey.update(last_used=now).where(models.ApiKey.id == key["id"]).execute()
    return _key_principal("api_key", key, settings)


_ORIGINS = Prepared(
    lambda ph: models.ApiKeyOrigin.select(models.ApiKeyOrigin.origin).where(
        models.ApiKeyOrigin.api_key == ph("key")
    )
)


def _key_principal(via: Via, key: dict[str, Any], settings: Settings) -> Principal:
    """From an API key's row as :func:`_key_lookup` selects it."""
    publishable = key["kind"] == "cpk"
    default_minute = (
        settings.publishable_rate_limit_per_minute
        if publishable
        else settings.rate_limit_per_minute
    )
    return Principal(
        via=via,
        org_ids=frozenset({key["organization_id"]}),
        default_org_id=key["organization_id"],
        rate_key=f"key:{key['short_id']}",
        per_minute=key["rate_limit_per_minute"] or default_minute,
        per_day=key["rate_limit_per_day"] or settings.rate_limit_per_day,
        source=("api_key", key["id"]),
        expires_at=key["expires_at"],
        publishable_key_id=key["id"] if publishable else None,
        allowed_origins=(
            frozenset(row["origin"] for row in _ORIGINS.dicts(key=key["id"]))
            if publishable
            else frozenset()
        ),
    )


def _by_bearer(
    token: str, settings: Settings, now: datetime, jwt_verifier: JwtVerifier | None
) -> Principal:
    if tokens.looks_like_token(token):
        return _by_access_token(token, settings, now)
    from scanserve.identity.oidc import looks_like_jwt  # noqa: PLC0415 - PyJWT loads with the first JWT

    if jwt_verifier is not None and looks_like_jwt(token):
        return _by_jwt(jwt_verifier.verify(token), settings)
    raise Unauthorized("The access token is not valid.")


def _token_lookup(by: str) -> Prepared:
    """An access token's row by ``token_hash`` or ``id`` (bearer tokens and browser
    sessions are never cached: every such request asks)."""
    t = models.AccessToken
    return Prepared(
        lambda ph: t.select(
            t.id,
            t.user.alias("user_id"),
            t.organization.alias("organization_id"),
            t.is_active,
            t.expires_at,
            t.last_used,
            t.scopes,
        ).where(t.id == ph("id") if by == "id" else t.token_hash == ph("token_hash"))
    )


_TOKEN_BY_HASH, _TOKEN_BY_ID = _token_lookup("token_hash"), _token_lookup("id")


def _by_access_token(raw: str, settings: Settings, now: datetime) -> Principal:
    if not tokens.is_well_formed(raw):  # shape or checksum wrong: no database lookup
        raise Unauthorized("The access token is malformed.")
    row = _TOKEN_BY_HASH.first(token_hash=hash_secret(raw))
    if row is None:
        raise Unauthorized("The access token is not recognised.")
    principal = _token_principal("bearer", row, settings, now)
    if row["last_used"] is None or now - row["last_used"] > _LAST_USED_GRANULARITY:
        models.AccessToken.update(last_used=now).where(
            models.AccessToken.id == row["id"]
        ).execute()
    return principal


def _token_principal(
    via: Via, row: dict[str, Any], settings: Settings, now: datetime
) -> Principal:
    """From an access token's row as :func:`_token_lookup` selects it."""
    if not row["is_active"]:
        raise Unauthorized("The access token has been revoked.")
    if not _alive(True, row["expires_at"], now):
        raise Unauthorized("The access token has expired.")
    base = _user_principal(via, row["user_id"], settings)
    org_ids, default = base.org_ids, None
    org_id = row["organization_id"]
    if org_id is not None:
        if org_id not in org_ids:
            raise Unauthorized("The token's user is no longer a member of its organisation.")
        org_ids, default = frozenset({org_id}), org_id
    return replace(
        base,
        org_ids=org_ids,
        default_org_id=default,
        scopes=tokens.parse_scopes(row["scopes"]),
        source=("access_token", row["id"]),
        expires_at=row["expires_at"],
    )


def _by_jwt(verified: VerifiedJwt, settings: Settings) -> Principal:
    return _jwt_principal("bearer", verified, settings)


def _jwt_principal(via: Via, verified: VerifiedJwt, settings: Settings) -> Principal:
    orgs = {
        o.id: o
        for o in models.Organization.select(models.Organization.id).where(
            models.Organization.short_id.in_(list(verified.org_short_ids))
        )
    }
    if not orgs:
        raise Unauthorized(
            f"The token's {settings.oidc_org_claim!r} claim names no organisation of this server."
        )
    subject = hash_secret(f"{verified.issuer} {verified.subject}")[:24]
    return Principal(
        via=via,
        org_ids=frozenset(orgs),
        default_org_id=next(iter(orgs)) if len(orgs) == 1 else None,
        rate_key=f"jwt:{subject}",
        per_minute=settings.rate_limit_per_minute,
        per_day=settings.rate_limit_per_day,
        scopes=verified.scopes,
        source=("jwt", verified),
        expires_at=datetime.fromtimestamp(verified.expires_at, UTC),
    )


_WEB_SESSION = Prepared(
    lambda ph: models.WebSession.select(
        models.WebSession.id,
        models.WebSession.expires_at,
        models.WebSession.csrf_hash,
        models.WebSession.api_key.alias("api_key_id"),
        models.WebSession.access_token.alias("access_token_id"),
        models.WebSession.org_short_ids,
        models.WebSession.subject,
        models.WebSession.scopes,
        models.WebSession.user.alias("user_id"),
    ).where(models.WebSession.session_hash == ph("session_hash"))
)


def _by_cookie(cookie: str, settings: Settings, now: datetime) -> Principal:
    if not _SESSION_VALUE.fullmatch(cookie):  # not one we made: no database lookup
        raise Unauthorized("The browser session is not valid; sign in again.")
    row = _WEB_SESSION.first(session_hash=hash_secret(cookie))
    if row is None or row["expires_at"] <= now:
        raise Unauthorized("The browser session is not valid; sign in again.")
    try:
        principal = _web_session_principal(row, settings, now)
    except Unauthorized:
        # The key or token it was made from is gone: the session ends with it.
        models.WebSession.delete().where(models.WebSession.id == row["id"]).execute()
        raise Unauthorized(
            "The browser session ended: the credential it was signed in with is no longer valid."
        ) from None
    return replace(principal, web_session_id=row["id"], csrf_hash=row["csrf_hash"])


def _web_session_principal(row: dict[str, Any], settings: Settings, now: datetime) -> Principal:
    """From a browser session's row as ``_WEB_SESSION`` selects it."""
    if row["api_key_id"] is not None:
        key = _KEY_BY_ID.first(id=row["api_key_id"])
        if key is None or not _alive(key["is_active"], key["expires_at"], now):
            raise Unauthorized("The API key is no longer valid.")
        return _key_principal("cookie", key, settings)
    if row["access_token_id"] is not None:
        token = _TOKEN_BY_ID.first(id=row["access_token_id"])
        if token is None:
            raise Unauthorized("The access token is no longer valid.")
        return _token_principal("cookie", token, settings, now)
    if row["org_short_ids"] is not None:
        from scanserve.identity.oidc import VerifiedJwt  # noqa: PLC0415 - as above

        verified = VerifiedJwt(
            issuer="",
            subject=row["subject"],
            org_short_ids=tuple(row["org_short_ids"]),
            scopes=frozenset(row["scopes"] or ()),
            expires_at=row["expires_at"].timestamp(),
            claims={},
        )
        return replace(
            _jwt_principal("cookie", verified, settings), rate_key=f"jwt:{row['subject']}"
        )
    if row["user_id"] is None:
        raise Unauthorized("The browser session names no credential.")
    return _user_principal("cookie", row["user_id"], settings)


_MEMBERSHIPS = Prepared(
    lambda ph: models.Membership.select(models.Membership.organization.alias("org")).where(
        models.Membership.user == ph("user")
    )
)


def _user_principal(via: Via, user_id: int, settings: Settings) -> Principal:
    """A user acts for each organisation they are a member of; new objects need the
    request to name one (``organization_short_id``)."""
    org_ids = frozenset(m["org"] for m in _MEMBERSHIPS.dicts(user=user_id))
    return Principal(
        via=via,
        org_ids=org_ids,
        default_org_id=None,
        rate_key=f"user:{user_id}",
        per_minute=settings.rate_limit_per_minute,
        per_day=settings.rate_limit_per_day,
    )


_ORIGIN_KNOWN = Prepared(
    lambda ph: (
        models.ApiKeyOrigin.select(models.ApiKeyOrigin.id)
        .join(models.ApiKey)
        .where(
            models.ApiKeyOrigin.origin == ph("origin"),
            models.ApiKey.kind == "cpk",
            models.ApiKey.is_active == True,  # noqa: E712 - peewee's SQL comparison
            models.ApiKey.expires_at.is_null()
            | (models.ApiKey.expires_at > ph("now", models.ApiKey.expires_at)),
        )
        .limit(1)
    )
)


def origin_allowed_for_some_key(origin: str) -> bool:
    """Whether a live publishable key lists ``origin`` among its allowed browser origins: a
    CORS preflight, which carries no credential, is answered for such origins only. Runs a
    query: call it from a worker thread."""
    return _ORIGIN_KNOWN.first(origin=origin, now=utcnow()) is not None
