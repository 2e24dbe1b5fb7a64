"""``X-Request-ID`` on every answer (the fast path's, the full stack's, refusals and errors),
taken from the client when valid, and the access line that names it. Through the real app
on a real SQLite file; the JSON lines' members and the redaction are checked on the
formatter and filter the server uses."""

from __future__ import annotations

import json
import logging
import re
import sys

import pytest

from scanserve.infra.logconfig import (
    REQUEST_ID,
    JsonFormatter,
    RedactSecrets,
    new_request_id,
    valid_request_id,
)

BASE = "/scanner/api/v1"
MADE = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    "value",
    ["0f8c2e0c-9a4b-4c1f-8e8d-6a1b2c3d4e5f", "01HZX3Y5", "a", "x" * 128, "Root=1-5f84:a/b+c_d.e"],
)
def test_valid_request_ids_are_kept(value):
    assert valid_request_id(value)


@pytest.mark.parametrize(
    "value", ["", "x" * 129, "a b", "a\tb", "a\nb", "ä", "a;b", 'a"b', "<script>"]
)
def test_other_request_ids_are_not(value):
    assert not valid_request_id(value)


def test_made_ids_are_valid_and_new():
    made = {new_request_id() for _ in range(1000)}
    assert len(made) == 1000 and all(MADE.fullmatch(m) and valid_request_id(m) for m in made)


def _access(caplog: pytest.LogCaptureFixture, request_id: str) -> logging.LogRecord:
    found = [
        r for r in caplog.records if r.name == "scanserve.access" and request_id in r.msg % r.args
    ]
    assert len(found) == 1, [
        r.getMessage() for r in caplog.records if r.name == "scanserve.access"
    ]
    return found[0]


def test_every_answer_carries_the_id_and_its_access_line(scanserve_client, api_key, caplog):
    caplog.set_level(logging.INFO, logger="scanserve.access")
    sent = "trace-0001"
    # the fast path (a JSON write), the full stack (a 404 on a path of no operation), a
    # refusal of the gateway (no credential), a validation error
    created = scanserve_client.post(
        f"{BASE}/sessions", json={}, headers={**api_key.headers, "X-Request-ID": sent}
    )
    assert created.status_code == 201 and created.headers["X-Request-ID"] == sent
    line = _access(caplog, sent)
    assert line.fields == {
        "method": "POST",
        "path": f"{BASE}/sessions",
        "operation": "createSession",
        "status": 201,
        "duration_ms": line.fields["duration_ms"],
        "organisation": str(api_key.org_id),
        "request_id": sent,
    }
    assert isinstance(line.fields["duration_ms"], float)

    session = created.json()["id"]
    detail = scanserve_client.get(f"{BASE}/sessions/{session}", headers=api_key.headers)
    assert MADE.fullmatch(detail.headers["X-Request-ID"])
    # the template, never the id
    assert (
        _access(caplog, detail.headers["X-Request-ID"]).fields["path"] == f"{BASE}/sessions/{{id}}"
    )

    missing = scanserve_client.get("/nowhere/at/all", headers={"X-Request-ID": "n-1"})
    assert missing.status_code == 404 and missing.headers["X-Request-ID"] == "n-1"
    assert _access(caplog, "n-1").fields["operation"] == "unknown"

    refused = scanserve_client.get(f"{BASE}/sessions", headers={"X-Request-ID": "bad id"})
    assert refused.status_code == 401
    replaced = refused.headers["X-Request-ID"]
    assert MADE.fullmatch(replaced)
    assert _access(caplog, replaced).fields["organisation"] is None

    invalid = scanserve_client.post(
        f"{BASE}/captures",
        json={"raw_value": ""},
        headers={**api_key.headers, "X-Request-ID": "v"},
    )
    assert invalid.status_code == 422 and invalid.headers["X-Request-ID"] == "v"
    # one header, never two
    assert len(invalid.headers.get_list("X-Request-ID")) == 1


def test_json_lines_take_fields_and_the_current_request_id():
    record = logging.LogRecord("scanserve.test", logging.INFO, __file__, 1, "hi", None, None)
    record.fields = {"status": 201, "message": "not this", "path": "/x"}
    token = REQUEST_ID.set("r-1")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        REQUEST_ID.reset(token)
    assert line["message"] == "hi" and line["status"] == 201 and line["path"] == "/x"
    assert line["request_id"] == "r-1"
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord(
            "scanserve.test", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    line = json.loads(JsonFormatter().format(failed))
    assert "request_id" not in line
    assert "Traceback" in line["exc_info"] and "ValueError: boom" in line["exc_info"]


def test_fields_are_redacted_as_the_message_is(api_key):
    record = logging.LogRecord("scanserve.access", logging.INFO, __file__, 1, "GET", None, None)
    record.fields = {"path": f"/x?token=s3cr3t&k={api_key.key}", "request_id": api_key.key}
    assert RedactSecrets().filter(record)
    assert record.fields["path"] == "/x?token=[redacted]&k=csb_[redacted]"
    assert record.fields["request_id"] == "csb_[redacted]"
