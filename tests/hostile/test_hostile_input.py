"""Hostile request bodies never reach storage and never cost a 500: text that cannot be served
back, numbers that are not numbers, duplicate keys, deep nesting, oversized free-form
objects, bodies without a media type. Each case is run on SQLite and on PostgreSQL (which
refuses NUL characters outright), and everything stored is read back afterwards."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import peewee
import psycopg2
import pytest

from scanserve.app import contract, create_app
from scanserve.domain import catalog_import as catalog
from scanserve.http import untrusted
from scanserve.settings import Settings
from scanserve.testing import issue_key

BASE = "/scanner/api/v1"
JSON = {"Content-Type": "application/json"}
UNSTORABLE = {"lone surrogate": "ab\ud800cd", "NUL": "ab\x00cd"}


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield ""
        return
    yield request.getfixturevalue("postgres_url")  # tests/support/postgres_support.py


@pytest.fixture
def app(database_url, tmp_path):
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
    )
    app = create_app(settings)
    csv = tmp_path / "catalog.csv"
    csv.write_text("gtin,name\n09506000134352,Organic Whole Milk 1 L\n")
    catalog.import_file(csv)
    yield app
    app.services.db.close()


@pytest.fixture
def client(app):
    with app.test_client() as client:
        yield client


@pytest.fixture
def key(app):
    return issue_key()


def post_raw(client, path: str, body: Any, headers: dict[str, str]) -> Any:
    # json.dumps escapes what UTF-8 cannot encode ("\ud800"), as a hostile client would send it
    return client.post(f"{BASE}{path}", content=json.dumps(body), headers={**headers, **JSON})


# -- every string field of every operation ----------------------------------------------


def _resolve(node: Any, spec: dict[str, Any]) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def string_fields(schema: Any, spec: dict[str, Any], at: tuple[str, ...] = ()) -> list[tuple]:
    """JSON paths (tuples; "*" for any key of a map) of every string a request schema takes."""
    schema = _resolve(schema, spec)
    if not isinstance(schema, dict):
        return []
    found: list[tuple] = []
    for alternative in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        found += string_fields(alternative, spec, at)
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if "string" in types and at:
        found.append(at)
    if "object" in types or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            found += string_fields(sub, spec, (*at, name))
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            found += string_fields(extra, spec, (*at, "*"))
        if extra is not False and not schema.get("properties") and not isinstance(extra, dict):
            found.append((*at, "*"))  # a free-form object: any member may be a string
    if "array" in types:
        found += string_fields(schema.get("items", {}), spec, (*at, 0))
    return sorted(set(found), key=str)


def json_operations() -> list[tuple[str, str, str, dict[str, Any]]]:
    spec = contract()
    operations = []
    for template, item in spec["paths"].items():
        for method, op in item.items():
            content = op.get("requestBody", {}).get("content", {}) if isinstance(op, dict) else {}
            if "application/json" in content:
                schema = content["application/json"]["schema"]
                operations.append((op["operationId"], method.upper(), template, schema))
    return operations


def build(path: tuple, value: Any) -> Any:
    """A body holding ``value`` at ``path`` ("*" becomes the key "k")."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if head == 0:
        return [build(rest, value)]
    return {("k" if head == "*" else head): build(rest, value)}


def pointer(path: tuple) -> str:
    return "".join(f"/{'k' if p == '*' else p}" for p in path)


def fill(template: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        template = template.replace("{" + name + "}", value)
    return template


def read_everything(client, headers) -> int:
    """GET every stored session (list, detail, status) and capture; all must be 200 (response
    validation is on, so a stored value that cannot be served would be a 500). Returns how
    many objects were read."""
    listed = client.get(f"{BASE}/sessions?page_size=100", headers=headers)
    assert listed.status_code == 200, listed.text
    read = 0
    for session in listed.json()["data"]:
        detail = client.get(f"{BASE}/sessions/{session['id']}", headers=headers)
        assert detail.status_code == 200, detail.text
        status = client.get(f"{BASE}/sessions/{session['id']}/status", headers=headers)
        assert status.status_code == 200, status.text
        read += 1
        for capture in detail.json()["captures"]:
            got = client.get(f"{BASE}/captures/{capture['id']}", headers=headers)
            assert got.status_code == 200, got.text
            read += 1
    return read


def test_every_string_field_refuses_text_that_cannot_be_served_back(client, key):
    h = key.headers
    session = client.post(
        f"{BASE}/sessions",
        json={"metadata": {"store": "Köln 🛒"}, "device_context": {"locale": "de-DE", "dpi": 2.5}},
        headers=h,
    ).json()
    capture = client.post(
        f"{BASE}/captures",
        json={
            "session_id": session["id"],
            "capture_type": "BARCODE",
            "raw_value": "09506000134352",
        },
        headers=h,
    ).json()
    assert capture["status"] == "COMPLETED"
    ids = {
        "id": session["id"],
        "session_id": session["id"],
        "short_id": capture["id"],
        "photo_id": capture["id"],
        "proposal_id": str(uuid.uuid4()),
    }
    spec = contract()
    tried = 0
    for operation_id, method, template, schema in json_operations():
        path = fill(template.replace("/captures/{id}", f"/captures/{capture['id']}"), ids)
        for field in string_fields(schema, spec):
            for what, bad in UNSTORABLE.items():
                body = build(field, bad)
                if operation_id == "createCapture":
                    body = {"session_id": session["id"], "capture_type": "BARCODE", **body}
                    body.setdefault("raw_value", "09506000134352")
                answer = client.request(
                    method, f"{BASE}{path}", content=json.dumps(body), headers={**h, **JSON}
                )
                assert answer.status_code == 422, (operation_id, field, what, answer.text)
                pointers = [e["pointer"] for e in answer.json()["errors"]]
                assert pointer(field) in pointers, (operation_id, field, what, pointers)
                tried += 1
            # the same text as a map key: refused, pointing at the map (the key is not echoed)
            if field and field[-1] == "*":
                for bad in UNSTORABLE.values():
                    body = build(field[:-1], {bad: "v"})
                    if operation_id == "createCapture":
                        body = {"session_id": session["id"], "capture_type": "BARCODE", **body}
                        body.setdefault("raw_value", "09506000134352")
                    answer = client.request(
                        method, f"{BASE}{path}", content=json.dumps(body), headers={**h, **JSON}
                    )
                    assert answer.status_code == 422, (operation_id, field, answer.text)
                    assert pointer(field[:-1]) in [e["pointer"] for e in answer.json()["errors"]]
                    assert untrusted.problems(answer.json()) == []  # the answer is servable
    assert tried > 20  # metadata, user_agent, raw_value, gtin, url, device_context, ...
    # Nothing of it was stored: everything reads back, and the good session is intact.
    assert read_everything(client, h) == 2
    again = client.get(f"{BASE}/sessions/{session['id']}", headers=h).json()
    assert again["metadata"] == {"store": "Köln 🛒"}


def test_multipart_fields_refuse_nul(client, key):
    session = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()["id"]
    answer = client.post(
        f"{BASE}/captures/upload-image",
        data={"session_id": session, "raw_value": "ab\x00cd"},
        files={"image": ("a.png", b"\x89PNG\r\n\x1a\n", "image/png")},
        headers=key.headers,
    )
    assert answer.status_code == 422, answer.text
    assert "/raw_value" in [e["pointer"] for e in answer.json()["errors"]]


def test_query_parameters_refuse_nul(client, key):
    answer = client.get(f"{BASE}/freshness-thresholds?gtin=4006381333931%00")
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["pointer"] == "query/gtin"


@pytest.mark.parametrize(
    ("body", "pointer_"),
    [
        ('{"device_context": {"x": 1e999}}', "/device_context/x"),
        ('{"device_context": {"x": [-1e400]}}', "/device_context/x/0"),
    ],
)
def test_numbers_too_large_for_a_double_are_refused(client, key, body, pointer_):
    answer = client.post(f"{BASE}/sessions", content=body, headers={**key.headers, **JSON})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["pointer"] == pointer_
    assert read_everything(client, key.headers) == 0


def test_nan_and_infinity_literals_are_not_json(client, key):
    for literal in ("NaN", "Infinity", "-Infinity"):
        answer = client.post(
            f"{BASE}/sessions",
            content=f'{{"device_context": {{"x": {literal}}}}}',
            headers={**key.headers, **JSON},
        )
        assert answer.status_code == 400, answer.text


def test_duplicate_keys_are_refused_with_a_clear_message(client, key):
    h = key.headers
    first = client.post(f"{BASE}/sessions", json={}, headers=h).json()["id"]
    second = client.post(f"{BASE}/sessions", json={}, headers=h).json()["id"]
    body = (
        f'{{"session_id": "{second}", "capture_type": "BARCODE", '
        f'"raw_value": "09506000134352", "session_id": "{first}"}}'
    )
    answer = client.post(f"{BASE}/captures", content=body, headers={**h, **JSON})
    assert answer.status_code == 400, answer.text
    problem = answer.json()
    assert problem["error_code"] == "bad_request" and problem["retryable"] is False
    assert "'session_id' appears twice" in problem["detail"]
    nested = client.post(
        f"{BASE}/sessions", content='{"metadata": {"a": "1", "a": "2"}}', headers={**h, **JSON}
    )
    assert nested.status_code == 400 and "'a' appears twice" in nested.json()["detail"]
    assert all(
        not s["capture_count"] for s in client.get(f"{BASE}/sessions", headers=h).json()["data"]
    )


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deep_nesting_is_a_400_not_a_recursion_error(client, key, opener):
    closer = "]" if opener == "[" else "}"
    for depth in (10_000, 100_000):
        body = '{"device_context": {"x": ' + opener * depth + "1" + closer * depth + "}}"
        answer = client.post(f"{BASE}/sessions", content=body, headers={**key.headers, **JSON})
        assert answer.status_code == 400, answer.text[:300]
        assert "nested more than 32 levels" in answer.json()["detail"]
        assert answer.json()["retryable"] is False


def test_free_form_objects_are_bounded(client, key):
    h = key.headers

    def nested(levels: int) -> Any:
        node: Any = "leaf"
        for _ in range(levels):
            node = {"n": node}
        return node

    ok = client.post(f"{BASE}/sessions", json={"device_context": nested(9)}, headers=h)
    assert ok.status_code == 201, ok.text  # device_context plus 8 levels below it
    too_deep = client.post(f"{BASE}/sessions", json={"device_context": nested(10)}, headers=h)
    assert too_deep.status_code == 422
    assert too_deep.json()["errors"] == [
        {"pointer": "/device_context", "message": "may nest at most 8 levels deep"}
    ]
    wide = {f"k{i}": i for i in range(257)}
    too_wide = client.post(f"{BASE}/sessions", json={"device_context": wide}, headers=h)
    assert too_wide.status_code == 422
    spread = {f"k{i}": list(range(20)) for i in range(20)}  # 20 keys, 400 items in all
    too_many = client.post(f"{BASE}/sessions", json={"device_context": spread}, headers=h)
    assert too_many.status_code == 422
    assert (
        too_many.json()["errors"][0]["message"] == "may hold at most 256 members and items in all"
    )
    session = ok.json()["id"]
    big_gs1 = {f"{i:04d}": "x" for i in range(300)}
    capture = client.post(
        f"{BASE}/captures",
        json={
            "session_id": session,
            "capture_type": "BARCODE",
            "raw_value": "09506000134352",
            "gs1_dl_data": big_gs1,
        },
        headers=h,
    )
    assert capture.status_code == 422
    assert "/gs1_dl_data" in [e["pointer"] for e in capture.json()["errors"]]
    assert read_everything(client, h) == 1


@pytest.mark.parametrize("path", ["/sessions", "/captures", "/resolve-url"])
@pytest.mark.parametrize("content_type", ["", None])
def test_a_body_without_a_media_type_is_a_415(client, key, path, content_type):
    headers = dict(key.headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    answer = client.post(f"{BASE}{path}", content=b"{}", headers=headers)
    assert answer.status_code == 415, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["error_code"] == "unsupported_media_type"
    assert answer.json()["retryable"] is False


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "full-stack"])
def test_a_media_type_in_capitals_is_json_all_the_same(app, key, fast_path):
    """Media types are case-insensitive: ``Application/JSON`` is JSON, and its body is
    validated as such. (Connexion looks the media type up as sent: the body skipped its
    validation, and the handler got bytes and answered 500.)"""
    served = create_app(app.services.settings, fast_path=fast_path)
    try:
        with served.test_client() as client:
            session = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()["id"]
            capture = {"session_id": session, "capture_type": "BARCODE"}
            for content_type in ("Application/JSON", "APPLICATION/JSON; charset=utf-8"):
                headers = {**key.headers, "Content-Type": content_type}
                taken = client.post(
                    f"{BASE}/captures",
                    content=json.dumps({**capture, "raw_value": "09506000134352"}),
                    headers=headers,
                )
                assert taken.status_code == 201, taken.text
                assert taken.json()["product_name"] == "Organic Whole Milk 1 L"
                for body, pointer in (
                    (capture, "/raw_value"),
                    ({**capture, "raw_value": "a\x00b"}, "/raw_value"),
                ):
                    refused = client.post(
                        f"{BASE}/captures", content=json.dumps(body), headers=headers
                    )
                    assert refused.status_code == 422, refused.text
                    assert [e["pointer"] for e in refused.json()["errors"]] == [pointer]
            assert read_everything(client, key.headers) == 3  # the session, its two captures
    finally:
        served.services.db.close()


def test_multipart_takes_the_upload_limit_only_where_an_operation_takes_multipart(client, key):
    h = key.headers
    two_mib = b"x" * (2 * 1024 * 1024)
    boundary = "b0undary"
    form = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    to_json_operation = client.post(f"{BASE}/sessions", content=two_mib, headers={**h, **form})
    assert to_json_operation.status_code == 415, to_json_operation.text
    small = client.post(f"{BASE}/sessions", content=b"--x", headers={**h, **form})
    assert small.status_code == 415  # the media type, whatever the size
    as_json = client.post(f"{BASE}/sessions", content=two_mib, headers={**h, **JSON})
    assert as_json.status_code == 413  # JSON is held to the 1 MiB body limit
    # within the 10 MiB upload limit: the whole form is read and its 2 MiB image judged
    session = client.post(f"{BASE}/sessions", json={}, headers=h).json()["id"]
    form_body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="session_id"\r\n\r\n'
            f"{session}\r\n--{boundary}\r\n"
            'Content-Disposition: form-data; name="image"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + two_mib
        + f"\r\n--{boundary}--\r\n".encode()
    )
    upload = client.post(f"{BASE}/captures/upload-image", content=form_body, headers={**h, **form})
    # (a 415 judged from the bytes: they were all read, and no 413 came first)
    assert upload.status_code == 415, upload.text
    assert "judged from its bytes" in upload.json()["detail"]
    # a multipart Content-Type no longer lifts the limit of operations that take no multipart
    ended = client.post(f"{BASE}/sessions/{session}/end", content=two_mib, headers={**h, **form})
    assert ended.status_code == 413, ended.text


@pytest.mark.parametrize(
    ("failure", "retryable"),
    [
        # the database connection dropped, or SQLite stayed locked: a 503, a retry may succeed
        # (as psycopg2 raises it: peewee's wrapping keeps it as the context)
        (psycopg2.OperationalError("server closed the connection unexpectedly"), True),
        (peewee.InterfaceError("connection already closed"), True),
        (peewee.OperationalError("database is locked"), True),
        # a bug (or data it cannot handle) answers a 500, the same way every time
        (RuntimeError("secret internal detail"), False),
        (peewee.IntegrityError("violates check constraint"), False),
    ],
)
def test_only_outages_are_retryable(tmp_path, monkeypatch, failure, retryable):
    from scanserve.domain import sessions

    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise failure

    settings = Settings(
        data_dir=tmp_path / "data", queue="immediate", load_entrypoint_plugins=False
    )
    app = create_app(settings)
    try:
        key = issue_key()
        monkeypatch.setattr(sessions, "page", fail)  # the storage layer fails under the handler
        with app.test_client() as client:
            answer = client.get(f"{BASE}/sessions", headers=key.headers)
        assert answer.status_code == (503 if retryable else 500), answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["retryable"] is retryable
        assert str(failure) not in answer.text
    finally:
        app.services.db.close()
