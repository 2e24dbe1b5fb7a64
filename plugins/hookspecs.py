"""The hooks a scanserve plugin can implement, grouped by concern.

A plugin is any object or module with functions marked ``@hookimpl``; installed packages are
found through the ``scanserve`` entry-point group. pluggy calls hooks synchronously, so hooks
that bring providers doing I/O only *register* provider objects (see
:mod:`scanserve.plugins.providers`), and the core drives them: with deadlines, recording a
provider that raises or times out and moving on to the next.

Each hook's docstring is its reference documentation (``docs/hooks.md`` is rendered from it,
and a test fails when a hook has none).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from scanserve.plugins.providers import (
        EnrichmentProvider,
        Extractor,
        LookupProvider,
        OrgRule,
        QrResolver,
        Thresholds,
    )
    from scanserve.settings import Settings

PROJECT_NAME = "scanserve"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --- product lookup --------------------------------------------------------------------------


@hookspec
def register_lookup_providers(
    register: Callable[[LookupProvider], None], settings: Settings
) -> None:
    """Register product lookup providers by calling ``register(provider)`` for each.

    :param register: takes an object implementing ``LookupProvider`` (``name``, ``external``,
        ``lookup(gtin14) -> ProductRecord | None``).
    :param settings: the server's settings, to configure the provider.
    :returns: nothing; every implementation is called.

    The pipeline asks the providers in order until one finds the product: the built-in
    catalog first (``tryfirst``), then installed plugins, then Open Food Facts (``trylast``).
    A provider that raises or overruns ``provider_timeout_seconds`` is recorded and skipped.
    Providers with ``external = True`` never see restricted-circulation GTINs (prefixes 02,
    20-29).
    """


# --- enrichment ------------------------------------------------------------------------------


@hookspec
def register_enrichment_providers(
    register: Callable[[EnrichmentProvider], None], settings: Settings
) -> None:
    """Register enrichment providers by calling ``register(provider)`` for each.

    :param register: takes an object implementing ``EnrichmentProvider`` (``name``,
        ``enrich(product) -> ProductRecord``).
    :param settings: the server's settings.
    :returns: nothing; every implementation is called.

    Every enrichment provider runs, in order, on a found product; each gets the previous
    one's result. A provider that raises is recorded and skipped; the product keeps what it had.
    """


# --- QR resolving ----------------------------------------------------------------------------


@hookspec
def register_qr_resolvers(register: Callable[[QrResolver], None], settings: Settings) -> None:
    """Register QR/URL resolvers by calling ``register(resolver)`` for each.

    :param register: takes an object implementing ``QrResolver`` (``name``,
        ``resolve(url) -> QrResolution | None``).
    :param settings: the server's settings.
    :returns: nothing; every implementation is called.

    For a URL, resolvers are asked in order and the first that answers (not ``None``) wins:
    plugins first, the built-in redirect follower (``trylast``) last. A resolver must never
    send a request to a private or loopback address unless the settings allow it.
    """


# --- freshness -------------------------------------------------------------------------------


@hookspec(firstresult=True)
def freshness_thresholds(
    gtin: str, brick_code: str, org_rules: Sequence[OrgRule]
) -> Thresholds | None:
    """Answer the freshness thresholds for one product.

    :param gtin: the normalised GTIN-14, or "" when the query's GTIN was malformed.
    :param brick_code: the product's GPC brick code from the catalog, or "" when unknown.
    :param org_rules: the stored rules of the calling organisation, then those of the
        organisation that claims the product's brand (per-brand overrides); empty when
        neither applies. For one scope and code the first rule wins.
    :returns: ``Thresholds`` (with ``critical_days <= warning_days``, day counts ``>= 0`` and
        a non-empty label; leave ``source`` at its default, ``plugin``) or ``None`` to let
        the next implementation answer.

    First answer wins. The built-in layered provider (organisation override, organisation
    fallback, global default by GPC brick, family and segment, global fallback, built-in) is
    ``trylast`` and always answers, so a plugin that answers first replaces it for the
    products it answers.

    Organisation rules come first: unless ``freshness_order`` is ``plugins-first``, the
    calling organisation's matching rule (``org-override``, ``org-fallback``) answers before
    any implementation is called. The API reports a plugin's answer as source ``plugin``
    with the plugin's name in ``pluginName``, whatever ``source`` it set. An implementation
    that raises or answers something invalid is logged and skipped.
    """


# --- vision extraction -----------------------------------------------------------------------


@hookspec
def register_extractors(
    register: Callable[[Extractor], None],
    settings: Settings,
    lookup_providers: Sequence[LookupProvider],
) -> None:
    """Register vision extractors by calling ``register(extractor)`` for each.

    :param register: takes an object implementing ``Extractor`` (``name``, ``photo_types``,
        ``extract(item: ExtractionInput) -> list[ProposalDraft]``, and optionally
        ``unavailable_reason() -> str | None``).
    :param settings: the server's settings, to configure the extractor.
    :param lookup_providers: the product lookup providers the pipeline uses, in order, for
        extractors that compare the product with what other sources know.
    :returns: nothing; every implementation is called.

    When a session is submitted, each of its photos goes to every available extractor whose
    ``photo_types`` contains the photo's ``photo_type``; extractors with no ``photo_types``
    run once per capture with a product. Each call has the ``extraction_timeout_seconds``
    deadline (60 s by default, per photo); an extractor that raises or overruns is logged
    and skipped, the photo is listed in the session's ``extraction_failures``, and the
    session still reaches ``ready``. An overrunning call's thread is abandoned, not stopped:
    bound your own I/O and programs (the built-in OCR kills Tesseract at the deadline).
    The proposals it returns belong to the photo's capture (or, for a photo linked to no
    capture, to the session's first capture with a product when all of them name one
    product). Built-ins: ``barcode`` (barcode photos), ``rapidocr`` or ``tesseract-ocr``
    (ingredients and nutrition photos; ``SCANSERVE_OCR_ENGINE`` picks one) and
    ``lookup-data`` (product extractor), plus ``openai-vision``, off unless configured.
    """


# --- pipeline events -------------------------------------------------------------------------


@hookspec
def capture_state_changed(capture_id: str, old_status: str, new_status: str) -> None:
    """Called after a capture's status changed in the database.

    :param capture_id: the capture's short id.
    :param old_status: the status before (a ``CaptureStatusEnum`` value).
    :param new_status: the status now.
    :returns: nothing; every implementation is called. Exceptions are logged and ignored.

    Called from a worker thread; keep it quick. The pipeline writes the steps of one run
    (``LOOKING_UP``, ``ENRICHING``, ``RESOLVING`` and the final status) in as few transactions
    as it can, one for a catalog hit; each step is still reported, in order, once the
    transaction that wrote it committed.
    """


@hookspec
def capture_finished(capture: dict[str, Any]) -> None:
    """Called once a capture reached a terminal state (COMPLETED, FAILED or NOT_FOUND).

    :param capture: the capture as the API shows it (a ``CaptureResponse`` dict).
    :returns: nothing; every implementation is called. Exceptions are logged and ignored.

    A capture that is retried later finishes again and is reported again.
    """
