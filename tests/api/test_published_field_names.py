"""What a client written from the published Scanner API pages sends, through the real app:
the session named `session_short_id` (or, in the older pages, `session_public_id`) on
POST /captures and on the upload-image form, its own `gs1_dl_data` where the server reads
none, and a save-redirect without a body."""

from __future__ import annotations

import io

import pytest
import segno
from loopback import LoopbackServer, Route

from scanserve.domain import catalog_import as catalog
from scanserve.infra.ids import to_uuid
from scanserve.storage import models
from scanserve.testing import issue_key

BASE = "/scanner/api/v1"


@pytest.fixture
def scanserve_settings(scanserve_settings):
    return scanserve_settings.model_copy(update={"qr_allow_private": True})


@pytest.fixture
def milk(scanserve_app, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text("gtin,name\n09506000134352,Organic Whole Milk 1 L\n")
    assert not catalog.import_file(path).errors


def new_session(client, headers):
    response = client.post(f"{BASE}/sessions", json={}, headers=headers)
    assert response.status_code == 201
    return response.json()["id"]


def post_capture(client, headers, **fields):
    body = {"capture_type": "BARCODE", "raw_value": "09506000134352", **fields}
    return client.post(f"{BASE}/captures", json=body, headers=headers)


@pytest.mark.parametrize("field", ["session_id", "session_short_id", "session_public_id"])
def test_each_name_of_the_session_creates_the_capture(scanserve_client, api_key, field, milk):
    session = new_session(scanserve_client, api_key.headers)
    response = post_capture(scanserve_client, api_key.headers, **{field: session})
    assert response.status_code == 201, response.json()
    assert response.json()["session_id"] == session
    assert response.json()["product_name"] == "Organic Whole Milk 1 L"
    assert models.Capture.select().count() == 1


def test_an_alias_takes_the_uuid_form_too(scanserve_client, api_key):
    session = new_session(scanserve_client, api_key.headers)
    response = post_capture(scanserve_client, api_key.headers, session_short_id=to_uuid(session))
    assert response.status_code == 201 and response.json()["session_id"] == session


@pytest.mark.parametrize("same", [True, False], ids=["same session", "two sessions"])
def test_two_names_are_refused_naming_both(scanserve_client, api_key, same):
    first, second = (new_session(scanserve_client, api_key.headers) for _ in range(2))
    response = post_capture(
        scanserve_client,
        api_key.headers,
        session_id=first,
        session_public_id=to_uuid(first) if same else second,
    )
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["error_code"] == "validation_error"
    assert {e["pointer"] for e in problem["errors"]} == {"/session_id", "/session_public_id"}
    assert "may not be sent together" in problem["errors"][0]["message"]
    assert models.Capture.select().count() == 0


def test_all_three_names_are_refused(scanserve_client, api_key):
    session = new_session(scanserve_client, api_key.headers)
    names = dict.fromkeys(("session_id", "session_short_id", "session_public_id"), session)
    response = post_capture(scanserve_client, api_key.headers, **names)
    assert response.status_code == 422
    assert {e["pointer"] for e in response.json()["errors"]} == {"/" + name for name in names}


def test_no_session_at_all_is_refused_naming_session_id(scanserve_client, api_key):
    response = post_capture(scanserve_client, api_key.headers)
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["/session_id"]
    assert models.Capture.select().count() == 0


def test_an_alias_naming_another_organisations_session_is_not_found(scanserve_client, api_key):
    theirs = new_session(scanserve_client, issue_key("Other").headers)
    response = post_capture(scanserve_client, api_key.headers, session_short_id=theirs)
    assert response.status_code == 404
    assert models.Capture.select().count() == 0


def _qr_png(text: str) -> bytes:
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=6, border=4)
    return out.getvalue()


@pytest.mark.parametrize("field", ["session_short_id", "session_public_id"])
def test_the_upload_image_form_takes_the_published_names(scanserve_client, api_key, field, milk):
    session = new_session(scanserve_client, api_key.headers)
    response = scanserve_client.post(
        f"{BASE}/captures/upload-image",
        data={field: session},
        files={
            "image": ("code.png", _qr_png("https://id.gs1.org/01/09506000134352"), "image/png")
        },
        headers=api_key.headers,
    )
    assert response.status_code == 201, response.json()
    assert response.json()["session_id"] == session


def test_the_upload_image_form_refuses_two_sessions(scanserve_client, api_key):
    first, second = (new_session(scanserve_client, api_key.headers) for _ in range(2))
    response = scanserve_client.post(
        f"{BASE}/captures/upload-image",
        data={"session_id": first, "session_short_id": second},
        files={"image": ("code.png", _qr_png("x"), "image/png")},
        headers=api_key.headers,
    )
    assert response.status_code == 422
    assert {e["pointer"] for e in response.json()["errors"]} == {
        "/session_id",
        "/session_short_id",
    }
    assert models.Capture.select().count() == 0


class TestClientGs1Data:
    def test_kept_when_the_server_reads_no_application_identifiers(
        self, scanserve_client, api_key
    ):
        session = new_session(scanserve_client, api_key.headers)
        sent = {"01": "09506000134352", "17": "261231", "note": "ignored", "10": 7}
        response = post_capture(
            scanserve_client,
            api_key.headers,
            session_id=session,
            raw_value="LOT-7 printed label",
            gs1_dl_data=sent,
        )
        assert response.status_code == 201
        assert response.json()["gs1_dl_data"] == {"01": "09506000134352", "17": "261231"}
        stored = models.Capture.get()
        assert stored.gs1_dl_data == {"01": "09506000134352", "17": "261231"}

    def test_the_servers_reading_wins(self, scanserve_client, api_key):
        session = new_session(scanserve_client, api_key.headers)
        response = post_capture(
            scanserve_client,
            api_key.headers,
            session_id=session,
            raw_value="https://id.gs1.org/01/09506000134352/10/ABC",
            gs1_dl_data={"01": "04006381333931", "21": "SERIAL"},
        )
        assert response.status_code == 201
        assert response.json()["gs1_dl_data"] == {"01": "09506000134352", "10": "ABC"}

    def test_nothing_of_use_is_null(self, scanserve_client, api_key):
        session = new_session(scanserve_client, api_key.headers)
        response = post_capture(
            scanserve_client,
            api_key.headers,
            session_id=session,
            raw_value="plain text",
            gs1_dl_data={"gtin": "09506000134352", "12345": "too long a key"},
        )
        assert response.status_code == 201 and response.json()["gs1_dl_data"] is None


class TestSaveRedirectWithoutBody:
    def test_saves_the_captures_own_resolved_url(self, scanserve_client, api_key, milk):
        session = new_session(scanserve_client, api_key.headers)
        with LoopbackServer() as server:
            final = server.url("/01/09506000134352")
            server.route("/s/milk", Route(302, {"Location": final}))
            server.route("/01/09506000134352", Route(200, body=b"<html>milk</html>"))
            capture = post_capture(
                scanserve_client,
                api_key.headers,
                session_id=session,
                raw_value=server.url("/s/milk"),
            ).json()
        assert capture["status"] == "COMPLETED", capture
        assert capture["qr_analysis"]["final_url"] == final
        response = scanserve_client.post(
            f"{BASE}/captures/{capture['id']}/save-redirect", headers=api_key.headers
        )
        assert response.status_code == 201, response.json()
        assert response.json()["url"] == final
        assert [rule.url for rule in models.RedirectRule.select()] == [final]

    def test_a_capture_without_a_resolved_url_names_url(self, scanserve_client, api_key, milk):
        session = new_session(scanserve_client, api_key.headers)
        capture = post_capture(scanserve_client, api_key.headers, session_id=session).json()
        assert capture["status"] == "COMPLETED" and capture["qr_analysis"] is None
        response = scanserve_client.post(
            f"{BASE}/captures/{capture['id']}/save-redirect", headers=api_key.headers
        )
        assert response.status_code == 422
        assert [e["pointer"] for e in response.json()["errors"]] == ["/url"]
        assert models.RedirectRule.select().count() == 0

    def test_an_empty_json_body_is_the_same(self, scanserve_client, api_key, milk):
        session = new_session(scanserve_client, api_key.headers)
        capture = post_capture(scanserve_client, api_key.headers, session_id=session).json()
        response = scanserve_client.post(
            f"{BASE}/captures/{capture['id']}/save-redirect", json={}, headers=api_key.headers
        )
        assert response.status_code == 422
        assert [e["pointer"] for e in response.json()["errors"]] == ["/url"]
