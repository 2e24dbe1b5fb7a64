"""Scanner Upload operations: presigned photo uploads, the local backend's receiving end,
and images uploaded as captures."""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from connexion import request
from starlette.datastructures import UploadFile

from scanserve.domain import budgets, captures, photos, uploads
from scanserve.errors import FieldError, ValidationFailed
from scanserve.generated import shapes
from scanserve.http import presenters
from scanserve.http.context import image_work, principal, services


def _own_upload_url() -> str:
    # The configured public address, or the API's base URL as the request reached it (this
    # operation's path with its own part, `/sessions/{id}/presigned-upload-url`, taken off),
    # plus the receiving path.
    settings = services().settings
    if settings.public_base_url:
        return f"{settings.public_base_url.rstrip('/')}{settings.base_path}/uploads"
    url = request.url
    base = url.path[: url.path.rindex("/sessions/")]
    return str(url.replace(path=f"{base}/uploads", query=""))


def get_presigned_upload_url(
    session_id: str, photo_type: str = "other", original_filename: str = "photo.jpg"
) -> shapes.PresignedUploadResponse:
    presigned, key = photos.presign(
        services(),
        principal(),
        session_id,
        photo_type=photo_type,
        original_filename=original_filename,
        own_upload_url=_own_upload_url(),
    )
    return presenters.presigned_upload_view(
        presigned.url, presigned.fields, key, presigned.expires_in
    )


def _one_file(value: Any, field: str) -> UploadFile:
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    if not isinstance(value, UploadFile):
        raise ValidationFailed([FieldError(f"/{field}", "must be one file part")])
    return value


def _close(*files: Any) -> None:
    for value in files:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, UploadFile):
                item.file.close()


# The handlers take every file part (**parts): each one is closed when the request is done,
# the ones the contract does not name included, so no spooled temporary file is left open.


def receive_upload(body: dict[str, Any], **parts: Any) -> tuple[None, int]:
    try:
        uploads.receive_presigned(services(), body, _one_file(parts.get("file"), "file").file)
    finally:
        _close(*parts.values())
    return None, 204


async def upload_capture_image(
    body: dict[str, Any], **parts: Any
) -> tuple[shapes.CaptureResponse, int]:
    svc, caller = services(), principal()
    try:
        body = captures.naming_one_session(body)
        image = _one_file(parts.get("image"), "image")
        # The organisation's budget of image uploads first (scanserve.domain.budgets), then the
        # image checked and stored in its organisation's lane (scanserve.infra.request_lanes) with
        # bounded decoded bytes (image_work): a flood of large images from one organisation waits
        # there, holding no thread, while everyone else's requests go on.
        org_id = await to_thread.run_sync(
            budgets.spend_for_session, svc, caller, body["session_id"], "images"
        )
        lane_key = caller.rate_key if org_id is None else f"org:{org_id}"
        view = await image_work(
            lambda: presenters.capture_view(
                uploads.create_image_capture(svc, caller, body, image.file)
            ),
            svc.image_lane,
            lane_key,
        )
    finally:
        _close(*parts.values())
    return view, 201
