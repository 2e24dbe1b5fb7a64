"""Connexion security handlers that admit the principal the gateway already authenticated.

Authentication happens once, in :mod:`scanserve.http.gateway`; here each security scheme of the
spec only asks "did the caller authenticate this way?", so an operation's ``security`` list
in the contract stays the single statement of which credentials it takes. Handlers read the
principal from ``token_info["principal"]`` (see :func:`scanserve.http.context.principal`).

Scopes: a requirement's list (``BearerAuth: [scanner:write]``) names the scopes the operation
needs (OpenAPI 3.1 allows such role lists on every scheme type). A principal whose credential
carries scopes (personal access tokens, outside JWTs, browser sessions made from them) must
hold all of them, or the answer is ``403 forbidden``; API keys hold every scope.
Publishable (``cpk``) keys are admitted only by a scheme whose ``x-scanserve-key-kinds``
names them (``PublishableKeyAuth``), and refused (``403``, ``key_scope: publishable``) by
every other scheme, a browser session made from one included: an operation is in their scope
exactly when its ``security`` lists that scheme (the gateway refuses the others first, from
the route table; this is the same rule, checked again where Connexion checks security). The
``CsrfToken`` scheme (``X-CSRF-Token``) goes with ``CookieAuth`` on unsafe operations; the
gateway has already compared the token with the session's by then (it does so for every
unsafe request under cookie authentication, whatever the operation declares).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from connexion.lifecycle import ConnexionRequest
from connexion.security import NO_VALUE, ApiKeySecurityHandler, BearerSecurityHandler

from scanserve.errors import Forbidden, OutsidePublishableScope
from scanserve.http.asgi_keys import PRINCIPAL_KEY
from scanserve.identity.auth import API_KEY_HEADER, SESSION_COOKIE, Principal, Via
from scanserve.identity.cookies import cookie_value
from scanserve.identity.websessions import CSRF_HEADER


def _admit(
    via: Via, required_scopes: Iterable[str] | None = None, *, publishable: bool = False
) -> Callable[..., Any]:
    """``publishable``: the scheme takes publishable (``cpk``) keys and only those; every
    other scheme refuses them (``403``, whatever alternative admits them instead)."""
    needed = frozenset(required_scopes or ())

    def verify(request: ConnexionRequest) -> Any:
        principal: Principal | None = request.scope.get(PRINCIPAL_KEY)
        if principal is None or principal.via != via:
            return NO_VALUE
        if principal.publishable != publishable:
            if publishable:
                return NO_VALUE  # a business or user key: another scheme decides
            raise OutsidePublishableScope()
        if principal.scopes is not None and not needed <= principal.scopes:
            missing = " ".join(sorted(needed - principal.scopes))
            raise Forbidden(f"The credential lacks the scope this operation needs: {missing}.")
        return {"sub": principal.rate_key, "principal": principal}

    return verify


class PrincipalApiKeyHandler(ApiKeySecurityHandler):
    """``apiKey`` schemes: the ``X-API-Key`` header, the ``sessionid`` cookie, and the
    ``X-CSRF-Token`` header that goes with the cookie."""

    def get_fn(self, security_scheme: dict[str, Any], required_scopes: Any) -> Any:
        where, name = security_scheme["in"], security_scheme["name"].lower()
        if where == "header" and name == API_KEY_HEADER:
            # x-scanserve-key-kinds: the key kinds the scheme takes (ApiKeyAuth csb and
            # csu, PublishableKeyAuth cpk)
            kinds = security_scheme.get("x-scanserve-key-kinds", ["csb", "csu"])
            if ("cpk" in kinds) != (set(kinds) == {"cpk"}):
                raise ValueError(f"an apiKey scheme takes cpk keys alone or none: {kinds}")
            return _admit("api_key", required_scopes, publishable="cpk" in kinds)
        if where == "cookie" and name == SESSION_COOKIE:
            return _admit("cookie", required_scopes)
        if where == "header" and name == CSRF_HEADER.lower():
            return _admit("cookie")
        raise ValueError(f"no handler for apiKey scheme in {where} named {name}")

    @staticmethod
    def get_cookie_value(cookies: Any, name: str) -> str | None:
        # Connexion's own reads the header with http.cookies, in quadratic time
        # (scanserve.identity.cookies); the gateway has read the cookie already, but never that
        # way.
        return cookie_value(cookies if isinstance(cookies, str) else None, name)


class PrincipalBearerHandler(BearerSecurityHandler):
    def get_fn(self, security_scheme: dict[str, Any], required_scopes: Any) -> Any:
        return _admit("bearer", required_scopes)


SECURITY_MAP = {"apiKey": PrincipalApiKeyHandler, "bearer": PrincipalBearerHandler}
