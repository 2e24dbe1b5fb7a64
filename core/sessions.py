"""Scanning sessions: ACTIVE while captures are added; COMPLETED after end or submit;
EXPIRED when idle past the TTL. Anything but ACTIVE is terminal for polling clients."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from peewee import JOIN, fn

from .auth import Principal
from .errors import Conflict, FieldError, NotFound, ValidationFailed
from .metadata import initial, merge
from .products import overlay_names
from .storage import models
from .storage.fields import utcnow
from .storage.scoping import get_owned, visible

SHORTUUID = re.compile("[2-9A-HJ-NP-Za-km-z]{22}")
ACTIVE, COMPLETED, EXPIRED = "ACTIVE", "COMPLETED", "EXPIRED"


@dataclass
class SessionDetail:
    session: models.ScanSession
    captures: list[models.Capture]
    photos: list[models.Photo]


def _organization_for_new(principal: Principal, organization_short_id: str) -> int:
    if principal.default_org_id is not None:
        # An API key acts for its own organisation; the field is ignored, unchecked.
        return principal.default_org_id
    if not organization_short_id:
        raise ValidationFailed(
            [
                FieldError(
                    "/organization_short_id", "is required when signed in with a browser session"
                )
            ]
        )
    if not SHORTUUID.fullmatch(organization_short_id):
        raise ValidationFailed(
            [FieldError("/organization_short_id", "must be a shortuuid or its UUID form")]
        )
    org = models.Organization.get_or_none(models.Organization.short_id == organization_short_id)
    if org is None or org.id not in principal.org_ids:
        raise NotFound(f"No organisation with id {organization_short_id}.")
    return int(org.id)


def create(principal: Principal, body: dict[str, Any]) -> models.ScanSession:
    org_id = _organization_for_new(principal, body.get("organization_short_id") or "")
    return models.ScanSession.create(
        organization=org_id,
        metadata=initial(body.get("metadata")),
        user_agent=body.get("user_agent") or "",
        device_context=body.get("device_context") or {},
        capture_mode=body.get("capture_mode") or "barcode_scan",
    )


def _with_counts(query: Any) -> Any:
    captures = models.Capture.select(fn.COUNT(models.Capture.id)).where(
        models.Capture.session == models.ScanSession.id
    )
    photos = models.Photo.select(fn.COUNT(models.Photo.id)).where(
        models.Photo.session == models.ScanSession.id
    )
    return query.select_extend(captures.alias("capture_count"), photos.alias("photo_count"))


def page(
    principal: Principal, page: int, page_size: int, status: str | None
) -> tuple[list[models.ScanSession], int]:
    base = visible(models.ScanSession.select(), models.ScanSession, principal)
    if status:
        base = base.where(models.ScanSession.status == status)
    total = base.count()
    if (page - 1) * page_size >= total:
        # Past the end: nothing to fetch, and a page number too large for the database's
        # OFFSET (SQLite's is 64-bit) never reaches it.
        return [], total
    rows = list(
        _with_counts(base)
        .order_by(models.ScanSession.created.desc(), models.ScanSession.id.desc())
        .paginate(page, page_size)
    )
    return rows, total


def get(principal: Principal, short_id: str) -> models.ScanSession:
    query = _with_counts(visible(models.ScanSession.select(), models.ScanSession, principal))
    row = query.where(models.ScanSession.short_id == short_id).first()
    if row is None:
        get_owned(models.ScanSession, short_id, principal, "session")  # raises NotFound
    return row  # type: ignore[no-any-return]


def detail(principal: Principal, short_id: str) -> SessionDetail:
    """The session with its captures and photos, in three queries whatever their number."""
    session = get_owned(models.ScanSession, short_id, principal, "session")
    captures = list(
        models.Capture.select(models.Capture, models.Product)
        .join(models.Product, JOIN.LEFT_OUTER)
        .where(models.Capture.session == session.id)
        .order_by(models.Capture.created, models.Capture.id)
    )
    photos = list(
        models.Photo.select(models.Photo, models.Capture.short_id)
        .join(models.Capture, JOIN.LEFT_OUTER)
        .where(models.Photo.session == session.id)
        .order_by(models.Photo.sort_order, models.Photo.id)
    )
    overlay_names(captures)
    session.capture_count = len(captures)
    session.photo_count = len(photos)
    return SessionDetail(session=session, captures=captures, photos=photos)


def status_summary(
    principal: Principal, short_id: str
) -> tuple[models.ScanSession, list[models.Capture]]:
    session = get_owned(models.ScanSession, short_id, principal, "session")
    captures = list(
        models.Capture.select(
            models.Capture.short_id,
            models.Capture.status,
            fn.COUNT(models.Proposal.id).alias("proposal_count"),
        )
        .join(models.Proposal, JOIN.LEFT_OUTER)
        .where(models.Capture.session == session.id)
        .group_by(models.Capture.id, models.Capture.short_id, models.Capture.status)
        .order_by(models.Capture.created, models.Capture.id)
    )
    return session, captures


def _change_status(session: models.ScanSession, **changes: Any) -> None:
    now = utcnow()
    changes.update(modified=now, last_activity=now)
    updated = (
        models.ScanSession.update(**changes)
        .where(models.ScanSession.id == session.id, models.ScanSession.status == session.status)
        .execute()
    )
    if not updated:
        raise Conflict("The session changed meanwhile; fetch it again.")


def end(principal: Principal, short_id: str) -> models.ScanSession:
    """ACTIVE -> COMPLETED. Ending a session that is already over answers it as it is
    (idempotent: a client that lost the first answer may simply ask again)."""
    session = get_owned(models.ScanSession, short_id, principal, "session")
    if session.status == ACTIVE:
        with contextlib.suppress(Conflict):  # ended or submitted meanwhile: over either way
            _change_status(session, status=COMPLETED)
    return get(principal, short_id)


def submit(principal: Principal, short_id: str, *, again: bool = True) -> models.ScanSession:
    """ACTIVE -> COMPLETED with extraction started. Submitting again answers the session as
    it is; only a session that was ended (or expired) without being submitted is a 409."""
    session = get_owned(models.ScanSession, short_id, principal, "session")
    if session.status != ACTIVE:
        if session.status == COMPLETED and session.extraction_status != "pending":
            return get(principal, short_id)  # already submitted: idempotent
        raise Conflict(
            f"The session is {session.status} without having been submitted; "
            "only an ACTIVE session can be submitted."
        )
    from .extraction import queued_fields  # the handler queues the extraction

    try:
        _change_status(session, status=COMPLETED, **queued_fields())
    except Conflict:
        if not again:
            raise
        return submit(principal, short_id, again=False)  # decide on the state that won
    return get(principal, short_id)


def touch(session_id: int) -> None:
    """A capture or photo was added: the session changed and is in use."""
    now = utcnow()
    models.ScanSession.update(modified=now, last_activity=now).where(
        models.ScanSession.id == session_id
    ).execute()


def require_active(session: models.ScanSession) -> None:
    if session.status != ACTIVE:
        raise Conflict(
            f"The session is {session.status}; captures and photos need an ACTIVE session."
        )


def update_metadata(session: models.ScanSession, update: dict[str, str] | None) -> None:
    session.metadata = merge(session.metadata, update)


def expire_idle(ttl_seconds: int) -> int:
    """Mark ACTIVE sessions idle for longer than the TTL as EXPIRED; returns how many."""
    now = utcnow()
    cutoff = now - timedelta(seconds=ttl_seconds)
    return int(
        models.ScanSession.update(status=EXPIRED, modified=now)
        .where(models.ScanSession.status == ACTIVE, models.ScanSession.last_activity < cutoff)
        .execute()
    )
