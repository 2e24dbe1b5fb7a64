"""The README that `scanserve plugins new` writes works as written: in a fresh virtualenv
where scanserve was installed from its wheel, each command of its ``sh`` blocks, run in order
from the package's folder with that virtualenv activated (as the README says), succeeds.

No network: pip is told to use no index (scanserve's dependencies come from this
environment, read-only through a ``.pth`` file) and no build isolation (setuptools is the
virtualenv's own); the commands themselves are the README's, unchanged."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _wheel(tmp_path: Path) -> Path:
    """scanserve's wheel, built from a copy of the source (a build writes into the tree it
    builds, which another test may be building at the same time)."""
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for tree in ("core", "plugins", "generated", "spec"):
        shutil.copytree(ROOT / tree, source / tree, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    out = tmp_path / "wheels"
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"),
            *("-w", str(out), str(source)),
        ],
        check=True,
        cwd=tmp_path,
        timeout=600,
    )
    (wheel,) = out.glob("scanserve-*.whl")
    return wheel


def _fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "deps-from-test-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        check=True,
        timeout=300,
    )
    return env_dir


def _readme_commands(readme: str) -> list[str]:
    return [
        line.strip()
        for block in re.findall(r"```sh\n(.*?)```", readme, flags=re.DOTALL)
        for line in block.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


@pytest.mark.slow
def test_the_scaffold_readme_runs_as_written_in_a_fresh_virtualenv(tmp_path):
    env_dir = _fresh_venv(tmp_path, _wheel(tmp_path))
    scanserve = env_dir / "bin" / "scanserve"
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("SCANSERVE_", "PIP_"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(
        SCANSERVE_DATA_DIR=str(tmp_path / "data"),
        PIP_NO_INDEX="1",  # offline: everything needed is installed or visible
        PIP_NO_BUILD_ISOLATION="0",  # pip reads this as --no-build-isolation
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    made = subprocess.run(
        [str(scanserve), "plugins", "new", "cold-chain", "--directory", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    root = tmp_path / "scanserve-cold-chain"
    readme = (root / "README.md").read_text(encoding="utf-8")
    commands = _readme_commands(readme)
    assert commands == [
        "python -m pip install .",
        "scanserve plugins list",
        "python -m pip install -e '.[test]'",
        "python -m pytest",
    ]
    assert "-m pip install -e '.[test]'" in made.stdout  # the next steps say the same

    activate = shlex.quote(str(env_dir / "bin" / "activate"))
    outputs = []
    for command in commands:
        done = subprocess.run(
            ["bash", "-c", f". {activate} && {command}"],
            capture_output=True,
            text=True,
            cwd=root,
            env=env,
            check=False,
            timeout=600,
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        outputs.append(done.stdout)
    listed, tested = outputs[1], outputs[3]
    assert "cold-chain\t0.1.0\tno\tregister_lookup_providers" in listed.splitlines()
    assert "3 passed" in tested, tested
    shown = subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "show", "scanserve-cold-chain"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert f"Location: {env_dir}" in shown.stdout  # installed in the virtualenv, editable
