"""Registers the built-in extractors: ``barcode`` (barcode photos), ``tesseract-ocr``
(ingredients and nutrition photos; unavailable without the ``tesseract`` program) and
``lookup-data`` (fields outside lookup providers know and the product lacks). They are
``trylast``: an installed plugin's extractors run first."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from scanserve.plugins.builtin.barcode_extractor import BarcodeExtractor
from scanserve.plugins.builtin.lookup_extractor import LookupDataExtractor
from scanserve.plugins.builtin.ocr import TesseractExtractor
from scanserve.plugins.hookspecs import hookimpl
from scanserve.plugins.providers import Extractor, LookupProvider
from scanserve.settings import Settings


@hookimpl(trylast=True)
def register_extractors(
    register: Callable[[Extractor], None],
    settings: Settings,
    lookup_providers: Sequence[LookupProvider],
) -> None:
    register(BarcodeExtractor())
    register(
        TesseractExtractor(
            settings.tesseract_cmd,
            settings.tesseract_languages,
            timeout=settings.extraction_timeout_seconds,
            max_side=settings.ocr_max_side_pixels,
        )
    )
    register(LookupDataExtractor(lookup_providers))
