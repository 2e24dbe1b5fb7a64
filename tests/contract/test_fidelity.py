"""A client written against the published Scanner API works unchanged: public freshness
thresholds with per-brand overrides, lenient capture fields, idempotent end/submit, the
resolve-url chain, error messages, UUID ids, JSON-only bodies and ECMA-262 patterns."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import jsonschema_rs
import pytest
import shortuuid
import yaml
from cli_fork import run_command
from loopback import LoopbackServer, Route, refused_port

from scanserve.app import spec_path
from scanserve.domain import catalog_import as catalog
from scanserve.domain.pipeline import process_capture
from scanserve.http.oas31_schema import ecma_regex
from scanserve.identity import keys
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.testing import issue_key

BASE = "/scanner/api/v1"
FRESHNESS = f"{BASE}/freshness-thresholds"
CATALOG = (
    "gtin,name,brand,gpc_brick_code\n"
    "09506000134352,Organic Whole Milk 1 L,GS1 Dairy,10000025\n"
    "4006381333931,Highlighter Yellow,Stabilo,\n"
    "5000112637922,Cola Classic 330 ml,Demo Drinks,10000221\n"
)


@pytest.fixture
def products(scanserve_app, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text(CATALOG)
    assert catalog.import_file(path).upserted == 3


@pytest.fixture
def spec():
    return yaml.load(spec_path().read_text(), Loader=yaml.CSafeLoader)


def _rule(org_id, label, scope="fallback", code="", warning=20, critical=5):
    models.FreshnessRule.create(
        organization=org_id,
        scope=scope,
        code=code,
        warning_days=warning,
        critical_days=critical,
        label=label,
    )


def _session(client, headers):
    return client.post(f"{BASE}/sessions", json={}, headers=headers).json()["id"]


def _capture(client, headers, session_id, raw_value="4006381333931", **extra):
    body = {"session_id": session_id, "capture_type": "BARCODE", "raw_value": raw_value, **extra}
    return client.post(f"{BASE}/captures", json=body, headers=headers)


# --- freshness: public, and per-brand organisation overrides ----------------------------------


class TestFreshnessIsPublic:
    def test_failing_credentials_are_ignored(self, scanserve_client, api_key, products):
        _rule(api_key.org_id, "Ours")
        anonymous = scanserve_client.get(FRESHNESS, params={"gtin": "4006381333931"})
        assert anonymous.status_code == 200 and anonymous.json()["source"] == "global-fallback"

        expired = issue_key(expires_at=utcnow() - timedelta(seconds=1))
        revoked = issue_key(is_active=False)
        wrong_checksum = api_key.key[:-1] + ("0" if api_key.key[-1] != "0" else "1")
        for headers in (
            {"X-API-Key": "bad"},
            {"X-API-Key": wrong_checksum},
            {"X-API-Key": keys.generate_key("csb")},  # well formed, unknown
            expired.headers,
            revoked.headers,
            {"Authorization": "Basic dXNlcjpwYXNz"},  # a proxy's credentials, not ours
            {"Authorization": "Bearer not-a-token"},
            {"Cookie": "sessionid=nope"},
        ):
            response = scanserve_client.get(
                FRESHNESS, params={"gtin": "4006381333931"}, headers=headers
            )
            assert response.status_code == 200, (headers, response.text)
            assert response.json() == anonymous.json(), headers
            assert "ratelimit-policy" in response.headers

    def test_a_valid_key_adds_its_rules_even_beside_foreign_credentials(
        self, scanserve_client, api_key, products
    ):
        _rule(api_key.org_id, "Ours")
        for headers in (api_key.headers, {**api_key.headers, "Authorization": "Basic eDp5"}):
            body = scanserve_client.get(
                FRESHNESS, params={"gtin": "4006381333931"}, headers=headers
            ).json()
            assert (body["source"], body["categoryLabel"]) == ("org-fallback", "Ours"), headers

    def test_other_operations_still_refuse_failing_credentials(self, scanserve_client):
        for headers in ({"X-API-Key": "bad"}, {"Authorization": "Basic dXNlcjpwYXNz"}):
            response = scanserve_client.get(f"{BASE}/sessions", headers=headers)
            assert response.status_code == 401

    def test_spec_says_so(self, spec):
        op = spec["paths"]["/freshness-thresholds"]["get"]
        assert {} in op["security"]
        assert "401" not in op["responses"]
        assert "ignored rather than refused" in op["description"]


class TestBrandClaims:
    def test_a_claimed_brand_gets_its_owners_rules_anonymous_calls_included(
        self, scanserve_client, api_key, products
    ):
        from scanserve.domain import brands

        owner = models.Organization.create(name="GS1 Dairy Inc")
        _rule(owner.id, "Dairy brand milk", scope="brick", code="10000025", warning=4, critical=2)
        _rule(owner.id, "Dairy brand default")
        gtin = {"gtin": "09506000134352"}
        assert scanserve_client.get(FRESHNESS, params=gtin).json()["source"] == "global-default"

        brands.claim(owner, "  gs1 DAIRY ")  # matched case-insensitively, spaces trimmed
        claimed = scanserve_client.get(FRESHNESS, params=gtin).json()
        assert claimed == {
            "warningDays": 4,
            "criticalDays": 2,
            "categoryLabel": "Dairy brand milk",
            "source": "org-override",
        }
        # another brand's product keeps the global layers
        other = scanserve_client.get(FRESHNESS, params={"gtin": "5000112637922"}).json()
        assert other["source"] == "global-default"
        # a caller with rules of its own: its rules first, the brand owner's after them
        _rule(api_key.org_id, "Caller milk", scope="brick", code="10000025", warning=9, critical=3)
        mine = scanserve_client.get(FRESHNESS, params=gtin, headers=api_key.headers).json()
        assert mine["categoryLabel"] == "Caller milk"
        brands.release(owner, "GS1 Dairy")
        assert scanserve_client.get(FRESHNESS, params=gtin).json()["source"] == "global-default"

    def test_one_organisation_per_brand(self, scanserve_app):
        from scanserve.domain import brands

        first = models.Organization.create(name="A")
        second = models.Organization.create(name="B")
        brands.claim(first, "Stabilo")
        assert brands.claim(first, "STABILO").organization_id == first.id  # again: no change
        with pytest.raises(brands.BrandTaken):
            brands.claim(second, "stabilo")

    def test_cli(self, tmp_path):
        env = {
            **os.environ,
            "SCANSERVE_DATA_DIR": str(tmp_path / "data"),
            "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
        }

        def run(*args, check=True):
            return run_command(args, env, check=check)

        run("db", "upgrade")  # only `db upgrade` and `serve` create a database
        org = run("orgs", "create", "Dairy Co").stdout.strip()
        run("orgs", "create", "Rival")
        assert run("brands", "claim", "--org", "Dairy Co", "GS1 Dairy").stdout == (
            "claimed GS1 Dairy\n"
        )
        taken = run("brands", "claim", "--org", "Rival", "gs1 dairy", check=False)
        assert taken.returncode != 0 and "claimed by another organisation" in taken.stderr
        header = "BRAND\tORG_ID\tORG_NAME\n"
        assert run("brands", "list").stdout == f"{header}GS1 Dairy\t{org}\tDairy Co\n"
        assert run("brands", "list", "--org", "Rival").stdout == header
        assert run("brands", "release", "--org", org, "GS1 DAIRY").returncode == 0
        assert run("brands", "list", "--json").stdout == "[]\n"
        assert run("brands", "release", "--org", org, "GS1 Dairy", check=False).returncode != 0


# --- captures: the server's reading wins, and never refuses --------------------------------


class TestCaptureFields:
    @pytest.mark.parametrize(
        ("raw_value", "extra", "gtin", "gs1_dl_data"),
        [
            # the client's GTIN contradicts raw_value: raw_value wins
            ("4006381333931", {"gtin": "09506000134352"}, "04006381333931", None),
            # not a GTIN at all, any string of up to 14 characters
            ("4006381333931", {"gtin": "not a gtin!"}, "04006381333931", None),
            ("4006381333931", {"gtin": "12345678901234"}, "04006381333931", None),
            # raw_value has no GTIN: a valid client GTIN is used, an invalid one ignored
            ("hello", {"gtin": "4006381333931"}, "04006381333931", None),
            ("hello", {"gtin": "4006381333932"}, "", None),
            # free-form gs1_dl_data: what raw_value carries wins; where it carries no
            # Application Identifiers, the client's AI members are kept, the rest ignored
            (
                "https://id.gs1.org/01/09506000134352/10/ABC123",
                {"gs1_dl_data": {"10": "XYZ", "weird": {"nested": [1, 2]}, "n": 5}},
                "09506000134352",
                {"01": "09506000134352", "10": "ABC123"},
            ),
            ("4006381333931", {"gs1_dl_data": {"01": "x"}}, "04006381333931", {"01": "x"}),
            ("4006381333931", {"gs1_dl_data": {"weird": {"n": 1}}}, "04006381333931", None),
            ("4006381333931", {"gs1_dl_data": None}, "04006381333931", None),
        ],
    )
    def test_client_values_never_refuse_a_capture(
        self, scanserve_client, api_key, raw_value, extra, gtin, gs1_dl_data
    ):
        session_id = _session(scanserve_client, api_key.headers)
        response = _capture(scanserve_client, api_key.headers, session_id, raw_value, **extra)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["gtin"] == gtin and body["gs1_dl_data"] == gs1_dl_data
        stored = models.Capture.get(models.Capture.short_id == body["id"])
        assert (stored.gtin, stored.gs1_dl_data) == (gtin, gs1_dl_data)

    def test_spec_takes_any_gtin_and_free_form_gs1_dl_data(self, spec):
        props = spec["components"]["schemas"]["CaptureCreateRequest"]["properties"]
        assert props["gtin"] == {**props["gtin"], "type": "string", "maxLength": 14}
        assert "pattern" not in props["gtin"]
        assert props["gs1_dl_data"]["type"] == ["object", "null"]
        assert set(props["gs1_dl_data"]) == {"type", "description"}
        description = spec["paths"]["/captures"]["post"]["description"]
        assert "reading of `raw_value` wins" in description


class TestCaptureErrors:
    @pytest.fixture
    def scanserve_settings(self, scanserve_settings):
        # The embedded queue, not started: captures wait in it until the test runs them.
        return scanserve_settings.model_copy(update={"queue": "embedded"})

    def test_an_invalid_barcode_is_created_pending_and_fails_in_the_pipeline(
        self, scanserve_app, scanserve_client, api_key
    ):
        session_id = _session(scanserve_client, api_key.headers)
        created = _capture(scanserve_client, api_key.headers, session_id, "4006381333932")
        assert created.status_code == 201
        body = created.json()
        assert (body["status"], body["error_message"], body["processed_at"]) == (
            "PENDING",
            "",
            None,
        )
        process_capture(scanserve_app.services, body["id"])
        done = scanserve_client.get(f"{BASE}/captures/{body['id']}", headers=api_key.headers)
        assert done.json()["status"] == "FAILED" and "check digit" in done.json()["error_message"]

    def test_not_found_says_nothing(self, scanserve_app, scanserve_client, api_key):
        session_id = _session(scanserve_client, api_key.headers)
        ids = [
            _capture(scanserve_client, api_key.headers, session_id, raw).json()["id"]
            for raw in ("96385074", "just some text")
        ]
        for capture_id in ids:
            process_capture(scanserve_app.services, capture_id)
            body = scanserve_client.get(
                f"{BASE}/captures/{capture_id}", headers=api_key.headers
            ).json()
            assert (body["status"], body["error_message"]) == ("NOT_FOUND", ""), body


class TestOrganizationShortId:
    def test_ignored_and_unchecked_with_a_key(self, scanserve_client, api_key):
        for value in ("not an id at all", "x" * 300, "00000000-0000-0000-0000-000000000000"):
            response = scanserve_client.post(
                f"{BASE}/sessions", json={"organization_short_id": value}, headers=api_key.headers
            )
            assert response.status_code == 201, (value, response.text)

    def test_checked_for_a_browser_session(self, scanserve_client, api_key):
        user = models.User.create(email="u@example.com")
        models.Membership.create(user=user, organization=api_key.org_id)
        models.WebSession.create(
            session_hash=keys.hash_secret("cookie"),
            csrf_hash=keys.hash_secret("csrf"),
            user=user,
            expires_at=utcnow() + timedelta(hours=1),
        )
        headers = {"Cookie": "sessionid=cookie", "X-CSRF-Token": "csrf"}

        def create(value):
            return scanserve_client.post(
                f"{BASE}/sessions", json={"organization_short_id": value}, headers=headers
            )

        assert create("").status_code == 422
        malformed = create("not an id")
        assert malformed.status_code == 422
        assert malformed.json()["errors"][0]["pointer"] == "/organization_short_id"
        assert create(shortuuid.uuid()).status_code == 404
        assert create(api_key.org_short_id).status_code == 201
        as_uuid = str(shortuuid.decode(api_key.org_short_id))
        made = create(as_uuid)
        assert made.status_code == 201
        row = models.ScanSession.get(models.ScanSession.short_id == made.json()["id"])
        assert row.organization_id == api_key.org_id


# --- sessions: idempotent end and submit ------------------------------------------------------


def test_end_and_submit_twice_answer_the_session_as_it_is(scanserve_client, api_key):
    h = api_key.headers
    ended = _session(scanserve_client, h)
    first = scanserve_client.post(f"{BASE}/sessions/{ended}/end", headers=h)
    second = scanserve_client.post(f"{BASE}/sessions/{ended}/end", headers=h)
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json() and second.json()["status"] == "COMPLETED"
    submit_after_end = scanserve_client.post(f"{BASE}/sessions/{ended}/submit", headers=h)
    assert submit_after_end.status_code == 409

    submitted = _session(scanserve_client, h)
    first = scanserve_client.post(f"{BASE}/sessions/{submitted}/submit", headers=h)
    assert first.status_code == 200
    # (the immediate queue ran the extraction meanwhile: the session as it is now)
    now = scanserve_client.get(f"{BASE}/sessions/{submitted}", headers=h).json()
    as_it_is = {k: v for k, v in now.items() if k in first.json()}
    second = scanserve_client.post(f"{BASE}/sessions/{submitted}/submit", headers=h)
    assert second.status_code == 200 and second.json() == as_it_is
    end_after_submit = scanserve_client.post(f"{BASE}/sessions/{submitted}/end", headers=h)
    assert end_after_submit.status_code == 200 and end_after_submit.json() == as_it_is


# --- resolve-url ---------------------------------------------------------------------------


class TestResolveUrl:
    @pytest.fixture
    def scanserve_settings(self, scanserve_settings):
        return scanserve_settings.model_copy(update={"qr_allow_private": True})

    def test_no_response_means_an_empty_chain(self, scanserve_client, api_key):
        with refused_port() as port:  # a port nothing listens on
            url = f"http://127.0.0.1:{port}/x"
            body = scanserve_client.post(
                f"{BASE}/resolve-url", json={"url": url}, headers=api_key.headers
            ).json()
        assert body["succeeded"] is False and body["error_message"]
        assert body["chain"] == [] and body["final_url"] == url and body["hops"] == 0
        unsupported = scanserve_client.post(
            f"{BASE}/resolve-url", json={"url": "ftp://e.com/f"}, headers=api_key.headers
        ).json()
        assert unsupported["chain"] == []

    def test_too_many_redirects_is_an_error_not_a_partial_result(self, scanserve_client, api_key):
        with LoopbackServer() as server:
            for i in range(12):
                server.route(f"/r{i}", Route(302, {"Location": server.url(f"/r{i + 1}")}))
            server.route("/r12", Route(200))
            body = scanserve_client.post(
                f"{BASE}/resolve-url", json={"url": server.url("/r0")}, headers=api_key.headers
            ).json()
        assert body["succeeded"] is False and "too many redirects" in body["error_message"]
        assert body["final_url"] == body["initial_url"] == server.url("/r0")


# --- ids in UUID form ----------------------------------------------------------------------


def _as_uuid(short_id):
    return str(shortuuid.decode(short_id))


def test_uuid_ids_name_the_same_objects(scanserve_client, api_key, products):
    h = api_key.headers
    session = scanserve_client.post(f"{BASE}/sessions", json={}, headers=h).json()
    sid = _as_uuid(session["id"])
    assert scanserve_client.get(f"{BASE}/sessions/{sid}", headers=h).json()["id"] == session["id"]
    upper = sid.upper()
    assert scanserve_client.get(f"{BASE}/sessions/{upper}/status", headers=h).status_code == 200

    capture = _capture(scanserve_client, h, sid, "09506000134352")  # body id in UUID form
    assert capture.status_code == 201, capture.text
    capture = capture.json()
    assert capture["session_id"] == session["id"]  # responses carry the shortuuid
    cid = _as_uuid(capture["id"])
    assert scanserve_client.get(f"{BASE}/captures/{cid}", headers=h).json() == capture
    rule = scanserve_client.post(
        f"{BASE}/captures/{cid}/save-redirect", json={"url": "https://e.com/a"}, headers=h
    )
    assert rule.status_code == 201
    assert scanserve_client.post(f"{BASE}/captures/{cid}/retry", headers=h).status_code == 409
    ended = scanserve_client.post(f"{BASE}/sessions/{sid}/end", headers=h)
    assert ended.status_code == 200 and ended.json()["id"] == session["id"]

    # another organisation's id is not found in either form
    other = issue_key("Other")
    assert scanserve_client.get(f"{BASE}/sessions/{sid}", headers=other.headers).status_code == 404
    # a UUID that names nothing is a 404, not a 422
    missing = scanserve_client.get(f"{BASE}/captures/{uuid.uuid4()}", headers=h)
    assert missing.status_code == 404
    # anything else is still refused by the contract
    assert scanserve_client.get(f"{BASE}/captures/not-an-id", headers=h).status_code == 422


def test_spec_id_parameters_admit_both_forms(spec):
    from jsonschema import Draft202012Validator

    from scanserve.http.oas31_schema import FORMAT_CHECKER

    schema = spec["components"]["schemas"]["ShortUUIDOrUUID"]
    validator = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
    for good in ("vytxeTZskVKR7C7WgdSP3d", "0B3C0A4E-9A8D-4D6B-8F39-2A0D6E7C1B55"):
        assert validator.is_valid(good), good
    for bad in ("vytxeTZskVKR7C7WgdSP3", "0b3c0a4e9a8d4d6b8f392a0d6e7c1b55", "x" * 36):
        assert not validator.is_valid(bad), bad
    for name in ("SessionId", "SessionIdForPhotos", "CaptureId", "CaptureShortId", "PhotoId"):
        param = spec["components"]["parameters"][name]
        assert param["schema"] == {"$ref": "#/components/schemas/ShortUUIDOrUUID"}, name
    schemas = spec["components"]["schemas"]
    ref = "#/components/schemas/ShortUUIDOrUUID"
    assert schemas["CaptureCreateRequest"]["properties"]["session_id"]["$ref"] == ref
    assert schemas["CaptureImageUpload"]["properties"]["session_id"]["$ref"] == ref
    assert schemas["PhotoReorderRequest"]["properties"]["photo_short_ids"]["items"]["$ref"] == ref
    capture_ref = schemas["PhotoCreateRequest"]["properties"]["capture_short_id"]
    assert {"$ref": ref} in capture_ref["anyOf"]


# --- bodies are JSON only ------------------------------------------------------------------


def test_form_encoded_metadata_is_refused_as_the_spec_says(scanserve_client, api_key, spec):
    for path in ("/sessions",):
        response = scanserve_client.post(
            f"{BASE}{path}",
            content=b"metadata%5Bstore%5D=berlin",
            headers={**api_key.headers, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 415
        assert response.json()["error_code"] == "unsupported_media_type"
    assert models.ScanSession.select().count() == 0
    description = spec["info"]["description"]
    assert "(`metadata[key]=value`), are\nnot taken" in description
    for item in spec["paths"].values():
        for op in item.values():
            content = op.get("requestBody", {}).get("content", {})
            assert "application/x-www-form-urlencoded" not in content


# --- patterns mean what ECMA-262 says --------------------------------------------------------


URLS = [
    "https://shop.example/milk",
    "https://shop.example/a\x1fb",
    "https://shop.example/a\x00",
    "https://shop.example/a\x7f",
    "https://shop.example/a b",
    "https://shop.example/a\u00a0b",
    "https://shop.example/a\ufeffb",
    "https://shop.example/a\x85b",
    "https://shop.example/a\u2028b",
    "https://shop.example/a\u180eb",
    "https://shop.example/é",
]


def test_save_redirect_pattern_agrees_with_json_schema(scanserve_client, api_key, products, spec):
    """jsonschema-rs evaluates patterns as ECMA-262 does; the server must agree with it."""
    schema = spec["components"]["schemas"]["SaveRedirectRequest"]["properties"]["url"]
    session_id = _session(scanserve_client, api_key.headers)
    capture = _capture(scanserve_client, api_key.headers, session_id, "09506000134352").json()
    assert capture["product_short_id"]
    verdicts = {}
    for url in URLS:
        response = scanserve_client.post(
            f"{BASE}/captures/{capture['id']}/save-redirect",
            json={"url": url},
            headers=api_key.headers,
        )
        assert response.status_code in (201, 422), (url, response.text)
        verdicts[url] = response.status_code == 201
        assert verdicts[url] == jsonschema_rs.is_valid(schema, url), url
    assert verdicts["https://shop.example/milk"] is True
    assert verdicts["https://shop.example/a\x1fb"] is False  # both refuse it


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        (r"^a\S$", "a\x1f", True),  # not white space in ECMA-262 (it is in Python)
        (r"^a\s$", "a\ufeff", True),  # white space in ECMA-262 (not in Python)
        (r"^\d$", "\u0663", False),  # ARABIC-INDIC DIGIT THREE: only 0-9 in ECMA-262
        (r"^\w$", "é", False),
        (r"^[\d]$", "7", True),
        (r"^[^\s]$", "\u2028", False),
    ],
)
def test_ecma_regex(pattern, text, matches):
    assert bool(ecma_regex(pattern).search(text)) is matches
    assert jsonschema_rs.is_valid({"type": "string", "pattern": pattern}, text) is matches
