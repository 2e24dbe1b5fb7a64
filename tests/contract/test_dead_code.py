"""Dead code: vulture, as ``tox -e lint`` runs it (``[tool.vulture]`` in pyproject.toml and
vulture_whitelist.py), finds nothing in the tree, and does find a function nobody calls."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml


def _root() -> Path:
    here = Path(__file__).resolve().parent
    for folder in (here, *here.parents):
        if (folder / "vulture_whitelist.py").is_file() and (folder / "pyproject.toml").is_file():
            return folder
    raise AssertionError("no project root (vulture_whitelist.py beside pyproject.toml) above")


ROOT = _root()
WHITELIST = "vulture_whitelist.py"


def _vulture(cwd: Path) -> subprocess.CompletedProcess[str]:
    # as tox -e lint runs it, from the project root so that pyproject.toml's settings apply
    return subprocess.run(
        [sys.executable, "-m", "vulture", "core", "plugins", WHITELIST, "--min-confidence", "60"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_tree_has_no_dead_code():
    result = _vulture(ROOT)
    assert (result.returncode, result.stdout) == (0, ""), result.stdout + result.stderr


def test_a_function_nobody_calls_is_reported(tmp_path):
    for name in ("core", "plugins"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", WHITELIST):
        shutil.copy(ROOT / name, tmp_path / name)
    # any module of the core (the layout may move them), not a migration (excluded)
    planted = next(
        path
        for path in sorted((tmp_path / "core").rglob("*.py"))
        if path.name != "__init__.py" and "migrations" not in path.parts
    )
    planted.write_text(planted.read_text() + "\n\ndef _never_called():\n    pass\n")
    result = _vulture(tmp_path)
    assert result.returncode != 0
    assert "unused function '_never_called'" in result.stdout, result.stdout + result.stderr
    assert result.stdout.count("\n") == 1, result.stdout  # and nothing else


def _snake(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def test_the_whitelisted_handlers_are_the_specs_operations():
    """The whitelist's first list names every operation's handler (operationId in snake
    case), and nothing else: an operation added or removed updates it."""
    spec = yaml.load(
        (ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader
    )
    operations = {
        _snake(operation["operationId"])
        for path in spec["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    tree = ast.parse((ROOT / WHITELIST).read_text(encoding="utf-8"))
    calls = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
    ]
    handlers = {arg.attr for arg in calls[0].args if isinstance(arg, ast.Attribute)}
    assert handlers == operations
