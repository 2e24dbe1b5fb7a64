"""The documentation: the MkDocs site builds with no warning (a broken link, a missing anchor
or a page left out of the nav fails it), the README's links resolve, and the architecture
page places every module."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def build(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of the project in ``root``; mkdocs is in the test extra."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )


def copy_project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copy(ROOT / "mkdocs.yml", copy)
    shutil.copy(ROOT / "README.md", copy)
    shutil.copytree(ROOT / "docs", copy / "docs", ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_the_docs_site_builds_with_no_warning(tmp_path):
    result = build(ROOT, tmp_path / "site")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output, output
    home = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    # the home page is the README, its docs/ links re-rooted to the site's pages
    assert "Quick start" in home and 'href="tutorial/"' in home
    for page in (ROOT / "docs").glob("*.md"):
        assert (tmp_path / "site" / page.stem / "index.html").exists(), page.name


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda docs: docs / "tutorial.md", "no-such-page.md"),
        (lambda docs: docs / "architecture.md", "#no-such-heading"),
        (lambda docs: docs / "stray.md", "stray.md"),
    ],
    ids=["broken link", "missing anchor", "page not in the nav"],
)
def test_a_broken_link_or_a_page_left_out_fails_the_build(tmp_path, change, complaint):
    project = copy_project(tmp_path)
    page = change(project / "docs")
    text = page.read_text(encoding="utf-8") if page.exists() else "# Stray\n"
    if complaint != "stray.md":
        text += f"\nSee [there]({'errors.md' if complaint.startswith('#') else ''}{complaint}).\n"
    page.write_text(text, encoding="utf-8")
    result = build(project, tmp_path / "site")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "WARNING" in output and complaint.lstrip("#") in output, output


def test_the_readme_links_resolve():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = [target for _, target in LINK.findall(FENCE.sub("", readme))]
    assert any(t.startswith("docs/") for t in targets)
    for target in targets:
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path = target.partition("#")[0]
        assert (ROOT / path).exists(), f"README links {target}, which does not exist"
        # anchors into docs pages are checked by the site build (the README is its home page)


def test_the_readme_is_a_front_door():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    # the quick start's two commands, each in a block of its own (.ci/run runs the second)
    commands = re.findall(r"^```sh\n(.*?)\n```", readme, re.M | re.S)
    assert any(c.endswith("scanserve serve --demo") for c in commands), commands
    assert any(".venv/bin/python -m pytest" in c for c in commands), commands


def _placed_by_folder(page: str) -> dict[str, set[str]]:
    """The architecture page's table: the names each folder's rows place."""
    placed: dict[str, set[str]] = {}
    folder = ""
    for line in page.splitlines():
        if not line.startswith("| "):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] == "folder":
            continue
        folder = cells[0].strip("`") or folder
        placed.setdefault(folder, set()).update(re.findall(r"`([\w/.]+)`", cells[1]))
    return placed


def test_the_architecture_page_places_every_module():
    placed = _placed_by_folder((ROOT / "docs" / "architecture.md").read_text(encoding="utf-8"))
    core = ROOT / "core"
    missing = []

    def shown(entry: Path) -> bool:
        return not entry.name.startswith(("_", ".")) and entry.name != "py.typed"

    for entry in sorted(filter(shown, core.iterdir())):
        if entry.is_dir() and (entry / "__init__.py").exists():
            # a layer folder: a row of its own, naming every module in it
            rows = placed.get(f"core/{entry.name}/", set())
            if not rows:
                missing.append(f"core/{entry.name}/")
            for module in sorted(filter(shown, entry.iterdir())):
                name = module.name + ("/" if module.is_dir() else "")
                if name not in rows:
                    missing.append(f"core/{entry.name}/{name}")
        elif (entry.name + ("/" if entry.is_dir() else "")) not in placed.get("core/", set()):
            missing.append(f"core/{entry.name}")
    for entry in sorted(filter(shown, (ROOT / "plugins").iterdir())):
        name = "plugins/" + entry.name + ("/" if entry.is_dir() else "")
        if name not in placed.get("plugins/", set()):
            missing.append(name)
    assert not missing, f"docs/architecture.md does not place {missing} in a layer"


def test_the_architecture_picture_is_the_import_contract():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    picture = page.partition("<!-- layers:")[2].partition("```\n")[2].partition("```")[0]
    drawn = [
        sorted(re.findall(r"scanserve\.\w+", line))
        for line in picture.splitlines()
        if re.search(r"│ scanserve\.", line)
    ]
    with open(ROOT / "pyproject.toml", "rb") as file:
        contracts = tomllib.load(file)["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers"]
    assert drawn == [sorted(part.strip() for part in row.split("|")) for row in layers]
