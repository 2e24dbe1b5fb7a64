"""Building the plugin manager, and the small typed facade the core calls.

Load order (as in tox): plugins installed under the ``scanserve`` entry-point group, then
the built-in providers, then any objects the app factory was given (``extra_plugins``, for
tests and embedding), then ``check_pending()`` so a misspelt hook fails loudly at start-up.
``settings.disabled_plugins`` names plugins (entry-point names or built-in names) that are
not loaded; ``settings.load_entrypoint_plugins = False`` loads none from entry points.
The core never touches ``pm.hook`` directly; it calls :class:`Plugins`.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pluggy

from . import hookspecs
from .providers import EnrichmentProvider, Extractor, LookupProvider, QrResolver, Thresholds

if TYPE_CHECKING:
    from ..settings import Settings
    from .builtin.freshness import OrgRule

logger = logging.getLogger("scanserve.plugins")

BUILTIN_PLUGINS: tuple[str, ...] = (
    "scanserve.plugins.builtin.catalog",
    "scanserve.plugins.builtin.openfoodfacts_plugin",
    "scanserve.plugins.builtin.qr_plugin",
    "scanserve.plugins.builtin.freshness_plugin",
    "scanserve.plugins.builtin.gpc_enrichment",
    "scanserve.plugins.builtin.extractors",
    "scanserve.plugins.builtin.openai_vision",
)


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    hooks: tuple[str, ...]
    builtin: bool


@dataclass(frozen=True)
class ExtractorInfo:
    """A registered extractor: the photo types routed to it (empty: a product extractor) and
    why it cannot run here, or "" when it can."""

    name: str
    photo_types: tuple[str, ...]
    unavailable: str


class PluginProblem(pluggy.PluginValidationError):
    """A plugin cannot be loaded (a misspelt hook, a hook with wrong arguments); the message
    is one line naming the plugin and the hook."""


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


def _warn_unmatched_disabled(settings: Settings) -> None:
    known = {ep.name for ep in importlib.metadata.entry_points(group=hookspecs.PROJECT_NAME)}
    for module_name in BUILTIN_PLUGINS:
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
    for name in settings.disabled_plugins:
        pm.set_blocked(name)
    try:
        if settings.load_entrypoint_plugins:
            pm.load_setuptools_entrypoints(hookspecs.PROJECT_NAME)
        for module_name in BUILTIN_PLUGINS:
            short = module_name.rsplit(".", 1)[-1]
            if pm.is_blocked(short) or pm.is_blocked(module_name):
                continue
            module = importlib.import_module(module_name)
            pm.register(module, name=module_name)
        for plugin in extra_plugins:
            pm.register(plugin)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise _problem(pm, exc) from exc
    return pm


class Plugins:
    """What the core asks of the plugins. Provider lists are built once, at start-up."""

    def __init__(self, pm: pluggy.PluginManager, settings: Settings):
        self.pm = pm
        self.lookup_providers: list[LookupProvider] = []
        self.enrichment_providers: list[EnrichmentProvider] = []
        self.qr_resolvers: list[QrResolver] = []
        pm.hook.register_lookup_providers(register=self.lookup_providers.append, settings=settings)
        pm.hook.register_enrichment_providers(
            register=self.enrichment_providers.append, settings=settings
        )
        pm.hook.register_qr_resolvers(register=self.qr_resolvers.append, settings=settings)
        self.extractors: list[Extractor] = []
        pm.hook.register_extractors(
            register=self.extractors.append,
            settings=settings,
            lookup_providers=tuple(self.lookup_providers),
        )

    def extractor_infos(self) -> list[ExtractorInfo]:
        """Every registered extractor, in order, and whether it can run here."""
        return [
            ExtractorInfo(
                name=extractor.name,
                photo_types=tuple(sorted(extractor.photo_types)),
                unavailable=unavailable_reason(extractor),
            )
            for extractor in self.extractors
        ]

    def analyse_url(self, url: str) -> dict[str, Any] | None:
        """The first registered resolver's answer for ``url`` as a ``qr_analysis`` dict, or
        None when none handles it. A resolver that raises is logged and skipped."""
        for resolver in self.qr_resolvers:
            try:
                result = resolver.resolve(url)
            except Exception:
                logger.exception("QR resolver %s failed", getattr(resolver, "name", resolver))
                continue
            if result is not None:
                return result.as_dict()  # type: ignore[attr-defined, no-any-return]
        return None

    def freshness_thresholds(
        self, gtin: str, brick_code: str, org_rules: Sequence[OrgRule]
    ) -> Thresholds:
        result = self.pm.hook.freshness_thresholds(
            gtin=gtin, brick_code=brick_code, org_rules=org_rules
        )
        if result is None:  # only when the built-in was disabled and no plugin answered
            from .builtin.freshness import BUILT_IN

            return BUILT_IN
        return result  # type: ignore[no-any-return]

    def capture_state_changed(self, capture_id: str, old_status: str, new_status: str) -> None:
        self._notify(
            "capture_state_changed",
            capture_id=capture_id,
            old_status=old_status,
            new_status=new_status,
        )

    def capture_finished(self, capture: dict[str, Any]) -> None:
        self._notify("capture_finished", capture=capture)

    def _notify(self, hook_name: str, **kwargs: Any) -> None:
        hook = getattr(self.pm.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):
            try:
                impl.function(**{k: kwargs[k] for k in impl.argnames})
            except Exception:
                logger.exception("plugin %s failed in %s", impl.plugin_name, hook_name)

    def describe(self) -> list[PluginInfo]:
        return describe(self.pm)


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
