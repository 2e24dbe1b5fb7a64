"""The plugin system end to end: entry-point discovery of the installed example plugin (in
process and through the real CLI), disabling plugins, loud failure on a misspelt hook,
providers that raise or overrun, and the first-answer freshness hook. Everything goes through
the fixtures of ``scanserve.testing``, as a plugin author's tests would."""

from __future__ import annotations

import ast
import asyncio
import importlib.metadata
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy
import pytest
from biip.gtin import Gtin
from cli_fork import run_command

from scanserve import LookupProvider, ProductRecord, ProviderError, Thresholds, hookimpl
from scanserve.domain.freshness_layers import default_catalog, resolve_thresholds
from scanserve.http.presenters import plugin_list_view
from scanserve.plugins.manager import (
    BUILTIN_PLUGINS,
    PluginInfo,
    Plugins,
    ProviderInfo,
    build_plugin_manager,
    describe,
    unavailable_reason,
)
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.testing import FakeLookupProvider, FakeQrResolver

BASE = "/scanner/api/v1"
EXAMPLE_SOURCE = (
    Path(__file__).resolve().parents[1] / "example_plugin" / "scanserve_example_plugin.py"
)
EXAMPLE_DIST = "scanserve-example-plugin"
EXAMPLE_GTIN = "00012345600012"  # the one product the example plugin knows
EXAMPLE_UPC = "012345600012"  # the same number as scanned from a UPC-A label
EVENTS_FILE_VARIABLE = "SCANSERVE_EXAMPLE_EVENTS_FILE"
OTHER_GTIN = "09506000134352"


def _example_installed() -> bool:
    try:
        dist = importlib.metadata.distribution(EXAMPLE_DIST)
    except importlib.metadata.PackageNotFoundError:
        return False
    return any(ep.group == "scanserve" and ep.name == "example" for ep in dist.entry_points)


def _other_entry_point_plugins() -> list[str]:
    """Entry-point plugins installed beside the example (a developer's own, say): the tests
    that load entry points disable them, so what they check does not depend on them."""
    names = {ep.name for ep in importlib.metadata.entry_points(group="scanserve")}
    return sorted(names - {"example"})


OTHER_ENTRY_POINTS = _other_entry_point_plugins()

needs_example = pytest.mark.skipif(
    not _example_installed(),
    reason=f"{EXAMPLE_DIST} is not installed (pip install ./tests/example_plugin; CI does)",
)


@pytest.fixture
def scanserve_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The ``scanserve.testing`` default, with overrides from indirect parametrisation."""
    options: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "queue": "immediate",
        "validate_responses": True,
        "load_entrypoint_plugins": False,
    }
    options.update(getattr(request, "param", {}))
    return Settings(**options)


def settings_with(**overrides: Any) -> pytest.MarkDecorator:
    ids = ",".join(f"{k}={v}" for k, v in overrides.items())
    return pytest.mark.parametrize("scanserve_settings", [overrides], indirect=True, ids=[ids])


WITH_ENTRY_POINTS = settings_with(
    load_entrypoint_plugins=True, disabled_plugins=OTHER_ENTRY_POINTS
)


@pytest.fixture
def session_id(scanserve_client: Any, api_key: Any) -> str:
    response = scanserve_client.post(f"{BASE}/sessions", json={}, headers=api_key.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def capture(client: Any, api_key: Any, session_id: str, raw_value: str) -> dict[str, Any]:
    body = {"session_id": session_id, "capture_type": "BARCODE", "raw_value": raw_value}
    response = client.post(f"{BASE}/captures", json=body, headers=api_key.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


# --- the example plugin, installed ----------------------------------------------------------


def test_example_plugin_imports_only_the_public_surface():
    tree = ast.parse(EXAMPLE_SOURCE.read_text(encoding="utf-8"))
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("scanserve")
    }
    imported |= {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name.startswith("scanserve")
    }
    assert imported == {"scanserve"}  # the short import: hookimpl and the documented types


def test_example_gtin_has_a_valid_check_digit():
    gtin = Gtin.parse(EXAMPLE_GTIN)  # biip raises on a wrong check digit
    assert gtin.value == EXAMPLE_GTIN
    assert Gtin.parse(EXAMPLE_UPC).as_gtin_14() == EXAMPLE_GTIN


@needs_example
def test_entry_point_plugin_is_discovered_before_the_builtins(tmp_path):
    settings = Settings(
        load_entrypoint_plugins=True, data_dir=tmp_path, disabled_plugins=OTHER_ENTRY_POINTS
    )
    pm = build_plugin_manager(settings)
    infos = describe(pm)
    names = [info.name for info in infos]
    assert (
        PluginInfo(
            name="example",
            version="0.1.0",
            hooks=("capture_finished", "register_lookup_providers"),
            builtin=False,
        )
        in infos
    )
    assert names.index("example") < min(names.index(name) for name in BUILTIN_PLUGINS)
    # Its provider sits between the catalog (tryfirst) and Open Food Facts (trylast, off here).
    providers = Plugins(pm, settings).lookup_providers
    assert [(p.name, p.external) for p in providers] == [
        ("catalog", False),
        ("example-lookup", False),
    ]


@needs_example
def test_entry_point_plugins_can_be_switched_off(tmp_path):
    pm = build_plugin_manager(Settings(load_entrypoint_plugins=False, data_dir=tmp_path))
    assert "example" not in {info.name for info in describe(pm)}


def _run_plugins_list(tmp_path: Path, *args: str, **env: str) -> str:
    """``scanserve plugins list`` in a process of its own, which discovers the installed
    plugins through their entry points (test_packaging.py runs the console script itself)."""
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("SCANSERVE_")}
    clean.update(SCANSERVE_DATA_DIR=str(tmp_path / "data"), **env)
    result = run_command(["plugins", "list", *args], clean, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _plugins_list(tmp_path: Path, **env: str) -> dict[str, list[str]]:
    """The first table of `plugins list`: plugin name -> [version, builtin, hooks]."""
    plugins, _providers, _extractors = _run_plugins_list(tmp_path, **env).split("\n\n")
    header, *rows = plugins.splitlines()
    assert header.split("\t") == ["NAME", "VERSION", "BUILTIN", "HOOKS"]
    return {row.split("\t")[0]: row.split("\t")[1:] for row in rows}


def _providers_list(tmp_path: Path, **env: str) -> list[list[str]]:
    """The second table of `plugins list`: [kind, order, provider, plugin] rows."""
    _plugins, providers, _extractors = _run_plugins_list(tmp_path, **env).split("\n\n")
    header, *rows = providers.splitlines()
    assert header.split("\t") == ["KIND", "ORDER", "PROVIDER", "PLUGIN"]
    return [row.split("\t") for row in rows]


@needs_example
def test_cli_lists_the_example_plugin_with_its_version_and_hooks(tmp_path):
    listed = _plugins_list(tmp_path)
    assert listed["example"] == ["0.1.0", "no", "capture_finished,register_lookup_providers"]
    version = importlib.metadata.version("scanserve")
    for name in BUILTIN_PLUGINS:
        assert listed[name][:2] == [version, "yes"], name
    assert listed["scanserve.plugins.builtin.freshness"][2] == "freshness_thresholds"


@needs_example
def test_cli_honours_disabled_plugins_from_the_environment(tmp_path):
    listed = _plugins_list(tmp_path, SCANSERVE_DISABLED_PLUGINS='["example", "qr"]')
    assert "example" not in listed
    assert "scanserve.plugins.builtin.qr" not in listed
    assert "scanserve.plugins.builtin.catalog" in listed


@needs_example
@WITH_ENTRY_POINTS
def test_example_plugin_takes_part_in_the_pipeline(
    scanserve_client, api_key, session_id, tmp_path, monkeypatch
):
    events = tmp_path / "events.jsonl"
    monkeypatch.setenv(EVENTS_FILE_VARIABLE, str(events))
    body = capture(scanserve_client, api_key, session_id, EXAMPLE_UPC)
    assert body["status"] == "COMPLETED", body
    assert body["gtin"] == EXAMPLE_GTIN
    assert body["product_name"] == "Example Plugin Widget"
    lines = events.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [{"id": body["id"], "status": "COMPLETED"}]


@needs_example
@settings_with(load_entrypoint_plugins=True, disabled_plugins=["example", *OTHER_ENTRY_POINTS])
def test_disabled_entry_point_plugin_is_not_loaded(
    scanserve_app, scanserve_client, api_key, session_id, tmp_path, monkeypatch
):
    events = tmp_path / "events.jsonl"
    monkeypatch.setenv(EVENTS_FILE_VARIABLE, str(events))
    names = {info.name for info in scanserve_app.services.plugins.describe()}
    assert "example" not in names
    assert set(BUILTIN_PLUGINS) <= names
    body = capture(scanserve_client, api_key, session_id, EXAMPLE_UPC)
    assert body["status"] == "NOT_FOUND", body
    assert not events.exists()


# --- built-ins are loaded by name ------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def _imported_modules(path: Path, package: str) -> set[str]:
    """Every module ``path`` imports (at the top, in functions, under TYPE_CHECKING), as an
    absolute name; ``package`` is the package ``path`` is in."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found |= {module} | {f"{module}.{alias.name}" for alias in node.names}
    return found


def test_the_core_never_imports_a_builtin_plugin():
    """The core (and the plugin manager and interface) reach built-ins only by name, through
    the plugin manager, as datasette loads its default plugins."""
    sources = [
        (path, ".".join(["scanserve", *path.relative_to(ROOT / "core").parent.parts]))
        for path in (ROOT / "core").rglob("*.py")
    ]
    sources += [(p, "scanserve.plugins") for p in (ROOT / "plugins").glob("*.py")]
    offenders = {
        f"{path.relative_to(ROOT)}: {module}"
        for path, package in sources
        for module in _imported_modules(path, package)
        if module.startswith("scanserve.plugins.builtin")
    }
    assert not offenders


# --- disabling built-ins and loud failures --------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "qr",
        "scanserve.plugins.builtin.qr",
        # its former name (qr_plugin.py beside qr.py) still disables it
        "qr_plugin",
        "scanserve.plugins.builtin.qr_plugin",
    ],
)
def test_a_builtin_can_be_disabled_by_name(tmp_path, name, caplog):
    settings = Settings(data_dir=tmp_path, load_entrypoint_plugins=False, disabled_plugins=[name])
    pm = build_plugin_manager(settings)
    names = [info.name for info in describe(pm)]
    assert "scanserve.plugins.builtin.qr" not in names
    assert names == [n for n in BUILTIN_PLUGINS if not n.endswith(".qr")]
    assert Plugins(pm, settings).qr_resolvers == []
    assert "SCANSERVE_DISABLED_PLUGINS" not in caplog.text  # a known name: no warning


@pytest.mark.parametrize(
    ("former", "current"),
    [
        ("freshness_plugin", "scanserve.plugins.builtin.freshness"),
        (
            "scanserve.plugins.builtin.openfoodfacts_plugin",
            "scanserve.plugins.builtin.openfoodfacts",
        ),
    ],
)
def test_the_former_names_of_builtins_still_disable_them(tmp_path, former, current):
    settings = Settings(
        data_dir=tmp_path, load_entrypoint_plugins=False, disabled_plugins=[former]
    )
    names = [info.name for info in describe(build_plugin_manager(settings))]
    assert names == [n for n in BUILTIN_PLUGINS if n != current]


class MisspeltHook:
    @hookimpl
    def register_lookup_provider(self, register, settings):  # the spec is ..._providers
        raise AssertionError("never called")


class WrongArgument:
    @hookimpl
    def capture_finished(self, capture_dict):  # the spec's argument is `capture`
        raise AssertionError("never called")


@pytest.mark.parametrize(
    ("plugin", "message"),
    [(MisspeltHook(), "register_lookup_provider"), (WrongArgument(), "capture_dict")],
    ids=["misspelt-hook", "unknown-argument"],
)
def test_a_wrong_hookimpl_fails_loudly_at_start_up(tmp_path, plugin, message):
    settings = Settings(data_dir=tmp_path, load_entrypoint_plugins=False)
    with pytest.raises(pluggy.PluginValidationError, match=message):
        build_plugin_manager(settings, extra_plugins=[plugin])


# --- providers that fail --------------------------------------------------------------------


@dataclass
class InOrder:
    """Registers its providers in the order given (pluggy calls separately registered plugins
    last-registered first, so one plugin keeps the order explicit)."""

    providers: list[LookupProvider]

    @hookimpl
    def register_lookup_providers(self, register: Callable[[LookupProvider], None]) -> None:
        for provider in self.providers:
            register(provider)


@dataclass
class SlowProvider:
    """Answers only when released: longer than the pipeline waits."""

    name: str = "slow-lookup"
    external: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    asked: list[str] = field(default_factory=list)

    def lookup(self, gtin: str) -> ProductRecord | None:
        self.asked.append(gtin)
        self.release.wait(10)
        return ProductRecord(gtin=gtin, name="Too late")


@pytest.fixture
def slow() -> Iterator[SlowProvider]:
    provider = SlowProvider()
    yield provider
    provider.release.set()  # let the abandoned helper thread end


@pytest.fixture
def flaky() -> FakeLookupProvider:
    return FakeLookupProvider(
        {OTHER_GTIN: ProviderError("upstream said 500")}, name="flaky-lookup"
    )


@pytest.fixture
def good() -> FakeLookupProvider:
    return FakeLookupProvider(
        {OTHER_GTIN: ProductRecord(gtin=OTHER_GTIN, name="Organic Whole Milk 1 L")},
        name="good-lookup",
    )


# Plugins join before the app is built (its provider lists are made at start-up), so these
# fixtures come before scanserve_client in each test's arguments.


@pytest.fixture
def all_failing(scanserve_plugins, flaky, slow) -> None:
    scanserve_plugins.append(InOrder([flaky, slow]))


@pytest.fixture
def failing_then_good(scanserve_plugins, flaky, slow, good) -> None:
    scanserve_plugins.append(InOrder([flaky, slow, good]))


@settings_with(provider_timeout_seconds=0.2)
def test_every_failing_provider_is_named_when_all_fail(
    all_failing, flaky, slow, scanserve_client, api_key, session_id
):
    body = capture(scanserve_client, api_key, session_id, OTHER_GTIN)
    assert body["status"] == "FAILED", body
    message = body["error_message"]
    assert "flaky-lookup: upstream said 500" in message
    assert "slow-lookup: no answer within 0.2 s" in message
    assert flaky.asked == slow.asked == [OTHER_GTIN]


@settings_with(provider_timeout_seconds=0.2)
def test_a_later_provider_that_answers_still_wins(
    failing_then_good, flaky, slow, good, scanserve_client, api_key, session_id, caplog
):
    with caplog.at_level("WARNING", logger="scanserve.pipeline"):
        body = capture(scanserve_client, api_key, session_id, OTHER_GTIN)
    assert body["status"] == "COMPLETED", body
    assert body["product_name"] == "Organic Whole Milk 1 L"
    assert body["error_message"] == ""
    assert flaky.asked == slow.asked == good.asked == [OTHER_GTIN]
    # The failures were recorded (logged) on the way, naming each provider.
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "flaky-lookup" in logged
    assert "slow-lookup" in logged


@dataclass
class ThreadNoting:
    """Notes the thread each lookup runs on; ``in_process`` as the test sets it."""

    name: str
    in_process: bool
    external: bool = False
    threads: list[str] = field(default_factory=list)

    def lookup(self, gtin: str) -> ProductRecord | None:
        self.threads.append(threading.current_thread().name)
        return None


@pytest.fixture
def local_and_remote(scanserve_plugins) -> tuple[ThreadNoting, ThreadNoting]:
    local = ThreadNoting("local-lookup", in_process=True)
    remote = ThreadNoting("remote-lookup", in_process=False)
    scanserve_plugins.append(InOrder([local, remote]))
    return local, remote


def test_an_in_process_provider_is_called_directly(
    local_and_remote, scanserve_client, api_key, session_id
):
    """``in_process = True`` (the catalog's flag) skips the helper thread and its deadline;
    any other provider is called in a ``scanserve-provider`` thread."""
    local, remote = local_and_remote
    body = capture(scanserve_client, api_key, session_id, OTHER_GTIN)
    assert body["status"] == "NOT_FOUND", body
    assert len(local.threads) == len(remote.threads) == 1
    assert not local.threads[0].startswith("scanserve-provider")
    assert remote.threads[0].startswith("scanserve-provider")


# --- first-answer hook: freshness -----------------------------------------------------------


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@dataclass
class ColdChainPolicy:
    """Answers for one GTIN and lets the built-in answer the rest. Takes only the argument it
    needs: pluggy passes an implementation the subset it names."""

    gtin: str
    asked: list[str] = field(default_factory=list)
    claims: str = "plugin"  # the source it sets: whatever it is, the API says "plugin"
    on_event_loop: list[bool] = field(default_factory=list)

    @hookimpl
    def freshness_thresholds(self, gtin: str) -> Thresholds | None:
        self.asked.append(gtin)
        self.on_event_loop.append(_on_event_loop())
        if gtin != self.gtin:
            return None
        return Thresholds(
            warning_days=4,
            critical_days=1,
            category_label="Cold chain (example policy plugin)",
            source=self.claims,
        )


@pytest.fixture
def policy(scanserve_plugins) -> ColdChainPolicy:
    plugin = ColdChainPolicy(OTHER_GTIN)
    scanserve_plugins.append(plugin)
    return plugin


def test_builtin_freshness_answers_on_the_event_loop(scanserve_client, monkeypatch):
    """With only the built-in provider (in memory) and SQLite, no worker thread is needed;
    an installed plugin is asked from one (below)."""
    from scanserve.plugins.builtin import freshness

    seen: list[bool] = []
    original = freshness.resolve_thresholds

    def spy(*args: Any, **kwargs: Any) -> Thresholds:
        seen.append(_on_event_loop())
        return original(*args, **kwargs)

    monkeypatch.setattr(freshness, "resolve_thresholds", spy)
    response = scanserve_client.get(f"{BASE}/freshness-thresholds", params={"gtin": OTHER_GTIN})
    assert response.status_code == 200
    assert seen == [True]


def test_a_freshness_plugin_is_asked_from_a_worker_thread(policy, scanserve_client):
    response = scanserve_client.get(f"{BASE}/freshness-thresholds", params={"gtin": OTHER_GTIN})
    assert response.status_code == 200
    assert policy.on_event_loop == [False]  # a plugin may block: never on the loop


def test_a_plugin_answering_freshness_wins_over_the_builtin(policy, scanserve_client):
    response = scanserve_client.get(
        f"{BASE}/freshness-thresholds", params={"gtin": "9506000-134352"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "warningDays": 4,
        "criticalDays": 1,
        "categoryLabel": "Cold chain (example policy plugin)",
        "source": "plugin",
        "pluginName": "ColdChainPolicy",  # an in-process plugin is named after its class
    }
    assert policy.asked == [OTHER_GTIN]  # given the normalised GTIN-14


def test_a_plugin_returning_none_falls_through_to_the_builtin(policy, scanserve_client):
    response = scanserve_client.get(
        f"{BASE}/freshness-thresholds", params={"gtin": "4006381333931"}
    )
    assert response.status_code == 200, response.text
    builtin = resolve_thresholds("", catalog=default_catalog())  # an unknown product: no brick
    assert response.json() == {
        "warningDays": builtin.warning_days,
        "criticalDays": builtin.critical_days,
        "categoryLabel": builtin.category_label,
        "source": builtin.source,
    }
    assert policy.asked == ["04006381333931"]


@pytest.fixture
def liar(scanserve_plugins) -> None:
    scanserve_plugins.append(ColdChainPolicy(OTHER_GTIN, claims="org-override"))


def test_a_plugin_cannot_claim_a_layer_it_is_not(liar, scanserve_client):
    body = scanserve_client.get(f"{BASE}/freshness-thresholds", params={"gtin": OTHER_GTIN}).json()
    assert (body["source"], body["pluginName"]) == ("plugin", "ColdChainPolicy")


def _org_fallback_rule(api_key: Any) -> None:
    models.FreshnessRule.create(
        organization=api_key.org_id,
        scope="fallback",
        code="",
        warning_days=9,
        critical_days=3,
        label="Our shop's default",
    )


def test_organisation_rules_answer_before_plugins_by_default(policy, scanserve_client, api_key):
    _org_fallback_rule(api_key)
    response = scanserve_client.get(
        f"{BASE}/freshness-thresholds", params={"gtin": OTHER_GTIN}, headers=api_key.headers
    )
    assert response.json() == {
        "warningDays": 9,
        "criticalDays": 3,
        "categoryLabel": "Our shop's default",
        "source": "org-fallback",
    }
    assert policy.asked == []  # the plugin was not asked at all
    # Anonymous callers have no organisation rules: the plugin answers.
    anonymous = scanserve_client.get(f"{BASE}/freshness-thresholds", params={"gtin": OTHER_GTIN})
    assert anonymous.json()["source"] == "plugin"


@settings_with(freshness_order="plugins-first")
def test_plugins_first_lets_a_plugin_answer_before_organisation_rules(
    policy, scanserve_client, api_key
):
    _org_fallback_rule(api_key)
    mine = scanserve_client.get(
        f"{BASE}/freshness-thresholds", params={"gtin": OTHER_GTIN}, headers=api_key.headers
    ).json()
    assert (mine["source"], mine["pluginName"]) == ("plugin", "ColdChainPolicy")
    # For products the plugin does not handle, the organisation's rules still come next.
    other = scanserve_client.get(
        f"{BASE}/freshness-thresholds", params={"gtin": "4006381333931"}, headers=api_key.headers
    ).json()
    assert other["source"] == "org-fallback"


class BrokenPolicy:
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    @hookimpl
    def freshness_thresholds(self, gtin: str) -> Any:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.fixture
def broken(request, scanserve_plugins) -> None:
    scanserve_plugins.append(BrokenPolicy(request.param))


@pytest.mark.parametrize(
    "broken",
    [
        RuntimeError("the policy service is down"),
        Thresholds(warning_days=1, critical_days=5, category_label="Backwards"),
        Thresholds(warning_days=5, critical_days=1, category_label=" "),
        Thresholds(warning_days=-1, critical_days=-2, category_label="Negative"),
        {"warningDays": 3},
    ],
    ids=["raises", "critical-above-warning", "empty-label", "negative", "not-thresholds"],
    indirect=True,
)
def test_a_broken_freshness_plugin_is_logged_and_skipped(broken, scanserve_client, caplog):
    with caplog.at_level("ERROR", logger="scanserve.plugins"):
        response = scanserve_client.get(
            f"{BASE}/freshness-thresholds", params={"gtin": OTHER_GTIN}
        )
    assert response.status_code == 200, response.text
    assert response.json()["source"] != "plugin"  # the built-in layers answered
    assert "BrokenPolicy failed in freshness_thresholds" in caplog.text


# --- listing providers: CLI and API ---------------------------------------------------------


@dataclass
class Listed:
    """Registers two QR resolvers and answers freshness, to show up in every list."""

    @hookimpl
    def register_qr_resolvers(self, register: Callable[[Any], None]) -> None:
        register(FakeQrResolver(name="first-qr"))
        register(FakeQrResolver(name="second-qr"))

    @hookimpl
    def freshness_thresholds(self) -> None:
        return None


def test_providers_are_listed_by_kind_in_asking_order(tmp_path):
    settings = Settings(data_dir=tmp_path, load_entrypoint_plugins=False)
    pm = build_plugin_manager(settings, extra_plugins=[Listed(), FakeLookupProvider()])
    plugins = Plugins(pm, settings)
    builtin_extractors = "scanserve.plugins.builtin.extractors"
    tesseract = _availability("tesseract-ocr", plugins)
    assert plugins.describe_providers() == [
        ProviderInfo("lookup", 1, "catalog", "scanserve.plugins.builtin.catalog"),
        ProviderInfo("lookup", 2, "fake-lookup", "FakeLookupProvider"),
        ProviderInfo("enrichment", 1, "gpc-labels", "scanserve.plugins.builtin.gpc_enrichment"),
        ProviderInfo("qr-resolver", 1, "first-qr", "Listed"),
        ProviderInfo("qr-resolver", 2, "second-qr", "Listed"),
        ProviderInfo("qr-resolver", 3, "redirect-follower", "scanserve.plugins.builtin.qr"),
        ProviderInfo("freshness", 1, "Listed", "Listed"),
        ProviderInfo(
            "freshness",
            2,
            "scanserve.plugins.builtin.freshness",
            "scanserve.plugins.builtin.freshness",
        ),
        ProviderInfo("extractor", 1, "barcode", builtin_extractors, ("barcode",)),
        ProviderInfo(
            "extractor", 2, "rapidocr", builtin_extractors, ("ingredients", "nutrition"), ""
        ),
        ProviderInfo(
            "extractor",
            3,
            "tesseract-ocr",
            builtin_extractors,
            ("ingredients", "nutrition"),
            tesseract,
        ),
        ProviderInfo(
            "extractor",
            4,
            "lookup-data",
            builtin_extractors,
            (),
            "no outside lookup provider is configured",  # FakeLookupProvider is not external
        ),
    ]
    # The lists the pipeline uses are in the same order.
    assert [p.name for p in plugins.qr_resolvers] == [
        "first-qr",
        "second-qr",
        "redirect-follower",
    ]


@needs_example
def test_cli_lists_each_provider_with_its_kind_and_order(tmp_path):
    rows = _providers_list(tmp_path, SCANSERVE_DISABLED_PLUGINS=json.dumps(OTHER_ENTRY_POINTS))
    assert rows == [
        ["lookup", "1", "catalog", "scanserve.plugins.builtin.catalog"],
        ["lookup", "2", "example-lookup", "example"],
        ["enrichment", "1", "gpc-labels", "scanserve.plugins.builtin.gpc_enrichment"],
        ["qr-resolver", "1", "redirect-follower", "scanserve.plugins.builtin.qr"],
        [
            "freshness",
            "1",
            "scanserve.plugins.builtin.freshness",
            "scanserve.plugins.builtin.freshness",
        ],
        ["extractor", "1", "barcode", "scanserve.plugins.builtin.extractors"],
        ["extractor", "2", "rapidocr", "scanserve.plugins.builtin.extractors"],
        ["extractor", "3", "tesseract-ocr", "scanserve.plugins.builtin.extractors"],
        ["extractor", "4", "lookup-data", "scanserve.plugins.builtin.extractors"],
    ]


@needs_example
@WITH_ENTRY_POINTS
def test_the_api_lists_what_the_cli_lists(scanserve_client, api_key, tmp_path):
    response = scanserve_client.get(f"{BASE}/plugins", headers=api_key.headers)
    assert response.status_code == 200, response.text
    cli = _run_plugins_list(
        tmp_path, "--json", SCANSERVE_DISABLED_PLUGINS=json.dumps(OTHER_ENTRY_POINTS)
    )
    assert response.json() == json.loads(cli)
    assert {"kind": "lookup", "order": 2, "name": "example-lookup", "plugin": "example"} in (
        response.json()["providers"]
    )


def test_the_plugin_list_needs_credentials(scanserve_app, scanserve_client):
    response = scanserve_client.get(f"{BASE}/plugins")
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.fixture
def listed(scanserve_plugins) -> None:
    scanserve_plugins.append(Listed())


def test_the_api_lists_in_process_plugins(listed, scanserve_app, scanserve_client, api_key):
    body = scanserve_client.get(f"{BASE}/plugins", headers=api_key.headers).json()
    assert body == plugin_list_view(scanserve_app.services.plugins)
    names = [p["name"] for p in body["plugins"]]
    assert names == [*BUILTIN_PLUGINS, "Listed"]
    assert [p for p in body["providers"] if p["plugin"] == "Listed"] == [
        {"kind": "qr-resolver", "order": 1, "name": "first-qr", "plugin": "Listed"},
        {"kind": "qr-resolver", "order": 2, "name": "second-qr", "plugin": "Listed"},
        {"kind": "freshness", "order": 1, "name": "Listed", "plugin": "Listed"},
    ]


# --- listing extractors ---------------------------------------------------------------------


def _availability(name: str, plugins: Plugins) -> str:
    """What the manager's availability check says of the registered extractor ``name``."""
    (extractor,) = (e for e in plugins.extractors if e.name == name)
    return unavailable_reason(extractor)


def test_builtin_extractors_are_listed_with_their_availability_here(
    scanserve_settings, scanserve_app, scanserve_client, api_key
):
    assert scanserve_settings.validate_responses  # the answer passed the contract's schema
    response = scanserve_client.get(f"{BASE}/plugins", headers=api_key.headers)
    assert response.status_code == 200, response.text
    listed = [p for p in response.json()["providers"] if p["kind"] == "extractor"]
    assert [(p["order"], p["name"], p["plugin"], p["photo_types"]) for p in listed] == [
        (1, "barcode", "scanserve.plugins.builtin.extractors", ["barcode"]),
        (2, "rapidocr", "scanserve.plugins.builtin.extractors", ["ingredients", "nutrition"]),
        (3, "tesseract-ocr", "scanserve.plugins.builtin.extractors", ["ingredients", "nutrition"]),
        (4, "lookup-data", "scanserve.plugins.builtin.extractors", []),
    ]
    plugins = scanserve_app.services.plugins
    for entry in listed:
        reason = _availability(entry["name"], plugins)
        assert entry["available"] is (reason == ""), entry
        assert entry.get("unavailable_reason") == (reason or None), entry
    # RapidOCR, installed with scanserve, is the OCR engine by default; Tesseract is not
    # asked, whether or not this machine has the program.
    assert listed[1]["available"] is True
    assert listed[2]["unavailable_reason"] == (
        "another OCR engine is configured (SCANSERVE_OCR_ENGINE)"
    )
    # No outside lookup provider in the test settings (Open Food Facts is off).
    assert listed[3]["unavailable_reason"] == "no outside lookup provider is configured"
    # openai-vision is off unless configured: it registers nothing, so it is not listed.
    assert "openai-vision" not in {p["name"] for p in listed}


class LabelReader:
    name = "label-reader"
    photo_types = frozenset({"recycling", "certification"})

    def unavailable_reason(self) -> None:
        return None

    def extract(self, item: Any) -> list[Any]:
        return []


class LicensedSummary:
    """A product extractor that needs a licence this machine has not got."""

    name = "licensed-summary"
    photo_types: frozenset[str] = frozenset()

    def unavailable_reason(self) -> str:
        return "no licence key in SUMMARY_LICENCE"

    def extract(self, item: Any) -> list[Any]:
        raise AssertionError("an unavailable extractor is never called")


class BrokenCheck:
    name = "broken-check"
    photo_types = frozenset({"front"})

    def unavailable_reason(self) -> str:
        raise OSError("device not found")

    def extract(self, item: Any) -> list[Any]:
        return []


class ShelfVision:
    """A plugin registering three extractors, as a plugin author's first one would."""

    @hookimpl
    def register_extractors(self, register: Callable[[Any], None]) -> None:
        register(LabelReader())
        register(LicensedSummary())
        register(BrokenCheck())


@pytest.fixture
def shelf_vision(scanserve_plugins) -> None:
    scanserve_plugins.append(ShelfVision())


@settings_with(validate_responses=True)
def test_a_plugins_extractors_are_listed_with_its_name(
    shelf_vision, scanserve_app, scanserve_client, api_key
):
    response = scanserve_client.get(f"{BASE}/plugins", headers=api_key.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == plugin_list_view(scanserve_app.services.plugins)
    (plugin,) = (p for p in body["plugins"] if p["name"] == "ShelfVision")
    assert plugin["hooks"] == ["register_extractors"]
    extractors = [p for p in body["providers"] if p["kind"] == "extractor"]
    # The plugin's extractors run before the built-ins (trylast), in the order registered.
    assert extractors[:3] == [
        {
            "kind": "extractor",
            "order": 1,
            "name": "label-reader",
            "plugin": "ShelfVision",
            "photo_types": ["certification", "recycling"],
            "available": True,
        },
        {
            "kind": "extractor",
            "order": 2,
            "name": "licensed-summary",
            "plugin": "ShelfVision",
            "photo_types": [],
            "available": False,
            "unavailable_reason": "no licence key in SUMMARY_LICENCE",
        },
        {
            "kind": "extractor",
            "order": 3,
            "name": "broken-check",
            "plugin": "ShelfVision",
            "photo_types": ["front"],
            "available": False,
            "unavailable_reason": "availability check failed: device not found",
        },
    ]
    assert [p["name"] for p in extractors[3:]] == [
        "barcode",
        "rapidocr",
        "tesseract-ocr",
        "lookup-data",
    ]
    assert [p["order"] for p in extractors] == [1, 2, 3, 4, 5, 6, 7]
    # The listing's order is the one extraction runs them in.
    names = [e.name for e in scanserve_app.services.plugins.extractors]
    assert names == [p["name"] for p in extractors]
    # Only extractors carry the extractor members.
    for provider in body["providers"]:
        if provider["kind"] != "extractor":
            assert set(provider) == {"kind", "order", "name", "plugin"}, provider


def test_command_line_text_and_json_list_the_same_extractors(tmp_path):
    # A real executable standing in for Tesseract (availability only asks whether it is
    # there), so the listing has an available and an unavailable extractor on any machine.
    program = tmp_path / "bin" / "fake-tesseract"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    program.chmod(0o755)
    env = {
        "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
        "SCANSERVE_OCR_ENGINE": "tesseract",
        "SCANSERVE_TESSERACT_CMD": str(program),
    }
    report_json = json.loads(_run_plugins_list(tmp_path, "--json", **env))
    _plugins, providers, extractors = _run_plugins_list(tmp_path, **env).split("\n\n")

    header, *rows = providers.splitlines()
    assert header.split("\t") == ["KIND", "ORDER", "PROVIDER", "PLUGIN"]
    assert [row.split("\t") for row in rows] == [
        [p["kind"], str(p["order"]), p["name"], p["plugin"]] for p in report_json["providers"]
    ]

    listed = [p for p in report_json["providers"] if p["kind"] == "extractor"]
    header, *rows = extractors.splitlines()
    assert header.split("\t") == ["EXTRACTOR", "PHOTO TYPES", "STATUS"]
    assert [row.split("\t") for row in rows] == [
        [
            p["name"],
            ",".join(p["photo_types"]) or "(product)",
            "available" if p["available"] else f"unavailable: {p['unavailable_reason']}",
        ]
        for p in listed
    ]
    assert [row.split("\t") for row in rows] == [
        ["barcode", "barcode", "available"],
        [
            "rapidocr",
            "ingredients,nutrition",
            "unavailable: another OCR engine is configured (SCANSERVE_OCR_ENGINE)",
        ],
        ["tesseract-ocr", "ingredients,nutrition", "available"],
        ["lookup-data", "(product)", "unavailable: no outside lookup provider is configured"],
    ]

    env["SCANSERVE_TESSERACT_CMD"] = str(tmp_path / "bin" / "no-such-tesseract")
    report_json = json.loads(_run_plugins_list(tmp_path, "--json", **env))
    (tesseract,) = (p for p in report_json["providers"] if p["name"] == "tesseract-ocr")
    assert tesseract["available"] is False
    assert tesseract["unavailable_reason"].startswith(
        f"the Tesseract program '{tmp_path / 'bin' / 'no-such-tesseract'}' is not installed"
    )
