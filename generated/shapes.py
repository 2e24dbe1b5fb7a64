# Generated from spec/openapi.yaml by datamodel-code-generator. Do not edit by hand:
# run `tox -e codegen` (or `datamodel-codegen --profile shapes`) after changing the spec.

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, NotRequired, TypeAlias, TypedDict

ShortUUID: TypeAlias = str


ShortUUIDOrUUID1: TypeAlias = str


ShortUUIDOrUUID: TypeAlias = ShortUUIDOrUUID1


Metadata: TypeAlias = dict[str, str]


MetadataUpdate: TypeAlias = dict[str, str]


SessionStatusEnum: TypeAlias = Literal["ACTIVE", "COMPLETED", "EXPIRED"]


CaptureModeEnum: TypeAlias = Literal["barcode_scan", "product_photography", "both"]


CaptureStatusEnum: TypeAlias = Literal[
    "PENDING",
    "LOOKING_UP",
    "ENRICHING",
    "RESOLVING",
    "COMPLETED",
    "FAILED",
    "NOT_FOUND",
]


CaptureTypeEnum: TypeAlias = Literal["BARCODE", "IMAGE", "MANUAL"]


PhotoTypeEnum: TypeAlias = Literal[
    "front",
    "back",
    "left",
    "right",
    "top",
    "bottom",
    "nutrition",
    "ingredients",
    "barcode",
    "recycling",
    "certification",
    "other",
]


ExtractionStatusEnum: TypeAlias = Literal[
    "pending", "processing", "ready", "accepted", "rejected"
]


ProposalStatusEnum: TypeAlias = Literal["PENDING", "ACCEPTED", "REJECTED"]


ResolverTypeEnum: TypeAlias = Literal[
    "CLOSIENT", "GS1_DL", "URL_SHORTENER", "DIRECT", "UNKNOWN"
]


FreshnessSourceEnum: TypeAlias = Literal[
    "org-override",
    "org-fallback",
    "global-default",
    "global-fallback",
    "built-in",
    "plugin",
]


class SessionCreateRequest(TypedDict):
    """
    Options for a new session. Every field is optional; `{}` takes all defaults.
    """

    metadata: NotRequired[MetadataUpdate]
    organization_short_id: NotRequired[str]
    user_agent: NotRequired[str]
    device_context: NotRequired[dict[str, Any]]
    capture_mode: NotRequired[CaptureModeEnum]


class SessionResponse(TypedDict):
    """
    A scanning session.
    """

    id: ShortUUID
    status: SessionStatusEnum
    capture_mode: CaptureModeEnum
    created: datetime
    modified: datetime
    metadata: Metadata
    capture_count: int
    photo_count: int


class ExtractionFailure(TypedDict):
    """
    A photo of the session that one extractor could not read.
    """

    photo_id: ShortUUID
    extractor: str
    reason: Literal["timeout", "error", "unreadable"]


class CaptureStatusSummary(TypedDict):
    """
    The processing state of one capture.
    """

    id: ShortUUID
    status: CaptureStatusEnum
    proposal_count: int


class Pagination(TypedDict):
    """
    Where a page sits in the whole result.
    """

    page: int
    page_size: int
    total_count: int
    total_pages: int
    has_next: bool
    has_previous: bool


class SessionPage(TypedDict):
    """
    One page of sessions.
    """

    data: list[SessionResponse]
    pagination: Pagination


class CaptureCreateRequest(TypedDict):
    """
    One scanned or typed value to record. The session is named by `session_id`; clients
    written from the published Scanner API pages may name it `session_short_id` (or, in
    the older pages, `session_public_id`) instead. Exactly one of the three is sent: none
    answers `422` naming `session_id`, two answer `422` naming both.

    """

    session_id: NotRequired[ShortUUIDOrUUID]
    session_short_id: NotRequired[ShortUUIDOrUUID]
    session_public_id: NotRequired[ShortUUIDOrUUID]
    capture_type: CaptureTypeEnum
    raw_value: str
    metadata: NotRequired[MetadataUpdate]
    gtin: NotRequired[str]
    gs1_dl_data: NotRequired[dict[str, Any] | None]


class QrHop(TypedDict):
    """
    One response received while following a URL.
    """

    url: str
    status_code: int
    headers: dict[str, str]


Gs1ElementData: TypeAlias = dict[str, str]


class CaptureImageUpload(TypedDict):
    """
    Multipart form of an image capture upload. The session is named by `session_id`, or
    by `session_short_id` / `session_public_id` (the published pages' names), exactly as
    in `CaptureCreateRequest`.

    """

    session_id: NotRequired[ShortUUIDOrUUID]
    session_short_id: NotRequired[ShortUUIDOrUUID]
    session_public_id: NotRequired[ShortUUIDOrUUID]
    image: bytes
    capture_type: NotRequired[Literal["IMAGE", "BARCODE"]]
    raw_value: NotRequired[str]
    gtin: NotRequired[str]


PresignedUpload = TypedDict(
    "PresignedUpload",
    {
        "key": str,
        "Content-Type": str,
        "policy": str,
        "x-scanserve-algorithm": NotRequired[Literal["HMAC-SHA256"]],
        "x-scanserve-signature": str,
        "file": bytes,
    },
)


class PresignedUploadResponse(TypedDict):
    """
    A presigned POST target for uploading one photo to object storage.
    """

    upload_url: str
    upload_fields: dict[str, str]
    s3_key: str
    expires_in: int


class PhotoCreateRequest(TypedDict):
    """
    A photo uploaded with a presigned URL, to register with the session.
    """

    s3_key: str
    metadata: NotRequired[MetadataUpdate]
    photo_type: NotRequired[PhotoTypeEnum]
    capture_short_id: NotRequired[ShortUUIDOrUUID | None]
    original_filename: NotRequired[str]
    file_size: NotRequired[int | None]


class PhotoResponse(TypedDict):
    """
    A product photo of a session.
    """

    id: ShortUUID
    photo_type: PhotoTypeEnum
    s3_key: str
    original_filename: str
    sort_order: int
    created: datetime
    metadata: Metadata
    file_size: int | None
    capture_short_id: str | None


class PhotoReorderRequest(TypedDict):
    """
    The complete new gallery order of a session.
    """

    photo_short_ids: list[ShortUUIDOrUUID]


class PhotoUpdateRequest(TypedDict):
    """
    New type and metadata changes for a photo.
    """

    photo_type: PhotoTypeEnum
    metadata: NotRequired[MetadataUpdate]


class Proposal(TypedDict):
    """
    A suggested value for one field of a capture's product.
    """

    id: str
    field_name: Literal[
        "name",
        "description",
        "brand_name",
        "category",
        "ingredients",
        "ai_summary",
        "images",
    ]
    current_value: str
    proposed_value: str
    confidence: str
    reasoning: str
    source: str
    status: ProposalStatusEnum
    created: datetime
    metadata: Metadata
    reviewed_at: datetime | None


class ProposalReviewRequest(TypedDict):
    """
    A reviewer's decision on a proposal.
    """

    status: Literal["ACCEPTED", "REJECTED"]
    metadata: NotRequired[MetadataUpdate]


class ApplyProposalsResponse(TypedDict):
    """
    The outcome of applying a capture's accepted proposals.
    """

    product_short_id: ShortUUID
    applied: list[Proposal]


class ResolveUrlRequest(TypedDict):
    """
    A URL to follow.
    """

    url: str


class ResolveUrlResponse(TypedDict):
    """
    The outcome of following a URL's redirects.
    """

    initial_url: str
    final_url: str
    hops: int
    error_message: str
    succeeded: bool
    chain: list[str]


class SaveRedirectRequest(TypedDict):
    """
    A URL to store as a redirect rule of the capture's product.
    """

    url: str


class RedirectRule(TypedDict):
    """
    A product-scoped redirect rule.
    """

    id: ShortUUID
    product_short_id: ShortUUID
    url: str
    position: int
    created: datetime


class FreshnessThresholds(TypedDict):
    """
    Shelf-life thresholds in days (camelCase names on purpose). `criticalDays` is never
    greater than `warningDays`.

    """

    warningDays: int
    criticalDays: int
    categoryLabel: str
    source: FreshnessSourceEnum
    pluginName: NotRequired[str]


class HealthStatus(TypedDict):
    """
    A health probe's answer; `checks` names each dependency looked at.
    """

    status: Literal["ok"]
    checks: dict[str, str]


class PluginInfo(TypedDict):
    """
    One loaded plugin.
    """

    name: str
    version: str
    builtin: bool
    hooks: list[str]


class ProviderInfo(TypedDict):
    """
    One provider a plugin registered. An extractor (`kind: extractor`) also has
    `photo_types` and `available`, and `unavailable_reason` when it is not available;
    the other kinds have none of them.

    """

    kind: Literal["lookup", "enrichment", "qr-resolver", "freshness", "extractor"]
    order: int
    name: str
    plugin: str
    photo_types: NotRequired[list[str]]
    available: NotRequired[bool]
    unavailable_reason: NotRequired[str]


class WebSession(TypedDict):
    """
    A browser session just signed in (the cookie itself is in `Set-Cookie`).
    """

    csrf_token: str
    expires: datetime
    organization_short_ids: list[ShortUUID]
    scopes: list[str] | None


class ProblemFieldError(TypedDict):
    """
    One validation failure.
    """

    pointer: str
    message: str


class SessionStatusResponse(TypedDict):
    """
    A compact processing-state view of a session, for polling.
    """

    session_status: SessionStatusEnum
    extraction_status: ExtractionStatusEnum
    extraction_failures: list[ExtractionFailure]
    captures: list[CaptureStatusSummary]


class QrAnalysis(TypedDict):
    """
    The result of following a QR code's URL through its redirects (at most 10, 5 seconds
    overall, no meta-refresh). Network and URL problems are reported in
    `error_message`, not as a failed capture.

    """

    initial_url: str
    final_url: str
    hops: list[QrHop]
    hop_count: int
    resolver_domain: str
    resolver_type: ResolverTypeEnum
    is_closient_resolver: bool
    extracted_gtin: str
    error_message: str


class PluginList(TypedDict):
    """
    The server's plugins in load order, and their providers in asking order.
    """

    plugins: list[PluginInfo]
    providers: list[ProviderInfo]


class Problem(TypedDict):
    """
    An RFC 9457 problem details document. Match on `error_code`, which is stable;
    `title` and `detail` are for people. Further members may be added.

    """

    type: str
    title: str
    status: int
    detail: str
    error_code: Literal[
        "bad_request",
        "unauthorized",
        "forbidden",
        "not_found",
        "method_not_allowed",
        "conflict",
        "payload_too_large",
        "unsupported_media_type",
        "validation_error",
        "rate_limited",
        "internal_error",
        "not_implemented",
        "service_unavailable",
        "request_timeout",
        "headers_too_large",
        "insufficient_storage",
    ]
    retryable: bool
    timestamp: datetime
    retry_after_seconds: NotRequired[int]
    errors: NotRequired[list[ProblemFieldError]]
    key_scope: NotRequired[Literal["publishable"]]
    checks: NotRequired[dict[str, str]]


class CaptureResponse(TypedDict):
    """
    A capture and the outcome of its processing so far.
    """

    id: ShortUUID
    session_id: ShortUUID
    status: CaptureStatusEnum
    capture_type: CaptureTypeEnum
    raw_value: str
    gtin: str
    error_message: str
    created: datetime
    metadata: Metadata
    gs1_dl_data: Gs1ElementData | None
    product_short_id: str | None
    product_name: str | None
    processed_at: datetime | None
    uploaded_image_key: str | None
    qr_analysis: QrAnalysis | None


class SessionDetail(SessionResponse):
    """
    A session with all its captures and product photos.
    """

    captures: list[CaptureResponse]
    product_photos: list[PhotoResponse]
