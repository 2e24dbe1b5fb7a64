"""Scanner Photos operations."""

from __future__ import annotations

from typing import Any

from .. import photos, views
from ..context import image_work, principal, services


async def register_photo(session_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    # the uploaded object is decoded to check it: bounded threads and decoded bytes
    svc, caller = services(), principal()
    view = await image_work(
        lambda: views.photo_view(photos.register(svc, caller, session_id, body))
    )
    return view, 201


def reorder_photos(session_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    ordered = photos.reorder(services(), principal(), session_id, body["photo_short_ids"])
    return [views.photo_view(photo) for photo in ordered]


def update_photo(session_id: str, photo_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return views.photo_view(photos.update(principal(), session_id, photo_id, body))
