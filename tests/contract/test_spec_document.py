"""Checks on the OpenAPI document itself (spec/openapi.yaml).

These tests hold the contract's shape in place: OAS 3.1 validity, the exact operation,
tag, schema and enum names code is generated from, the error responses every operation
must declare, the rate-limit headers on every response, and that every example in the
document validates against its own schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[2] / "spec" / "openapi.yaml"

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# operationId -> (method, path, tag, success status)
EXPECTED_OPERATIONS: dict[str, tuple[str, str, str, str]] = {
    "createSession": ("post", "/sessions", "Scanner Sessions", "201"),
    "listSessions": ("get", "/sessions", "Scanner Sessions", "200"),
    "getSession": ("get", "/sessions/{id}", "Scanner Sessions", "200"),
    "getSessionStatus": ("get", "/sessions/{id}/status", "Scanner Sessions", "200"),
    "submitSession": ("post", "/sessions/{id}/submit", "Scanner Sessions", "200"),
    "endSession": ("post", "/sessions/{id}/end", "Scanner Sessions", "200"),
    "createCapture": ("post", "/captures", "Scanner Captures", "201"),
    "getCapture": ("get", "/captures/{id}", "Scanner Captures", "200"),
    "retryCapture": ("post", "/captures/{id}/retry", "Scanner Captures", "200"),
    "uploadCaptureImage": ("post", "/captures/upload-image", "Scanner Upload", "201"),
    "getPresignedUploadUrl": (
        "get",
        "/sessions/{session_id}/presigned-upload-url",
        "Scanner Upload",
        "200",
    ),
    "receiveUpload": ("post", "/uploads", "Scanner Upload", "204"),
    "registerPhoto": ("post", "/sessions/{session_id}/photos", "Scanner Photos", "201"),
    "reorderPhotos": (
        "post",
        "/sessions/{session_id}/photos/reorder",
        "Scanner Photos",
        "200",
    ),
    "updatePhoto": (
        "patch",
        "/sessions/{session_id}/photos/{photo_id}",
        "Scanner Photos",
        "200",
    ),
    "listCaptureProposals": ("get", "/captures/{id}/proposals", "Scanner Enrichment", "200"),
    "reviewProposal": ("patch", "/proposals/{proposal_id}", "Scanner Enrichment", "200"),
    "applyCaptureProposals": ("post", "/captures/{id}/apply", "Scanner Enrichment", "200"),
    "resolveUrl": ("post", "/resolve-url", "Scanner Resolve", "200"),
    "saveCaptureRedirect": (
        "post",
        "/captures/{short_id}/save-redirect",
        "Scanner Resolve",
        "201",
    ),
    "getFreshnessThresholds": ("get", "/freshness-thresholds", "Scanner Freshness", "200"),
    "getLiveness": ("get", "/health/live", "Health", "200"),
    "getReadiness": ("get", "/health/ready", "Health", "200"),
    "listPlugins": ("get", "/plugins", "Scanner Plugins", "200"),
    "signIn": ("post", "/auth/session", "Authentication", "201"),
    "signOut": ("delete", "/auth/session", "Authentication", "204"),
}

EXPECTED_TAGS = [
    "Scanner Sessions",
    "Scanner Captures",
    "Scanner Upload",
    "Scanner Photos",
    "Scanner Enrichment",
    "Scanner Resolve",
    "Scanner Freshness",
    "Health",
    "Scanner Plugins",
    "Authentication",
]

EXPECTED_SCHEMAS = {
    "ShortUUID",
    "ShortUUIDOrUUID",
    "Metadata",
    "MetadataUpdate",
    "SessionStatusEnum",
    "CaptureModeEnum",
    "CaptureStatusEnum",
    "CaptureTypeEnum",
    "PhotoTypeEnum",
    "ExtractionStatusEnum",
    "ExtractionFailure",
    "ProposalStatusEnum",
    "ResolverTypeEnum",
    "FreshnessSourceEnum",
    "PluginList",
    "PluginInfo",
    "ProviderInfo",
    "SessionCreateRequest",
    "SessionResponse",
    "SessionDetail",
    "SessionStatusResponse",
    "CaptureStatusSummary",
    "Pagination",
    "SessionPage",
    "CaptureCreateRequest",
    "CaptureResponse",
    "QrAnalysis",
    "QrHop",
    "Gs1ElementData",
    "CaptureImageUpload",
    "PresignedUpload",
    "PresignedUploadResponse",
    "PhotoCreateRequest",
    "PhotoResponse",
    "PhotoReorderRequest",
    "PhotoUpdateRequest",
    "Proposal",
    "ProposalReviewRequest",
    "ApplyProposalsResponse",
    "ResolveUrlRequest",
    "ResolveUrlResponse",
    "SaveRedirectRequest",
    "RedirectRule",
    "FreshnessThresholds",
    "HealthStatus",
    "Problem",
    "ProblemFieldError",
    "WebSession",
}

EXPECTED_ENUMS: dict[str, list[str]] = {
    "SessionStatusEnum": ["ACTIVE", "COMPLETED", "EXPIRED"],
    "CaptureModeEnum": ["barcode_scan", "product_photography", "both"],
    "CaptureStatusEnum": [
        "PENDING",
        "LOOKING_UP",
        "ENRICHING",
        "RESOLVING",
        "COMPLETED",
        "FAILED",
        "NOT_FOUND",
    ],
    "CaptureTypeEnum": ["BARCODE", "IMAGE", "MANUAL"],
    "PhotoTypeEnum": [
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
    "ExtractionStatusEnum": ["pending", "processing", "ready", "accepted", "rejected"],
    "ProposalStatusEnum": ["PENDING", "ACCEPTED", "REJECTED"],
    "ResolverTypeEnum": ["CLOSIENT", "GS1_DL", "URL_SHORTENER", "DIRECT", "UNKNOWN"],
    "FreshnessSourceEnum": [
        "org-override",
        "org-fallback",
        "global-default",
        "global-fallback",
        "built-in",
        "plugin",  # a server plugin answered (pluginName says which)
    ],
}

# Enums declared inline on a property: (schema, property) -> values.
EXPECTED_INLINE_ENUMS: dict[tuple[str, str], list[str]] = {
    ("Proposal", "field_name"): [
        "name",
        "description",
        "brand_name",
        "category",
        "ingredients",
        "ai_summary",
        "images",
    ],
    ("ProposalReviewRequest", "status"): ["ACCEPTED", "REJECTED"],
    ("CaptureImageUpload", "capture_type"): ["IMAGE", "BARCODE"],
    ("Problem", "error_code"): [
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
}

RATE_LIMIT_HEADERS = (
    "RateLimit-Policy",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
)

# Operations that can meet a state conflict (session or capture not in the right state).
EXPECTED_409 = {
    "createCapture",
    "uploadCaptureImage",
    "registerPhoto",
    "reorderPhotos",
    "updatePhoto",
    "getPresignedUploadUrl",
    "receiveUpload",
    "submitSession",
    "endSession",
    "retryCapture",
}

SHORTUUID_PATTERN = "^[2-9A-HJ-NP-Za-km-z]{22}$"
SHORTUUID_RE = re.compile(SHORTUUID_PATTERN)
PROBLEM_REF = "#/components/schemas/Problem"
BASE_URI = "urn:scanner-api:openapi"


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=yaml.CSafeLoader)


def iter_operations(
    spec: dict[str, Any],
) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """Yield (path, method, operation, path item) for every operation."""
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method], item


def deref(spec: dict[str, Any], node: Any) -> Any:
    """Follow local `$ref`s until a non-reference node is reached."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local references are expected, got {ref}"
        assert ref not in seen, f"reference cycle at {ref}"
        seen.add(ref)
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def pointer(*parts: str) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def make_format_checker() -> FormatChecker:
    checker = FormatChecker()  # every format jsonschema knows, e.g. date-time, uuid

    @checker.checks("shortuuid")
    def _shortuuid(value: object) -> bool:
        return not isinstance(value, str) or bool(SHORTUUID_RE.fullmatch(value))

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        return bool(parts.scheme) and not re.search(r"\s", value)

    @checker.checks("uri-reference")
    def _uri_reference(value: object) -> bool:
        return not isinstance(value, str) or not re.search(r"\s", value)

    return checker


@pytest.fixture(scope="module")
def format_checker() -> FormatChecker:
    checker = make_format_checker()
    # Without these the example test would pass silently on bad timestamps or ids.
    for fmt in ("date-time", "uuid", "shortuuid", "uri", "uri-reference"):
        assert fmt in checker.checkers, f"no format checker for {fmt}"
    return checker


@pytest.fixture(scope="module")
def registry(spec: dict[str, Any]) -> Registry:
    return Registry().with_resource(BASE_URI, DRAFT202012.create_resource(spec))


def schema_errors(
    registry: Registry, format_checker: FormatChecker, schema_pointer: str, instance: Any
) -> list[str]:
    """Validate `instance` against the schema at `schema_pointer` in the document."""
    ref = BASE_URI + "#" + quote(schema_pointer, safe="/~")
    validator = Draft202012Validator(
        {"$ref": ref}, registry=registry, format_checker=format_checker
    )
    return [
        f"{'/'.join(map(str, err.absolute_path)) or '<root>'}: {err.message}"
        for err in validator.iter_errors(instance)
    ]


SCHEMA_MAP_KEYWORDS = ("properties", "patternProperties", "$defs", "dependentSchemas")
SCHEMA_KEYWORDS = (
    "items",
    "additionalProperties",
    "propertyNames",
    "not",
    "contains",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contentSchema",
)
SCHEMA_LIST_KEYWORDS = ("allOf", "anyOf", "oneOf", "prefixItems")


def iter_subschemas(schema: Any, ptr: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (pointer, schema) for a schema and all schemas nested in it."""
    if not isinstance(schema, dict):
        return
    yield ptr, schema
    for kw in SCHEMA_MAP_KEYWORDS:
        for name, sub in schema.get(kw, {}).items():
            yield from iter_subschemas(sub, ptr + pointer(kw, name))
    for kw in SCHEMA_KEYWORDS:
        if isinstance(schema.get(kw), dict):
            yield from iter_subschemas(schema[kw], ptr + pointer(kw))
    for kw in SCHEMA_LIST_KEYWORDS:
        for i, sub in enumerate(schema.get(kw, [])):
            yield from iter_subschemas(sub, ptr + pointer(kw, str(i)))


def iter_all_schemas(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object of the document: components and inline ones."""
    for name, schema in spec["components"]["schemas"].items():
        yield from iter_subschemas(schema, pointer("components", "schemas", name))
    for ptr, holder in iter_schema_holders(spec):
        yield from iter_subschemas(holder["schema"], ptr + "/schema")


def iter_schema_holders(node: Any, ptr: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Media type, parameter and header objects: everything with a `schema` member."""
    if isinstance(node, dict):
        if isinstance(node.get("schema"), dict):
            yield ptr, node
        for key, value in node.items():
            if key in ("schema", "example", "examples", "links"):
                continue
            if ptr == "/components" and key == "schemas":
                continue
            yield from iter_schema_holders(value, ptr + pointer(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from iter_schema_holders(value, ptr + pointer(str(i)))


def iter_examples(spec: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """Yield (where, schema pointer, value) for every example in the document."""
    for ptr, holder in iter_schema_holders(spec):
        schema_ptr = ptr + "/schema"
        if "example" in holder:
            yield ptr + "/example", schema_ptr, holder["example"]
        for name, example in holder.get("examples", {}).items():
            example = deref(spec, example)
            assert "value" in example, f"{ptr}/examples/{name} has no inline value"
            yield f"{ptr}/examples/{name}", schema_ptr, example["value"]
    for ptr, schema in iter_all_schemas(spec):
        if "example" in schema:
            yield ptr + "/example", ptr, schema["example"]
        examples = schema.get("examples", [])
        assert isinstance(examples, list), f"{ptr}: schema `examples` must be an array"
        for i, value in enumerate(examples):
            yield f"{ptr}/examples/{i}", ptr, value


# --------------------------------------------------------------------------- document


def test_spec_is_valid_openapi_31(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    validate(spec, cls=OpenAPIV31SpecValidator)


def test_info_and_servers(spec: dict[str, Any]) -> None:
    assert spec["info"]["title"] == "Scanner API"
    assert spec["info"]["version"] == "1.0.0"
    assert spec["servers"] == [{"url": "/scanner/api/v1"}]


def test_operation_ids_paths_and_tags(spec: dict[str, Any]) -> None:
    found: dict[str, tuple[str, str, list[str]]] = {}
    for path, method, op, _ in iter_operations(spec):
        op_id = op.get("operationId")
        assert op_id, f"{method.upper()} {path} has no operationId"
        assert op_id not in found, f"duplicate operationId {op_id}"
        found[op_id] = (method, path, op.get("tags", []))
    assert set(found) == set(EXPECTED_OPERATIONS)
    for op_id, (method, path, tag, _) in EXPECTED_OPERATIONS.items():
        assert found[op_id][:2] == (method, path), op_id
        assert found[op_id][2] == [tag], op_id


def test_tags_declared_exactly(spec: dict[str, Any]) -> None:
    assert [t["name"] for t in spec["tags"]] == EXPECTED_TAGS
    for tag in spec["tags"]:
        assert tag.get("description", "").strip(), f"tag {tag['name']} has no description"
    for _path, _method, op, _ in iter_operations(spec):
        assert op["tags"] and all(t in EXPECTED_TAGS for t in op["tags"]), op["operationId"]


def test_component_schema_names(spec: dict[str, Any]) -> None:
    assert set(spec["components"]["schemas"]) == EXPECTED_SCHEMAS


def test_success_status_per_operation(spec: dict[str, Any]) -> None:
    for _, _, op, _ in iter_operations(spec):
        expected = EXPECTED_OPERATIONS[op["operationId"]][3]
        success = sorted(code for code in op["responses"] if code.startswith("2"))
        assert success == [expected], op["operationId"]


def test_bare_array_responses(spec: dict[str, Any]) -> None:
    ops = {op["operationId"]: op for _, _, op, _ in iter_operations(spec)}
    for op_id, item in (("reorderPhotos", "PhotoResponse"), ("listCaptureProposals", "Proposal")):
        schema = ops[op_id]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}}


# --------------------------------------------------------------------------- enums


@pytest.mark.parametrize("name", sorted(EXPECTED_ENUMS))
def test_enum_values(spec: dict[str, Any], name: str) -> None:
    schema = spec["components"]["schemas"][name]
    assert schema["type"] == "string"
    assert schema["enum"] == EXPECTED_ENUMS[name]


@pytest.mark.parametrize("where", sorted(EXPECTED_INLINE_ENUMS))
def test_inline_enum_values(spec: dict[str, Any], where: tuple[str, str]) -> None:
    schema_name, prop = where
    assert (
        spec["components"]["schemas"][schema_name]["properties"][prop]["enum"]
        == (EXPECTED_INLINE_ENUMS[where])
    )


def test_enums_referenced_where_the_contract_says(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]

    def ref(name: str) -> str:
        return f"#/components/schemas/{name}"

    assert schemas["QrAnalysis"]["properties"]["resolver_type"]["$ref"] == ref("ResolverTypeEnum")
    assert schemas["FreshnessThresholds"]["properties"]["source"]["$ref"] == ref(
        "FreshnessSourceEnum"
    )
    assert schemas["SessionResponse"]["properties"]["status"]["$ref"] == ref("SessionStatusEnum")
    assert schemas["CaptureResponse"]["properties"]["status"]["$ref"] == ref("CaptureStatusEnum")
    assert schemas["Proposal"]["properties"]["status"]["$ref"] == ref("ProposalStatusEnum")
    assert schemas["SessionStatusResponse"]["properties"]["extraction_status"]["$ref"] == ref(
        "ExtractionStatusEnum"
    )


# --------------------------------------------------------------------------- schemas


def test_no_openapi_30_nullable(spec: dict[str, Any]) -> None:
    for ptr, schema in iter_all_schemas(spec):
        assert "nullable" not in schema, f"{ptr} uses `nullable`; use a null type instead"


def test_shortuuid_and_uuid_path_parameters(spec: dict[str, Any]) -> None:
    for path, _method, op, item in iter_operations(spec):
        params = [deref(spec, p) for p in item.get("parameters", []) + op.get("parameters", [])]
        path_params = {p["name"]: p for p in params if p["in"] == "path"}
        assert set(path_params) == set(re.findall(r"{([^}]+)}", path)), op["operationId"]
        for name, param in path_params.items():
            assert param["required"] is True
            schema = param["schema"]
            if name == "proposal_id":
                assert schema == {"type": "string", "format": "uuid"}
            else:
                # a shortuuid, or the canonical UUID form of the same id
                assert schema == {"$ref": "#/components/schemas/ShortUUIDOrUUID"}
                either = deref(spec, schema)
                assert either["type"] == "string"
                shortuuid_form, uuid_form = either["anyOf"]
                # each branch typed too: generators read a branch on its own (the typed
                # client's ids are `str | UUID`, not `Any`)
                assert shortuuid_form == {
                    "type": "string",
                    "format": "shortuuid",
                    "pattern": SHORTUUID_PATTERN,
                }
                assert uuid_form["type"] == "string"
                assert uuid_form["format"] == "uuid"


def test_pagination_parameters(spec: dict[str, Any]) -> None:
    params = spec["components"]["parameters"]
    assert params["Page"]["name"] == "page"
    assert params["Page"]["schema"] == {"type": "integer", "minimum": 1, "default": 1}
    assert params["PageSize"]["name"] == "page_size"
    assert params["PageSize"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 25,
    }


def test_metadata_schemas(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for name, type_ in (("Metadata", "object"), ("MetadataUpdate", ["object", "null"])):
        schema = schemas[name]
        assert schema["type"] == type_
        assert schema["maxProperties"] == 50
        assert schema["propertyNames"] == {"maxLength": 40}
        assert schema["additionalProperties"] == {"type": "string", "maxLength": 500}


def test_request_schemas_allow_extra_fields(spec: dict[str, Any]) -> None:
    for name, schema in spec["components"]["schemas"].items():
        assert schema.get("additionalProperties") is not False, name


def test_response_schemas_required_fields(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert set(schemas["SessionResponse"]["required"]) == {
        "id",
        "status",
        "capture_mode",
        "created",
        "modified",
        "metadata",
        "capture_count",
        "photo_count",
    }
    assert set(schemas["CaptureResponse"]["required"]) == set(
        schemas["CaptureResponse"]["properties"]
    )
    assert set(schemas["QrAnalysis"]["required"]) == set(schemas["QrAnalysis"]["properties"])
    assert set(schemas["Problem"]["required"]) == {
        "type",
        "title",
        "status",
        "detail",
        "error_code",
        "retryable",
        "timestamp",
    }
    # the session is named by session_id or one of the published pages' names, exactly one
    # of them, which the server enforces (a oneOf/anyOf would make the typed client's body Any)
    for form in ("CaptureCreateRequest", "CaptureImageUpload"):
        assert "session_id" not in schemas[form]["required"]
        names = schemas[form]["properties"]
        for alias in ("session_short_id", "session_public_id"):
            assert names[alias]["deprecated"] is True
            assert names[alias]["$ref"] == names["session_id"]["$ref"]
    assert set(schemas["CaptureCreateRequest"]["required"]) == {"capture_type", "raw_value"}


def test_request_defaults_match_contract(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    session = schemas["SessionCreateRequest"]["properties"]
    assert session["capture_mode"]["default"] == "barcode_scan"
    assert session["organization_short_id"]["default"] == ""
    # ignored (and so not checked) with an API key: no pattern; checked in code otherwise
    assert "pattern" not in session["organization_short_id"]
    assert session["user_agent"] == {**session["user_agent"], "default": "", "maxLength": 500}
    assert session["device_context"]["type"] == "object"
    assert session["device_context"]["default"] == {}
    capture = schemas["CaptureCreateRequest"]["properties"]
    assert (capture["raw_value"]["minLength"], capture["raw_value"]["maxLength"]) == (1, 500)
    assert (capture["gtin"]["default"], capture["gtin"]["maxLength"]) == ("", 14)
    upload = schemas["CaptureImageUpload"]["properties"]
    assert upload["capture_type"]["default"] == "IMAGE"
    assert (upload["raw_value"]["default"], upload["raw_value"]["maxLength"]) == ("", 500)
    assert (upload["gtin"]["default"], upload["gtin"]["maxLength"]) == ("", 14)
    assert upload["image"]["format"] == "binary"
    photo = schemas["PhotoCreateRequest"]["properties"]
    assert photo["photo_type"]["default"] == "other"
    assert photo["original_filename"]["default"] == ""
    for name in ("ResolveUrlRequest", "SaveRedirectRequest"):
        url = schemas[name]["properties"]["url"]
        assert (url["minLength"], url["maxLength"]) == (1, 2048), name


# --------------------------------------------------------------------------- examples


def test_examples_validate_against_their_schemas(
    spec: dict[str, Any], registry: Registry, format_checker: FormatChecker
) -> None:
    failures = []
    count = 0
    for where, schema_ptr, value in iter_examples(spec):
        count += 1
        for err in schema_errors(registry, format_checker, schema_ptr, value):
            failures.append(f"{where}: {err}")
    assert count >= 60, f"only {count} examples found; the walker is probably broken"
    assert not failures, "invalid examples:\n" + "\n".join(failures)


def test_defaults_validate_against_their_schemas(
    spec: dict[str, Any], registry: Registry, format_checker: FormatChecker
) -> None:
    failures = []
    for ptr, schema in iter_all_schemas(spec):
        if "default" in schema:
            for err in schema_errors(registry, format_checker, ptr, schema["default"]):
                failures.append(f"{ptr}/default: {err}")
    assert not failures, "invalid defaults:\n" + "\n".join(failures)


def test_example_validation_catches_wrong_values(
    registry: Registry, format_checker: FormatChecker
) -> None:
    """The example check must reject the mistakes the seed made (and a few others)."""
    good = {
        "id": "vytxeTZskVKR7C7WgdSP3d",
        "status": "ACTIVE",
        "capture_mode": "barcode_scan",
        "created": "2026-11-29T07:15:00Z",
        "modified": "2026-11-29T07:15:00Z",
        "metadata": {},
        "capture_count": 0,
        "photo_count": 0,
    }
    session_ptr = "/components/schemas/SessionResponse"
    assert schema_errors(registry, format_checker, session_ptr, good) == []
    for bad in (
        {**good, "status": "active"},
        {**good, "status": "matched"},
        {**good, "id": "vytxeTZskVKR7C7WgdSP3"},
        {**good, "id": "0ytxeTZskVKR7C7WgdSP3d"},
        {**good, "created": "yesterday"},
        {**good, "metadata": {"k": "v" * 501}},
        {key: val for key, val in good.items() if key != "metadata"},
    ):
        assert schema_errors(registry, format_checker, session_ptr, bad), bad
    proposal_ptr = "/components/schemas/Proposal"
    assert schema_errors(registry, format_checker, proposal_ptr + "/properties/id", "nope")
    confidence_ptr = proposal_ptr + "/properties/confidence"
    for ok in ("0", "0.5", "0.92", "1", "1.0", "1.00"):
        assert not schema_errors(registry, format_checker, confidence_ptr, ok), ok
    for bad_conf in ("1.01", "1.5", "0.123", ".5", "2"):
        assert schema_errors(registry, format_checker, confidence_ptr, bad_conf), bad_conf
    gs1_ptr = "/components/schemas/Gs1ElementData"
    assert not schema_errors(registry, format_checker, gs1_ptr, {"01": "09506000134352"})
    assert schema_errors(registry, format_checker, gs1_ptr, {"GTIN": "09506000134352"})


def test_every_request_body_and_success_response_has_an_example(spec: dict[str, Any]) -> None:
    missing = []
    for _, _, op, _ in iter_operations(spec):
        bodies = []
        if "requestBody" in op:
            bodies.append(("requestBody", deref(spec, op["requestBody"])))
        for code, response in op["responses"].items():
            if code.startswith("2"):
                bodies.append((code, deref(spec, response)))
        for where, body in bodies:
            for media_type, media in body.get("content", {}).items():
                if "example" not in media and not media.get("examples"):
                    missing.append(f"{op['operationId']} {where} {media_type}")
    assert not missing, "no example: " + ", ".join(missing)


# --------------------------------------------------------------------------- responses


def test_every_response_carries_rate_limit_headers(spec: dict[str, Any]) -> None:
    for _, _, op, _ in iter_operations(spec):
        for code, response in op["responses"].items():
            response = deref(spec, response)
            headers = response.get("headers", {})
            expected = RATE_LIMIT_HEADERS + (
                ("Retry-After",) if code in ("429", "503", "507") else ()
            )
            for name in expected:
                assert name in headers, f"{op['operationId']} {code} lacks {name}"
                header = deref(spec, headers[name])
                assert header.get("required") is True, f"{op['operationId']} {code} {name}"
                assert header["schema"]["type"] in ("string", "integer")


def test_rate_limit_header_types(spec: dict[str, Any]) -> None:
    headers = spec["components"]["headers"]
    assert headers["RateLimit-Policy"]["schema"]["type"] == "string"
    for name in (*RATE_LIMIT_HEADERS[1:], "Retry-After"):
        assert headers[name]["schema"]["type"] == "integer", name


def test_error_responses_are_problem_documents(spec: dict[str, Any]) -> None:
    for _, _, op, _ in iter_operations(spec):
        for code, response in op["responses"].items():
            if code[0] not in "45":
                continue
            response = deref(spec, response)
            content = response.get("content", {})
            where = f"{op['operationId']} {code}"
            assert set(content) == {"application/problem+json"}, where
            media = content["application/problem+json"]
            assert media["schema"] == {"$ref": PROBLEM_REF}, where
            examples = (
                [media["example"]]
                if "example" in media
                else [deref(spec, e)["value"] for e in media.get("examples", {}).values()]
            )
            assert examples, f"{where} has no example"
            for example in examples:
                assert example["status"] == int(code), where


def test_operations_declare_their_error_responses(spec: dict[str, Any]) -> None:
    global_security = spec.get("security", [])
    for _path, _method, op, item in iter_operations(spec):
        op_id = op["operationId"]
        codes = set(op["responses"])
        params = [deref(spec, p) for p in item.get("parameters", []) + op.get("parameters", [])]
        has_path_param = any(p["in"] == "path" for p in params)
        has_body = "requestBody" in op
        security = op.get("security", global_security)

        assert {"429", "500"} <= codes, op_id
        if op_id != "getLiveness":  # everything else may meet a dependency's outage
            assert "503" in codes, f"{op_id} lacks 503"
        if _method != "get" and op_id != "resolveUrl":  # writes may meet a full disk
            assert "507" in codes, f"{op_id} writes but lacks 507"
        public_read = {} in security and _method == "get"
        if security and not public_read:
            assert "401" in codes, f"{op_id} is secured but lacks 401"
        if public_read:  # public reads ignore failing credentials: never a 401
            assert "401" not in codes, f"{op_id} is public but declares 401"
        if params or has_body:
            assert "422" in codes, f"{op_id} takes input but lacks 422"
        if has_path_param:
            assert "404" in codes, f"{op_id} has a path parameter but lacks 404"
        if has_body:
            for code in ("400", "413", "415", "422"):
                assert code in codes, f"{op_id} has a body but lacks {code}"
        if op_id in EXPECTED_409:
            assert "409" in codes, f"{op_id} lacks 409"
    ops = {op["operationId"]: op for _, _, op, _ in iter_operations(spec)}
    assert "400" in ops["saveCaptureRedirect"]["responses"]


# --------------------------------------------------------------------------- security


def test_security_schemes(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {
        **schemes["ApiKeyAuth"],
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    assert schemes["BearerAuth"]["type"] == "http"
    assert schemes["BearerAuth"]["scheme"] == "bearer"
    assert schemes["CookieAuth"] == {
        **schemes["CookieAuth"],
        "type": "apiKey",
        "in": "cookie",
        "name": "sessionid",
    }
    # Publishable keys travel in the same header; each scheme names the key kinds it takes.
    assert schemes["PublishableKeyAuth"] == {
        **schemes["PublishableKeyAuth"],
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "x-scanserve-key-kinds": ["cpk"],
    }
    assert schemes["ApiKeyAuth"]["x-scanserve-key-kinds"] == ["csb", "csu"]
    assert schemes["BearerAuth"]["bearerFormat"]
    assert schemes["CsrfToken"] == {
        **schemes["CsrfToken"],
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
    }
    read = [{"ApiKeyAuth": []}, {"BearerAuth": ["scanner:read"]}, {"CookieAuth": ["scanner:read"]}]
    write = [
        {"ApiKeyAuth": []},
        {"BearerAuth": ["scanner:write"]},
        {"CookieAuth": ["scanner:write"], "CsrfToken": []},
    ]
    # Operations that change data take the global requirement; reading ones state their own.
    assert spec["security"] == write
    ops = {
        op["operationId"]: (method, op.get("security", spec["security"]))
        for _, method, op, _ in iter_operations(spec)
    }
    # The publishable scope (docs/authentication.md): what a scanning page needs.
    publishable = {"PublishableKeyAuth": []}
    special = {
        "createSession": [write[0], publishable, *write[1:]],
        "createCapture": [write[0], publishable, *write[1:]],
        "uploadCaptureImage": [write[0], publishable, *write[1:]],
        "getSession": [read[0], publishable, *read[1:]],
        "getSessionStatus": [read[0], publishable, *read[1:]],
        "getCapture": [read[0], publishable, *read[1:]],
        "getFreshnessThresholds": [{}, read[0], publishable, *read[1:]],
        "getPresignedUploadUrl": [
            {"ApiKeyAuth": []},
            {"BearerAuth": ["scanner:write"]},
            {"CookieAuth": ["scanner:write"]},
        ],
        "signIn": [{"ApiKeyAuth": []}, {"BearerAuth": []}],
        "signOut": [{"CookieAuth": [], "CsrfToken": []}],
        "getLiveness": [{}],  # probes: no credential at all
        "getReadiness": [{}],
        "receiveUpload": [{}],  # the local upload endpoint: its signed policy is the credential
    }
    for op_id, (method, security) in ops.items():
        expected = special.get(op_id, read if method == "get" else write)
        assert security == expected, op_id
        if method not in ("get", "head", "options"):
            # cookie authentication on an unsafe method always goes with the CSRF token
            for requirement in security:
                assert "CookieAuth" not in requirement or "CsrfToken" in requirement, op_id


def test_every_authenticated_operation_declares_403(spec: dict[str, Any]) -> None:
    for _, method, op, _ in iter_operations(spec):
        if op.get("security") == [{}]:
            continue  # no credential taken, none refused for its scope
        if {} in op.get("security", []) and method == "get":
            # a public read: a credential that fails is ignored, never a 401 (see above)
            assert "401" not in op["responses"] and "403" in op["responses"], op["operationId"]
            continue
        assert "401" in op["responses"] and "403" in op["responses"], op["operationId"]


# --------------------------------------------------------------------------- links


def test_links_target_real_operations_and_parameters(spec: dict[str, Any]) -> None:
    ops = {op["operationId"]: (op, item) for _, _, op, item in iter_operations(spec)}
    link_count = 0
    for _, _, op, _ in iter_operations(spec):
        for code, response in op["responses"].items():
            for name, link in deref(spec, response).get("links", {}).items():
                link_count += 1
                where = f"{op['operationId']} {code} link {name}"
                assert link.get("description"), f"{where} has no description"
                assert link["operationId"] in ops, where
                target, item = ops[link["operationId"]]
                target_params = {
                    deref(spec, p)["name"]
                    for p in item.get("parameters", []) + target.get("parameters", [])
                }
                for param in link.get("parameters", {}):
                    assert param in target_params, f"{where}: no parameter {param}"
                if "requestBody" in link:
                    assert "requestBody" in target, where
    assert link_count >= 14


def test_expected_links_exist(spec: dict[str, Any]) -> None:
    ops = {op["operationId"]: op for _, _, op, _ in iter_operations(spec)}

    def links(op_id: str, code: str) -> dict[str, dict[str, Any]]:
        return {
            link["operationId"]: link
            for link in ops[op_id]["responses"][code].get("links", {}).values()
        }

    session_links = links("createSession", "201")
    for target in ("getSession", "getSessionStatus", "submitSession", "endSession"):
        assert session_links[target]["parameters"] == {"id": "$response.body#/id"}
    for target in ("getPresignedUploadUrl", "registerPhoto"):
        assert session_links[target]["parameters"] == {"session_id": "$response.body#/id"}
    assert session_links["createCapture"]["requestBody"] == {
        "session_id": "$response.body#/id",
        "capture_type": "BARCODE",
        "raw_value": "09506000134352",
    }
    capture_links = links("createCapture", "201")
    for target in ("getCapture", "retryCapture", "listCaptureProposals", "applyCaptureProposals"):
        assert capture_links[target]["parameters"] == {"id": "$response.body#/id"}
    assert capture_links["saveCaptureRedirect"]["parameters"] == {"short_id": "$response.body#/id"}
    assert links("getCapture", "200")["getSession"]["parameters"] == {
        "id": "$response.body#/session_id"
    }
    assert links("registerPhoto", "201")["updatePhoto"]["parameters"] == {
        "session_id": "$request.path.session_id",
        "photo_id": "$response.body#/id",
    }
