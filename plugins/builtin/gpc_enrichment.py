"""Built-in enrichment: a product with a GPC brick code but no brick label gets the label
from the GPC data file shipped with the freshness configuration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from scanserve.domain.freshness_layers import default_catalog
from scanserve.plugins.hookspecs import hookimpl
from scanserve.plugins.providers import EnrichmentProvider, ProductRecord
from scanserve.settings import Settings


class GpcLabelEnrichment:
    name = "gpc-labels"
    in_process = True  # the GPC data file, in memory

    def enrich(self, product: ProductRecord) -> ProductRecord:
        if not product.gpc_brick_code or product.gpc_brick_label:
            return product
        entry = default_catalog().entry("brick", product.gpc_brick_code)
        return replace(product, gpc_brick_label=entry.category_label) if entry else product


@hookimpl(trylast=True)
def register_enrichment_providers(
    register: Callable[[EnrichmentProvider], None], settings: Settings
) -> None:
    register(GpcLabelEnrichment())
