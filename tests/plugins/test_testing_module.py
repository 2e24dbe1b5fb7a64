"""scanserve.testing as a plugin author meets it: plugins added too late fail loudly, every
fixture and helper is documented, the `testing` extra brings what the module imports, and a
plugin's test suite run with `pytest -W error` gets no warning from scanserve."""

from __future__ import annotations

import ast
import importlib.metadata
import inspect
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import scanserve.testing as testing
from scanserve.testing import FakeLookupProvider, PluginsAlreadyLoaded

ROOT = Path(__file__).resolve().parents[2]
PLUGINS_MD = ROOT / "docs" / "plugins.md"


# --- plugins added after the app was built --------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        lambda plugins: plugins.append(FakeLookupProvider()),
        lambda plugins: plugins.extend([FakeLookupProvider()]),
        lambda plugins: plugins.insert(0, FakeLookupProvider()),
        lambda plugins: plugins.__iadd__([FakeLookupProvider()]),
        lambda plugins: plugins.__setitem__(slice(0, 0), [FakeLookupProvider()]),
        lambda plugins: plugins.clear(),
    ],
    ids=["append", "extend", "insert", "+=", "slice", "clear"],
)
def test_a_plugin_added_after_the_app_was_built_fails_loudly(
    scanserve_client, scanserve_plugins, change
):
    with pytest.raises(PluginsAlreadyLoaded, match="after scanserve_app was built"):
        change(scanserve_plugins)
    assert list(scanserve_plugins) == []


@pytest.fixture
def early(scanserve_plugins) -> FakeLookupProvider:
    provider = FakeLookupProvider(name="early")
    scanserve_plugins.append(provider)
    return provider


def test_a_plugin_added_before_the_app_is_used(early, scanserve_app):
    assert early in scanserve_app.services.plugins.lookup_providers


@pytest.mark.scanserve_settings(provider_timeout_seconds=1.5, max_body_bytes=4096)
def test_the_settings_mark_changes_settings(scanserve_settings, scanserve_app):
    assert scanserve_settings.provider_timeout_seconds == 1.5
    assert scanserve_app.services.settings.max_body_bytes == 4096
    assert scanserve_settings.queue == "immediate"  # the rest keep the fixture's defaults


# --- documented -----------------------------------------------------------------------------


def _fixture_names() -> set[str]:
    return {
        name
        for name, value in vars(testing).items()
        if type(value).__name__ == "FixtureFunctionDefinition"
        or hasattr(value, "_pytestfixturefunction")
    }


def test_every_fixture_and_helper_is_documented_in_plugins_md():
    fixtures = _fixture_names()
    assert fixtures == {
        "scanserve_settings",
        "scanserve_plugins",
        "scanserve_app",
        "scanserve_client",
        "api_key",
    }
    assert fixtures <= set(testing.__all__)
    text = PLUGINS_MD.read_text(encoding="utf-8")
    missing = [name for name in testing.__all__ if f"`{name}`" not in text]
    assert not missing, f"docs/plugins.md does not mention {missing}"
    assert "@pytest.mark.scanserve_settings(" in text
    assert "pip install 'scanserve[testing]'" in text


def test_every_public_name_has_a_docstring():
    for name in testing.__all__:
        value = getattr(testing, name)
        doc = inspect.getdoc(value) if name not in _fixture_names() else value.__doc__
        assert doc, name


# --- the `testing` extra --------------------------------------------------------------------


def _third_party_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "scanserve"}


def test_the_testing_extra_brings_what_the_module_imports():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {
        Requirement(r).name.lower()
        for r in [*project["dependencies"], *project["optional-dependencies"]["testing"]]
    }
    dists = importlib.metadata.packages_distributions()
    imported = _third_party_imports(ROOT / "core" / "testing.py")
    assert "pytest" in imported
    for module in imported:
        providers = {d.lower() for d in dists.get(module, [])}
        assert providers & declared, (
            f"{module} ({providers}) is in neither dependencies nor [testing]"
        )
    # The project's own test extra includes it, so `pip install -e '.[test]'` has it too.
    assert "scanserve[testing]" in project["optional-dependencies"]["test"]


# --- pytest -W error in a plugin author's project ------------------------------------------

PLUGIN_TESTS = """
from typing import Any

import pytest

from scanserve import ProductRecord, QrResolution, hookimpl
from scanserve.testing import FakeLookupProvider, FakeQrResolver, issue_key, wait_for

BASE = "/scanner/api/v1"
GTIN = "09506000134352"
URL = "https://example.test/p/1"


@pytest.fixture
def fakes(scanserve_plugins: list[Any]) -> FakeLookupProvider:
    lookup = FakeLookupProvider({GTIN: ProductRecord(gtin=GTIN, name="Oat drink")})
    answer = QrResolution(URL, URL, [], 0, "example.test", "DIRECT", False, "", "")
    scanserve_plugins.extend([lookup, FakeQrResolver({URL: answer})])
    return lookup


def test_every_fixture(fakes: Any, scanserve_settings: Any, scanserve_client: Any, api_key: Any) -> None:
    session = scanserve_client.post(f"{BASE}/sessions", json={}, headers=api_key.headers).json()
    for raw in (GTIN, URL):
        body = {"session_id": session["id"], "capture_type": "BARCODE", "raw_value": raw}
        created = scanserve_client.post(f"{BASE}/captures", json=body, headers=api_key.headers)
        assert created.status_code == 201, created.text

        def done(capture_id: str = created.json()["id"]) -> Any:
            got = scanserve_client.get(f"{BASE}/captures/{capture_id}", headers=api_key.headers)
            return got.json() if got.json()["status"] in ("COMPLETED", "NOT_FOUND") else None

        finished = wait_for(done, timeout=10, what="the capture")
        if raw == URL:
            assert finished["qr_analysis"]["resolver_type"] == "DIRECT"
        else:
            assert finished["product_name"] == "Oat drink"
    assert fakes.asked == [GTIN]
    other = issue_key("Another org")
    assert other.org_short_id != api_key.org_short_id


@pytest.mark.scanserve_settings(freshness_order="plugins-first")
def test_marked_settings(scanserve_settings: Any) -> None:
    assert scanserve_settings.freshness_order == "plugins-first"


class Late:
    @hookimpl
    def freshness_thresholds(self) -> None:
        return None


@pytest.fixture
def late(scanserve_plugins: list[Any]) -> None:
    scanserve_plugins.append(Late())


def test_late_plugin(scanserve_client: Any, late: None) -> None:
    raise AssertionError("never runs: the fixture fails")
"""


def test_a_plugin_suite_under_pytest_w_error_gets_no_warning_from_scanserve(tmp_path):
    project = tmp_path / "my-plugin"
    (project / "tests").mkdir(parents=True)
    # Its own configuration (none of ours), like a plugin author's repository.
    (project / "pyproject.toml").write_text("[tool.pytest.ini_options]\ntestpaths = ['tests']\n")
    (project / "tests" / "conftest.py").write_text('pytest_plugins = ["scanserve.testing"]\n')
    (project / "tests" / "test_mine.py").write_text(PLUGIN_TESTS)
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SCANSERVE_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-W", "error", "-p", "no:cacheprovider", "-q", "-rA"],
        capture_output=True,
        text=True,
        cwd=project,
        env=env,
        check=False,
        timeout=300,
    )
    out = result.stdout
    # Two pass; the late plugin errors in its fixture, naming the mistake; nothing warns.
    assert re.search(r"^2 passed, 1 error in ", out, re.MULTILINE), out + result.stderr
    assert "ERROR tests/test_mine.py::test_late_plugin - " in out
    assert "PluginsAlreadyLoaded: a plugin was added to scanserve_plugins after" in out
    assert "warning" not in out.lower(), out
