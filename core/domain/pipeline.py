"""What happens to a capture in the background:

    PENDING -> LOOKING_UP -> ENRICHING -> RESOLVING -> COMPLETED
                   |                                   (or FAILED / NOT_FOUND)

LOOKING_UP first decodes an uploaded image that came without a ``raw_value``
(:func:`_decode_image`: the codes zxing-cpp reads become ``raw_value`` and the capture goes
on like a scanned one), then interprets ``raw_value`` (GS1, GTIN, URL), follows a URL first
when it is the only way to a GTIN, and asks the lookup providers in order. ENRICHING runs
the enrichment providers over the found product. RESOLVING analyses the QR chain of an
http(s) value that has not been analysed yet. The steps' results (the product, what
enrichment changed, the URL analysis) are written with the final status in one transaction;
the plugins hear of each step's move, in order, once it committed.

Ownership: a worker claims a capture by moving it to LOOKING_UP and incrementing
``attempts``; every later write is a compare-and-set on the status and ``attempts`` it left,
so of two workers on one capture only the last to claim it can write, even while both see
the same status, and the other stops at its next write, failing nothing on its way out. A
capture whose work stays in this process (a catalog hit) is claimed by the same write that
finishes it: one commit per capture. Work that leaves the process or may take long (an
outside provider, a URL, an image) is done after a claim of its own, committed first
(:class:`_Job`). A task for a capture another worker claimed less than
``capture_stale_seconds`` ago (a duplicate message) does nothing. A worker killed anywhere
leaves the capture in a non-terminal state; the sweep (:func:`requeue_stale`) puts it back
to PENDING and queues it again. Running the steps again is safe.

One module (about 600 lines) on purpose: every step writes through the same run
(:class:`_Job`) and the same compare-and-set (``_still_ours``, ``_move``, ``_finish``), and the
sweep's reset (:func:`requeue_stale`) is the other half of that ownership rule; split by
step, each file would reach into the others' private state.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar

import peewee
import shortuuid

from scanserve.domain import gs1, imaging
from scanserve.domain.captures import get_row_of, is_slow
from scanserve.domain.extraction import capture_finished
from scanserve.domain.products import record_of
from scanserve.domain.statuses import (
    COMPLETED,
    ENRICHING,
    FAILED,
    LOOKING_UP,
    NOT_FOUND,
    PENDING,
    RESOLVING,
    TERMINAL,
)
from scanserve.infra import metrics, tracing
from scanserve.infra.objectstore import ObjectNotFound
from scanserve.plugins.providers import CatalogRows, LookupProvider, ProductRecord, ProviderError
from scanserve.storage import models
from scanserve.storage.database import outage_of
from scanserve.storage.fields import utcnow
from scanserve.storage.prepared import Prepared

if TYPE_CHECKING:
    from scanserve.domain.services import Services

logger = logging.getLogger("scanserve.pipeline")
T = TypeVar("T")


class _Lost(Exception):
    """Another worker moved the capture on; this one stops."""


def call_with_deadline(fn: Callable[[], T], timeout: float) -> T:
    """Run ``fn`` in a helper thread and give up waiting after ``timeout`` seconds (the thread
    is abandoned: providers must bound their own I/O, this only protects the pipeline)."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scanserve-provider")
    try:
        return executor.submit(fn).result(timeout=timeout)
    except FutureTimeout:
        raise TimeoutError(f"no answer within {timeout:g} s") from None
    finally:
        executor.shutdown(wait=False)


def _log_provider_failure(exc: Exception, message: str, *args: object) -> None:
    """A provider's ProviderError or a deadline is a warning (it could not answer this
    time); any other exception is a bug in it, an error logged with its traceback."""
    expected = isinstance(exc, ProviderError | TimeoutError)
    logger.log(
        logging.WARNING if expected else logging.ERROR,
        message,
        *args,
        exc,
        exc_info=not expected,
    )


def lanes_of(short_ids: list[str]) -> dict[str, tuple[bool, int]]:
    """Each of these captures' lane (slow: :func:`is_slow`) and organisation."""
    C = models.Capture
    found: dict[str, tuple[bool, int]] = {}
    for start in range(0, len(short_ids), 500):
        rows: Any = (
            C.select(C.short_id, C.raw_value, C.uploaded_image_key, C.organization)
            .where(C.short_id.in_(short_ids[start : start + 500]))
            .tuples()
        )
        for short_id, raw, image_key, org in rows:
            found[short_id] = (is_slow(raw, image_key), org)
    return found


def requeue_stale(services: Services, stale_seconds: int) -> list[str]:
    """Put every capture left in a non-terminal state for longer than ``stale_seconds`` back
    to PENDING, as of now; returns their short ids, for the caller to queue. Each reset is a
    compare-and-set, so of several sweeps (one per worker) only one queues a capture, once
    per ``stale_seconds``; a worker still on it loses the capture at its next write."""
    now = utcnow()
    cutoff = now - timedelta(seconds=stale_seconds)
    stale = models.Capture.status.not_in(list(TERMINAL)) & (
        models.Capture.state_changed_at < cutoff
    )
    return _reset(services, stale, now)


def requeue_pending_older_than(services: Services, seconds: float) -> list[str]:
    """Put back every capture PENDING for longer than ``seconds`` with its clock reset to
    now; returns their short ids, for the caller to queue. After a queue outage such a
    capture's message may have died with the queue (taken by a worker in the instant the
    connection dropped); a capture already past PENDING is in a worker's hands, which the
    queue no longer matters to. The same compare-and-set as :func:`requeue_stale`: of
    several processes doing it, one queues each capture."""
    now = utcnow()
    cutoff = now - timedelta(seconds=seconds)
    waiting = (models.Capture.status == PENDING) & (models.Capture.state_changed_at < cutoff)
    return _reset(services, waiting, now)


def _reset(services: Services, condition: Any, now: datetime) -> list[str]:
    requeued = []
    rows = models.Capture.select(models.Capture.id, models.Capture.short_id, models.Capture.status)
    for row in rows.where(condition):
        updated = (
            models.Capture.update(status=PENDING, modified=now, state_changed_at=now)
            .where(models.Capture.id == row.id, models.Capture.status == row.status, condition)
            .execute()
        )
        if updated:
            requeued.append(row.short_id)
            if row.status != PENDING:
                services.plugins.capture_state_changed(row.short_id, row.status, PENDING)
    return requeued


def _still_ours(capture: models.Capture) -> tuple[Any, ...]:
    """The compare-and-set condition of every write: the row is as this worker last left it
    (same status, same claim)."""
    return (
        models.Capture.id == capture.id,
        models.Capture.status == capture.status,
        models.Capture.attempts == capture.attempts,
    )


def _move(services: Services, capture: models.Capture, new_status: str, **fields: Any) -> None:
    now = utcnow()
    updated = (
        models.Capture.update(status=new_status, modified=now, state_changed_at=now, **fields)
        .where(*_still_ours(capture))
        .execute()
    )
    if not updated:
        raise _Lost
    old = capture.status
    capture.status = new_status
    capture.modified = capture.state_changed_at = now
    for name, value in fields.items():
        setattr(capture, name, value)
    services.plugins.capture_state_changed(capture.short_id, old, new_status)


_C = models.Capture
_LOAD = Prepared(
    lambda ph: _C.select(
        _C.id,
        _C.short_id,
        _C.organization,
        _C.session,
        _C.status,
        _C.attempts,
        _C.state_changed_at,
        _C.raw_value,
        _C.gtin,
        _C.product,
        _C.uploaded_image_key,
        _C.qr_analysis,
        _C.metadata,
    ).where(_C.short_id == ph("short_id"))
)
# The end of a run: its status and every result the run held back (product, URL analysis, a
# GTIN the URL gave), as a compare-and-set on the state the worker last saw; when the run had
# not claimed the capture yet, the claim (attempts + 1) is part of it.
_FINISH = Prepared(
    lambda ph: _C.update(
        status=ph("status"),
        modified=ph("now", _C.modified),
        state_changed_at=ph("now", _C.state_changed_at),
        processed_at=ph("now", _C.processed_at),
        error_message=ph("error"),
        attempts=ph("attempts"),
        product=ph("product"),
        gtin=ph("gtin"),
        qr_analysis=ph("qr_analysis", _C.qr_analysis),
    ).where(_C.id == ph("id"), _C.status == ph("old_status"), _C.attempts == ph("old_attempts"))
)


def _load(short_id: str) -> models.Capture | None:
    row = _LOAD.first(short_id=short_id)
    return None if row is None else models.Capture(__no_default__=True, **row)


class _Job:
    """One worker's run of one capture.

    A run that stays in this process (the catalog, the GPC labels) claims the capture in the
    same transaction that finishes it: one commit per capture. Before anything that leaves
    the process or may take long (an outside provider, a URL, an image), :meth:`claim` commits
    the claim first, so that a duplicate message or the sweep sees the capture taken
    meanwhile. Either way the results are written with the final status, in one transaction,
    and the steps' moves are reported to the plugins in order once it committed.
    """

    def __init__(self, services: Services, capture: models.Capture):
        self.services = services
        self.capture = capture
        self.claimed = False
        self.step = LOOKING_UP
        self.moves: list[tuple[str, str]] = []
        self.product_writes: list[Callable[[], object]] = []  # run in the final transaction

    def claim(self) -> None:
        if not self.claimed:
            _move(self.services, self.capture, LOOKING_UP, attempts=self.capture.attempts + 1)
            self.claimed = True

    def advance(self, status: str) -> None:
        self.moves.append((self.step, status))
        self.step = status

    def call(self, provider: Any, hook: str, fn: Callable[[], T]) -> T:
        """``fn`` of ``provider`` (of ``hook``: ``lookup``, ``enrichment``; counted in the
        metrics): an ``in_process`` provider (scanserve's own catalog in this database, the
        GPC labels in memory) does no outside I/O and runs here; any other is called after
        the claim, under ``provider_timeout_seconds``."""
        started = time.perf_counter()
        failed = True
        try:
            with tracing.span(f"{hook} {provider.name}", plugin=provider.name, hook=hook):
                if getattr(provider, "in_process", False):
                    answer = fn()
                else:
                    self.claim()
                    timeout = self.services.settings.provider_timeout_seconds
                    answer = call_with_deadline(fn, timeout)
            failed = False
            return answer
        finally:
            metrics.recorder().provider_call(
                provider.name, hook, time.perf_counter() - started, failed=failed
            )


def _finish(job: _Job, status: str, error: str = "") -> None:
    services, capture = job.services, job.capture
    now = utcnow()
    attempts = capture.attempts if job.claimed else capture.attempts + 1

    def write_capture() -> None:
        updated = _FINISH.run(
            status=status,
            now=now,
            error=error,
            attempts=attempts,
            product=capture.product_id,
            gtin=capture.gtin,
            qr_analysis=capture.qr_analysis,
            id=capture.id,
            old_status=capture.status,
            old_attempts=capture.attempts,
        )
        if not updated:
            raise _Lost  # rolls the transaction back, if there is one

    if job.product_writes:
        with services.db.atomic():
            for write in job.product_writes:
                write()
            write_capture()
    else:
        # One statement is a transaction of its own: BEGIN and COMMIT around it would only
        # add two more trips to the database per capture (most catalog hits: the product
        # is written once, by the first capture that enriches it).
        write_capture()
    metrics.recorder().capture_finished(status)
    # one line a capture, naming the request that posted it (scanserve.infra.logconfig)
    logger.info(
        "capture %s %s%s",
        capture.short_id,
        status,
        f": {error}" if error else "",
        extra={"fields": {"capture_id": capture.short_id, "outcome": status}},
    )
    moves = [] if job.claimed else [(capture.status, LOOKING_UP)]
    moves += [*job.moves, (job.step, status)]
    capture.status, capture.attempts, capture.error_message = status, attempts, error
    capture.processed_at = capture.modified = capture.state_changed_at = now
    for old, new in moves:
        services.plugins.capture_state_changed(capture.short_id, old, new)
    if services.plugins.listens("capture_finished"):
        row = get_row_of(capture.organization_id, capture.short_id)
        if row is not None:  # None: deleted with its session meanwhile
            services.plugins.capture_finished(row)
    capture_finished(services, capture.session_id)


def process_capture(
    services: Services, capture_short_id: str, interpretation: gs1.Interpretation | None = None
) -> None:
    """Run the pipeline on a capture; ``interpretation``: its ``raw_value``'s, when the
    caller has it already (the embedded queue carries the one made when it was posted)."""
    interrupted = _interrupted.pop((capture_short_id, threading.get_ident()), ())
    capture = _load(capture_short_id)
    if capture is None or capture.status in TERMINAL:
        return
    stale_since = utcnow() - timedelta(seconds=services.settings.capture_stale_seconds)
    if (
        capture.status != PENDING
        and capture.state_changed_at >= stale_since
        and capture.attempts not in interrupted
    ):
        logger.info("capture %s is being processed by another worker", capture_short_id)
        return
    job = _Job(services, capture)
    try:
        _run(job, interpretation)
    except _Lost:
        logger.info("capture %s was moved on by another worker", capture_short_id)
    except Exception as exc:  # an unexpected bug must not leave the capture running forever
        if outage_of(exc) is not None:
            # The database is down or full, not the capture at fault: the caller waits and
            # runs it again in this thread (or the sweep does); it must not end FAILED for
            # this. Its claim, if it was made (or its commit cut off), is this thread's to
            # take up again at once rather than a claim of another worker's to wait out.
            claimed = capture.attempts if job.claimed else capture.attempts + 1
            _interrupted[(capture_short_id, threading.get_ident())] = (claimed,)
            raise
        logger.exception("capture %s failed unexpectedly", capture_short_id)
        # From this worker's own last state: if another worker has claimed the capture
        # meanwhile, the compare-and-set fails and its work is left alone.
        if capture.status not in TERMINAL:
            job.product_writes.clear()
            with contextlib.suppress(_Lost):
                _finish(job, FAILED, f"internal error while processing: {type(exc).__name__}")


# Captures whose run a database outage cut off after (or while) they were claimed, by
# (short id, thread): the claim's attempts number. The run that takes one up again in the same
# thread may go on under that claim. The entry goes when that thread runs the capture again;
# one whose retries gave up stays (a few bytes) until then.
_interrupted: dict[tuple[str, int], tuple[int, ...]] = {}


# At most this many other codes of an image are listed in the capture's metadata.
MAX_OTHER_CODES = 10


def _decode_image(job: _Job) -> bool:
    """Decode the capture's uploaded image into its ``raw_value``; False when the capture
    ended FAILED instead.

    Several codes in one image: the first, in reading order (top to bottom, left to right),
    that names a product (an EAN/UPC, a GS1 element string or Digital Link with a GTIN)
    becomes the capture; when none does, the first code of any kind. The capture's metadata
    names the chosen symbology (``decoded_symbology``) and lists the others as
    ``decoded_other_<n>``: ``<symbology>:<value>`` (up to ten), so nothing read is lost."""
    services, capture = job.services, job.capture
    job.claim()
    try:
        data = services.objects.get(str(capture.uploaded_image_key))
        codes = imaging.decode_codes(data)
    except ObjectNotFound:
        _finish(job, FAILED, "the uploaded image is no longer in storage")
        return False
    except imaging.ImageError as exc:
        _finish(job, FAILED, f"the uploaded image cannot be decoded: {exc}")
        return False
    if not codes:
        _finish(job, FAILED, "no barcode or QR code could be read in the image")
        return False
    readings = [(code, gs1.interpret(code.value)) for code in codes]
    chosen, interpretation = next(
        ((c, i) for c, i in readings if i.gtin and not i.error), readings[0]
    )
    value = chosen.value
    if len(value) > 500:
        _finish(job, FAILED, "the code in the image holds more than 500 characters")
        return False
    metadata = {**(capture.metadata or {}), "decoded_symbology": chosen.symbology}
    others = [c for c in codes if c is not chosen][:MAX_OTHER_CODES]
    for number, other in enumerate(others, start=1):
        metadata[f"decoded_other_{number}"] = f"{other.symbology}:{other.value}"[:500]
    _save(
        capture,
        raw_value=value,
        gtin=interpretation.gtin or capture.gtin,
        gs1_dl_data=interpretation.ai_data,
        metadata=metadata,
    )
    return True


def _run(job: _Job, interpretation: gs1.Interpretation | None) -> None:
    services, capture = job.services, job.capture
    if not capture.raw_value and capture.uploaded_image_key:
        if not _decode_image(job):
            return
        interpretation = None  # of the value read from the image, below
    if interpretation is None:
        interpretation = gs1.interpret(capture.raw_value)
    if interpretation.error:
        _finish(job, FAILED, interpretation.error)
        return
    gtin = capture.gtin or interpretation.gtin
    # The interpretation judged its own GTIN already (gs1.interpret): parse again only a
    # GTIN that came from elsewhere (the client's, when the value yields none).
    restricted = interpretation.restricted or (
        bool(gtin) and gtin != interpretation.gtin and gs1.is_restricted(gtin)
    )

    if not gtin and interpretation.url:
        job.claim()
        analysis = capture.qr_analysis or services.plugins.analyse_url(interpretation.url)
        capture.qr_analysis = analysis
        gtin = analysis.get("extracted_gtin", "") if analysis else ""
        if not gtin:
            if analysis and analysis.get("error_message"):
                _finish(job, FAILED, f"could not follow the URL: {analysis['error_message']}")
            else:
                _finish(job, COMPLETED)  # a URL analysed; it names no product
            return
        restricted = gs1.is_restricted(gtin)
        capture.gtin = gtin
    if not gtin:
        _finish(job, NOT_FOUND)  # error_message stays "": nothing failed
        return

    product = _find_product(job, gtin, restricted)
    if product is None:
        return

    job.advance(ENRICHING)
    capture.product = product.id
    _enrich(job, product)

    job.advance(RESOLVING)
    if interpretation.url and capture.qr_analysis is None:
        job.claim()
        capture.qr_analysis = services.plugins.analyse_url(interpretation.url)
    _finish(job, COMPLETED)


def _find_product(job: _Job, gtin: str, restricted: bool) -> models.Product | None:
    """The product for ``gtin`` from the lookup providers, stored in the catalog; or None
    after finishing the capture NOT_FOUND or FAILED."""
    services = job.services
    record, provider, failures, row = _lookup(job, gtin, restricted)
    if row is not None:  # the catalog's own row
        return row
    if record is not None:
        return _store_product(services, record, provider)
    cached = models.Product.get_or_none(models.Product.gtin == gtin)
    if cached is not None:  # a provider's answer past its TTL that none could refresh
        logger.info(
            "no lookup provider answered for %s; using the copy from %s fetched %s",
            gtin,
            cached.source,
            cached.fetched_at.isoformat() if cached.fetched_at else "-",
        )
        return cached
    if failures:
        _finish(job, FAILED, "every lookup provider failed: " + "; ".join(failures))
    else:
        _finish(job, NOT_FOUND)  # error_message stays "": nothing failed
    return None


def _save(capture: models.Capture, **fields: Any) -> None:
    """Write a step's result without moving on; a worker that lost the capture stops here."""
    updated = (
        models.Capture.update(modified=utcnow(), **fields).where(*_still_ours(capture)).execute()
    )
    if not updated:
        raise _Lost
    for name, value in fields.items():
        setattr(capture, name, value)


def _lookup(
    job: _Job, gtin: str, restricted: bool
) -> tuple[ProductRecord | None, LookupProvider | None, list[str], models.Product | None]:
    """The first answer, with the provider that gave it, and the failures before it. When
    the catalog answers, its row itself stands for the answer (the record is None: the
    caller uses the row and would throw a record made of it away)."""
    failures: list[str] = []
    for provider in job.services.plugins.lookup_providers:
        if restricted and provider.external:
            continue  # restricted-circulation numbers never leave the server
        try:
            if _is_catalog(provider):
                row = provider.find(gtin)
                if row is not None:
                    return None, provider, failures, row
                continue
            record = job.call(provider, "lookup", lambda p=provider: p.lookup(gtin))  # type: ignore[misc]
        except _Lost:
            raise
        except Exception as exc:
            _log_provider_failure(exc, "lookup provider %s failed for %s: %s", provider.name, gtin)
            failures.append(f"{provider.name}: {exc or type(exc).__name__}")
            continue
        if record is not None:
            return replace(record, gtin=gtin), provider, failures, None
    return None, None, failures, None


def _is_catalog(provider: object) -> TypeGuard[CatalogRows]:
    """Is ``provider`` scanserve's own catalog, whose answers are rows of the product table?"""
    return getattr(provider, "answers_from_catalog", False) is True


def product_short_id(gtin: str) -> str:
    """Derived from the GTIN (a name-based UUID), so every database agrees on it."""
    return str(shortuuid.uuid(name=f"gtin:{gtin}"))


def _product_fields(record: ProductRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "brand": record.brand,
        "description": record.description,
        "category": record.category,
        "gpc_brick_code": record.gpc_brick_code,
        "gpc_brick_label": record.gpc_brick_label,
        "ingredients": record.ingredients,
        "image_urls": list(record.image_urls),
    }


def _store_product(
    services: Services, record: ProductRecord, provider: LookupProvider | None = None
) -> models.Product:
    """The catalog row for ``record``. An answer of the catalog itself is its own row; an
    outside provider's answer is stored (or refreshes the stored copy) with its source and the
    time it was fetched. Imported rows (``fetched_at`` NULL) are never overwritten."""
    product = models.Product.get_or_none(models.Product.gtin == record.gtin)
    ours = _is_catalog(provider)
    if product is not None and (ours or product.fetched_at is None):
        return product
    now = utcnow()
    source = record.source or (provider.name if provider is not None else "") or "lookup"
    if product is not None:
        models.Product.update(
            source=source, fetched_at=now, modified=now, **_product_fields(record)
        ).where(models.Product.id == product.id).execute()
        return models.Product.get(models.Product.id == product.id)
    try:
        with services.db.atomic():  # PostgreSQL: the failed insert must not poison the session
            return models.Product.create(
                short_id=product_short_id(record.gtin),
                gtin=record.gtin,
                source=source,
                fetched_at=now,
                **_product_fields(record),
            )
    except peewee.IntegrityError:
        # Another worker stored the same GTIN since we looked (two scans of one new product).
        return models.Product.get(models.Product.gtin == record.gtin)


def _enrich(job: _Job, product: models.Product) -> None:
    """Run the enrichment providers over ``product``; what they change is written with the
    capture's final status."""
    before = record_of(product)
    record = before
    for provider in job.services.plugins.enrichment_providers:
        try:
            record = job.call(provider, "enrichment", lambda p=provider, r=record: p.enrich(r))  # type: ignore[misc]
        except _Lost:
            raise
        except Exception as exc:
            _log_provider_failure(
                exc, "enrichment provider %s failed for %s: %s", provider.name, product.gtin
            )
    if record != before:
        fields = {
            k: v
            for k, v in _product_fields(record).items()
            if getattr(before, k) != v or k == "image_urls"
        }
        job.product_writes.append(
            models.Product.update(modified=utcnow(), **fields)
            .where(models.Product.id == product.id)
            .execute
        )


__all__ = ["PENDING", "process_capture", "requeue_stale"]
