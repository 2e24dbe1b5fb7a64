"""The response bodies are the spec's shapes: a field added to the spec and not served fails.

- Statically: the presenters return the TypedDicts generated from the spec
  (``generated/shapes.py``), so a REQUIRED field added to a response schema makes mypy fail on
  the presenter that does not set it. Shown on a copy of the package whose shapes are
  regenerated from a copy of the spec with one more required field.
- At run time: every presenter's keys, and the names the read paths select their rows under,
  are exactly the schema's properties, so an OPTIONAL field added to the spec fails too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from peewee import Value

from scanserve.domain import sessions
from scanserve.http import presenters
from scanserve.storage import models

ROOT = Path(__file__).resolve().parents[2]
BASE = "/scanner/api/v1"
SPEC = yaml.load((ROOT / "spec" / "openapi.yaml").read_text(), Loader=yaml.CSafeLoader)
SCHEMAS = SPEC["components"]["schemas"]
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SHORT = "vytxeTZskVKR7C7WgdSP3d"


def properties(name: str) -> list[str]:
    """The schema's property names (through ``allOf`` and ``$ref``), in the spec's order."""
    schema = SCHEMAS[name]
    names: list[str] = []
    for part in schema.get("allOf", [schema]):
        if "$ref" in part:
            names += properties(part["$ref"].rsplit("/", 1)[-1])
        else:
            names += list(part.get("properties", {}))
    return names


def aliases(columns: tuple[Any, ...]) -> list[str]:
    return [getattr(c, "_alias", None) or c.name for c in columns]


# -- at run time: keys and selected names equal the schema's properties ----------------------


def test_read_paths_select_their_rows_under_the_schemas_names():
    assert aliases(sessions.capture_columns(Value(SHORT))) == properties("CaptureResponse")
    assert aliases(sessions.photo_columns()) == properties("PhotoResponse")
    assert aliases(sessions.session_columns()) + list(sessions.COUNTS) == properties(
        "SessionResponse"
    )


def _session() -> models.ScanSession:
    return models.ScanSession(
        short_id=SHORT, status="ACTIVE", capture_mode="both", created=NOW, modified=NOW
    )


def _proposal() -> models.Proposal:
    return models.Proposal(
        field_name="name",
        current_value="",
        proposed_value="Cola",
        confidence="0.90",
        reasoning="",
        source="test",
        status="PENDING",
        created=NOW,
    )


def test_every_presenter_answers_exactly_the_schemas_properties():
    session = _session()
    capture = models.Capture(
        short_id=SHORT,
        status="PENDING",
        capture_type="BARCODE",
        raw_value="4006381333931",
        gtin="04006381333931",
        error_message="",
        created=NOW,
    )
    photo = models.Photo(
        short_id=SHORT, photo_type="front", s3_key="k", original_filename="a.jpg", created=NOW
    )
    rule = models.RedirectRule(
        short_id=SHORT, product=models.Product(short_id=SHORT), url="https://x", position=1
    )
    session_row = dict(zip(aliases(sessions.session_columns()), range(99), strict=False))
    detail = sessions.SessionDetail(session=session_row, captures=[], photos=[])
    status_row = {"status": "ACTIVE", "extraction_status": "pending", "extraction_failures": []}
    bodies = {
        "SessionResponse": presenters.session_view(session),
        "SessionPage": presenters.session_page_view([session], 1, 25, 1),
        "CaptureResponse": presenters.capture_view(capture, SHORT),
        "PhotoResponse": presenters.photo_view(photo),
        "SessionDetail": presenters.session_detail_view(detail),
        "SessionStatusResponse": presenters.session_status_view(status_row, []),
        "RedirectRule": presenters.redirect_rule_view(rule),
        "Proposal": presenters.proposal_view(_proposal()),
        "ApplyProposalsResponse": presenters.apply_view(SHORT, [_proposal()]),
        "PresignedUploadResponse": presenters.presigned_upload_view("https://x", {}, "k", 60),
    }
    for schema, body in bodies.items():
        assert list(body) == properties(schema), schema
    assert list(bodies["SessionPage"]["pagination"]) == properties("Pagination")


@pytest.mark.scanserve_settings(queue="embedded")
def test_a_new_capture_is_answered_in_the_schemas_shape(scanserve_client, api_key):
    # With a queue that runs later, POST /captures answers the row as written
    # (captures.create), not one read back.
    client, headers = scanserve_client, api_key.headers
    sid = client.post(f"{BASE}/sessions", json={}, headers=headers).json()["id"]
    created = client.post(
        f"{BASE}/captures",
        json={"session_id": sid, "capture_type": "MANUAL", "raw_value": "hello"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    assert list(created.json()) == properties("CaptureResponse")
    detail = client.get(f"{BASE}/sessions/{sid}", headers=headers).json()
    assert list(detail) == properties("SessionDetail")
    assert [list(c) for c in detail["captures"]] == [properties("CaptureResponse")]
    status = client.get(f"{BASE}/sessions/{sid}/status", headers=headers).json()
    assert list(status) == properties("SessionStatusResponse")
    assert [list(c) for c in status["captures"]] == [properties("CaptureStatusSummary")]


# -- statically: a required field the presenter does not set fails mypy ---------------------


def _package_copy(tmp_path: Path) -> Path:
    """The installed package's layout (core/ as scanserve, plugins/ and generated/ in it)."""
    package = tmp_path / "tree" / "scanserve"
    ignore = shutil.ignore_patterns("__pycache__", "swagger_ui", "demo")
    shutil.copytree(ROOT / "core", package, ignore=ignore)
    shutil.copytree(ROOT / "plugins", package / "plugins", ignore=ignore)
    shutil.copytree(ROOT / "generated", package / "generated", ignore=ignore)
    return package.parent


def _mypy(tree: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--follow-imports=silent",
            "--cache-dir",
            str(cache),
            "-m",
            "scanserve.http.presenters",
        ],
        cwd=tree,
        env={**os.environ, "MYPYPATH": str(tree)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_required_field_the_presenter_does_not_set_fails_the_type_check(tmp_path):
    tree = _package_copy(tmp_path)
    cache = tmp_path / "mypy-cache"
    before = _mypy(tree, cache)
    assert before.returncode == 0, before.stdout + before.stderr

    spec = yaml.load((ROOT / "spec" / "openapi.yaml").read_text(), Loader=yaml.CSafeLoader)
    capture = spec["components"]["schemas"]["CaptureResponse"]
    capture["properties"]["shelf_label"] = {"type": "string", "description": "A new field."}
    capture["required"].append("shelf_label")
    changed = tmp_path / "openapi.yaml"
    changed.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "datamodel_code_generator",
            "--profile",
            "shapes",
            "--input",
            str(changed),
            "--output",
            str(tree / "scanserve" / "generated" / "shapes.py"),
        ],
        check=True,
        cwd=ROOT,  # the options: pyproject.toml's [tool.datamodel-codegen]
        capture_output=True,
    )
    assert "shelf_label" in (tree / "scanserve" / "generated" / "shapes.py").read_text()

    after = _mypy(tree, cache)
    assert after.returncode == 1, after.stdout + after.stderr
    errors = [line for line in after.stdout.splitlines() if ": error:" in line]
    assert errors, after.stdout
    # Every error is the new key, missing in the presenter that builds a CaptureResponse.
    assert all(
        line.startswith("scanserve/http/presenters.py:")
        and 'Missing key "shelf_label" for TypedDict "CaptureResponse"' in line
        for line in errors
    ), after.stdout
