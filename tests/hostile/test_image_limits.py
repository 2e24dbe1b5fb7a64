"""One pixel limit and one decode budget on every path that opens an image: upload-image, a
presigned photo at its registration (decoded there: a JPEG signature in front of HTML, or a
truncated file, is never registered), extraction and OCR; and the checks themselves."""

from __future__ import annotations

import io
import logging
import struct
import threading
import zlib

import pytest
from extraction_support import (
    GTIN13,
    add_photo,
    add_product,
    capture,
    open_session,
    proposals,
    status,
    submit,
)
from PIL import Image

from scanserve.domain import imaging
from scanserve.plugins.builtin.ocr import TesseractExtractor
from scanserve.plugins.providers import ProviderError
from scanserve.storage import models
from scanserve.testing import wait_for

BASE = "/scanner/api/v1"


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def huge_png(width: int = 13000, height: int = 13000) -> bytes:
    """A real greyscale PNG of width x height white pixels (169 megapixels by default, a few
    hundred KB), written row by row so the test never holds its pixels either."""
    compressor = zlib.compressobj(1)
    row = b"\0" + b"\xff" * width
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    image = Image.new("RGB", size)
    image.putdata([(x * 7 % 256, y * 5 % 256, 90) for y in range(size[1]) for x in range(size[0])])
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def png(size: tuple[int, int] = (32, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "blue").save(out, format="PNG")
    return out.getvalue()


def _problem(response, status_code, code):
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["error_code"] == code
    return body


@pytest.fixture
def session_id(scanserve_client, api_key):
    return scanserve_client.post(f"{BASE}/sessions", json={}, headers=api_key.headers).json()["id"]


def upload_image(client, key, session_id, data, content_type="image/png"):
    return client.post(
        f"{BASE}/captures/upload-image",
        data={"session_id": session_id},
        files={"image": ("a.bin", data, content_type)},
        headers=key.headers,
    )


def presign_and_upload(client, key, session_id, data, filename="photo.jpg"):
    target = client.get(
        f"{BASE}/sessions/{session_id}/presigned-upload-url",
        params={"original_filename": filename, "photo_type": "ingredients"},
        headers=key.headers,
    ).json()
    fields = target["upload_fields"]
    response = client.post(
        target["upload_url"],
        data=fields,
        files={"file": (filename, data, fields["Content-Type"])},
    )
    assert response.status_code == 204, response.text
    return target["s3_key"]


def register(client, key, session_id, s3_key):
    return client.post(
        f"{BASE}/sessions/{session_id}/photos", json={"s3_key": s3_key}, headers=key.headers
    )


# --- the checks themselves ---------------------------------------------------------------


def test_the_png_check_reads_the_whole_stream_without_the_pixels():
    for mode in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
        out = io.BytesIO()
        Image.new(mode, (37, 23), 1).save(out, format="PNG")
        good = out.getvalue()
        assert imaging.check_image(good) == imaging.PNG, mode
        for cut in (len(good) // 2, len(good) - 12, len(good) - 5):
            with pytest.raises(imaging.ImageError, match="cannot be read"):
                imaging.check_image(good[:cut])
    # an interlaced (Adam7) PNG, written by hand: Pillow reads these but cannot write them
    width, height, raw = 13, 11, b""
    for x0, y0, dx, dy in imaging._ADAM7:
        columns, rows = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if columns > 0 and rows > 0:
            raw += (b"\0" + bytes(range(columns))) * rows
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 1)
    interlaced = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw))
        + _chunk(b"IEND", b"")
    )
    Image.open(io.BytesIO(interlaced)).load()  # a valid file, as Pillow sees it
    assert imaging.check_image(interlaced) == imaging.PNG
    short = interlaced.replace(
        _chunk(b"IDAT", zlib.compress(raw)), _chunk(b"IDAT", zlib.compress(raw[:-3]))
    )
    with pytest.raises(imaging.ImageError, match="truncated"):
        imaging.check_image(short)
    # one flipped byte in the image data: its chunk's CRC gives it away
    good = png()
    at = good.index(b"IDAT") + 10
    with pytest.raises(imaging.ImageError, match="CRC"):
        imaging.check_image(good[:at] + bytes([good[at] ^ 1]) + good[at + 1 :])


def test_jpeg_magic_followed_by_html_or_a_cut_jpeg_is_no_image():
    good = jpeg((320, 240))
    assert imaging.check_image(good) == imaging.JPEG
    for bad in (b"\xff\xd8\xff" + b"<html><body>hello</body></html>", good[: len(good) // 2]):
        with pytest.raises(imaging.ImageError):
            imaging.check_image(bad)


def test_the_pixel_limit_is_read_from_the_header_before_anything_is_decoded():
    huge = huge_png()
    imaging.budget.peak = 0
    for check in (imaging.check_image, imaging.decode_codes, imaging.inspect):
        with pytest.raises(imaging.ImageTooLarge, match="13000x13000"):
            check(huge)
    with pytest.raises(imaging.ImageTooLarge):
        imaging.grey_for_ocr(huge, max_side=3000, min_height=600)
    assert imaging.budget.peak == 0  # not a byte of it was decoded


def test_ocr_input_is_scaled_down_to_what_recognition_needs():
    out = io.BytesIO()
    Image.radial_gradient("L").resize((4800, 1200)).convert("RGB").save(out, format="JPEG")
    big = out.getvalue()
    grey = Image.open(io.BytesIO(imaging.grey_for_ocr(big, max_side=3000, min_height=600)))
    assert grey.mode == "L"
    assert grey.size == (3000, 750)
    small = Image.open(
        io.BytesIO(imaging.grey_for_ocr(png((80, 40)), max_side=3000, min_height=600))
    )
    assert small.size == (1200, 600)  # enlarged, as Tesseract wants


def test_the_budget_serves_in_order_and_gives_up_after_the_wait():
    budget = imaging.DecodeBudget(100)
    order: list[str] = []
    with budget.reserve(80, None):

        def take(name: str, size: int) -> None:
            with budget.reserve(size, None):
                order.append(name)

        big = threading.Thread(target=take, args=("big", 90))
        big.start()
        wait_for(lambda: len(budget._queue) == 1, 10, '"big" to ask first')
        small = threading.Thread(target=take, args=("small", 10))
        small.start()  # "small", which would fit now, does not overtake "big"
        wait_for(lambda: len(budget._queue) == 2, 10, '"small" to ask')
        assert order == []
        with pytest.raises(imaging.DecoderBusy), budget.reserve(1, 0.1):
            pass
    big.join(10)
    small.join(10)
    assert order == ["big", "small"]
    assert budget.in_use == 0
    assert budget.peak == 90
    with budget.reserve(10**9, 0):  # more than the whole budget: all of it, alone
        assert budget.in_use == 100


# --- every path: upload-image, presigned registration, extraction and OCR ------------------


def test_a_13000_square_image_is_refused_on_every_path(
    scanserve_app, scanserve_client, api_key, session_id, caplog
):
    huge = huge_png()
    imaging.budget.peak = 0
    # upload-image
    body = _problem(
        upload_image(scanserve_client, api_key, session_id, huge), 422, "validation_error"
    )
    assert "13000x13000" in body["detail"]
    # a presigned upload: stored by the object store, refused when registered, and deleted
    key = presign_and_upload(scanserve_client, api_key, session_id, huge, "label.png")
    body = _problem(register(scanserve_client, api_key, session_id, key), 422, "validation_error")
    assert body["errors"][0]["pointer"] == "/s3_key"
    assert "13000x13000" in body["errors"][0]["message"]
    assert scanserve_app.services.objects.size(key) is None
    assert models.Photo.select().count() == 0
    assert models.Capture.select().count() == 0
    # OCR: refused before Tesseract runs (this "Tesseract" would fail, saying so, if run)
    with pytest.raises(ProviderError, match="13000x13000"):
        TesseractExtractor(command="false").read(huge)
    # extraction: a photo stored before the limit (or under a larger one) is skipped
    add_product()
    session = open_session(scanserve_client, api_key.headers)
    scanned = capture(scanserve_client, api_key.headers, session["id"], GTIN13)
    add_photo(scanserve_app.services, session["id"], huge, "ingredients", capture_id=scanned["id"])
    with caplog.at_level(logging.WARNING, logger="scanserve.extraction"):
        submit(scanserve_client, api_key.headers, session["id"])
    assert status(scanserve_client, api_key.headers, session["id"])["extraction_status"] == "ready"
    assert proposals(scanserve_client, api_key.headers, scanned["id"]) == []
    assert "is refused" in caplog.text
    assert "13000x13000" in caplog.text
    assert imaging.budget.peak == 0  # on no path was a pixel of it decoded


@pytest.mark.parametrize(
    ("name", "data", "filename"),
    [
        (
            "jpeg-magic-then-html",
            b"\xff\xd8\xff\xe0" + b"<html><body>not a photo</body></html>",
            "p.jpg",
        ),
        ("truncated-jpeg", jpeg((320, 240))[:1500], "p.jpg"),
        ("png-under-a-jpeg-key", png(), "p.jpg"),
    ],
    ids=["jpeg-magic-then-html", "truncated-jpeg", "png-under-a-jpeg-key"],
)
def test_a_presigned_upload_that_is_not_its_image_is_never_registered(
    scanserve_app, scanserve_client, api_key, session_id, name, data, filename
):
    # the local backend, like S3, checks only the declared type and the first bytes
    if name == "png-under-a-jpeg-key":
        # the upload endpoint sniffs the type; a PNG under a .jpg policy is refused there,
        # so it is stored straight into the bucket, as a client of S3 could
        target = scanserve_client.get(
            f"{BASE}/sessions/{session_id}/presigned-upload-url",
            params={"original_filename": filename},
            headers=api_key.headers,
        ).json()
        key = target["s3_key"]
        scanserve_app.services.objects.put(key, data, content_type="image/jpeg")
    else:
        key = presign_and_upload(scanserve_client, api_key, session_id, data, filename)
    body = _problem(register(scanserve_client, api_key, session_id, key), 422, "validation_error")
    assert body["errors"][0]["pointer"] == "/s3_key"
    assert models.Photo.select().count() == 0
    assert scanserve_app.services.objects.size(key) is None  # deleted: it can never be one
    # and a real JPEG of the same session still registers
    good = presign_and_upload(scanserve_client, api_key, session_id, jpeg(), "ok.jpg")
    assert register(scanserve_client, api_key, session_id, good).status_code == 201


@pytest.mark.scanserve_settings(image_decode_wait_seconds=0.2)
def test_a_request_that_cannot_get_the_decoder_in_time_gets_503(
    scanserve_app, scanserve_client, api_key, session_id
):
    assert imaging.request_wait_seconds() == 0.2
    with imaging.budget.reserve(imaging.budget.total, None):  # every decoder busy
        response = upload_image(scanserve_client, api_key, session_id, jpeg(), "image/jpeg")
    body = _problem(response, 503, "service_unavailable")
    assert body["retryable"] is True
    assert int(response.headers["retry-after"]) >= 1
    assert models.Capture.select().count() == 0
    # free again: the same upload goes through
    response = upload_image(scanserve_client, api_key, session_id, jpeg(), "image/jpeg")
    assert response.status_code == 201, response.text


def test_past_the_image_requests_that_may_wait_the_answer_is_503_at_once(
    scanserve_client, api_key, session_id, monkeypatch
):
    from scanserve.http import context

    # one thread in the image lane, none waiting beyond it
    monkeypatch.setattr(scanserve_client.app.services.image_lane, "overall_size", 1)
    monkeypatch.setattr(context, "IMAGE_WORK_WAITING", 0)
    imaging.work_started()  # one image request in flight: no room for another
    try:
        response = upload_image(scanserve_client, api_key, session_id, jpeg(), "image/jpeg")
    finally:
        imaging.work_finished()
    body = _problem(response, 503, "service_unavailable")
    assert response.headers["retry-after"] == "5"
    assert body["retryable"] is True
    assert imaging.work_in_flight() == 0
    assert (
        upload_image(scanserve_client, api_key, session_id, jpeg(), "image/jpeg").status_code
        == 201
    )
