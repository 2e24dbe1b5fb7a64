"""Shared steps of the extraction tests: a catalog product, a session with a completed
capture of it, photos stored in the object store and registered as rows (as the register
operation does), and images made with Pillow and python-barcode."""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import shutil
import threading
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont

from scanserve.domain.pipeline import product_short_id
from scanserve.storage import models

BASE = "/scanner/api/v1"

# The OCR extractor degrades to "unavailable" without Tesseract (.ci/run installs it); only
# the tests that read its output need it.
needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="Tesseract is not installed (Debian tesseract-ocr)"
)
GTIN13 = "4006381333931"
GTIN14 = "0" + GTIN13


def add_product(gtin14: str = GTIN14, name: str = "Highlighter Yellow", **fields: Any) -> Any:
    existing = models.Product.get_or_none(models.Product.gtin == gtin14)
    if existing is not None:
        return existing
    return models.Product.create(
        short_id=product_short_id(gtin14), gtin=gtin14, name=name, **fields
    )


def open_session(client: Any, headers: dict[str, str], mode: str = "both") -> dict[str, Any]:
    response = client.post(f"{BASE}/sessions", json={"capture_mode": mode}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def capture(client: Any, headers: dict[str, str], session_id: str, raw: str = GTIN13) -> Any:
    response = client.post(
        f"{BASE}/captures",
        json={"session_id": session_id, "capture_type": "BARCODE", "raw_value": raw},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def add_photo(
    services: Any,
    session_id: str,
    data: bytes,
    photo_type: str,
    *,
    capture_id: str | None = None,
    sort_order: int = 0,
    content_type: str = "image/png",
) -> Any:
    session = models.ScanSession.get(models.ScanSession.short_id == session_id)
    photo_capture = (
        models.Capture.get(models.Capture.short_id == capture_id).id if capture_id else None
    )
    key = f"org/o{session.organization_id}/sessions/{session_id}/{photo_type}/p{sort_order}.png"
    size = services.objects.put(key, data, content_type=content_type)
    return models.Photo.create(
        organization=session.organization_id,
        session=session.id,
        capture=photo_capture,
        photo_type=photo_type,
        s3_key=key,
        original_filename=f"{photo_type}.png",
        sort_order=sort_order,
        file_size=size,
    )


# A photo's short side, at least: RapidOCR enlarges a smaller image until its short side is
# 736 pixels before it looks for text (a 1200 x 200 strip becomes 4416 x 736, ten times the
# work of reading the same lines on a page of this size), and a camera's photo is larger.
PAGE_SIDE = 736


def text_image(lines: list[str], size: int = 32) -> bytes:
    """Black text on white in DejaVu Sans (Pillow finds it among the system fonts by name;
    Debian's fonts-dejavu-core), on a page no smaller than a photo's short side, wider when
    a line needs it."""
    font = ImageFont.truetype("DejaVuSans.ttf", size)
    widest = max((int(font.getlength(line)) for line in lines), default=0)
    height = max(PAGE_SIDE, 60 + 70 * len(lines))
    image = Image.new("RGB", (max(PAGE_SIDE, widest + 60), height), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((30, 30 + i * 70), line, fill="black", font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def ean13_image(digits: str) -> bytes:
    import barcode
    from barcode.writer import ImageWriter

    out = io.BytesIO()
    barcode.get("ean13", digits[:12], writer=ImageWriter()).write(out, {"format": "PNG"})
    return out.getvalue()


def status(client: Any, headers: dict[str, str], session_id: str) -> dict[str, Any]:
    response = client.get(f"{BASE}/sessions/{session_id}/status", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def submit(client: Any, headers: dict[str, str], session_id: str) -> dict[str, Any]:
    response = client.post(f"{BASE}/sessions/{session_id}/submit", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def proposals(client: Any, headers: dict[str, str], capture_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{BASE}/captures/{capture_id}/proposals", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


class FakeOpenAI:
    """POST /v1/chat/completions answering the scripted ``reply`` (status, body bytes, delay);
    every request's headers and JSON body are kept."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.reply: tuple[int, bytes] = (200, b"{}")
        self.delay = 0.0
        self._stop = threading.Event()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"null")
                owner.requests.append((dict(self.headers.items()), body))
                if self.path != "/v1/chat/completions":
                    code, payload = 404, b'{"error": "no such path"}'
                else:
                    code, payload = owner.reply
                if owner.delay and owner._stop.wait(owner.delay):
                    return
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.end_headers()
                with contextlib.suppress(OSError):  # the client gave up (timeout test)
                    self.wfile.write(payload)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def answer(self, content: Any, status: int = 200) -> None:
        body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
        self.reply = (status, json.dumps(body).encode())

    def close(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
