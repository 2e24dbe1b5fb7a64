"""Retention: ended sessions older than an age are deleted with everything that hangs off them.

A session is purged when it has ended (any status but ``ACTIVE``, as the contract's
``SessionStatusEnum`` has them) and nothing about it changed since the cutoff: the session
itself (``modified``, ``last_activity``, its extraction), and none of its captures
(``modified``, ``state_changed_at``). An extraction still ``processing`` keeps it.

With it go its captures, its photos, the proposals made from its captures, and the objects
they point at in the object store (photos, uploaded capture images), whose quota rows follow
them so that the organisation's usage drops by what was removed. Nothing else points at a
session: redirect rules and product overrides belong to a product and the organisation and
stay; idempotency records hold only the answer a client was sent, and expire on their own
(``idempotency_ttl_seconds``).

Work goes in batches of ``batch_size`` sessions, each its own short transaction (no lock is
held longer than one batch). In that transaction the rows are deleted and their objects are
handed to the quota accounting as ``purging`` (:func:`scanserve.domain.quotas.release`); once
it has committed, the objects are deleted, each before its quota row. A crash between the
two leaves objects no row points at but their ``purging`` quota rows, never a row pointing
at a missing object; the queue's periodic sweep and the next purge delete them.

Without ``execute`` nothing changes: the same batches are read and counted.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, get_args

from peewee import fn

from scanserve.domain import quotas
from scanserve.domain.extraction import PROCESSING
from scanserve.domain.sessions import ACTIVE
from scanserve.generated.models import SessionStatusEnum
from scanserve.storage import models
from scanserve.storage.fields import utcnow

if TYPE_CHECKING:
    from scanserve.infra.objectstore import ObjectStore

logger = logging.getLogger("scanserve.retention")

#: The statuses a session ends in, from the contract: every one but ACTIVE.
ENDED: tuple[str, ...] = tuple(
    s for s in get_args(SessionStatusEnum.model_fields["root"].annotation) if s != ACTIVE
)
BATCH_SIZE = 500
# Keys and ids per IN (...) list: well under the bound parameters SQLite allows in a query.
_CHUNK = 500

_AGE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """``90d``, ``12h``, ``2w``: a whole, positive number of hours, days or weeks. Raises
    ValueError, with a message for the operator, for anything else."""
    match = _AGE.match(text or "")
    if match is None or int(match.group(1)) == 0:
        raise ValueError(
            f"{text!r} is not an age: use a whole number above 0 and h, d or w (90d, 12h, 2w)"
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@dataclass
class Tally:
    """What a purge removes (or would remove) for one organisation."""

    sessions: int = 0
    captures: int = 0
    photos: int = 0
    proposals: int = 0
    objects: int = 0
    bytes: int = 0

    def add(self, other: Tally) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class Report:
    """A purge's result: per organisation (its primary key), and the objects whose deletion
    failed (their quota rows stay for the sweep or the next purge)."""

    cutoff: datetime
    executed: bool
    by_org: dict[int, Tally] = field(default_factory=dict)
    batches: int = 0
    objects_failed: int = 0

    @property
    def total(self) -> Tally:
        total = Tally()
        for tally in self.by_org.values():
            total.add(tally)
        return total

    def add(self, org_id: int, tally: Tally) -> None:
        self.by_org.setdefault(org_id, Tally()).add(tally)


def _ended_before(cutoff: datetime, organization_id: int | None) -> Any:
    """The sessions a purge with this cutoff removes, ``(id, organization)`` by id."""
    S, C = models.ScanSession, models.Capture
    changed_since = C.select(C.id).where(
        (C.session == S.id) & ((C.modified >= cutoff) | (C.state_changed_at >= cutoff))
    )
    query = S.select(S.id, S.organization).where(
        S.status.in_(ENDED),
        S.modified < cutoff,
        S.last_activity < cutoff,
        S.extraction_status != PROCESSING,
        S.extraction_changed_at.is_null() | (S.extraction_changed_at < cutoff),
        ~fn.EXISTS(changed_since),
    )
    if organization_id is not None:
        query = query.where(S.organization == organization_id)
    return query.order_by(S.id)


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


@dataclass
class _Batch:
    """The rows of some sessions and the objects they point at (key: size), per organisation."""

    session_ids: list[int]
    tallies: dict[int, Tally]
    objects: dict[int, dict[str, int]]


def _contents(sessions: list[tuple[int, int]]) -> _Batch:
    C, P, R, S = models.Capture, models.Photo, models.Proposal, models.StoredObject
    org_of = dict(sessions)
    ids = list(org_of)
    tallies = {org: Tally() for org in org_of.values()}
    objects: dict[int, dict[str, int]] = {org: {} for org in org_of.values()}
    for org in org_of.values():
        tallies[org].sessions += 1
    captures: Any = C.select(C.session, C.uploaded_image_key).where(C.session.in_(ids)).tuples()
    for session_id, key in captures:
        tallies[org_of[session_id]].captures += 1
        if key:
            objects[org_of[session_id]][key] = 0
    photos: Any = P.select(P.session, P.s3_key, P.file_size).where(P.session.in_(ids)).tuples()
    for session_id, key, size in photos:
        tallies[org_of[session_id]].photos += 1
        objects[org_of[session_id]][key] = int(size or 0)
    proposals: Any = (
        R.select(C.session, fn.COUNT(R.id))
        .join(C)
        .where(C.session.in_(ids))
        .group_by(C.session)
        .tuples()
    )
    for session_id, count in proposals:
        tallies[org_of[session_id]].proposals += int(count)
    # The quota's own record of a size wins: it is what the usage drops by.
    for org, sizes in objects.items():
        for keys in _chunks(list(sizes)):
            counted: Any = S.select(S.object_key, S.size).where(S.object_key.in_(keys)).tuples()
            for key, size in counted:
                sizes[key] = int(size)
        tallies[org].objects = len(sizes)
        tallies[org].bytes = sum(sizes.values())
    return _Batch(ids, tallies, objects)


def _delete_rows(batch: _Batch) -> None:
    """Inside the batch's transaction: its rows go, its objects are released to be deleted."""
    C, P, R, S = models.Capture, models.Photo, models.Proposal, models.ScanSession
    for org, sizes in batch.objects.items():
        keys = list(sizes)
        for chunk in _chunks(keys):
            quotas.release(org, {key: sizes[key] for key in chunk})
    ids = batch.session_ids
    R.delete().where(R.capture.in_(C.select(C.id).where(C.session.in_(ids)))).execute()
    P.delete().where(P.session.in_(ids)).execute()
    C.delete().where(C.session.in_(ids)).execute()
    S.delete().where(S.id.in_(ids)).execute()


Progress = Callable[[int, Tally, Report], None]


def purge(
    objects: ObjectStore,
    older_than: timedelta,
    *,
    organization_id: int | None = None,
    execute: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> Report:
    """Remove (``execute``) or count the ended sessions unchanged for ``older_than``, of
    one organisation or all, ``batch_size`` sessions per transaction; ``progress`` is called
    after each batch with its number, its tally and the report so far."""
    cutoff = (now or utcnow()) - older_than
    report = Report(cutoff=cutoff, executed=execute)
    db = models.ScanSession._meta.database
    if execute:  # what an earlier purge left behind first
        report.objects_failed += _delete_released(objects, None)
    after = 0
    while True:
        query = _ended_before(cutoff, organization_id).where(models.ScanSession.id > after)
        with db.atomic() if execute else contextlib.nullcontext():
            # chosen inside the transaction that deletes them
            found = [(int(i), int(o)) for i, o in query.limit(batch_size).tuples()]
            if not found:
                break
            after = found[-1][0]
            batch = _contents(found)
            if execute:
                _delete_rows(batch)
        if execute:  # committed: now the objects, each before its quota row
            keys = [key for sizes in batch.objects.values() for key in sizes]
            report.objects_failed += _delete_released(objects, keys)
        report.batches += 1
        batch_total = Tally()
        for org, tally in batch.tallies.items():
            report.add(org, tally)
            batch_total.add(tally)
        if progress is not None:
            progress(report.batches, batch_total, report)
    return report


def _delete_released(objects: ObjectStore, keys: list[str] | None) -> int:
    """Delete released objects (those of ``keys``, or every one); returns how many failed."""
    if keys is None:
        return quotas.delete_released(objects)[1]
    return sum(quotas.delete_released(objects, chunk)[1] for chunk in _chunks(keys))


def log_batch(number: int, batch: Tally, report: Report) -> None:
    """A progress callback for the scheduled purge (``retention_days``): one line a batch."""
    total = report.total
    logger.info(
        "purge batch %d: deleted %d ended session(s) (%d so far, %d object(s), %d bytes)",
        number,
        batch.sessions,
        total.sessions,
        total.objects,
        total.bytes,
    )
