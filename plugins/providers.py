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
    """A product as a lookup provider found it (and as enrichment providers pass it on).

    :ivar gtin: the normalised GTIN-14 (14 digits, check digit verified): the one the
        provider was asked for.
    :ivar name: the product's name as shown to users (``product_name`` in the API); not empty.
    :ivar brand: the brand name, "" when unknown.
    :ivar description: a longer text about the product, "" when unknown.
    :ivar category: a free-text category (an Open Food Facts category, a shop's own), "".
    :ivar gpc_brick_code: the GS1 GPC brick (8 digits) when known, else "": it picks the
        freshness thresholds and the GPC label enrichment.
    :ivar gpc_brick_label: the brick's name, "" when unknown (the built-in enrichment fills it
        from the brick code).
    :ivar ingredients: the ingredient list as printed, "" when unknown.
    :ivar image_urls: URLs of product images, most useful first.
    :ivar source: what found the product (your provider's ``name`` is a good choice); the
        catalog keeps it with the copy it stores.
    """

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
    """The provider's upstream said 'not now' (429/503); ``retry_after`` in seconds if known.

    :ivar retry_after: seconds after which the upstream may answer again (from its
        ``Retry-After``), or None when it did not say.
    """

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

    :ivar name: the provider's name in logs, in a capture's ``error_message`` and in
        ``scanserve plugins list``.
    :ivar external: True when ``lookup`` sends the GTIN outside this server.
    """

    name: str
    external: bool

    def lookup(self, gtin: str) -> ProductRecord | None:
        """The product with GTIN-14 ``gtin``, None when unknown here; raise ProviderError when
        the provider cannot tell (the next provider is asked either way)."""
        ...


@runtime_checkable
class EnrichmentProvider(Protocol):
    """Adds to a found product. Returns a new record (or the same one) with fields filled in.

    :ivar name: the provider's name in logs and in ``scanserve plugins list``.
    """

    name: str

    def enrich(self, product: ProductRecord) -> ProductRecord:
        """The product with what this provider knows filled in (``dataclasses.replace``); it
        gets the previous enrichment provider's result."""
        ...


@dataclass(frozen=True)
class Thresholds:
    """Freshness thresholds for one product: ``critical_days`` <= ``warning_days``.

    :ivar warning_days: with at least this many days left the product is fresh (``>= 0``).
    :ivar critical_days: with fewer days left it counts as expired; ``<= warning_days``.
    :ivar category_label: what the thresholds are for, shown to users; not empty.
    :ivar source: the layer that answered, as the API reports it: ``plugin`` (the default,
        and what the API reports for every answer a plugin gives, whatever it set here), or
        one of the built-in layers ``org-override``, ``org-fallback``, ``global-default``,
        ``global-fallback``, ``built-in``.
    :ivar plugin: the name of the plugin that answered (its entry-point name, as
        ``scanserve plugins list`` shows it); scanserve fills it in, a plugin leaves it "".
    """

    warning_days: int
    critical_days: int
    category_label: str
    source: str = "plugin"
    plugin: str = ""


@runtime_checkable
class QrResolver(Protocol):
    """Follows a scanned URL: the first resolver that answers gives the capture's
    ``qr_analysis`` and ``POST /resolve-url``'s answer.

    :ivar name: the resolver's name in logs and in ``scanserve plugins list``.
    """

    name: str

    def resolve(self, url: str) -> object | None:
        """A ``QrResolution`` for ``url``, or None when this resolver does not handle it (the
        next one is asked). Failures to follow go in its ``error_message``; a resolver that
        raises is logged and skipped."""
        ...
