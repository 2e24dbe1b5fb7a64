"""generated/ is exactly what the pinned generators make from the spec: datamodel-code-generator
(the models and the response shapes) and openapi-python-client (the typed client)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


# Options come from [tool.datamodel-codegen] in pyproject.toml (the shapes from its `shapes`
# profile); only the output moves.
@pytest.mark.parametrize(
    ("name", "profile"),
    [("models.py", []), ("shapes.py", ["--profile", "shapes"])],
)
def test_generated_code_is_up_to_date(tmp_path, name, profile):
    out = tmp_path / name
    # Run through this interpreter: the venv's bin/ need not be on PATH.
    subprocess.run(
        [sys.executable, "-m", "datamodel_code_generator", *profile, "--output", str(out)],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    expected = out.read_text()
    actual = (ROOT / "generated" / name).read_text()
    assert actual == expected, f"generated/{name} is stale: run `tox -e codegen`"


def _tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def _generate_client(out: Path) -> subprocess.CompletedProcess[str]:
    """openapi-python-client on the spec, with the options of openapi-python-client.yaml, into
    ``out``: what `tox -e codegen` writes to generated/client."""
    # The generator runs ruff (its post hooks) by name: this interpreter's bin/ holds the
    # pinned one, and need not be on PATH.
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            "spec/openapi.yaml",
            "--meta",
            "none",
            "--output-path",
            str(out),
            "--config",
            "openapi-python-client.yaml",
            "--fail-on-warning",  # a skipped post hook (no ruff) is a warning
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_typed_client_is_up_to_date(tmp_path):
    result = _generate_client(tmp_path / "client")
    assert result.returncode == 0, result.stdout + result.stderr
    expected = _tree(tmp_path / "client")
    actual = _tree(ROOT / "generated" / "client")
    assert "api/scanner_captures/create_capture.py" in expected
    stale = sorted(
        name for name in expected.keys() | actual.keys() if expected.get(name) != actual.get(name)
    )
    assert not stale, f"generated/client is stale in {stale}: run `tox -e codegen`"
