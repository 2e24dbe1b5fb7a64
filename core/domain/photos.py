"""Product photos of a session: presigned uploads, registration, gallery order, type.

Storage keys are namespaced by organisation, session and photo type::

    org/<organisation short id>/sessions/<session short id>/<photo_type>/<new id><ext>

The server makes every key (a client only picks the photo type and, through
``original_filename``, one of a few extensions), and registering checks the key is one of
this session's: a client can never name another organisation's or session's object.
Images uploaded as captures live beside them, under ``.../captures/<capture id><ext>``, a
prefix no photo key has.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn, get_args

import peewee
from peewee import JOIN

from scanserve.domain import imaging, quotas, sessions
from scanserve.domain.metadata import initial, merge
from scanserve.errors import Conflict, FieldError, NotFound, ValidationFailed
from scanserve.generated.models import PhotoTypeEnum
from scanserve.identity.auth import Principal
from scanserve.identity.scoping import get_owned
from scanserve.infra.objectstore import ObjectNotFound, ObjectTooLarge
from scanserve.storage import models
from scanserve.storage.fields import utcnow

if TYPE_CHECKING:
    from scanserve.domain.services import Services
    from scanserve.infra.objectstore import PresignedPost

# The contract's PhotoTypeEnum, read from the generated model rather than spelt again.
PHOTO_TYPES: tuple[str, ...] = get_args(PhotoTypeEnum.model_fields["root"].annotation)
# The extensions a photo key may end in, and the content type each is uploaded as.
CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}
DEFAULT_EXTENSION = ".jpg"
_ID = r"[2-9A-HJ-NP-Za-km-z]{22}"
_EXT = "|".join(re.escape(e) for e in CONTENT_TYPES)


def extension_for(original_filename: str) -> str:
    """``.jpg``, ``.jpeg``, ``.png`` or ``.webp`` from the file name (any case); anything
    else (no extension, ``.heic``, ``.exe``, ``../x``) gets :data:`DEFAULT_EXTENSION`."""
    _, dot, ext = original_filename.rpartition(".")
    candidate = f".{ext.lower()}" if dot else ""
    return candidate if candidate in CONTENT_TYPES else DEFAULT_EXTENSION


def session_prefix(org_short_id: str, session_short_id: str) -> str:
    return f"org/{org_short_id}/sessions/{session_short_id}/"


def photo_key(org_short_id: str, session_short_id: str, photo_type: str, extension: str) -> str:
    prefix = session_prefix(org_short_id, session_short_id)
    return f"{prefix}{photo_type}/{models.new_short_id()}{extension}"


def capture_image_key(
    org_short_id: str, session_short_id: str, capture_short_id: str, extension: str
) -> str:
    return (
        f"{session_prefix(org_short_id, session_short_id)}captures/{capture_short_id}{extension}"
    )


def _photo_key_pattern(org_short_id: str, session_short_id: str) -> re.Pattern[str]:
    prefix = re.escape(session_prefix(org_short_id, session_short_id))
    return re.compile(f"{prefix}(?:{'|'.join(PHOTO_TYPES)})/{_ID}(?:{_EXT})")


def _org_short_id(session: models.ScanSession) -> str:
    return str(models.Organization.get_by_id(session.organization_id).short_id)


def _active_session(principal: Principal, session_short_id: str) -> models.ScanSession:
    session = get_owned(models.ScanSession, session_short_id, principal, "session")
    sessions.require_active(session)
    return session


def presign(
    services: Services,
    principal: Principal,
    session_short_id: str,
    *,
    photo_type: str,
    original_filename: str,
    own_upload_url: str,
) -> tuple[PresignedPost, str]:
    """A presigned upload for one photo of the session, and the key it lands at."""
    session = _active_session(principal, session_short_id)
    extension = extension_for(original_filename)
    key = photo_key(_org_short_id(session), session.short_id, photo_type, extension)
    settings = services.settings
    # counted against the organisation's quota from now on, at the most it may hold (507
    # when spent); deleted by the sweep if it is never registered
    quotas.reserve_upload(
        settings,
        session.organization_id,
        key,
        settings.max_upload_bytes,
        utcnow() + timedelta(seconds=settings.upload_url_expires_seconds),
    )
    presigned = services.objects.presign_post(
        key,
        content_type=CONTENT_TYPES[extension],
        max_bytes=settings.max_upload_bytes,
        expires_in=settings.upload_url_expires_seconds,
        own_upload_url=own_upload_url,
    )
    return presigned, key


def photo_query() -> Any:
    """Photos with their capture's short id, in one query."""
    return models.Photo.select(models.Photo, models.Capture.short_id).join(
        models.Capture, JOIN.LEFT_OUTER
    )


def _get(session: models.ScanSession, photo_short_id: str) -> models.Photo:
    row = (
        photo_query()
        .where(models.Photo.session == session.id, models.Photo.short_id == photo_short_id)
        .first()
    )
    if row is None:
        raise NotFound(f"No photo with id {photo_short_id} in session {session.short_id}.")
    return row  # type: ignore[no-any-return]


def register(
    services: Services, principal: Principal, session_short_id: str, body: dict[str, Any]
) -> models.Photo:
    session = _active_session(principal, session_short_id)
    key: str = body["s3_key"]
    if not _photo_key_pattern(_org_short_id(session), session.short_id).fullmatch(key):
        raise ValidationFailed(
            [
                FieldError(
                    "/s3_key",
                    "is not a photo key issued for this session; "
                    "ask getPresignedUploadUrl for one",
                )
            ]
        )
    capture_id = None
    capture_short_id = body.get("capture_short_id")
    if capture_short_id:
        capture = models.Capture.get_or_none(
            models.Capture.short_id == capture_short_id, models.Capture.session == session.id
        )
        if capture is None:
            raise NotFound(f"No capture with id {capture_short_id} in session {session.short_id}.")
        capture_id = capture.id
    if models.Photo.select().where(models.Photo.s3_key == key).exists():
        raise Conflict(f"The object {key} is already registered as a photo.")
    # Claimed before it is judged: from here on, posting the presigned policy again cannot
    # change the object under the key (scanserve.infra.objectstore.s3; local files are
    # write-once).
    limit = services.settings.max_upload_bytes
    try:
        services.objects.claim_upload(key, max_bytes=limit)
    except ObjectTooLarge:
        _refuse(services, key, f"the uploaded object is larger than {limit} bytes")
    size = services.objects.size(key)
    if size is None:
        raise ValidationFailed(
            [FieldError("/s3_key", "no object has been uploaded under this key yet")]
        )
    # An S3 presigned POST checks the declared Content-Type and the size, never the bytes:
    # what was stored is judged here, every pixel decoded (as upload-image does).
    if size > limit:
        _refuse(services, key, f"the uploaded object is larger than {limit} bytes")
    _check_stored_image(services, key)
    metadata = initial(body.get("metadata"))
    try:
        with services.db.atomic():
            if not quotas.claim_upload(
                session.organization_id, key, size, lambda: services.objects.size(key) is not None
            ):
                raise ValidationFailed(
                    [FieldError("/s3_key", "the upload expired unregistered and was deleted")]
                )
            last = (
                models.Photo.select(peewee.fn.MAX(models.Photo.sort_order))
                .where(models.Photo.session == session.id)
                .scalar()
            )
            photo = models.Photo.create(
                organization=session.organization_id,
                session=session.id,
                capture=capture_id,
                photo_type=body.get("photo_type") or "other",
                s3_key=key,
                original_filename=body.get("original_filename") or "",
                sort_order=0 if last is None else last + 1,
                # what is stored, whatever the client says
                file_size=size,
                metadata=metadata,
            )
    except peewee.IntegrityError:
        # the unique index on s3_key: another request registered the same object meanwhile
        raise Conflict(f"The object {key} is already registered as a photo.") from None
    sessions.touch(session.id)
    return _get(session, photo.short_id)


def _refuse(services: Services, key: str, why: str) -> NoReturn:
    """The stored object can never become a photo: delete it (it stops counting against the
    quota) and answer 422."""
    services.objects.delete(key)
    quotas.forget(key)
    raise ValidationFailed([FieldError("/s3_key", why)])


def _check_stored_image(services: Services, key: str) -> None:
    """Decode the uploaded object (type and pixel size, every pixel: a JPEG signature in
    front of HTML, or a truncated file, is refused) and check it is the type its key says."""
    try:
        data = services.objects.get(key)
    except ObjectNotFound:
        raise ValidationFailed(
            [FieldError("/s3_key", "no object has been uploaded under this key yet")]
        ) from None
    try:
        media_type = imaging.check_image(data, wait=True)
    except imaging.DecoderBusy as exc:
        raise exc.problem("The photo cannot be checked now") from None
    except imaging.ImageError as exc:
        _refuse(services, key, f"the uploaded object is refused: {exc}")
    finally:
        del data
    expected = CONTENT_TYPES[key[key.rindex(".") :]]
    if media_type != expected:
        _refuse(
            services,
            key,
            f"the uploaded object is a {media_type} image, but its key was issued for {expected}",
        )


def reorder(
    services: Services, principal: Principal, session_short_id: str, photo_short_ids: list[str]
) -> list[models.Photo]:
    session = _active_session(principal, session_short_id)
    with services.db.atomic():
        current = {
            p.short_id: p.id
            for p in models.Photo.select(models.Photo.id, models.Photo.short_id).where(
                models.Photo.session == session.id
            )
        }
        problems = []
        seen: set[str] = set()
        for index, short_id in enumerate(photo_short_ids):
            if short_id in seen:
                problems.append(FieldError(f"/photo_short_ids/{index}", "is listed twice"))
            elif short_id not in current:
                problems.append(
                    FieldError(f"/photo_short_ids/{index}", "is not a photo of this session")
                )
            seen.add(short_id)
        missing = sorted(set(current) - seen)
        if missing:
            problems.append(
                FieldError(
                    "/photo_short_ids",
                    "must list every photo of the session; missing: " + ", ".join(missing),
                )
            )
        if problems:
            raise ValidationFailed(problems)
        for position, short_id in enumerate(photo_short_ids):
            models.Photo.update(sort_order=position).where(
                models.Photo.id == current[short_id]
            ).execute()
    sessions.touch(session.id)
    return list(
        photo_query()
        .where(models.Photo.session == session.id)
        .order_by(models.Photo.sort_order, models.Photo.id)
    )


def update(
    principal: Principal, session_short_id: str, photo_short_id: str, body: dict[str, Any]
) -> models.Photo:
    session = _active_session(principal, session_short_id)
    photo = _get(session, photo_short_id)
    changes: dict[str, Any] = {"photo_type": body["photo_type"]}
    if "metadata" in body:
        changes["metadata"] = merge(photo.metadata or {}, body["metadata"])
    models.Photo.update(**changes).where(models.Photo.id == photo.id).execute()
    sessions.touch(session.id)
    return _get(session, photo_short_id)


__all__ = ["capture_image_key", "extension_for", "photo_key", "presign", "register"]
