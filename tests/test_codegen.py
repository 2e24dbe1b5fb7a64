"""generated/ is exactly what the pinned datamodel-code-generator makes from the spec."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_generated_models_are_up_to_date(tmp_path):
    out = tmp_path / "models.py"
    # Options come from [tool.datamodel-codegen] in pyproject.toml; only the output moves.
    # Run through this interpreter: the venv's bin/ need not be on PATH.
    subprocess.run(
        [sys.executable, "-m", "datamodel_code_generator", "--output", str(out)],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    expected = out.read_text()
    actual = (ROOT / "generated" / "models.py").read_text()
    assert actual == expected, (
        "generated/models.py is stale: run `tox -e codegen` or `datamodel-codegen`"
    )
