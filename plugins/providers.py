"""The provider interfaces plugin authors implement.

Providers that do I/O are plain objects the core drives (register style, as llm and tox do):
a plugin's ``register_*`` hook hands them to the core, and the pipeline calls them with a
deadline, records failures, and moves on. Nothing here imports the rest of scanserve but the
types generated from the spec (``scanserve.generated.shapes``).
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass, field
from typing import Protocol, get_args, get_type_hints, runtime_checkable

from scanserve.generated.shapes import Proposal


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

    A provider that answers from this process (memory, or scanserve's own database) without
    outside I/O may set ``in_process = True``: the pipeline then calls it directly instead of
    in a worker thread under ``provider_timeout_seconds`` (the built-in ``catalog`` does).

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


class CatalogRows(LookupProvider, Protocol):
    """scanserve's own product table as a lookup provider (the built-in ``catalog``): not for
    plugins. The pipeline takes its answer, a row of that table, as it is (:meth:`find`)
    rather than a ``ProductRecord`` copied out of the row and stored again."""

    answers_from_catalog: bool

    def find(self, gtin: str) -> typing.Any:
        """The product table's row for ``gtin`` when the catalog answers, else None."""
        ...


@runtime_checkable
class EnrichmentProvider(Protocol):
    """Adds to a found product. Returns a new record (or the same one) with fields filled in.

    ``in_process = True`` means what it means for a :class:`LookupProvider` (the built-in
    ``gpc-labels`` sets it).

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


#: What an organisation's freshness rule is for (:class:`OrgRule`'s ``scope``).
Scope = typing.Literal["brick", "family", "segment", "fallback"]

_SCOPES: tuple[Scope, ...] = ("brick", "family", "segment", "fallback")
_GPC_CODE = re.compile(r"^[0-9]{8}$")


def _rule_days(where: str, name: str, value: object) -> int:
    # bool is an int subclass; True days is a data error, not 1.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{where}: {name} must be an integer >= 0, got {value!r}")
    return value


@dataclass(frozen=True)
class OrgRule:
    """One organisation's stored threshold rule. ``fallback`` rules have ``code`` "".

    Made by ``scanserve freshness set``; ``freshness_thresholds`` gets the calling
    organisation's rules. Building one checks it (ValueError naming the problem).

    :ivar scope: what the rule is for: ``brick``, ``family`` or ``segment`` (a GPC level,
        most specific first) or ``fallback`` (every product no other rule matched).
    :ivar code: the GPC code (8 digits) at that level; "" for ``fallback``.
    :ivar warning_days: days left from which the product is fresh (``>= 0``).
    :ivar critical_days: days left below which it counts as expired; ``<= warning_days``.
    :ivar label: the category name shown with the thresholds; not empty.
    """

    scope: Scope
    code: str
    warning_days: int
    critical_days: int
    label: str

    def __post_init__(self) -> None:
        where = f"org rule {self.scope} {self.code!r}"
        if self.scope not in _SCOPES:
            raise ValueError(f"{where}: scope must be one of {', '.join(_SCOPES)}")
        if self.scope == "fallback":
            if self.code != "":
                raise ValueError(f"{where}: a fallback rule has code ''")
        elif not isinstance(self.code, str) or not _GPC_CODE.match(self.code):
            raise ValueError(f"{where}: code must be 8 digits")
        warning = _rule_days(where, "warning_days", self.warning_days)
        critical = _rule_days(where, "critical_days", self.critical_days)
        if critical > warning:
            raise ValueError(f"{where}: critical_days ({critical}) > warning_days ({warning})")
        if not isinstance(self.label, str) or not self.label.strip():
            raise ValueError(f"{where}: label must not be empty")


# --- QR resolving --------------------------------------------------------------------------


@dataclass(frozen=True)
class Hop:
    """One response of the chain: the URL requested, its status, allow-listed headers.

    :ivar url: the URL that was requested.
    :ivar status_code: the HTTP status it answered (a redirect, or the final answer).
    :ivar headers: the allow-listed response headers, by lower-case name: ``location``,
        ``content-type``, ``content-length``, ``server``, ``link`` (never cookies).
    """

    url: str
    status_code: int
    headers: dict[str, str]


@dataclass(frozen=True)
class QrResolution:
    """Where a QR code's URL led; :meth:`as_dict` is the contract's ``qr_analysis``.

    :ivar initial_url: the URL as scanned.
    :ivar final_url: where the redirects ended; ``initial_url`` when nothing was followed or
        the chain failed.
    :ivar hops: each response on the way, in order (empty when no response came).
    :ivar hop_count: the number of redirects followed.
    :ivar resolver_domain: the host that classified the URL (the last one reached).
    :ivar resolver_type: ``CLOSIENT``, ``GS1_DL``, ``URL_SHORTENER``, ``DIRECT`` or
        ``UNKNOWN``.
    :ivar is_closient_resolver: True when the chain reached this service's own resolver.
    :ivar extracted_gtin: a GTIN-14 found in the final URL, else "".
    :ivar error_message: why the chain could not be followed, "" when it could.
    """

    initial_url: str
    final_url: str
    hops: list[Hop]
    hop_count: int
    resolver_domain: str
    resolver_type: str
    is_closient_resolver: bool
    extracted_gtin: str
    error_message: str

    @property
    def succeeded(self) -> bool:
        """True exactly when ``error_message`` is empty."""
        return self.error_message == ""

    def as_dict(self) -> dict[str, typing.Any]:
        """The contract's ``qr_analysis`` object (JSON-ready)."""
        return {
            "initial_url": self.initial_url,
            "final_url": self.final_url,
            "hops": [
                {"url": h.url, "status_code": h.status_code, "headers": dict(h.headers)}
                for h in self.hops
            ],
            "hop_count": self.hop_count,
            "resolver_domain": self.resolver_domain,
            "resolver_type": self.resolver_type,
            "is_closient_resolver": self.is_closient_resolver,
            "extracted_gtin": self.extracted_gtin,
            "error_message": self.error_message,
        }


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


# --- vision extraction ---------------------------------------------------------------------

#: The product fields a proposal may name: the contract's ``Proposal.field_name``, read from
#: the generated shapes (in the spec's order), never spelt again.
PROPOSAL_FIELDS: tuple[str, ...] = get_args(get_type_hints(Proposal)["field_name"])


@dataclass(frozen=True)
class PhotoInput:
    """One product photo handed to an extractor.

    :ivar short_id: the photo's id (``PhotoResponse.id``), e.g. for a proposal's metadata.
    :ivar photo_type: its ``PhotoTypeEnum`` value (what routed it to the extractor).
    :ivar data: the image bytes as stored.
    :ivar content_type: judged from the bytes: ``image/jpeg``, ``image/png``, ``image/webp``,
        or ``application/octet-stream`` for anything else.
    :ivar original_filename: the client's file name, "" when it gave none.
    """

    short_id: str
    photo_type: str
    data: bytes
    content_type: str
    original_filename: str = ""


@dataclass(frozen=True)
class ExtractionInput:
    """What an extractor works on: one photo and the product of the capture the proposals
    will belong to.

    :ivar photo: the photo (a ``PhotoInput``), None for product extractors (see ``Extractor``).
    :ivar product: the catalog record of the capture's product, None when it has none yet.
    :ivar current: the organisation's current value of every proposal field (name,
        description, brand_name, category, ingredients, ai_summary, images) as the text a
        proposal carries: "" when empty, ``images`` as a JSON array of URLs.
    :ivar gtin: the capture's GTIN-14, "" when none.
    :ivar capture_id: the capture's short id.
    """

    photo: PhotoInput | None
    product: ProductRecord | None
    current: dict[str, str]
    gtin: str = ""
    capture_id: str = ""


@dataclass(frozen=True)
class ProposalDraft:
    """A suggested value for one product field, as an extractor returns it.

    :ivar field_name: one of name, description, brand_name, category, ingredients,
        ai_summary, images; a draft naming anything else is dropped (and logged).
    :ivar proposed_value: the suggested value as text (``images``: a JSON array of URLs).
    :ivar confidence: from 0.0 to 1.0 (clamped), shown as a two-decimal string.
    :ivar reasoning: why, for the reviewer.
    :ivar source: what produced it; the extractor's ``name`` when "".
    :ivar current_value: the value it would replace; None lets the core fill it from
        ``ExtractionInput.current``.
    :ivar metadata: a flat string map shown with the proposal (50 keys of 40 characters,
        values of 500, at most).
    """

    field_name: str
    proposed_value: str
    confidence: float
    reasoning: str = ""
    source: str = ""
    current_value: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Extractor(Protocol):
    """Reads product photos (or product data) and proposes field values.

    ``photo_types`` names the ``PhotoTypeEnum`` values routed to it: ``extract`` is called
    once per photo of those types. An extractor with an empty ``photo_types`` is a *product
    extractor*: it is called once per capture that has a product, with ``photo=None``.
    ``extract`` returns a list of :class:`ProposalDraft` (empty when it found nothing) and may
    raise: the failure is logged, the extractor skipped for that photo and the photo listed
    in the session's ``extraction_failures``; the session's extraction still ends ``ready``.
    A ``TimeoutError`` it raises (its own deadline) is listed as ``timeout``.

    An extractor may also define ``unavailable_reason() -> str | None``: a reason it cannot
    run on this machine (a missing program, no configuration), or None when it can. An
    unavailable extractor is listed as such, with the reason, by ``scanserve plugins list``
    and ``GET /plugins``, and never called.

    :ivar name: the extractor's name in logs, in ``scanserve plugins list`` and as the
        proposals' ``source`` when a draft names none.
    :ivar photo_types: the photo types routed to it; empty for a product extractor.
    """

    name: str
    photo_types: frozenset[str]

    def extract(self, item: ExtractionInput) -> list[ProposalDraft]:
        """The proposals for ``item`` (empty when nothing was found); raise to be logged and
        skipped for this photo."""
        ...
