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


# --- vision extraction ---------------------------------------------------------------------

#: The product fields a proposal may name (the contract's ``Proposal.field_name``).
PROPOSAL_FIELDS: tuple[str, ...] = (
    "name",
    "description",
    "brand_name",
    "category",
    "ingredients",
    "ai_summary",
    "images",
)


@dataclass(frozen=True)
class PhotoInput:
    """One product photo handed to an extractor. ``content_type`` is judged from the bytes
    (``image/jpeg``, ``image/png``, ``image/webp``, or ``application/octet-stream``)."""

    short_id: str
    photo_type: str
    data: bytes
    content_type: str
    original_filename: str = ""


@dataclass(frozen=True)
class ExtractionInput:
    """What an extractor works on: one photo (None for product extractors, see
    :class:`Extractor`) and the product of the capture the proposals will belong to.

    ``product`` is the catalog record (None when the capture has no product yet); ``current``
    holds the organisation's current value of every field in :data:`PROPOSAL_FIELDS`, as the
    text a proposal carries ("" when empty; ``images`` as a JSON array of URLs); ``gtin`` is
    the capture's GTIN-14 ("" when none); ``capture_id`` the capture's short id.
    """

    photo: PhotoInput | None
    product: ProductRecord | None
    current: dict[str, str]
    gtin: str = ""
    capture_id: str = ""


@dataclass(frozen=True)
class ProposalDraft:
    """A suggested value for one product field, as an extractor returns it.

    ``field_name`` is one of :data:`PROPOSAL_FIELDS`; ``proposed_value`` the value as text;
    ``confidence`` from 0.0 to 1.0; ``reasoning`` says why; ``source`` names what produced it
    (the extractor's ``name`` when empty); ``current_value`` is filled in by the core from
    ``ExtractionInput.current`` when None. ``metadata`` is a flat string map shown with the
    proposal.
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
    raise: the failure is logged and the extractor skipped for that photo; the session's
    extraction still ends ``ready``.

    An extractor may also define ``unavailable_reason() -> str | None``: a reason it cannot
    run on this machine (a missing program, no configuration), or None when it can. An
    unavailable extractor is listed as such by ``scanserve plugins list`` and never called.
    """

    name: str
    photo_types: frozenset[str]

    def extract(self, item: ExtractionInput) -> list[ProposalDraft]: ...
