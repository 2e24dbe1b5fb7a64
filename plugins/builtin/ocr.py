"""Built-in extractor ``tesseract-ocr`` for ``ingredients`` and ``nutrition`` photos: reads
the text with Tesseract and proposes the product's ``ingredients``, cleaned of OCR noise.

Why the ``tesseract`` program through :mod:`subprocess` rather than pytesseract: pytesseract
is itself a thin wrapper that writes temporary files and runs the same program; calling it
directly costs no dependency, feeds the image on stdin (no temporary files), bounds the run
with a timeout, and reads Tesseract's TSV output, whose per-word confidences give the
proposal's ``confidence`` (their mean over the words kept). Where the program is missing
(``SCANSERVE_TESSERACT_CMD``, ``tesseract`` on ``PATH`` by default; Debian's
``tesseract-ocr`` package) the extractor reports itself unavailable and is skipped.

Cleaning: words Tesseract itself doubts (confidence below :data:`MIN_WORD_CONFIDENCE`) and
characters no ingredient list uses are dropped, words broken over lines with a hyphen are
joined, whitespace and spacing around punctuation are normalised. The list starts after an
"Ingredients" label when there is one, and ends at the next panel heading (nutrition,
allergy advice, storage, best before...). An ``ingredients`` photo without a label is read
whole; a ``nutrition`` photo proposes only the part after an "Ingredients" label (nutrition
facts themselves have no field in the contract's proposals).
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from dataclasses import dataclass

from scanserve.domain.imaging import ImageError, grey_for_ocr
from scanserve.plugins.providers import ExtractionInput, ProposalDraft, ProviderError

MIN_WORD_CONFIDENCE = 30.0
# Tesseract reads best at ~300 dpi; small images are enlarged to about this height first.
MIN_HEIGHT = 600
# Larger photos are scaled down to this long side first: text a person can read on a shelf
# photo stays readable at it, and Tesseract's memory and time grow with the pixels (a
# 13000x13000 photo took it to 534 MB).
DEFAULT_MAX_SIDE = 3000

_LABEL = re.compile(r"\b(?:ingredients?|ingr[ée]dients?|zutaten)\s*[:.;]?\s*", re.IGNORECASE)
_END = re.compile(
    r"\b(?:nutrition(?:al)?|allerg(?:y|en)s?\s+(?:advice|information)|storage|store\s+in|"
    r"best\s+before|use\s+by|keep\s+refrigerated|may\s+contain)\b",
    re.IGNORECASE,
)
_NOISE = re.compile(r"[^\w\s,.;:()\[\]%&'/*+-]", re.UNICODE)


class OcrTimeout(ProviderError, TimeoutError):
    """Tesseract overran its time limit (and was killed): extraction lists the photo as
    failed with reason ``timeout``."""


@dataclass(frozen=True)
class OcrText:
    lines: list[str]
    confidence: float  # 0..1, the mean over the words kept


def png(data: bytes, max_side: int = DEFAULT_MAX_SIDE) -> bytes:
    """The photo as the greyscale PNG an OCR engine reads: within the pixel limit, decoded under
    the decode budget, the long side at most ``max_side`` (see scanserve.domain.imaging)."""
    try:
        return grey_for_ocr(data, max_side=max_side, min_height=MIN_HEIGHT)
    except ImageError as exc:
        raise ProviderError(f"the photo cannot be read as an image: {exc}") from None


def parse_tsv(tsv: str) -> OcrText:
    """Lines of words (in Tesseract's reading order) and the mean word confidence, leaving
    out words below :data:`MIN_WORD_CONFIDENCE`."""
    lines: dict[tuple[str, str, str, str], list[str]] = {}
    confidences: list[float] = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        try:
            conf = float(row.get("conf") or -1)
        except ValueError:
            continue
        if row.get("level") != "5" or not text or conf < MIN_WORD_CONFIDENCE:
            continue
        key = (row["page_num"], row["block_num"], row["par_num"], row["line_num"])
        lines.setdefault(key, []).append(text)
        confidences.append(conf)
    mean = sum(confidences) / len(confidences) / 100 if confidences else 0.0
    return OcrText(lines=[" ".join(words) for words in lines.values()], confidence=mean)


def clean_ingredients(lines: list[str], *, require_label: bool) -> str:
    """The ingredient list in ``lines`` as one tidy line, or "" when there is none."""
    text = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if text.endswith("-") and line[:1].islower():
            text = text[:-1] + line  # a word broken over two lines
        else:
            text = f"{text} {line}" if text else line
    label = _LABEL.search(text)
    if label:
        text = text[label.end() :]
    elif require_label:
        return ""
    end = _END.search(text)
    if end:
        text = text[: end.start()]
    text = _NOISE.sub(" ", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([,.;:)\]%])", r"\1", text)
    text = re.sub(r"([(\[])\s+", r"\1", text)
    text = re.sub(r"([,;])(?=\S)", r"\1 ", text)
    text = re.sub(r"([,;:])\1+", r"\1", text)
    text = text.strip(" ,;:-*")
    if sum(ch.isalpha() for ch in text) < 3:
        return ""
    if not text.endswith("."):
        text += "."
    return text[:1].upper() + text[1:]


def ingredients_proposal(
    item: ExtractionInput, ocr: OcrText, engine: str, unit: str
) -> list[ProposalDraft]:
    """The ``ingredients`` proposal an OCR engine's reading of ``item``'s photo makes: the
    cleaned list (labelled, on a ``nutrition`` photo), or none when there is none or it is
    what the product already says. ``unit`` is what the engine's confidences are of."""
    assert item.photo is not None
    text = clean_ingredients(ocr.lines, require_label=item.photo.photo_type != "ingredients")
    if not text or text == item.current.get("ingredients", ""):
        return []
    return [
        ProposalDraft(
            field_name="ingredients",
            proposed_value=text,
            confidence=round(ocr.confidence, 2),
            reasoning=(
                f"Read with {engine} from the {item.photo.photo_type} photo; mean {unit} "
                f"confidence {ocr.confidence:.0%}, OCR noise removed."
            ),
            metadata={"photo_id": item.photo.short_id},
        )
    ]


class TesseractExtractor:
    name = "tesseract-ocr"
    photo_types = frozenset({"ingredients", "nutrition"})

    def __init__(
        self,
        command: str = "tesseract",
        languages: str = "eng",
        timeout: float = 60,
        max_side: int = DEFAULT_MAX_SIDE,
        *,
        chosen: bool = True,
    ):
        self.command = command
        self.languages = languages
        self.timeout = timeout
        self.max_side = max_side
        self.chosen = chosen

    def executable(self) -> str | None:
        return shutil.which(self.command)

    def unavailable_reason(self) -> str | None:
        if not self.chosen:
            return "another OCR engine is configured (SCANSERVE_OCR_ENGINE)"
        if self.executable() is None:
            return (
                f"the Tesseract program {self.command!r} is not installed "
                "(Debian: apt-get install tesseract-ocr)"
            )
        return None

    def read(self, data: bytes) -> OcrText:
        executable = self.executable()
        if executable is None:
            raise ProviderError(self.unavailable_reason() or "tesseract is missing")
        try:
            done = subprocess.run(  # noqa: S603 - a configured program, arguments as a list
                [executable, "stdin", "stdout", "-l", self.languages, "--psm", "6", "tsv"],
                input=png(data, self.max_side),
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:  # subprocess.run has killed it
            raise OcrTimeout(f"tesseract gave no answer within {self.timeout:g} s") from None
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise ProviderError(f"tesseract failed: {message[-1] if message else done.returncode}")
        return parse_tsv(done.stdout.decode("utf-8", "replace"))

    def extract(self, item: ExtractionInput) -> list[ProposalDraft]:
        if item.photo is None:
            return []
        return ingredients_proposal(item, self.read(item.photo.data), "Tesseract", "word")
