"""Open Food Facts lookup provider: finds food products by barcode in the public OFF database.

The provider is off unless configured; the hook at the end of this module constructs it only
then, with its own ``httpx.Client`` (whose timeouts apply). It asks the product-by-barcode
API, v2::

    GET {base_url}/api/v2/product/{barcode}.json?fields=code,product_name,...

which answers ``{"status": 1, "product": {...}}`` for a known product and HTTP 404 with
``{"status": 0, "status_verbose": "product not found"}`` for an unknown one (a 200 with status 0
is read as not found too). OFF keys products by EAN-13/UPC, so a GTIN-14 starting with "0" is
sent as its 13-digit form; any other GTIN-14 is sent as it is (OFF normalises leading zeros on
its side). The answer is mapped to a :class:`ProductRecord` whose ``gtin`` is the GTIN-14 asked.

User-Agent: OFF asks every API client to identify itself (app name, version, contact) and
throttles or blocks anonymous traffic, so ``user_agent`` is required and sent on every request.

Cache: hits are kept ``cache_ttl`` seconds and misses ``miss_ttl`` seconds (a product added to
OFF shows up once the miss expires), at most ``max_cache_entries`` entries, oldest evicted
first; 0 disables it. Errors are never cached. Cached answers are served even while backing off.
One lock guards the cache and the backoff state, since the pipeline calls from worker threads;
the HTTP request itself runs outside the lock, so two threads may ask OFF for the same GTIN at
the same moment (both answers are the same; the second just overwrites the first).

Backoff: a 429 or 503 raises :class:`ProviderUnavailable` and opens a window (``Retry-After`` in
seconds or as an HTTP-date, measured against the response's ``Date`` header when present;
60 s when absent or unreadable; at most one hour) during which every lookup, for any GTIN,
raises :class:`ProviderUnavailable` at once without a request. Other HTTP statuses, network
errors, timeouts and unreadable answers raise :class:`ProviderError`.

A product OFF knows but has no name for (neither ``product_name`` nor ``generic_name``) is still
a hit, with ``name`` "": OFF did find it, and its brand, category or image may still help; the
caller decides whether a nameless record is worth keeping.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from scanserve.plugins.hookspecs import hookimpl
from scanserve.plugins.providers import (
    LookupProvider,
    ProductRecord,
    ProviderError,
    ProviderUnavailable,
)
from scanserve.settings import Settings

_FIELDS = (
    "code,product_name,brands,generic_name,categories,ingredients_text,image_front_url,image_url"
)
_DEFAULT_BACKOFF = 60.0
# A bogus or hostile Retry-After must not switch the provider off until the next restart.
_MAX_BACKOFF = 3600.0


class OpenFoodFactsProvider:
    """Looks GTINs up in Open Food Facts. See the module docstring for the contract."""

    name = "openfoodfacts"
    external = True

    def __init__(
        self,
        client: httpx.Client,
        *,
        base_url: str = "https://world.openfoodfacts.org",
        user_agent: str,
        cache_ttl: float = 86400.0,
        miss_ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        max_cache_entries: int = 10000,
    ) -> None:
        if not user_agent or not user_agent.strip():
            raise ValueError(
                "Open Food Facts requires a User-Agent naming the app and a contact, "
                "e.g. 'scanserve/1.0 (ops@example.com)'"
            )
        if urlsplit(base_url).scheme not in ("http", "https"):
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if cache_ttl < 0 or miss_ttl < 0:
            raise ValueError("cache_ttl and miss_ttl must not be negative")
        if max_cache_entries < 0:
            raise ValueError("max_cache_entries must not be negative")
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._user_agent = user_agent.strip()
        self._cache_ttl = cache_ttl
        self._miss_ttl = miss_ttl
        self._clock = clock
        self._max_entries = max_cache_entries
        self._lock = threading.Lock()
        # gtin -> (expires at, on self._clock; the record, or None for a miss)
        self._cache: OrderedDict[str, tuple[float, ProductRecord | None]] = OrderedDict()
        self._blocked_until: float | None = None

    def lookup(self, gtin: str) -> ProductRecord | None:
        """The product for a GTIN-14, None when OFF does not know it.

        Raises ValueError when ``gtin`` is not 14 ASCII digits (it goes into the URL path).
        """
        if len(gtin) != 14 or not (gtin.isascii() and gtin.isdigit()):
            raise ValueError(f"expected a normalised GTIN-14, got {gtin!r}")
        with self._lock:
            now = self._clock()
            cached = self._cache.get(gtin)
            if cached is not None:
                if cached[0] > now:
                    return cached[1]
                del self._cache[gtin]
            if self._blocked_until is not None:
                remaining = self._blocked_until - now
                if remaining > 0:
                    raise ProviderUnavailable(
                        f"openfoodfacts: backing off for another {remaining:.0f} s "
                        "after a 429/503 from the API",
                        retry_after=remaining,
                    )
                self._blocked_until = None

        record = self._fetch(gtin)

        with self._lock:
            ttl = self._cache_ttl if record is not None else self._miss_ttl
            if self._max_entries and ttl > 0:
                self._cache[gtin] = (self._clock() + ttl, record)
                self._cache.move_to_end(gtin)
                while len(self._cache) > self._max_entries:
                    self._cache.popitem(last=False)
        return record

    def _fetch(self, gtin: str) -> ProductRecord | None:
        barcode = gtin.removeprefix("0")
        url = f"{self._base_url}/api/v2/product/{barcode}.json"
        try:
            response = self._client.get(
                url,
                params={"fields": _FIELDS},
                headers={"User-Agent": self._user_agent, "Accept": "application/json"},
            )
        except httpx.TimeoutException as exc:
            raise ProviderError(f"openfoodfacts: request for {barcode} timed out") from exc
        except httpx.HTTPError as exc:
            raise ProviderError(f"openfoodfacts: request for {barcode} failed: {exc}") from exc

        status = response.status_code
        if status in (429, 503):
            wait = _retry_after_seconds(response)
            with self._lock:
                self._blocked_until = self._clock() + wait
            raise ProviderUnavailable(
                f"openfoodfacts: HTTP {status}, not calling the API for {wait:.0f} s",
                retry_after=wait,
            )
        if status not in (200, 404):
            raise ProviderError(f"openfoodfacts: unexpected HTTP {status} for {barcode}")
        try:
            body = response.json()
        except ValueError as exc:
            raise ProviderError(
                f"openfoodfacts: HTTP {status} for {barcode} with a body that is not JSON"
            ) from exc
        if not isinstance(body, dict):
            raise ProviderError(f"openfoodfacts: answer for {barcode} is not a JSON object")
        found = body.get("status")
        if type(found) is int and found == 0:
            return None
        product = body.get("product")
        # A 404 without status 0 is not OFF saying "unknown product" (wrong base_url, a proxy).
        if status == 200 and type(found) is int and found == 1 and isinstance(product, dict):
            return _to_record(gtin, product)
        raise ProviderError(
            f"openfoodfacts: HTTP {status} for {barcode} is not a product answer "
            f"(status={found!r})"
        )


def _text(product: Mapping[str, Any], key: str) -> str:
    value = product.get(key)
    return value.strip() if isinstance(value, str) else ""


def _to_record(gtin: str, product: Mapping[str, Any]) -> ProductRecord:
    generic_name = _text(product, "generic_name")
    brands = [b.strip() for b in _text(product, "brands").split(",") if b.strip()]
    # OFF lists categories from the broadest to the most specific; the last says the most.
    categories = [c.strip() for c in _text(product, "categories").split(",") if c.strip()]
    image = _text(product, "image_front_url") or _text(product, "image_url")
    return ProductRecord(
        gtin=gtin,
        name=_text(product, "product_name") or generic_name,
        brand=brands[0] if brands else "",
        description=generic_name,
        category=categories[-1] if categories else "",
        ingredients=_text(product, "ingredients_text"),
        image_urls=(image,) if urlsplit(image).scheme in ("http", "https") else (),
        source="openfoodfacts",
    )


def _retry_after_seconds(response: httpx.Response) -> float:
    """Seconds to wait from ``Retry-After`` (RFC 9110 §10.2.3), clamped to [0, one hour]."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return _DEFAULT_BACKOFF
    if value.isascii() and value.isdigit():
        return min(float(value), _MAX_BACKOFF)
    until = _http_date(value)
    if until is None:
        return _DEFAULT_BACKOFF
    # Measured against the response's own Date when it has one: no skew with our clock.
    now = _http_date(response.headers.get("Date", "")) or datetime.now(UTC)
    return min(max((until - now).total_seconds(), 0.0), _MAX_BACKOFF)


def _http_date(value: str) -> datetime | None:
    """An aware datetime from an HTTP-date, None when it is not one."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else None


@hookimpl(trylast=True)
def register_lookup_providers(
    register: Callable[[LookupProvider], None], settings: Settings
) -> None:
    """Registers the provider when ``openfoodfacts_enabled`` is set. It is ``trylast``: the
    local catalog and installed plugins are asked first."""
    if not settings.openfoodfacts_enabled:
        return
    if not settings.openfoodfacts_user_agent:
        raise ValueError(
            "SCANSERVE_OPENFOODFACTS_USER_AGENT must be set (Open Food Facts asks every client "
            "to name itself, e.g. 'MyShopScanner/1.0 (ops@example.com)')"
        )
    client = httpx.Client(timeout=settings.provider_timeout_seconds, trust_env=False)
    register(
        OpenFoodFactsProvider(
            client,
            base_url=settings.openfoodfacts_base_url,
            user_agent=settings.openfoodfacts_user_agent,
            cache_ttl=settings.openfoodfacts_cache_ttl_seconds,
        )
    )
