"""``scanserve conformance`` as a user runs it: against a live ``scanserve serve`` the journey
and a short schemathesis run pass; against a server that drops a required field it fails,
naming the operation. The JUnit XML is written either way."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from cli_fork import run_command
from live_server import breaking_upstream, live_scanserve
from loopback import refused_port

BASE = "/scanner/api/v1"


def conformance(
    url: str, key: str, key2: str, seconds: int, report: Path
) -> subprocess.CompletedProcess[str]:
    args = ["conformance", url, "--key", key, "--key2", key2, "--seconds", str(seconds)]
    return run_command([*args, "--junit-xml", str(report)], dict(os.environ), timeout=280)


def failures(report: Path) -> dict[str, str]:
    """The failed test cases of the report, by suite and operation."""
    return {
        f"{suite.get('name')}: {case.get('name')}": case.find("failure").get("message", "")  # type: ignore[union-attr]
        for suite in ET.parse(report).getroot().iter("testsuite")
        for case in suite.iter("testcase")
        if case.find("failure") is not None
    }


@pytest.mark.slow
def test_conformance_passes_against_scanserve(tmp_path):
    report = tmp_path / "conformance.xml"
    with live_scanserve(tmp_path) as (base, key, key2):
        run = conformance(base, key, key2, 10, report)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.rstrip().endswith(f"{base}: passed")
    suites = {s.get("name"): s for s in ET.parse(report).getroot().iter("testsuite")}
    assert set(suites) == {"conformance journey", "conformance schemathesis"}
    journey = {case.get("name") for case in suites["conformance journey"].iter("testcase")}
    assert {
        "createSession",
        "createCapture",
        "uploadCaptureImage",
        "getPresignedUploadUrl",
        "registerPhoto",
        "submitSession",
        "listCaptureProposals",
        "applyCaptureProposals",
        "resolveUrl",
        "getFreshnessThresholds",
        "saveCaptureRedirect",
    } <= journey
    assert int(suites["conformance schemathesis"].get("tests", "0")) > 5
    assert failures(report) == {}
    assert "rate limited" not in run.stdout


@pytest.mark.slow
def test_a_rate_limited_run_says_so_and_how_to_lift_the_limits(tmp_path):
    """A server whose limits the run exceeds: the 429s are counted and the output says what
    to change, instead of leaving the failed checks to explain themselves."""
    report = tmp_path / "conformance.xml"
    limits = {"SCANSERVE_RATE_LIMIT_PER_MINUTE": "20", "SCANSERVE_FAILED_AUTH_PER_MINUTE": "5"}
    with live_scanserve(tmp_path, **limits) as (base, key, key2):
        run = conformance(base, key, key2, 3, report)
    hint = [line for line in run.stdout.splitlines() if "rate limited" in line]
    assert len(hint) == 1, run.stdout + run.stderr
    assert re.search(r"conformance: \d+ of \d+ schemathesis requests were answered 429", hint[0])
    assert "SCANSERVE_RATE_LIMIT_*" in hint[0] and "--per-minute" in hint[0]


@pytest.mark.slow
def test_conformance_fails_against_a_broken_server_naming_the_operation(tmp_path):
    report = tmp_path / "conformance.xml"
    with live_scanserve(tmp_path) as (base, key, key2):
        origin = base.removesuffix(BASE)
        with breaking_upstream(origin, rf"{BASE}/captures/[^/]+", "status") as broken:
            run = conformance(broken + BASE, key, key2, 0, report)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "FAILED" in run.stdout.splitlines()[-1]
    found = failures(report)
    assert "conformance journey: getCapture" in found, found
    assert (
        found["conformance journey: getCapture"]
        == "response.body: 'status' is a required property"
    )
    getcapture_row = next(
        line for line in run.stdout.splitlines() if line.startswith("getCapture")
    )
    assert "'status' is a required property" in getcapture_row


def test_a_server_that_does_not_answer_fails_with_the_report_written(tmp_path):
    report = tmp_path / "conformance.xml"
    with refused_port() as port:
        run = conformance(f"http://127.0.0.1:{port}{BASE}", "csb_x", "csb_y", 0, report)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "conformance: journey stopped: GET" in run.stdout
    assert "no answer" in failures(report)["conformance journey: getLiveness"]
