"""Built-in extractor ``rapidocr`` for ``ingredients`` and ``nutrition`` photos, the default
OCR engine: RapidOCR (PaddleOCR's PP-OCR models on onnxruntime) reads the text in process,
and the same cleaning as the Tesseract extractor (:func:`~scanserve.plugins.builtin.ocr.
clean_ingredients`) turns it into the product's ``ingredients``.

Why RapidOCR by default: ``pip install scanserve`` installs it with its models (the
``rapidocr`` wheel carries them; nothing is downloaded at run time), so a new server reads
ingredient panels with no program from the operating system; Tesseract stays the
alternative (``SCANSERVE_OCR_ENGINE=tesseract``). docs/performance.md compares the two.

The engine (three ONNX models, about 30 MB) is loaded once per process, on the first photo,
and shared by every app the process builds; one photo is read at a time (the engine is not
documented as thread-safe, and onnxruntime already uses every core for one). Unlike the
Tesseract program, a reading in process cannot be killed at the extraction deadline: the
extraction framework abandons it (scanserve.domain.extraction), and the next photo waits for
it to finish.
"""

from __future__ import annotations

import io
import logging
import threading
from typing import Any

from PIL import Image

from scanserve.plugins.builtin.ocr import DEFAULT_MAX_SIDE, OcrText, ingredients_proposal, png
from scanserve.plugins.providers import ExtractionInput, ProposalDraft, ProviderError

# RapidOCR's own threshold: a line it scores lower is not returned at all.
MIN_LINE_SCORE = 0.5

_ENGINE: Any = None
_ENGINE_LOCK = threading.Lock()  # one load, and one reading at a time


def _engine() -> Any:
    global _ENGINE  # noqa: PLW0603 - the process's one engine, loaded on first use
    if _ENGINE is None:
        # Imported here, not at the top: importing rapidocr loads OpenCV and onnxruntime
        # (about a second and 100 MB), which a process that never reads a photo (the CLI,
        # `scanserve serve` without extraction) should not pay.
        from rapidocr import RapidOCR  # noqa: PLC0415

        _ENGINE = RapidOCR(
            params={"Global.log_level": "warning", "Global.text_score": MIN_LINE_SCORE}
        )
        # RapidOCR logs through a colour handler of its own that does not propagate: hand
        # its lines to the application's logging configuration instead (JSON logs included).
        own = logging.getLogger("RapidOCR")
        for handler in list(own.handlers):
            own.removeHandler(handler)
        own.propagate = True
    return _ENGINE


def installed() -> bool:
    try:
        import rapidocr  # noqa: F401, PLC0415 - only asks whether it can be imported
    except ImportError:
        return False
    return True


class RapidOcrExtractor:
    name = "rapidocr"
    photo_types = frozenset({"ingredients", "nutrition"})

    def __init__(self, max_side: int = DEFAULT_MAX_SIDE, *, chosen: bool = True):
        self.max_side = max_side
        self.chosen = chosen

    def unavailable_reason(self) -> str | None:
        if not self.chosen:
            return "another OCR engine is configured (SCANSERVE_OCR_ENGINE)"
        if not installed():
            return "the rapidocr package is not installed (pip install rapidocr onnxruntime)"
        return None

    def read(self, data: bytes) -> OcrText:
        image = Image.open(io.BytesIO(png(data, self.max_side)))
        with _ENGINE_LOCK:
            engine = _engine()
            try:
                result = engine(image)
            except Exception as exc:  # any failure of the engine is this photo's
                raise ProviderError(f"rapidocr failed: {exc}") from None
        texts = [str(text) for text in (result.txts or ())]
        scores = [float(score) for score in (result.scores or ())]
        mean = sum(scores) / len(scores) if scores else 0.0
        return OcrText(lines=texts, confidence=mean)

    def extract(self, item: ExtractionInput) -> list[ProposalDraft]:
        if item.photo is None:
            return []
        return ingredients_proposal(item, self.read(item.photo.data), "RapidOCR", "line")
