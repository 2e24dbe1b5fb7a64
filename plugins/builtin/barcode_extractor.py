"""Built-in extractor for ``barcode`` photos: decode the codes in the photo (zxing-cpp, as
for uploaded images) and check them against the capture's product.

The contract's proposal fields (name, description, brand_name, category, ingredients,
ai_summary, images) have no GTIN: a GTIN is the product's identity (its catalog key and the
source of ``product_short_id``), not a field a proposal may change, so this extractor never
proposes a new GTIN. What it proposes is a check of the identification, on ``name`` with the
name left as it is (applying it changes nothing):

- the photo holds the product's GTIN: confidence ``1.00``, ``metadata.gtin_check`` =
  ``confirmed`` (accepting it records that a person confirmed the product);
- the photo holds other GTINs only: confidence ``0.00``, ``metadata.gtin_check`` =
  ``mismatch``, and the reasoning names both GTINs (the photo may show another product).

A capture with no product gets nothing; a photo with no readable GTIN gets nothing.
"""

from __future__ import annotations

from scanserve.domain import gs1
from scanserve.domain.imaging import ImageError, decode_codes
from scanserve.plugins.providers import ExtractionInput, ProposalDraft


class BarcodeExtractor:
    name = "barcode"
    photo_types = frozenset({"barcode"})

    def extract(self, item: ExtractionInput) -> list[ProposalDraft]:
        if item.photo is None or item.product is None:
            return []
        try:
            codes = decode_codes(item.photo.data)
        except ImageError:
            return []
        found: dict[str, str] = {}  # GTIN-14 -> symbology, in reading order
        for code in codes:
            gtin = gs1.interpret(code.text).gtin
            if gtin:
                found.setdefault(gtin, code.symbology)
        if not found:
            return []
        product_gtin = item.product.gtin
        name = item.current.get("name", "")
        if product_gtin in found:
            return [
                ProposalDraft(
                    field_name="name",
                    proposed_value=name,
                    confidence=1.0,
                    reasoning=(
                        f"The barcode photo reads GTIN {product_gtin} ({found[product_gtin]}), "
                        "the GTIN of the linked product: the photo shows this product. "
                        "Applying changes nothing."
                    ),
                    metadata={
                        "gtin": product_gtin,
                        "symbology": found[product_gtin],
                        "gtin_check": "confirmed",
                        "photo_id": item.photo.short_id,
                    },
                )
            ]
        others = ", ".join(found)
        first = next(iter(found))
        return [
            ProposalDraft(
                field_name="name",
                proposed_value=name,
                confidence=0.0,
                reasoning=(
                    f"The barcode photo reads GTIN {others}, but the linked product has GTIN "
                    f"{product_gtin}: the photo may show another product. Applying changes "
                    "nothing; rescan the product if the photo is right."
                ),
                metadata={
                    "gtin": first,
                    "symbology": found[first],
                    "gtin_check": "mismatch",
                    "photo_id": item.photo.short_id,
                },
            )
        ]
