"""The object store's local backend and the image helpers, on real files and real images."""

from __future__ import annotations

import io
import os
import stat

import barcode
import pytest
import segno
from barcode.writer import ImageWriter

from scanserve.domain import imaging
from scanserve.infra.objectstore import InvalidKey, ObjectExists, ObjectNotFound, check_key
from scanserve.infra.objectstore.local import LocalObjectStore


def test_put_get_size_and_never_overwrite(tmp_path):
    store = LocalObjectStore(tmp_path / "objects")
    assert store.put("org/a/s/front/x.jpg", b"first", content_type="image/jpeg") == 5
    assert store.get("org/a/s/front/x.jpg") == b"first"
    assert store.size("org/a/s/front/x.jpg") == 5
    with pytest.raises(ObjectExists):
        store.put("org/a/s/front/x.jpg", b"second", content_type="image/jpeg")
    assert store.get("org/a/s/front/x.jpg") == b"first"
    mode = stat.S_IMODE(os.stat(tmp_path / "objects/org/a/s/front/x.jpg").st_mode)
    assert mode == 0o600
    assert not [p for p in (tmp_path / "objects/org/a/s/front").iterdir() if ".part" in p.name]


def test_missing_objects(tmp_path):
    store = LocalObjectStore(tmp_path / "objects")
    assert store.size("org/a/none.png") is None
    assert store.size("org") is None
    with pytest.raises(ObjectNotFound):
        store.get("org/a/none.png")
    store.delete("org/a/none.png")


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/abs",
        "a//b",
        "../x",
        "a/../b",
        "a/./b",
        "a/..",
        ".hidden",
        "a/b\x00",
        "a\\b",
        "x" * 501,
    ],
)
def test_keys_that_could_escape_are_refused(key):
    with pytest.raises(InvalidKey):
        check_key(key)


def test_sniff_judges_bytes_not_names():
    assert imaging.sniff(b"\xff\xd8\xff\xe0rest") == imaging.JPEG
    assert imaging.sniff(b"\x89PNG\r\n\x1a\nrest") == imaging.PNG
    assert imaging.sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == imaging.WEBP
    assert imaging.sniff(b"GIF89a") is None
    assert imaging.sniff(b"%PDF-1.7 \x89PNG") is None


def _ean13_png(digits: str) -> bytes:
    out = io.BytesIO()
    barcode.get("ean13", digits, writer=ImageWriter()).write(out)
    return out.getvalue()


def test_decode_ean13_and_qr_in_reading_order():
    codes = imaging.decode_codes(_ean13_png("4006381333931"))
    assert [(c.text, c.symbology) for c in codes] == [("4006381333931", "EAN13")]
    out = io.BytesIO()
    segno.make("https://id.gs1.org/01/09506000134352", error="m").save(out, kind="png", scale=6)
    assert [c.text for c in imaging.decode_codes(out.getvalue())] == [
        "https://id.gs1.org/01/09506000134352"
    ]


def test_truncated_and_disguised_files_are_image_errors():
    png = _ean13_png("4006381333931")
    with pytest.raises(imaging.ImageError, match="cannot be read"):
        imaging.decode_codes(png[: len(png) // 3])
    with pytest.raises(imaging.ImageError, match="not a JPEG, PNG or WebP"):
        imaging.decode_codes(b"this file says it is a PNG\n" * 10)
