"""``scanserve proxy`` as a user runs it: in front of a live ``scanserve serve`` it finds
nothing; in front of a server that drops a required field it names the violation in the
answer's header, the NDJSON and the JUnit XML, and exits 1 at SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import httpx
import yaml
from cli_fork import run_command
from image_bodies import image
from live_server import base_url, live_scanserve, running
from loopback import LoopbackServer, Route, served_port

from scanserve.app import spec_path

BASE = "/scanner/api/v1"
RATE_LIMIT_HEADERS = {
    "RateLimit-Policy": "300;w=60",
    "RateLimit-Limit": "300",
    "RateLimit-Remaining": "299",
    "RateLimit-Reset": "60",
    "X-RateLimit-Limit": "300",
    "X-RateLimit-Remaining": "299",
    "X-RateLimit-Reset": "1796581130",
    "X-Request-ID": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
}


def stop(proc: subprocess.Popen[bytes], how: int = signal.SIGTERM) -> int:
    proc.send_signal(how)
    return proc.wait(timeout=30)


def proxy_args(upstream: str, tmp_path: Path) -> list[str]:
    return [
        "proxy",
        "--upstream",
        upstream,
        "--port",
        "0",
        "--ndjson",
        str(tmp_path / "violations.ndjson"),
        "--junit-xml",
        str(tmp_path / "proxy.xml"),
    ]


def junit_cases(path: Path) -> dict[str, ET.Element]:
    return {case.get("name", ""): case for case in ET.parse(path).getroot().iter("testcase")}


def test_in_front_of_scanserve_the_proxy_finds_nothing_over_the_whole_journey(tmp_path):
    with live_scanserve(tmp_path) as (server, key, key2):
        out = tmp_path / "proxy.out"
        with running(proxy_args(server.removesuffix(BASE), tmp_path), out) as proc:
            base = base_url(proc, out)
            # the contract's journey (scanserve conformance without its schemathesis part),
            # refusals of invalid requests and other organisations' ids included
            journey = run_command(
                ["conformance", base, "--key", key, "--key2", key2, "--seconds", "0"],
                dict(os.environ),
                timeout=280,
            )
            assert journey.returncode == 0, journey.stdout + journey.stderr
            with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as http:
                sid = http.post("/sessions", json={}).json()["id"]
                upload = http.post(  # a real barcode picture, multipart, streamed through
                    "/captures/upload-image",
                    data={"session_id": sid},
                    files={"image": ("shelf.png", image("ean13", "PNG"), "image/png")},
                )
            assert upload.status_code == 201, upload.text
            assert "x-scanserve-violation" not in upload.headers
            # Ctrl-C, as a user at a terminal stops it
            assert stop(proc, signal.SIGINT) == 0, out.with_suffix(".err").read_text()
    assert (tmp_path / "violations.ndjson").read_text() == ""
    assert "0 violation(s)" in out.read_text()
    cases = junit_cases(tmp_path / "proxy.xml")
    # every operation of the journey went through the proxy (receiveUpload goes to the
    # upload URL the server hands out, its own address)
    assert len(cases) >= 20, sorted(cases)
    assert {"createCapture", "uploadCaptureImage", "signOut", "reviewProposal"} - {
        "reviewProposal"
    } <= set(cases)
    assert not [name for name, case in cases.items() if case.find("failure") is not None]


def capture_without_status() -> dict:
    spec = yaml.load(spec_path().read_text(), Loader=yaml.CSafeLoader)
    answer = spec["paths"]["/captures/{id}"]["get"]["responses"]["200"]
    example = dict(answer["content"]["application/json"]["examples"]["barcode"]["value"])
    del example["status"]
    return example


def test_a_planted_violation_is_named_in_the_header_the_ndjson_and_the_junit_xml(tmp_path):
    broken = capture_without_status()
    capture_id = broken["id"]
    routes = {
        f"{BASE}/captures/{capture_id}": Route(
            200,
            {**RATE_LIMIT_HEADERS, "Content-Type": "application/json"},
            json.dumps(broken).encode(),
        )
    }
    with LoopbackServer(routes) as upstream:
        out = tmp_path / "proxy.out"
        with running(proxy_args(upstream.url("").rstrip("/"), tmp_path), out) as proc:
            base = base_url_of_proxy(proc, out)
            answer = httpx.get(f"{base}/captures/{capture_id}", headers={"X-API-Key": "x"})
            unknown = httpx.get(f"{base}/no-such-thing")
            code = stop(proc)
    assert answer.status_code == 200
    assert answer.json() == broken  # passed on as the upstream gave it
    assert answer.headers.get_list("X-Scanserve-Violation") == [
        "response.body: 'status' is a required property"
    ]
    assert unknown.headers["X-Scanserve-Violation"].startswith("request.path: ")
    assert code == 1
    records = [
        json.loads(line) for line in (tmp_path / "violations.ndjson").read_text().splitlines()
    ]
    assert {
        "operationId": "getCapture",
        "method": "GET",
        "path": f"{BASE}/captures/{capture_id}",
        "status": 200,
        "where": "response.body",
        "message": "'status' is a required property",
    } in records
    assert [r["where"] for r in records if r["operationId"] == "(unknown operation)"] == [
        "request.path"
    ]
    failure = junit_cases(tmp_path / "proxy.xml")["getCapture"].find("failure")
    assert failure is not None
    assert "'status' is a required property" in failure.get("message", "")
    assert "2 violation(s)" in out.read_text()


def base_url_of_proxy(proc: subprocess.Popen[bytes], out: Path) -> str:
    """The proxy's base URL (its upstream here has no health probe to wait on)."""
    return f"http://127.0.0.1:{served_port(proc, out)}{BASE}"


def test_the_base_url_given_as_upstream_is_refused_naming_the_origin(tmp_path):
    # what serve prints as "Base URL:" would send every request to the base path twice
    refused = run_command(proxy_args(f"http://127.0.0.1:9{BASE}/", tmp_path), dict(os.environ))
    assert refused.returncode == 2, refused.stderr
    assert "not its base URL" in refused.stderr
    assert "try --upstream http://127.0.0.1:9)" in refused.stderr
    assert not (tmp_path / "violations.ndjson").exists()
