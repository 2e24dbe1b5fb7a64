"""Brand claims: an organisation claims the brands it owns, and freshness calls about products
of a claimed brand use that organisation's rules (the published per-brand overrides).

A brand is matched case-insensitively and with surrounding white space ignored, against the
catalog's ``brand`` of the product; one organisation per brand.
"""

from __future__ import annotations

import peewee

from scanserve.storage import models
from scanserve.storage.prepared import Prepared


class BrandTaken(Exception):
    """The brand is claimed by another organisation."""


def brand_key(brand: str) -> str:
    return " ".join(brand.split()).casefold()


def claim(org: models.Organization, brand: str) -> models.BrandClaim:
    key = brand_key(brand)
    if not key:
        raise ValueError("the brand must not be empty")
    existing = models.BrandClaim.get_or_none(models.BrandClaim.brand_key == key)
    if existing is not None:
        if existing.organization_id != org.id:
            raise BrandTaken(f"brand {brand!r} is claimed by another organisation")
        return existing
    try:
        with models.BrandClaim._meta.database.atomic():
            return models.BrandClaim.create(organization=org, brand=brand.strip(), brand_key=key)
    except peewee.IntegrityError:  # claimed meanwhile
        raise BrandTaken(f"brand {brand!r} is claimed by another organisation") from None


def release(org: models.Organization, brand: str) -> bool:
    deleted = (
        models.BrandClaim.delete()
        .where(
            models.BrandClaim.organization == org,
            models.BrandClaim.brand_key == brand_key(brand),
        )
        .execute()
    )
    return bool(deleted)


def claims(org: models.Organization | None = None) -> list[models.BrandClaim]:
    query = models.BrandClaim.select(models.BrandClaim, models.Organization).join(
        models.Organization
    )
    if org is not None:
        query = query.where(models.BrandClaim.organization == org)
    return list(query.order_by(models.BrandClaim.brand_key))


_OWNER = Prepared(
    lambda ph: models.BrandClaim.select(models.BrandClaim.organization.alias("org")).where(
        models.BrandClaim.brand_key == ph("key")
    )
)


def owner_of(brand: str) -> int | None:
    """The id of the organisation that claims ``brand``, or None (every freshness call about
    a branded product asks: a prepared query)."""
    key = brand_key(brand)
    if not key:
        return None
    row = _OWNER.first(key=key)
    return None if row is None else int(row["org"])
