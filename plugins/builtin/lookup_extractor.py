"""Built-in product extractor ``lookup-data``: asks the outside lookup providers (those with
``external = True``, such as Open Food Facts) about the capture's product and proposes each
field they know that the product lacks (empty for the organisation). It never proposes to
replace a value the product already has, and restricted-circulation GTINs are never sent
out. The first provider that knows a field wins it."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from scanserve.domain import gs1
from scanserve.plugins.providers import (
    ExtractionInput,
    LookupProvider,
    ProductRecord,
    ProposalDraft,
    ProviderError,
)

logger = logging.getLogger("scanserve.extraction")

CONFIDENCE = 0.8


def _fields(record: ProductRecord) -> dict[str, str]:
    return {
        "name": record.name,
        "description": record.description,
        "brand_name": record.brand,
        "category": record.category,
        "ingredients": record.ingredients,
        "images": json.dumps(list(record.image_urls)) if record.image_urls else "",
    }


class LookupDataExtractor:
    name = "lookup-data"
    photo_types: frozenset[str] = frozenset()  # a product extractor

    def __init__(self, providers: Sequence[LookupProvider]):
        self.providers = [p for p in providers if getattr(p, "external", False)]

    def unavailable_reason(self) -> str | None:
        if not self.providers:
            return "no outside lookup provider is configured"
        return None

    def extract(self, item: ExtractionInput) -> list[ProposalDraft]:
        if item.product is None or not item.gtin or gs1.is_restricted(item.gtin):
            return []
        missing = {
            name
            for name in ("name", "description", "brand_name", "category", "ingredients", "images")
            if item.current.get(name, "") in ("", "[]")
        }
        drafts = []
        for provider in self.providers:
            if not missing:
                break
            try:
                record = provider.lookup(item.gtin)
            except ProviderError as exc:  # it could not answer this time
                logger.warning("lookup-data: %s failed for %s: %s", provider.name, item.gtin, exc)
                continue
            except Exception:  # a bug in the provider: an error, with its traceback
                logger.exception("lookup-data: %s failed for %s", provider.name, item.gtin)
                continue
            if record is None:
                continue
            for name, value in _fields(record).items():
                if name in missing and value.strip():
                    missing.discard(name)
                    drafts.append(
                        ProposalDraft(
                            field_name=name,
                            proposed_value=value.strip(),
                            confidence=CONFIDENCE,
                            reasoning=(
                                f"The product has no {name}; {provider.name} knows GTIN "
                                f"{item.gtin} with this value."
                            ),
                            source=f"lookup:{provider.name}",
                        )
                    )
        return drafts
