"""Following scanned URLs (``POST /resolve-url``) and saving redirect rules on products."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import peewee
from peewee import fn

from scanserve.domain import captures
from scanserve.errors import CaptureHasNoProduct, Conflict, FieldError, ValidationFailed
from scanserve.generated import shapes
from scanserve.identity.auth import Principal
from scanserve.storage import models

if TYPE_CHECKING:
    from scanserve.domain.services import Services


def resolve(services: Services, url: str) -> shapes.ResolveUrlResponse:
    """The resolver's answer as the ``ResolveUrlResponse`` schema has it; failures are in
    ``error_message``, never raised."""
    analysis = services.plugins.analyse_url(url)
    if analysis is None:
        analysis = {
            "initial_url": url,
            "final_url": url,
            "hops": [],
            "hop_count": 0,
            "error_message": "no resolver handles this URL",
        }
    # The URLs that answered: empty when the first request got no response at all.
    chain = [hop["url"] for hop in analysis["hops"]]
    return {
        "initial_url": analysis["initial_url"],
        "final_url": analysis["final_url"],
        "hops": analysis["hop_count"],
        "error_message": analysis["error_message"],
        "succeeded": analysis["error_message"] == "",
        "chain": chain,
    }


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed([FieldError("/url", "must be an absolute http or https URL")])


def save_redirect(
    principal: Principal, capture_short_id: str, url: str | None
) -> models.RedirectRule:
    """Append ``url`` to the rules of the capture's product; with ``url`` ``None``, the
    capture's own resolved URL (its QR analysis's ``final_url``)."""
    capture = captures.get(principal, capture_short_id)
    if capture.product_id is None:
        raise CaptureHasNoProduct(
            f"Capture {capture_short_id} has no linked product yet; "
            "wait until it is COMPLETED with a product."
        )
    if url is None:
        url = (capture.qr_analysis or {}).get("final_url") or None
        if url is None:
            raise ValidationFailed(
                [FieldError("/url", "is required: the capture has no resolved URL of its own")]
            )
    _check_url(url)
    db = models.RedirectRule._meta.database
    for _ in range(5):  # two writers may pick the same next position; the unique index decides
        try:
            with db.atomic():
                last = (
                    models.RedirectRule.select(fn.MAX(models.RedirectRule.position))
                    .where(
                        models.RedirectRule.product == capture.product_id,
                        models.RedirectRule.organization == capture.organization_id,
                    )
                    .scalar()
                )
                return models.RedirectRule.create(
                    product=capture.product_id,
                    organization=capture.organization_id,
                    url=url,
                    position=0 if last is None else last + 1,
                )
        except peewee.IntegrityError:
            continue
    raise Conflict("Could not append the rule; try again.")
