"""Connexion security handlers that admit the principal the gateway already authenticated.

Authentication happens once, in :mod:`scanserve.gateway`; here each security scheme of the
spec only asks "did the caller authenticate this way?", so an operation's ``security`` list
in the contract stays the single statement of which credentials it takes. Handlers read the
principal from ``token_info["principal"]`` (see :func:`scanserve.context.principal`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connexion.lifecycle import ConnexionRequest
from connexion.security import NO_VALUE, ApiKeySecurityHandler, BearerSecurityHandler

from .auth import API_KEY_HEADER, SESSION_COOKIE, Principal, Via
from .gateway import PRINCIPAL_KEY


def _admit(via: Via) -> Callable[[ConnexionRequest], Any]:
    def verify(request: ConnexionRequest) -> Any:
        principal: Principal | None = request.scope.get(PRINCIPAL_KEY)
        if principal is None or principal.via != via:
            return NO_VALUE
        return {"sub": principal.rate_key, "principal": principal}

    return verify


class PrincipalApiKeyHandler(ApiKeySecurityHandler):
    """``apiKey`` schemes: the ``X-API-Key`` header and the ``sessionid`` cookie."""

    def get_fn(self, security_scheme: dict[str, Any], required_scopes: Any) -> Any:
        where, name = security_scheme["in"], security_scheme["name"].lower()
        if where == "header" and name == API_KEY_HEADER:
            return _admit("api_key")
        if where == "cookie" and name == SESSION_COOKIE:
            return _admit("cookie")
        raise ValueError(f"no handler for apiKey scheme in {where} named {name}")


class PrincipalBearerHandler(BearerSecurityHandler):
    def get_fn(self, security_scheme: dict[str, Any], required_scopes: Any) -> Any:
        return _admit("bearer")


SECURITY_MAP = {"apiKey": PrincipalApiKeyHandler, "bearer": PrincipalBearerHandler}
