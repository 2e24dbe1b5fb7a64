"""The import contract (pyproject.toml [tool.importlinter]) holds, and it can fail.

import-linter reads the installed package's files; the source tree maps core/, plugins/ and
generated/ into one `scanserve` package (pyproject.toml [tool.setuptools]), so the check runs
on a copy laid out as installed. `tox -e lint` runs the same contracts on a built wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _installed_layout(tmp_path: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__")
    package = tmp_path / "scanserve"
    shutil.copytree(ROOT / "core", package, ignore=ignore)
    shutil.copytree(ROOT / "plugins", package / "plugins", ignore=ignore)
    shutil.copytree(ROOT / "generated", package / "generated", ignore=ignore)
    return tmp_path


def _lint_imports(site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command as c; c()",
            "--config",
            str(ROOT / "pyproject.toml"),
            "--no-cache",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=site,
        timeout=240,
        check=False,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _installed_layout(tmp_path_factory.mktemp("installed"))


def test_the_import_contracts_hold(site: Path) -> None:
    result = _lint_imports(site)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout and "KEPT" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        # the domain reaching up into the HTTP edge
        ("domain/sessions.py", "from scanserve.http import gateway"),
        # infrastructure reaching up into the domain
        ("infra/queue.py", "from scanserve.domain import pipeline"),
        # the core reaching into a built-in plugin instead of loading it by name
        ("domain/pipeline.py", "from scanserve.plugins.builtin import catalog"),
    ],
)
def test_an_upward_import_breaks_the_contract(tmp_path: Path, module: str, upward: str) -> None:
    site = _installed_layout(tmp_path)
    target = site / "scanserve" / module
    target.write_text(target.read_text() + f"\n{upward}  # noqa: E402, F401\n")
    result = _lint_imports(site)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout
    assert f"scanserve.{module[:-3].replace('/', '.')}" in result.stdout


_CYCLES = """
import json, sys

graph = grimp.build_graph("scanserve", cache_dir=None)
# Tarjan's strongly connected components, iteratively
index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], 0
for root in sorted(graph.modules):
    if root in index:
        continue
    index[root] = low[root] = counter
    counter += 1
    stack.append(root)
    on_stack.add(root)
    work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
    while work:
        node, children = work[-1]
        for child in children:
            if child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                break
            if child in on_stack:
                low[node] = min(low[node], index[child])
        else:
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
print(json.dumps(found))
"""


def _cycles(site: Path) -> list[list[str]]:
    # in a process of its own: this one has already imported the editable scanserve, which
    # grimp would find instead of the copy
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [sys.executable, "-c", _CYCLES],
        capture_output=True,
        text=True,
        env=env,
        cwd=site,
        timeout=240,
        check=True,
    )
    return json.loads(result.stdout)


def test_no_module_imports_itself_through_others(site: Path) -> None:
    # every import counts, those inside functions and under TYPE_CHECKING included
    assert _cycles(site) == []


def test_a_new_circle_is_found(tmp_path: Path) -> None:
    site = _installed_layout(tmp_path)
    target = site / "scanserve" / "settings.py"
    target.write_text(target.read_text() + "\nfrom scanserve import app  # noqa: E402, F401\n")
    assert any("scanserve.settings" in c for c in _cycles(site))
