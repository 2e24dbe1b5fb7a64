"""Scanner Enrichment operations: a capture's proposals, their review, and applying them."""

from __future__ import annotations

from typing import Any

from scanserve.domain import proposals
from scanserve.generated import shapes
from scanserve.http import presenters
from scanserve.http.context import principal


def list_capture_proposals(id_: str) -> list[shapes.Proposal]:
    return [presenters.proposal_view(p) for p in proposals.for_capture(principal(), id_)]


def review_proposal(proposal_id: str, body: dict[str, Any]) -> shapes.Proposal:
    return presenters.proposal_view(proposals.review(principal(), proposal_id, body))


def apply_capture_proposals(id_: str) -> shapes.ApplyProposalsResponse:
    product_short_id, applied = proposals.apply(principal(), id_)
    return presenters.apply_view(product_short_id, applied)
