"""generated/ is exactly what the pinned datamodel-code-generator makes from the spec."""

from __future__ import annotations

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
