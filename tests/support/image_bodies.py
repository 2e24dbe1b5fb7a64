"""Real JPEG, PNG and WebP bodies for the contract's image media types, registered with
schemathesis: uploads then get past the byte check and their captures are decoded (an EAN-13,
a GS1 Digital Link QR code, a photo with no code). Used by the contract suite
(tests/contract/test_contract.py) and the live fuzz run's hooks (tests/fuzz/hooks.py), as is
:func:`judge_file_parts_as_declared`, which lets schemathesis judge a form holding them."""

from __future__ import annotations

import io
from typing import Any

import barcode
import schemathesis
import segno
from barcode.writer import ImageWriter
from hypothesis import strategies as st
from PIL import Image
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.case import Case
from schemathesis.transport.serialization import Binary

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


_validate_component = Case._validate_component


def _validate_with_file_parts(
    self: Case, location: ParameterLocation, value: Any, cls: Any
) -> bool:
    if location == ParameterLocation.BODY and isinstance(value, dict):
        value = {k: "" if isinstance(v, bytes | Binary) else v for k, v in value.items()}
    return _validate_component(self, location, value, cls)  # type: ignore[no-any-return]


def judge_file_parts_as_declared() -> None:
    """Have schemathesis re-validate a multipart body with its file parts seen as the strings
    the schema declares (``format: binary``).

    When a link writes into a generated body (the form's ``session_id`` of
    ``uploadCaptureImage``, the policy fields of ``receiveUpload``), schemathesis re-validates
    the body to label the case positive or negative. It cannot validate bytes, so it counts
    any body holding a file invalid: a valid upload is labelled negative and its 201/204 is
    reported as "schema-violating request accepted". Judged with each file part as a string,
    the other fields decide, as they do for a JSON body. (schemathesis as pinned in
    pyproject.toml: this wraps its ``Case._validate_component``.)
    """
    Case._validate_component = _validate_with_file_parts  # type: ignore[method-assign]
