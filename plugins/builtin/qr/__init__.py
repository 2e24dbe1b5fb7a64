"""The built-in QR resolver: follows a scanned URL's redirects (:mod:`.resolver`) behind an
egress guard (:mod:`.egress`) and classifies where it led (:mod:`.classify`). Registered
``trylast``: a plugin's resolver answers first."""

from __future__ import annotations

from collections.abc import Callable

from scanserve.plugins.builtin.qr.resolver import RedirectResolver, ResolverPolicy
from scanserve.plugins.hookspecs import hookimpl
from scanserve.plugins.providers import QrResolver
from scanserve.settings import Settings


def resolver_from_settings(settings: Settings) -> QrResolver:
    policy = ResolverPolicy(
        max_hops=settings.qr_max_hops,
        timeout=settings.qr_timeout_seconds,
        allow_private=settings.qr_allow_private,
        allowed_networks=tuple(settings.qr_allowed_networks),
        own_resolver_hosts=tuple(settings.qr_own_resolver_hosts),
    )
    return RedirectResolver(policy)  # type: ignore[return-value]


@hookimpl(trylast=True)
def register_qr_resolvers(register: Callable[[QrResolver], None], settings: Settings) -> None:
    register(resolver_from_settings(settings))
