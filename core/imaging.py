"""Images: what a file really is (judged from its bytes, never its name) and the barcodes in
it.

Decoding uses zxing-cpp (the C++ port of ZXing, a maintained wheel on PyPI) through Pillow:
it reads EAN-8/13, UPC-A/E, Code 128 (GS1-128), DataMatrix and QR codes, and returns GS1
element strings with the FNC1/group separators intact, so :mod:`scanserve.gs1` interprets
them like any typed value.
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
    symbol carries GS1 data (FNC1 in first position)."""

    text: str
    symbology: str
    gs1: bool
    # The symbol's top-left corner, for ordering several codes in reading order.
    x: int
    y: int


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
                results = zxingcpp.read_barcodes(image.convert("L"))
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
            )
        )
    codes.sort(key=lambda c: (c.y, c.x))
    return codes
