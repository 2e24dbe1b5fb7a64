"""Freshness thresholds for a GTIN: the product's GPC brick from the catalog, the caller's
organisation rules, and the plugins' first answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from . import gs1
from .auth import Principal
from .plugins.builtin.freshness import OrgRule, Scope
from .storage import models

if TYPE_CHECKING:
    from .services import Services


def _org_rules(principal: Principal) -> list[OrgRule]:
    org_id = principal.default_org_id
    if org_id is None and len(principal.org_ids) == 1:
        org_id = next(iter(principal.org_ids))
    if org_id is None:
        return []
    rows = models.FreshnessRule.select().where(models.FreshnessRule.organization == org_id)
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
    if gtin:
        product = models.Product.get_or_none(models.Product.gtin == gtin)
        brick = product.gpc_brick_code if product is not None else ""
    result = services.plugins.freshness_thresholds(gtin, brick, _org_rules(principal))
    answer: dict[str, Any] = {
        "warningDays": result.warning_days,
        "criticalDays": result.critical_days,
        "categoryLabel": result.category_label,
        "source": result.source,
    }
    if result.source == "plugin":
        answer["pluginName"] = result.plugin
    return answer
