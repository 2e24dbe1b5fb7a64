"""Scanning sessions: ACTIVE while captures are added; COMPLETED after end or submit;
EXPIRED when idle past the TTL. Anything but ACTIVE is terminal for polling clients."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from peewee import JOIN, Field, fn

from scanserve.domain.extraction import queued_fields
from scanserve.domain.metadata import initial
from scanserve.errors import Conflict, FieldError, NotFound, ValidationFailed
from scanserve.generated import shapes
from scanserve.identity.auth import Principal
from scanserve.identity.scoping import get_owned, owns_session, visible
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.storage.prepared import Prepared, seq

SHORTUUID = re.compile("[2-9A-HJ-NP-Za-km-z]{22}")
ACTIVE, COMPLETED, EXPIRED = "ACTIVE", "COMPLETED", "EXPIRED"


@dataclass
class SessionDetail:
    """Rows as plain dicts keyed by the contract's field names (see
    :mod:`scanserve.http.presenters`): ``session`` has the ``SessionResponse`` fields but the
    counts."""

    session: dict[str, Any]
    captures: list[shapes.CaptureResponse]
    photos: list[shapes.PhotoResponse]


def _shaped(
    shape: type, columns: dict[str, Any], *, computed: tuple[str, ...] = ()
) -> tuple[Any, ...]:
    """``columns`` selected under the names of the response shape's fields, in the spec's
    order: a read path's rows are the response bodies as they are. The names are checked
    against the shape generated from the spec (``generated/shapes.py``) when the query is
    built, once: a field the spec has and the columns lack (other than the ``computed`` ones,
    which the presenter adds), or a column the spec does not have, fails there."""
    expected = [name for name in shape.__annotations__ if name not in computed]
    if list(columns) != expected:
        raise RuntimeError(
            f"the columns of a {shape.__name__} row are {list(columns)}; "
            f"the spec's fields are {expected}"
        )
    # A column already under its field's name is selected as it is (no alias in the SQL).
    return tuple(
        expr if isinstance(expr, Field) and expr.column_name == name else expr.alias(name)
        for name, expr in columns.items()
    )


#: The ``SessionResponse`` fields that are counted, not selected.
COUNTS = ("capture_count", "photo_count")


def session_columns() -> tuple[Any, ...]:
    """A session's response fields (but the counts), selected under their contract names."""
    s = models.ScanSession
    return _shaped(
        shapes.SessionResponse,
        {
            "id": s.short_id,
            "status": s.status,
            "capture_mode": s.capture_mode,
            "created": s.created,
            "modified": s.modified,
            "metadata": s.metadata,
        },
        computed=COUNTS,
    )


def capture_columns(session_short_id: Any) -> tuple[Any, ...]:
    """A capture's response fields under their contract names; ``session_short_id`` is a
    column (joined) or a constant (one session's captures: no join needed)."""
    c, p = models.Capture, models.Product
    return _shaped(
        shapes.CaptureResponse,
        {
            "id": c.short_id,
            "session_id": session_short_id,
            "status": c.status,
            "capture_type": c.capture_type,
            "raw_value": c.raw_value,
            "gtin": c.gtin,
            "error_message": c.error_message,
            "created": c.created,
            "metadata": c.metadata,
            "gs1_dl_data": c.gs1_dl_data,
            "product_short_id": p.short_id,
            # the capture's organisation's own name for the product wins
            # (products.overlay_names)
            "product_name": fn.COALESCE(models.ProductOverride.value, p.name),
            "processed_at": c.processed_at,
            "uploaded_image_key": c.uploaded_image_key,
            "qr_analysis": c.qr_analysis,
        },
    )


def join_name_override(query: Any) -> Any:
    """Join the organisation's name override of each capture's product (see
    :func:`capture_columns`); the query's current join context must be Capture."""
    o = models.ProductOverride
    return query.join(
        o,
        JOIN.LEFT_OUTER,
        on=(
            (o.product == models.Capture.product)
            & (o.organization == models.Capture.organization)
            & (o.field == "name")
        ),
    )


def photo_columns() -> tuple[Any, ...]:
    p = models.Photo
    return _shaped(
        shapes.PhotoResponse,
        {
            "id": p.short_id,
            "photo_type": p.photo_type,
            "s3_key": p.s3_key,
            "original_filename": p.original_filename,
            "sort_order": p.sort_order,
            "created": p.created,
            "metadata": p.metadata,
            "file_size": p.file_size,
            "capture_short_id": models.Capture.short_id,
        },
    )


# A session with up to this many captures and photos is read on the event loop (on SQLite,
# see scanserve.http.context.reads_inline); a larger one in a worker thread.
INLINE_ROWS = 200


def _session_lookup(*columns: Any) -> Prepared:
    """A session of the caller's organisations by short id, with its primary key as ``pk``,
    the key that created it as ``creator`` and, as ``rows``, how many captures and photos it
    holds (index-only counts)."""
    s = models.ScanSession
    captures = models.Capture.select(fn.COUNT(models.Capture.id)).where(
        models.Capture.session == s.id
    )
    photos = models.Photo.select(fn.COUNT(models.Photo.id)).where(models.Photo.session == s.id)
    return Prepared(
        lambda ph: s.select(
            s.id.alias("pk"),
            s.created_by_key.alias("creator"),
            captures.alias("capture_rows"),
            photos.alias("photo_rows"),
            *columns,
        ).where(s.organization.in_(ph("orgs")), s.short_id == ph("short_id"))
    )


def _detail_queries() -> tuple[Prepared, Prepared, Prepared]:
    c, p = models.Capture, models.Photo
    captures = Prepared(
        lambda ph: (
            join_name_override(
                c.select(*capture_columns(ph("short_id")))
                .join(models.Product, JOIN.LEFT_OUTER)
                .switch(c)
            )
            .where(c.session == ph("pk"))
            .order_by(c.created, c.id)
        )
    )
    photos = Prepared(
        lambda ph: (
            p.select(*photo_columns())
            .join(c, JOIN.LEFT_OUTER)
            .where(p.session == ph("pk"))
            .order_by(p.sort_order, p.id)
        )
    )
    return _session_lookup(*session_columns()), captures, photos


def _status_queries() -> tuple[Prepared, Prepared]:
    s, c = models.ScanSession, models.Capture
    captures = Prepared(
        lambda ph: (
            c.select(
                *_shaped(
                    shapes.CaptureStatusSummary,
                    {
                        "id": c.short_id,
                        "status": c.status,
                        "proposal_count": fn.COUNT(models.Proposal.id),
                    },
                )
            )
            .join(models.Proposal, JOIN.LEFT_OUTER)
            .where(c.session == ph("pk"))
            .group_by(c.id, c.short_id, c.status)
            .order_by(c.created, c.id)
        )
    )
    return _session_lookup(s.status, s.extraction_status, s.extraction_failures), captures


_DETAIL = _detail_queries()
_STATUS = _status_queries()


def _owned_row(principal: Principal, short_id: str, lookup: Prepared) -> dict[str, Any]:
    row = lookup.first(orgs=seq(principal.org_ids), short_id=short_id)
    if row is None or not owns_session(principal, row.pop("creator")):
        raise NotFound(f"No session with id {short_id}.")
    row["rows"] = row.pop("capture_rows") + row.pop("photo_rows")
    return row


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
        created_by_key=principal.api_key_id,
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


def find(principal: Principal, short_id: str, *, for_status: bool = False) -> dict[str, Any]:
    """The session row that :func:`detail_of` (or, ``for_status``, :func:`status_of`) needs:
    one query; its ``rows`` says how large the rest will be."""
    return _owned_row(principal, short_id, _STATUS[0] if for_status else _DETAIL[0])


def detail_of(session: dict[str, Any], short_id: str) -> SessionDetail:
    _, captures_q, photos_q = _DETAIL
    pk = session["pk"]
    # rows selected under the contract's names (capture_columns, photo_columns)
    captures = cast("list[shapes.CaptureResponse]", captures_q.dicts(short_id=short_id, pk=pk))
    photos = cast("list[shapes.PhotoResponse]", photos_q.dicts(pk=pk))
    fields = {k: v for k, v in session.items() if k not in ("pk", "rows")}
    return SessionDetail(session=fields, captures=captures, photos=photos)


def detail(principal: Principal, short_id: str) -> SessionDetail:
    """The session with its captures and photos as response rows, in three queries whatever
    their number (no model objects: rows go straight to the response)."""
    return detail_of(find(principal, short_id), short_id)


def status_of(session: dict[str, Any]) -> list[dict[str, Any]]:
    return _STATUS[1].dicts(pk=session["pk"])  # CaptureStatusSummary rows


def status_summary(
    principal: Principal, short_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The session's ``status`` and ``extraction_status``, and one ``{id, status,
    proposal_count}`` row per capture, oldest first: two queries."""
    session = find(principal, short_id, for_status=True)
    return session, status_of(session)


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
    try:
        _change_status(session, status=COMPLETED, **queued_fields())
    except Conflict:
        if not again:
            raise
        return submit(principal, short_id, again=False)  # decide on the state that won
    return get(principal, short_id)


def touch(session_id: int) -> None:
    """A capture or photo was added: the session changed and is in use."""
    _TOUCH.run(now=utcnow(), id=session_id)


_TOUCH = Prepared(
    lambda ph: models.ScanSession.update(
        modified=ph("now", models.ScanSession.modified),
        last_activity=ph("now", models.ScanSession.last_activity),
    ).where(models.ScanSession.id == ph("id"))
)


def require_active(session: models.ScanSession) -> None:
    if session.status != ACTIVE:
        raise Conflict(
            f"The session is {session.status}; captures and photos need an ACTIVE session."
        )


def expire_idle(ttl_seconds: int) -> int:
    """Mark ACTIVE sessions idle for longer than the TTL as EXPIRED; returns how many."""
    now = utcnow()
    cutoff = now - timedelta(seconds=ttl_seconds)
    return int(
        models.ScanSession.update(status=EXPIRED, modified=now)
        .where(models.ScanSession.status == ACTIVE, models.ScanSession.last_activity < cutoff)
        .execute()
    )


def organization_of(short_id: str) -> int | None:
    """The session's organisation (what the queue's fairness needs of an extraction message
    without one), or None when there is no such session."""
    row = (
        models.ScanSession.select(models.ScanSession.organization)
        .where(models.ScanSession.short_id == short_id)
        .tuples()
        .first()
    )
    return None if row is None else int(row[0])
