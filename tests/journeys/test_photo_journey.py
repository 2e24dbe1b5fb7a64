"""The photo journey over real HTTP, on local storage and on an S3-compatible server.

scanserve runs under uvicorn on a loopback port with its embedded queue (decoding happens in
the queue's worker threads); the S3 backend talks to moto's server mode, started on loopback
(``photo_support``), through boto3. The client is httpx, as any client would be: it uploads
with the returned ``upload_url`` and ``upload_fields`` only, whatever the backend.
"""

from __future__ import annotations

import io
from typing import Any

import boto3
import httpx
import pytest
from photo_support import ean13_png, s3_endpoint, s3_settings, serving  # noqa: F401  (fixtures)
from PIL import Image

from scanserve.app import create_app
from scanserve.infra.objectstore import ObjectExists, ObjectNotFound, ObjectTooLarge
from scanserve.infra.objectstore.s3 import S3ObjectStore
from scanserve.plugins.providers import ProductRecord
from scanserve.settings import Settings
from scanserve.testing import FakeLookupProvider, issue_key, wait_for

BASE = "/scanner/api/v1"


def _jpeg(color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, format="JPEG")
    return out.getvalue()


def test_s3_store_is_write_once_and_sizes_from_head(s3_settings, tmp_path):  # noqa: F811
    store = S3ObjectStore.from_settings(Settings(data_dir=tmp_path, **s3_settings))
    assert store.size("org/a/x.jpg") is None
    with pytest.raises(ObjectNotFound):
        store.get("org/a/x.jpg")
    assert store.put("org/a/x.jpg", b"first", content_type="image/jpeg") == 5
    with pytest.raises(ObjectExists):
        store.put("org/a/x.jpg", b"second!", content_type="image/jpeg")
    assert store.get("org/a/x.jpg") == b"first"
    assert store.size("org/a/x.jpg") == 5
    store.delete("org/a/x.jpg")
    assert store.size("org/a/x.jpg") is None


def test_s3_presigned_post_uploads_to_the_bucket(s3_settings, tmp_path):  # noqa: F811
    store = S3ObjectStore.from_settings(Settings(data_dir=tmp_path, **s3_settings))
    presigned = store.presign_post(
        "org/a/sessions/b/front/c.jpg",
        content_type="image/jpeg",
        max_bytes=1000,
        expires_in=60,
        own_upload_url="http://unused.invalid/uploads",
    )
    assert presigned.url.startswith(s3_settings["s3_endpoint_url"])
    # the policy names the inbox, never the key itself
    assert presigned.fields["key"] == "incoming/org/a/sessions/b/front/c.jpg"
    assert presigned.fields["Content-Type"] == "image/jpeg"
    assert "policy" in presigned.fields
    body = _jpeg()
    response = httpx.post(
        presigned.url, data=presigned.fields, files={"file": ("c.jpg", body, "image/jpeg")}
    )
    assert response.status_code in (200, 201, 204), response.text
    assert store.size("org/a/sessions/b/front/c.jpg") is None  # not claimed yet
    store.claim_upload("org/a/sessions/b/front/c.jpg", max_bytes=1000)
    assert store.get("org/a/sessions/b/front/c.jpg") == body
    assert store.size("org/a/sessions/b/front/c.jpg") == len(body)


def _bucket(s3_settings: dict[str, Any]) -> Any:  # noqa: F811
    return boto3.client(
        "s3",
        endpoint_url=s3_settings["s3_endpoint_url"],
        region_name=s3_settings["s3_region"],
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
    )


def _keys(s3_settings: dict[str, Any]) -> set[str]:  # noqa: F811
    listed = _bucket(s3_settings).list_objects_v2(Bucket=s3_settings["s3_bucket"])
    return {o["Key"] for o in listed.get("Contents", [])}


def test_s3_claim_takes_an_upload_once_and_for_good(s3_settings, tmp_path):  # noqa: F811
    store = S3ObjectStore.from_settings(Settings(data_dir=tmp_path, **s3_settings))
    key = "org/a/sessions/b/front/d.jpg"
    store.claim_upload(key, max_bytes=1000)  # nothing uploaded: nothing claimed
    assert store.size(key) is None
    presigned = store.presign_post(
        key, content_type="image/jpeg", max_bytes=1000, expires_in=60, own_upload_url="-"
    )

    def post(data: bytes) -> None:
        response = httpx.post(
            presigned.url, data=presigned.fields, files={"file": ("d.jpg", data, "image/jpeg")}
        )
        assert response.status_code in (200, 201, 204), response.text

    # moto does not hold a POST to the policy's content-length-range; the claim does
    post(b"\xff\xd8\xff" + b"\0" * 1000)
    with pytest.raises(ObjectTooLarge):
        store.claim_upload(key, max_bytes=1000)
    assert store.size(key) is None
    post(b"first")
    store.claim_upload(key, max_bytes=1000)
    assert store.get(key) == b"first"
    assert _keys(s3_settings) == {key}  # the inbox is emptied
    # the same policy posted again, and claimed again: the first claim stands
    post(b"second!")
    store.claim_upload(key, max_bytes=1000)
    assert store.get(key) == b"first" and store.peek(key, 3) == b"fir"
    assert store.size(key) == 5
    post(b"third")
    store.delete(key)  # the key and its inbox both go
    assert _keys(s3_settings) == set()


def test_a_reused_s3_policy_cannot_change_a_registered_photo(s3_settings, tmp_path):  # noqa: F811
    # Issue 15: after registration, posting the same policy fields again replaced the photo
    # with 41 bytes of JPEG magic and HTML.
    settings = Settings(
        data_dir=tmp_path / "data",
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
        **s3_settings,
    )
    app = create_app(settings)
    try:
        with app.test_client() as client, httpx.Client(timeout=30) as http:
            key = issue_key()
            sid = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()["id"]
            target = client.get(
                f"{BASE}/sessions/{sid}/presigned-upload-url", headers=key.headers
            ).json()
            photo = _jpeg("green")

            def post(data: bytes) -> None:
                response = http.post(
                    target["upload_url"],
                    data=target["upload_fields"],
                    files={"file": ("x.jpg", data, "image/jpeg")},
                )
                assert response.status_code in (200, 201, 204), response.text

            post(photo)
            registered = client.post(
                f"{BASE}/sessions/{sid}/photos",
                json={"s3_key": target["s3_key"]},
                headers=key.headers,
            )
            assert registered.status_code == 201, registered.text
            hostile = b"\xff\xd8\xff\xe0<html><script>alert(1)</script>"
            for _ in range(2):
                post(hostile + b"</html>")  # 42 bytes, like the issue's; the policy still holds
            # what the photo points at is what was registered, read any way
            assert app.services.objects.get(target["s3_key"]) == photo
            assert app.services.objects.size(target["s3_key"]) == len(photo)
            stored = _bucket(s3_settings).get_object(
                Bucket=s3_settings["s3_bucket"], Key=target["s3_key"]
            )
            assert stored["Body"].read() == photo
            detail = client.get(f"{BASE}/sessions/{sid}", headers=key.headers).json()
            assert [p["file_size"] for p in detail["product_photos"]] == [len(photo)]
            again = client.post(
                f"{BASE}/sessions/{sid}/photos",
                json={"s3_key": target["s3_key"]},
                headers=key.headers,
            )
            assert again.status_code == 409, again.text
            assert app.services.objects.get(target["s3_key"]) == photo
    finally:
        app.services.db.close()


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_photo_journey_over_http(backend, tmp_path, request):
    options = request.getfixturevalue("s3_settings") if backend == "s3" else {}
    settings = Settings(
        data_dir=tmp_path / "data",
        queue="embedded",
        validate_responses=True,
        load_entrypoint_plugins=False,
        **options,
    )
    lookup = FakeLookupProvider(
        {"04006381333931": ProductRecord(gtin="04006381333931", name="Highlighter Yellow")}
    )
    with serving(settings, [lookup]) as (base, app), httpx.Client(timeout=30) as http:
        key = issue_key("Journey Org")
        headers = key.headers

        session = http.post(f"{base}/sessions", json={"capture_mode": "both"}, headers=headers)
        assert session.status_code == 201, session.text
        sid = session.json()["id"]

        capture = http.post(
            f"{base}/captures",
            json={"session_id": sid, "capture_type": "BARCODE", "raw_value": "4006381333931"},
            headers=headers,
        ).json()

        def capture_done(capture_id: str) -> Any:
            body = http.get(f"{base}/captures/{capture_id}", headers=headers).json()
            return body if body["status"] in ("COMPLETED", "FAILED", "NOT_FOUND") else None

        assert wait_for(lambda: capture_done(capture["id"]), 30, "the capture")["status"] == (
            "COMPLETED"
        )

        photo_ids = []
        uploaded = {}
        for photo_type, filename, color in (
            ("front", "front.jpg", "red"),
            ("nutrition", "label.JPG", "blue"),
        ):
            target = http.get(
                f"{base}/sessions/{sid}/presigned-upload-url",
                params={"photo_type": photo_type, "original_filename": filename},
                headers=headers,
            )
            assert target.status_code == 200, target.text
            target = target.json()
            if backend == "s3":
                assert target["upload_url"].startswith(options["s3_endpoint_url"])
                # scanserve's own receiving end is not in use
                local = http.post(
                    f"{base}/uploads",
                    data={**target["upload_fields"], "x-scanserve-signature": "0" * 64},
                    files={"file": (filename, _jpeg(), "image/jpeg")},
                )
                assert local.status_code == 404, local.text
            else:
                assert target["upload_url"] == f"{base}/uploads"
            data = _jpeg(color)
            # no API key: the returned fields are the whole credential
            posted = http.post(
                target["upload_url"],
                data=target["upload_fields"],
                files={"file": (filename, data, "image/jpeg")},
            )
            assert posted.status_code in (200, 201, 204), posted.text
            registered = http.post(
                f"{base}/sessions/{sid}/photos",
                json={
                    "s3_key": target["s3_key"],
                    "photo_type": photo_type,
                    "original_filename": filename,
                    "capture_short_id": capture["id"],
                },
                headers=headers,
            )
            assert registered.status_code == 201, registered.text
            assert registered.json()["file_size"] == len(data)
            photo_ids.append(registered.json()["id"])
            uploaded[target["s3_key"]] = data

        reordered = http.post(
            f"{base}/sessions/{sid}/photos/reorder",
            json={"photo_short_ids": photo_ids[::-1]},
            headers=headers,
        )
        assert reordered.status_code == 200, reordered.text
        assert [p["id"] for p in reordered.json()] == photo_ids[::-1]

        patched = http.patch(
            f"{base}/sessions/{sid}/photos/{photo_ids[0]}",
            json={"photo_type": "back", "metadata": {"angle": "45"}},
            headers=headers,
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["photo_type"] == "back"

        image = http.post(
            f"{base}/captures/upload-image",
            data={"session_id": sid},
            files={"image": ("shelf.png", ean13_png("400638133393"), "image/png")},
            headers=headers,
        )
        assert image.status_code == 201, image.text
        decoded = wait_for(lambda: capture_done(image.json()["id"]), 30, "the image capture")
        assert decoded["status"] == "COMPLETED", decoded
        assert decoded["raw_value"] == "4006381333931"
        assert decoded["product_name"] == "Highlighter Yellow"

        detail = http.get(f"{base}/sessions/{sid}", headers=headers).json()
        assert detail["photo_count"] == 2
        assert [p["id"] for p in detail["product_photos"]] == photo_ids[::-1]
        assert [p["photo_type"] for p in detail["product_photos"]] == ["nutrition", "back"]
        # what the server stored is what was sent, on either backend
        for s3_key, data in uploaded.items():
            assert app.services.objects.get(s3_key) == data
        assert app.services.objects.size(decoded["uploaded_image_key"]) == len(
            ean13_png("400638133393")
        )


def test_register_judges_what_s3_stored(s3_settings, tmp_path):  # noqa: F811
    # S3 checks a presigned POST's Content-Type field and size, never the bytes (and moto
    # checks neither): registering judges the stored object itself.
    settings = Settings(
        data_dir=tmp_path / "data",
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
        max_upload_bytes=4096,
        **s3_settings,
    )
    app = create_app(settings)
    try:
        with app.test_client() as client, httpx.Client(timeout=30) as http:
            key = issue_key()
            sid = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()["id"]
            for data, reason in (
                (b"MZ\x90\x00 not an image at all", "not a JPEG, PNG or WebP"),
                (_jpeg() + b"\0" * 5000, "larger than 4096 bytes"),
                # a JPEG's signature in front of HTML, and a cut JPEG: decoded, and refused
                (b"\xff\xd8\xff\xe0<html><body>not a photo</body></html>", "cannot be read"),
                (_jpeg()[:300], "cannot be read"),
            ):
                target = client.get(
                    f"{BASE}/sessions/{sid}/presigned-upload-url", headers=key.headers
                ).json()
                posted = http.post(
                    target["upload_url"],
                    data=target["upload_fields"],
                    files={"file": ("x.jpg", data, "image/jpeg")},
                )
                assert posted.status_code in (200, 201, 204), posted.text
                response = client.post(
                    f"{BASE}/sessions/{sid}/photos",
                    json={"s3_key": target["s3_key"]},
                    headers=key.headers,
                )
                assert response.status_code == 422, response.text
                assert reason in response.json()["detail"]
            # an object that can never be a photo is deleted (it stops counting against the
            # organisation's storage quota)
            assert app.services.objects.size(target["s3_key"]) is None
    finally:
        app.services.db.close()
