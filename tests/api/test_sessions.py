"""Sessions through the real app: a real SQLite file, the real middleware and validation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scanserve.domain import sessions
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.testing import issue_key

BASE = "/scanner/api/v1"


def create(client, headers, **body):
    response = client.post(f"{BASE}/sessions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_session_defaults(scanserve_client, api_key):
    body = create(scanserve_client, api_key.headers)
    assert len(body["id"]) == 22
    assert body["status"] == "ACTIVE"
    assert body["capture_mode"] == "barcode_scan"
    assert body["metadata"] == {}
    assert body["capture_count"] == 0 and body["photo_count"] == 0
    assert body["created"].endswith("Z")
    row = models.ScanSession.get(models.ScanSession.short_id == body["id"])
    assert row.organization_id == api_key.org_id


def test_get_session_roundtrip_and_detail(scanserve_client, api_key):
    created = create(
        scanserve_client,
        api_key.headers,
        metadata={"store": "42"},
        capture_mode="both",
        user_agent="app/1",
    )
    response = scanserve_client.get(f"{BASE}/sessions/{created['id']}", headers=api_key.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["metadata"] == {"store": "42"}
    assert body["capture_mode"] == "both"
    assert body["captures"] == [] and body["product_photos"] == []


def test_other_organisation_sees_404(scanserve_client, api_key):
    created = create(scanserve_client, api_key.headers)
    other = issue_key("Other Org")
    for path in ("", "/status"):
        response = scanserve_client.get(
            f"{BASE}/sessions/{created['id']}{path}", headers=other.headers
        )
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["error_code"] == "not_found"
    response = scanserve_client.post(f"{BASE}/sessions/{created['id']}/end", headers=other.headers)
    assert response.status_code == 404
    listing = scanserve_client.get(f"{BASE}/sessions", headers=other.headers).json()
    assert listing["data"] == []
    # and it is unchanged
    assert models.ScanSession.get(models.ScanSession.short_id == created["id"]).status == "ACTIVE"


def test_list_pagination_and_status_filter(scanserve_client, api_key):
    ids = [create(scanserve_client, api_key.headers)["id"] for _ in range(5)]
    scanserve_client.post(f"{BASE}/sessions/{ids[0]}/end", headers=api_key.headers)
    page1 = scanserve_client.get(
        f"{BASE}/sessions?page=1&page_size=2", headers=api_key.headers
    ).json()
    assert page1["pagination"] == {
        "page": 1,
        "page_size": 2,
        "total_count": 5,
        "total_pages": 3,
        "has_next": True,
        "has_previous": False,
    }
    assert [s["id"] for s in page1["data"]] == ids[::-1][:2]  # newest first
    page3 = scanserve_client.get(
        f"{BASE}/sessions?page=3&page_size=2", headers=api_key.headers
    ).json()
    assert len(page3["data"]) == 1 and page3["pagination"]["has_next"] is False
    past = scanserve_client.get(
        f"{BASE}/sessions?page=9&page_size=2", headers=api_key.headers
    ).json()
    assert past["data"] == [] and past["pagination"]["total_count"] == 5
    completed = scanserve_client.get(
        f"{BASE}/sessions?status=COMPLETED", headers=api_key.headers
    ).json()
    assert [s["id"] for s in completed["data"]] == [ids[0]]


@pytest.mark.parametrize(
    "query", ["page=0", "page_size=0", "page_size=101", "status=active", "page=x"]
)
def test_list_rejects_bad_query(scanserve_client, api_key, query):
    response = scanserve_client.get(f"{BASE}/sessions?{query}", headers=api_key.headers)
    assert response.status_code == 422
    body = response.json()
    assert body["error_code"] == "validation_error"
    assert body["errors"][0]["pointer"].startswith("query/")


def test_end_and_submit_state_machine(scanserve_client, api_key):
    first = create(scanserve_client, api_key.headers)
    ended = scanserve_client.post(f"{BASE}/sessions/{first['id']}/end", headers=api_key.headers)
    assert ended.status_code == 200 and ended.json()["status"] == "COMPLETED"
    assert ended.json()["modified"] >= first["modified"]
    # Ending again is idempotent: 200 with the session as it is, nothing changed.
    again = scanserve_client.post(f"{BASE}/sessions/{first['id']}/end", headers=api_key.headers)
    assert again.status_code == 200 and again.json() == ended.json()
    # Submitting an ended session contradicts it: 409.
    contradicting = scanserve_client.post(
        f"{BASE}/sessions/{first['id']}/submit", headers=api_key.headers
    )
    assert contradicting.status_code == 409 and contradicting.json()["error_code"] == "conflict"

    second = create(scanserve_client, api_key.headers)
    submitted = scanserve_client.post(
        f"{BASE}/sessions/{second['id']}/submit", headers=api_key.headers
    )
    assert submitted.status_code == 200 and submitted.json()["status"] == "COMPLETED"
    status = scanserve_client.get(
        f"{BASE}/sessions/{second['id']}/status", headers=api_key.headers
    ).json()
    # The immediate queue ran the extraction in the request: no photos, nothing to review.
    assert status == {
        "session_status": "COMPLETED",
        "extraction_status": "ready",
        "extraction_failures": [],
        "captures": [],
    }
    # Submitting (or ending) a submitted session again answers it as it is, and starts
    # nothing again.
    as_it_is = scanserve_client.get(f"{BASE}/sessions/{second['id']}", headers=api_key.headers)
    expected = {k: v for k, v in as_it_is.json().items() if k in submitted.json()}
    for action in ("submit", "end"):
        repeat = scanserve_client.post(
            f"{BASE}/sessions/{second['id']}/{action}", headers=api_key.headers
        )
        assert repeat.status_code == 200, (action, repeat.text)
        assert repeat.json() == expected
    assert (
        scanserve_client.get(
            f"{BASE}/sessions/{second['id']}/status", headers=api_key.headers
        ).json()["extraction_status"]
        == "ready"
    )


def test_metadata_limits_are_validated(scanserve_client, api_key):
    too_many = {f"k{i}": "v" for i in range(51)}
    response = scanserve_client.post(
        f"{BASE}/sessions", json={"metadata": too_many}, headers=api_key.headers
    )
    assert response.status_code == 422
    long_key = scanserve_client.post(
        f"{BASE}/sessions",
        json={"metadata": {"k" * 41: "v", "ok": "x" * 501}},
        headers=api_key.headers,
    )
    assert long_key.status_code == 422
    pointers = {e["pointer"] for e in long_key.json()["errors"]}
    assert "/metadata/ok" in pointers and len(long_key.json()["errors"]) == 2
    not_string = scanserve_client.post(
        f"{BASE}/sessions", json={"metadata": {"a": 1}}, headers=api_key.headers
    )
    assert (
        not_string.status_code == 422
        and not_string.json()["errors"][0]["pointer"] == "/metadata/a"
    )


def test_metadata_empty_value_is_dropped_on_create(scanserve_client, api_key):
    body = create(scanserve_client, api_key.headers, metadata={"a": "1", "b": ""})
    assert body["metadata"] == {"a": "1"}


def test_expire_idle_sessions(scanserve_client, api_key):
    idle = create(scanserve_client, api_key.headers)
    fresh = create(scanserve_client, api_key.headers)
    models.ScanSession.update(last_activity=utcnow() - timedelta(hours=25)).where(
        models.ScanSession.short_id == idle["id"]
    ).execute()
    assert sessions.expire_idle(24 * 3600) == 1
    got = scanserve_client.get(f"{BASE}/sessions/{idle['id']}", headers=api_key.headers).json()
    assert got["status"] == "EXPIRED"
    assert (
        scanserve_client.get(f"{BASE}/sessions/{fresh['id']}", headers=api_key.headers).json()[
            "status"
        ]
        == "ACTIVE"
    )
    assert sessions.expire_idle(24 * 3600) == 0
