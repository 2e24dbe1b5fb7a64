"""Scanner Freshness operations."""

from __future__ import annotations

from typing import Any

from .. import freshness
from ..context import principal, services


def get_freshness_thresholds(gtin: str) -> dict[str, Any]:
    return freshness.thresholds(services(), principal(), gtin)
