"""Real JPEG, PNG and WebP bodies for the contract's image media types, registered with
schemathesis: uploads then get past the byte check and their captures are decoded (an EAN-13,
a GS1 Digital Link QR code, a photo with no code). Used by the contract suite
(tests/test_contract.py) and the live fuzz run's hooks (tests/fuzz/hooks.py)."""

from __future__ import annotations

import io

import barcode
import schemathesis
import segno
from barcode.writer import ImageWriter
from hypothesis import strategies as st
from PIL import Image

FORMATS = (("image/jpeg", "JPEG"), ("image/png", "PNG"), ("image/webp", "WEBP"))
KINDS = ("ean13", "qr", "plain")


def image(kind: str, fmt: str) -> bytes:
    if kind == "ean13":
        out = io.BytesIO()
        barcode.get("ean13", "400638133393", writer=ImageWriter()).write(out)
        picture = Image.open(io.BytesIO(out.getvalue())).convert("RGB")
    elif kind == "qr":
        out = io.BytesIO()
        segno.make("https://id.gs1.org/01/09506000134352", error="m").save(
            out, kind="png", scale=5
        )
        picture = Image.open(io.BytesIO(out.getvalue())).convert("RGB")
    else:  # a photo with no code
        picture = Image.new("RGB", (40, 30), "olive")
    out = io.BytesIO()
    picture.save(out, format=fmt)
    return out.getvalue()


def register_image_media_types() -> None:
    """schemathesis generates the image media types from these bodies."""
    for media_type, fmt in FORMATS:
        schemathesis.openapi.media_type(
            media_type, st.sampled_from([image(kind, fmt) for kind in KINDS])
        )
