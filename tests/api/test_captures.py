"""Captures through the real app, queue ("immediate": the pipeline runs in the request) and
SQLite file; URL captures follow real redirects on a loopback server."""

from __future__ import annotations

import pytest
from loopback import LoopbackServer, Route

from scanserve.domain import catalog_import as catalog
from scanserve.plugins.providers import ProductRecord
from scanserve.storage import models
from scanserve.testing import FakeLookupProvider, issue_key

BASE = "/scanner/api/v1"
GS = "\x1d"


@pytest.fixture
def lookup(scanserve_plugins):
    provider = FakeLookupProvider(
        {
            "05000112637922": ProductRecord(
                gtin="05000112637922", name="Cola Classic 330 ml", gpc_brick_code="10000221"
            ),
        },
        external=True,
    )
    scanserve_plugins.append(provider)
    return provider


@pytest.fixture
def session_id(scanserve_client, api_key):
    return scanserve_client.post(f"{BASE}/sessions", json={}, headers=api_key.headers).json()["id"]


@pytest.fixture
def demo_catalog(scanserve_app, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text(
        "gtin,name,brand,gpc_brick_code\n"
        "4006381333931,Highlighter Yellow,Stabilo,\n"
        "09506000134352,Organic Whole Milk 1 L,GS1 Dairy,10000025\n"
        "2012345678903,Loose Apples (store weighed),Store,\n"
    )
    report = catalog.import_file(path)
    assert report.upserted == 3 and not report.errors


def capture(client, headers, session_id, raw_value, **extra):
    body = {"session_id": session_id, "capture_type": "BARCODE", "raw_value": raw_value, **extra}
    return client.post(f"{BASE}/captures", json=body, headers=headers)


@pytest.mark.parametrize(
    ("raw_value", "gtin", "ai_data"),
    [
        ("4006381333931", "04006381333931", None),
        (
            "https://id.gs1.org/01/09506000134352/10/ABC123?17=261231",
            "09506000134352",
            {"01": "09506000134352", "10": "ABC123", "17": "261231"},
        ),
        (
            "https://example.com/products/01/09506000134352/21/XYZ",
            "09506000134352",
            {"01": "09506000134352", "21": "XYZ"},
        ),
        (
            f"]C10109506000134352101234{GS}17261231",
            "09506000134352",
            {"01": "09506000134352", "10": "1234", "17": "261231"},
        ),
        (
            f"]d2010950600013435217261231{GS}21SER1",
            "09506000134352",
            {"01": "09506000134352", "17": "261231", "21": "SER1"},
        ),
    ],
)
def test_capture_reaches_completed_with_product(
    scanserve_client, api_key, session_id, demo_catalog, raw_value, gtin, ai_data
):
    response = capture(scanserve_client, api_key.headers, session_id, raw_value)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "COMPLETED"
    assert body["raw_value"] == raw_value  # stored exactly as scanned, GS separator included
    assert body["gtin"] == gtin
    assert body["gs1_dl_data"] == ai_data
    assert body["product_name"] and body["product_short_id"]
    assert body["processed_at"] is not None
    assert body["session_id"] == session_id
    fetched = scanserve_client.get(f"{BASE}/captures/{body['id']}", headers=api_key.headers).json()
    assert fetched == body
    row = models.Capture.get(models.Capture.short_id == body["id"])
    assert row.raw_value == raw_value


def test_bad_check_digit_is_a_failed_capture(scanserve_client, api_key, session_id):
    body = capture(scanserve_client, api_key.headers, session_id, "4006381333932").json()
    assert body["status"] == "FAILED"
    assert "check digit" in body["error_message"]
    assert body["gtin"] == ""


def test_unknown_gtin_is_not_found_and_retry_goes_back_to_pending(
    lookup, scanserve_client, api_key, session_id
):
    body = capture(scanserve_client, api_key.headers, session_id, "96385074").json()
    assert body["status"] == "NOT_FOUND" and body["product_short_id"] is None
    lookup.products["00000096385074"] = ProductRecord(gtin="00000096385074", name="Mint Gum")
    retried = scanserve_client.post(f"{BASE}/captures/{body['id']}/retry", headers=api_key.headers)
    assert retried.status_code == 200
    # the immediate queue ran the pipeline again inside the request
    assert retried.json()["status"] == "COMPLETED" and retried.json()["product_name"] == "Mint Gum"
    again = scanserve_client.post(f"{BASE}/captures/{body['id']}/retry", headers=api_key.headers)
    assert again.status_code == 409 and again.json()["error_code"] == "conflict"


def test_restricted_numbers_never_reach_external_providers(
    lookup, scanserve_client, api_key, session_id, demo_catalog
):
    body = capture(scanserve_client, api_key.headers, session_id, "2012345678903").json()
    assert body["status"] == "COMPLETED"  # the local catalog knows it
    unknown = capture(scanserve_client, api_key.headers, session_id, "2098765432103").json()
    assert unknown["status"] == "NOT_FOUND"
    assert lookup.asked == []  # the external fake was never asked
    normal = capture(scanserve_client, api_key.headers, session_id, "5000112637922").json()
    assert normal["status"] == "COMPLETED" and lookup.asked == ["05000112637922"]


def test_failing_provider_is_named_when_all_fail(lookup, scanserve_client, api_key, session_id):
    lookup.products["05000112637939"] = ConnectionError("upstream down")
    body = capture(scanserve_client, api_key.headers, session_id, "5000112637939").json()
    assert body["status"] == "FAILED"
    assert "fake-lookup" in body["error_message"] and "upstream down" in body["error_message"]


def test_client_gtin_contradicting_raw_value_is_taken_from_raw_value(
    scanserve_client, api_key, session_id
):
    # The server's reading of raw_value wins; the client's decoding never refuses a capture
    # (more cases in test_fidelity.py).
    response = capture(
        scanserve_client, api_key.headers, session_id, "4006381333931", gtin="09506000134352"
    )
    assert response.status_code == 201 and response.json()["gtin"] == "04006381333931"


def test_manual_capture_is_interpreted_too(scanserve_client, api_key, session_id, demo_catalog):
    body = capture(
        scanserve_client, api_key.headers, session_id, " 4006381333931 ", capture_type="MANUAL"
    ).json()
    assert body["capture_type"] == "MANUAL" and body["status"] == "COMPLETED"
    assert body["raw_value"] == " 4006381333931 "


def test_capture_on_ended_session_is_409(scanserve_client, api_key, session_id):
    scanserve_client.post(f"{BASE}/sessions/{session_id}/end", headers=api_key.headers)
    response = capture(scanserve_client, api_key.headers, session_id, "4006381333931")
    assert response.status_code == 409 and response.json()["error_code"] == "conflict"


def test_capture_in_another_orgs_session_is_404(scanserve_client, api_key, session_id):
    other = issue_key("Other")
    response = capture(scanserve_client, other.headers, session_id, "4006381333931")
    assert response.status_code == 404
    assert models.Capture.select().count() == 0


def test_session_detail_lists_captures_in_fixed_queries(
    scanserve_client, api_key, session_id, demo_catalog, scanserve_app
):
    for _ in range(3):
        capture(scanserve_client, api_key.headers, session_id, "4006381333931")

    def count_queries(n_captures):
        db = scanserve_app.services.db
        executed = []
        original = db.execute_sql

        def spy(sql, params=None, *args, **kwargs):
            executed.append(sql)
            return original(sql, params, *args, **kwargs)

        db.execute_sql = spy
        try:
            response = scanserve_client.get(
                f"{BASE}/sessions/{session_id}", headers=api_key.headers
            )
        finally:
            db.execute_sql = original
        assert len(response.json()["captures"]) == n_captures
        return len([sql for sql in executed if sql.lstrip().upper().startswith("SELECT")])

    few = count_queries(3)
    for _ in range(7):
        capture(scanserve_client, api_key.headers, session_id, "4006381333931")
    assert count_queries(10) == few


class TestShortenedUrl:
    @pytest.fixture
    def scanserve_settings(self, scanserve_settings):
        return scanserve_settings.model_copy(update={"qr_allow_private": True})

    def test_short_url_to_digital_link_is_looked_up(
        self, scanserve_client, api_key, session_id, demo_catalog
    ):
        with LoopbackServer() as server:
            final = server.url("/01/09506000134352/10/LOT7")
            server.route("/s/abc", Route(301, {"Location": server.url("/r/1")}))
            server.route("/r/1", Route(302, {"Location": final}))
            server.route("/01/09506000134352/10/LOT7", Route(200, body=b"<html>product</html>"))
            body = capture(
                scanserve_client, api_key.headers, session_id, server.url("/s/abc")
            ).json()
        assert body["status"] == "COMPLETED", body
        assert body["gtin"] == "09506000134352"
        assert body["product_name"] == "Organic Whole Milk 1 L"
        qr = body["qr_analysis"]
        assert qr["hop_count"] == 2 and qr["final_url"] == final
        assert qr["extracted_gtin"] == "09506000134352" and qr["error_message"] == ""
        assert [h["status_code"] for h in qr["hops"]][:2] == [301, 302]

    def test_unreachable_url_fails_with_reason(self, scanserve_client, api_key, session_id):
        with LoopbackServer() as server:
            url = server.url("/gone")
        body = capture(scanserve_client, api_key.headers, session_id, url).json()
        assert body["status"] == "FAILED"
        assert body["error_message"].startswith("could not follow the URL")
        assert body["qr_analysis"]["error_message"]
