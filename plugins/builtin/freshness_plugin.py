"""The built-in layered freshness provider, as a ``trylast`` implementation of the
first-answer hook so an installed plugin can answer instead."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from ..hookspecs import hookimpl
from ..providers import Thresholds
from .freshness import GpcCatalog, OrgRule, resolve_thresholds


@lru_cache(maxsize=1)
def default_catalog() -> GpcCatalog:
    return GpcCatalog.load_default()


@hookimpl(trylast=True)
def freshness_thresholds(gtin: str, brick_code: str, org_rules: Sequence[OrgRule]) -> Thresholds:
    return resolve_thresholds(brick_code, catalog=default_catalog(), org_rules=org_rules)
