"""Scanner Resolve operations."""

from __future__ import annotations

from typing import Any

from scanserve.domain import redirects
from scanserve.generated import shapes
from scanserve.http import presenters
from scanserve.http.context import principal, services


async def resolve_url(body: dict[str, Any]) -> shapes.ResolveUrlResponse:
    # in its own lane, bounded per caller and overall, apart from other requests' threads
    svc = services()
    return await svc.resolve_lane.run(principal().rate_key, redirects.resolve, svc, body["url"])


def save_capture_redirect(
    short_id: str, body: dict[str, Any] | None = None
) -> tuple[shapes.RedirectRule, int]:
    rule = redirects.save_redirect(principal(), short_id, (body or {}).get("url"))
    return presenters.redirect_rule_view(rule), 201
