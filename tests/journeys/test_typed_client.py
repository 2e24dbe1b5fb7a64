"""The typed client (scanserve.generated.client) against a live ``scanserve sandbox``, as a
client project's CI would run it (docs/sandbox.md).

Only the client talks to the server: the example of docs/client.md runs as written (its base
URL and key replaced by this server's) and prints what the page shows, and the journey below
walks a session, a scan of a demo catalog GTIN, the polling, the capture and the problem
documents of bad requests, each answer parsed into the model the spec names for its status.
"""

from __future__ import annotations

import datetime
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import shortuuid

from scanserve.generated.client import AuthenticatedClient, Client
from scanserve.generated.client.api.scanner_captures import create_capture, get_capture
from scanserve.generated.client.api.scanner_sessions import (
    create_session,
    end_session,
    get_session,
    get_session_status,
)
from scanserve.generated.client.models import (
    CaptureCreateRequest,
    CaptureModeEnum,
    CaptureResponse,
    CaptureStatusEnum,
    CaptureTypeEnum,
    Problem,
    ProblemErrorCode,
    SessionCreateRequest,
    SessionDetail,
    SessionResponse,
    SessionStatusEnum,
    SessionStatusResponse,
)
from scanserve.sandbox import SandboxServer, running_sandbox

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "client.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
DEMO_GTIN = "4006381333931"  # in the demo catalog (scanserve/demo/demo_catalog.csv)
TERMINAL = {CaptureStatusEnum.COMPLETED, CaptureStatusEnum.NOT_FOUND, CaptureStatusEnum.FAILED}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """``scanserve sandbox`` on a free port, with the test credentials of its seed."""
    log = tmp_path_factory.mktemp("typed-client") / "sandbox.log"
    with open(log, "w") as out, running_sandbox(20, log=out) as server:
        yield server


@pytest.fixture
def server(sandbox: SandboxServer) -> tuple[str, str]:
    """The sandbox, reset to its seeded start: its base URL and business key."""
    sandbox.reset()
    return sandbox.base_url, sandbox.business_key


@pytest.fixture
def client(server: tuple[str, str]) -> Iterator[AuthenticatedClient]:
    base, key = server
    with AuthenticatedClient(
        base_url=base, token=key, auth_header_name="X-API-Key", prefix=""
    ) as client:
        yield client


def test_the_page_example_runs_as_written(server, tmp_path):
    base, key = server
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    languages = [language for language, _ in blocks]
    example = blocks[languages.index("python")][1]
    shown = blocks[languages.index("python") + 1]
    assert shown[0] == "text", "the page shows what its example prints right after it"
    # the page's placeholders, and only them, become this server's base URL and key
    assert example.count('BASE = "http://127.0.0.1:8000/scanner/api/v1"\n') == 1
    assert example.count('KEY = "csb_..."') == 1
    script = example.replace(
        'BASE = "http://127.0.0.1:8000/scanner/api/v1"', f"BASE = {base!r}"
    ).replace('KEY = "csb_..."', f"KEY = {key!r}")
    (tmp_path / "example.py").write_text(script, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(tmp_path / "example.py")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == shown[1]


def test_a_session_and_a_scan_through_the_typed_client(client):
    session = create_session.sync(
        client=client,
        body=SessionCreateRequest(capture_mode=CaptureModeEnum.BARCODE_SCAN, user_agent="typed/1"),
    )
    assert isinstance(session, SessionResponse), session
    assert session.status is SessionStatusEnum.ACTIVE
    assert session.capture_mode is CaptureModeEnum.BARCODE_SCAN
    assert isinstance(session.created, datetime.datetime) and session.created.tzinfo

    created = create_capture.sync_detailed(
        client=client,
        body=CaptureCreateRequest(
            session_id=session.id, capture_type=CaptureTypeEnum.BARCODE, raw_value=DEMO_GTIN
        ),
    )
    assert created.status_code == 201
    capture = created.parsed
    assert isinstance(capture, CaptureResponse), capture
    assert capture.session_id == session.id
    assert capture.gtin == "0" + DEMO_GTIN

    # the sandbox runs the pipeline before it answers: the capture is done already
    assert capture.status is CaptureStatusEnum.COMPLETED
    status = get_session_status.sync(session.id, client=client)
    assert isinstance(status, SessionStatusResponse), status
    assert [summary.id for summary in status.captures] == [capture.id]
    assert status.captures[0].status in TERMINAL
    assert status.captures[0].status is CaptureStatusEnum.COMPLETED

    # the capture by its UUID form: the client takes a str or a UUID for an id
    read = get_capture.sync(shortuuid.decode(capture.id), client=client)
    assert isinstance(read, CaptureResponse), read
    assert read.id == capture.id
    assert read.status is CaptureStatusEnum.COMPLETED
    assert read.product_name == "Stabilo Boss Original Highlighter Yellow"
    # the sandbox's clock stands at its start
    assert read.processed_at == datetime.datetime(2026, 1, 1, 9, tzinfo=datetime.UTC)

    detail = get_session.sync(session.id, client=client)
    assert isinstance(detail, SessionDetail), detail
    assert [c.id for c in detail.captures] == [capture.id]
    assert detail.capture_count == 1

    ended = end_session.sync(session.id, client=client)
    assert isinstance(ended, SessionResponse), ended
    assert ended.status is SessionStatusEnum.COMPLETED
    # a session no longer ACTIVE takes no capture: 409, typed
    late = create_capture.sync(
        client=client,
        body=CaptureCreateRequest(
            session_id=session.id, capture_type=CaptureTypeEnum.BARCODE, raw_value=DEMO_GTIN
        ),
    )
    assert isinstance(late, Problem), late
    assert late.status == 409
    assert late.error_code is ProblemErrorCode.CONFLICT


def test_problem_documents_come_back_typed(client, server):
    invalid = create_capture.sync_detailed(
        client=client,
        body=CaptureCreateRequest(
            session_id="not-an-id", capture_type=CaptureTypeEnum.BARCODE, raw_value=DEMO_GTIN
        ),
    )
    assert invalid.status_code == 422
    assert invalid.headers["content-type"].startswith("application/problem+json")
    problem = invalid.parsed
    assert isinstance(problem, Problem), problem
    assert problem.error_code is ProblemErrorCode.VALIDATION_ERROR
    assert problem.retryable is False
    assert [error.pointer for error in problem.errors] == ["/session_id"]
    assert isinstance(problem.timestamp, datetime.datetime)

    missing = get_capture.sync("2" * 22, client=client)
    assert isinstance(missing, Problem), missing
    assert (missing.status, missing.error_code) == (404, ProblemErrorCode.NOT_FOUND)

    # no credential at all: createCapture is typed as taking a plain Client (the generator
    # reads only an operation's own security; docs/client.md), and the server answers 401,
    # a problem document too
    base, _ = server
    with Client(base_url=base) as anonymous:
        refused = create_capture.sync(
            client=anonymous,
            body=CaptureCreateRequest(
                session_id="2" * 22, capture_type=CaptureTypeEnum.BARCODE, raw_value=DEMO_GTIN
            ),
        )
    assert isinstance(refused, Problem), refused
    assert (refused.status, refused.error_code) == (401, ProblemErrorCode.UNAUTHORIZED)


def test_a_forced_failure_comes_back_typed(client, sandbox):
    # the sandbox's control makes the next lookup fail: the client's error path, typed
    session = create_session.sync(client=client, body=SessionCreateRequest())
    assert isinstance(session, SessionResponse), session
    sandbox.force("lookup", "failed")
    failed = create_capture.sync(
        client=client,
        body=CaptureCreateRequest(
            session_id=session.id, capture_type=CaptureTypeEnum.BARCODE, raw_value="5901234123457"
        ),
    )
    assert isinstance(failed, CaptureResponse), failed
    assert failed.status is CaptureStatusEnum.FAILED
    assert "lookup failed" in failed.error_message
