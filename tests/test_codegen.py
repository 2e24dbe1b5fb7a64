"""generated/ is exactly what the pinned datamodel-code-generator makes from the spec."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_generated_models_are_up_to_date(tmp_path):
    exe = shutil.which("datamodel-codegen")
    if exe is None:
        pytest.fail("datamodel-codegen is not installed (pip install -e '.[test]')")
    out = tmp_path / "models.py"
    # Options come from [tool.datamodel-codegen] in pyproject.toml; only the output moves.
    subprocess.run([exe, "--output", str(out)], check=True, cwd=ROOT, capture_output=True)
    expected = out.read_text()
    actual = (ROOT / "generated" / "models.py").read_text()
    assert actual == expected, "generated/models.py is stale: run `tox -e codegen` or `datamodel-codegen`"
