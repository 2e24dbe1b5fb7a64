"""Scanner Photos operations."""

from __future__ import annotations

from typing import Any

from anyio import to_thread

from scanserve.domain import budgets, photos
from scanserve.generated import shapes
from scanserve.http import presenters
from scanserve.http.context import image_work, principal, services


async def register_photo(
    session_id: str, body: dict[str, Any]
) -> tuple[shapes.PhotoResponse, int]:
    # A registered photo is read and decoded (judged) by the server: the organisation's budget of
    # image uploads (scanserve.domain.budgets), then the work in its organisation's image lane, as
    # for upload-image (scanserve.infra.request_lanes), with bounded decoded bytes (image_work),
    # holding no thread of the shared pool while it waits.
    svc, caller = services(), principal()
    org_id = await to_thread.run_sync(budgets.spend_for_session, svc, caller, session_id, "images")
    lane_key = caller.rate_key if org_id is None else f"org:{org_id}"
    view = await image_work(
        lambda: presenters.photo_view(photos.register(svc, caller, session_id, body)),
        svc.image_lane,
        lane_key,
    )
    return view, 201


def reorder_photos(session_id: str, body: dict[str, Any]) -> list[shapes.PhotoResponse]:
    ordered = photos.reorder(services(), principal(), session_id, body["photo_short_ids"])
    return [presenters.photo_view(photo) for photo in ordered]


def update_photo(session_id: str, photo_id: str, body: dict[str, Any]) -> shapes.PhotoResponse:
    return presenters.photo_view(photos.update(principal(), session_id, photo_id, body))
