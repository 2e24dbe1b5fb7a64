"""``scanserve sandbox`` as a client's CI meets it: a live process on a free port, over HTTP.

One scripted client journey (a session, captures of every type, an image upload, a photo by
presigned upload, status, detail, freshness, URL resolving, extraction's proposals, errors,
an idempotent replay) is run twice against one sandbox with a reset between, once against a
second sandbox of the same seed, and once against a sandbox of another seed: the same seed
answers the same bytes, another seed other ids. Then the controls: reset, the clock, each
forced outcome, bad input; and the pytest plugin from a throwaway client project.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import cli_fork
import httpx
import pytest
from cli_runner import banner_and_base
from image_bodies import image

from scanserve.domain.sandbox import START
from scanserve.sandbox import SandboxServer, running_sandbox

CATALOG_GTIN = "4006381333931"  # in the demo catalog
UNKNOWN_GTIN = "5901234123457"  # in no catalog
IGNORED_HEADERS = {"date", "server", "x-request-id"}  # a request id is per request
Answer = tuple[str, int, list[tuple[str, str]], bytes]


@pytest.fixture(scope="module")
def sandbox7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    log = tmp_path_factory.mktemp("sandbox7") / "sandbox.log"
    with open(log, "w") as out, running_sandbox(7, log=out) as server:
        yield server


@pytest.fixture
def sandbox(sandbox7: SandboxServer) -> SandboxServer:
    sandbox7.reset()
    return sandbox7


def journey(server: SandboxServer) -> list[Answer]:
    """A client's scripted run: every answer as (step, status, headers, body bytes)."""
    base = server.base_url
    answers: list[Answer] = []
    with httpx.Client(headers={"X-API-Key": server.business_key}, timeout=60) as http:

        def send(step: str, method: str, url: str, **kwargs: Any) -> Any:
            response = http.request(method, url, **kwargs)
            headers = [(k, v) for k, v in response.headers.items() if k not in IGNORED_HEADERS]
            answers.append((step, response.status_code, headers, response.content))
            return response.json() if response.content else None

        session = send(
            "session",
            "POST",
            f"{base}/sessions",
            json={"capture_mode": "both", "metadata": {"store": "ci"}},
        )
        sid = session["id"]
        captures = [
            send("capture " + label, "POST", f"{base}/captures", json={"session_id": sid, **body})
            for label, body in (
                ("catalog", {"capture_type": "BARCODE", "raw_value": CATALOG_GTIN}),
                ("unknown", {"capture_type": "BARCODE", "raw_value": UNKNOWN_GTIN}),
                ("manual", {"capture_type": "MANUAL", "raw_value": CATALOG_GTIN}),
                (
                    "digital link",
                    {
                        "capture_type": "BARCODE",
                        "raw_value": f"https://id.gs1.org/01/0{CATALOG_GTIN}/10/LOT1",
                    },
                ),
                ("url", {"capture_type": "BARCODE", "raw_value": "https://example.com/p/1"}),
            )
        ]
        captures.append(
            send(
                "capture image",
                "POST",
                f"{base}/captures/upload-image",
                data={"session_id": sid},
                files={"image": ("shelf.png", image("ean13", "PNG"), "image/png")},
            )
        )
        send(
            "replayed capture",
            "POST",
            f"{base}/captures",
            json={"session_id": sid, "capture_type": "BARCODE", "raw_value": CATALOG_GTIN},
            headers={"Idempotency-Key": "journey-1"},
        )
        send(
            "replayed capture again",
            "POST",
            f"{base}/captures",
            json={"session_id": sid, "capture_type": "BARCODE", "raw_value": CATALOG_GTIN},
            headers={"Idempotency-Key": "journey-1"},
        )
        send("status", "GET", f"{base}/sessions/{sid}/status")
        for capture in captures:
            send("capture read", "GET", f"{base}/captures/{capture['id']}")
        target = send(
            "presigned upload",
            "GET",
            f"{base}/sessions/{sid}/presigned-upload-url",
            params={"photo_type": "front", "original_filename": "front.jpg"},
        )
        send(
            "upload",
            "POST",
            target["upload_url"],
            data=target["upload_fields"],
            files={"file": ("front.jpg", image("plain", "JPEG"), "image/jpeg")},
        )
        send(
            "photo",
            "POST",
            f"{base}/sessions/{sid}/photos",
            json={
                "s3_key": target["s3_key"],
                "photo_type": "front",
                "original_filename": "front.jpg",
                "capture_short_id": captures[0]["id"],
            },
        )
        send("freshness", "GET", f"{base}/freshness-thresholds", params={"gtin": CATALOG_GTIN})
        send("resolve", "POST", f"{base}/resolve-url", json={"url": "https://example.com/r"})
        send("missing", "GET", f"{base}/captures/{'2' * 22}")
        send("invalid", "POST", f"{base}/captures", json={"session_id": sid})
        send("submit", "POST", f"{base}/sessions/{sid}/submit")
        send("proposals", "GET", f"{base}/captures/{captures[0]['id']}/proposals")
        send("detail", "GET", f"{base}/sessions/{sid}")
        send("end", "POST", f"{base}/sessions/{sid}/end")
        send("list", "GET", f"{base}/sessions")
    return answers


def _origin(server: SandboxServer) -> bytes:
    return server.base_url.split("/scanner/")[0].encode()


def _without_origin(answers: list[Answer], server: SandboxServer) -> list[Answer]:
    """The answers with this sandbox's own ``http://127.0.0.1:PORT`` (upload URLs name it)
    written as ``ORIGIN``: two processes listen on two ports."""
    origin = _origin(server)
    return [
        (step, status, headers, body.replace(origin, b"ORIGIN"))
        for step, status, headers, body in answers
    ]


def _ids(answers: list[Answer]) -> set[str]:
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "id" and isinstance(item, str):
                    found.add(item)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for _, _, _, body in answers:
        if body:
            walk(json.loads(body))
    return found


def test_the_journey_answers_as_a_client_expects(sandbox):
    answers = {step: (status, body) for step, status, _, body in journey(sandbox)}
    statuses = {step: status for step, (status, _) in answers.items()}
    assert statuses["session"] == 201
    assert statuses["missing"] == 404 and statuses["invalid"] == 422
    assert statuses["upload"] in (200, 201, 204) and statuses["photo"] == 201
    detail = json.loads(answers["detail"][1])
    by_value = {c["raw_value"]: c for c in detail["captures"]}
    # the pipeline ran before each answer: no capture is still on its way
    assert by_value[CATALOG_GTIN]["status"] == "COMPLETED"
    assert by_value[UNKNOWN_GTIN]["status"] == "NOT_FOUND"
    assert {c["status"] for c in detail["captures"]} <= {"COMPLETED", "NOT_FOUND"}
    assert detail["photo_count"] == 1
    # everything happened at the clock's fixed start
    assert json.loads(answers["session"][1])["created"] == "2026-01-01T09:00:00Z"
    assert json.loads(answers["missing"][1])["timestamp"].startswith("2026-01-01T09:00:00")
    # nothing was fetched: the URL's analysis is the URL's own
    resolved = json.loads(answers["resolve"][1])
    assert resolved == {
        "initial_url": "https://example.com/r",
        "final_url": "https://example.com/r",
        "hops": 0,
        "error_message": "",
        "succeeded": True,
        "chain": [],
    }


def test_the_same_seed_answers_the_same_bytes(sandbox7, tmp_path):
    sandbox7.reset()
    first = journey(sandbox7)
    sandbox7.reset()
    again = journey(sandbox7)
    # one process, reset between the runs: byte for byte, headers and all (but Date, Server)
    assert again == first
    assert len(_ids(first)) >= 9  # the session, its captures, the photo

    # another process of the same seed, on another port
    with open(tmp_path / "other.log", "w") as log, running_sandbox(7, log=log) as other:
        assert other.business_key == sandbox7.business_key
        elsewhere = journey(other)
        assert _without_origin(elsewhere, other) == _without_origin(first, sandbox7)

    # another seed: other ids, other credentials
    with open(tmp_path / "seed8.log", "w") as log, running_sandbox(8, log=log) as seed8:
        assert seed8.business_key != sandbox7.business_key
        assert seed8.access_token != sandbox7.access_token
        different = journey(seed8)
    assert [(step, status) for step, status, _, _ in different] == [
        (step, status) for step, status, _, _ in first
    ]
    assert not _ids(different) & _ids(first)


def test_the_banner_names_the_credentials_and_they_work(sandbox):
    assert any(line.startswith("Ready in ") for line in sandbox.banner)
    state = sandbox.state()
    assert state["seed"] == 7
    assert state["credentials"] == {
        "business_key": sandbox.business_key,
        "publishable_key": sandbox.publishable_key,
        "access_token": sandbox.access_token,
    }
    for headers in (
        {"X-API-Key": sandbox.business_key},
        {"X-API-Key": sandbox.publishable_key},
        {"Authorization": f"Bearer {sandbox.access_token}"},
    ):
        created = httpx.post(f"{sandbox.base_url}/sessions", json={}, headers=headers)
        assert created.status_code == 201, (headers, created.text)


def test_reset_clears_everything_and_draws_the_same_ids_again(sandbox):
    headers = {"X-API-Key": sandbox.business_key}
    base = sandbox.base_url
    first = httpx.post(f"{base}/sessions", json={}, headers=headers).json()
    second = httpx.post(f"{base}/sessions", json={}, headers=headers).json()
    sandbox.force("lookup", "failed")
    sandbox.advance_clock(3600)
    sandbox.reset()
    assert httpx.get(f"{base}/sessions", headers=headers).json()["data"] == []
    assert httpx.get(f"{base}/sessions/{first['id']}", headers=headers).status_code == 404
    state = sandbox.state()
    assert state["now"] == "2026-01-01T09:00:00Z"
    assert state["outcomes"] == {"lookup": [], "resolve": [], "extract": []}
    # the same ids again, in the same order, and the forced failure forgotten
    again = httpx.post(f"{base}/sessions", json={}, headers=headers).json()
    assert again["id"] == first["id"] and again != second
    capture = httpx.post(
        f"{base}/captures",
        json={"session_id": again["id"], "capture_type": "BARCODE", "raw_value": CATALOG_GTIN},
        headers=headers,
    ).json()
    assert _capture(sandbox, capture["id"])["status"] == "COMPLETED"


def test_the_clock_moves_only_when_told(sandbox):
    headers = {"X-API-Key": sandbox.business_key}
    base = sandbox.base_url
    before = httpx.post(f"{base}/sessions", json={}, headers=headers).json()
    still = httpx.post(f"{base}/sessions", json={}, headers=headers).json()
    assert before["created"] == still["created"] == "2026-01-01T09:00:00Z"

    assert sandbox.advance_clock(90) == "2026-01-01T09:01:30Z"
    later = httpx.post(f"{base}/sessions", json={}, headers=headers)
    assert later.json()["created"] == "2026-01-01T09:01:30Z"
    assert later.headers["X-RateLimit-Reset"] == str(int(START.timestamp()) + 90 + 60)

    assert sandbox.advance_clock(to="2026-03-01T00:00:00Z") == "2026-03-01T00:00:00Z"
    missing = httpx.get(f"{base}/captures/{'2' * 22}", headers=headers).json()
    assert missing["timestamp"].startswith("2026-03-01T00:00:00")
    # a touched session's modified time follows the clock too
    ended = httpx.post(f"{base}/sessions/{before['id']}/end", headers=headers).json()
    assert ended["modified"] == "2026-03-01T00:00:00Z"
    assert ended["created"] == "2026-01-01T09:00:00Z"


def test_a_presigned_upload_expires_when_the_clock_passes_it(sandbox):
    headers = {"X-API-Key": sandbox.business_key}
    base = sandbox.base_url
    sid = httpx.post(f"{base}/sessions", json={}, headers=headers).json()["id"]

    def presigned() -> dict[str, Any]:
        answer = httpx.get(
            f"{base}/sessions/{sid}/presigned-upload-url",
            params={"photo_type": "front", "original_filename": "f.jpg"},
            headers=headers,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def upload(target: dict[str, Any]) -> httpx.Response:
        return httpx.post(
            target["upload_url"],
            data=target["upload_fields"],
            files={"file": ("f.jpg", image("plain", "JPEG"), "image/jpeg")},
        )

    target = presigned()
    sandbox.advance_clock(target["expires_in"] + 1)
    late = upload(target)
    assert late.status_code == 403, late.text
    assert "expired" in late.json()["detail"]
    assert upload(presigned()).status_code in (200, 201, 204)


def _capture(server: SandboxServer, short_id: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{server.base_url}/captures/{short_id}", headers={"X-API-Key": server.business_key}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _scan(server: SandboxServer, raw_value: str) -> dict[str, Any]:
    headers = {"X-API-Key": server.business_key}
    sid = httpx.post(f"{server.base_url}/sessions", json={}, headers=headers).json()["id"]
    created = httpx.post(
        f"{server.base_url}/captures",
        json={"session_id": sid, "capture_type": "BARCODE", "raw_value": raw_value},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    return _capture(server, created.json()["id"])


@pytest.mark.parametrize(
    ("gtin", "outcome", "status", "product", "error"),
    [
        (CATALOG_GTIN, None, "COMPLETED", "Stabilo Boss Original Highlighter Yellow", ""),
        (UNKNOWN_GTIN, None, "NOT_FOUND", None, ""),
        (UNKNOWN_GTIN, "found", "COMPLETED", f"Sandbox product 0{UNKNOWN_GTIN}", ""),
        (UNKNOWN_GTIN, "not_found", "NOT_FOUND", None, ""),
        (UNKNOWN_GTIN, "failed", "FAILED", None, "lookup failed"),
        (UNKNOWN_GTIN, "timeout", "FAILED", None, "no answer within"),
        # a GTIN the catalog holds: with no lookup answering, the pipeline takes the stored
        # copy, as the server always does (docs/sandbox.md)
        (CATALOG_GTIN, "failed", "COMPLETED", "Stabilo Boss Original Highlighter Yellow", ""),
    ],
)
def test_a_forced_lookup_outcome_shows_in_the_capture(
    sandbox, gtin, outcome, status, product, error
):
    if outcome is not None:
        sandbox.force("lookup", outcome)
    capture = _scan(sandbox, gtin)
    assert capture["status"] == status, capture
    assert capture.get("product_name") == product
    assert error in capture.get("error_message", "")
    # only the next lookup: the one after answers as the catalog does
    assert sandbox.state()["outcomes"]["lookup"] == []
    assert _scan(sandbox, CATALOG_GTIN)["status"] == "COMPLETED"


@pytest.mark.parametrize(
    ("outcome", "status", "succeeded", "error"),
    [
        (None, "COMPLETED", True, ""),
        ("found", "COMPLETED", True, ""),
        ("not_found", "COMPLETED", True, ""),
        ("failed", "FAILED", False, "resolve failed"),
        ("timeout", "FAILED", False, "resolve timeout"),
    ],
)
def test_a_forced_resolve_outcome_shows_in_the_capture_and_the_resolve(
    sandbox, outcome, status, succeeded, error
):
    url = "https://example.com/p/7"
    if outcome is not None:
        sandbox.force("resolve", outcome, times=2)
    capture = _scan(sandbox, url)
    assert capture["status"] == status, capture
    assert error in capture.get("error_message", "")
    resolved = httpx.post(
        f"{sandbox.base_url}/resolve-url",
        json={"url": url},
        headers={"X-API-Key": sandbox.business_key},
    ).json()
    assert resolved["succeeded"] is succeeded
    assert error in resolved["error_message"]


def test_a_forced_resolve_of_a_digital_link_decides_its_gtin(sandbox):
    # a Digital Link names its GTIN; the capture's product comes from it either way, and the
    # forced outcome shows in its URL analysis
    sandbox.force("resolve", "failed")
    capture = _scan(sandbox, f"https://id.gs1.org/01/0{CATALOG_GTIN}")
    assert capture["status"] == "COMPLETED"
    assert "resolve failed" in capture["qr_analysis"]["error_message"]


@pytest.mark.parametrize(
    ("outcome", "proposals", "failures"),
    [("found", 1, 0), ("not_found", 0, 0), ("failed", 0, 1), ("timeout", 0, 1)],
)
def test_a_forced_extract_outcome_shows_in_the_proposals(sandbox, outcome, proposals, failures):
    headers = {"X-API-Key": sandbox.business_key}
    base = sandbox.base_url
    sid = httpx.post(f"{base}/sessions", json={}, headers=headers).json()["id"]
    capture = httpx.post(
        f"{base}/captures",
        json={"session_id": sid, "capture_type": "BARCODE", "raw_value": CATALOG_GTIN},
        headers=headers,
    ).json()
    # a photo for the barcode extractor: the first extractor call, on the photo
    target = httpx.get(
        f"{base}/sessions/{sid}/presigned-upload-url",
        params={"photo_type": "barcode", "original_filename": "b.jpg"},
        headers=headers,
    ).json()
    uploaded = httpx.post(
        target["upload_url"],
        data=target["upload_fields"],
        files={"file": ("b.jpg", image("plain", "JPEG"), "image/jpeg")},
    )
    assert uploaded.status_code in (200, 201, 204), uploaded.text
    photo = httpx.post(
        f"{base}/sessions/{sid}/photos",
        json={
            "s3_key": target["s3_key"],
            "photo_type": "barcode",
            "original_filename": "b.jpg",
            "capture_short_id": capture["id"],
        },
        headers=headers,
    )
    assert photo.status_code == 201, photo.text
    sandbox.force("extract", outcome)
    submitted = httpx.post(f"{base}/sessions/{sid}/submit", headers=headers)
    assert submitted.status_code == 200, submitted.text
    status = httpx.get(f"{base}/sessions/{sid}/status", headers=headers).json()
    assert status["extraction_status"] == "ready", status
    assert len(status["extraction_failures"]) == failures, status
    assert sandbox.state()["outcomes"]["extract"] == []
    listed = httpx.get(f"{base}/captures/{capture['id']}/proposals", headers=headers).json()
    drafts = [p for p in listed if p["source"] == "sandbox"]
    assert len(drafts) == proposals, listed
    if proposals:
        assert drafts[0]["field_name"] == "description"
        assert drafts[0]["status"] == "PENDING"
        assert drafts[0]["created"] == "2026-01-01T09:00:00Z"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "pointer"),
    [
        ("POST", "/clock", {"advance_seconds": -1}, 422, "/advance_seconds"),
        ("POST", "/clock", {"advance_seconds": True}, 422, "/advance_seconds"),
        ("POST", "/clock", {"to": "tomorrow"}, 422, "/to"),
        ("POST", "/clock", {"to": "2026-01-02T00:00:00"}, 422, "/to"),
        ("POST", "/clock", {}, 422, "/"),
        ("POST", "/clock", {"advance_seconds": 1, "to": "2027-01-01T00:00:00Z"}, 422, "/"),
        ("POST", "/clock", {"to": "2025-01-01T00:00:00Z"}, 409, None),
        # beyond what datetime can hold, or so near its end that adding a day overflows
        ("POST", "/clock", {"advance_seconds": 1e308}, 422, "/advance_seconds"),
        ("POST", "/clock", {"advance_seconds": 10**26}, 422, "/advance_seconds"),
        ("POST", "/clock", {"to": "9999-12-31T23:59:59Z"}, 422, "/to"),
        ("POST", "/outcomes", {"kind": "lookup", "outcome": "maybe"}, 422, "/outcome"),
        ("POST", "/outcomes", {"kind": "photo", "outcome": "found"}, 422, "/kind"),
        ("POST", "/outcomes", {"kind": "lookup", "outcome": "found", "times": 0}, 422, "/times"),
        ("POST", "/outcomes", ["lookup"], 422, "/"),
        ("POST", "/reset", {"seed": 3}, 422, "/seed"),
        ("PUT", "/reset", None, 405, None),
        ("GET", "/nothing", None, 404, None),
    ],
)
def test_bad_control_input_is_a_problem_document(sandbox, method, path, body, status, pointer):
    answer = httpx.request(method, sandbox.control_url + path, json=body)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == status
    if pointer is not None:
        assert [e["pointer"] for e in problem["errors"]] == [pointer]
    if status == 405:
        assert answer.headers["allow"] == "POST"
    # nothing was changed by a refused call
    assert sandbox.state()["now"] == "2026-01-01T09:00:00Z"
    assert sandbox.state()["outcomes"] == {"lookup": [], "resolve": [], "extract": []}


def test_a_body_that_is_no_json_is_a_400(sandbox):
    answer = httpx.post(sandbox.control_url + "/clock", content=b"{nope")
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "bad_request"


def test_the_control_endpoints_are_not_there_outside_the_sandbox(tmp_path):
    serve = [*cli_fork.COMMAND, "serve"]
    env_data = tmp_path / "data"
    with cli_fork.Popen(
        [*serve, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**_env(), "SCANSERVE_DATA_DIR": str(env_data)},
    ) as proc:
        try:
            _, base = banner_and_base(proc)
            root = base.split("/scanner/")[0]
            for method, path in (
                ("GET", "/_sandbox"),
                ("POST", "/_sandbox/reset"),
                ("POST", "/_sandbox/clock"),
                ("POST", "/_sandbox/outcomes"),
            ):
                answer = httpx.request(method, root + path, json={"advance_seconds": 1})
                assert answer.status_code == 404, (path, answer.text)
                assert answer.headers["content-type"] == "application/problem+json"
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _env() -> dict[str, str]:
    return {**os.environ, "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false"}


CLIENT_TESTS = textwrap.dedent(
    """
    import httpx


    def _session(sandbox):
        answer = httpx.post(
            f"{sandbox.base_url}/sessions", json={}, headers={"X-API-Key": sandbox.business_key}
        )
        assert answer.status_code == 201, answer.text
        return answer.json()


    def test_one(scanserve_sandbox):
        first = _session(scanserve_sandbox)
        print("ID", first["id"], first["created"])
        _session(scanserve_sandbox)
        scanserve_sandbox.advance_clock(60)
        scanserve_sandbox.force("lookup", "failed")


    def test_two(scanserve_sandbox):
        # reset before this test: the first id again, the clock at its start, nothing forced
        first = _session(scanserve_sandbox)
        print("ID", first["id"], first["created"])
        assert scanserve_sandbox.state()["outcomes"]["lookup"] == []
    """
)


def test_the_pytest_plugin_gives_a_client_project_a_reset_sandbox(tmp_path):
    project = tmp_path / "client"
    project.mkdir()
    (project / "test_client.py").write_text(CLIENT_TESTS, encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"]
    ran = subprocess.run(
        [*command, "-p", "scanserve.sandbox", "--sandbox-seed", "11"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=240,
        env=_env(),
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "2 passed" in ran.stdout
    ids = re.findall(r"ID (\S+) (\S+)", ran.stdout)
    assert len(ids) == 2 and ids[0] == ids[1], ran.stdout
    assert ids[0][1] == "2026-01-01T09:00:00Z"

    # not loaded unless asked: without -p the fixture does not exist
    plain = subprocess.run(
        command,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=240,
        env=_env(),
        check=False,
    )
    assert plain.returncode != 0
    assert "fixture 'scanserve_sandbox' not found" in plain.stdout
