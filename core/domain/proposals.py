"""Proposals: list, review, apply.

- Review sets ``ACCEPTED`` or ``REJECTED`` once: a proposal that was already reviewed answers
  409 (compare-and-set on ``PENDING``, so of two reviewers racing only one wins).
- When the last ``PENDING`` proposal of a session is reviewed, the review is over: the
  session's ``extraction_status`` goes from ``ready`` to ``accepted`` when at least one of its
  proposals was accepted, else to ``rejected``. A session whose extraction produced no
  proposals stays ``ready`` (nothing to review).
- Apply writes each ``ACCEPTED`` proposal not applied yet, oldest first, as the calling
  organisation's value of the field (:mod:`scanserve.domain.products`: the shared catalog row is
  left alone), stamps its ``applied_at``, and answers with exactly those proposals; a second
  apply answers an empty ``applied``. Two accepted proposals for one field: the newer wins.
"""

from __future__ import annotations

import uuid
from typing import Any

from scanserve.domain import captures
from scanserve.domain.extraction import ACCEPTED as SESSION_ACCEPTED
from scanserve.domain.extraction import READY
from scanserve.domain.extraction import REJECTED as SESSION_REJECTED
from scanserve.domain.metadata import merge
from scanserve.domain.products import set_override
from scanserve.errors import CaptureHasNoProduct, Conflict, NotFound
from scanserve.identity.auth import Principal
from scanserve.identity.scoping import visible
from scanserve.storage import models
from scanserve.storage.fields import utcnow

PENDING, ACCEPTED, REJECTED = "PENDING", "ACCEPTED", "REJECTED"


def for_capture(principal: Principal, capture_short_id: str) -> list[models.Proposal]:
    capture = captures.get(principal, capture_short_id)
    return list(
        models.Proposal.select()
        .where(models.Proposal.capture == capture.id)
        .order_by(models.Proposal.created, models.Proposal.id)
    )


def _get(principal: Principal, proposal_id: str) -> models.Proposal:
    try:
        key = uuid.UUID(proposal_id)
    except (ValueError, AttributeError, TypeError):
        raise NotFound(f"No proposal with id {proposal_id}.") from None
    row = (
        visible(models.Proposal.select(), models.Proposal, principal)
        .where(models.Proposal.id == key)
        .first()
    )
    if row is None:
        raise NotFound(f"No proposal with id {proposal_id}.")
    return row  # type: ignore[no-any-return]


def review(principal: Principal, proposal_id: str, body: dict[str, Any]) -> models.Proposal:
    proposal = _get(principal, proposal_id)
    if proposal.status != PENDING:
        raise Conflict(
            f"The proposal was already reviewed ({proposal.status}); a decision is final."
        )
    changes: dict[str, Any] = {"status": body["status"], "reviewed_at": utcnow()}
    if "metadata" in body:
        changes["metadata"] = merge(proposal.metadata or {}, body["metadata"])
    updated = (
        models.Proposal.update(**changes)
        .where(models.Proposal.id == proposal.id, models.Proposal.status == PENDING)
        .execute()
    )
    if not updated:
        raise Conflict("The proposal was reviewed meanwhile; fetch it again.")
    _settle_session(proposal.capture_id)
    return _get(principal, proposal_id)


def _settle_session(capture_id: int) -> None:
    """End the session's review when none of its proposals is PENDING any more."""
    capture = models.Capture.get_by_id(capture_id)
    of_session = (
        models.Proposal.select(models.Proposal.id)
        .join(models.Capture)
        .where(models.Capture.session == capture.session_id)
    )
    if of_session.where(models.Proposal.status == PENDING).exists():
        return
    any_accepted = of_session.where(models.Proposal.status == ACCEPTED).exists()
    models.ScanSession.update(
        extraction_status=SESSION_ACCEPTED if any_accepted else SESSION_REJECTED,
        modified=utcnow(),
    ).where(
        models.ScanSession.id == capture.session_id,
        models.ScanSession.extraction_status == READY,
    ).execute()


def apply(principal: Principal, capture_short_id: str) -> tuple[str, list[models.Proposal]]:
    capture = captures.get(principal, capture_short_id)
    product = capture.product if capture.product_id is not None else None
    if product is None:
        raise CaptureHasNoProduct(f"Capture {capture_short_id} has no linked product yet.")
    applied = []
    P = models.Proposal
    with P._meta.database.atomic():
        waiting = (
            P.select()
            .where(P.capture == capture.id, P.status == ACCEPTED, P.applied_at.is_null())
            .order_by(P.created, P.id)
        )
        for proposal in waiting:
            now = utcnow()
            claimed = (
                P.update(applied_at=now)
                .where(P.id == proposal.id, P.applied_at.is_null())
                .execute()
            )
            if not claimed:  # a concurrent apply wrote it
                continue
            set_override(
                capture.organization_id,
                product.id,
                proposal.field_name,
                proposal.proposed_value,
                proposal.id,
            )
            proposal.applied_at = now
            applied.append(proposal)
    return product.short_id, applied
