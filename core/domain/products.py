"""An organisation's view of the shared product catalog.

The ``product`` table is one catalog for every organisation (imports, lookups). Applying an
organisation's accepted proposals must not change what other organisations see, so apply
writes :class:`~scanserve.storage.models.ProductOverride` rows, one per organisation, product
and field; an organisation reads the catalog with its own overrides on top
(:func:`current_values`, and ``product_name`` in its captures). The catalog row itself only
changes through imports and lookups.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from typing import Any

from scanserve.plugins.providers import PROPOSAL_FIELDS, ProductRecord
from scanserve.storage import models
from scanserve.storage.fields import utcnow


def catalog_values(product: models.Product | None) -> dict[str, str]:
    """The catalog's value of every proposal field, as proposal text."""
    if product is None:
        return dict.fromkeys(PROPOSAL_FIELDS, "")
    images = list(product.image_urls or [])
    return {
        "name": product.name,
        "description": product.description,
        "brand_name": product.brand,
        "category": product.category,
        "ingredients": product.ingredients,
        "ai_summary": "",  # no catalog column: only ever an organisation's own value
        "images": json.dumps(images) if images else "",
    }


def current_values(org_id: int, product: models.Product | None) -> dict[str, str]:
    """What organisation ``org_id`` sees for every proposal field of ``product``."""
    values = catalog_values(product)
    if product is not None:
        overrides = models.ProductOverride.select(
            models.ProductOverride.field, models.ProductOverride.value
        ).where(
            models.ProductOverride.organization == org_id,
            models.ProductOverride.product == product.id,
        )
        for row in overrides:
            values[row.field] = row.value
    return values


def name_overrides(org_id: int, product_ids: Iterable[int]) -> dict[int, str]:
    """Organisation ``org_id``'s own names for these products (product id -> name)."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    rows = models.ProductOverride.select(
        models.ProductOverride.product, models.ProductOverride.value
    ).where(
        models.ProductOverride.organization == org_id,
        models.ProductOverride.product.in_(ids),
        models.ProductOverride.field == "name",
    )
    return {row.product_id: row.value for row in rows}


def overlay_names(captures: Iterable[Any]) -> None:
    """Set ``product_name_override`` on captures whose organisation renamed their product
    (the views show it as ``product_name``). One query per organisation involved."""
    by_org: dict[int, list[Any]] = {}
    for capture in captures:
        if capture.product_id is not None:
            by_org.setdefault(capture.organization_id, []).append(capture)
    for org_id, rows in by_org.items():
        names = name_overrides(org_id, (c.product_id for c in rows))
        for capture in rows:
            if capture.product_id in names:
                capture.product_name_override = names[capture.product_id]


def set_override(org_id: int, product_id: int, field: str, value: str, proposal: Any) -> None:
    """Organisation ``org_id``'s value of ``field`` becomes ``value`` (insert or replace)."""
    P = models.ProductOverride
    (
        P.insert(
            organization=org_id,
            product=product_id,
            field=field,
            value=value,
            proposal=proposal,
            modified=utcnow(),
        )
        .on_conflict(
            conflict_target=[P.organization, P.product, P.field],
            preserve=[P.value, P.proposal, P.modified],
        )
        .execute()
    )


# proposal field_name -> product column (ai_summary has none)
_COLUMNS = {"brand_name": "brand", "images": "image_urls"}


def own_values(org_id: int, product: models.Product) -> dict[str, str]:
    """The fields organisation ``org_id`` has its own values for, by product column name
    (``image_urls`` as space-separated URLs; ``ai_summary`` as is)."""
    rows = models.ProductOverride.select(
        models.ProductOverride.field, models.ProductOverride.value
    ).where(
        models.ProductOverride.organization == org_id,
        models.ProductOverride.product == product.id,
    )
    values = {}
    for row in rows:
        value = row.value
        if row.field == "images":
            with contextlib.suppress(ValueError, TypeError):  # kept as stored otherwise
                value = " ".join(json.loads(value or "[]"))
        values[_COLUMNS.get(row.field, row.field)] = value
    return values


def record_of(product: models.Product) -> ProductRecord:
    """A catalog row as the plugins see a product (the pipeline's enrichment, the
    extractors, the catalog lookup provider)."""
    return ProductRecord(
        gtin=product.gtin,
        name=product.name,
        brand=product.brand,
        description=product.description,
        category=product.category,
        gpc_brick_code=product.gpc_brick_code,
        gpc_brick_label=product.gpc_brick_label,
        ingredients=product.ingredients,
        image_urls=tuple(product.image_urls or ()),
        source=product.source,
    )
