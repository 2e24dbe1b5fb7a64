"""Retention tests' shared parts: sessions made through the API with what hangs off them
(captures, an uploaded image, a registered photo, a proposal), ended and aged."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from PIL import Image

from scanserve.storage import models
from scanserve.storage.fields import utcnow

BASE = "/scanner/api/v1"
OLD = timedelta(days=100)


def jpeg(colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, format="JPEG")
    return out.getvalue()


@dataclass
class Made:
    """A session made through the API, and what hangs off it."""

    short_id: str
    org_id: int
    colour: str = "red"
    captures: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # its objects in the store


def make_session(client, key, *, photo: bool = True, colour: str = "red") -> Made:
    created = client.post(f"{BASE}/sessions", json={}, headers=key.headers)
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    org = models.Organization.get(models.Organization.short_id == key.org_short_id).id
    made = Made(sid, org, colour)
    image = client.post(
        f"{BASE}/captures/upload-image",
        data={"session_id": sid, "capture_type": "BARCODE", "raw_value": "4006381333931"},
        files={"image": ("a.jpg", jpeg(colour), "image/jpeg")},
        headers=key.headers,
    )
    assert image.status_code == 201, image.text
    made.captures.append(image.json()["id"])
    made.keys.append(image.json()["uploaded_image_key"])
    plain = client.post(
        f"{BASE}/captures",
        json={"session_id": sid, "capture_type": "BARCODE", "raw_value": "4006381333931"},
        headers=key.headers,
    )
    assert plain.status_code == 201, plain.text
    made.captures.append(plain.json()["id"])
    if photo:
        target = client.get(
            f"{BASE}/sessions/{sid}/presigned-upload-url",
            params={"original_filename": "p.jpg"},
            headers=key.headers,
        ).json()
        files = {"file": ("p.jpg", jpeg(colour), "image/jpeg")}
        if urlsplit(target["upload_url"]).hostname == "testserver":
            sent = client.post(target["upload_url"], data=target["upload_fields"], files=files)
        else:  # straight to the bucket, as a client does
            sent = httpx.post(target["upload_url"], data=target["upload_fields"], files=files)
        assert sent.status_code in (200, 204), sent.text
        registered = client.post(
            f"{BASE}/sessions/{sid}/photos", json={"s3_key": target["s3_key"]}, headers=key.headers
        )
        assert registered.status_code == 201, registered.text
        made.keys.append(target["s3_key"])
    capture = models.Capture.get(models.Capture.short_id == made.captures[0])
    models.Proposal.create(
        id=uuid.uuid4(),
        organization=org,
        capture=capture.id,
        field_name="name",
        proposed_value="Something",
    )
    return made


def end(client, key, made: Made) -> None:
    assert client.post(f"{BASE}/sessions/{made.short_id}/end", headers=key.headers).is_success


def age(made: Made, by: timedelta = OLD) -> None:
    """Nothing about the session changed for ``by``."""
    then = utcnow() - by
    S, C = models.ScanSession, models.Capture
    S.update(modified=then, last_activity=then).where(S.short_id == made.short_id).execute()
    session = S.get(S.short_id == made.short_id)
    C.update(modified=then, state_changed_at=then).where(C.session == session.id).execute()


def stored(objects: Any, key: str) -> bool:
    return objects.size(key) is not None


def rows_of(made: Made) -> dict[str, int]:
    S, C, P, R = models.ScanSession, models.Capture, models.Photo, models.Proposal
    session = S.get_or_none(S.short_id == made.short_id)
    if session is None:
        return {"sessions": 0, "captures": 0, "photos": 0, "proposals": 0}
    return {
        "sessions": 1,
        "captures": C.select().where(C.session == session.id).count(),
        "photos": P.select().where(P.session == session.id).count(),
        "proposals": R.select().join(C).where(C.session == session.id).count(),
    }
