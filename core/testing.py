"""Fixtures and fakes for testing scanserve and scanserve plugins.

Use it as a pytest plugin (``pytest_plugins = ["scanserve.testing"]``) to get:

``scanserve_settings``
    :class:`~scanserve.settings.Settings` on a fresh SQLite file in ``tmp_path``, the
    ``immediate`` queue (the pipeline runs inside the request), response validation on, no
    entry-point plugins (add yours through ``scanserve_plugins``), and no authentication
    cache (a key changed in the database is seen by the very next request).
``scanserve_plugins``
    A list; append plugin objects to it before ``scanserve_app`` is built.
``scanserve_app`` / ``scanserve_client``
    The app from ``create_app`` and a Starlette test client for it.
``api_key``
    A fresh organisation and a ``csb`` key: ``api_key.key``, ``api_key.org_short_id``,
    ``api_key.headers``.

:func:`wait_for` polls until background work (a queued capture) is done, with a deadline.

Fakes: :class:`FakeLookupProvider` (products from a dict, records every GTIN it was asked
for) and :class:`FakeQrResolver` (canned answers by URL).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .keys import KeyKind, generate_key, hash_secret, parse_key
from .plugins.hookspecs import hookimpl
from .plugins.providers import LookupProvider, ProductRecord, QrResolver
from .settings import Settings


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
    from .storage import models

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


@pytest.fixture
def scanserve_settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
        auth_cache_seconds=0,
    )


@pytest.fixture
def scanserve_plugins() -> list[Any]:
    return []


@pytest.fixture
def scanserve_app(scanserve_settings: Settings, scanserve_plugins: list[Any]) -> Iterator[Any]:
    from .app import create_app

    app = create_app(scanserve_settings, extra_plugins=scanserve_plugins)
    yield app
    app.services.db.close()  # type: ignore[attr-defined]


@pytest.fixture
def scanserve_client(scanserve_app: Any) -> Iterator[Any]:
    with scanserve_app.test_client() as client:
        yield client


@pytest.fixture
def api_key(scanserve_app: Any) -> IssuedKey:
    return issue_key()
