"""Images: what a file really is (judged from its bytes, never its name) and the barcodes in
it.

Decoding uses zxing-cpp (the C++ port of ZXing, a maintained wheel on PyPI) through Pillow:
it reads EAN-8/13, UPC-A/E, Code 128 (GS1-128), DataMatrix and QR codes. It reads in zxing's
``Plain`` text mode, so a GS1 symbol comes back as its element string with the ASCII 29
group separators intact (not the parenthesised human-readable form), and
:attr:`DecodedCode.value` prefixes it with the symbol's AIM identifier (``]d2``, ``]C1``,
``]Q3``...), which :mod:`scanserve.gs1` reads as "this is GS1 data", like any typed value.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
IMAGE_TYPES = (JPEG, PNG, WEBP)
EXTENSIONS = {JPEG: ".jpg", PNG: ".png", WEBP: ".webp"}

# The largest image (in pixels) we hand to the decoder: Pillow's bomb check made stricter.
MAX_PIXELS = 40_000_000


class ImageError(ValueError):
    """The bytes are not a complete image of a supported type; the message says why."""


def sniff(data: bytes) -> str | None:
    """The media type the bytes' signature says, for the types we take, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


@dataclass(frozen=True)
class DecodedCode:
    """One code found in an image. ``text`` is what the symbol holds; ``symbology`` is
    zxing's format name (``EAN13``, ``QRCode``, ``DataMatrix``...); ``gs1`` is true when the
    symbol carries GS1 data (FNC1 in first position); ``symbology_identifier`` is its AIM
    identifier (``]E0`` for EAN-13, ``]d2`` for GS1 DataMatrix...)."""

    text: str
    symbology: str
    gs1: bool
    # The symbol's top-left corner, for ordering several codes in reading order.
    x: int
    y: int
    symbology_identifier: str = ""

    @property
    def value(self) -> str:
        """The text as a capture's ``raw_value``: GS1 element strings keep their AIM
        identifier, so they are never mistaken for plain text."""
        if self.gs1 and self.symbology_identifier:
            return self.symbology_identifier + self.text
        return self.text


def decode_codes(data: bytes) -> list[DecodedCode]:
    """Every code zxing-cpp reads in the image, in reading order (top to bottom, then left to
    right). Raises :class:`ImageError` when the bytes are not a whole JPEG, PNG or WebP."""
    import zxingcpp
    from PIL import Image

    media_type = sniff(data)
    if media_type is None:
        raise ImageError("the file is not a JPEG, PNG or WebP image")
    try:
        with Image.open(io.BytesIO(data)) as image:
            too_large = image.width * image.height > MAX_PIXELS
            if not too_large:
                image.load()  # a truncated file fails here, not later
                results = zxingcpp.read_barcodes(
                    image.convert("L"), text_mode=zxingcpp.TextMode.Plain
                )
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"the {media_type} image cannot be read: {exc}") from None
    if too_large:
        raise ImageError(f"the image is larger than {MAX_PIXELS} pixels")
    codes = []
    for result in results:
        if not result.valid or not result.text:
            continue
        top_left = result.position.top_left
        codes.append(
            DecodedCode(
                text=result.text,
                symbology=result.format.name,
                gs1=bool(getattr(result.content_type, "name", "") == "GS1"),
                x=top_left.x,
                y=top_left.y,
                symbology_identifier=str(getattr(result, "symbology_identifier", "") or ""),
            )
        )
    codes.sort(key=lambda c: (c.y, c.x))
    return codes


def check_image(data: bytes) -> str:
    """The media type of a whole, readable JPEG, PNG or WebP image (judged from the bytes,
    every pixel decoded, so a truncated file is caught); raises :class:`ImageError` saying
    what is wrong. Cheaper than :func:`decode_codes`: no barcode search."""
    from PIL import Image

    media_type = sniff(data)
    if media_type is None:
        raise ImageError("the file is not a JPEG, PNG or WebP image (judged from its bytes)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ImageError(f"the image is larger than {MAX_PIXELS} pixels")
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        if isinstance(exc, ImageError):
            raise
        raise ImageError(f"the {media_type} image cannot be read: {exc}") from None
    return media_type
