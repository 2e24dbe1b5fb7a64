"""The project's own plugin tests pass with a third-party plugin installed beside the example
one: a plugin that takes part everywhere it can (a tryfirst lookup provider that knows every
GTIN, a QR resolver that answers every URL, a freshness answer for everything, an event hook
that raises). It is installed for a subprocess only: a module and its dist-info on
PYTHONPATH, which is all entry-point discovery reads."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

INTRUDER = """
from scanserve import ProductRecord, QrResolution, Thresholds, hookimpl


class Everything:
    name = "intruder-lookup"
    external = False

    def lookup(self, gtin):
        return ProductRecord(gtin=gtin, name="Intruder product")


class AnyUrl:
    name = "intruder-qr"

    def resolve(self, url):
        return QrResolution(url, url, [], 0, "intruder", "UNKNOWN", False, "", "")


@hookimpl(tryfirst=True)
def register_lookup_providers(register):
    register(Everything())


@hookimpl(tryfirst=True)
def register_qr_resolvers(register):
    register(AnyUrl())


@hookimpl(tryfirst=True)
def freshness_thresholds(gtin):
    return Thresholds(warning_days=99, critical_days=98, category_label="Intruder")


@hookimpl
def capture_finished(capture):
    raise RuntimeError("the intruder's listener is broken")
"""


def _example_installed() -> bool:
    try:
        importlib.metadata.distribution("scanserve-example-plugin")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _example_installed(), reason="needs ./tests/example_plugin installed")
def test_the_plugin_tests_pass_with_another_plugin_installed(tmp_path):
    site = tmp_path / "site"
    info = site / "scanserve_intruder-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "scanserve_intruder.py").write_text(INTRUDER, encoding="utf-8")
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: scanserve-intruder\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[scanserve]\nintruder = scanserve_intruder\n", encoding="utf-8"
    )
    env = dict(os.environ, PYTHONPATH=str(site))
    # First: it really is found and takes part (else this test would prove nothing).
    listed = subprocess.run(
        [sys.executable, "-c", "from scanserve.cli import main; main()", "plugins", "list"],
        capture_output=True,
        text=True,
        env={**env, "SCANSERVE_DATA_DIR": str(tmp_path / "data")},
        check=True,
        timeout=120,
    )
    assert "\tintruder-lookup\tintruder\n" in listed.stdout, listed.stdout
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            # Every test that loads entry-point plugins lives here (the rest of the suite
            # builds its apps with load_entrypoint_plugins=False, and its CLI subprocesses
            # set SCANSERVE_LOAD_ENTRYPOINT_PLUGINS=false); these are the ones that do.
            "tests/plugins/test_plugins.py",
            "-k",
            "entry_point or example or cli",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"^\d+ passed, \d+ deselected in ", result.stdout, re.MULTILINE), (
        result.stdout[-2000:]
    )
