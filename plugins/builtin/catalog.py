"""Built-in lookup provider: the product table in scanserve's own database (filled by
``scanserve catalog import`` and by products other providers found).

Imported products always answer. A product an outside provider found answers while it is
younger than ``lookup_cache_ttl_seconds``; past that this provider passes, the next providers
are asked and the pipeline refreshes the row (or, when none can answer, keeps using it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from scanserve.domain.products import record_of
from scanserve.plugins.hookspecs import hookimpl
from scanserve.plugins.providers import LookupProvider, ProductRecord
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.storage.prepared import Prepared


class CatalogLookupProvider:
    name = "catalog"
    external = False
    in_process = True  # this database: called directly by the pipeline
    answers_from_catalog = True  # the pipeline takes the row itself (find)

    def __init__(self, cache_ttl_seconds: float | None = None):
        self.cache_ttl = (
            None if cache_ttl_seconds is None else timedelta(seconds=cache_ttl_seconds)
        )

    def lookup(self, gtin: str) -> ProductRecord | None:
        product = self.find(gtin)
        if product is None:
            return None
        return record_of(product)

    def find(self, gtin: str) -> models.Product | None:
        """The catalog's row for ``gtin`` when it answers (what :meth:`lookup` reads; the
        pipeline takes the row itself)."""
        row = _BY_GTIN.first(gtin=gtin)
        if row is None:
            return None
        product = models.Product(__no_default__=True, **row)
        if (
            self.cache_ttl is not None
            and product.fetched_at is not None
            and utcnow() - product.fetched_at >= self.cache_ttl
        ):
            return None  # a provider's answer past its time: ask again
        return product


_BY_GTIN = Prepared(lambda ph: models.Product.select().where(models.Product.gtin == ph("gtin")))


@hookimpl(tryfirst=True)
def register_lookup_providers(
    register: Callable[[LookupProvider], None], settings: Settings
) -> None:
    register(CatalogLookupProvider(settings.lookup_cache_ttl_seconds))
