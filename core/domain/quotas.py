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
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import peewee

from scanserve.errors import InsufficientStorage
from scanserve.storage import models
from scanserve.storage.fields import utcnow

if TYPE_CHECKING:
    from scanserve.domain.services import Services
    from scanserve.settings import Settings

logger = logging.getLogger("scanserve.quotas")

PENDING, STORED = "pending", "stored"


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
    compare-and-set registration checks), then its object. Returns the keys deleted."""
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
    return deleted


def set_quota(organization_id: int, *, max_bytes: int | None, max_objects: int | None) -> None:
    """Override the organisation's limits (None: back to the setting's default)."""
    Q = models.StorageQuota
    row = Q.get_or_none(Q.organization == organization_id)
    if row is None:
        Q.create(organization=organization_id, max_bytes=max_bytes, max_objects=max_objects)
    else:
        Q.update(max_bytes=max_bytes, max_objects=max_objects).where(Q.id == row.id).execute()
