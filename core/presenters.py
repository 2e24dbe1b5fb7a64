"""Database rows to response bodies.

The views build plain dicts keyed by the contract's field names (datetimes stay datetimes;
the app's orjson encoder writes them), straight from rows: the read paths select their
columns under those names (``sessions.session_columns`` and friends) and pass ``.dicts()``
rows through untouched. Nothing here validates per request: we built these rows ourselves,
and the test suite checks every response against the contract
(``SCANSERVE_VALIDATE_RESPONSES``, on in tests), which is where a field the contract does not
have, or a value it forbids, fails.
"""

from __future__ import annotations

from typing import Any

from .sessions import SessionDetail
from .storage import models


def _session_fields(session: models.ScanSession) -> dict[str, Any]:
    return {
        "id": session.short_id,
        "status": session.status,
        "capture_mode": session.capture_mode,
        "created": session.created,
        "modified": session.modified,
        "metadata": session.metadata or {},
        "capture_count": getattr(session, "capture_count", 0) or 0,
        "photo_count": getattr(session, "photo_count", 0) or 0,
    }


def session_view(session: models.ScanSession) -> dict[str, Any]:
    return _session_fields(session)


def _capture_fields(
    capture: models.Capture, session_short_id: str | None = None
) -> dict[str, Any]:
    product = capture.product if capture.product_id is not None else None
    return {
        "id": capture.short_id,
        "session_id": session_short_id or capture.session.short_id,
        "status": capture.status,
        "capture_type": capture.capture_type,
        "raw_value": capture.raw_value,
        "gtin": capture.gtin,
        "error_message": capture.error_message,
        "created": capture.created,
        "metadata": capture.metadata or {},
        "gs1_dl_data": capture.gs1_dl_data,
        "product_short_id": product.short_id if product else None,
        # an organisation's own name for the product (products.overlay_names) wins
        "product_name": (
            getattr(capture, "product_name_override", None) or product.name if product else None
        ),
        "processed_at": capture.processed_at,
        "uploaded_image_key": capture.uploaded_image_key,
        "qr_analysis": capture.qr_analysis,
    }


def capture_view(
    capture: models.Capture | dict[str, Any], session_short_id: str | None = None
) -> dict[str, Any]:
    """A ``CaptureResponse``: from a row selected with ``sessions.capture_columns`` (a dict,
    returned as it is) or from a model object."""
    if isinstance(capture, dict):
        return capture
    return _capture_fields(capture, session_short_id)


def _photo_fields(photo: models.Photo) -> dict[str, Any]:
    return {
        "id": photo.short_id,
        "photo_type": photo.photo_type,
        "s3_key": photo.s3_key,
        "original_filename": photo.original_filename,
        "sort_order": photo.sort_order,
        "created": photo.created,
        "metadata": photo.metadata or {},
        "file_size": photo.file_size,
        # the query joined the capture: reading it costs no extra query
        "capture_short_id": photo.capture.short_id if photo.capture is not None else None,
    }


def photo_view(photo: models.Photo) -> dict[str, Any]:
    return _photo_fields(photo)


def session_detail_view(detail: SessionDetail) -> dict[str, Any]:
    return {
        **detail.session,
        "capture_count": len(detail.captures),
        "photo_count": len(detail.photos),
        "captures": detail.captures,
        "product_photos": detail.photos,
    }


def session_status_view(session: dict[str, Any], captures: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "session_status": session["status"],
        "extraction_status": session["extraction_status"],
        "extraction_failures": session["extraction_failures"],  # written with `ready`
        "captures": captures,
    }


def redirect_rule_view(rule: models.RedirectRule) -> dict[str, Any]:
    return {
        "id": rule.short_id,
        "product_short_id": rule.product.short_id,
        "url": rule.url,
        "position": rule.position,
        "created": rule.created,
    }


def proposal_view(proposal: models.Proposal) -> dict[str, Any]:
    return _proposal_fields(proposal)


def _proposal_fields(proposal: models.Proposal) -> dict[str, Any]:
    return {
        "id": str(proposal.id),
        "field_name": proposal.field_name,
        "current_value": proposal.current_value,
        "proposed_value": proposal.proposed_value,
        "confidence": proposal.confidence,
        "reasoning": proposal.reasoning,
        "source": proposal.source,
        "status": proposal.status,
        "created": proposal.created,
        "metadata": proposal.metadata or {},
        "reviewed_at": proposal.reviewed_at,
    }


def apply_view(product_short_id: str, applied: list[models.Proposal]) -> dict[str, Any]:
    return {
        "product_short_id": product_short_id,
        "applied": [_proposal_fields(p) for p in applied],
    }
