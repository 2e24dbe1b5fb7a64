"""The documentation: the MkDocs site builds with no warning (a broken link, a missing anchor
or a page left out of the nav fails it), the README's links resolve, and the architecture
page places every module."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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


def test_the_architecture_page_places_every_module():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([\w/.]+)`", page))
    missing = []
    for folder, prefix in ((ROOT / "core", ""), (ROOT / "plugins", "plugins/")):
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith(("_", ".")) or entry.name == "py.typed":
                continue
            name = prefix + entry.name + ("/" if entry.is_dir() else "")
            if name not in named:
                missing.append(name)
    assert not missing, f"docs/architecture.md does not place {missing} in a layer"
