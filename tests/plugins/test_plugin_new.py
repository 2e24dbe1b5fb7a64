"""`scanserve plugins new NAME` writes a package that installs, loads and passes its own tests:
made with the real CLI, installed with pip (into a folder of its own, so this environment is
left as it was), and tested with pytest in a subprocess, warnings as errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanserve.cli import main


def _scanserve_command() -> list[str]:
    script = Path(sys.executable).with_name("scanserve")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from scanserve.cli import main; main()"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SCANSERVE_")}
    env.update(SCANSERVE_DATA_DIR=str(tmp_path / "data"), **extra)
    return env


def test_a_new_plugin_installs_loads_and_passes_its_own_tests(tmp_path):
    made = subprocess.run(
        [*_scanserve_command(), "plugins", "new", "cold-chain", "--directory", str(tmp_path)],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        check=False,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    root = tmp_path / "scanserve-cold-chain"
    assert made.stdout.startswith(f"wrote {root}")
    assert {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} == {
        "pyproject.toml",
        "README.md",
        "scanserve_cold_chain.py",
        "tests/conftest.py",
        "tests/test_scanserve_cold_chain.py",
    }
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert '[project.entry-points.scanserve]\ncold-chain = "scanserve_cold_chain"' in pyproject
    assert 'test = ["scanserve[testing]"]' in pyproject

    # pip, as a user installs it (no build isolation: setuptools comes from the test extra,
    # so no network is needed); --target keeps it out of this environment.
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(root),
        ],
        check=True,
        cwd=tmp_path,
        timeout=300,
    )
    env = _env(tmp_path, PYTHONPATH=str(site))

    # Its tests, as written, from its own folder (its own pytest configuration), with
    # warnings as errors: scanserve itself must not warn.
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-W", "error", "-p", "no:cacheprovider", "-q"],
        capture_output=True,
        text=True,
        cwd=root,
        env=env,
        check=False,
        timeout=300,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed" in tests.stdout, tests.stdout
    assert "warning" not in tests.stdout.lower(), tests.stdout

    # And the server's own listing finds it through its entry point.
    listed = subprocess.run(
        [*_scanserve_command(), "plugins", "list"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert "cold-chain\t0.1.0\tno\tregister_lookup_providers" in listed.stdout.splitlines()
    assert any(
        line.startswith("lookup\t") and line.endswith("\tcold-chain-lookup\tcold-chain")
        for line in listed.stdout.splitlines()
    ), listed.stdout


@pytest.mark.parametrize(
    "name", ["Cold", "1st", "cold chain", "cold-", "cold--chain", "kalt/chain"]
)
def test_a_bad_plugin_name_is_refused(tmp_path, name):
    result = CliRunner().invoke(main, ["plugins", "new", name, "--directory", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "is not a plugin name" in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_not_overwritten(tmp_path):
    existing = tmp_path / "scanserve-cold-chain"
    existing.mkdir()
    (existing / "mine.py").write_text("keep me")
    result = CliRunner().invoke(
        main, ["plugins", "new", "cold-chain", "--directory", str(tmp_path)]
    )
    assert result.exit_code == 1, result.output
    assert "exists and is not empty" in result.output
    assert [p.name for p in existing.iterdir()] == ["mine.py"]
