"""The whole photo journey over real HTTP, as a client lives it, on local storage and on an
S3-compatible server (moto on loopback): open a session, scan a barcode, get an upload URL,
upload, register, reorder, reclassify, upload an image capture decoded on the server, submit,
wait for ``ready``, review the proposals, apply them, see the product change, end the session.

scanserve runs under uvicorn with its embedded queue (captures, decoding and extraction run
in its worker threads). The proposals come from two extractors over real parts: the default
OCR engine (RapidOCR, installed with scanserve) reading the ingredients photo, and the remote vision plugin talking to a fake
OpenAI-compatible server on loopback about the front photo.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from extraction_support import FakeOpenAI, add_product, text_image
from photo_support import ean13_png, s3_endpoint, s3_settings, serving  # noqa: F401  (fixtures)

from scanserve.settings import Settings
from scanserve.testing import issue_key, wait_for

PANEL = ["INGREDIENTS: Water, pigment (2%),", "glycerin, preservative."]
NEW_NAME = "Highlighter Yellow, chisel tip"
TERMINAL = ("COMPLETED", "FAILED", "NOT_FOUND")


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_the_whole_photo_journey_over_http(backend, tmp_path, request):
    options = request.getfixturevalue("s3_settings") if backend == "s3" else {}
    vision = FakeOpenAI()
    answer = {"proposals": [{"field_name": "name", "proposed_value": NEW_NAME, "confidence": 0.8}]}
    vision.answer(json.dumps(answer))
    settings = Settings(
        data_dir=tmp_path / "data",
        queue="embedded",
        validate_responses=True,
        load_entrypoint_plugins=False,
        vision_openai_url=vision.base_url,
        vision_openai_model="tiny-vision",
        vision_openai_photo_types=["front"],
        **options,
    )
    try:
        with serving(settings, []) as (base, _app), httpx.Client(timeout=30) as http:
            add_product()  # "Highlighter Yellow", GTIN 04006381333931, in the catalog
            key = issue_key("Journey Org")
            h = key.headers

            def get(path: str) -> Any:
                response = http.get(f"{base}{path}", headers=h)
                assert response.status_code == 200, response.text
                return response.json()

            def post(path: str, expect: int = 200, **kwargs: Any) -> Any:
                response = http.post(f"{base}{path}", headers=h, **kwargs)
                assert response.status_code == expect, response.text
                return response.json()

            sid = post("/sessions", 201, json={"capture_mode": "both"})["id"]
            cid = post(
                "/captures",
                201,
                json={"session_id": sid, "capture_type": "BARCODE", "raw_value": "4006381333931"},
            )["id"]
            scanned = wait_for(
                lambda: (c := get(f"/captures/{cid}"))["status"] in TERMINAL and c,
                30,
                "the barcode capture",
            )
            assert scanned["product_name"] == "Highlighter Yellow"

            photos = []
            for photo_type, filename, data in (
                ("front", "front.png", text_image(["STABILO BOSS"])),
                ("nutrition", "panel.png", text_image(PANEL)),
            ):
                target = get(
                    f"/sessions/{sid}/presigned-upload-url?photo_type={photo_type}"
                    f"&original_filename={filename}"
                )
                uploaded = http.post(  # no API key: the fields are the credential
                    target["upload_url"],
                    data=target["upload_fields"],
                    files={"file": (filename, data, "image/png")},
                )
                assert uploaded.status_code in (200, 201, 204), uploaded.text
                photos.append(
                    post(
                        f"/sessions/{sid}/photos",
                        201,
                        json={
                            "s3_key": target["s3_key"],
                            "photo_type": photo_type,
                            "original_filename": filename,
                            "capture_short_id": cid,
                        },
                    )["id"]
                )
            order = post(f"/sessions/{sid}/photos/reorder", json={"photo_short_ids": photos[::-1]})
            assert [p["id"] for p in order] == photos[::-1]
            reclassified = http.patch(
                f"{base}/sessions/{sid}/photos/{photos[1]}",
                json={"photo_type": "ingredients"},
                headers=h,
            )
            assert reclassified.status_code == 200, reclassified.text

            image = post(
                "/captures/upload-image",
                201,
                data={"session_id": sid},
                files={"image": ("shelf.png", ean13_png("400638133393"), "image/png")},
            )
            decoded = wait_for(
                lambda: (c := get(f"/captures/{image['id']}"))["status"] in TERMINAL and c,
                30,
                "the image capture",
            )
            assert (decoded["status"], decoded["raw_value"]) == ("COMPLETED", "4006381333931")

            submitted = post(f"/sessions/{sid}/submit")
            assert submitted["status"] == "COMPLETED"
            status = wait_for(
                lambda: (
                    (s := get(f"/sessions/{sid}/status"))["extraction_status"] == "ready" and s
                ),
                180,  # a deadline, not a measure: the OCR engine loads on this first photo
                "extraction to be ready",
            )
            counts = {c["id"]: c["proposal_count"] for c in status["captures"]}
            assert counts == {cid: 2, image["id"]: 0}

            found = get(f"/captures/{cid}/proposals")
            by_field = {p["field_name"]: p for p in found}
            assert sorted(by_field) == ["ingredients", "name"]
            assert by_field["ingredients"]["proposed_value"] == (
                "Water, pigment (2%), glycerin, preservative."
            )
            assert by_field["ingredients"]["source"] == "rapidocr"
            assert by_field["name"]["source"] == "vision:tiny-vision"
            assert by_field["name"]["current_value"] == "Highlighter Yellow"
            [(_, sent)] = vision.requests
            assert sent["messages"][1]["content"][1]["image_url"]["url"].startswith(
                "data:image/png;base64,"
            )

            for field, decision in (("name", "ACCEPTED"), ("ingredients", "REJECTED")):
                reviewed = http.patch(
                    f"{base}/proposals/{by_field[field]['id']}",
                    json={"status": decision},
                    headers=h,
                )
                assert reviewed.status_code == 200, reviewed.text
            assert get(f"/sessions/{sid}/status")["extraction_status"] == "accepted"

            applied = post(f"/captures/{cid}/apply")
            assert applied["product_short_id"] == scanned["product_short_id"]
            assert [p["field_name"] for p in applied["applied"]] == ["name"]
            assert post(f"/captures/{cid}/apply")["applied"] == []

            assert get(f"/captures/{cid}")["product_name"] == NEW_NAME
            assert get(f"/captures/{image['id']}")["product_name"] == NEW_NAME

            # Submitting closed the session; ending it too answers the session as it is.
            ended = http.post(f"{base}/sessions/{sid}/end", headers=h)
            assert ended.status_code == 200, ended.text
            assert ended.json()["status"] == "COMPLETED"
            assert get(f"/sessions/{sid}")["status"] == "COMPLETED"
            late = http.post(
                f"{base}/captures",
                json={"session_id": sid, "capture_type": "BARCODE", "raw_value": "4006381333931"},
                headers=h,
            )
            assert late.status_code == 409, late.text
    finally:
        vision.close()
