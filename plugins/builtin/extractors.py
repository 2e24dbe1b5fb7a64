"""Registers the built-in extractors: ``barcode`` (barcode photos), ``tesseract-ocr``
(ingredients and nutrition photos; unavailable without the ``tesseract`` program) and
``lookup-data`` (fields outside lookup providers know and the product lacks). They are
``trylast``: an installed plugin's extractors run first."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ...settings import Settings
from ..hookspecs import hookimpl
from ..providers import Extractor, LookupProvider
from .barcode_extractor import BarcodeExtractor
from .lookup_extractor import LookupDataExtractor
from .ocr import TesseractExtractor


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
