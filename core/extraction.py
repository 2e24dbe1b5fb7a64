"""Vision extraction: what happens to a submitted session's photos in the background.

    extraction_status: pending --submit--> processing --worker--> ready
                                                   (review) --> accepted / rejected

``submit`` sets ``processing`` and queues :func:`run_extraction`. The task waits for the
session's captures (their products are what the proposals are about): while one is still
in the pipeline it does nothing, and the pipeline queues the task again when the session's
last capture finishes (:func:`capture_finished`). Then it routes every photo, in gallery
order, to the available extractors whose ``photo_types`` contain the photo's type, runs the
product extractors once per capture with a product, and writes all the proposals and
``ready`` in one transaction. A session with no photos reaches ``ready`` with nothing to
review. An extractor that raises or overruns ``extraction_timeout_seconds`` is logged and
skipped; it never fails the session.

Which capture a photo's proposals belong to: the photo's own capture
(``capture_short_id``), else, when the session's captures with a product all name the same
product, the first of them; otherwise the photo is skipped (logged).

Ownership, as for captures (:mod:`scanserve.pipeline`): a worker claims the extraction by
setting ``extraction_claimed`` and incrementing ``extraction_attempts``, compare-and-set on
the attempts it read; the final write (proposals plus ``ready``) is a compare-and-set on the
same attempts inside one transaction, so of two workers only the last to claim writes, and
proposals are written exactly once. A task for an extraction another worker claimed less
than ``extraction_stale_seconds`` ago does nothing. A worker killed anywhere leaves the
session ``processing``; the sweep (:func:`requeue_stale`) releases the claim and queues it
again.

The review ends when no proposal of the session is ``PENDING`` any more: the session's
``extraction_status`` becomes ``accepted`` when at least one proposal was accepted, else
``rejected`` (see :mod:`scanserve.proposals`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from peewee import JOIN

from .captures import TERMINAL
from .imaging import sniff
from .objectstore import ObjectStoreError
from .pipeline import call_with_deadline, record_of
from .plugins.manager import unavailable_reason
from .plugins.providers import (
    PROPOSAL_FIELDS,
    ExtractionInput,
    Extractor,
    PhotoInput,
    ProposalDraft,
    ProviderError,
)
from .products import current_values
from .storage import models
from .storage.fields import utcnow
from .storage.prepared import Prepared

if TYPE_CHECKING:
    from .services import Services

logger = logging.getLogger("scanserve.extraction")

PENDING, PROCESSING, READY = "pending", "processing", "ready"
ACCEPTED, REJECTED = "accepted", "rejected"


@dataclass
class _Target:
    capture: models.Capture
    product: models.Product | None
    current: dict[str, str]


def queued_fields() -> dict[str, Any]:
    """The columns ``submit`` writes with ``processing``: queued, claimed by nobody."""
    return {
        "extraction_status": PROCESSING,
        "extraction_changed_at": utcnow(),
        "extraction_claimed": False,
    }


def capture_finished(services: Services, session_id: int) -> None:
    """A capture of the session reached a terminal state: if the session waits for
    extraction and this was its last running capture, queue the extraction."""
    row = _EXTRACTION_OF.first(id=session_id)  # every capture that finishes asks
    if row is None or row["extraction_status"] != PROCESSING:
        return
    if not _captures_running(session_id):
        services.queue.enqueue_extraction(row["short_id"])


_EXTRACTION_OF = Prepared(
    lambda ph: models.ScanSession.select(
        models.ScanSession.short_id, models.ScanSession.extraction_status
    ).where(models.ScanSession.id == ph("id", as_int=True))
)


def _captures_running(session_id: int) -> bool:
    return bool(
        models.Capture.select(models.Capture.id)
        .where(models.Capture.session == session_id, models.Capture.status.not_in(list(TERMINAL)))
        .exists()
    )


def requeue_stale(services: Services, stale_seconds: int) -> list[str]:
    """Release every extraction left ``processing`` without a change for longer than
    ``stale_seconds`` (claimed by a worker that died, or a message that was lost); returns the
    sessions' short ids, for the caller to queue. Compare-and-set, as for captures: of several
    sweeps only one re-queues a session."""
    now = utcnow()
    cutoff = now - timedelta(seconds=stale_seconds)
    S = models.ScanSession
    stale = (S.extraction_status == PROCESSING) & (
        S.extraction_changed_at.is_null() | (S.extraction_changed_at < cutoff)
    )
    requeued = []
    for row in S.select(S.id, S.short_id, S.extraction_attempts).where(stale):
        updated = (
            S.update(extraction_claimed=False, extraction_changed_at=now)
            .where(S.id == row.id, S.extraction_attempts == row.extraction_attempts, stale)
            .execute()
        )
        if updated:
            requeued.append(row.short_id)
    return requeued


def run_extraction(services: Services, session_short_id: str) -> None:
    S = models.ScanSession
    session = S.get_or_none(S.short_id == session_short_id)
    if session is None or session.extraction_status != PROCESSING:
        return
    stale_since = utcnow() - timedelta(seconds=services.settings.extraction_stale_seconds)
    changed = session.extraction_changed_at
    if session.extraction_claimed and changed is not None and changed >= stale_since:
        logger.info("extraction of %s is running in another worker", session_short_id)
        return
    if _captures_running(session.id):
        # The last capture to finish queues this again (capture_finished).
        logger.info("extraction of %s waits for its captures", session_short_id)
        return
    attempts = session.extraction_attempts + 1
    claimed = (
        S.update(
            extraction_claimed=True, extraction_changed_at=utcnow(), extraction_attempts=attempts
        )
        .where(
            S.id == session.id,
            S.extraction_status == PROCESSING,
            S.extraction_attempts == session.extraction_attempts,
        )
        .execute()
    )
    if not claimed:
        return
    try:
        rows = _extract(services, session)
    except Exception:  # a bug must not leave the session processing for ever
        logger.exception("extraction of %s failed unexpectedly", session_short_id)
        rows = []
    with services.db.atomic():
        finished = (
            S.update(
                extraction_status=READY,
                extraction_claimed=False,
                extraction_changed_at=utcnow(),
                modified=utcnow(),
            )
            .where(
                S.id == session.id,
                S.extraction_status == PROCESSING,
                S.extraction_attempts == attempts,
            )
            .execute()
        )
        if finished and rows:
            models.Proposal.insert_many(rows).execute()
    if finished:
        logger.info("extraction of %s ready: %d proposal(s)", session_short_id, len(rows))
    else:
        logger.info("extraction of %s was taken over by another worker", session_short_id)


def _extract(services: Services, session: models.ScanSession) -> list[dict[str, Any]]:
    extractors = []
    for extractor in services.plugins.extractors:
        reason = unavailable_reason(extractor)
        if reason:
            logger.info("extractor %s skipped: %s", extractor.name, reason)
        else:
            extractors.append(extractor)
    captures = list(
        models.Capture.select(models.Capture, models.Product)
        .join(models.Product, JOIN.LEFT_OUTER)
        .where(models.Capture.session == session.id)
        .order_by(models.Capture.created, models.Capture.id)
    )
    targets = {
        c.id: _Target(
            capture=c,
            product=c.product if c.product_id is not None else None,
            current=current_values(session.organization_id, c.product if c.product_id else None),
        )
        for c in captures
    }
    with_product = [t for t in targets.values() if t.product is not None]
    rows: list[dict[str, Any]] = []
    photos = models.Photo.select().where(models.Photo.session == session.id)
    for photo in photos.order_by(models.Photo.sort_order, models.Photo.id):
        routed = [e for e in extractors if photo.photo_type in e.photo_types]
        target = _target_of(photo, targets, with_product) if routed else None
        if target is None:
            continue
        try:
            data = services.objects.get(photo.s3_key)
        except ObjectStoreError as exc:
            logger.warning("photo %s cannot be read (%s): skipped", photo.short_id, exc)
            continue
        photo_input = PhotoInput(
            short_id=photo.short_id,
            photo_type=photo.photo_type,
            data=data,
            content_type=sniff(data) or "application/octet-stream",
            original_filename=photo.original_filename,
        )
        for extractor in routed:
            rows += _call(services, extractor, target, photo_input)
    for target in with_product:
        for extractor in extractors:
            if not extractor.photo_types:
                rows += _call(services, extractor, target, None)
    return rows


def _target_of(
    photo: models.Photo, targets: dict[int, _Target], with_product: list[_Target]
) -> _Target | None:
    """The photo's own capture, else the session's first capture with a product when all its
    captures with a product name the same one (a session photographing one product)."""
    if photo.capture_id is not None and photo.capture_id in targets:
        return targets[photo.capture_id]
    if len({t.capture.product_id for t in with_product}) == 1:
        return with_product[0]
    logger.info("photo %s belongs to no single product of the session: skipped", photo.short_id)
    return None


def _call(
    services: Services, extractor: Extractor, target: _Target, photo: PhotoInput | None
) -> list[dict[str, Any]]:
    item = ExtractionInput(
        photo=photo,
        product=record_of(target.product) if target.product is not None else None,
        current=dict(target.current),
        gtin=target.capture.gtin,
        capture_id=target.capture.short_id,
    )
    what = f"photo {photo.short_id}" if photo else f"capture {target.capture.short_id}"
    try:
        drafts = call_with_deadline(
            lambda: extractor.extract(item), services.settings.extraction_timeout_seconds
        )
    except Exception as exc:
        # A ProviderError or the deadline is the extractor saying "not this time"; anything
        # else is a bug in it, logged as an error with its traceback (the fuzz run counts it).
        expected = isinstance(exc, ProviderError | TimeoutError)
        logger.log(
            logging.WARNING if expected else logging.ERROR,
            "extractor %s failed on %s: %s",
            extractor.name,
            what,
            exc,
            exc_info=not expected,
        )
        return []
    rows = []
    for draft in drafts or []:
        row = _row(extractor, target, draft)
        if row is None:
            logger.warning("extractor %s returned an unusable proposal: %r", extractor.name, draft)
        else:
            rows.append(row)
    return rows


def _row(extractor: Extractor, target: _Target, draft: Any) -> dict[str, Any] | None:
    if not isinstance(draft, ProposalDraft) or draft.field_name not in PROPOSAL_FIELDS:
        return None
    if not isinstance(draft.proposed_value, str):
        return None
    try:
        confidence = min(1.0, max(0.0, float(draft.confidence)))
    except (TypeError, ValueError):
        return None
    current = draft.current_value
    if current is None:
        current = target.current.get(draft.field_name, "")
    # the contract's metadata limits: flat strings, 50 keys of 40, values of 500
    metadata = {
        str(k)[:40]: str(v)[:500]
        for k, v in list((draft.metadata or {}).items())[:50]
        if str(k) and str(v)
    }
    return {
        "id": uuid.uuid4(),
        "organization": target.capture.organization_id,
        "capture": target.capture.id,
        "field_name": draft.field_name,
        "current_value": str(current),
        "proposed_value": draft.proposed_value,
        "confidence": f"{confidence:.2f}",
        "reasoning": str(draft.reasoning or ""),
        "source": str(draft.source or extractor.name)[:100],
        "status": "PENDING",
        "metadata": metadata,
        "created": utcnow(),
    }
