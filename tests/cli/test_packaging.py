"""The wheel installs into a fresh virtual environment and works there: the CLI runs, the
packages map (``scanserve.plugins`` etc.), the spec and data files ship, and nothing
installs a top-level ``core`` or ``plugins`` module."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_installs_and_runs_in_a_fresh_venv(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = wheels.glob("scanserve-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.startswith("scanserve-")}
    assert top_level == {"scanserve"}, top_level
    for shipped in (
        "scanserve/spec/openapi.yaml",
        "scanserve/plugins/data/url_shorteners.txt",
        "scanserve/plugins/data/gpc_freshness.json",
        "scanserve/generated/models.py",
        "scanserve/storage/migrations/001_initial.py",
        "scanserve/demo/demo_catalog.csv",
        # the scanning page /scan/ and its vendored decoder, with its licences and provenance
        "scanserve/scan_page/index.html",
        "scanserve/scan_page/unconfigured.html",
        "scanserve/scan_page/scan.js",
        "scanserve/scan_page/scan.css",
        "scanserve/scan_page/favicon.svg",
        "scanserve/scan_page/zxing/zxing-reader.js",
        "scanserve/scan_page/zxing/zxing_reader.wasm",
        "scanserve/scan_page/zxing/LICENSE-zxing-wasm",
        "scanserve/scan_page/zxing/LICENSE-zxing-cpp",
        "scanserve/scan_page/zxing/README.md",
    ):
        assert shipped in names, shipped
    # every module ships: a subpackage missing from pyproject's package list would not
    for tree, package in (
        ("core", "scanserve"),
        ("plugins", "scanserve/plugins"),
        ("generated", "scanserve/generated"),  # the typed client's api/<tag> folders too
    ):
        for module in (ROOT / tree).rglob("*.py"):
            path = f"{package}/{module.relative_to(ROOT / tree).as_posix()}"
            assert path in names, path

    env_dir = tmp_path / "venv"
    # No pip of its own (ensurepip writes pip's thousands of files, most of this test's time):
    # this environment's pip installs into it (`pip --python`), as it would into any venv.
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # The dependencies come from this environment (read-only, through a .pth file) so the test
    # needs no network; scanserve itself comes only from the wheel.
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "deps-from-test-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         "--no-cache-dir", str(wheel)],
        check=True,
    )  # fmt: skip

    version = subprocess.run(
        [str(env_dir / "bin" / "scanserve"), "--version"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert version.stdout.startswith("scanserve, version ")
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import scanserve, scanserve.plugins, scanserve.spec, scanserve.generated.models;"
            "from scanserve.generated.client import AuthenticatedClient, Client;"
            "from scanserve.generated.client.api.scanner_captures import create_capture;"
            "import importlib.util as u;"
            "print(scanserve.__file__);"
            "print(u.find_spec('core'), u.find_spec('plugins'))",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    first, second = probe.stdout.splitlines()
    assert str(env_dir) in first  # imported from the wheel, not the source tree
    assert second == "None None"
