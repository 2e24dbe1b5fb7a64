"""Scanner Photos operations."""

from __future__ import annotations

from typing import Any

from .. import budgets, photos, views
from ..context import principal, services


def register_photo(session_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    # a registered photo is read (and judged) by the server: the organisation's budget of
    # image uploads (scanserve.budgets)
    budgets.spend_for_session(services(), principal(), session_id, "images")
    photo = photos.register(services(), principal(), session_id, body)
    return views.photo_view(photo), 201


def reorder_photos(session_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    ordered = photos.reorder(services(), principal(), session_id, body["photo_short_ids"])
    return [views.photo_view(photo) for photo in ordered]


def update_photo(session_id: str, photo_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return views.photo_view(photos.update(principal(), session_id, photo_id, body))
