"""Database rows to response bodies, typed as the spec's response shapes.

Each presenter returns the TypedDict that datamodel-code-generator made from the spec's schema
(``generated/shapes.py``), so a field the spec requires and a presenter does not set fails
the type check (and ``tests/contract/test_response_shapes.py``). A TypedDict is a plain dict at run
time: the bodies are dicts keyed by the contract's field names (datetimes stay datetimes; the
app's orjson encoder writes them), and the rows the read paths select under those names
(``sessions.capture_columns`` and friends, whose names come from the same shapes) pass through
untouched. Nothing here validates per request: we built these rows ourselves, and the test
suite checks every response against the contract (``SCANSERVE_VALIDATE_RESPONSES``, on in
tests), which is where a value the contract forbids fails.
"""

from __future__ import annotations

import math
from typing import Any, cast

from scanserve.domain.sessions import SessionDetail
from scanserve.generated import shapes
from scanserve.identity.websessions import SignedIn
from scanserve.plugins.manager import Plugins, ProviderInfo
from scanserve.plugins.providers import Thresholds
from scanserve.storage import models

# The model objects' text columns hold the contract's enum values; mypy sees them as `str`,
# so the presenters that read them say which Literal they hold (a cast costs no copy).


def session_view(session: models.ScanSession) -> shapes.SessionResponse:
    return {
        "id": session.short_id,
        "status": cast("shapes.SessionStatusEnum", session.status),
        "capture_mode": cast("shapes.CaptureModeEnum", session.capture_mode),
        "created": session.created,
        "modified": session.modified,
        "metadata": session.metadata or {},
        "capture_count": getattr(session, "capture_count", 0) or 0,
        "photo_count": getattr(session, "photo_count", 0) or 0,
    }


def session_page_view(
    rows: list[models.ScanSession], page: int, page_size: int, total: int
) -> shapes.SessionPage:
    total_pages = math.ceil(total / page_size)
    return {
        "data": [session_view(row) for row in rows],
        "pagination": {
            "page": page,
            "page_size": page_size,
            "total_count": total,
            "total_pages": total_pages,
            "has_next": page < total_pages,
            "has_previous": page > 1,
        },
    }


def _capture_fields(
    capture: models.Capture, session_short_id: str | None = None
) -> shapes.CaptureResponse:
    product = capture.product if capture.product_id is not None else None
    return {
        "id": capture.short_id,
        "session_id": session_short_id or capture.session.short_id,
        "status": cast("shapes.CaptureStatusEnum", capture.status),
        "capture_type": cast("shapes.CaptureTypeEnum", capture.capture_type),
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
    capture: models.Capture | shapes.CaptureResponse, session_short_id: str | None = None
) -> shapes.CaptureResponse:
    """A ``CaptureResponse``: from a row selected with ``sessions.capture_columns`` (a dict,
    returned as it is) or from a model object."""
    if isinstance(capture, dict):
        return capture
    return _capture_fields(capture, session_short_id)


def _photo_fields(photo: models.Photo) -> shapes.PhotoResponse:
    return {
        "id": photo.short_id,
        "photo_type": cast("shapes.PhotoTypeEnum", photo.photo_type),
        "s3_key": photo.s3_key,
        "original_filename": photo.original_filename,
        "sort_order": photo.sort_order,
        "created": photo.created,
        "metadata": photo.metadata or {},
        "file_size": photo.file_size,
        # the query joined the capture: reading it costs no extra query
        "capture_short_id": photo.capture.short_id if photo.capture is not None else None,
    }


def photo_view(photo: models.Photo) -> shapes.PhotoResponse:
    return _photo_fields(photo)


def session_detail_view(detail: SessionDetail) -> shapes.SessionDetail:
    session = detail.session  # selected under the contract's names (sessions.session_columns)
    return {
        "id": session["id"],
        "status": session["status"],
        "capture_mode": session["capture_mode"],
        "created": session["created"],
        "modified": session["modified"],
        "metadata": session["metadata"],
        "capture_count": len(detail.captures),
        "photo_count": len(detail.photos),
        "captures": detail.captures,
        "product_photos": detail.photos,
    }


def session_status_view(
    session: dict[str, Any], captures: list[dict[str, Any]]
) -> shapes.SessionStatusResponse:
    return {
        "session_status": session["status"],
        "extraction_status": session["extraction_status"],
        "extraction_failures": session["extraction_failures"],  # written with `ready`
        # rows selected under the contract's names (sessions.status_of)
        "captures": cast(list[shapes.CaptureStatusSummary], captures),
    }


def redirect_rule_view(rule: models.RedirectRule) -> shapes.RedirectRule:
    return {
        "id": rule.short_id,
        "product_short_id": rule.product.short_id,
        "url": rule.url,
        "position": rule.position,
        "created": rule.created,
    }


def proposal_view(proposal: models.Proposal) -> shapes.Proposal:
    return _proposal_fields(proposal)


def _proposal_fields(proposal: models.Proposal) -> shapes.Proposal:
    return {
        "id": str(proposal.id),
        # one of PROPOSAL_FIELDS; the spec's Literal is inline, without a name to cast to
        "field_name": cast(Any, proposal.field_name),
        "current_value": proposal.current_value,
        "proposed_value": proposal.proposed_value,
        "confidence": proposal.confidence,
        "reasoning": proposal.reasoning,
        "source": proposal.source,
        "status": cast("shapes.ProposalStatusEnum", proposal.status),
        "created": proposal.created,
        "metadata": proposal.metadata or {},
        "reviewed_at": proposal.reviewed_at,
    }


def apply_view(
    product_short_id: str, applied: list[models.Proposal]
) -> shapes.ApplyProposalsResponse:
    return {
        "product_short_id": product_short_id,
        "applied": [_proposal_fields(p) for p in applied],
    }


def presigned_upload_view(
    url: str, fields: dict[str, str], key: str, expires_in: int
) -> shapes.PresignedUploadResponse:
    return {"upload_url": url, "upload_fields": fields, "s3_key": key, "expires_in": expires_in}


def freshness_view(result: Thresholds) -> shapes.FreshnessThresholds:
    answer: shapes.FreshnessThresholds = {
        "warningDays": result.warning_days,
        "criticalDays": result.critical_days,
        "categoryLabel": result.category_label,
        "source": cast("shapes.FreshnessSourceEnum", result.source),
    }
    if result.source == "plugin":
        answer["pluginName"] = result.plugin
    return answer


def web_session_view(signed: SignedIn) -> shapes.WebSession:
    return {
        "csrf_token": signed.csrf_token,
        "expires": signed.expires_at,  # UTC: the encoder writes it with a Z, as the spec shows
        "organization_short_ids": signed.org_short_ids,
        "scopes": signed.scopes,
    }


def plugin_list_view(plugins: Plugins) -> shapes.PluginList:
    """What ``GET /plugins`` answers and ``scanserve plugins list --json`` prints."""
    return {
        "plugins": [
            {"name": i.name, "version": i.version, "builtin": i.builtin, "hooks": list(i.hooks)}
            for i in plugins.describe()
        ],
        "providers": [_provider_view(p) for p in plugins.describe_providers()],
    }


def _provider_view(info: ProviderInfo) -> shapes.ProviderInfo:
    """A provider as the contract's ``ProviderInfo``: the extractor-only members on
    extractors alone, ``unavailable_reason`` exactly when one is unavailable."""
    item: shapes.ProviderInfo = {
        "kind": cast("Any", info.kind),
        "order": info.order,
        "name": info.name,
        "plugin": info.plugin,
    }
    if info.kind == "extractor":
        item["photo_types"] = list(info.photo_types)
        item["available"] = not info.unavailable
        if info.unavailable:
            item["unavailable_reason"] = info.unavailable
    return item
