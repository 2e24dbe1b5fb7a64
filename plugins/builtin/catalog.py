"""Built-in lookup provider: the product table in scanserve's own database (filled by
``scanserve catalog import`` and by products other providers found)."""

from __future__ import annotations

from collections.abc import Callable

from ...settings import Settings
from ...storage import models
from ..hookspecs import hookimpl
from ..providers import LookupProvider, ProductRecord


class CatalogLookupProvider:
    name = "catalog"
    external = False

    def lookup(self, gtin: str) -> ProductRecord | None:
        product = models.Product.get_or_none(models.Product.gtin == gtin)
        if product is None:
            return None
        from ...pipeline import record_of

        return record_of(product)


@hookimpl(tryfirst=True)
def register_lookup_providers(
    register: Callable[[LookupProvider], None], settings: Settings
) -> None:
    register(CatalogLookupProvider())
