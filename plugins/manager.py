"""Building the plugin manager, and the small typed facade the core calls.

Load order (as in tox): plugins installed under the ``scanserve`` entry-point group, then
the built-in providers, then any objects the app factory was given (``extra_plugins``, for
tests and embedding), then ``check_pending()`` so a misspelt hook fails loudly at start-up.
``settings.disabled_plugins`` names plugins (entry-point names or built-in names) that are
not loaded; ``settings.load_entrypoint_plugins = False`` loads none from entry points.
The core never touches ``pm.hook`` directly; it calls :class:`Plugins`.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.metadata
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from scanserve.domain.freshness_layers import BUILT_IN, default_catalog, org_thresholds
from scanserve.infra import metrics, tracing
from scanserve.plugins import hookspecs
from scanserve.plugins.providers import (
    EnrichmentProvider,
    Extractor,
    LookupProvider,
    OrgRule,
    QrResolver,
    Thresholds,
)

if TYPE_CHECKING:
    from scanserve.settings import Settings

logger = logging.getLogger("scanserve.plugins")

BUILTIN_PLUGINS: tuple[str, ...] = (
    "scanserve.plugins.builtin.catalog",
    "scanserve.plugins.builtin.openfoodfacts",
    "scanserve.plugins.builtin.qr",
    "scanserve.plugins.builtin.freshness",
    "scanserve.plugins.builtin.gpc_enrichment",
    "scanserve.plugins.builtin.extractors",
    "scanserve.plugins.builtin.openai_vision",
)

_BUILTIN = "scanserve.plugins.builtin."
#: Former names of built-ins (each provider had a ``*_plugin`` module beside its
#: implementation), still accepted in ``disabled_plugins``: a configuration that disabled one
#: keeps it disabled.
_FORMER_NAMES: dict[str, str] = {
    f"{_BUILTIN}{old}": f"{_BUILTIN}{new}"
    for old, new in (
        ("freshness_plugin", "freshness"),
        ("openfoodfacts_plugin", "openfoodfacts"),
        ("qr_plugin", "qr"),
    )
}


def _disabled(settings: Settings) -> list[str]:
    """``settings.disabled_plugins``, with the current name of a built-in named by its former
    name (short or full) added."""
    names = list(settings.disabled_plugins)
    for name in settings.disabled_plugins:
        current = _FORMER_NAMES.get(name) or _FORMER_NAMES.get(_BUILTIN + name)
        if current is not None:
            names.append(current)
    return names


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    hooks: tuple[str, ...]
    builtin: bool


@dataclass(frozen=True)
class ProviderInfo:
    """One registered provider: ``order`` counts from 1 within its ``kind``. An extractor
    also has the photo types routed to it (empty: a product extractor, run once per capture
    with a product) and why it cannot run here (``unavailable``, "" when it can); the other
    kinds leave both empty."""

    kind: str  # "lookup", "enrichment", "qr-resolver", "freshness" or "extractor"
    order: int
    name: str
    plugin: str
    photo_types: tuple[str, ...] = ()
    unavailable: str = ""


class PluginProblem(pluggy.PluginValidationError):
    """A plugin cannot be loaded (a misspelt hook, a hook with wrong arguments) or refuses to
    start (its ``register_*`` hook raised, as a plugin does on a bad configuration); the
    message is one line naming the plugin, the hook and what is wrong."""


def _name_of(pm: pluggy.PluginManager, plugin: object) -> str:
    name = pm.get_name(plugin)
    if name and not name.isdigit():  # objects registered without a name get their id()
        return name
    return getattr(plugin, "__name__", "") or type(plugin).__name__


def _problem(pm: pluggy.PluginManager, exc: pluggy.PluginValidationError) -> PluginProblem:
    message = str(exc)
    unknown = re.search(r"unknown hook '([^']+)'", message)
    if unknown:
        hook = unknown.group(1)
        marker = f"{hookspecs.PROJECT_NAME}_spec"
        known = [name for name, fn in vars(hookspecs).items() if hasattr(fn, marker)]
        close = difflib.get_close_matches(hook, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        message = f"implements {hook!r}, which is not a scanserve hook{hint}"
    else:  # pluggy's message spans lines and repeats the plugin's repr
        message = " ".join(line.strip() for line in message.splitlines()[1:] or [message])
    name = _name_of(pm, exc.plugin)
    return PluginProblem(exc.plugin, f"plugin {name!r} cannot be loaded: {message}")


def _refusal(plugin_name: str, hook_name: str, exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    reason = lines[0] if lines else ""
    # ValueError is what a plugin raises for its configuration; any other type is a bug,
    # and its type says more than its message.
    if not isinstance(exc, ValueError) or not reason:
        reason = f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__
    short = plugin_name.removeprefix(_BUILTIN)
    message = f"plugin {short!r} cannot start ({hook_name} raised): {reason}"
    if plugin_name in BUILTIN_PLUGINS:  # its message names the setting to fix
        return message
    return f"{message} (or disable it: SCANSERVE_DISABLED_PLUGINS='[\"{short}\"]')"


def _warn_unmatched_disabled(settings: Settings) -> None:
    if not settings.disabled_plugins:  # (reading every installed package's entry points
        return  # takes longer than the rest of building the plugin manager)
    known = {ep.name for ep in importlib.metadata.entry_points(group=hookspecs.PROJECT_NAME)}
    for module_name in (*BUILTIN_PLUGINS, *_FORMER_NAMES):
        known |= {module_name, module_name.rsplit(".", 1)[-1]}
    for name in settings.disabled_plugins:
        if name not in known:
            logger.warning(
                "SCANSERVE_DISABLED_PLUGINS names %r, which is no installed or built-in "
                "plugin (see 'scanserve plugins list')",
                name,
            )


def build_plugin_manager(
    settings: Settings, extra_plugins: Iterable[Any] = ()
) -> pluggy.PluginManager:
    """Raises :class:`PluginProblem` when a plugin cannot be loaded."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    _warn_unmatched_disabled(settings)
    for name in _disabled(settings):
        pm.set_blocked(name)
    try:
        if settings.load_entrypoint_plugins:
            _load_entrypoints(pm)
        for module_name in BUILTIN_PLUGINS:
            short = module_name.rsplit(".", 1)[-1]
            if pm.is_blocked(short) or pm.is_blocked(module_name):
                continue
            module = importlib.import_module(module_name)
            pm.register(module, name=module_name)
        for plugin in extra_plugins:
            pm.register(plugin, name=_name_for(pm, plugin))
        pm.check_pending()
    except PluginProblem:
        raise
    except pluggy.PluginValidationError as exc:
        raise _problem(pm, exc) from exc
    return pm


def _load_entrypoints(pm: pluggy.PluginManager) -> None:
    """pluggy's ``load_setuptools_entrypoints``, with a plugin that cannot be imported (a
    missing dependency, an error in its module) named in one :class:`PluginProblem`."""
    try:
        pm.load_setuptools_entrypoints(hookspecs.PROJECT_NAME)
    except pluggy.PluginValidationError:
        raise
    except Exception as exc:
        # pluggy loads them in this order and registers each at once: the first one neither
        # registered nor blocked is the one that failed.
        names = [
            ep.name
            for dist in importlib.metadata.distributions()
            for ep in dist.entry_points
            if ep.group == hookspecs.PROJECT_NAME
        ]
        failed = next((n for n in names if not pm.has_plugin(n) and not pm.is_blocked(n)), "?")
        lines = str(exc).strip().splitlines()
        reason = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
        logger.debug("plugin %s cannot be imported", failed, exc_info=True)
        raise PluginProblem(
            exc,
            f"plugin {failed!r} cannot be loaded: {reason} (reinstall it, or disable it: "
            f"SCANSERVE_DISABLED_PLUGINS='[\"{failed}\"]')",
        ) from exc


def _name_for(pm: pluggy.PluginManager, plugin: Any) -> str:
    """A readable name for a plugin object given to the app factory: a module's name, else
    its class's (``ColdChainPolicy``, then ``ColdChainPolicy-2``, ...). It is what
    ``scanserve plugins list`` and a freshness answer's ``pluginName`` show."""
    base = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__name__
    name, number = base, 1
    while pm.has_plugin(name):
        number += 1
        name = f"{base}-{number}"
    return name


FRESHNESS_SOURCES = frozenset(
    {"org-override", "org-fallback", "global-default", "global-fallback", "built-in"}
)


def _checked_thresholds(answer: object, plugin_name: str) -> Thresholds:
    """A freshness answer as the API may show it, or ValueError saying what is wrong. A
    plugin's answer is reported as source ``plugin`` with its name; only the built-in layered
    provider names its own layers."""
    if not isinstance(answer, Thresholds):
        raise ValueError(f"returned {type(answer).__name__}, not Thresholds or None")  # noqa: TRY004
    for field in ("warning_days", "critical_days"):
        value = getattr(answer, field)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{field} must be an integer >= 0, got {value!r}")
    if answer.critical_days > answer.warning_days:
        raise ValueError(
            f"critical_days ({answer.critical_days}) > warning_days ({answer.warning_days})"
        )
    if not isinstance(answer.category_label, str) or not answer.category_label.strip():
        raise ValueError("category_label must not be empty")
    if plugin_name in BUILTIN_PLUGINS:
        if answer.source not in FRESHNESS_SOURCES:
            raise ValueError(f"unknown source {answer.source!r}")
        return answer
    return dataclasses.replace(answer, source="plugin", plugin=plugin_name)


class Plugins:
    """What the core asks of the plugins. Provider lists are built once, at start-up."""

    def __init__(self, pm: pluggy.PluginManager, settings: Settings):
        self.pm = pm
        self.freshness_order = settings.freshness_order
        self._described: tuple[PluginInfo, ...] | None = None
        # id(provider) -> the plugin that registered it, for describe_providers().
        self._registered_by: dict[int, str] = {}
        self.lookup_providers: list[LookupProvider] = self._register(
            "register_lookup_providers", settings
        )
        self.enrichment_providers: list[EnrichmentProvider] = self._register(
            "register_enrichment_providers", settings
        )
        self.qr_resolvers: list[QrResolver] = self._register("register_qr_resolvers", settings)
        self.extractors: list[Extractor] = self._register(
            "register_extractors", settings, lookup_providers=tuple(self.lookup_providers)
        )

    def _register(self, hook_name: str, settings: Settings, **extra: Any) -> list[Any]:
        """Call a ``register_*`` hook's implementations in pluggy's order, noting which plugin
        registered each provider. An exception stops start-up, as a hook call would."""
        providers: list[Any] = []
        kwargs = {"settings": settings, **extra}
        for impl in self._call_order(hook_name):

            def register(provider: Any, _plugin: str = impl.plugin_name) -> None:
                providers.append(provider)
                self._registered_by[id(provider)] = _plugin

            try:
                impl.function(
                    **{k: register if k == "register" else kwargs[k] for k in impl.argnames}
                )
            except Exception as exc:
                # A plugin that cannot start says why in its exception's message (the built-in
                # Open Food Facts one names the missing setting); the traceback is for its author.
                logger.debug("plugin %s failed in %s", impl.plugin_name, hook_name, exc_info=True)
                raise PluginProblem(
                    impl.plugin, _refusal(impl.plugin_name, hook_name, exc)
                ) from exc
        return providers

    def analyse_url(self, url: str) -> dict[str, Any] | None:
        """The first registered resolver's answer for ``url`` as a ``qr_analysis`` dict, or
        None when none handles it. A resolver that raises is logged and skipped."""
        for resolver in self.qr_resolvers:
            name = str(getattr(resolver, "name", resolver))
            started = time.perf_counter()
            try:
                with tracing.span(f"qr-resolver {name}", plugin=name, hook="qr-resolver"):
                    result = resolver.resolve(url)
            except Exception:
                metrics.recorder().provider_call(
                    name, "qr-resolver", time.perf_counter() - started, failed=True
                )
                logger.exception("QR resolver %s failed", name)
                continue
            metrics.recorder().provider_call(
                name, "qr-resolver", time.perf_counter() - started, failed=False
            )
            if result is not None:
                return result.as_dict()  # type: ignore[attr-defined, no-any-return]
        return None

    def freshness_thresholds(
        self, gtin: str, brick_code: str, org_rules: Sequence[OrgRule]
    ) -> Thresholds:
        """The first answer, in this order: the organisation's own rules (unless
        ``freshness_order`` is ``plugins-first``), then the hook's implementations as pluggy
        orders them (plugins, then the built-in layers, ``trylast``). An implementation that
        raises or answers something invalid is logged and skipped."""
        if self.freshness_order == "org-rules-first" and org_rules:
            found = org_thresholds(brick_code, catalog=default_catalog(), org_rules=org_rules)
            if found is not None:
                return found
        kwargs = {"gtin": gtin, "brick_code": brick_code, "org_rules": org_rules}
        for impl in self._call_order("freshness_thresholds"):
            try:
                answer = impl.function(**{k: kwargs[k] for k in impl.argnames})
                if answer is None:
                    continue
                return _checked_thresholds(answer, impl.plugin_name)
            except Exception:
                logger.exception("plugin %s failed in freshness_thresholds", impl.plugin_name)
        return BUILT_IN  # only when the built-in was disabled and no plugin answered

    def freshness_in_memory(self) -> bool:
        """Whether every ``freshness_thresholds`` implementation is a built-in one, which
        answers from memory: then the core may ask on the event loop. An installed plugin
        may do I/O, and is asked from a worker thread."""
        return all(
            impl.plugin_name in BUILTIN_PLUGINS
            for impl in self._call_order("freshness_thresholds")
        )

    def _call_order(self, hook_name: str) -> list[Any]:
        # pluggy calls implementations last to first (tryfirst ones, then the others, the
        # last registered first, then trylast ones); wrappers are left out.
        impls = getattr(self.pm.hook, hook_name).get_hookimpls()
        return [i for i in reversed(impls) if not (i.hookwrapper or i.wrapper)]

    def capture_state_changed(self, capture_id: str, old_status: str, new_status: str) -> None:
        self._notify(
            "capture_state_changed",
            capture_id=capture_id,
            old_status=old_status,
            new_status=new_status,
        )

    def capture_finished(self, capture: dict[str, Any]) -> None:
        self._notify("capture_finished", capture=capture)

    def listens(self, hook_name: str) -> bool:
        """Does any plugin implement ``hook_name``? (What only a listener needs, such as the
        capture ``capture_finished`` is given, need not be built for none.)"""
        return bool(self._call_order(hook_name))

    def _notify(self, hook_name: str, **kwargs: Any) -> None:
        for impl in self._call_order(hook_name):
            try:
                impl.function(**{k: kwargs[k] for k in impl.argnames})
            except Exception:
                logger.exception("plugin %s failed in %s", impl.plugin_name, hook_name)

    def describe(self) -> list[PluginInfo]:
        """:func:`describe` of the plugins, read once: they are loaded at start-up and stay,
        and reading their packages' metadata costs milliseconds a call."""
        if self._described is None:
            self._described = tuple(describe(self.pm))
        return list(self._described)

    def describe_providers(self) -> list[ProviderInfo]:
        """Every provider by kind, in the order the core asks them: lookup, enrichment and QR
        providers as registered, then the ``freshness_thresholds`` implementations, then the
        extractors in the order extraction runs them, each checked now for whether it can run
        here (as extraction checks it for each session)."""
        infos: list[ProviderInfo] = []
        lists: dict[str, list[Any]] = {
            "lookup": self.lookup_providers,
            "enrichment": self.enrichment_providers,
            "qr-resolver": self.qr_resolvers,
        }
        for kind, providers in lists.items():
            for order, provider in enumerate(providers, start=1):
                name = str(getattr(provider, "name", type(provider).__name__))
                plugin = self._registered_by.get(id(provider), "")
                infos.append(ProviderInfo(kind, order, name, plugin))
        for order, impl in enumerate(self._call_order("freshness_thresholds"), start=1):
            infos.append(ProviderInfo("freshness", order, impl.plugin_name, impl.plugin_name))
        for order, extractor in enumerate(self.extractors, start=1):
            infos.append(
                ProviderInfo(
                    "extractor",
                    order,
                    str(getattr(extractor, "name", type(extractor).__name__)),
                    self._registered_by.get(id(extractor), ""),
                    photo_types=tuple(sorted(map(str, extractor.photo_types))),
                    unavailable=unavailable_reason(extractor),
                )
            )
        return infos


def unavailable_reason(extractor: Extractor) -> str:
    """Why ``extractor`` cannot run on this machine, or "" when it can (an extractor whose
    check itself fails counts as unavailable)."""
    check = getattr(extractor, "unavailable_reason", None)
    if check is None:
        return ""
    try:
        return str(check() or "")
    except Exception as exc:
        return f"availability check failed: {exc}"


def describe(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Each registered plugin with its version and hooks, in load order."""
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked
            continue
        dist = dists.get(id(plugin))
        hooks = tuple(sorted(h.name for h in pm.get_hookcallers(plugin) or ()))
        builtin = name in BUILTIN_PLUGINS
        if dist is not None:
            version = dist.version
        elif builtin:
            version = importlib.metadata.version("scanserve")
        else:
            version = getattr(plugin, "__version__", "")
        infos.append(PluginInfo(name=name, version=version, hooks=hooks, builtin=builtin))
    return infos
