"""scanserve.http.contract_check: one exchange judged against the bundled contract, each kind
of violation found where it is and nothing found in a conforming exchange; the tally's table
and JUnit XML."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest

from scanserve.app import spec_path
from scanserve.http.contract_check import OUTSIDE, UNKNOWN, ContractCheck, Tally, junit_xml
from scanserve.http.oas31_spec import load_spec

BASE = "/scanner/api/v1"
SID = "vytxeTZskVKR7C7WgdSP3d"
RATE_LIMITS = {
    "RateLimit-Policy": "300;w=60",
    "RateLimit-Limit": "300",
    "RateLimit-Remaining": "299",
    "RateLimit-Reset": "60",
    "X-RateLimit-Limit": "300",
    "X-RateLimit-Remaining": "299",
    "X-RateLimit-Reset": "1796581130",
    "X-Request-ID": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
}
SESSION = {
    "id": SID,
    "status": "ACTIVE",
    "capture_mode": "both",
    "created": "2026-11-29T07:15:00Z",
    "modified": "2026-11-29T07:15:00Z",
    "metadata": {},
    "capture_count": 0,
    "photo_count": 0,
}
PROBLEM = {
    "type": "docs/errors.md#not_found",
    "title": "Not Found",
    "status": 404,
    "detail": "No such session.",
    "error_code": "not_found",
    "retryable": False,
    "timestamp": "2026-11-29T07:15:19Z",
}


@pytest.fixture(scope="module")
def check() -> ContractCheck:
    return ContractCheck(load_spec(spec_path()))


def found(violations) -> list[tuple[str, str]]:
    return [(v.where, v.message) for v in violations]


def answer(check, method, path, status, body, content_type="application/json", **headers):
    return found(
        check.check_response(
            method,
            BASE + path,
            status,
            {"Content-Type": content_type, **RATE_LIMITS, **headers},
            json.dumps(body).encode(),
        )
    )


def test_a_conforming_exchange_has_no_violation(check):
    operation, violations = check.check_request(
        "POST", f"{BASE}/sessions", "", {"Content-Type": "application/json"}, b'{"metadata": {}}'
    )
    assert (operation, violations) == ("createSession", [])
    assert answer(check, "POST", "/sessions", 201, SESSION) == []
    problem = "application/problem+json"
    assert answer(check, "GET", f"/sessions/{SID}", 404, PROBLEM, problem) == []


def test_a_missing_required_field_is_named(check):
    broken = {k: v for k, v in SESSION.items() if k != "status"}
    assert answer(check, "POST", "/sessions", 201, broken) == [
        ("response.body", "'status' is a required property")
    ]
    nested = {**SESSION, "metadata": {"k": 1}}
    [(where, message)] = answer(check, "POST", "/sessions", 201, nested)
    assert where == "response.body"
    assert message.endswith("(at /metadata/k)")


def test_an_undeclared_status_and_an_error_that_is_no_problem_document(check):
    assert answer(check, "GET", f"/sessions/{SID}", 418, PROBLEM, "application/problem+json") == [
        ("response.status", "418 is not declared for getSession")
    ]
    assert (
        "response.content-type",
        "an error must be application/problem+json, not application/json",
    ) in answer(check, "GET", f"/sessions/{SID}", 404, PROBLEM)


def test_the_rate_limit_headers_are_required(check):
    violations = check.check_response(
        "POST",
        f"{BASE}/sessions",
        201,
        {"Content-Type": "application/json", **RATE_LIMITS, "RateLimit-Limit": "many"},
        json.dumps(SESSION).encode(),
    )
    assert [(v.where, v.message.split(":")[0]) for v in violations] == [
        ("response.header", "RateLimit-Limit")
    ]
    bare = check.check_response(
        "POST", f"{BASE}/sessions", 201, {"Content-Type": "application/json"}, b"{}"
    )
    assert ("response.header", "X-RateLimit-Reset is required") in found(bare)


def test_unknown_paths_and_methods(check):
    operation, violations = check.check_request("GET", f"{BASE}/nowhere", "", {}, None)
    assert operation == UNKNOWN
    assert found(violations) == [("request.path", f"{BASE}/nowhere is no path of the contract")]
    _, violations = check.check_request("DELETE", f"{BASE}/sessions", "", {}, None)
    assert [v.where for v in violations] == ["request.method"]
    # outside the base path, and the served contract: not the contract's business
    for path in ("/health/live", "/sandbox/reset", f"{BASE}/openapi.json", f"{BASE}/ui/"):
        assert check.check_request("GET", path, "", {}, None) == (OUTSIDE, [])


def test_a_cors_preflight_is_the_browsers_exchange_not_a_violation(check):
    preflight = {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    assert check.check_request("OPTIONS", f"{BASE}/sessions", "", preflight, None) == (
        OUTSIDE,
        [],
    )
    # an OPTIONS that is no preflight is still a method the contract lacks
    _, violations = check.check_request(
        "OPTIONS", f"{BASE}/sessions", "", {"Origin": "https://shop.example"}, None
    )
    assert [v.where for v in violations] == ["request.method"]
    # and a preflight to a path the contract lacks is still no path of it
    operation, violations = check.check_request("OPTIONS", f"{BASE}/nowhere", "", preflight, None)
    assert operation == UNKNOWN
    assert [v.where for v in violations] == ["request.path"]


def test_request_parameters_and_bodies(check):
    _, violations = check.check_request("GET", f"{BASE}/sessions", "page=0", {}, None)
    assert found(violations) == [("request.query", "page: 0 is less than the minimum of 1")]
    _, violations = check.check_request("GET", f"{BASE}/freshness-thresholds", "", {}, None)
    assert found(violations) == [("request.query", "'gtin' is required")]
    _, violations = check.check_request(
        "POST", f"{BASE}/captures", "", {"Content-Type": "text/plain"}, b"x"
    )
    assert [v.where for v in violations] == ["request.content-type"]
    _, violations = check.check_request(
        "POST", f"{BASE}/captures", "", {"Content-Type": "application/json"}, b"{nope"
    )
    assert [v.where for v in violations] == ["request.body"]


def form(**fields: str) -> tuple[dict[str, str], bytes]:
    parts = [
        f'--b\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    image = '--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n'
    body = ("".join(parts) + image + "--b--\r\n").encode("latin-1")
    return {"Content-Type": "multipart/form-data; boundary=b"}, body


def test_a_multipart_form_is_judged_by_its_fields(check):
    headers, body = form(session_id=SID, capture_type="IMAGE")
    path = f"{BASE}/captures/upload-image"
    assert check.check_request("POST", path, "", headers, body) == ("uploadCaptureImage", [])
    headers, body = form(session_id=SID, capture_type="SOMETHING")
    _, violations = check.check_request("POST", path, "", headers, body)
    assert [v.where for v in violations] == ["request.body"]
    assert "/capture_type" in violations[0].message


def test_the_tally_as_a_table_and_junit_xml():
    tally = Tally()
    tally.record("getCapture", [])
    tally.record("getCapture", ["response.body: 'status' is a required property"])
    tally.record("createSession", [])
    assert tally.rows() == [
        ("createSession", 1, 1, 0, ""),
        ("getCapture", 2, 1, 1, "response.body: 'status' is a required property"),
    ]
    assert "getCapture" in tally.table()
    root = ET.fromstring(junit_xml({"proxy": tally}))
    [suite] = root.iter("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["getCapture"]
