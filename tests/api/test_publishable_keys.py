"""Publishable (``cpk``) keys are scoped (docs/authentication.md, "Publishable keys"): every
operation of the spec walked with one, on the fast path and on Connexion's whole stack; the
sessions (and captures) of other credentials answer like missing ones; allowed browser
origins and the CORS answers given for them only."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from importlib.resources import files
from typing import Any

import httpx
import pytest
import yaml
from image_bodies import image
from jsonschema import Draft202012Validator
from photo_support import serving

from scanserve.app import create_app
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.testing import IssuedKey, issue_key

BASE = "/scanner/api/v1"
METHODS = ("get", "post", "put", "patch", "delete")
# What a scanning page needs, and nothing more (the brief of issue 17; docs/authentication.md).
SCOPE = {
    "createSession",
    "createCapture",
    "uploadCaptureImage",
    "getSession",
    "getSessionStatus",
    "getCapture",
    "getFreshnessThresholds",
}
SHOP = "https://shop.example"


def _spec() -> dict[str, Any]:
    return yaml.load(
        (files("scanserve.spec") / "openapi.yaml").read_text(), Loader=yaml.CSafeLoader
    )


SPEC = _spec()


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in SPEC["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _publishable_schemes() -> set[str]:
    return {
        name
        for name, scheme in SPEC["components"]["securitySchemes"].items()
        if "cpk" in scheme.get("x-scanserve-key-kinds", [])
    }


def _security(op: dict[str, Any]) -> list[dict[str, Any]]:
    return op.get("security", SPEC["security"])


def _in_scope(op: dict[str, Any]) -> bool:
    return any(_publishable_schemes() & requirement.keys() for requirement in _security(op))


def _public(op: dict[str, Any]) -> bool:
    return {} in _security(op)


OPERATIONS = _operations()
OUTSIDE = [
    pytest.param(method, path, id=op["operationId"])
    for method, path, op in OPERATIONS
    if not _in_scope(op) and not _public(op)
]
PUBLIC = [
    pytest.param(method, path, id=op["operationId"])
    for method, path, op in OPERATIONS
    if _public(op) and not _in_scope(op)
]


@pytest.fixture(scope="module")
def problem_validator() -> Draft202012Validator:
    schema = {"$ref": "#/components/schemas/Problem", "components": SPEC["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


class World:
    """An organisation with a publishable key and a business key; each made a session with
    a capture in it."""

    def __init__(self, client: Any):
        self.client = client
        self.csb = issue_key("Corner Shop")
        self.cpk = issue_key("csb-less", "cpk", org_short_id=self.csb.org_short_id)
        self.other_session = self.session(self.csb)
        self.other_capture = self.capture(self.csb, self.other_session)
        self.own_session = self.session(self.cpk)
        self.own_capture = self.capture(self.cpk, self.own_session)

    def session(self, key: IssuedKey) -> str:
        made = self.client.post(f"{BASE}/sessions", json={}, headers=key.headers)
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    def capture(self, key: IssuedKey, session_id: str) -> str:
        made = self.client.post(
            f"{BASE}/captures",
            json={
                "session_id": session_id,
                "capture_type": "BARCODE",
                "raw_value": "4006381333931",
            },
            headers=key.headers,
        )
        assert made.status_code == 201, made.text
        return str(made.json()["id"])


@pytest.fixture(params=[True, False], ids=["fast-path", "full-stack"])
def client(request: pytest.FixtureRequest, scanserve_settings: Settings) -> Iterator[Any]:
    app = create_app(scanserve_settings, fast_path=request.param)
    try:
        with app.test_client() as test_client:
            yield test_client
    finally:
        app.services.db.close()


@pytest.fixture
def world(client: Any) -> World:
    return World(client)


def _fill(path: str, world: World) -> str:
    """The path with the other credential's objects (or made-up ids) in its parameters."""
    values = {
        "{photo_id}": models.new_short_id(),
        "{proposal_id}": str(uuid.uuid4()),
        "{session_id}": world.other_session,
        "{short_id}": world.other_capture,
        "{id}": world.other_session if path.startswith("/sessions") else world.other_capture,
    }
    for name, value in values.items():
        path = path.replace(name, value)
    assert "{" not in path, path
    return BASE + path


def _send(client: Any, method: str, path: str, op: dict[str, Any], headers: dict[str, str]) -> Any:
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        return client.request(method, path, json={}, headers=headers)
    if "multipart/form-data" in content:
        return client.request(
            method,
            path,
            data={"session_id": models.new_short_id(), "key": "k"},
            files={"image": ("a.png", image("plain", "PNG"), "image/png")},
            headers=headers,
        )
    return client.request(method, path, headers=headers)


def _op(method: str, path: str) -> dict[str, Any]:
    return SPEC["paths"][path][method]  # type: ignore[no-any-return]


def assert_publishable_refusal(response: Any, validator: Draft202012Validator) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    validator.validate(body)
    assert body["error_code"] == "forbidden" and body["key_scope"] == "publishable"
    assert "publishable" in body["detail"]
    assert "ratelimit-limit" in response.headers


def test_the_spec_declares_the_publishable_scope_and_nothing_more():
    """The operations that list a scheme taking cpk keys are exactly the page's needs; the
    scheme is an apiKey in the X-API-Key header, like ApiKeyAuth, which takes the others."""
    declared = {op["operationId"] for _, _, op in OPERATIONS if _in_scope(op)}
    assert declared == SCOPE
    assert _publishable_schemes() == {"PublishableKeyAuth"}
    scheme = SPEC["components"]["securitySchemes"]["PublishableKeyAuth"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-API-Key")
    assert (
        "cpk" not in SPEC["components"]["securitySchemes"]["ApiKeyAuth"]["x-scanserve-key-kinds"]
    )


@pytest.mark.parametrize(("method", "path"), OUTSIDE)
def test_every_operation_outside_the_scope_refuses_a_publishable_key(
    world, method, path, problem_validator
):
    op = _op(method, path)
    url = _fill(path, world)
    refused = _send(world.client, method, url, op, world.cpk.headers)
    assert_publishable_refusal(refused, problem_validator)
    if method == "get":  # HEAD is answered as a GET (by the full stack): refused alike
        head = world.client.head(url, headers=world.cpk.headers)
        assert head.status_code == 403 and "ratelimit-limit" in head.headers
    # the business key of the same organisation is not refused there
    allowed = _send(world.client, method, url, op, world.csb.headers)
    assert allowed.status_code != 403 or "key_scope" not in allowed.json(), allowed.text


@pytest.mark.parametrize(("method", "path"), PUBLIC)
def test_operations_open_to_anyone_stay_open_to_a_publishable_key(world, method, path):
    op = _op(method, path)
    answer = _send(world.client, method, _fill(path, world), op, world.cpk.headers)
    anonymous = _send(world.client, method, _fill(path, world), op, {})
    assert answer.status_code == anonymous.status_code, answer.text
    if answer.headers.get("content-type") == "application/problem+json":
        assert "key_scope" not in answer.json()


def _not_found_like_a_missing_id(answer: Any, missing: Any, other_id: str, made_up: str) -> None:
    assert answer.status_code == missing.status_code == 404, answer.text
    assert answer.json()["error_code"] == missing.json()["error_code"] == "not_found"
    assert answer.json()["detail"].replace(other_id, made_up) == missing.json()["detail"]


def _read_session(suffix: str) -> Callable[[World], None]:
    def check(world: World) -> None:
        own = world.client.get(
            f"{BASE}/sessions/{world.own_session}{suffix}", headers=world.cpk.headers
        )
        assert own.status_code == 200, own.text
        made_up = models.new_short_id()
        other = world.client.get(
            f"{BASE}/sessions/{world.other_session}{suffix}", headers=world.cpk.headers
        )
        missing = world.client.get(f"{BASE}/sessions/{made_up}{suffix}", headers=world.cpk.headers)
        _not_found_like_a_missing_id(other, missing, world.other_session, made_up)
        # the business key sees both
        assert (
            world.client.get(
                f"{BASE}/sessions/{world.own_session}{suffix}", headers=world.csb.headers
            ).status_code
            == 200
        )

    return check


def _get_session(world: World) -> None:
    _read_session("")(world)
    detail = world.client.get(f"{BASE}/sessions/{world.own_session}", headers=world.cpk.headers)
    assert [c["id"] for c in detail.json()["captures"]] == [world.own_capture]


def _create_session(world: World) -> None:
    made = world.client.post(
        f"{BASE}/sessions", json={"metadata": {"page": "scan"}}, headers=world.cpk.headers
    )
    assert made.status_code == 201, made.text
    row = models.ScanSession.get(models.ScanSession.short_id == made.json()["id"])
    assert (
        row.created_by_key_id == models.ApiKey.get(models.ApiKey.short_id == world.cpk.key_id).id
    )
    assert row.organization_id == world.cpk.org_id


def _create_capture(world: World) -> None:
    def post(session_id: str) -> Any:
        return world.client.post(
            f"{BASE}/captures",
            json={
                "session_id": session_id,
                "capture_type": "MANUAL",
                "raw_value": "4006381333931",
            },
            headers=world.cpk.headers,
        )

    assert post(world.own_session).status_code == 201
    made_up = models.new_short_id()
    _not_found_like_a_missing_id(
        post(world.other_session), post(made_up), world.other_session, made_up
    )
    assert (
        models.Capture.select()
        .where(
            models.Capture.session
            == models.ScanSession.get(models.ScanSession.short_id == world.other_session)
        )
        .count()
        == 1
    )  # the other session got nothing


def _upload_capture_image(world: World) -> None:
    def upload(session_id: str) -> Any:
        return world.client.post(
            f"{BASE}/captures/upload-image",
            data={"session_id": session_id},
            files={"image": ("scan.png", image("ean13", "PNG"), "image/png")},
            headers=world.cpk.headers,
        )

    made = upload(world.own_session)
    assert made.status_code == 201, made.text
    assert made.json()["session_id"] == world.own_session
    made_up = models.new_short_id()
    _not_found_like_a_missing_id(
        upload(world.other_session), upload(made_up), world.other_session, made_up
    )


def _get_capture(world: World) -> None:
    own = world.client.get(f"{BASE}/captures/{world.own_capture}", headers=world.cpk.headers)
    assert own.status_code == 200 and own.json()["session_id"] == world.own_session
    made_up = models.new_short_id()
    other = world.client.get(f"{BASE}/captures/{world.other_capture}", headers=world.cpk.headers)
    missing = world.client.get(f"{BASE}/captures/{made_up}", headers=world.cpk.headers)
    _not_found_like_a_missing_id(other, missing, world.other_capture, made_up)


def _get_freshness_thresholds(world: World) -> None:
    models.FreshnessRule.create(
        organization=world.cpk.org_id,
        scope="fallback",
        code="",
        warning_days=9,
        critical_days=4,
        label="Shop rule",
    )
    answer = world.client.get(
        f"{BASE}/freshness-thresholds", params={"gtin": "4006381333931"}, headers=world.cpk.headers
    )
    assert answer.status_code == 200, answer.text
    # the key's organisation's layers apply, as for any key of it
    assert answer.json()["source"] == "org-fallback" and answer.json()["warningDays"] == 9


INSIDE: dict[str, Callable[[World], None]] = {
    "createSession": _create_session,
    "getSession": _get_session,
    "getSessionStatus": _read_session("/status"),
    "createCapture": _create_capture,
    "uploadCaptureImage": _upload_capture_image,
    "getCapture": _get_capture,
    "getFreshnessThresholds": _get_freshness_thresholds,
}


def test_every_operation_in_the_scope_has_its_check():
    assert set(INSIDE) == {op["operationId"] for _, _, op in OPERATIONS if _in_scope(op)}


@pytest.mark.parametrize("operation_id", sorted(SCOPE))
def test_operations_in_the_scope_work_on_the_keys_own_sessions_only(world, operation_id):
    INSIDE[operation_id](world)


def test_listing_sessions_is_refused_and_the_business_key_still_lists_all(
    world, problem_validator
):
    assert_publishable_refusal(
        world.client.get(f"{BASE}/sessions", headers=world.cpk.headers), problem_validator
    )
    listed = world.client.get(f"{BASE}/sessions", headers=world.csb.headers)
    assert {s["id"] for s in listed.json()["data"]} == {world.own_session, world.other_session}


def test_a_second_publishable_key_sees_nothing_of_the_first(world):
    second = issue_key(kind="cpk", org_short_id=world.cpk.org_short_id)
    for path in (
        f"/sessions/{world.own_session}",
        f"/sessions/{world.own_session}/status",
        f"/captures/{world.own_capture}",
    ):
        assert world.client.get(BASE + path, headers=second.headers).status_code == 404, path


def test_an_idempotency_key_never_replays_another_credentials_answer(world):
    body = {"session_id": world.other_session, "capture_type": "MANUAL", "raw_value": "12345670"}
    headers = {"Idempotency-Key": "shared-key-1"}
    first = world.client.post(
        f"{BASE}/captures", json=body, headers={**world.csb.headers, **headers}
    )
    assert first.status_code == 201
    again = world.client.post(
        f"{BASE}/captures", json=body, headers={**world.cpk.headers, **headers}
    )
    assert again.status_code == 404 and "idempotent-replayed" not in again.headers


def test_a_browser_session_cannot_be_made_from_a_publishable_key(world, problem_validator):
    refused = world.client.post(f"{BASE}/auth/session", headers=world.cpk.headers)
    assert_publishable_refusal(refused, problem_validator)
    assert "set-cookie" not in refused.headers


def test_the_publishable_rate_limit_is_kept(world):
    answer = world.client.get(f"{BASE}/sessions/{world.own_session}", headers=world.cpk.headers)
    assert answer.headers["ratelimit-limit"] == "100"


# --- origins and CORS -----------------------------------------------------------------------


@pytest.fixture
def shop_key(world: World) -> IssuedKey:
    """A publishable key allowed from SHOP only, with a session of its own."""
    key = issue_key(kind="cpk", org_short_id=world.cpk.org_short_id)
    models.ApiKeyOrigin.create(
        api_key=models.ApiKey.get(models.ApiKey.short_id == key.key_id), origin=SHOP
    )
    return key


def _vary(response: Any) -> set[str]:
    return {v.strip().lower() for v in response.headers.get("vary", "").split(",") if v.strip()}


def test_an_allowed_origin_gets_cors_answers(world, shop_key):
    made = world.client.post(
        f"{BASE}/sessions", json={}, headers={**shop_key.headers, "Origin": SHOP}
    )
    assert made.status_code == 201
    assert made.headers["access-control-allow-origin"] == SHOP
    assert "origin" in _vary(made)
    assert "ratelimit-remaining" in made.headers["access-control-expose-headers"].lower()
    read = world.client.get(
        f"{BASE}/sessions/{made.json()['id']}/status", headers={**shop_key.headers, "Origin": SHOP}
    )
    assert read.status_code == 200 and read.headers["access-control-allow-origin"] == SHOP
    # errors too: the page can read why
    missing = world.client.get(
        f"{BASE}/sessions/{world.other_session}", headers={**shop_key.headers, "Origin": SHOP}
    )
    assert missing.status_code == 404 and missing.headers["access-control-allow-origin"] == SHOP
    outside = world.client.get(f"{BASE}/sessions", headers={**shop_key.headers, "Origin": SHOP})
    assert outside.status_code == 403 and outside.headers["access-control-allow-origin"] == SHOP


def test_another_origin_is_refused_without_cors(world, shop_key, problem_validator):
    refused = world.client.post(
        f"{BASE}/sessions", json={}, headers={**shop_key.headers, "Origin": "https://evil.example"}
    )
    assert_publishable_refusal(refused, problem_validator)
    assert "https://evil.example" in refused.json()["detail"]
    assert "access-control-allow-origin" not in refused.headers
    # nothing was created
    assert (
        not models.ScanSession.select()
        .where(
            models.ScanSession.created_by_key
            == models.ApiKey.get(models.ApiKey.short_id == shop_key.key_id)
        )
        .exists()
    )
    # a request without Origin is no browser page's: not refused, no CORS
    plain = world.client.post(f"{BASE}/sessions", json={}, headers=shop_key.headers)
    assert plain.status_code == 201 and "access-control-allow-origin" not in plain.headers


def test_keys_without_origins_get_no_cors_answers(world):
    for key in (world.cpk, world.csb):
        answer = world.client.get(
            f"{BASE}/sessions/{world.own_session}", headers={**key.headers, "Origin": SHOP}
        )
        assert answer.status_code == 200
        assert "access-control-allow-origin" not in answer.headers


def _preflight(client: Any, path: str, origin: str, method: str = "POST") -> Any:
    return client.options(
        BASE + path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "x-api-key, idempotency-key, content-type",
        },
    )


def test_a_preflight_from_an_allowed_origin_is_answered(world, shop_key):
    answer = _preflight(world.client, "/sessions", SHOP)
    assert answer.status_code == 204, answer.text
    assert answer.headers["access-control-allow-origin"] == SHOP
    assert answer.headers["access-control-allow-methods"] == "POST"  # GET /sessions: outside
    allowed = {
        h.strip().lower() for h in answer.headers["access-control-allow-headers"].split(",")
    }
    assert {"x-api-key", "idempotency-key", "content-type"} <= allowed
    assert "origin" in _vary(answer) and int(answer.headers["access-control-max-age"]) > 0
    assert "ratelimit-limit" in answer.headers
    session = _preflight(world.client, f"/sessions/{world.own_session}", SHOP, "GET")
    assert session.headers["access-control-allow-methods"] == "GET"
    upload = _preflight(world.client, "/captures/upload-image", SHOP)
    assert upload.headers["access-control-allow-methods"] == "POST"


def test_other_preflights_get_no_cors_answers(world, shop_key):
    before = _preflight(world.client, "/sessions", "https://evil.example")
    assert before.status_code == 405  # as any OPTIONS request
    assert "access-control-allow-origin" not in before.headers
    # a path with no operation in the scope
    submit = _preflight(world.client, f"/sessions/{world.own_session}/submit", SHOP)
    assert "access-control-allow-origin" not in submit.headers
    assert (
        "access-control-allow-origin"
        not in _preflight(world.client, "/plugins", SHOP, "GET").headers
    )
    # once the key that allowed the origin is revoked, neither
    models.ApiKey.update(is_active=False).where(
        models.ApiKey.short_id == shop_key.key_id
    ).execute()
    assert "access-control-allow-origin" not in _preflight(world.client, "/sessions", SHOP).headers


def test_cors_over_http_under_uvicorn(scanserve_settings):
    """The same answers from a real server on loopback: a browser's preflight, then its
    request, from the allowed origin; and a key without origins from the server's own
    origin (its /scan/ page)."""
    with serving(scanserve_settings, []) as (base, _app):
        owner = issue_key(kind="cpk")
        models.ApiKeyOrigin.create(
            api_key=models.ApiKey.get(models.ApiKey.short_id == owner.key_id), origin=SHOP
        )
        same_origin_key = issue_key(kind="cpk", org_short_id=owner.org_short_id)
        with httpx.Client(timeout=30) as http:
            preflight = http.options(
                f"{base}/captures",
                headers={
                    "Origin": SHOP,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type,idempotency-key,x-api-key",
                },
            )
            assert preflight.status_code == 204
            assert preflight.headers["access-control-allow-origin"] == SHOP
            assert preflight.headers["access-control-allow-methods"] == "POST"
            made = http.post(
                f"{base}/sessions", json={}, headers={**owner.headers, "Origin": SHOP}
            )
            assert made.status_code == 201 and made.headers["access-control-allow-origin"] == SHOP
            own_origin = base.split("/scanner/")[0]
            page = http.post(
                f"{base}/sessions",
                json={},
                headers={**same_origin_key.headers, "Origin": own_origin},
            )
            assert page.status_code == 201 and "access-control-allow-origin" not in page.headers
            listed = http.get(f"{base}/sessions", headers={**owner.headers, "Origin": SHOP})
            assert listed.status_code == 403 and listed.json()["key_scope"] == "publishable"
