"""POST /resolve-url, POST /captures/{id}/save-redirect and GET /freshness-thresholds through
the real app; redirects are followed on a real loopback server."""

from __future__ import annotations

import pytest
from loopback import LoopbackServer, Route

from scanserve.domain import catalog_import as catalog
from scanserve.domain import gs1
from scanserve.storage import models
from scanserve.testing import issue_key

BASE = "/scanner/api/v1"


@pytest.fixture
def products(scanserve_app, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text(
        "gtin,name,gpc_brick_code\n09506000134352,Organic Whole Milk 1 L,10000025\n4006381333931,Highlighter,\n"
    )
    catalog.import_file(path)


class TestResolveUrl:
    @pytest.fixture
    def scanserve_settings(self, scanserve_settings):
        return scanserve_settings.model_copy(update={"qr_allow_private": True})

    def test_chain_is_followed(self, scanserve_client, api_key):
        with LoopbackServer() as server:
            server.route("/a", Route(301, {"Location": server.url("/b")}))
            server.route("/b", Route(308, {"Location": server.url("/01/09506000134352")}))
            server.route("/01/09506000134352", Route(200))
            response = scanserve_client.post(
                f"{BASE}/resolve-url", json={"url": server.url("/a")}, headers=api_key.headers
            )
        assert response.status_code == 200
        body = response.json()
        assert body["succeeded"] is True and body["error_message"] == ""
        assert body["hops"] == 2
        assert body["initial_url"] == server.url("/a")
        assert body["final_url"] == server.url("/01/09506000134352")
        assert body["chain"] == [
            server.url("/a"),
            server.url("/b"),
            server.url("/01/09506000134352"),
        ]

    def test_a_date_path_names_no_gtin(self, scanserve_client, api_key):
        """``/2024/01/17`` ends in a valid GTIN-8 check (00000000000017) but is a date, not a
        Digital Link: the URL is followed, and neither the analysis nor gs1 finds a GTIN."""
        with LoopbackServer() as server:
            server.route("/2024/01/17", Route(200))
            url = server.url("/2024/01/17")
            body = scanserve_client.post(
                f"{BASE}/resolve-url", json={"url": url}, headers=api_key.headers
            ).json()
            capture = _capture(scanserve_client, api_key.headers, url)
        assert body["succeeded"] is True and body["final_url"] == url
        assert capture["status"] == "COMPLETED" and not capture["gtin"]
        analysis = capture["qr_analysis"]
        assert analysis["extracted_gtin"] == "" and analysis["resolver_type"] == "DIRECT"
        assert gs1.gtin_from_url(url) == "" and not gs1.is_digital_link(url)

    def test_nothing_followed_keeps_the_url(self, scanserve_client, api_key):
        with LoopbackServer() as server:
            server.route("/x", Route(200))
            body = scanserve_client.post(
                f"{BASE}/resolve-url", json={"url": server.url("/x")}, headers=api_key.headers
            ).json()
        assert body["final_url"] == body["initial_url"] and body["hops"] == 0 and body["succeeded"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/admin",
        "ftp://example.com/file",
        "not a url",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_failures_are_200_with_error_message_under_default_policy(scanserve_client, api_key, url):
    response = scanserve_client.post(
        f"{BASE}/resolve-url", json={"url": url}, headers=api_key.headers
    )
    assert response.status_code == 200
    body = response.json()
    assert body["succeeded"] is False and body["error_message"]
    assert body["final_url"] == body["initial_url"] == url and body["hops"] == 0


def test_resolve_url_validates_length(scanserve_client, api_key):
    response = scanserve_client.post(
        f"{BASE}/resolve-url", json={"url": "http://e.com/" + "a" * 2048}, headers=api_key.headers
    )
    assert response.status_code == 422 and response.json()["errors"][0]["pointer"] == "/url"


def _capture(client, headers, raw_value):
    session = client.post(f"{BASE}/sessions", json={}, headers=headers).json()["id"]
    body = {"session_id": session, "capture_type": "BARCODE", "raw_value": raw_value}
    return client.post(f"{BASE}/captures", json=body, headers=headers).json()


def test_save_redirect_appends_rules(scanserve_client, api_key, products):
    capture = _capture(scanserve_client, api_key.headers, "09506000134352")
    assert capture["status"] == "COMPLETED"
    positions = []
    for url in ("https://shop.example/milk", "https://shop.example/milk-2"):
        response = scanserve_client.post(
            f"{BASE}/captures/{capture['id']}/save-redirect",
            json={"url": url},
            headers=api_key.headers,
        )
        assert response.status_code == 201
        rule = response.json()
        assert rule["url"] == url and rule["product_short_id"] == capture["product_short_id"]
        positions.append(rule["position"])
    assert positions == [0, 1]
    stored = models.RedirectRule.select().order_by(models.RedirectRule.position)
    assert [r.url for r in stored] == ["https://shop.example/milk", "https://shop.example/milk-2"]


def test_save_redirect_needs_a_product(scanserve_client, api_key):
    capture = _capture(scanserve_client, api_key.headers, "96385074")  # not in any catalog
    assert capture["status"] == "NOT_FOUND"
    response = scanserve_client.post(
        f"{BASE}/captures/{capture['id']}/save-redirect",
        json={"url": "https://e.com"},
        headers=api_key.headers,
    )
    assert response.status_code == 400 and response.json()["error_code"] == "bad_request"
    assert models.RedirectRule.select().count() == 0


def test_save_redirect_refuses_non_http_and_other_orgs(scanserve_client, api_key, products):
    capture = _capture(scanserve_client, api_key.headers, "09506000134352")
    bad = scanserve_client.post(
        f"{BASE}/captures/{capture['id']}/save-redirect",
        json={"url": "javascript:alert(1)"},
        headers=api_key.headers,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/url"
    other = issue_key("Other")
    hidden = scanserve_client.post(
        f"{BASE}/captures/{capture['id']}/save-redirect",
        json={"url": "https://e.com"},
        headers=other.headers,
    )
    assert hidden.status_code == 404
    assert models.RedirectRule.select().count() == 0


def test_freshness_layers_through_the_api(scanserve_client, api_key, products):
    url = f"{BASE}/freshness-thresholds"
    anonymous = scanserve_client.get(
        url, params={"gtin": "0950-6000 134352"}
    ).json()  # spaces and hyphens
    assert anonymous == {
        "warningDays": 3,
        "criticalDays": 1,
        "categoryLabel": "Milk (Perishable)",
        "source": "global-default",
    }

    models.FreshnessRule.create(
        organization=api_key.org_id,
        scope="brick",
        code="10000025",
        warning_days=2,
        critical_days=1,
        label="Our milk",
    )
    models.FreshnessRule.create(
        organization=api_key.org_id,
        scope="fallback",
        code="",
        warning_days=20,
        critical_days=5,
        label="Our default",
    )
    keyed = scanserve_client.get(
        url, params={"gtin": "09506000134352"}, headers=api_key.headers
    ).json()
    assert keyed == {
        "warningDays": 2,
        "criticalDays": 1,
        "categoryLabel": "Our milk",
        "source": "org-override",
    }
    unknown_brick = scanserve_client.get(
        url, params={"gtin": "4006381333931"}, headers=api_key.headers
    ).json()
    assert (
        unknown_brick["source"] == "org-fallback"
        and unknown_brick["categoryLabel"] == "Our default"
    )
    # the anonymous caller and other organisations do not see these rules
    assert (
        scanserve_client.get(url, params={"gtin": "09506000134352"}).json()["source"]
        == "global-default"
    )
    other = issue_key("Other")
    assert (
        scanserve_client.get(url, params={"gtin": "4006381333931"}, headers=other.headers).json()[
            "source"
        ]
        == "global-fallback"
    )


@pytest.mark.parametrize("gtin", ["abc", "123", "4006381333932", "00000000000000"])
def test_malformed_gtin_still_answers_200_with_fallback(scanserve_client, gtin):
    response = scanserve_client.get(f"{BASE}/freshness-thresholds", params={"gtin": gtin})
    assert response.status_code == 200
    body = response.json()
    assert body["source"] == "global-fallback" and body["categoryLabel"]
    assert body["criticalDays"] <= body["warningDays"]
