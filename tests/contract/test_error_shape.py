"""Every error path the server has answers the same problem+json envelope (the spec's
``Problem`` schema), with the rate-limit headers, whatever layer raised it."""

from __future__ import annotations

import errno
import logging
from importlib.resources import files

import peewee
import pytest
import redis.exceptions
import yaml
from jsonschema import Draft202012Validator

from scanserve import errors
from scanserve.domain import freshness
from scanserve.http import gateway

BASE = "/scanner/api/v1"
PROBLEM = "application/problem+json"


def _spec():
    return yaml.load(
        (files("scanserve.spec") / "openapi.yaml").read_text(), Loader=yaml.CSafeLoader
    )


def _spec_problem_examples(spec):
    for response in spec["components"]["responses"].values():
        media = response.get("content", {}).get("application/problem+json")
        if media is None:
            continue
        yield from (
            [media["example"]]
            if "example" in media
            else [e["value"] for e in media.get("examples", {}).values()]
        )


# The spec's examples name each code's `type` and `title`; the server must send the same.
SPEC_TITLES = {}
SPEC_TYPES = {}
for _example in _spec_problem_examples(_spec()):
    SPEC_TITLES.setdefault(_example["error_code"], set()).add(_example["title"])
    SPEC_TYPES.setdefault(_example["error_code"], set()).add(_example["type"])


@pytest.fixture(scope="module")
def problem_validator():
    spec = _spec()
    schema = {"$ref": "#/components/schemas/Problem", "components": spec["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_spec_examples_give_one_type_and_title_per_code():
    assert set(SPEC_TYPES) >= {
        "bad_request",
        "unauthorized",
        "not_found",
        "conflict",
        "payload_too_large",
        "unsupported_media_type",
        "validation_error",
        "rate_limited",
        "internal_error",
    }
    for code, types in SPEC_TYPES.items():
        assert types == {f"docs/errors.md#{code}"}, code
        assert len(SPEC_TITLES[code]) == 1, code


def test_every_error_code_has_a_section_in_the_error_reference():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "errors.md").read_text()
    codes = _spec()["components"]["schemas"]["Problem"]["properties"]["error_code"]["enum"]
    for code in codes:
        assert f'<a id="{code}"></a>\n## {code}\n' in page, code


def exploding(*_args, **_kwargs):
    """A bug in a service: the server must answer a generic 500, not leak it. (A freshness
    plugin that raises no longer does: it is logged and skipped, see test_plugins.py.)"""
    raise RuntimeError("secret internal detail")


@pytest.fixture
def scanserve_settings(scanserve_settings):
    return scanserve_settings.model_copy(update={"max_body_bytes": 2048})


def check(response, status, code, validator):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    validator.validate(body)
    assert body["status"] == status and body["error_code"] == code
    # one type URL per code, the same as in the spec's examples; the title too
    assert body["type"] == f"docs/errors.md#{code}"
    if code in SPEC_TITLES:
        assert {body["title"]} == SPEC_TITLES[code], (code, body["title"])
    for header in (
        "ratelimit-policy",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ):
        assert header in response.headers, header
    return body


def test_error_paths(scanserve_client, api_key, problem_validator, caplog, monkeypatch):
    c, h, v = scanserve_client, api_key.headers, problem_validator
    session = c.post(f"{BASE}/sessions", json={}, headers=h).json()

    check(c.get(f"{BASE}/sessions"), 401, "unauthorized", v)
    check(c.get(f"{BASE}/no-such-thing", headers=h), 404, "not_found", v)
    check(c.get(f"{BASE}/sessions/{'A' * 22}", headers=h), 404, "not_found", v)
    check(c.delete(f"{BASE}/sessions", headers=h), 405, "method_not_allowed", v)
    c.post(f"{BASE}/sessions/{session['id']}/end", headers=h)
    check(c.post(f"{BASE}/sessions/{session['id']}/submit", headers=h), 409, "conflict", v)

    bad_json = c.post(
        f"{BASE}/sessions", content=b"{not json", headers={**h, "Content-Type": "application/json"}
    )
    check(bad_json, 400, "bad_request", v)
    not_utf8 = c.post(
        f"{BASE}/sessions",
        content=b'{"user_agent": "\xff\xfe"}',
        headers={**h, "Content-Type": "application/json"},
    )
    check(not_utf8, 400, "bad_request", v)
    wrong_type = c.post(
        f"{BASE}/sessions", content=b"user_agent=x", headers={**h, "Content-Type": "text/plain"}
    )
    check(wrong_type, 415, "unsupported_media_type", v)
    no_type = c.post(f"{BASE}/sessions", content=b"{}", headers=h)
    check(no_type, 415, "unsupported_media_type", v)
    duplicate = c.post(
        f"{BASE}/sessions",
        content=b'{"a": 1, "a": 2}',
        headers={**h, "Content-Type": "application/json"},
    )
    check(duplicate, 400, "bad_request", v)
    nul = c.post(f"{BASE}/sessions", json={"user_agent": "a\x00b"}, headers=h)
    check(nul, 422, "validation_error", v)
    crowded = c.get(
        f"{BASE}/sessions", headers=[*h.items(), *[(f"X-{i}", "1") for i in range(120)]]
    )
    check(crowded, 431, "headers_too_large", v)

    invalid = c.post(f"{BASE}/sessions", json={"capture_mode": "nope", "user_agent": 5}, headers=h)
    body = check(invalid, 422, "validation_error", v)
    assert sorted(e["pointer"] for e in body["errors"]) == ["/capture_mode", "/user_agent"]
    query = check(
        c.get(f"{BASE}/sessions?page=0&page_size=500", headers=h), 422, "validation_error", v
    )
    assert sorted(e["pointer"] for e in query["errors"]) == ["query/page", "query/page_size"]

    big = c.post(f"{BASE}/sessions", json={"user_agent": "x" * 4000}, headers=h)
    check(big, 413, "payload_too_large", v)

    def chunks():
        yield b'{"user_agent": "'
        for _ in range(10):
            yield b"y" * 400
        yield b'"}'

    streamed = c.post(
        f"{BASE}/sessions", content=chunks(), headers={**h, "Content-Type": "application/json"}
    )
    check(streamed, 413, "payload_too_large", v)

    monkeypatch.setattr(freshness, "thresholds", exploding)
    with caplog.at_level(logging.ERROR):
        boom = c.get(f"{BASE}/freshness-thresholds?gtin=4006381333931")
    body = check(boom, 500, "internal_error", v)
    assert "secret internal detail" not in boom.text
    assert body["retryable"] is False  # a bug answers the same way every time
    assert "secret internal detail" in caplog.text  # the traceback is logged

    unknown_proposal = c.patch(
        f"{BASE}/proposals/0b6e1a3c-3f0e-4a8e-9d3c-2f1f5f6d7e8a",
        json={"status": "ACCEPTED"},
        headers=h,
    )
    check(unknown_proposal, 404, "not_found", v)
    # The 501 the contract still names, as the app would render it: no operation answers it
    # (an operation without a handler stops create_app), so it is rendered here.
    not_implemented = errors.problem_body(errors.NotImplementedYet())
    v.validate(not_implemented)
    assert (not_implemented["status"], not_implemented["error_code"]) == (501, "not_implemented")


def test_rate_limited_answer(scanserve_client, api_key, problem_validator):
    from scanserve.storage import models

    models.ApiKey.update(rate_limit_per_minute=2).where(
        models.ApiKey.short_id == api_key.key_id
    ).execute()
    for _ in range(2):
        assert scanserve_client.get(f"{BASE}/sessions", headers=api_key.headers).status_code == 200
    limited = scanserve_client.get(f"{BASE}/sessions", headers=api_key.headers)
    body = check(limited, 429, "rate_limited", problem_validator)
    assert body["retryable"] is True
    assert 1 <= body["retry_after_seconds"] <= 60
    assert limited.headers["retry-after"] == str(body["retry_after_seconds"])
    assert limited.headers["ratelimit-remaining"] == "0"


def test_a_body_sent_to_an_operation_without_one_is_ignored(scanserve_client, api_key):
    session = scanserve_client.post(f"{BASE}/sessions", json={}, headers=api_key.headers).json()
    for content_type in (
        "multipart/form-data",
        "application/json",
        "application/x-www-form-urlencoded",
    ):
        got = scanserve_client.request(
            "GET",
            f"{BASE}/sessions/{session['id']}",
            content=b"garbage",
            headers={**api_key.headers, "Content-Type": content_type},
        )
        assert got.status_code == 200, (content_type, got.text)
    ended = scanserve_client.post(
        f"{BASE}/sessions/{session['id']}/end",
        content=b"--x",
        headers={**api_key.headers, "Content-Type": "multipart/form-data"},
    )
    assert ended.status_code == 200 and ended.json()["status"] == "COMPLETED"


def _raising(exc):
    def fail(*_args, **_kwargs):
        raise exc

    return fail


@pytest.mark.parametrize(
    ("exc", "status", "code", "retryable"),
    [
        # the database restarting, unreachable, or locked past its busy timeout
        (peewee.OperationalError("database is locked"), 503, "service_unavailable", True),
        (peewee.InterfaceError("connection already closed"), 503, "service_unavailable", True),
        (peewee.OperationalError("disk I/O error"), 503, "service_unavailable", True),
        # a Redis (the queue's, the limits') that does not answer
        (redis.exceptions.ConnectionError("refused"), 503, "service_unavailable", True),
        # no room left
        (peewee.OperationalError("database or disk is full"), 507, "insufficient_storage", True),
        (OSError(errno.ENOSPC, "No space left on device"), 507, "insufficient_storage", True),
        # SQL that is wrong is a bug, not an outage, though SQLite calls it OperationalError
        (peewee.OperationalError("no such column: x"), 500, "internal_error", False),
        (OverflowError("date value out of range"), 500, "internal_error", False),
    ],
)
def test_library_failures_are_mapped_at_the_boundary(
    scanserve_client, api_key, problem_validator, monkeypatch, exc, status, code, retryable
):
    monkeypatch.setattr(freshness, "thresholds", _raising(exc))
    answer = scanserve_client.get(f"{BASE}/freshness-thresholds?gtin=4006381333931")
    body = check(answer, status, code, problem_validator)
    assert body["retryable"] is retryable
    if retryable:
        assert int(answer.headers["retry-after"]) > 0
    assert str(exc) not in body["detail"]  # the library's words stay in the log


def test_admission_failures_are_problem_documents_and_liveness_still_answers(
    scanserve_app, scanserve_client, api_key, problem_validator, monkeypatch
):
    """The gateway's own work (the credential lookup, the rate-limit store) runs outside
    Connexion's exception middleware: its failures are problem documents too, and the
    liveness probe, which depends on nothing outside the process, answers all the same."""
    limiter = scanserve_app.services.limiter
    monkeypatch.setattr(limiter, "hit", _raising(redis.exceptions.ConnectionError("refused")))
    down = scanserve_client.get(f"{BASE}/sessions", headers=api_key.headers)
    assert down.status_code == 503 and down.headers["content-type"] == PROBLEM
    problem_validator.validate(down.json())
    assert down.json()["retryable"] is True and "retry-after" in down.headers
    live = scanserve_client.get(f"{BASE}/health/live", headers=api_key.headers)
    assert live.status_code == 200 and live.json() == {"status": "ok", "checks": {}}, live.text
    monkeypatch.undo()

    monkeypatch.setattr(
        gateway, "authenticate", _raising(peewee.InterfaceError("connection already closed"))
    )
    other_key = {"X-API-Key": api_key.key[:-1] + ("0" if api_key.key[-1] != "0" else "1")}
    unchecked = scanserve_client.get(f"{BASE}/sessions", headers=other_key)
    assert unchecked.status_code == 503, unchecked.text
    assert unchecked.headers["content-type"] == PROBLEM
    problem_validator.validate(unchecked.json())
    live = scanserve_client.get(f"{BASE}/health/live", headers=other_key)
    assert live.status_code == 200


def test_a_failure_outside_every_handler_is_still_a_problem_document(
    scanserve_client, api_key, problem_validator, monkeypatch
):
    """An exception raised where no error handler reaches (the outermost middleware's own
    code) meets the last resort: a 500 problem document, never plain text."""
    monkeypatch.setattr(gateway, "_headers_of", _raising(RuntimeError("gateway bug")))
    answer = scanserve_client.get(f"{BASE}/sessions", headers=api_key.headers)
    assert answer.status_code == 500 and answer.headers["content-type"] == PROBLEM
    problem_validator.validate(answer.json())
    assert answer.json()["retryable"] is False and "gateway bug" not in answer.text


def test_an_error_handler_that_fails_still_answers_a_problem_document(
    scanserve_client, api_key, problem_validator, monkeypatch
):
    from scanserve import app as app_module

    monkeypatch.setattr(freshness, "thresholds", exploding)
    monkeypatch.setattr(app_module, "problem_for", _raising(TypeError("handler bug")))
    answer = scanserve_client.get(f"{BASE}/freshness-thresholds?gtin=4006381333931")
    body = check(answer, 500, "internal_error", problem_validator)
    assert body["retryable"] is False
