"""Photos on local storage, through the real app: presigned upload to scanserve itself,
register, reorder, reclassify, and the session detail; the signed policy's refusals."""

from __future__ import annotations

import base64
import io
import json
import os
import stat

import pytest
from PIL import Image

from scanserve.infra.objectstore.policy import PolicySigner
from scanserve.storage import models
from scanserve.testing import issue_key

BASE = "/scanner/api/v1"


def jpeg(color: str = "red", size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG")
    return out.getvalue()


def png(color: str = "blue") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), color).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def session_id(scanserve_client, api_key):
    return scanserve_client.post(f"{BASE}/sessions", json={}, headers=api_key.headers).json()["id"]


def presign(client, key, session_id, **params):
    response = client.get(
        f"{BASE}/sessions/{session_id}/presigned-upload-url", params=params, headers=key.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def post_upload(client, target, data, *, fields=None, filename="photo.jpg", content_type=None):
    fields = dict(target["upload_fields"] if fields is None else fields)
    file_type = content_type or fields.get("Content-Type", "image/jpeg")
    return client.post(
        target["upload_url"], data=fields, files={"file": (filename, data, file_type)}
    )


def upload_photo(client, key, session_id, data=None, **params):
    target = presign(client, key, session_id, **params)
    response = post_upload(client, target, data or jpeg())
    assert response.status_code == 204, response.text
    return target


def register(client, key, session_id, s3_key, **body):
    return client.post(
        f"{BASE}/sessions/{session_id}/photos",
        json={"s3_key": s3_key, **body},
        headers=key.headers,
    )


def test_presigned_upload_register_and_read_back(
    scanserve_client, scanserve_app, api_key, session_id
):
    target = presign(
        scanserve_client,
        api_key,
        session_id,
        photo_type="nutrition",
        original_filename="IMG_1.PNG",
    )
    key = target["s3_key"]
    assert key.startswith(f"org/{api_key.org_short_id}/sessions/{session_id}/nutrition/")
    assert key.endswith(".png")
    assert target["upload_url"] == f"http://testserver{BASE}/uploads"
    fields = target["upload_fields"]
    assert fields["key"] == key
    assert fields["Content-Type"] == "image/png"
    assert target["expires_in"] == 900
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert policy["key"] == key
    assert policy["content_length_range"] == [1, 10 * 1024 * 1024]
    assert policy["content_types"] == ["image/png"]

    body = png()
    # no API key: the signed policy is the credential
    assert post_upload(scanserve_client, target, body).status_code == 204
    assert scanserve_app.services.objects.get(key) == body

    response = register(
        scanserve_client,
        api_key,
        session_id,
        key,
        photo_type="nutrition",
        original_filename="IMG_1.PNG",
        file_size=999_999_999,  # the client's claim; the stored size wins
        metadata={"lighting": "flash"},
    )
    assert response.status_code == 201, response.text
    photo = response.json()
    assert photo["s3_key"] == key
    assert photo["file_size"] == len(body)
    assert photo["sort_order"] == 0
    assert photo["metadata"] == {"lighting": "flash"}
    assert photo["capture_short_id"] is None

    # the same object twice: 409, and still one photo
    again = register(scanserve_client, api_key, session_id, key)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert "already registered" in again.json()["detail"]
    detail = scanserve_client.get(f"{BASE}/sessions/{session_id}", headers=api_key.headers).json()
    assert detail["photo_count"] == 1
    assert [p["id"] for p in detail["product_photos"]] == [photo["id"]]


def test_secret_is_made_once_and_private(
    scanserve_client, scanserve_settings, api_key, session_id
):
    first = presign(scanserve_client, api_key, session_id)
    path = scanserve_settings.data_dir / "upload-secret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    content = path.read_text()
    presign(scanserve_client, api_key, session_id)
    assert path.read_text() == content
    # another signer on the same directory (another process) verifies what this one signed
    other = PolicySigner(scanserve_settings.data_dir)
    fields = first["upload_fields"]
    assert other.verify(fields["policy"], fields["x-scanserve-signature"]).key == first["s3_key"]


@pytest.mark.parametrize(
    ("filename", "extension"),
    [
        ("a.jpg", ".jpg"),
        ("B.JPEG", ".jpeg"),
        ("c.webp", ".webp"),
        ("scan.heic", ".jpg"),
        ("noext", ".jpg"),
        ("../../etc/passwd", ".jpg"),
        ("x.png.exe", ".jpg"),
    ],
)
def test_extension_comes_from_a_small_allowed_set(
    scanserve_client, api_key, session_id, filename, extension
):
    target = presign(scanserve_client, api_key, session_id, original_filename=filename)
    assert target["s3_key"].rsplit("/", 1)[1].endswith(extension)
    assert target["s3_key"].count("/") == 5


def _problem(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["error_code"] == code
    return body


def test_tampered_expired_and_foreign_key_uploads_are_refused(
    scanserve_client, scanserve_app, api_key, session_id
):
    target = presign(scanserve_client, api_key, session_id)
    fields = target["upload_fields"]
    key = target["s3_key"]

    # a policy changed to allow a bigger file (or another key) no longer matches its signature
    document = json.loads(base64.b64decode(fields["policy"]))
    document["content_length_range"] = [1, 10**12]
    forged = {**fields, "policy": base64.b64encode(json.dumps(document).encode()).decode()}
    body = _problem(post_upload(scanserve_client, target, jpeg(), fields=forged), 403, "forbidden")
    assert "signature" in body["detail"]

    # another key than the policy's
    other_key = key.rsplit("/", 1)[0] + "/" + models.new_short_id() + ".jpg"
    body = _problem(
        post_upload(scanserve_client, target, jpeg(), fields={**fields, "key": other_key}),
        403,
        "forbidden",
    )
    assert "key" in body["detail"]

    # a signature of another policy
    bad_signature = {**fields, "x-scanserve-signature": "0" * 64}
    _problem(post_upload(scanserve_client, target, jpeg(), fields=bad_signature), 403, "forbidden")
    non_ascii = {**fields, "x-scanserve-signature": "é" * 64}
    _problem(post_upload(scanserve_client, target, jpeg(), fields=non_ascii), 403, "forbidden")

    # expired: signed by the server's own signer, in the past
    signer = scanserve_app.services.objects.signer
    expired = {
        "key": key,
        "Content-Type": "image/jpeg",
        **signer.sign(key, content_types=("image/jpeg",), max_bytes=1000, expires_in=-1),
    }
    body = _problem(
        post_upload(scanserve_client, target, jpeg(), fields=expired), 403, "forbidden"
    )
    assert "expired" in body["detail"]

    # nothing was stored by any of them
    assert scanserve_app.services.objects.size(key) is None
    assert scanserve_app.services.objects.size(other_key) is None


def test_wrong_content_type_oversized_and_empty_uploads(
    scanserve_client, scanserve_app, api_key, session_id
):
    target = presign(scanserve_client, api_key, session_id, original_filename="p.jpg")
    fields = target["upload_fields"]
    key = target["s3_key"]
    # a Content-Type the policy does not allow
    body = _problem(
        post_upload(
            scanserve_client, target, png(), fields={**fields, "Content-Type": "image/png"}
        ),
        415,
        "unsupported_media_type",
    )
    assert "image/jpeg" in body["detail"]
    # the declared type is right but the bytes are a PNG, or no image at all
    body = _problem(post_upload(scanserve_client, target, png()), 415, "unsupported_media_type")
    assert "image/png image" in body["detail"]
    _problem(
        post_upload(scanserve_client, target, b"just text, claiming to be a JPEG"),
        415,
        "unsupported_media_type",
    )
    # over the policy's size
    signer = scanserve_app.services.objects.signer
    small = {
        "key": key,
        "Content-Type": "image/jpeg",
        **signer.sign(key, content_types=("image/jpeg",), max_bytes=100, expires_in=60),
    }
    body = _problem(
        post_upload(scanserve_client, target, jpeg(), fields=small), 413, "payload_too_large"
    )
    assert "100 bytes" in body["detail"]
    _problem(post_upload(scanserve_client, target, b""), 422, "validation_error")
    assert scanserve_app.services.objects.size(key) is None
    # and then the real upload still works once, and never twice
    assert post_upload(scanserve_client, target, jpeg("green")).status_code == 204
    _problem(post_upload(scanserve_client, target, jpeg("black")), 409, "conflict")
    assert scanserve_app.services.objects.get(key) == jpeg("green")


def test_upload_over_the_server_limit_is_refused_unread(tmp_path):
    from scanserve.app import create_app
    from scanserve.settings import Settings

    settings = Settings(
        data_dir=tmp_path / "d",
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
        max_upload_bytes=4096,
    )
    app = create_app(settings)
    try:
        with app.test_client() as client:
            key = issue_key()
            sid = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()["id"]
            target = presign(client, key, sid)
            assert json.loads(base64.b64decode(target["upload_fields"]["policy"]))[
                "content_length_range"
            ] == [1, 4096]
            big = jpeg(size=(8, 8)) + b"\0" * 5000  # a valid JPEG start, too long
            _problem(post_upload(client, target, big), 413, "payload_too_large")
            # far over the limit: refused by the body limit, before any of it is parsed
            huge = b"\xff\xd8\xff" + b"\0" * (200 * 1024)
            _problem(post_upload(client, target, huge), 413, "payload_too_large")

            def chunks():
                yield b"--b\r\n"
                for _ in range(100):
                    yield b"\0" * 4096

            chunked = client.post(
                target["upload_url"],
                content=chunks(),
                headers={"Content-Type": "multipart/form-data; boundary=b"},
            )
            _problem(chunked, 413, "payload_too_large")
            assert app.services.objects.size(target["s3_key"]) is None
    finally:
        app.services.db.close()


def test_register_refuses_foreign_missing_and_malformed_keys(
    scanserve_client, scanserve_app, api_key, session_id
):
    other_session = scanserve_client.post(
        f"{BASE}/sessions", json={}, headers=api_key.headers
    ).json()["id"]
    theirs = upload_photo(scanserve_client, api_key, other_session)["s3_key"]
    # another session's key (uploaded and real): 422
    body = _problem(
        register(scanserve_client, api_key, session_id, theirs), 422, "validation_error"
    )
    assert body["errors"][0]["pointer"] == "/s3_key"

    # another organisation's key, with this session's id put into it: 422
    other_org = issue_key("Other Org")
    forged = (
        f"org/{other_org.org_short_id}/sessions/{session_id}/front/{models.new_short_id()}.jpg"
    )
    scanserve_app.services.objects.put(forged, jpeg(), content_type="image/jpeg")
    _problem(register(scanserve_client, api_key, session_id, forged), 422, "validation_error")

    # a key this session could have, but nothing was uploaded there
    never = f"org/{api_key.org_short_id}/sessions/{session_id}/front/{models.new_short_id()}.jpg"
    body = _problem(
        register(scanserve_client, api_key, session_id, never), 422, "validation_error"
    )
    assert "uploaded" in body["detail"]

    # an object under a good key that is no image (only the server itself could put it there)
    text = f"org/{api_key.org_short_id}/sessions/{session_id}/other/{models.new_short_id()}.png"
    scanserve_app.services.objects.put(text, b"plain text", content_type="image/png")
    body = _problem(register(scanserve_client, api_key, session_id, text), 422, "validation_error")
    assert "not a JPEG, PNG or WebP" in body["detail"]

    # escapes, other prefixes (a capture image's key), other types
    for bad in (
        f"org/{api_key.org_short_id}/sessions/{session_id}/../{other_session}/front/x.jpg",
        f"org/{api_key.org_short_id}/sessions/{session_id}/captures/{models.new_short_id()}.jpg",
        f"org/{api_key.org_short_id}/sessions/{session_id}/front/{models.new_short_id()}.gif",
        "/etc/passwd",
    ):
        _problem(register(scanserve_client, api_key, session_id, bad), 422, "validation_error")

    # the other organisation cannot even see the session
    mine = upload_photo(scanserve_client, api_key, session_id)["s3_key"]
    _problem(register(scanserve_client, other_org, session_id, mine), 404, "not_found")
    _problem(
        scanserve_client.get(
            f"{BASE}/sessions/{session_id}/presigned-upload-url", headers=other_org.headers
        ),
        404,
        "not_found",
    )
    assert models.Photo.select().count() == 0


def test_capture_link_must_be_in_the_same_session(scanserve_client, api_key, session_id):
    other_session = scanserve_client.post(
        f"{BASE}/sessions", json={}, headers=api_key.headers
    ).json()["id"]
    theirs = scanserve_client.post(
        f"{BASE}/captures",
        json={"session_id": other_session, "capture_type": "BARCODE", "raw_value": "hello"},
        headers=api_key.headers,
    ).json()["id"]
    ours = scanserve_client.post(
        f"{BASE}/captures",
        json={"session_id": session_id, "capture_type": "BARCODE", "raw_value": "hello"},
        headers=api_key.headers,
    ).json()["id"]
    key = upload_photo(scanserve_client, api_key, session_id)["s3_key"]
    _problem(
        register(scanserve_client, api_key, session_id, key, capture_short_id=theirs),
        404,
        "not_found",
    )
    response = register(scanserve_client, api_key, session_id, key, capture_short_id=ours)
    assert response.status_code == 201
    assert response.json()["capture_short_id"] == ours


def test_gallery_reorder_reclassify_and_detail(scanserve_client, api_key, session_id):
    ids = []
    for photo_type in ("front", "back", "nutrition"):
        key = upload_photo(scanserve_client, api_key, session_id, photo_type=photo_type)["s3_key"]
        response = register(scanserve_client, api_key, session_id, key, photo_type=photo_type)
        assert response.status_code == 201
        ids.append(response.json()["id"])
        assert response.json()["sort_order"] == len(ids) - 1

    url = f"{BASE}/sessions/{session_id}/photos/reorder"
    new_order = [ids[2], ids[0], ids[1]]
    response = scanserve_client.post(
        url, json={"photo_short_ids": new_order}, headers=api_key.headers
    )
    assert response.status_code == 200, response.text
    assert [(p["id"], p["sort_order"]) for p in response.json()] == [
        (ids[2], 0),
        (ids[0], 1),
        (ids[1], 2),
    ]

    stranger = models.new_short_id()
    for bad, why in (
        ([ids[0], ids[1]], "missing"),
        ([ids[0], ids[1], ids[2], stranger], "not a photo of this session"),
        ([ids[0], ids[0], ids[1], ids[2]], None),  # duplicates: the schema's uniqueItems
    ):
        body = _problem(
            scanserve_client.post(url, json={"photo_short_ids": bad}, headers=api_key.headers),
            422,
            "validation_error",
        )
        if why:
            assert why in body["detail"]
    detail = scanserve_client.get(f"{BASE}/sessions/{session_id}", headers=api_key.headers).json()
    assert [p["id"] for p in detail["product_photos"]] == new_order  # unchanged by the refusals
    assert detail["photo_count"] == 3
    listed = scanserve_client.get(f"{BASE}/sessions", headers=api_key.headers).json()["data"]
    assert listed[0]["photo_count"] == 3

    patch = f"{BASE}/sessions/{session_id}/photos/{ids[0]}"
    first = scanserve_client.patch(
        patch,
        json={"photo_type": "ingredients", "metadata": {"a": "1", "b": "2"}},
        headers=api_key.headers,
    )
    assert first.status_code == 200, first.text
    assert first.json()["photo_type"] == "ingredients"
    second = scanserve_client.patch(
        patch,
        json={"photo_type": "ingredients", "metadata": {"a": "", "c": "3"}},
        headers=api_key.headers,
    )
    assert second.json()["metadata"] == {"b": "2", "c": "3"}
    kept = scanserve_client.patch(patch, json={"photo_type": "back"}, headers=api_key.headers)
    assert kept.json()["metadata"] == {"b": "2", "c": "3"}
    assert kept.json()["photo_type"] == "back"
    # the photo must be of the session in the path
    other_session = scanserve_client.post(
        f"{BASE}/sessions", json={}, headers=api_key.headers
    ).json()["id"]
    _problem(
        scanserve_client.patch(
            f"{BASE}/sessions/{other_session}/photos/{ids[0]}",
            json={"photo_type": "front"},
            headers=api_key.headers,
        ),
        404,
        "not_found",
    )


def test_photos_need_an_active_session(scanserve_client, api_key, session_id):
    key = upload_photo(scanserve_client, api_key, session_id)["s3_key"]
    photo = register(scanserve_client, api_key, session_id, key).json()
    late_key = upload_photo(scanserve_client, api_key, session_id)["s3_key"]
    scanserve_client.post(f"{BASE}/sessions/{session_id}/end", headers=api_key.headers)
    for response in (
        register(scanserve_client, api_key, session_id, late_key),
        scanserve_client.get(
            f"{BASE}/sessions/{session_id}/presigned-upload-url", headers=api_key.headers
        ),
        scanserve_client.post(
            f"{BASE}/sessions/{session_id}/photos/reorder",
            json={"photo_short_ids": [photo["id"]]},
            headers=api_key.headers,
        ),
        scanserve_client.patch(
            f"{BASE}/sessions/{session_id}/photos/{photo['id']}",
            json={"photo_type": "front"},
            headers=api_key.headers,
        ),
    ):
        body = _problem(response, 409, "conflict")
        assert "ACTIVE" in body["detail"]


@pytest.mark.scanserve_settings(public_base_url="https://scan.example.com/")
def test_upload_url_uses_the_public_base_url_behind_a_proxy(scanserve_client, api_key, session_id):
    target = presign(scanserve_client, api_key, session_id, photo_type="front")
    assert target["upload_url"] == f"https://scan.example.com{BASE}/uploads"
    # the client's Host header no longer names the address handed out
    response = scanserve_client.get(
        f"{BASE}/sessions/{session_id}/presigned-upload-url",
        headers={**api_key.headers, "Host": "evil.example"},
    )
    assert response.json()["upload_url"] == f"https://scan.example.com{BASE}/uploads"


def test_a_public_base_url_must_be_an_origin():
    from pydantic import ValidationError

    from scanserve.settings import Settings

    for bad in ("scan.example.com", "ftp://x", "https://x/path", "https://x?q"):
        with pytest.raises(ValidationError):
            Settings(public_base_url=bad)
