"""Freshness thresholds for a GTIN: the product's GPC brick from the catalog, the rules of the
caller's organisation and of the organisation that claims the product's brand, and the
plugins' first answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from . import brands, gs1
from .auth import Principal
from .plugins.builtin.freshness import OrgRule, Scope
from .storage import models

if TYPE_CHECKING:
    from .services import Services


def _caller_org(principal: Principal) -> int | None:
    org_id = principal.default_org_id
    if org_id is None and len(principal.org_ids) == 1:
        org_id = next(iter(principal.org_ids))
    return org_id


def _org_rules(org_ids: list[int]) -> list[OrgRule]:
    """The stored rules of these organisations, the first organisation's first (the
    provider takes the first rule for a scope and code)."""
    if not org_ids:
        return []
    rows = list(
        models.FreshnessRule.select().where(models.FreshnessRule.organization.in_(org_ids))
    )
    rows.sort(key=lambda r: org_ids.index(r.organization_id))
    return [
        OrgRule(
            scope=cast(Scope, r.scope),  # stored by 'freshness set', which checks it
            code=r.code,
            warning_days=r.warning_days,
            critical_days=r.critical_days,
            label=r.label,
        )
        for r in rows
    ]


def thresholds(services: Services, principal: Principal, raw_gtin: str) -> dict[str, Any]:
    try:
        gtin = gs1.normalise_gtin(raw_gtin)
    except ValueError:
        gtin = ""  # malformed: the fallback layers answer
    brick = ""
    org_ids: list[int] = []
    caller = _caller_org(principal)
    if caller is not None:
        org_ids.append(caller)
    if gtin:
        product = models.Product.get_or_none(models.Product.gtin == gtin)
        if product is not None:
            brick = product.gpc_brick_code
            # Per-brand overrides: the organisation that claims the brand, after the caller's.
            owner = brands.owner_of(product.brand)
            if owner is not None and owner not in org_ids:
                org_ids.append(owner)
    result = services.plugins.freshness_thresholds(gtin, brick, _org_rules(org_ids))
    answer: dict[str, Any] = {
        "warningDays": result.warning_days,
        "criticalDays": result.critical_days,
        "categoryLabel": result.category_label,
        "source": result.source,
    }
    if result.source == "plugin":
        answer["pluginName"] = result.plugin
    return answer
