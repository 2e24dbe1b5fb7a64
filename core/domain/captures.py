"""Captures: what the camera (or an operator) read, interpreted, stored exactly as sent, and
handed to the background pipeline."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from peewee import JOIN, fn

from scanserve.domain import budgets, gs1, keyed, sessions
from scanserve.domain.metadata import initial
from scanserve.domain.products import overlay_names
from scanserve.domain.statuses import (  # noqa: F401 - also read from here (captures.PENDING, ...)
    COMPLETED,
    ENRICHING,
    FAILED,
    LOOKING_UP,
    NOT_FOUND,
    PENDING,
    RESOLVING,
    RETRYABLE,
    TERMINAL,
)
from scanserve.errors import Conflict, FieldError, NotFound, ValidationFailed
from scanserve.generated import shapes
from scanserve.identity.auth import Principal
from scanserve.identity.scoping import owns_session, visible
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.storage.models import new_short_id
from scanserve.storage.prepared import Prepared, seq

if TYPE_CHECKING:
    from scanserve.domain.services import Services

logger = logging.getLogger("scanserve.captures")


def capture_query() -> Any:
    """Captures with their session's short id and their product, in one query."""
    return (
        models.Capture.select(models.Capture, models.ScanSession.short_id, models.Product)
        .join(models.ScanSession)
        .switch(models.Capture)
        .join(models.Product, JOIN.LEFT_OUTER)
    )


def get(principal: Principal, short_id: str) -> models.Capture:
    row = (
        visible(capture_query(), models.Capture, principal)
        .where(models.Capture.short_id == short_id)
        .first()
    )
    if row is None:
        raise NotFound(f"No capture with id {short_id}.")
    overlay_names([row])
    return row  # type: ignore[no-any-return]


def _row_query(ph: Any, *, own: bool) -> Any:
    """A capture of the caller's organisations as its response row; ``own``: only if its
    session was created by the key ``ph("key")`` (a publishable key's)."""
    query = (
        models.Capture.select(*sessions.capture_columns(models.ScanSession.short_id))
        .join(models.ScanSession)
        .switch(models.Capture)
        .join(models.Product, JOIN.LEFT_OUTER)
        .switch(models.Capture)
        .join(
            models.ProductOverride,
            JOIN.LEFT_OUTER,
            on=(
                (models.ProductOverride.product == models.Capture.product)
                & (models.ProductOverride.organization == models.Capture.organization)
                & (models.ProductOverride.field == "name")
            ),
        )
        .where(
            models.Capture.organization.in_(ph("orgs")),
            models.Capture.short_id == ph("short_id"),
        )
    )
    return query.where(models.ScanSession.created_by_key == ph("key")) if own else query


_GET_ROW = Prepared(lambda ph: _row_query(ph, own=False))
_GET_OWN_ROW = Prepared(lambda ph: _row_query(ph, own=True))


def get_row(principal: Principal, short_id: str) -> shapes.CaptureResponse:
    """The capture as its response row (``sessions.capture_columns``), in one query."""
    if principal.publishable_key_id is None:
        row = _GET_ROW.first(orgs=seq(principal.org_ids), short_id=short_id)
    else:
        row = _GET_OWN_ROW.first(
            orgs=seq(principal.org_ids), short_id=short_id, key=principal.publishable_key_id
        )
    if row is None:
        raise NotFound(f"No capture with id {short_id}.")
    return cast("shapes.CaptureResponse", row)  # selected under the contract's names


def get_row_of(org_id: int, short_id: str) -> dict[str, Any] | None:
    """Organisation ``org_id``'s capture as its response row (for the pipeline's
    ``capture_finished``)."""
    return _GET_ROW.first(orgs=[org_id], short_id=short_id)


_C = models.Capture
_ACTIVE_SESSION = Prepared(
    lambda ph: models.ScanSession.select(
        models.ScanSession.id,
        models.ScanSession.organization,
        models.ScanSession.status,
        models.ScanSession.created_by_key.alias("creator"),
    ).where(
        models.ScanSession.organization.in_(ph("orgs")),
        models.ScanSession.short_id == ph("short_id"),
    )
)
_INSERT = Prepared(
    lambda ph: _C.insert(
        short_id=ph("short_id"),
        organization=ph("organization"),
        session=ph("session"),
        capture_type=ph("capture_type"),
        raw_value=ph("raw_value"),
        gtin=ph("gtin"),
        gs1_dl_data=ph("gs1_dl_data"),  # JSON text, as the row is answered from it
        status=PENDING,
        error_message="",
        metadata=ph("metadata"),
        product=None,
        processed_at=None,
        uploaded_image_key=None,
        qr_analysis=None,
        created=ph("now", _C.created),
        modified=ph("now", _C.modified),
        state_changed_at=ph("now", _C.state_changed_at),
        attempts=0,
    )
)


SESSION_FIELDS = ("session_id", "session_short_id", "session_public_id")
"""The names a capture's session goes by in a request: ``session_id``, and the published
Scanner API pages' ``session_short_id`` and (older pages) ``session_public_id``."""


def naming_one_session(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with its session under ``session_id``, whichever of :data:`SESSION_FIELDS`
    named it. The contract's schema lets exactly one through (none is a 422 naming
    ``session_id``, two a 422 naming both); this only renames."""
    named = [body[name] for name in SESSION_FIELDS if body.get(name) is not None]
    if len(named) != 1:  # the request validation let through what the schema refuses
        raise ValidationFailed([FieldError("/session_id", "name exactly one session")])
    rest = {name: value for name, value in body.items() if name not in SESSION_FIELDS}
    return {**rest, "session_id": named[0]}


def client_ai_data(value: object) -> dict[str, str] | None:
    """The Application Identifiers of a client's own ``gs1_dl_data`` (keys of 2 to 4 digits,
    string values of at most 90 characters), or ``None`` when it has none. The rest is
    ignored: the client's decoding is a hint, never a reason to refuse the capture."""
    if not isinstance(value, dict):
        return None
    kept = {
        key: item
        for key, item in value.items()
        if isinstance(key, str)
        and 2 <= len(key) <= 4
        and key.isascii()
        and key.isdigit()
        and isinstance(item, str)
        and len(item) <= 90
    }
    return kept or None


def create(
    services: Services, principal: Principal, body: dict[str, Any]
) -> shapes.CaptureResponse:
    row = _ACTIVE_SESSION.first(orgs=seq(principal.org_ids), short_id=body["session_id"])
    if row is None or not owns_session(principal, row.pop("creator")):
        raise NotFound(f"No session with id {body['session_id']}.")
    session = models.ScanSession(__no_default__=True, **row)
    sessions.require_active(session)

    raw_value: str = body["raw_value"]
    interpretation = gs1.interpret(raw_value)
    if interpretation.url is not None:  # followed on the slow lane: the links budget
        budgets.spend(services, session.organization_id, "links")
    gtin = server_gtin(interpretation, body.get("gtin") or "")
    short_id = new_short_id()
    now = utcnow()
    metadata = _C.metadata.db_value(initial(body.get("metadata")))
    # The server's reading of raw_value wins; the client's Application Identifiers only
    # where it found none.
    ai_data = _C.gs1_dl_data.db_value(
        interpretation.ai_data or client_ai_data(body.get("gs1_dl_data"))
    )
    answer: shapes.CaptureResponse | None
    if services.settings.queue == "immediate":
        answer = None  # the pipeline runs before the answer: it is read back after
    else:  # the row as written (what get_row would read back: sessions.capture_columns)
        answer = {
            "id": short_id,
            "session_id": body["session_id"],
            "status": cast("shapes.CaptureStatusEnum", PENDING),
            "capture_type": body["capture_type"],
            "raw_value": raw_value,
            "gtin": gtin,
            "error_message": "",
            "created": now,
            "metadata": _C.metadata.python_value(metadata),
            "gs1_dl_data": _C.gs1_dl_data.python_value(ai_data),
            "product_short_id": None,
            "product_name": None,
            "processed_at": None,
            "uploaded_image_key": None,
            "qr_analysis": None,
        }
    # One transaction: the capture and the session's activity are written together, and
    # with a key the answer too (scanserve.domain.keyed), so a retry after a crash finds both or
    # neither. The PENDING row is itself the durable message: if the process dies before
    # the queue has it, the sweep (or the embedded queue's start-up recovery) queues it, and
    # while the queue cannot take it the relay holds it (scanserve.infra.relay).
    with services.db.atomic():
        _INSERT.run(
            short_id=short_id,
            organization=session.organization_id,
            session=session.id,
            capture_type=body["capture_type"],
            raw_value=raw_value,
            gtin=gtin,
            gs1_dl_data=ai_data,
            metadata=metadata,
            now=now,
        )
        sessions.touch(session.id)
        if answer is not None:
            keyed.keep_answer(201, answer)
    services.queue.enqueue_capture(
        short_id,
        slow=interpretation.url is not None,
        interpretation=interpretation,
        org=session.organization_id,
    )
    if answer is None:  # the pipeline ran just now: answer its result
        return get_row(principal, short_id)
    return answer


def is_slow(raw_value: str, uploaded_image_key: str | None = None) -> bool:
    """Is processing this capture expensive work for the queue's slow lane: following a URL
    (network, up to the QR timeout), or decoding an uploaded image (no ``raw_value`` yet)?"""
    if not raw_value:
        return bool(uploaded_image_key)
    return gs1.interpret(raw_value).url is not None


def server_gtin(interpretation: gs1.Interpretation | None, client_gtin: str) -> str:
    """A new capture's ``gtin``. The server's reading of ``raw_value`` wins; the client's own
    ``gtin`` is used only when ``raw_value`` yields none (or there is none) and it is a valid
    GTIN, and the client's ``gs1_dl_data`` never. Neither can make the request fail: a
    barcode that cannot be read fails in the pipeline."""
    if interpretation is not None and (interpretation.gtin or interpretation.error):
        return interpretation.gtin
    return _client_gtin(client_gtin)


def _client_gtin(value: str) -> str:
    try:
        return gs1.normalise_gtin(value) if value else ""
    except gs1.InvalidGtin:
        return ""  # the client's decoding is a hint, never a reason to refuse the capture


def retry(services: Services, principal: Principal, short_id: str) -> shapes.CaptureResponse:
    capture = get(principal, short_id)
    slow = is_slow(capture.raw_value, capture.uploaded_image_key)
    if slow and capture.status in RETRYABLE:  # a link or an image again: their budget
        budgets.spend(
            services, capture.organization_id, "links" if capture.raw_value else "images"
        )
    if capture.status not in RETRYABLE:
        raise Conflict(
            f"The capture is {capture.status}; only FAILED or NOT_FOUND captures can be retried."
        )
    now = utcnow()
    updated = (
        models.Capture.update(
            status=PENDING, error_message="", processed_at=None, modified=now, state_changed_at=now
        )
        .where(models.Capture.id == capture.id, models.Capture.status == capture.status)
        .execute()
    )
    if not updated:
        raise Conflict("The capture changed meanwhile; fetch it again.")
    logger.info("capture %s retried from %s", capture.short_id, capture.status)
    services.plugins.capture_state_changed(capture.short_id, capture.status, PENDING)
    services.queue.enqueue_capture(capture.short_id, slow=slow, org=capture.organization_id)
    return get_row(principal, short_id)


def unfinished() -> tuple[int, float | None]:
    """For the metrics: how many captures are not yet in a terminal status, and the age in
    seconds of the oldest of them (None: none), whichever queue holds them. On the status
    index: only the rows still in work are read."""
    in_work = [PENDING, LOOKING_UP, ENRICHING, RESOLVING]
    query = (
        models.Capture.select(fn.COUNT(models.Capture.id), fn.MIN(models.Capture.created))
        .where(models.Capture.status.in_(in_work))
        .tuples()
    )
    count, oldest = cast("tuple[Any, Any]", query.get())
    if not count or oldest is None:
        return 0, None
    return int(count), max(0.0, (utcnow() - oldest).total_seconds())
