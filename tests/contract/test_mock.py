"""``scanserve mock`` (docs/mock.md): a live mock on port 0 answers every operation of the
contract, with the contract's examples or (``--dynamic``) generated values, each answer valid
against the contract; ``Prefer`` picks a status or an example; an invalid request is refused
as the real server refuses it; no database is created.

The list of operations, the valid requests and the expected answers are all read from the
spec, so an operation added to it is covered here without a change."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cli_fork
import httpx
import pytest
from loopback import served_port

from scanserve.app import contract
from scanserve.http.oas31_schema import schema_validator
from scanserve.identity.keys import checksum
from scanserve.testing import wait_for

SPEC = contract()
BASE = "/scanner/api/v1"
METHODS = ("get", "put", "post", "delete", "patch")
BODY = "MockClientTestKey000000000000000"
KEY = f"csb_{BODY}_{checksum(BODY)}"
OPERATIONS = sorted(
    (op["operationId"], method, path, op)
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
    if method in METHODS
)
IDS = [op_id for op_id, *_ in OPERATIONS]


def _deref(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def _validator(schema: dict[str, Any]) -> Any:
    # the spec's components beside the schema, so its $refs resolve in the same document
    return schema_validator({**schema, "components": SPEC["components"]})


def _answers_at(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health/live", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def _start(workdir: Path, *options: str) -> Iterator[str]:
    """``scanserve mock --port 0`` in ``workdir`` (its data directory inside, never made)."""
    flags = ["--port", "0", *options]
    workdir.mkdir()
    env = {
        **os.environ,
        "SCANSERVE_DATA_DIR": str(workdir / "data"),
        # hundreds of requests with one key: the limits are not what is tested here
        "SCANSERVE_RATE_LIMIT_PER_MINUTE": "100000",
    }
    stdout = workdir / "stdout"
    with (
        open(stdout, "w") as out,
        open(workdir / "stderr", "w") as err,
        cli_fork.Popen(
            [*cli_fork.COMMAND, "mock", *flags],
            stdout=out,
            stderr=err,
            env=env,
            cwd=workdir,
        ) as proc,
    ):
        try:
            base = f"http://127.0.0.1:{served_port(proc, stdout)}{BASE}"
            # the port is bound before the banner, and listened on once uvicorn runs
            wait_for(lambda: _answers_at(base), 30, "the mock to answer")
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def mock_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mock") / "static"


@pytest.fixture(scope="module")
def mock_base(mock_dir: Path) -> Iterator[str]:
    yield from _start(mock_dir)


@pytest.fixture(scope="module")
def mock_client(mock_base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mock_base, timeout=30) as client:
        yield client


def _request(op_id: str, *, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A valid request of ``op_id``, made from the spec's own examples."""
    _, method, path, op = next(o for o in OPERATIONS if o[0] == op_id)
    params = [_deref(p) for p in op.get("parameters", [])]
    for p in params:
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", str(p["example"]))
    query = {p["name"]: p["example"] for p in params if p["in"] == "query" and p.get("required")}
    sent = {"X-API-Key": KEY}
    security = op.get("security", SPEC["security"])
    if not any("ApiKeyAuth" in requirement for requirement in security) and security != [{}]:
        # cookie only (signOut): the mock's session cookie and the CSRF token of its sign-in
        sign_in = _deref(SPEC["paths"]["/auth/session"]["post"]["responses"]["201"])
        token = sign_in["content"]["application/json"]["example"]["csrf_token"]
        sent = {"Cookie": "sessionid=MockBrowserSession", "X-CSRF-Token": token}
    request: dict[str, Any] = {
        "method": method.upper(),
        "url": path,
        "params": query,
        "headers": {**sent, **(headers or {})},
    }
    body = op.get("requestBody")
    if body is not None:
        media_type, media = next(iter(body["content"].items()))
        example = media.get("example")
        if example is None:
            example = next(iter(media["examples"].values()))["value"]
        if media_type == "application/json":
            request["json"] = example
        else:  # multipart: the example's binary parts as files
            schema = _deref(media["schema"])
            binary = {n for n, s in schema["properties"].items() if s.get("format") == "binary"}
            request["data"] = {k: v for k, v in example.items() if k not in binary}
            request["files"] = dict.fromkeys(
                binary, ("photo.jpg", b"\xff\xd8\xff\xe0", "image/jpeg")
            )
    return request


def _check_against_contract(op: dict[str, Any], answer: httpx.Response) -> None:
    declared = _deref(op["responses"][str(answer.status_code)])
    for name, header in (declared.get("headers") or {}).items():
        header = _deref(header)
        if not header.get("required"):
            continue
        assert name.lower() in answer.headers, (op["operationId"], answer.status_code, name)
        value: Any = answer.headers[name]
        if header["schema"].get("type") == "integer":
            value = int(value)
        errors = list(_validator(header["schema"]).iter_errors(value))
        assert not errors, (name, value, errors)
    content = declared.get("content")
    if not content:
        assert answer.content == b""
        return
    media_type, media = next(iter(content.items()))
    assert answer.headers["content-type"].split(";")[0] == media_type
    errors = list(_validator(media["schema"]).iter_errors(answer.json()))
    assert not errors, (op["operationId"], answer.status_code, [e.message for e in errors])


@pytest.mark.parametrize("op_id", IDS)
def test_every_operation_is_answered_with_its_example(
    mock_client: httpx.Client, op_id: str
) -> None:
    op = next(o for o in OPERATIONS if o[0] == op_id)[3]
    answer = mock_client.request(**_request(op_id))
    success = min(s for s in op["responses"] if str(s).startswith("2"))
    assert answer.status_code == int(success), answer.text
    _check_against_contract(op, answer)
    content = _deref(op["responses"][success]).get("content")
    if content:  # the example itself, as written in the spec
        media = next(iter(content.values()))
        example = media.get("example", None)
        if example is None:
            example = next(iter(media["examples"].values()))["value"]
        assert answer.json() == example


@pytest.mark.parametrize("op_id", IDS)
def test_prefer_code_picks_each_declared_status(mock_client: httpx.Client, op_id: str) -> None:
    op = next(o for o in OPERATIONS if o[0] == op_id)[3]
    for status in op["responses"]:
        answer = mock_client.request(**_request(op_id, headers={"Prefer": f"code={status}"}))
        assert answer.status_code == int(status), (status, answer.text)
        _check_against_contract(op, answer)
        if answer.status_code >= 400:  # a problem document of that status
            assert answer.json()["status"] == answer.status_code


def test_prefer_example_picks_a_named_example(mock_client: httpx.Client) -> None:
    media = SPEC["paths"]["/captures/{id}"]["get"]["responses"]["200"]["content"]
    examples = media["application/json"]["examples"]
    assert len(examples) > 1
    for name, example in examples.items():
        answer = mock_client.request(
            **_request("getCapture", headers={"Prefer": f"example={name}"})
        )
        assert answer.status_code == 200
        assert answer.json() == example["value"]
    # a status and an example of it in one header
    save = SPEC["paths"]["/captures/{short_id}/save-redirect"]["post"]["responses"]["400"]
    for name, example in _deref(save)["content"]["application/problem+json"]["examples"].items():
        answer = mock_client.request(
            **_request("saveCaptureRedirect", headers={"Prefer": f"code=400, example={name}"})
        )
        assert answer.status_code == 400
        assert answer.json() == example["value"]


def test_prisms_query_parameters_choose_too(mock_client: httpx.Client) -> None:
    media = SPEC["paths"]["/captures/{id}"]["get"]["responses"]["200"]["content"]
    example = media["application/json"]["examples"]["digitalLink"]["value"]
    request = _request("getCapture")
    answer = mock_client.request(**{**request, "params": {"__example": "digitalLink"}})
    assert answer.json() == example
    answer = mock_client.request(**{**request, "params": {"__code": "404"}})
    assert answer.status_code == 404
    assert answer.json()["detail"] == "No session vytxeTZskVKR7C7WgdSP3d."  # the 404's example


def test_an_unknown_example_or_status_is_a_clear_404(mock_client: httpx.Client) -> None:
    answer = mock_client.request(**_request("getCapture", headers={"Prefer": "example=nope"}))
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["error_code"] == "not_found"
    assert "no example named 'nope'" in problem["detail"]
    assert "barcode" in problem["detail"]  # names the examples there are
    answer = mock_client.request(**_request("listSessions", headers={"Prefer": "code=418"}))
    assert answer.status_code == 404
    assert "declares no 418 answer" in answer.json()["detail"]


def test_a_dynamic_preference_other_than_true_or_false_is_a_clear_400(
    mock_client: httpx.Client,
) -> None:
    """A typo (``dynamic=ture``) is said, not answered as if it were ``dynamic=false``."""
    asked = _request("getSession", headers={"Prefer": "dynamic=maybe"})
    in_query = {**_request("getSession"), "params": {"__dynamic": "1"}}
    for request in (asked, in_query):
        answer = mock_client.request(**request)
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        detail = answer.json()["detail"]
        assert detail.startswith("Mock: Prefer: dynamic takes true or false, not "), detail
    for value in ("TRUE", "false"):
        answer = mock_client.request(
            **_request("getSession", headers={"Prefer": f"dynamic={value}"})
        )
        assert answer.status_code == 200, answer.text


def test_the_declared_headers_are_sent_with_plausible_values(mock_client: httpx.Client) -> None:
    answer = mock_client.request(**_request("listSessions"))
    assert answer.headers["RateLimit-Policy"] == "100000;w=60, 10000;w=86400"
    assert 0 < int(answer.headers["RateLimit-Remaining"]) < 100000
    sign_in = mock_client.request(**_request("signIn"))
    assert sign_in.headers["Set-Cookie"].startswith("sessionid=")
    assert sign_in.headers["Cache-Control"] == "no-store"
    limited = mock_client.request(**_request("createSession", headers={"Prefer": "code=429"}))
    assert limited.headers["Retry-After"].isdigit()


def test_the_key_the_banner_prints_is_accepted(mock_client: httpx.Client, mock_dir: Path) -> None:
    banner = (mock_dir / "stdout").read_text()
    key = next(line for line in banner.splitlines() if line.startswith("API key: "))
    answer = mock_client.get("/sessions", headers={"X-API-Key": key.split()[2]})
    assert answer.status_code == 200, answer.text


def test_no_database_is_created(mock_client: httpx.Client, mock_dir: Path) -> None:
    for op_id in ("createSession", "createCapture", "registerPhoto", "signIn"):
        assert mock_client.request(**_request(op_id)).status_code < 300
    # its working directory holds what the test wrote (its output), nothing of the mock's
    assert sorted(p.name for p in mock_dir.iterdir()) == ["stderr", "stdout"]
    assert "Traceback" not in (mock_dir / "stderr").read_text()


# -- refused as the server refuses ---------------------------------------------------------

LONG_URL = "https://example.com/" + "a" * 70_000
INVALID = {
    "bad enum and metadata": (
        "POST",
        "/sessions",
        {"json": {"capture_mode": "sideways", "metadata": {"k": 5}}},
    ),
    "missing fields": ("POST", "/captures", {"json": {"capture_type": "BARCODE"}}),
    "query out of range": ("GET", "/sessions", {"params": {"page": 0, "page_size": 500}}),
    "path id malformed": ("GET", "/captures/not-an-id", {}),
    "review to PENDING": (
        "PATCH",
        "/proposals/327d5f16-2862-49f3-a1b1-57a1e9002797",
        {"json": {"status": "PENDING"}},
    ),
    "required query missing": ("GET", "/freshness-thresholds", {}),
    "unparseable JSON": (
        "POST",
        "/sessions",
        {"content": b'{"metadata": ', "headers": {"Content-Type": "application/json"}},
    ),
    "wrong media type": (
        "POST",
        "/captures",
        {"content": b"raw_value=1", "headers": {"Content-Type": "text/plain"}},
    ),
    "body too large": ("POST", "/resolve-url", {"json": {"url": LONG_URL}}),
    "form field missing": (
        "POST",
        "/captures/upload-image",
        {
            "data": {"capture_type": "IMAGE"},
            "files": {"image": ("a.jpg", b"\xff\xd8\xff", "image/jpeg")},
        },
    ),
    "broken multipart": (
        "POST",
        "/captures/upload-image",
        {
            "content": b"--x\r\nbroken",
            "headers": {"Content-Type": "multipart/form-data; boundary=x"},
        },
    ),
    "photo type unknown": (
        "POST",
        "/sessions/vytxeTZskVKR7C7WgdSP3d/photos",
        {"json": {"s3_key": "k", "photo_type": "selfie"}},
    ),
    "metadata key too long": (
        "PATCH",
        "/sessions/vytxeTZskVKR7C7WgdSP3d/photos/c9eMdvmD8feiER8do6e5hF",
        {"json": {"photo_type": "front", "metadata": {"k" * 41: "v"}}},
    ),
    # what the client prefers never lets an invalid request through
    "invalid despite Prefer": (
        "POST",
        "/sessions",
        {"json": {"capture_mode": "sideways"}, "headers": {"Prefer": "code=201"}},
    ),
    "method not allowed": ("DELETE", "/sessions", {}),
    "no such path": ("GET", "/no-such-thing", {}),
    "token malformed": (
        "GET",
        "/sessions",
        {"headers": {"X-API-Key": None, "Authorization": "Bearer cst_short_00000000"}},
    ),
    "bearer of no known shape": (
        "GET",
        "/sessions",
        {"headers": {"X-API-Key": None, "Authorization": "Bearer opaque-token"}},
    ),
    "two credentials": ("GET", "/sessions", {"headers": {"Authorization": "Bearer a.b.c"}}),
    "no credential": ("POST", "/sessions", {"json": {}, "headers": {"X-API-Key": None}}),
    "malformed key": ("POST", "/sessions", {"json": {}, "headers": {"X-API-Key": "csb_x_1"}}),
}


def _send(client: Any, key: str, method: str, path: str, options: dict[str, Any]) -> Any:
    client.cookies.clear()  # a sign-in's cookie would be a credential
    options = dict(options)
    headers = {"X-API-Key": key, **options.pop("headers", {})}
    headers = {k: v for k, v in headers.items() if v is not None}
    return client.request(method, path, headers=headers, **options)


@pytest.mark.parametrize("case", INVALID)
def test_an_invalid_request_is_refused_as_the_server_refuses_it(
    case: str, mock_client: httpx.Client, scanserve_client: Any, api_key: Any
) -> None:
    method, path, options = INVALID[case]
    real = _send(scanserve_client, api_key.key, method, BASE + path, options)
    mocked = _send(mock_client, KEY, method, path, options)
    assert real.status_code >= 400, real.text  # the case is invalid for the server too
    assert (mocked.status_code, mocked.headers["content-type"]) == (
        real.status_code,
        real.headers["content-type"],
    )
    expected, got = real.json(), mocked.json()
    for problem in (expected, got):
        del problem["timestamp"]
    assert got == expected


# -- dynamic answers -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def dynamic_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    for base in _start(tmp_path_factory.mktemp("mock") / "dynamic", "--dynamic", "--seed", "7"):
        with httpx.Client(base_url=base, timeout=30) as client:
            yield client


@pytest.mark.parametrize("op_id", IDS)
def test_dynamic_answers_are_valid(dynamic_client: httpx.Client, op_id: str) -> None:
    op = next(o for o in OPERATIONS if o[0] == op_id)[3]
    for status in op["responses"]:
        for prefer in ({}, {"Prefer": f"code={status}"}):
            answer = dynamic_client.request(**_request(op_id, headers=prefer))
            if prefer:
                assert answer.status_code == int(status), answer.text
            _check_against_contract(op, answer)
            if not prefer:
                break


def _answers(app: Any) -> list[Any]:
    with app.test_client() as client:
        return [
            client.request(**{**_request(op_id), "url": BASE + _request(op_id)["url"]}).content
            for op_id in IDS
            for _ in range(2)
        ]


def test_dynamic_answers_come_from_the_seed(tmp_path: Path) -> None:
    from scanserve.app import create_mock_app
    from scanserve.settings import Settings

    settings = Settings(data_dir=tmp_path / "data")
    first = _answers(create_mock_app(settings, dynamic=True, seed=7))
    assert _answers(create_mock_app(settings, dynamic=True, seed=7)) == first
    other = _answers(create_mock_app(settings, dynamic=True, seed=8))
    assert other != first
    assert first[0] != first[1]  # two answers of one operation differ
    assert not (tmp_path / "data").exists()


def test_prefer_dynamic_overrides_the_flag(mock_client: httpx.Client) -> None:
    example = mock_client.request(**_request("getSession")).json()
    generated = mock_client.request(**_request("getSession", headers={"Prefer": "dynamic=true"}))
    op = SPEC["paths"]["/sessions/{id}"]["get"]
    _check_against_contract(op, generated)
    assert generated.json() != example
