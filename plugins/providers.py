"""The provider interfaces plugin authors implement.

Providers that do I/O are plain objects the core drives (register style, as llm and tox do):
a plugin's ``register_*`` hook hands them to the core, and the pipeline calls them with a
deadline, records failures, and moves on. Nothing here imports the rest of scanserve.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ProductRecord:
    """A product as a lookup provider found it. ``gtin`` is the normalised GTIN-14."""

    gtin: str
    name: str
    brand: str = ""
    description: str = ""
    category: str = ""
    gpc_brick_code: str = ""
    gpc_brick_label: str = ""
    ingredients: str = ""
    image_urls: tuple[str, ...] = field(default_factory=tuple)
    source: str = ""


class ProviderError(Exception):
    """A provider could not answer (network, bad data). The pipeline records and skips it."""


class ProviderUnavailable(ProviderError):
    """The provider's upstream said 'not now' (429/503); ``retry_after`` in seconds if known."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@runtime_checkable
class LookupProvider(Protocol):
    """Finds a product by GTIN-14.

    ``name`` identifies the provider in logs and error messages. ``external`` is True when the
    provider sends the GTIN outside this server: restricted-circulation numbers (GS1 prefixes
    02 and 20-29) are never given to such providers. ``lookup`` returns None when the product
    is unknown and raises :class:`ProviderError` when it cannot tell.
    """

    name: str
    external: bool

    def lookup(self, gtin: str) -> ProductRecord | None: ...


@runtime_checkable
class EnrichmentProvider(Protocol):
    """Adds to a found product. Returns a new record (or the same one) with fields filled in."""

    name: str

    def enrich(self, product: ProductRecord) -> ProductRecord: ...


@dataclass(frozen=True)
class Thresholds:
    """Freshness thresholds for one product: ``critical_days`` <= ``warning_days``."""

    warning_days: int
    critical_days: int
    category_label: str
    source: str


@runtime_checkable
class QrResolver(Protocol):
    """Follows a scanned URL. ``resolve`` returns a ``QrResolution`` (see
    ``scanserve.plugins.builtin.qr``) or None when this resolver does not handle the URL."""

    name: str

    def resolve(self, url: str) -> object | None: ...
