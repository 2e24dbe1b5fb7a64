"""The budgets of expensive operations per organisation (scanserve.domain.budgets), through the real
app: spent, they answer 429 problem documents with Retry-After, whatever key of the
organisation asks, while other organisations and cheap operations go on."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from scanserve.testing import issue_key

BASE = "/scanner/api/v1"
DEMO_GTIN = "4006381333931"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("L", (64, 64), 255).save(out, format="PNG")
    return out.getvalue()


def _session(client, key) -> str:
    created = client.post(f"{BASE}/sessions", json={}, headers=key.headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _upload(client, key, session_id):
    return client.post(
        f"{BASE}/captures/upload-image",
        data={"session_id": session_id},
        files={"image": ("blank.png", _png(), "image/png")},
        headers=key.headers,
    )


def _capture(client, key, session_id, raw_value):
    return client.post(
        f"{BASE}/captures",
        json={"session_id": session_id, "capture_type": "BARCODE", "raw_value": raw_value},
        headers=key.headers,
    )


def _refused(response, what: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["error_code"] == "rate_limited"
    assert what in problem["detail"]
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert problem["retry_after_seconds"] == int(response.headers["retry-after"])


@pytest.mark.scanserve_settings(org_image_uploads_per_minute=2)
def test_image_uploads_have_a_budget_per_organisation(scanserve_client, api_key):
    other_key_same_org = issue_key(org_short_id=api_key.org_short_id)
    other_org = issue_key("Other")
    mine, theirs = _session(scanserve_client, api_key), _session(scanserve_client, other_org)
    assert _upload(scanserve_client, api_key, mine).status_code == 201
    assert _upload(scanserve_client, other_key_same_org, mine).status_code == 201
    # spent for the organisation, whichever of its keys asks; nothing was stored
    _refused(_upload(scanserve_client, api_key, mine), "image uploads")
    _refused(_upload(scanserve_client, other_key_same_org, mine), "image uploads")
    listed = scanserve_client.get(f"{BASE}/sessions/{mine}", headers=api_key.headers).json()
    assert len(listed["captures"]) == 2
    # a photo registration reads an image too: the same budget
    _refused(
        scanserve_client.post(
            f"{BASE}/sessions/{mine}/photos",
            json={"s3_key": "anything.jpg"},
            headers=api_key.headers,
        ),
        "image uploads",
    )
    # other organisations, and this one's plain barcodes, go on
    assert _upload(scanserve_client, other_org, theirs).status_code == 201
    assert _capture(scanserve_client, api_key, mine, DEMO_GTIN).status_code == 201


@pytest.mark.scanserve_settings(org_link_captures_per_minute=1, qr_timeout_seconds=0.5)
def test_link_captures_have_a_budget_per_organisation(scanserve_client, api_key):
    other_org = issue_key("Other")
    mine, theirs = _session(scanserve_client, api_key), _session(scanserve_client, other_org)
    link = "https://example.invalid/01/04006381333931"
    assert _capture(scanserve_client, api_key, mine, link).status_code == 201
    _refused(_capture(scanserve_client, api_key, mine, link), "URLs to follow")
    assert _capture(scanserve_client, api_key, mine, DEMO_GTIN).status_code == 201
    assert _capture(scanserve_client, other_org, theirs, link).status_code == 201


@pytest.mark.scanserve_settings(org_extractions_per_minute=1)
def test_submissions_have_a_budget_per_organisation(scanserve_client, api_key):
    first, second = _session(scanserve_client, api_key), _session(scanserve_client, api_key)
    submitted = scanserve_client.post(f"{BASE}/sessions/{first}/submit", headers=api_key.headers)
    assert submitted.status_code == 200, submitted.text
    _refused(
        scanserve_client.post(f"{BASE}/sessions/{second}/submit", headers=api_key.headers),
        "session submissions",
    )
    # nothing changed: the refused session is still ACTIVE
    got = scanserve_client.get(f"{BASE}/sessions/{second}", headers=api_key.headers).json()
    assert got["status"] == "ACTIVE"
