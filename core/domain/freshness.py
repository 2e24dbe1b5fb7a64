"""Freshness thresholds for a GTIN: the product's GPC brick from the catalog, the rules of the
caller's organisation and of the organisation that claims the product's brand, and the
plugins' first answer."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, cast

from scanserve.domain import brands, gs1
from scanserve.identity.auth import Principal
from scanserve.plugins.providers import OrgRule, Scope, Thresholds
from scanserve.storage import models
from scanserve.storage.prepared import Prepared

if TYPE_CHECKING:
    from scanserve.domain.services import Services


_BRICK = Prepared(
    lambda ph: models.Product.select(models.Product.gpc_brick_code, models.Product.brand).where(
        models.Product.gtin == ph("gtin")
    )
)
_RULES = Prepared(
    lambda ph: models.FreshnessRule.select(
        models.FreshnessRule.scope,
        models.FreshnessRule.code,
        models.FreshnessRule.warning_days,
        models.FreshnessRule.critical_days,
        models.FreshnessRule.label,
    ).where(models.FreshnessRule.organization == ph("org"))
)


def _caller_org(principal: Principal) -> int | None:
    org_id = principal.default_org_id
    if org_id is None and len(principal.org_ids) == 1:
        org_id = next(iter(principal.org_ids))
    return org_id


def _org_rules(org_ids: list[int]) -> list[OrgRule]:
    """The stored rules of these organisations, the first organisation's first (the
    provider takes the first rule for a scope and code)."""
    return [
        # scope was stored by 'freshness set', which checks it
        OrgRule(
            scope=cast(Scope, r["scope"]),
            code=r["code"],
            warning_days=r["warning_days"],
            critical_days=r["critical_days"],
            label=r["label"],
        )
        for org_id in org_ids
        for r in _RULES.dicts(org=org_id)
    ]


@lru_cache(maxsize=4096)
def _normalised(raw_gtin: str) -> str:
    """The GTIN-14, or "" when malformed (the fallback layers answer). Scanners ask about the
    same products over and over, and reading a GTIN through biip costs more than the rest of
    the answer's Python together: the last few thousand are remembered (a pure function)."""
    try:
        return gs1.normalise_gtin(raw_gtin)
    except ValueError:
        return ""


def thresholds(services: Services, principal: Principal, raw_gtin: str) -> Thresholds:
    gtin = _normalised(raw_gtin)
    brick = ""
    org_ids: list[int] = []
    caller = _caller_org(principal)
    if caller is not None:
        org_ids.append(caller)
    if gtin:
        row = _BRICK.first(gtin=gtin)
        if row is not None:
            brick = row["gpc_brick_code"]
            # Per-brand overrides: the organisation that claims the brand, after the caller's.
            owner = brands.owner_of(row["brand"])
            if owner is not None and owner not in org_ids:
                org_ids.append(owner)
    return services.plugins.freshness_thresholds(gtin, brick, _org_rules(org_ids))
