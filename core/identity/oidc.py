"""OAuth 2.0 resource-server mode: verifying bearer JWTs from an outside OIDC issuer.

Library: PyJWT (with ``cryptography``) does the signature and registered-claim checks
(``exp``, ``nbf``, ``iat``, ``iss``, ``aud``, with a leeway); this module only finds the key.
The issuer's JSON Web Key Set comes from ``oidc_jwks_url`` (or the issuer's discovery
document's ``jwks_uri`` when that is empty), or from ``oidc_jwks_file`` for offline use. It
is cached for ``oidc_jwks_cache_seconds``, fetched again at once when a token names a key id
the cache does not hold (the issuer rotated its keys), but at most once per
``oidc_jwks_min_refresh_seconds``, so tokens with made-up key ids cannot make us hammer the
issuer. When a refresh fails the keys already held stay in use.

Algorithm confusion is closed three ways: only the asymmetric algorithms in
``oidc_algorithms`` are accepted (``none`` and ``HS*`` are refused by the settings), the key
is built for the algorithm the token names and must be of that algorithm's type (an RSA key
cannot be used as an HMAC secret or for ES256), and a key that declares its ``alg`` is used
only for that algorithm.

Claims PyJWT leaves loose are checked here, after the signature: ``sub`` must be a non-empty
string, and ``exp``, ``nbf`` and ``iat`` (where present) JSON numbers of seconds since 1970
before the year 3000 (PyJWT takes ``"exp": "9999999999"``, and an ``exp`` past the year 9999
made a date out of range: a 500). A token that breaks one is refused with ``401``.

Runs in worker threads (authentication does), so the HTTP client is synchronous.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from jwt import PyJWK

from scanserve.errors import Unauthorized
from scanserve.identity.tokens import parse_scopes
from scanserve.settings import Settings

logger = logging.getLogger("scanserve.oidc")


@dataclass(frozen=True)
class VerifiedJwt:
    issuer: str
    subject: str
    org_short_ids: tuple[str, ...]
    scopes: frozenset[str]
    expires_at: float
    claims: dict[str, Any]


# 3000-01-01T00:00:00Z: no issuer dates a token later, and every date before it can be
# stored and computed with (datetime ends at 9999, some databases sooner).
LATEST_TIMESTAMP = 32_503_680_000
_TIME_CLAIMS = ("exp", "nbf", "iat")


def check_claim_types(claims: dict[str, Any]) -> None:
    """Refuse (``401``) a ``sub`` that is not a non-empty string, and an ``exp``, ``nbf`` or
    ``iat`` that is not a number from 0 to :data:`LATEST_TIMESTAMP` (a string, a boolean, a
    date past the year 3000, NaN)."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise Unauthorized("The token's 'sub' claim must be a non-empty string.")
    for name in _TIME_CLAIMS:
        if name not in claims:
            continue
        value = claims[name]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (math.isfinite(value) and 0 <= value < LATEST_TIMESTAMP)
        ):
            raise Unauthorized(
                f"The token's {name!r} claim must be a number of seconds since 1970, "
                "before the year 3000."
            )


def looks_like_jwt(raw: str) -> bool:
    return raw.count(".") == 2


class JwksUnavailable(Exception):
    pass


class JwtVerifier:
    def __init__(self, settings: Settings, client: httpx.Client | None = None):
        self.settings = settings
        self._client = client or httpx.Client(
            timeout=settings.oidc_http_timeout_seconds, follow_redirects=False
        )
        self._lock = threading.Lock()
        self._keys: list[dict[str, Any]] = []
        self._fetched_at = float("-inf")  # monotonic time of the last fetch attempt
        self._loaded = False
        self._jwks_url = settings.oidc_jwks_url

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ key set

    def _load(self) -> list[dict[str, Any]]:
        path = self.settings.oidc_jwks_file
        if path is not None:
            document = json.loads(path.read_text(encoding="utf-8"))
        else:
            document = self._get_json(self._jwks_location())
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise JwksUnavailable("the JWKS document has no 'keys' list")
        return [k for k in keys if isinstance(k, dict)]

    def _jwks_location(self) -> str:
        if not self._jwks_url:
            issuer = self.settings.oidc_issuer.rstrip("/")
            discovery = self._get_json(f"{issuer}/.well-known/openid-configuration")
            if not isinstance(discovery, dict) or discovery.get("issuer") != (
                self.settings.oidc_issuer
            ):
                raise JwksUnavailable("the discovery document names another issuer")
            uri = discovery.get("jwks_uri")
            if not isinstance(uri, str) or not uri:
                raise JwksUnavailable("the discovery document has no jwks_uri")
            self._jwks_url = uri
        return self._jwks_url

    def _get_json(self, url: str) -> Any:
        try:
            response = self._client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise JwksUnavailable(f"{url}: {exc}") from exc

    def _refresh(self, *, forced: bool) -> None:
        """Fetch the key set if it is stale (or ``forced`` by an unknown key id), within the
        minimum interval between fetches. Keeps the old keys when the fetch fails."""
        with self._lock:
            now = time.monotonic()
            age = now - self._fetched_at
            stale = age >= self.settings.oidc_jwks_cache_seconds or not self._loaded
            # The interval holds for failed fetches too: an issuer that is down is not asked
            # again on every request.
            allowed = age >= self.settings.oidc_jwks_min_refresh_seconds
            if not ((stale or forced) and allowed):
                return
            self._fetched_at = now
            try:
                self._keys = self._load()
                self._loaded = True
            except (JwksUnavailable, OSError, ValueError) as exc:
                logger.warning("could not load the issuer's key set: %s", exc)

    def _candidates(self, kid: str | None, alg: str) -> list[dict[str, Any]]:
        keys = [k for k in self._keys if k.get("use", "sig") == "sig"]
        if kid is not None:
            return [k for k in keys if k.get("kid") == kid]
        return keys  # no kid: any signing key may have signed it (single-key issuers)

    def _key_for(self, kid: str | None, alg: str) -> PyJWK:
        self._refresh(forced=False)
        found = self._candidates(kid, alg)
        if not found:
            self._refresh(forced=True)  # the issuer may have rotated its keys
            found = self._candidates(kid, alg)
        if not self._loaded:
            raise Unauthorized(
                "The token cannot be checked now: the issuer's keys are unavailable."
            )
        for jwk in found:
            declared = jwk.get("alg")
            if declared is not None and declared != alg:
                continue
            try:
                return PyJWK(jwk, algorithm=alg)
            except jwt.PyJWTError:
                continue  # a key of another type than the algorithm needs
        raise Unauthorized("The token is signed with a key the issuer does not publish.")

    # ------------------------------------------------------------------ tokens

    def verify(self, token: str) -> VerifiedJwt:
        settings = self.settings
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("The bearer token is not a valid JWT.") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in settings.oidc_algorithms:
            raise Unauthorized(f"The token's algorithm {alg!r} is not accepted.")
        kid = header.get("kid")
        key = self._key_for(kid if isinstance(kid, str) else None, alg)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=settings.oidc_audience,
                issuer=settings.oidc_issuer,
                leeway=settings.oidc_leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("The token is not valid yet (nbf or iat in the future).") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized("The token was issued by another issuer.") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized("The token is meant for another audience.") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthorized(f"The token lacks the {exc.claim!r} claim.") from None
        except jwt.PyJWTError:
            raise Unauthorized("The token's signature or claims are not valid.") from None
        check_claim_types(claims)
        orgs = claims.get(settings.oidc_org_claim)
        org_short_ids: tuple[str, ...] = ()
        if isinstance(orgs, str):
            org_short_ids = (orgs,)
        elif isinstance(orgs, list):
            org_short_ids = tuple(o for o in orgs if isinstance(o, str))
        return VerifiedJwt(
            issuer=str(claims["iss"]),
            subject=claims["sub"],
            org_short_ids=org_short_ids,
            scopes=parse_scopes(claims.get(settings.oidc_scope_claim)),
            expires_at=float(claims["exp"]),
            claims=claims,
        )
