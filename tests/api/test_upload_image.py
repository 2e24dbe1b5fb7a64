"""POST /captures/upload-image through the real app: images the tests draw themselves
(python-barcode, segno, zxing-cpp's writer, Pillow), decoded on the queue by zxing-cpp, and
the captures going through the pipeline like scanned ones."""

from __future__ import annotations

import io

import barcode
import pytest
import segno
import zxingcpp
from barcode.writer import ImageWriter
from PIL import Image

from scanserve.app import create_app
from scanserve.domain import pipeline
from scanserve.plugins.providers import ProductRecord
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.testing import FakeLookupProvider, issue_key

BASE = "/scanner/api/v1"
GS = "\x1d"


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def linear(kind: str, digits: str) -> Image.Image:
    out = io.BytesIO()
    barcode.get(kind, digits, writer=ImageWriter()).write(out)
    out.seek(0)
    return Image.open(out).convert("L")


def qr(text: str) -> Image.Image:
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=6, border=4)
    out.seek(0)
    return Image.open(out).convert("L")


def gs1_datamatrix(hri: str) -> Image.Image:
    symbol = zxingcpp.create_barcode(hri, zxingcpp.BarcodeFormat.DataMatrix, gs1=True)
    bitmap = zxingcpp.write_barcode_to_image(symbol, scale=8)
    height, width = bitmap.shape[:2]
    drawn = Image.frombuffer("L", (width, height), bytes(memoryview(bitmap)), "raw", "L", 0, 1)
    canvas = Image.new("L", (width + 80, height + 80), 255)
    canvas.paste(drawn, (40, 40))
    return canvas


def stacked(*images: Image.Image) -> Image.Image:
    """The images one under the other, on white: several codes in one photo."""
    width = max(i.width for i in images) + 40
    height = sum(i.height for i in images) + 40 * (len(images) + 1)
    canvas = Image.new("L", (width, height), 255)
    y = 40
    for image in images:
        canvas.paste(image, (20, y))
        y += image.height + 40
    return canvas


def plain_photo() -> bytes:
    image = Image.new("RGB", (320, 240))
    image.putdata([(x % 256, (x * y) % 256, y % 256) for y in range(240) for x in range(320)])
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


PRODUCTS = {
    "04006381333931": ProductRecord(gtin="04006381333931", name="Highlighter Yellow"),
    "00036000291452": ProductRecord(gtin="00036000291452", name="Tissues"),
    "09506000134352": ProductRecord(gtin="09506000134352", name="Organic Oat Drink 1 l"),
}


@pytest.fixture(autouse=True)  # first, so the app is built with it
def lookup(scanserve_plugins):
    provider = FakeLookupProvider(dict(PRODUCTS))
    scanserve_plugins.append(provider)
    return provider


@pytest.fixture
def session_id(scanserve_client, api_key):
    return scanserve_client.post(f"{BASE}/sessions", json={}, headers=api_key.headers).json()["id"]


def upload(client, key, session_id, data, filename="scan.png", content_type="image/png", **form):
    return client.post(
        f"{BASE}/captures/upload-image",
        data={"session_id": session_id, **form},
        files={"image": (filename, data, content_type)},
        headers=key.headers,
    )


def _problem(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["error_code"] == code
    return response.json()


@pytest.mark.parametrize(
    ("image", "raw_value", "gtin", "ai_data", "name"),
    [
        (
            lambda: linear("ean13", "400638133393"),
            "4006381333931",
            "04006381333931",
            None,
            "Highlighter Yellow",
        ),
        (
            lambda: linear("upca", "03600029145"),
            "0036000291452",
            "00036000291452",
            None,
            "Tissues",
        ),
        (
            lambda: gs1_datamatrix("(01)09506000134352(10)ABC123(17)261231"),
            f"]d2010950600013435210ABC123{GS}17261231",
            "09506000134352",
            {"01": "09506000134352", "10": "ABC123", "17": "261231"},
            "Organic Oat Drink 1 l",
        ),
    ],
    ids=["ean13", "upca", "gs1-datamatrix"],
)
def test_codes_decoded_on_the_server_become_the_capture(
    scanserve_client, api_key, session_id, lookup, image, raw_value, gtin, ai_data, name
):
    response = upload(scanserve_client, api_key, session_id, _png(image()))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["capture_type"] == "IMAGE"
    key = created["uploaded_image_key"]
    assert key == (
        f"org/{api_key.org_short_id}/sessions/{session_id}/captures/{created['id']}.png"
    )
    capture = scanserve_client.get(f"{BASE}/captures/{created['id']}", headers=api_key.headers)
    body = capture.json()
    assert body["status"] == "COMPLETED", (body["raw_value"], body["error_message"], lookup.asked)
    assert body["raw_value"] == raw_value
    assert body["gtin"] == gtin
    assert body["gs1_dl_data"] == ai_data
    assert body["product_name"] == name
    assert body["error_message"] == ""
    assert lookup.asked == [gtin]


def test_qr_digital_link_is_followed_like_a_scan(scanserve_client, api_key, session_id, lookup):
    url = "https://id.gs1.org/01/09506000134352/10/LOT7?17=261231"
    created = upload(scanserve_client, api_key, session_id, _png(qr(url))).json()
    body = scanserve_client.get(f"{BASE}/captures/{created['id']}", headers=api_key.headers).json()
    assert body["raw_value"] == url
    assert body["gtin"] == "09506000134352"
    assert body["gs1_dl_data"] == {"01": "09506000134352", "10": "LOT7", "17": "261231"}
    assert body["metadata"] == {"decoded_symbology": "QRCode"}
    assert body["product_name"] == "Organic Oat Drink 1 l"


def test_several_codes_first_product_code_wins_others_listed(
    scanserve_client, api_key, session_id, lookup
):
    # reading order: a QR with a plain URL (no product), then an EAN-13, then another EAN-13
    image = stacked(
        qr("https://example.com/promo"),
        linear("ean13", "400638133393"),
        linear("upca", "03600029145"),
    )
    created = upload(scanserve_client, api_key, session_id, _png(image)).json()
    body = scanserve_client.get(f"{BASE}/captures/{created['id']}", headers=api_key.headers).json()
    assert body["raw_value"] == "4006381333931"
    assert body["status"] == "COMPLETED"
    assert body["metadata"] == {
        "decoded_symbology": "EAN13",
        "decoded_other_1": "QRCode:https://example.com/promo",
        "decoded_other_2": "EAN13:0036000291452",
    }


def test_the_answer_is_the_capture_as_created_even_when_a_worker_is_quicker(tmp_path, monkeypatch):
    # A worker that takes the capture the moment it is queued, before the request answers
    # (what a busy server's idle consumer thread can do): the answer is still PENDING, as the
    # contract says, never the worker's LOOKING_UP or FAILED.
    settings = Settings(
        data_dir=tmp_path / "d",
        queue="embedded",
        validate_responses=True,
        load_entrypoint_plugins=False,
    )
    app = create_app(settings, extra_plugins=[FakeLookupProvider(dict(PRODUCTS))])
    queue = app.services.queue
    enqueue = queue.enqueue_capture

    def quick_worker(short_id: str, **kwargs: object) -> None:
        enqueue(short_id, **kwargs)
        pipeline.process_capture(app.services, short_id)

    monkeypatch.setattr(queue, "enqueue_capture", quick_worker)
    try:
        with app.test_client() as client:
            key = issue_key()
            sid = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()["id"]
            for image, settled in (
                (_png(linear("ean13", "400638133393")), "COMPLETED"),
                (plain_photo(), "FAILED"),
            ):
                response = upload(client, key, sid, image)
                assert response.status_code == 201, response.text
                assert response.json()["status"] == "PENDING"
                read = client.get(f"{BASE}/captures/{response.json()['id']}", headers=key.headers)
                assert read.json()["status"] == settled
    finally:
        app.services.db.close()


def test_photo_without_a_code_fails_saying_so(scanserve_client, api_key, session_id, lookup):
    response = upload(
        scanserve_client, api_key, session_id, plain_photo(), "shelf.jpg", "image/jpeg"
    )
    assert response.status_code == 201, response.text
    body = scanserve_client.get(
        f"{BASE}/captures/{response.json()['id']}", headers=api_key.headers
    ).json()
    assert body["status"] == "FAILED"
    assert body["error_message"] == "no barcode or QR code could be read in the image"
    assert body["uploaded_image_key"].endswith(".jpg")
    assert lookup.asked == []


def test_client_decoded_value_is_used_and_image_kept(
    scanserve_client, scanserve_app, api_key, session_id, lookup
):
    data = plain_photo()
    response = upload(
        scanserve_client,
        api_key,
        session_id,
        data,
        "x.bin",
        "application/octet-stream",
        capture_type="BARCODE",
        raw_value="4006381333931",
    )
    assert response.status_code == 201, response.text
    body = scanserve_client.get(
        f"{BASE}/captures/{response.json()['id']}", headers=api_key.headers
    ).json()
    assert body["capture_type"] == "BARCODE"
    assert body["status"] == "COMPLETED"
    assert body["raw_value"] == "4006381333931"
    assert body["metadata"] == {}  # nothing was decoded
    # the type came from the bytes: a JPEG, whatever the name and declared type said
    assert body["uploaded_image_key"].endswith(".jpg")
    assert scanserve_app.services.objects.get(body["uploaded_image_key"]) == data
    # a client GTIN that contradicts its raw_value is a hint the server's reading overrides,
    # as in createCapture; an invalid one alone is ignored, never a 422
    other = upload(
        scanserve_client,
        api_key,
        session_id,
        data,
        raw_value="4006381333931",
        gtin="09506000134352",
    )
    assert other.status_code == 201, other.text
    assert other.json()["gtin"] == "04006381333931"
    hint = upload(scanserve_client, api_key, session_id, data, gtin="not-a-gtin")
    assert hint.status_code == 201, hint.text
    assert hint.json()["gtin"] == ""
    # a raw_value that cannot be read: the capture is created and fails in the pipeline
    unreadable = upload(scanserve_client, api_key, session_id, data, raw_value="4006381333932")
    assert unreadable.status_code == 201, unreadable.text
    failed = scanserve_client.get(
        f"{BASE}/captures/{unreadable.json()['id']}", headers=api_key.headers
    ).json()
    assert failed["status"] == "FAILED"
    assert "check digit" in failed["error_message"]


def test_bad_files_are_refused(scanserve_client, scanserve_app, api_key, session_id):
    good = _png(linear("ean13", "400638133393"))
    # a file claiming to be a PNG that is not one
    body = _problem(
        upload(scanserve_client, api_key, session_id, b"<html>not a png</html>" * 20),
        415,
        "unsupported_media_type",
    )
    assert "JPEG, PNG or WebP" in body["detail"]
    gif = io.BytesIO()
    Image.new("L", (10, 10)).save(gif, format="GIF")
    _problem(
        upload(scanserve_client, api_key, session_id, gif.getvalue()),
        415,
        "unsupported_media_type",
    )
    # a truncated PNG: a 422 that says so
    body = _problem(
        upload(scanserve_client, api_key, session_id, good[: len(good) // 2]),
        422,
        "validation_error",
    )
    assert "cannot be read" in body["detail"]
    assert body["errors"][0]["pointer"] == "/image"
    # no image part, another organisation's session, an ended session
    response = scanserve_client.post(
        f"{BASE}/captures/upload-image",
        data={"session_id": session_id},
        files={"note": ("n.txt", b"an image part is missing", "text/plain")},
        headers=api_key.headers,
    )
    assert _problem(response, 422, "validation_error")["errors"][0]["pointer"] == "/image"
    # two image parts
    response = scanserve_client.post(
        f"{BASE}/captures/upload-image",
        data={"session_id": session_id},
        files=[("image", ("a.png", good, "image/png")), ("image", ("b.png", good, "image/png"))],
        headers=api_key.headers,
    )
    _problem(response, 422, "validation_error")
    other = issue_key("Other Org")
    _problem(upload(scanserve_client, other, session_id, good), 404, "not_found")
    scanserve_client.post(f"{BASE}/sessions/{session_id}/end", headers=api_key.headers)
    _problem(upload(scanserve_client, api_key, session_id, good), 409, "conflict")
    assert models.Capture.select().count() == 0
    assert not list((scanserve_app.services.settings.data_dir / "objects").rglob("*.*"))


def test_size_limit_refuses_without_reading_the_rest(tmp_path):
    settings = Settings(
        data_dir=tmp_path / "d",
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
        max_upload_bytes=2048,
    )
    app = create_app(settings)
    try:
        with app.test_client() as client:
            key = issue_key()
            sid = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()["id"]
            small = _png(Image.new("L", (8, 8), 255))
            assert upload(client, key, sid, small).status_code == 201
            # just over the limit, inside the multipart allowance: the handler refuses it
            body = _problem(
                upload(client, key, sid, small + b"\0" * 2048), 413, "payload_too_large"
            )
            assert "2048 bytes" in body["detail"]
            # far over: the gateway refuses it by its Content-Length, unread
            _problem(upload(client, key, sid, b"\0" * (300 * 1024)), 413, "payload_too_large")

            def chunks():
                yield b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'
                for _ in range(1000):
                    yield b"\0" * 4096

            chunked = client.post(
                f"{BASE}/captures/upload-image",
                content=chunks(),
                headers={**key.headers, "Content-Type": "multipart/form-data; boundary=b"},
            )
            _problem(chunked, 413, "payload_too_large")
            assert models.Capture.select().count() == 1
    finally:
        app.services.db.close()


def test_decoding_happens_on_the_queue_not_in_the_request(tmp_path):
    # The embedded queue, its consumer not started: the request only stores and enqueues.
    settings = Settings(
        data_dir=tmp_path / "d",
        queue="embedded",
        validate_responses=True,
        load_entrypoint_plugins=False,
    )
    provider = FakeLookupProvider(dict(PRODUCTS))
    app = create_app(settings, extra_plugins=[provider])
    try:
        with app.test_client() as client:
            key = issue_key()
            sid = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()["id"]
            response = upload(client, key, sid, _png(linear("ean13", "400638133393")))
            created = response.json()
            assert response.status_code == 201
            assert created["status"] == "PENDING"
            assert created["raw_value"] == ""
            assert created["gtin"] == ""
            assert app.services.queue.pending_count() == 1
            # the worker's task
            pipeline.process_capture(app.services, created["id"])
            body = client.get(f"{BASE}/captures/{created['id']}", headers=key.headers).json()
            assert body["status"] == "COMPLETED"
            assert body["raw_value"] == "4006381333931"
    finally:
        app.services.db.close()


def test_webp_and_gs1_128_images(scanserve_client, api_key, session_id, lookup):
    out = io.BytesIO()
    qr("https://id.gs1.org/01/04006381333931").convert("RGB").save(
        out, format="WEBP", lossless=True
    )
    created = upload(scanserve_client, api_key, session_id, out.getvalue(), "a.bin", "image/webp")
    assert created.status_code == 201, created.text
    assert created.json()["uploaded_image_key"].endswith(".webp")
    body = scanserve_client.get(
        f"{BASE}/captures/{created.json()['id']}", headers=api_key.headers
    ).json()
    assert body["gtin"] == "04006381333931"

    symbol = zxingcpp.create_barcode(
        "(01)09506000134352(10)LOT42(17)261231", zxingcpp.BarcodeFormat.Code128, gs1=True
    )
    bitmap = zxingcpp.write_barcode_to_image(symbol, scale=3)
    height, width = bitmap.shape[:2]
    drawn = Image.frombuffer("L", (width, height), bytes(memoryview(bitmap)), "raw", "L", 0, 1)
    canvas = Image.new("L", (width + 80, height + 80), 255)
    canvas.paste(drawn, (40, 40))
    created = upload(scanserve_client, api_key, session_id, _png(canvas)).json()
    body = scanserve_client.get(f"{BASE}/captures/{created['id']}", headers=api_key.headers).json()
    assert body["raw_value"] == f"]C1010950600013435210LOT42{GS}17261231"
    assert body["gs1_dl_data"] == {"01": "09506000134352", "10": "LOT42", "17": "261231"}
    assert body["status"] == "COMPLETED"


def test_a_concrete_path_answers_only_its_own_methods(scanserve_client, api_key, session_id):
    # /captures/upload-image also fits /captures/{id}; .../photos/reorder fits .../{photo_id}
    for method, path, allow in (
        ("GET", f"{BASE}/captures/upload-image", "POST"),
        ("PATCH", f"{BASE}/sessions/{session_id}/photos/reorder", "POST"),
    ):
        response = scanserve_client.request(method, path, headers=api_key.headers)
        body = _problem(response, 405, "method_not_allowed")
        assert response.headers["allow"] == allow, body
    # the templates themselves are untouched
    response = scanserve_client.get(f"{BASE}/captures/{'2' * 22}", headers=api_key.headers)
    _problem(response, 404, "not_found")
