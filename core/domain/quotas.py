"""Storage quotas per organisation, and the cleanup of presigned uploads never registered.

Every object the server stores or lets a client upload is counted against its organisation in
``stored_object``: a photo or an uploaded image once stored (its real size), a presigned
upload from the moment its URL is handed out (``pending``, counted at ``max_upload_bytes``,
the most it may hold, so an organisation cannot pass its quota by uploading to URLs it
already has). Registering the photo records its real size; the sweep deletes a pending
upload, object and row, ``upload_cleanup_grace_seconds`` after its URL expired.

An organisation may hold ``storage_quota_bytes`` bytes in ``storage_quota_objects`` objects
(settings; 0 is no limit), or its own limits (``scanserve orgs quota set``). A write that would
pass either is refused with ``507 insufficient_storage``; other organisations are not
affected. The check and the write are not one transaction: requests racing for the last bytes
may together pass the quota by at most what they write.

Registration and the sweep agree on each pending upload by compare-and-set on its row: the
sweep deletes the row (``state = 'pending'``) before the object, registration turns it
``stored`` in the transaction that creates the photo; whichever comes first wins, so a
registered photo never loses its object and a swept upload can never be registered.

Retention (:mod:`scanserve.domain.retention`) hands the objects of the sessions it deletes
over as ``purging`` rows (:func:`release`), in the transaction that deletes their photos and
captures, and deletes each object before its row (:func:`delete_released`): an object still
counts until it is gone, and one left behind by a crash keeps its row, which the next sweep
or the next purge finishes. No row ever points at an object that was deleted under a photo
or capture still there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import peewee

from scanserve.errors import InsufficientStorage
from scanserve.storage import models
from scanserve.storage.fields import utcnow

if TYPE_CHECKING:
    from scanserve.domain.services import Services
    from scanserve.infra.objectstore import ObjectStore
    from scanserve.settings import Settings

logger = logging.getLogger("scanserve.quotas")

PENDING, STORED, PURGING = "pending", "stored", "purging"


@dataclass(frozen=True)
class Usage:
    """What an organisation holds and may hold (a limit of 0: none)."""

    bytes: int
    objects: int
    max_bytes: int
    max_objects: int
    bytes_overridden: bool = False
    objects_overridden: bool = False

    def refusal(self, more_bytes: int, more_objects: int = 1) -> str | None:
        """Why adding ``more_bytes`` in ``more_objects`` objects would pass the quota, or
        None when it fits."""
        if self.max_objects and self.objects + more_objects > self.max_objects:
            return (
                f"The organisation's storage quota of {self.max_objects} objects is spent "
                f"({self.objects} stored or being uploaded)."
            )
        if self.max_bytes and self.bytes + more_bytes > self.max_bytes:
            return (
                f"The organisation's storage quota of {self.max_bytes} bytes is spent: it holds "
                f"{self.bytes}, and this needs {more_bytes} more."
            )
        return None


def usage(settings: Settings, organization_id: int) -> Usage:
    S = models.StoredObject
    total, count = (
        S.select(peewee.fn.COALESCE(peewee.fn.SUM(S.size), 0), peewee.fn.COUNT(S.id))
        .where(S.organization == organization_id)
        .scalar(as_tuple=True)
    )
    own = models.StorageQuota.get_or_none(models.StorageQuota.organization == organization_id)
    max_bytes = own.max_bytes if own is not None and own.max_bytes is not None else None
    max_objects = own.max_objects if own is not None and own.max_objects is not None else None
    return Usage(
        bytes=int(total or 0),
        objects=int(count or 0),
        max_bytes=settings.storage_quota_bytes if max_bytes is None else int(max_bytes),
        max_objects=settings.storage_quota_objects if max_objects is None else int(max_objects),
        bytes_overridden=max_bytes is not None,
        objects_overridden=max_objects is not None,
    )


def require_room(settings: Settings, organization_id: int, size: int) -> None:
    """Raise :class:`InsufficientStorage` (507) when one more object of ``size`` bytes would
    pass the organisation's quota."""
    reason = usage(settings, organization_id).refusal(size)
    if reason is not None:
        raise InsufficientStorage(reason)


def reserve_upload(
    settings: Settings, organization_id: int, key: str, max_bytes: int, expires_at: datetime
) -> None:
    """Count a presigned upload against the quota (507 when it would pass it)."""
    require_room(settings, organization_id, max_bytes)
    models.StoredObject.create(
        organization=organization_id,
        object_key=key,
        size=max_bytes,
        state=PENDING,
        expires_at=expires_at,
    )


def record_stored(organization_id: int, key: str, size: int) -> None:
    """Count an object the server stored itself (an uploaded image)."""
    models.StoredObject.create(
        organization=organization_id, object_key=key, size=size, state=STORED
    )


def claim_upload(
    organization_id: int, key: str, size: int, still_there: Callable[[], bool]
) -> bool:
    """Inside the registering transaction: the pending upload becomes a stored object of its
    real size. An object with no row at all (uploaded before quotas were counted, or swept a
    moment ago) is counted now if ``still_there()``; False when it is not."""
    S = models.StoredObject
    claimed = (
        S.update(state=STORED, size=size, expires_at=None)
        .where(S.object_key == key, S.state == PENDING)
        .execute()
    )
    if claimed or S.select().where(S.object_key == key).exists():
        return True  # (a stored row: the photo's unique key refuses a second registration)
    if not still_there():
        return False
    record_stored(organization_id, key, size)
    return True


def forget(key: str) -> None:
    """The object is gone (its upload was refused): stop counting it."""
    models.StoredObject.delete().where(models.StoredObject.object_key == key).execute()


def sweep_unregistered(services: Services, now: datetime | None = None) -> list[str]:
    """Delete every presigned upload whose URL expired more than
    ``upload_cleanup_grace_seconds`` ago without a registration: its row first (the
    compare-and-set registration checks), then its object. Returns the keys deleted. Also
    deletes up to 1000 objects a purge released and did not get to delete
    (:func:`delete_released`)."""
    S = models.StoredObject
    cutoff = (now or utcnow()) - timedelta(seconds=services.settings.upload_cleanup_grace_seconds)
    deleted = []
    expired = S.select(S.id, S.object_key).where(S.state == PENDING, S.expires_at < cutoff)
    for row in expired.limit(1000):
        if not S.delete().where(S.id == row.id, S.state == PENDING).execute():
            continue  # registered meanwhile
        try:
            services.objects.delete(row.object_key)
        except Exception:  # the next sweep cannot find it again: say so
            logger.exception("could not delete the unregistered upload %s", row.object_key)
            continue
        deleted.append(row.object_key)
    if deleted:
        logger.info("deleted %d upload(s) never registered", len(deleted))
    # objects a purge released and did not get to delete (it stopped, or the store failed)
    finished, _ = delete_released(services.objects, limit=1000)
    if finished:
        logger.info("deleted %d object(s) of purged sessions", finished)
    return deleted


def release(organization_id: int, sizes: dict[str, int]) -> None:
    """Inside the transaction that deletes the rows pointing at them: the objects ``sizes``
    names (key: size) are to be deleted. Each keeps (or, when it was never counted, gets) its
    row, marked ``purging`` from now (``expires_at``), until :func:`delete_released`."""
    if not sizes:
        return
    S = models.StoredObject
    now = utcnow()
    keys = list(sizes)
    S.update(state=PURGING, expires_at=now).where(S.object_key.in_(keys)).execute()
    rows: Any = S.select(S.object_key).where(S.object_key.in_(keys)).tuples()
    counted = {key for (key,) in rows}
    missing = [
        {
            "organization": organization_id,
            "object_key": key,
            "size": sizes[key],
            "state": PURGING,
            "expires_at": now,
        }
        for key in keys
        if key not in counted
    ]
    if missing:
        S.insert_many(missing).execute()


def delete_released(
    objects: ObjectStore, keys: list[str] | None = None, limit: int | None = None
) -> tuple[int, int]:
    """Delete the objects released to be deleted (only those of ``keys`` when given; at most
    ``limit``), each object before its row; returns (deleted, failed). A failed one keeps its
    row and is tried again by the next call."""
    S = models.StoredObject
    query = S.select(S.id, S.object_key).where(S.state == PURGING, S.expires_at <= utcnow())
    if keys is not None:
        query = query.where(S.object_key.in_(keys))
    deleted = failed = after = 0
    while limit is None or deleted + failed < limit:
        rows = list(query.where(S.id > after).order_by(S.id).limit(500))
        if not rows:
            break
        for row in rows[: None if limit is None else limit - deleted - failed]:
            after = row.id
            try:
                objects.delete(row.object_key)
            except Exception:  # the row stays: the next sweep or purge tries again
                logger.exception("could not delete the purged object %s", row.object_key)
                failed += 1
                continue
            S.delete().where(S.id == row.id).execute()
            deleted += 1
    return deleted, failed


def set_quota(organization_id: int, *, max_bytes: int | None, max_objects: int | None) -> None:
    """Override the organisation's limits (None: back to the setting's default)."""
    Q = models.StorageQuota
    row = Q.get_or_none(Q.organization == organization_id)
    if row is None:
        Q.create(organization=organization_id, max_bytes=max_bytes, max_objects=max_objects)
    else:
        Q.update(max_bytes=max_bytes, max_objects=max_objects).where(Q.id == row.id).execute()
