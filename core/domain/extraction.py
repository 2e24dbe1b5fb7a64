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
review.

Bounded per photo: each extractor has ``extraction_timeout_seconds`` for each photo (and each
product). One that raises or overruns is logged and skipped for that photo; it never fails
the session, which finishes with what the others found and lists the photo in
``extraction_failures`` (``{photo_id, extractor, reason}``, ``reason`` one of ``timeout``,
``error``, ``unreadable``; the details stay in the log). An extractor's call runs in a
daemon thread that is abandoned at its deadline (a program it runs, such as Tesseract, is
bounded by the extractor itself: the OCR extractor kills it at the same deadline).

Which capture a photo's proposals belong to: the photo's own capture
(``capture_short_id``), else, when the session's captures with a product all name the same
product, the first of them; otherwise the photo is skipped (logged).

Ownership, as for captures (:mod:`scanserve.domain.pipeline`): a worker claims the extraction by
setting ``extraction_claimed`` and incrementing ``extraction_attempts``, compare-and-set on
the attempts it read; the final write (proposals plus ``ready``) is a compare-and-set on the
same attempts inside one transaction, so of two workers only the last to claim writes, and
proposals are written exactly once.

The claim is a lease: while it works, the worker renews ``extraction_changed_at`` every third
of ``extraction_stale_seconds`` (between photos and while it waits for an extractor), a
compare-and-set on its attempts, so however long a session takes, the sweep never takes
over a live extraction. A task for an extraction whose lease is younger than
``extraction_stale_seconds`` does nothing. A worker killed anywhere (or hung) stops renewing
and leaves the session ``processing``; once the lease is older than the threshold the sweep
(:func:`requeue_stale`) releases the claim and queues it again, and a worker that finds its
lease gone (a renewal matched nothing) stops at once without writing.

Shutdown (:class:`Running`): a process that stops releases the leases of the extractions it
could not finish within its grace period (claim dropped, ``extraction_changed_at`` cleared,
so the next sweep or start-up takes them at once) and they stop at their next check.

The review ends when no proposal of the session is ``PENDING`` any more: the session's
``extraction_status`` becomes ``accepted`` when at least one proposal was accepted, else
``rejected`` (see :mod:`scanserve.domain.proposals`).

One module (about 540 lines) on purpose: the lease (:class:`_Lease`, :class:`Running`), the
claim and the final write are one protocol over the same attempts counter, and the
extractor calls renew the lease while they wait; apart, each half would only be read with
the other.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, get_args

import peewee
from peewee import JOIN

from scanserve import sources
from scanserve.domain import imaging
from scanserve.domain.products import current_values, record_of
from scanserve.domain.statuses import TERMINAL
from scanserve.generated.models import ExtractionFailure
from scanserve.infra import metrics, tracing
from scanserve.infra.objectstore import ObjectStoreError
from scanserve.plugins.manager import unavailable_reason
from scanserve.plugins.providers import (
    PROPOSAL_FIELDS,
    ExtractionInput,
    Extractor,
    PhotoInput,
    ProposalDraft,
    ProviderError,
)
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.storage.prepared import Prepared

if TYPE_CHECKING:
    from scanserve.domain.services import Services

logger = logging.getLogger("scanserve.extraction")

PENDING, PROCESSING, READY = "pending", "processing", "ready"
ACCEPTED, REJECTED = "accepted", "rejected"
# Why a photo failed: the contract's ExtractionFailure.reason, in the spec's order.
TIMEOUT, ERROR, UNREADABLE = get_args(ExtractionFailure.model_fields["reason"].annotation)


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
    ).where(models.ScanSession.id == ph("id"))
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


class LeaseLost(Exception):
    """This worker no longer holds the extraction: another took it over, or the process
    released it while shutting down. The worker stops without writing."""


class _Lease:
    """One running extraction's claim, renewed by the thread that runs it (:meth:`check`)."""

    def __init__(self, services: Services, session: models.ScanSession, attempts: int):
        self.services = services
        self.session_id = session.id
        self.short_id = session.short_id
        self.attempts = attempts
        self.interval = services.settings.extraction_stale_seconds / 3
        self.renewed = time.monotonic()
        self.released = False

    def _mine(self) -> Any:
        S = models.ScanSession
        return (
            (S.id == self.session_id)
            & (S.extraction_attempts == self.attempts)
            & (S.extraction_status == PROCESSING)
        )

    def check(self) -> None:
        """Raise :class:`LeaseLost` when the extraction is no longer this worker's; renew the
        lease when a third of the stale threshold has passed since the last renewal."""
        if self.released:
            raise LeaseLost("released at shutdown")
        if time.monotonic() - self.renewed < self.interval:
            return
        S = models.ScanSession
        try:
            renewed = (
                S.update(extraction_changed_at=utcnow())
                .where(self._mine() & (S.extraction_claimed == True))  # noqa: E712 - SQL
                .execute()
            )
        except peewee.DatabaseError as exc:
            # Keep working: the final write's compare-and-set still decides. If the outage
            # outlasts the lease, another worker may take over, and this one's write loses.
            logger.warning("extraction of %s: lease not renewed (%s)", self.short_id, exc)
            self.renewed = time.monotonic()
            return
        if not renewed:
            raise LeaseLost("taken over by another worker")
        self.renewed = time.monotonic()

    def release(self) -> bool:
        """Give the extraction back (at shutdown): claimed by nobody, stale at once."""
        self.released = True
        S = models.ScanSession
        return bool(
            S.update(extraction_claimed=False, extraction_changed_at=None)
            .where(self._mine())
            .execute()
        )


class Running:
    """The extractions this process is running, for the queue's shutdown: what is still
    running when the grace period ends is released (:meth:`release_all`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leases: set[_Lease] = set()

    def add(self, lease: _Lease) -> None:
        with self._lock:
            self._leases.add(lease)

    def discard(self, lease: _Lease) -> None:
        with self._lock:
            self._leases.discard(lease)

    def count(self) -> int:
        with self._lock:
            return len(self._leases)

    def release_all(self) -> list[str]:
        """Release every running extraction's lease; returns the sessions' short ids (to be
        queued again)."""
        with self._lock:
            leases = list(self._leases)
        released = []
        for lease in leases:
            try:
                if lease.release():
                    released.append(lease.short_id)
            except peewee.DatabaseError as exc:  # the lease expires by itself then
                logger.warning("extraction of %s not released (%s)", lease.short_id, exc)
        return released


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
    lease = _Lease(services, session, attempts)
    running: Running | None = getattr(services.queue, "extractions", None)
    if running is not None:
        running.add(lease)
    try:
        _run_claimed(services, session, lease)
    finally:
        if running is not None:
            running.discard(lease)


def _run_claimed(services: Services, session: models.ScanSession, lease: _Lease) -> None:
    S = models.ScanSession
    result = _Result()
    try:
        _extract(services, session, lease, result)
    except LeaseLost as exc:
        logger.info("extraction of %s stopped: %s", session.short_id, exc)
        return
    except Exception:  # a bug must not leave the session processing for ever
        logger.exception("extraction of %s failed unexpectedly", session.short_id)
        result.rows = []
    with services.db.atomic():
        finished = (
            S.update(
                extraction_status=READY,
                extraction_claimed=False,
                extraction_changed_at=utcnow(),
                extraction_failures=result.failures,
                modified=utcnow(),
            )
            .where(
                S.id == session.id,
                S.extraction_status == PROCESSING,
                S.extraction_attempts == lease.attempts,
            )
            .execute()
        )
        if finished and result.rows:
            models.Proposal.insert_many(result.rows).execute()
    if finished:
        logger.info(
            "extraction of %s ready: %d proposal(s), %d failure(s)",
            session.short_id,
            len(result.rows),
            len(result.failures),
        )
    else:
        logger.info("extraction of %s was taken over by another worker", session.short_id)


@dataclass
class _Result:
    rows: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)

    def failed(self, photo: PhotoInput | models.Photo, extractor: Extractor, reason: str) -> None:
        self.failures.append(
            {"photo_id": photo.short_id, "extractor": extractor.name[:100], "reason": reason}
        )


def _photo_input(services: Services, photo: models.Photo) -> PhotoInput | None:
    """The photo as extractors get it, or None when its object cannot be read or is not an
    image within the pixel limit (read from the header, before any extractor decodes it)."""
    try:
        data = services.objects.get(photo.s3_key)
    except ObjectStoreError as exc:
        logger.warning("photo %s cannot be read (%s): skipped", photo.short_id, exc)
        return None
    try:
        content_type, _, _ = imaging.inspect(data)
    except imaging.ImageError as exc:
        logger.warning("photo %s is refused (%s): skipped", photo.short_id, exc)
        return None
    return PhotoInput(
        short_id=photo.short_id,
        photo_type=photo.photo_type,
        data=data,
        content_type=content_type,
        original_filename=photo.original_filename,
    )


def _extract(
    services: Services, session: models.ScanSession, lease: _Lease, result: _Result
) -> None:
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
    # A list, not a cursor: on SQLite an open cursor holds a read snapshot, and the lease's
    # renewals (writes on this connection) would fail once another connection wrote.
    photos = list(
        models.Photo.select()
        .where(models.Photo.session == session.id)
        .order_by(models.Photo.sort_order, models.Photo.id)
    )
    for photo in photos:
        lease.check()
        routed = [e for e in extractors if photo.photo_type in e.photo_types]
        target = _target_of(photo, targets, with_product) if routed else None
        if target is None:
            continue
        photo_input = _photo_input(services, photo)
        if photo_input is None:
            for extractor in routed:
                result.failed(photo, extractor, UNREADABLE)
            continue
        for extractor in routed:
            rows, failure = _call(services, extractor, target, photo_input, lease)
            result.rows += rows
            if failure:
                result.failed(photo_input, extractor, failure)
    for target in with_product:
        for extractor in extractors:
            if not extractor.photo_types:
                lease.check()
                result.rows += _call(services, extractor, target, None, lease)[0]


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
    services: Services,
    extractor: Extractor,
    target: _Target,
    photo: PhotoInput | None,
    lease: _Lease,
) -> tuple[list[dict[str, Any]], str | None]:
    """The extractor's rows for ``item`` and, when it failed, why (``timeout`` or ``error``)."""
    item = ExtractionInput(
        photo=photo,
        product=record_of(target.product) if target.product is not None else None,
        current=dict(target.current),
        gtin=target.capture.gtin,
        capture_id=target.capture.short_id,
    )
    what = f"photo {photo.short_id}" if photo else f"capture {target.capture.short_id}"
    timeout = services.settings.extraction_timeout_seconds
    started = time.perf_counter()
    try:
        with tracing.span(f"extractor {extractor.name}", plugin=extractor.name, hook="extractor"):
            drafts = _within(lambda: extractor.extract(item), timeout, lease)
    except LeaseLost:
        raise
    except TimeoutError:
        _measured(extractor, started, TIMEOUT)
        logger.warning("extractor %s overran on %s (%g s)", extractor.name, what, timeout)
        return [], TIMEOUT
    except Exception as exc:
        _measured(extractor, started, ERROR)
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
        return [], ERROR
    _measured(extractor, started, "ok")
    rows = []
    for draft in drafts or []:
        row = _row(extractor, target, draft)
        if row is None:
            logger.warning("extractor %s returned an unusable proposal: %r", extractor.name, draft)
        else:
            rows.append(row)
    return rows, None


def _measured(extractor: Extractor, started: float, outcome: str) -> None:
    seconds = time.perf_counter() - started
    recorder = metrics.recorder()
    recorder.extraction(extractor.name, seconds, outcome)
    recorder.provider_call(extractor.name, "extractor", seconds, failed=outcome != "ok")


def _within(fn: Callable[[], Any], timeout: float, lease: _Lease) -> Any:
    """``fn()`` in a daemon thread, waited for at most ``timeout`` seconds (then
    :class:`TimeoutError`, and the thread is abandoned), renewing ``lease`` meanwhile. A
    daemon thread, not an executor's: an abandoned call must not hold up the process's exit."""
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def call() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # handed to the waiting thread
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=call, name="scanserve-extractor", daemon=True).start()
    deadline = time.monotonic() + timeout
    while not done.wait(max(0.0, min(deadline - time.monotonic(), lease.interval))):
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no answer within {timeout:g} s")
        lease.check()
    if "error" in outcome:
        raise outcome["error"]  # its own TimeoutError (a socket's, a program's) counts as one
    return outcome.get("value")


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
        "id": sources.new_uuid(),
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
