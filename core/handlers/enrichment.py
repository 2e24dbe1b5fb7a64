"""Scanner Enrichment operations: a capture's proposals, their review, and applying them."""

from __future__ import annotations

from typing import Any

from .. import proposals, views
from ..context import principal


def list_capture_proposals(id_: str) -> list[dict[str, Any]]:
    return [views.proposal_view(p) for p in proposals.for_capture(principal(), id_)]


def review_proposal(proposal_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return views.proposal_view(proposals.review(principal(), proposal_id, body))


def apply_capture_proposals(id_: str) -> dict[str, Any]:
    product_short_id, applied = proposals.apply(principal(), id_)
    return views.apply_view(product_short_id, applied)
