"""Registers the Open Food Facts lookup provider when ``openfoodfacts_enabled`` is set. It is
``trylast``: the local catalog and installed plugins are asked first."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from ...settings import Settings
from ..hookspecs import hookimpl
from ..providers import LookupProvider
from .openfoodfacts import OpenFoodFactsProvider


@hookimpl(trylast=True)
def register_lookup_providers(
    register: Callable[[LookupProvider], None], settings: Settings
) -> None:
    if not settings.openfoodfacts_enabled:
        return
    if not settings.openfoodfacts_user_agent:
        raise ValueError(
            "SCANSERVE_OPENFOODFACTS_USER_AGENT must be set (Open Food Facts asks every client "
            "to name itself, e.g. 'MyShopScanner/1.0 (ops@example.com)')"
        )
    client = httpx.Client(timeout=settings.provider_timeout_seconds, trust_env=False)
    register(
        OpenFoodFactsProvider(
            client,
            base_url=settings.openfoodfacts_base_url,
            user_agent=settings.openfoodfacts_user_agent,
            cache_ttl=settings.openfoodfacts_cache_ttl_seconds,
        )
    )
