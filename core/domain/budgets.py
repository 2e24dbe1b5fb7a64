"""Budgets of the expensive operations, per organisation, beside the request budget.

The gateway counts every request against its credential's budget (``scanserve.infra.ratelimit``)
before anything else runs. Some requests cost far more than others afterwards: an uploaded
image is decoded (first while the request waits, then on the queue), a capture whose value
is a URL is followed (seconds, or until the QR timeout), a submitted session runs the vision
extractors. Each of these counts, once the request's organisation is known, against a budget
of that organisation for that kind of work, so one organisation (whatever number of keys it
holds) cannot flood the server with them at the request budget's pace. A spent budget answers
``429`` with ``Retry-After``; nothing was written.

The counters live where the request budget's do (``rate_limit_storage_url``), under keys of
their own (``org:<id>:<kind>``). A plain barcode capture counts against none of them: its
request path makes no extra round trip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from scanserve.errors import RateLimited
from scanserve.identity.scoping import visible
from scanserve.storage import models

if TYPE_CHECKING:
    from scanserve.domain.services import Services
    from scanserve.identity.auth import Principal

Kind = Literal["images", "links", "extractions"]

_WHAT = {
    "images": "image uploads",
    "links": "captures of URLs to follow",
    "extractions": "session submissions (vision extraction)",
}


def spend(services: Services, org_id: int, kind: Kind) -> None:
    """Count one operation of ``kind`` for organisation ``org_id``; raises
    :class:`RateLimited` (``429``, ``Retry-After``) when its budget is spent."""
    settings = services.settings
    per_minute, per_day = {
        "images": (settings.org_image_uploads_per_minute, settings.org_image_uploads_per_day),
        "links": (settings.org_link_captures_per_minute, settings.org_link_captures_per_day),
        "extractions": (settings.org_extractions_per_minute, settings.org_extractions_per_day),
    }[kind]
    verdict = services.limiter.hit(f"org:{org_id}:{kind}", per_minute, per_day)
    if not verdict.allowed:
        raise RateLimited(
            verdict.retry_after,
            f"The organisation's budget of {_WHAT[kind]} ({per_minute} a minute, {per_day} a "
            "day) is spent; wait before trying again.",
        )


def spend_for_session(
    services: Services, principal: Principal, session_short_id: str, kind: Kind
) -> int | None:
    """:func:`spend` for the organisation of the caller's session ``session_short_id``;
    returns that organisation's id, or None (nothing counted) when the caller has no such
    session: the operation itself then answers ``404``."""
    row = (
        visible(
            models.ScanSession.select(models.ScanSession.organization),
            models.ScanSession,
            principal,
        )
        .where(models.ScanSession.short_id == session_short_id)
        .tuples()
        .first()
    )
    if row is None:
        return None
    org_id = int(row[0])
    spend(services, org_id, kind)
    return org_id
