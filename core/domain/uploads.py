"""Files coming in over HTTP: photos posted to a local presigned URL, and images uploaded as
captures.

Both read the file part only up to the limit (one byte more tells "too large" from "just
fits"); the gateway has already refused, without reading it, a body much larger than
``max_upload_bytes``. What a file is, is judged from its bytes, never its name or the type
the client declares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO

from scanserve.domain import captures, gs1, imaging, photos, quotas, sessions
from scanserve.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from scanserve.identity.auth import Principal
from scanserve.identity.scoping import visible
from scanserve.infra.objectstore import InvalidKey, ObjectExists
from scanserve.infra.objectstore.policy import POLICY_FIELD, SIGNATURE_FIELD, PolicyError
from scanserve.storage import models

if TYPE_CHECKING:
    from scanserve.domain.services import Services


def read_limited(file: BinaryIO, limit: int, what: str) -> bytes:
    """The file's bytes, reading at most ``limit`` + 1 of them; 413 beyond ``limit``."""
    file.seek(0)
    data = file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"The {what} may be at most {limit} bytes.")
    return data


def receive_presigned(services: Services, form: dict[str, Any], file: BinaryIO) -> str:
    """Store a file posted to the local backend's upload URL; returns its key."""
    signer = getattr(services.objects, "signer", None)
    if signer is None:
        raise NotFound("Uploads go straight to the object store; this server takes none.")
    try:
        policy = signer.verify(str(form[POLICY_FIELD]), str(form[SIGNATURE_FIELD]))
    except PolicyError as exc:
        raise Forbidden(f"The upload is refused: {exc}.") from None
    if form["key"] != policy.key:
        raise Forbidden("The upload is refused: `key` is not the key its policy was signed for.")
    declared = str(form.get("Content-Type") or "")
    if declared not in policy.content_types:
        raise UnsupportedMediaType(
            f"The upload is refused: its policy allows Content-Type "
            f"{', '.join(policy.content_types)}, not {declared or 'none'}."
        )
    data = read_limited(file, policy.max_bytes, "uploaded file")
    if len(data) < policy.min_bytes:
        raise ValidationFailed([FieldError("/file", "is empty")])
    actual = imaging.sniff(data)
    if actual != declared:
        raise UnsupportedMediaType(
            f"The upload is refused: the file is {_described(actual)}, "
            f"but its policy allows {declared}."
        )
    try:
        services.objects.put(policy.key, data, content_type=declared)
    except ObjectExists:
        raise Conflict(f"An object is already stored under {policy.key}.") from None
    except InvalidKey as exc:  # only a server bug could sign such a key
        raise Forbidden(f"The upload is refused: {exc}.") from None
    return policy.key


def _described(media_type: str | None) -> str:
    if media_type is None:
        return "not a JPEG, PNG or WebP image (judged from its bytes)"
    return f"a {media_type} image (judged from its bytes)"


def create_image_capture(
    services: Services, principal: Principal, form: dict[str, Any], image: BinaryIO
) -> models.Capture:
    """Store the image and create its capture. Without a ``raw_value`` the capture waits,
    PENDING, for the queue to decode the image (:mod:`scanserve.domain.pipeline`)."""
    session = (
        visible(models.ScanSession.select(), models.ScanSession, principal)
        .where(models.ScanSession.short_id == form["session_id"])
        .first()
    )
    if session is None:
        raise NotFound(f"No session with id {form['session_id']}.")
    sessions.require_active(session)
    data = read_limited(image, services.settings.max_upload_bytes, "image")
    try:
        media_type = imaging.check_image(data, wait=True)
    except imaging.DecoderBusy as exc:
        raise exc.problem("The image cannot be checked now") from None
    except imaging.ImageError as exc:
        if imaging.sniff(data) is None:
            raise UnsupportedMediaType(f"The image is refused: {exc}.") from None
        raise ValidationFailed([FieldError("/image", str(exc))]) from None

    raw_value = str(form.get("raw_value") or "")
    client_gtin = str(form.get("gtin") or "")
    # The same rules as POST /captures (captures.server_gtin): the client's gtin is a hint,
    # and a raw_value that cannot be read fails in the pipeline, not here.
    interpretation = gs1.interpret(raw_value) if raw_value else None
    fields: dict[str, Any] = {
        "gtin": captures.server_gtin(interpretation, client_gtin),
        "gs1_dl_data": interpretation.ai_data if interpretation is not None else None,
    }

    short_id = models.new_short_id()
    org_short_id = models.Organization.get_by_id(session.organization_id).short_id
    key = photos.capture_image_key(
        org_short_id, session.short_id, short_id, imaging.EXTENSIONS[media_type]
    )
    quotas.require_room(services.settings, session.organization_id, len(data))
    services.objects.put(key, data, content_type=media_type)
    try:
        quotas.record_stored(session.organization_id, key, len(data))
        capture = models.Capture.create(
            short_id=short_id,
            organization=session.organization_id,
            session=session.id,
            capture_type=form.get("capture_type") or "IMAGE",
            raw_value=raw_value,
            uploaded_image_key=key,
            metadata={},
            **fields,
        )
    except Exception:
        services.objects.delete(key)  # no capture, no orphan object
        quotas.forget(key)
        raise
    sessions.touch(session.id)
    # The answer is the capture as created (PENDING), read before it is queued: read after,
    # a worker may already have moved it on (LOOKING_UP, FAILED). As for createCapture, the
    # immediate queue runs the pipeline first, and its result is the answer.
    created = captures.get(principal, capture.short_id)
    if capture.status == captures.PENDING:
        # an image to decode, or a link to follow: the queue's slow lane (Queue.enqueue_capture)
        slow = captures.is_slow(capture.raw_value, key)
        services.queue.enqueue_capture(capture.short_id, slow=slow, org=session.organization_id)
        if services.settings.queue == "immediate":
            return captures.get(principal, capture.short_id)
    return created
