"""The built-in layered freshness provider (:mod:`scanserve.domain.freshness_layers`), as a
``trylast`` implementation of the first-answer hook so an installed plugin can answer instead."""

from __future__ import annotations

from collections.abc import Sequence

from scanserve.domain.freshness_layers import default_catalog, resolve_thresholds
from scanserve.plugins.hookspecs import hookimpl
from scanserve.plugins.providers import OrgRule, Thresholds


@hookimpl(trylast=True)
def freshness_thresholds(gtin: str, brick_code: str, org_rules: Sequence[OrgRule]) -> Thresholds:
    return resolve_thresholds(brick_code, catalog=default_catalog(), org_rules=org_rules)
