"""What a handler may ask about the request it serves."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from connexion import request

from .auth import Principal
from .gateway import PRINCIPAL_KEY, SERVICES_KEY

if TYPE_CHECKING:
    from .services import Services


def services() -> Services:
    return cast("Services", request.scope[SERVICES_KEY])


def principal() -> Principal:
    return cast(Principal, request.scope[PRINCIPAL_KEY])
