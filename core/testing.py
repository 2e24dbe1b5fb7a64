"""Fixtures and fakes for testing scanserve and scanserve plugins.

Install with ``pip install 'scanserve[testing]'`` and use it as a pytest plugin
(``pytest_plugins = ["scanserve.testing"]`` in ``conftest.py``) to get:

``scanserve_settings``
    :class:`~scanserve.settings.Settings` on a fresh SQLite file in ``tmp_path``, the
    ``immediate`` queue (the pipeline runs inside the request), response validation on, no
    entry-point plugins (add yours through ``scanserve_plugins``), and no authentication cache
    (a key changed in the database is seen by the very next request). Mark a test
    ``@pytest.mark.scanserve_settings(name=value, ...)`` to change any setting for it.
``scanserve_plugins``
    A list; append plugin objects to it before ``scanserve_app`` is built. Changing it
    afterwards raises :class:`PluginsAlreadyLoaded` (the plugin would be silently ignored).
``scanserve_app`` / ``scanserve_client``
    The app from ``create_app`` and a Starlette test client for it.
``api_key``
    A fresh organisation and a ``csb`` key: ``api_key.key``, ``api_key.org_short_id``,
    ``api_key.headers``.

:func:`wait_for` polls until background work (a queued capture) is done, with a deadline;
:func:`issue_key` makes another organisation and key.

Fakes: :class:`FakeLookupProvider` (products from a dict, records every GTIN it was asked
for) and :class:`FakeQrResolver` (canned answers by URL).
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scanserve.identity.keys import KeyKind, generate_key, hash_secret, parse_key
from scanserve.plugins.hookspecs import hookimpl
from scanserve.plugins.providers import LookupProvider, ProductRecord, QrResolver
from scanserve.settings import Settings
from scanserve.storage import models

__all__ = [
    "FakeLookupProvider",
    "FakeQrResolver",
    "IssuedKey",
    "PluginsAlreadyLoaded",
    "api_key",
    "issue_key",
    "scanserve_app",
    "scanserve_client",
    "scanserve_plugins",
    "scanserve_settings",
    "wait_for",
]

# Deprecation warnings our pinned dependencies raise when they are first imported (Connexion
# 3.3 imports starlette.testclient, which prefers httpx2 over httpx, and jsonschema's
# RefResolver API). A plugin author cannot act on them; their `pytest -W error` should not
# fail on them. Only these messages, and only while scanserve imports the app.
_DEPENDENCY_IMPORT_WARNINGS = (
    "Using `httpx` with `starlette.testclient`",
    "jsonschema.RefResolver is deprecated",
    "jsonschema.exceptions.RefResolutionError is deprecated",
)


def _create_app() -> Callable[..., Any]:
    with warnings.catch_warnings():
        for message in _DEPENDENCY_IMPORT_WARNINGS:
            warnings.filterwarnings("ignore", message=re.escape(message))
        # imported under this filter: the dependencies' import-time warnings must not fail
        # a plugin author's `pytest -W error`
        from scanserve.app import create_app  # noqa: PLC0415
    return create_app


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "scanserve_settings(**overrides): settings for the scanserve_settings fixture",
    )


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy (returned), or fail the test after
    ``timeout`` seconds naming ``what``: for background work such as queued captures."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(interval)


@dataclass
class IssuedKey:
    key: str
    key_id: str
    org_short_id: str
    org_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key}


def issue_key(
    org_name: str = "Test Org",
    kind: KeyKind = "csb",
    *,
    org_short_id: str | None = None,
    **key_fields: Any,
) -> IssuedKey:
    """Create an organisation (or reuse one by short id) and a key for it. Needs an open
    database (an app built by ``create_app`` has one)."""
    org = (
        models.Organization.get(models.Organization.short_id == org_short_id)
        if org_short_id
        else models.Organization.create(name=org_name)
    )
    raw = generate_key(kind)
    parsed = parse_key(raw)
    assert parsed is not None
    row = models.ApiKey.create(
        organization=org, kind=kind, key_hash=hash_secret(raw), hint=parsed.hint, **key_fields
    )
    return IssuedKey(key=raw, key_id=row.short_id, org_short_id=org.short_id, org_id=org.id)


@dataclass
class FakeLookupProvider:
    """A lookup provider answering from ``products`` (GTIN-14 -> record or exception)."""

    products: dict[str, ProductRecord | Exception] = field(default_factory=dict)
    name: str = "fake-lookup"
    external: bool = False
    asked: list[str] = field(default_factory=list)

    def lookup(self, gtin: str) -> ProductRecord | None:
        self.asked.append(gtin)
        answer = self.products.get(gtin)
        if isinstance(answer, Exception):
            raise answer
        return answer

    @hookimpl
    def register_lookup_providers(
        self, register: Callable[[LookupProvider], None], settings: Settings
    ) -> None:
        register(self)


@dataclass
class FakeQrResolver:
    """A QR resolver with canned answers (URL -> QrResolution); None for other URLs."""

    answers: dict[str, Any] = field(default_factory=dict)
    name: str = "fake-qr"

    def resolve(self, url: str) -> Any:
        return self.answers.get(url)

    @hookimpl(tryfirst=True)
    def register_qr_resolvers(
        self, register: Callable[[QrResolver], None], settings: Settings
    ) -> None:
        register(self)


class PluginsAlreadyLoaded(RuntimeError):
    """A plugin was added to ``scanserve_plugins`` after ``scanserve_app`` was built."""


class PluginList(list[Any]):
    """The ``scanserve_plugins`` list: open until the app is built, then any change raises
    :class:`PluginsAlreadyLoaded` instead of being silently ignored."""

    _loaded = False

    def _check(self) -> None:
        if self._loaded:
            raise PluginsAlreadyLoaded(
                "a plugin was added to scanserve_plugins after scanserve_app was built, so "
                "the app would never see it. Add plugins in a fixture, and request that "
                "fixture before scanserve_client / scanserve_app / api_key in the test's "
                "arguments (pytest sets fixtures up in that order); the test body itself "
                "runs after the app is built"
            )

    def mark_loaded(self) -> None:
        self._loaded = True

    def append(self, plugin: Any) -> None:
        self._check()
        super().append(plugin)

    def extend(self, plugins: Iterable[Any]) -> None:
        self._check()
        super().extend(plugins)

    def insert(self, index: Any, plugin: Any) -> None:
        self._check()
        super().insert(index, plugin)

    def __iadd__(self, plugins: Iterable[Any]) -> PluginList:  # type: ignore[override,misc]
        self._check()
        return super().__iadd__(plugins)  # type: ignore[return-value]

    def __setitem__(self, index: Any, value: Any) -> None:
        self._check()
        super().__setitem__(index, value)

    def __delitem__(self, index: Any) -> None:
        self._check()
        super().__delitem__(index)

    def remove(self, plugin: Any) -> None:
        self._check()
        super().remove(plugin)

    def pop(self, index: Any = -1) -> Any:
        self._check()
        return super().pop(index)

    def clear(self) -> None:
        self._check()
        super().clear()


@pytest.fixture
def scanserve_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for a test app: a fresh SQLite file in ``tmp_path``, the immediate queue,
    response validation on, no entry-point plugins; a ``scanserve_settings`` mark changes
    any of them."""
    options: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "queue": "immediate",
        "validate_responses": True,
        "load_entrypoint_plugins": False,
        "auth_cache_seconds": 0,
    }
    for mark in reversed(list(request.node.iter_markers("scanserve_settings"))):
        options.update(mark.kwargs)  # the mark closest to the test wins
    return Settings(**options)


@pytest.fixture
def scanserve_plugins() -> PluginList:
    """Plugin objects (modules or instances with ``@hookimpl`` methods) for the app."""
    return PluginList()


@pytest.fixture
def scanserve_app(scanserve_settings: Settings, scanserve_plugins: list[Any]) -> Iterator[Any]:
    """The app from ``create_app(scanserve_settings, extra_plugins=scanserve_plugins)``."""
    app = _create_app()(scanserve_settings, extra_plugins=list(scanserve_plugins))
    if isinstance(scanserve_plugins, PluginList):
        scanserve_plugins.mark_loaded()
    yield app
    app.services.db.close()  # type: ignore[attr-defined]


@pytest.fixture
def scanserve_client(scanserve_app: Any) -> Iterator[Any]:
    """A Starlette test client for the app (requests run in process, lifespan included)."""
    with scanserve_app.test_client() as client:
        yield client


@pytest.fixture
def api_key(scanserve_app: Any) -> IssuedKey:
    """A fresh organisation and a ``csb`` key for it (``api_key.headers`` for requests)."""
    return issue_key()
