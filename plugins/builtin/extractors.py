"""Registers the built-in extractors: ``barcode`` (barcode photos), the two OCR engines for
ingredients and nutrition photos, ``rapidocr`` (the default) and ``tesseract-ocr`` (needs the
``tesseract`` program), of which ``SCANSERVE_OCR_ENGINE`` picks one (the other is listed
unavailable and never runs), and ``lookup-data`` (fields outside lookup providers know and
the product lacks). They are ``trylast``: an installed plugin's extractors run first."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from scanserve.plugins.builtin import rapid_ocr
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
    engine = settings.ocr_engine
    if engine == "auto":
        engine = "rapidocr" if rapid_ocr.installed() else "tesseract"
    register(
        rapid_ocr.RapidOcrExtractor(settings.ocr_max_side_pixels, chosen=engine == "rapidocr")
    )
    register(
        TesseractExtractor(
            settings.tesseract_cmd,
            settings.tesseract_languages,
            timeout=settings.extraction_timeout_seconds,
            max_side=settings.ocr_max_side_pixels,
            chosen=engine == "tesseract",
        )
    )
    register(LookupDataExtractor(lookup_providers))
