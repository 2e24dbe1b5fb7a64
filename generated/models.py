# Generated from spec/openapi.yaml by datamodel-code-generator. Do not edit by hand:
# run `tox -e codegen` (or `datamodel-codegen`) after changing the spec.

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AnyUrl,
    AwareDatetime,
    BaseModel,
    Field,
    RootModel,
    StringConstraints,
)
from typing_extensions import TypeAliasType


class ShortUUID(RootModel[str]):
    root: Annotated[
        str,
        Field(
            description="A 22-character shortuuid over the alphabet\n`23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz` (no `0`, `1`, `I`,\n`O` or `l`).\n",
            examples=["vytxeTZskVKR7C7WgdSP3d"],
            pattern="^[2-9A-HJ-NP-Za-km-z]{22}$",
        ),
    ]


class ShortUUIDOrUUID1(RootModel[str]):
    root: Annotated[
        str,
        Field(
            description="An object id as a request may give it: the 22-character shortuuid, or the canonical\nUUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).\n",
            examples=["vytxeTZskVKR7C7WgdSP3d", "0b3c0a4e-9a8d-4d6b-8f39-2a0d6e7c1b55"],
            pattern="^[2-9A-HJ-NP-Za-km-z]{22}$",
        ),
    ]


class ShortUUIDOrUUID2(RootModel[UUID]):
    root: Annotated[
        UUID,
        Field(
            description="An object id as a request may give it: the 22-character shortuuid, or the canonical\nUUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).\n",
            examples=["vytxeTZskVKR7C7WgdSP3d", "0b3c0a4e-9a8d-4d6b-8f39-2a0d6e7c1b55"],
        ),
    ]


class ShortUUIDOrUUID(RootModel[ShortUUIDOrUUID1 | ShortUUIDOrUUID2]):
    root: Annotated[
        ShortUUIDOrUUID1 | ShortUUIDOrUUID2,
        Field(
            description="An object id as a request may give it: the 22-character shortuuid, or the canonical\nUUID form of the same id (`8-4-4-4-12` hexadecimal digits, either case).\n",
            examples=["vytxeTZskVKR7C7WgdSP3d", "0b3c0a4e-9a8d-4d6b-8f39-2a0d6e7c1b55"],
        ),
    ]


MetadataAdditionalProperty = TypeAliasType(
    "MetadataAdditionalProperty", Annotated[str, Field(max_length=500)]
)


class Metadata(
    RootModel[
        dict[
            Annotated[str, StringConstraints(max_length=40)], MetadataAdditionalProperty
        ]
    ]
):
    root: Annotated[
        dict[
            Annotated[str, StringConstraints(max_length=40)], MetadataAdditionalProperty
        ],
        Field(
            description="Free-form client annotations: a flat map of string keys (at most 40 characters) to\nstring values (at most 500 characters), at most 50 entries. Always present in\nresponses, `{}` when empty.\n",
            examples=[{"store": "Berlin Mitte", "aisle": "7"}],
            max_length=50,
        ),
    ]


MetadataUpdateAdditionalProperty = TypeAliasType(
    "MetadataUpdateAdditionalProperty", Annotated[str, Field(max_length=500)]
)


class MetadataUpdate(
    RootModel[
        dict[
            Annotated[str, StringConstraints(max_length=40)],
            MetadataUpdateAdditionalProperty,
        ]
    ]
):
    root: Annotated[
        dict[
            Annotated[str, StringConstraints(max_length=40)],
            MetadataUpdateAdditionalProperty,
        ],
        Field(
            description='Changes to an object\'s metadata, merged into what is stored: `{}` or `null` removes\nevery entry; a key sent with the empty string `""` is deleted; a key sent with any\nother value is set; keys not sent are kept. Omitting the field changes nothing. The\nresult must stay within 50 entries, keys of at most 40 characters and values of at\nmost 500 characters (`422` otherwise).\n',
            examples=[{"aisle": "8", "store": ""}, None],
            max_length=50,
        ),
    ]


class SessionStatusEnum(RootModel[Literal["ACTIVE", "COMPLETED", "EXPIRED"]]):
    root: Annotated[
        Literal["ACTIVE", "COMPLETED", "EXPIRED"],
        Field(
            description="`ACTIVE`: accepting captures and photos. `COMPLETED`: ended or submitted.\n`EXPIRED`: reaped after sitting idle past its time-to-live. Only `ACTIVE` can change.\n"
        ),
    ]


class CaptureModeEnum(
    RootModel[Literal["barcode_scan", "product_photography", "both"]]
):
    root: Annotated[
        Literal["barcode_scan", "product_photography", "both"],
        Field(
            description="What the client intends to do in the session: scan barcodes, photograph products,\nor both. Informational; it does not restrict which operations are allowed.\n"
        ),
    ]


class CaptureStatusEnum(
    RootModel[
        Literal[
            "PENDING",
            "LOOKING_UP",
            "ENRICHING",
            "RESOLVING",
            "COMPLETED",
            "FAILED",
            "NOT_FOUND",
        ]
    ]
):
    root: Annotated[
        Literal[
            "PENDING",
            "LOOKING_UP",
            "ENRICHING",
            "RESOLVING",
            "COMPLETED",
            "FAILED",
            "NOT_FOUND",
        ],
        Field(
            description="Background processing state. `PENDING`: queued. `LOOKING_UP`: matching the GTIN to\na product. `ENRICHING`: gathering product data. `RESOLVING`: following a QR URL.\n`COMPLETED`: done. `FAILED`: an unrecoverable error, see `error_message`.\n`NOT_FOUND`: the GTIN matches no product. `FAILED` and `NOT_FOUND` can be retried.\n"
        ),
    ]


class CaptureTypeEnum(RootModel[Literal["BARCODE", "IMAGE", "MANUAL"]]):
    root: Annotated[
        Literal["BARCODE", "IMAGE", "MANUAL"],
        Field(
            description="`BARCODE`: decoded on the client. `IMAGE`: an uploaded image decoded and analysed on\nthe server. `MANUAL`: typed by an operator.\n"
        ),
    ]


class PhotoTypeEnum(
    RootModel[
        Literal[
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
    ]
):
    root: Annotated[
        Literal[
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
        ],
        Field(
            description="Which side or panel of the product a photo shows. It namespaces the photo's storage\nkey and routes it to the matching vision extractor (e.g. `nutrition` to the\nnutrition-facts extractor, `ingredients` to the ingredients extractor).\n"
        ),
    ]


class ExtractionStatusEnum(
    RootModel[Literal["pending", "processing", "ready", "accepted", "rejected"]]
):
    root: Annotated[
        Literal["pending", "processing", "ready", "accepted", "rejected"],
        Field(
            description="Vision-extraction state of a session's photos: `pending` until the session is\nsubmitted, then `processing`, then `ready` once proposals can be reviewed, and\nfinally `accepted` or `rejected` when the review is settled.\n"
        ),
    ]


class ProposalStatusEnum(RootModel[Literal["PENDING", "ACCEPTED", "REJECTED"]]):
    root: Annotated[
        Literal["PENDING", "ACCEPTED", "REJECTED"],
        Field(
            description="`PENDING` until reviewed; then `ACCEPTED` (will be applied) or `REJECTED`."
        ),
    ]


class ResolverTypeEnum(
    RootModel[Literal["CLOSIENT", "GS1_DL", "URL_SHORTENER", "DIRECT", "UNKNOWN"]]
):
    root: Annotated[
        Literal["CLOSIENT", "GS1_DL", "URL_SHORTENER", "DIRECT", "UNKNOWN"],
        Field(
            description="Classification of the QR URL's host: `CLOSIENT` (this service's own resolver),\n`GS1_DL` (a GS1 Digital Link resolver), `URL_SHORTENER`, `DIRECT` (a brand or\nretailer page reached directly), `UNKNOWN` (could not be classified, e.g. the URL\nwas malformed).\n"
        ),
    ]


class FreshnessSourceEnum(
    RootModel[
        Literal[
            "org-override",
            "org-fallback",
            "global-default",
            "global-fallback",
            "built-in",
            "plugin",
        ]
    ]
):
    root: Annotated[
        Literal[
            "org-override",
            "org-fallback",
            "global-default",
            "global-fallback",
            "built-in",
            "plugin",
        ],
        Field(
            description="The configuration layer that supplied the thresholds, most specific first:\n`org-override` (the organisation's value for the product's GPC brick),\n`org-fallback` (the organisation's catch-all), `global-default` (the global value for\nthe brick), `global-fallback` (the global catch-all), `built-in` (compiled-in values);\n`plugin` when a server plugin answered (its name is in `pluginName`).\n"
        ),
    ]


class SessionCreateRequest(BaseModel):
    """
    Options for a new session. Every field is optional; `{}` takes all defaults.
    """

    metadata: MetadataUpdate | None = None
    organization_short_id: Annotated[
        str | None,
        Field(
            description="The organisation to create the session in. Required when authenticating with a\nbearer token or the session cookie: then it must be a shortuuid (or its UUID form,\n`422` otherwise) of an organisation the user is a member of (`404` otherwise).\nIgnored, and not checked at all, with an API key, whose organisation is used.\n"
        ),
    ] = ""
    user_agent: Annotated[
        str | None,
        Field(
            description="The scanning client's own description of itself (app, version, OS), stored as given.",
            max_length=500,
        ),
    ] = ""
    device_context: Annotated[
        dict[str, Any] | None,
        Field(
            description="Free-form facts about the capturing device (platform, camera, screen, locale,\n...), stored as given for diagnostics. At most 256 object members and array\nitems in all, nested at most 8 levels below `device_context` (`422` otherwise).\n",
            max_length=256,
        ),
    ] = {}
    capture_mode: Annotated[CaptureModeEnum | None, Field(validate_default=True)] = (
        "barcode_scan"
    )


class SessionResponse(BaseModel):
    """
    A scanning session.
    """

    id: ShortUUID
    status: SessionStatusEnum
    capture_mode: CaptureModeEnum
    created: Annotated[
        AwareDatetime, Field(description="When the session was created.")
    ]
    modified: Annotated[
        AwareDatetime,
        Field(
            description="When the session last changed (status, metadata, or content added)."
        ),
    ]
    metadata: Metadata
    capture_count: Annotated[
        int, Field(description="How many captures the session holds.", ge=0)
    ]
    photo_count: Annotated[
        int, Field(description="How many product photos the session holds.", ge=0)
    ]


class ExtractionFailure(BaseModel):
    """
    A photo of the session that one extractor could not read.
    """

    photo_id: ShortUUID
    extractor: Annotated[
        str,
        Field(
            description="The extractor's name, as `GET /plugins` lists it.",
            max_length=100,
        ),
    ]
    reason: Annotated[
        Literal["timeout", "error", "unreadable"],
        Field(
            description="`timeout`: the extractor gave no answer within the per-photo time limit (the\nserver's `SCANSERVE_EXTRACTION_TIMEOUT_SECONDS`). `error`: the extractor failed on\nthe photo. `unreadable`: the stored photo could not be read. The server's log\nsays more.\n"
        ),
    ]


class CaptureStatusSummary(BaseModel):
    """
    The processing state of one capture.
    """

    id: ShortUUID
    status: CaptureStatusEnum
    proposal_count: Annotated[
        int,
        Field(
            description="How many proposals (in any status) exist for the capture.",
            ge=0,
        ),
    ]


class Pagination(BaseModel):
    """
    Where a page sits in the whole result.
    """

    page: Annotated[int, Field(description="The page returned, counting from 1.", ge=1)]
    page_size: Annotated[int, Field(description="The page size used.", ge=1, le=100)]
    total_count: Annotated[
        int, Field(description="How many items match across all pages.", ge=0)
    ]
    total_pages: Annotated[
        int,
        Field(
            description="How many pages `total_count` fills at this page size (0 when nothing matches).",
            ge=0,
        ),
    ]
    has_next: Annotated[
        bool, Field(description="Whether a page after this one holds items.")
    ]
    has_previous: Annotated[
        bool, Field(description="Whether this is not the first page.")
    ]


class SessionPage(BaseModel):
    """
    One page of sessions.
    """

    data: list[SessionResponse]
    pagination: Pagination


class CaptureCreateRequest(BaseModel):
    """
    One scanned or typed value to record. The session is named by `session_id`; clients
    written from the published Scanner API pages may name it `session_short_id` (or, in
    the older pages, `session_public_id`) instead. Exactly one of the three is sent: none
    answers `422` naming `session_id`, two answer `422` naming both.

    """

    session_id: Annotated[
        ShortUUIDOrUUID | None,
        Field(description="The `ACTIVE` session to add the capture to."),
    ] = None
    session_short_id: Annotated[
        ShortUUIDOrUUID | None,
        Field(
            deprecated=True,
            description="The published pages' name for `session_id`; prefer `session_id`.",
        ),
    ] = None
    session_public_id: Annotated[
        ShortUUIDOrUUID | None,
        Field(
            deprecated=True,
            description="The older published pages' name for `session_id`; prefer `session_id`.",
        ),
    ] = None
    capture_type: CaptureTypeEnum
    raw_value: Annotated[
        str,
        Field(
            description="Exactly what was scanned or typed: digits, a GS1 element string, a URL, or any\nother text. The server parses it.\n",
            max_length=500,
            min_length=1,
        ),
    ]
    metadata: MetadataUpdate | None = None
    gtin: Annotated[
        str | None,
        Field(
            description="The GTIN as the client decoded it, if it did; any string of at most 14\ncharacters is taken. The server derives the normalised GTIN-14 from `raw_value`\nitself, and that wins. This value becomes the capture's `gtin` only when\n`raw_value` yields none, is not unusable, and this is a valid GTIN-8, -12, -13 or\n-14 (check digit included); otherwise it is ignored.\n",
            max_length=14,
        ),
    ] = ""
    gs1_dl_data: Annotated[
        dict[str, Any] | None,
        Field(
            description="What the client decoded itself (GS1 Application Identifiers, say), free-form, or\n`null`. The server decodes `raw_value` itself, and its reading wins: the capture's\n`gs1_dl_data` is what it finds there. When `raw_value` carries no Application\nIdentifiers, the members of this object that are Application Identifiers (keys of\n2 to 4 digits with string values of at most 90 characters) are kept as the\ncapture's `gs1_dl_data`; the other members are ignored, never a reason to refuse\nthe capture.\nLike every free-form object, at most 256 members and items in all, nested at\nmost 8 levels (`422` otherwise).\n"
        ),
    ] = None


class QrHop(BaseModel):
    """
    One response received while following a URL.
    """

    url: Annotated[str, Field(description="The URL that was requested.")]
    status_code: Annotated[
        int, Field(description="The HTTP status it answered with.", ge=100, le=599)
    ]
    headers: Annotated[
        dict[str, str],
        Field(
            description="Response headers of interest (among them `location` on a redirect), names\nlower-cased.\n"
        ),
    ]


class Gs1ElementData(
    RootModel[dict[Annotated[str, StringConstraints(pattern=r"^[0-9]{2,4}$")], str]]
):
    root: Annotated[
        dict[Annotated[str, StringConstraints(pattern=r"^[0-9]{2,4}$")], str],
        Field(
            description='GS1 Application Identifiers and their values, keyed by AI code (2 to 4 digits), e.g.\n`{"01": "09506000134352", "10": "ABC123", "17": "261231"}`: `01` GTIN, `10`\nbatch/lot, `17` expiry date (YYMMDD), `21` serial number, and any other AI present.\nValues are the AI data exactly as encoded.\n',
            examples=[{"01": "09506000134352", "10": "ABC123", "17": "261231"}],
        ),
    ]


class CaptureImageUpload(BaseModel):
    """
    Multipart form of an image capture upload. The session is named by `session_id`, or
    by `session_short_id` / `session_public_id` (the published pages' names), exactly as
    in `CaptureCreateRequest`.

    """

    session_id: Annotated[
        ShortUUIDOrUUID | None,
        Field(description="The `ACTIVE` session to add the capture to."),
    ] = None
    session_short_id: Annotated[
        ShortUUIDOrUUID | None,
        Field(
            deprecated=True,
            description="The published pages' name for `session_id`; prefer `session_id`.",
        ),
    ] = None
    session_public_id: Annotated[
        ShortUUIDOrUUID | None,
        Field(
            deprecated=True,
            description="The older published pages' name for `session_id`; prefer `session_id`.",
        ),
    ] = None
    image: Annotated[
        bytes,
        Field(
            description="The image file, JPEG, PNG or WebP, within the server's upload size limit.",
            json_schema_extra={"contentMediaType": "image/*"},
        ),
    ]
    capture_type: Annotated[
        Literal["IMAGE", "BARCODE"] | None,
        Field(
            description="`IMAGE`: the server decodes and analyses the image. `BARCODE`: the client has\ndecoded it already and sends the value in `raw_value`.\n"
        ),
    ] = "IMAGE"
    raw_value: Annotated[
        str | None,
        Field(
            description="The value the client decoded from the image, if any.",
            max_length=500,
        ),
    ] = ""
    gtin: Annotated[
        str | None,
        Field(
            description="The GTIN the client decoded, if any; used as in `createCapture` (the server's own reading wins, and this value never makes the request fail).",
            max_length=14,
        ),
    ] = ""


class PresignedUpload(BaseModel):
    """
    The multipart form of an upload to `receiveUpload`: the `upload_fields` of
    `getPresignedUploadUrl`, unchanged, then the file.

    """

    key: Annotated[
        str,
        Field(
            description="The object key the policy was signed for.",
            max_length=500,
            min_length=1,
        ),
    ]
    Content_Type: Annotated[
        str,
        Field(
            alias="Content-Type",
            description="The media type the policy allows.",
            max_length=100,
        ),
    ]
    policy: Annotated[
        str,
        Field(
            description="The base64-encoded policy document.",
            max_length=4096,
            min_length=1,
        ),
    ]
    x_scanserve_algorithm: Annotated[
        Literal["HMAC-SHA256"] | None,
        Field(alias="x-scanserve-algorithm", description="How the policy is signed."),
    ] = None
    x_scanserve_signature: Annotated[
        str,
        Field(
            alias="x-scanserve-signature",
            description="The policy's HMAC-SHA256 under the server's secret, in hexadecimal.",
            max_length=128,
            min_length=1,
        ),
    ]
    file: Annotated[
        bytes,
        Field(
            description="The photo, last in the form.",
            json_schema_extra={"contentMediaType": "image/*"},
        ),
    ]


class PresignedUploadResponse(BaseModel):
    """
    A presigned POST target for uploading one photo to object storage.
    """

    upload_url: Annotated[
        AnyUrl, Field(description="Where to POST the `multipart/form-data` upload.")
    ]
    upload_fields: Annotated[
        dict[str, str],
        Field(description="Form fields to send, unchanged, before the `file` part."),
    ]
    s3_key: Annotated[
        str,
        Field(
            description="The storage key the upload lands at; pass it to `registerPhoto`."
        ),
    ]
    expires_in: Annotated[
        int,
        Field(
            description="Seconds from now until the presigned upload stops being accepted.",
            ge=1,
        ),
    ]


class PhotoCreateRequest(BaseModel):
    """
    A photo uploaded with a presigned URL, to register with the session.
    """

    s3_key: Annotated[
        str,
        Field(
            description="The storage key returned by `getPresignedUploadUrl` for this session.",
            max_length=1024,
            min_length=1,
        ),
    ]
    metadata: MetadataUpdate | None = None
    photo_type: Annotated[PhotoTypeEnum | None, Field(validate_default=True)] = "other"
    capture_short_id: Annotated[
        ShortUUIDOrUUID | None,
        Field(
            description="A capture of the same session the photo belongs with, or `null`."
        ),
    ] = None
    original_filename: Annotated[
        str | None,
        Field(
            description="The file's name on the device, kept for display.",
            max_length=255,
        ),
    ] = ""
    file_size: Annotated[
        int | None,
        Field(description="The file's size in bytes, if the client knows it.", ge=0),
    ] = None


class PhotoResponse(BaseModel):
    """
    A product photo of a session.
    """

    id: ShortUUID
    photo_type: PhotoTypeEnum
    s3_key: Annotated[str, Field(description="Storage key of the image.")]
    original_filename: Annotated[
        str, Field(description='The file\'s name on the device, `""` when not given.')
    ]
    sort_order: Annotated[
        int, Field(description="Position in the session's gallery, from 0.", ge=0)
    ]
    created: Annotated[
        AwareDatetime, Field(description="When the photo was registered.")
    ]
    metadata: Metadata
    file_size: Annotated[
        int | None, Field(description="Size in bytes, or `null` when unknown.", ge=0)
    ]
    capture_short_id: Annotated[
        str | None,
        Field(
            description="The capture the photo belongs with, or `null`.",
            pattern="^[2-9A-HJ-NP-Za-km-z]{22}$",
        ),
    ]


class PhotoReorderRequest(BaseModel):
    """
    The complete new gallery order of a session.
    """

    photo_short_ids: Annotated[
        list[ShortUUIDOrUUID],
        Field(
            description="Every photo of the session exactly once, first to last (an id and its UUID form\nname the same photo, so they count as a repeat).\n"
        ),
    ]


class PhotoUpdateRequest(BaseModel):
    """
    New type and metadata changes for a photo.
    """

    photo_type: PhotoTypeEnum
    metadata: MetadataUpdate | None = None


class Proposal(BaseModel):
    """
    A suggested value for one field of a capture's product.
    """

    id: Annotated[UUID, Field(description="The proposal's UUID.")]
    field_name: Annotated[
        Literal[
            "name",
            "description",
            "brand_name",
            "category",
            "ingredients",
            "ai_summary",
            "images",
        ],
        Field(
            description="The product field the proposal would change.", max_length=50
        ),
    ]
    current_value: Annotated[
        str,
        Field(
            description='The field\'s value on the product when the proposal was made, as text (`""` when\nempty); for `images` a JSON-encoded array of image URLs.\n'
        ),
    ]
    proposed_value: Annotated[
        str,
        Field(
            description="The suggested value, in the same text form as `current_value`."
        ),
    ]
    confidence: Annotated[
        str,
        Field(
            description="The generator's confidence as a decimal string from `0.00` to `1.00`.",
            pattern="^(0(\\.[0-9]{1,2})?|1(\\.0{1,2})?)$",
        ),
    ]
    reasoning: Annotated[
        str, Field(description="The generator's explanation of the suggestion.")
    ]
    source: Annotated[
        str,
        Field(
            description="Free text naming what produced the proposal (extractor, model, data source).",
            max_length=100,
        ),
    ]
    status: ProposalStatusEnum
    created: Annotated[AwareDatetime, Field(description="When the proposal was made.")]
    metadata: Metadata
    reviewed_at: Annotated[
        AwareDatetime | None,
        Field(
            description="When the proposal was last reviewed, or `null` while `PENDING`."
        ),
    ]


class ProposalReviewRequest(BaseModel):
    """
    A reviewer's decision on a proposal.
    """

    status: Annotated[
        Literal["ACCEPTED", "REJECTED"],
        Field(description="The decision. `PENDING` cannot be set back."),
    ]
    metadata: MetadataUpdate | None = None


class ApplyProposalsResponse(BaseModel):
    """
    The outcome of applying a capture's accepted proposals.
    """

    product_short_id: Annotated[
        ShortUUID, Field(description="The product the values were written to.")
    ]
    applied: Annotated[
        list[Proposal],
        Field(
            description="The `ACCEPTED` proposals whose values were written, oldest first."
        ),
    ]


class ResolveUrlRequest(BaseModel):
    """
    A URL to follow.
    """

    url: Annotated[
        str,
        Field(
            description="The URL to follow. Any string of acceptable length is taken; one that is not an\nhttp(s) URL is reported in `error_message`, not rejected.\n",
            max_length=2048,
            min_length=1,
        ),
    ]


class ResolveUrlResponse(BaseModel):
    """
    The outcome of following a URL's redirects.
    """

    initial_url: Annotated[str, Field(description="The URL as sent.")]
    final_url: Annotated[
        str,
        Field(
            description="Where the redirects ended; equal to `initial_url` when none were followed, and\nwhen there were too many.\n"
        ),
    ]
    hops: Annotated[int, Field(description="How many redirects were followed.", ge=0)]
    error_message: Annotated[
        str, Field(description='Why resolving stopped early; `""` when it completed.')
    ]
    succeeded: Annotated[
        bool, Field(description="True exactly when `error_message` is empty.")
    ]
    chain: Annotated[
        list[str],
        Field(
            description="Every URL that answered, in order, from `initial_url` on (`hops` + 1 entries when\nresolving completed); empty when no response came at all.\n"
        ),
    ]


class SaveRedirectRequest(BaseModel):
    """
    A URL to store as a redirect rule of the capture's product.
    """

    url: Annotated[
        str,
        Field(
            description="The redirect target: an absolute `http` or `https` URL with a host name and no\nwhite space or control characters (`422` otherwise). Patterns in this document\nare ECMA-262 regular expressions, as JSON Schema says, and the server evaluates\nthem so: `\\s` is ECMA-262 white space.\n",
            max_length=2048,
            min_length=1,
            pattern="^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9._~!$&()*+,;=%-]+(:[0-9]*)?([/?#][^\\s\\x00-\\x1f\\x7f]*)?$",
        ),
    ]


class RedirectRule(BaseModel):
    """
    A product-scoped redirect rule.
    """

    id: ShortUUID
    product_short_id: Annotated[
        ShortUUID, Field(description="The product the rule belongs to.")
    ]
    url: Annotated[str, Field(description="The redirect target.")]
    position: Annotated[
        int,
        Field(
            description="The rule's place among the product's rules of the caller's organisation, from 0;\nnew rules go last. Each organisation numbers (and sees) only its own rules.\n",
            ge=0,
        ),
    ]
    created: Annotated[AwareDatetime, Field(description="When the rule was stored.")]


class FreshnessThresholds(BaseModel):
    """
    Shelf-life thresholds in days (camelCase names on purpose). `criticalDays` is never
    greater than `warningDays`.

    """

    warningDays: Annotated[
        int,
        Field(
            description="With at least this many days left the product is fresh; below it, warning.",
            ge=0,
        ),
    ]
    criticalDays: Annotated[
        int,
        Field(
            description="With fewer than this many days left the product counts as expired.",
            ge=0,
        ),
    ]
    categoryLabel: Annotated[
        str,
        Field(
            description="Human-readable name of the category the thresholds belong to; never empty.",
            min_length=1,
        ),
    ]
    source: FreshnessSourceEnum
    pluginName: Annotated[
        str | None,
        Field(
            description="The name of the plugin that answered (as the server's plugin listing shows it);\npresent exactly when `source` is `plugin`.\n",
            min_length=1,
        ),
    ] = None


class HealthStatus(BaseModel):
    """
    A health probe's answer; `checks` names each dependency looked at.
    """

    status: Literal["ok"]
    checks: dict[str, str]


class PluginInfo(BaseModel):
    """
    One loaded plugin.
    """

    name: Annotated[
        str,
        Field(
            description="The plugin's name (an installed plugin's entry-point name)."
        ),
    ]
    version: Annotated[
        str,
        Field(
            description='The version of the package it comes from ("" when unknown).'
        ),
    ]
    builtin: Annotated[
        bool, Field(description="True for the providers that ship with the server.")
    ]
    hooks: Annotated[
        list[str], Field(description="The hooks it implements, sorted by name.")
    ]


class ProviderInfo(BaseModel):
    """
    One provider a plugin registered. An extractor (`kind: extractor`) also has
    `photo_types` and `available`, and `unavailable_reason` when it is not available;
    the other kinds have none of them.

    """

    kind: Annotated[
        Literal["lookup", "enrichment", "qr-resolver", "freshness", "extractor"],
        Field(description="What the provider does."),
    ]
    order: Annotated[
        int,
        Field(
            description="Its place among the providers of its kind; 1 is asked first. Extractors: a photo\ngoes to the available extractors for its type in this order, and product\nextractors run, in this order, after the session's photos.\n",
            ge=1,
        ),
    ]
    name: Annotated[
        str,
        Field(
            description="The provider's name (for freshness, the plugin's name; for an extractor, the\nproposals' `source` when it names none).\n"
        ),
    ]
    plugin: Annotated[str, Field(description="The plugin that registered it.")]
    photo_types: Annotated[
        list[str] | None,
        Field(
            description="Extractors only: the photo types (`PhotoTypeEnum` values) routed to it, sorted;\nempty for a product extractor, which runs once per capture with a product.\n"
        ),
    ] = None
    available: Annotated[
        bool | None,
        Field(
            description="Extractors only: whether it can run on this server, checked when asked (as\nextraction checks it for each session). An unavailable extractor is skipped.\n"
        ),
    ] = None
    unavailable_reason: Annotated[
        str | None,
        Field(
            description="Extractors only, present exactly when `available` is false: why it cannot run\nhere (a missing program, missing configuration).\n",
            min_length=1,
        ),
    ] = None


class WebSession(BaseModel):
    """
    A browser session just signed in (the cookie itself is in `Set-Cookie`).
    """

    csrf_token: Annotated[
        str,
        Field(
            description="Send it as `X-CSRF-Token` with every request with an unsafe method made with the\ncookie. Shown only here.\n",
            min_length=1,
        ),
    ]
    expires: Annotated[
        AwareDatetime, Field(description="When the session ends at the latest.")
    ]
    organization_short_ids: Annotated[
        list[ShortUUID], Field(description="The organisations the session may act for.")
    ]
    scopes: Annotated[
        list[str] | None,
        Field(
            description="The scopes the session holds; `null` for every scope (API keys)."
        ),
    ]


class ProblemFieldError(BaseModel):
    """
    One validation failure.
    """

    pointer: Annotated[
        str,
        Field(
            description='Where the failure is: a JSON Pointer into the request body such as `/raw_value`\nor `/metadata/aisle` (`""` for the body as a whole), or a parameter locator such\nas `query/page` or `path/id`.\n'
        ),
    ]
    message: Annotated[str, Field(description="What is wrong with it.")]


class SessionStatusResponse(BaseModel):
    """
    A compact processing-state view of a session, for polling.
    """

    session_status: SessionStatusEnum
    extraction_status: ExtractionStatusEnum
    extraction_failures: Annotated[
        list[ExtractionFailure],
        Field(
            description="The photos vision extraction could not read, once it is no longer `processing`:\none entry per photo and extractor that failed on it. The session's extraction\nstill finishes (`ready`) with what the other photos and extractors proposed.\nEmpty while extraction is `pending` or `processing`, and when every photo was read.\n"
        ),
    ]
    captures: Annotated[
        list[CaptureStatusSummary],
        Field(description="One entry per capture of the session, oldest first."),
    ]


class QrAnalysis(BaseModel):
    """
    The result of following a QR code's URL through its redirects (at most 10, 5 seconds
    overall, no meta-refresh). Network and URL problems are reported in
    `error_message`, not as a failed capture.

    """

    initial_url: Annotated[str, Field(description="The URL as scanned.")]
    final_url: Annotated[
        str,
        Field(
            description="Where the redirects ended; equal to `initial_url` when none were followed."
        ),
    ]
    hops: Annotated[
        list[QrHop],
        Field(
            description="Every response received, in order: each redirect, then the answer that ended the\nchain when there was one (so one entry more than `hop_count` then).\n"
        ),
    ]
    hop_count: Annotated[
        int, Field(description="How many redirects were followed.", ge=0)
    ]
    resolver_domain: Annotated[
        str,
        Field(
            description='Host name of `initial_url`, lower-cased; `""` when the URL has none.'
        ),
    ]
    resolver_type: ResolverTypeEnum
    is_closient_resolver: Annotated[
        bool,
        Field(
            description="Whether `initial_url` points at this service's own resolver (`resolver_type` `CLOSIENT`)."
        ),
    ]
    extracted_gtin: Annotated[
        str,
        Field(
            description='A GTIN found in `final_url`, normalised to 14 digits; `""` when none.',
            pattern="^([0-9]{14})?$",
        ),
    ]
    error_message: Annotated[
        str,
        Field(
            description='Why resolving stopped early (timeout, refused connection, malformed URL, unsupported scheme, too many redirects); `""` when it completed.'
        ),
    ]


class PluginList(BaseModel):
    """
    The server's plugins in load order, and their providers in asking order.
    """

    plugins: list[PluginInfo]
    providers: list[ProviderInfo]


class Problem(BaseModel):
    """
    An RFC 9457 problem details document. Match on `error_code`, which is stable;
    `title` and `detail` are for people. Further members may be added.

    """

    type: Annotated[
        str,
        Field(
            description="The problem type: the error reference's section for `error_code`,\n`<base>#<error_code>`. The base is `docs/errors.md`, the page in the server's\nsource repository, unless the operator publishes the reference elsewhere (then\nit is that absolute URL).\n"
        ),
    ]
    title: Annotated[
        str,
        Field(
            description="A short summary of the problem type (the status code's HTTP reason phrase)."
        ),
    ]
    status: Annotated[
        int, Field(description="The HTTP status code of the response.", ge=100, le=599)
    ]
    detail: Annotated[str, Field(description="An explanation of this occurrence.")]
    error_code: Annotated[
        Literal[
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
        ],
        Field(description="Stable machine-readable error code."),
    ]
    retryable: Annotated[
        bool, Field(description="Whether repeating the same request later may succeed.")
    ]
    timestamp: Annotated[AwareDatetime, Field(description="When the error occurred.")]
    retry_after_seconds: Annotated[
        int | None,
        Field(
            description="On `429` only, seconds to wait before retrying (same as `Retry-After`).",
            ge=0,
        ),
    ] = None
    errors: Annotated[
        list[ProblemFieldError] | None,
        Field(description="On `422` only, one entry per offending field or parameter."),
    ] = None
    key_scope: Annotated[
        Literal["publishable"] | None,
        Field(
            description="On `403` only, when the credential is a publishable key (`PublishableKeyAuth`)\nand the request is outside what such a key may do (an operation it does not\nlist, or a browser origin the key is not allowed from).\n"
        ),
    ] = None
    checks: Annotated[
        dict[str, str] | None,
        Field(
            description="On `503` only: from the readiness probe, each dependency and its state; from\nany other operation, the dependency that failed it.\n"
        ),
    ] = None


class CaptureResponse(BaseModel):
    """
    A capture and the outcome of its processing so far.
    """

    id: ShortUUID
    session_id: Annotated[
        ShortUUID, Field(description="The session the capture belongs to.")
    ]
    status: CaptureStatusEnum
    capture_type: CaptureTypeEnum
    raw_value: Annotated[
        str,
        Field(
            description="The value as sent (empty for an image capture until the server has decoded the\nimage).\n",
            max_length=500,
        ),
    ]
    gtin: Annotated[
        str,
        Field(
            description='The normalised, check-digit-verified GTIN-14, or `""` when none was found.',
            pattern="^([0-9]{14})?$",
        ),
    ]
    error_message: Annotated[
        str,
        Field(
            description='Why processing failed when `status` is `FAILED`; `""` otherwise.'
        ),
    ]
    created: Annotated[
        AwareDatetime, Field(description="When the capture was recorded.")
    ]
    metadata: Metadata
    gs1_dl_data: Annotated[
        Gs1ElementData | None,
        Field(
            description="The GS1 Application Identifiers found in the value (Digital Link URI or element\nstring), or `null` when it carried none.\n"
        ),
    ]
    product_short_id: Annotated[
        str | None,
        Field(
            description="The product the capture was matched to, or `null` while unmatched.",
            pattern="^[2-9A-HJ-NP-Za-km-z]{22}$",
        ),
    ]
    product_name: Annotated[
        str | None,
        Field(description="The matched product's name, or `null` while unmatched."),
    ]
    processed_at: Annotated[
        AwareDatetime | None,
        Field(
            description="When processing last finished (`COMPLETED`, `FAILED` or `NOT_FOUND`), or `null`."
        ),
    ]
    uploaded_image_key: Annotated[
        str | None,
        Field(
            description="Storage key of the uploaded image for captures created by image upload, else `null`."
        ),
    ]
    qr_analysis: Annotated[
        QrAnalysis | None,
        Field(
            description="The redirect analysis of an http(s) `raw_value`; `null` until it has been\nanalysed, and always `null` when `raw_value` is not an http(s) URL.\n"
        ),
    ]


class SessionDetail(SessionResponse):
    """
    A session with all its captures and product photos.
    """

    captures: Annotated[
        list[CaptureResponse],
        Field(description="The session's captures, oldest first."),
    ]
    product_photos: Annotated[
        list[PhotoResponse],
        Field(
            description="The session's product photos in gallery order (by `sort_order`)."
        ),
    ]
