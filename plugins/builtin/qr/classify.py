"""How the QR resolver classifies where a URL led, and the GTIN it names.

Classification, first match wins
--------------------------------
``resolver_domain`` is the host of the initial URL, lower case, without port or trailing dot
("" when the URL has no usable host).

1. ``CLOSIENT``: the initial host is one of ``own_resolver_hosts`` (exact match); only then
   is ``is_closient_resolver`` true.
2. ``URL_SHORTENER``: the initial host, or a parent domain of it, is in the shortener list
   (``plugins/data/url_shorteners.txt``).
3. ``GS1_DL``: the initial or the final URL is shaped like a GS1 Digital Link
   (:func:`scanserve.domain.gs1.is_digital_link`): a URI biip reads as one, as a captured
   ``raw_value`` is read, or a path with ``/01/`` and a value of a GTIN's length (8, 12, 13
   or 14 digits). ``/2024/01/17`` is no Digital Link.
4. ``DIRECT``: success with no redirect.
5. ``UNKNOWN``: everything else (errors, redirects to ordinary pages).

``extracted_gtin`` is a GTIN-14 with a valid check digit, read by
:func:`scanserve.domain.gs1.gtin_from_url` from the final URL (Digital Link ``/01/`` path first,
then a ``/gtin/`` path, then a ``gtin``, ``ean``, ``upc``, ``barcode``... query parameter),
else from the initial URL the same way, else "".
"""

from __future__ import annotations

import functools
from importlib import resources

import httpx

from scanserve.domain import gs1


@functools.lru_cache(maxsize=1)
def default_shorteners() -> frozenset[str]:
    data = resources.files("scanserve.plugins") / "data" / "url_shorteners.txt"
    return _parse_domain_list(data.read_text(encoding="utf-8"))


def _parse_domain_list(text: str) -> frozenset[str]:
    domains = set()
    for line in text.splitlines():
        entry = line.partition("#")[0].strip().lower().rstrip(".")
        if entry:
            domains.add(entry)
    return frozenset(domains)


def host_of(url: str) -> str:
    """Lower-case host without port or trailing dot; "" when there is none."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        return ""
    if parsed.scheme not in ("http", "https"):
        return ""
    return parsed.host.lower().rstrip(".")


def _in_domains(host: str, domains: frozenset[str]) -> bool:
    labels = host.split(".")
    return any(".".join(labels[i:]) in domains for i in range(len(labels)))


def resolver_type(
    initial: str,
    final: str,
    *,
    own_hosts: frozenset[str],
    shorteners: frozenset[str],
    error: str,
    redirects: int,
) -> str:
    """The ``resolver_type`` of a chain from ``initial`` to ``final`` (both stripped) that
    followed ``redirects`` redirects and ended with ``error`` ("" for success)."""
    domain = host_of(initial)
    if domain and domain in own_hosts:
        return "CLOSIENT"
    if domain and _in_domains(domain, shorteners):
        return "URL_SHORTENER"
    if gs1.is_digital_link(final) or gs1.is_digital_link(initial):
        return "GS1_DL"
    if not error and redirects == 0:
        return "DIRECT"
    return "UNKNOWN"


def extracted_gtin(initial: str, final: str) -> str:
    """The GTIN-14 the final URL names, else the one the initial URL names, else ""."""
    return gs1.gtin_from_url(final) or gs1.gtin_from_url(initial)
