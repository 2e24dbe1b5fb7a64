"""Shared steps of the extraction tests: a catalog product, a session with a completed
capture of it, photos stored in the object store and registered as rows (as the register
operation does), and images made with Pillow and python-barcode."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from scanserve.pipeline import product_short_id
from scanserve.storage import models

BASE = "/scanner/api/v1"
GTIN13 = "4006381333931"
GTIN14 = "0" + GTIN13


def add_product(gtin14: str = GTIN14, name: str = "Highlighter Yellow", **fields: Any) -> Any:
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


def text_image(lines: list[str], size: int = 32) -> bytes:
    """Black text on white in DejaVu Sans (Pillow finds it among the system fonts by name;
    Debian's fonts-dejavu-core)."""
    font = ImageFont.truetype("DejaVuSans.ttf", size)
    image = Image.new("RGB", (1200, 60 + 70 * len(lines)), "white")
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
