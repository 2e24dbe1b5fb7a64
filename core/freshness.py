"""Freshness thresholds for a GTIN: the product's GPC brick from the catalog, the caller's
organisation rules, and the plugins' first answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from . import gs1
from .auth import Principal
from .plugins.builtin.freshness import OrgRule, Scope
from .storage import models
from .storage.prepared import Prepared

if TYPE_CHECKING:
    from .services import Services


_BRICK = Prepared(
    lambda ph: models.Product.select(models.Product.gpc_brick_code).where(
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
    ).where(models.FreshnessRule.organization == ph("org", as_int=True))
)


def _org_rules(principal: Principal) -> list[OrgRule]:
    org_id = principal.default_org_id
    if org_id is None and len(principal.org_ids) == 1:
        org_id = next(iter(principal.org_ids))
    if org_id is None:
        return []
    return [
        # scope was stored by 'freshness set', which checks it
        OrgRule(
            scope=cast(Scope, r["scope"]),
            code=r["code"],
            warning_days=r["warning_days"],
            critical_days=r["critical_days"],
            label=r["label"],
        )
        for r in _RULES.dicts(org=org_id)
    ]


def thresholds(services: Services, principal: Principal, raw_gtin: str) -> dict[str, Any]:
    try:
        gtin = gs1.normalise_gtin(raw_gtin)
    except ValueError:
        gtin = ""  # malformed: the fallback layers answer
    brick = ""
    if gtin:
        row = _BRICK.first(gtin=gtin)
        brick = row["gpc_brick_code"] if row is not None else ""
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
