"""Storage quotas per organisation (bytes and objects, a default and a per-organisation
override), refused with 507 while other organisations keep writing; presigned uploads never
registered deleted by the sweep after they expire; ``scanserve orgs quota``."""

from __future__ import annotations

import io
import json
import os
import subprocess
from datetime import timedelta

import pytest
from cli_fork import run_command
from PIL import Image

from scanserve.domain import quotas
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.testing import issue_key

BASE = "/scanner/api/v1"
MAX_UPLOAD = 10 * 1024 * 1024  # the default max_upload_bytes: what a presigned URL reserves


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(out, format="JPEG")
    return out.getvalue()


def _problem(response, status_code, code):
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["error_code"] == code
    assert body["status"] == status_code
    return body


def new_session(client, key):
    response = client.post(f"{BASE}/sessions", json={}, headers=key.headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def upload_image(client, key, session_id):
    return client.post(
        f"{BASE}/captures/upload-image",
        data={"session_id": session_id, "capture_type": "BARCODE", "raw_value": "4006381333931"},
        files={"image": ("a.jpg", jpeg(), "image/jpeg")},
        headers=key.headers,
    )


def presign(client, key, session_id):
    return client.get(
        f"{BASE}/sessions/{session_id}/presigned-upload-url",
        params={"original_filename": "p.jpg"},
        headers=key.headers,
    )


def upload_to(client, target, data):
    fields = target["upload_fields"]
    response = client.post(
        target["upload_url"], data=fields, files={"file": ("p.jpg", data, "image/jpeg")}
    )
    assert response.status_code == 204, response.text


def register(client, key, session_id, s3_key):
    return client.post(
        f"{BASE}/sessions/{session_id}/photos", json={"s3_key": s3_key}, headers=key.headers
    )


def org_id(key) -> int:
    return models.Organization.get(models.Organization.short_id == key.org_short_id).id


def test_an_organisation_over_its_quota_gets_507_and_others_keep_writing(
    scanserve_app, scanserve_client, api_key
):
    settings = scanserve_app.services.settings
    other = issue_key("Other Org")
    mine, theirs = new_session(scanserve_client, api_key), new_session(scanserve_client, other)
    quotas.set_quota(org_id(api_key), max_bytes=None, max_objects=2)
    assert upload_image(scanserve_client, api_key, mine).status_code == 201
    assert upload_image(scanserve_client, api_key, mine).status_code == 201
    refused = upload_image(scanserve_client, api_key, mine)
    body = _problem(refused, 507, "insufficient_storage")
    assert "2 objects" in body["detail"]
    assert body["retryable"] is True  # once room is made (the sweep, the operator)
    assert int(refused.headers["retry-after"]) >= 1
    _problem(presign(scanserve_client, api_key, mine), 507, "insufficient_storage")
    assert models.Capture.select().where(models.Capture.session_id.is_null(False)).count() == 2
    # the other organisation writes on, with the default quota
    for _ in range(3):
        assert upload_image(scanserve_client, other, theirs).status_code == 201
    assert presign(scanserve_client, other, theirs).status_code == 200

    # a byte quota: a presigned URL reserves max_upload_bytes until the photo is registered
    used = quotas.usage(settings, org_id(api_key))
    quotas.set_quota(org_id(api_key), max_bytes=used.bytes + MAX_UPLOAD, max_objects=0)
    target = presign(scanserve_client, api_key, mine)
    assert target.status_code == 200, target.text
    body = _problem(presign(scanserve_client, api_key, mine), 507, "insufficient_storage")
    assert f"{used.bytes + MAX_UPLOAD} bytes" in body["detail"]
    _problem(upload_image(scanserve_client, api_key, mine), 507, "insufficient_storage")
    # registered, the photo counts its real size: room again
    data = jpeg()
    upload_to(scanserve_client, target.json(), data)
    assert register(scanserve_client, api_key, mine, target.json()["s3_key"]).status_code == 201
    after = quotas.usage(settings, org_id(api_key))
    assert (after.bytes, after.objects) == (used.bytes + len(data), used.objects + 1)
    assert upload_image(scanserve_client, api_key, mine).status_code == 201
    # no limit at all, back to the defaults
    quotas.set_quota(org_id(api_key), max_bytes=None, max_objects=None)
    assert presign(scanserve_client, api_key, mine).status_code == 200


@pytest.mark.scanserve_settings(storage_quota_objects=3, storage_quota_bytes=0)
def test_the_default_quota_applies_to_every_organisation(scanserve_client, api_key):
    session = new_session(scanserve_client, api_key)
    for _ in range(3):
        assert upload_image(scanserve_client, api_key, session).status_code == 201
    _problem(upload_image(scanserve_client, api_key, session), 507, "insufficient_storage")
    other = issue_key("Second Org")
    assert (
        upload_image(scanserve_client, other, new_session(scanserve_client, other)).status_code
        == 201
    )


@pytest.mark.scanserve_settings(upload_cleanup_grace_seconds=60)
def test_uploads_never_registered_are_deleted_after_expiry_and_grace(
    scanserve_app, scanserve_client, api_key
):
    services = scanserve_app.services
    session = new_session(scanserve_client, api_key)
    targets = [presign(scanserve_client, api_key, session).json() for _ in range(3)]
    for target in targets:
        upload_to(scanserve_client, target, jpeg())
    abandoned, recent, registered = (t["s3_key"] for t in targets)
    assert register(scanserve_client, api_key, session, registered).status_code == 201
    # the first URL expired 61 s ago (past the grace), the second 59 s ago
    S = models.StoredObject
    now = utcnow()
    S.update(expires_at=now - timedelta(seconds=61)).where(S.object_key == abandoned).execute()
    S.update(expires_at=now - timedelta(seconds=59)).where(S.object_key == recent).execute()
    before = quotas.usage(services.settings, org_id(api_key))
    services.queue.sweep()  # the periodic sweep
    assert services.objects.size(abandoned) is None
    assert not S.select().where(S.object_key == abandoned).exists()
    assert services.objects.size(recent) is not None  # still within its grace
    assert services.objects.size(registered) is not None  # a photo: never swept
    after = quotas.usage(services.settings, org_id(api_key))
    assert (after.objects, after.bytes) == (before.objects - 1, before.bytes - MAX_UPLOAD)
    # too late to register it now
    body = _problem(
        register(scanserve_client, api_key, session, abandoned), 422, "validation_error"
    )
    assert body["errors"][0]["pointer"] == "/s3_key"
    # and the sweep never deletes a pending upload registered at the last moment
    S.update(expires_at=now - timedelta(seconds=61)).where(S.object_key == recent).execute()
    assert register(scanserve_client, api_key, session, recent).status_code == 201
    services.queue.sweep()
    assert services.objects.size(recent) is not None
    assert models.Photo.select().count() == 2


def test_orgs_quota_show_and_set(scanserve_app, scanserve_client, api_key):
    session = new_session(scanserve_client, api_key)
    assert upload_image(scanserve_client, api_key, session).status_code == 201
    size = len(jpeg())
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANSERVE_")}
    env.update(
        SCANSERVE_DATA_DIR=str(scanserve_app.services.settings.data_dir),
        SCANSERVE_LOAD_ENTRYPOINT_PLUGINS="false",
    )

    def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_command(args, env, check=check)

    org = api_key.org_short_id
    shown = cli("orgs", "quota", "show", org).stdout.splitlines()
    assert shown[0] == "ORG_ID\tRESOURCE\tUSED\tLIMIT\tSOURCE"
    assert shown[1] == f"{org}\tbytes\t{size}\t{10 * 1024**3}\tdefault"
    assert shown[2] == f"{org}\tobjects\t1\t100000\tdefault"
    changed = cli("orgs", "quota", "set", "Test Org", "--bytes", "2MiB", "--objects", "5")
    assert "2097152 (this organisation) bytes, 5 (this organisation) objects" in changed.stdout
    assert quotas.usage(scanserve_app.services.settings, org_id(api_key)).max_bytes == 2 * 1024**2
    cli("orgs", "quota", "set", api_key.org_short_id, "--objects", "0")
    shown = cli("orgs", "quota", "show", org).stdout.splitlines()
    assert shown[1] == f"{org}\tbytes\t{size}\t2097152\torg"
    assert shown[2] == f"{org}\tobjects\t1\tno limit\torg"
    as_json = json.loads(cli("orgs", "quota", "show", org, "--json").stdout)
    assert as_json == [
        {"org_id": org, "resource": "bytes", "used": size, "limit": 2097152, "source": "org"},
        {"org_id": org, "resource": "objects", "used": 1, "limit": 0, "source": "org"},
    ]
    cli("orgs", "quota", "set", api_key.org_short_id, "--bytes", "default")
    shown = cli("orgs", "quota", "show", org).stdout.splitlines()
    assert shown[1] == f"{org}\tbytes\t{size}\t{10 * 1024**3}\tdefault"
    refused = cli("orgs", "quota", "set", api_key.org_short_id, "--bytes", "lots", check=False)
    assert refused.returncode != 0
    assert "whole number" in refused.stderr


@pytest.mark.postgres
def test_quotas_and_the_sweep_on_postgres(postgres_url, tmp_path):
    from scanserve.app import create_app
    from scanserve.settings import Settings

    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=postgres_url,
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
        storage_quota_objects=3,
    )
    app = create_app(settings)
    try:
        key, other = issue_key(), issue_key("Other Org")
        with app.test_client() as client:
            session = new_session(client, key)
            assert upload_image(client, key, session).status_code == 201
            target = presign(client, key, session).json()
            upload_to(client, target, jpeg())
            assert register(client, key, session, target["s3_key"]).status_code == 201
            abandoned = presign(client, key, session).json()
            used = quotas.usage(settings, org_id(key))
            assert (used.objects, used.bytes) == (3, 2 * len(jpeg()) + MAX_UPLOAD)
            _problem(upload_image(client, key, session), 507, "insufficient_storage")
            assert upload_image(client, other, new_session(client, other)).status_code == 201
            S = models.StoredObject
            S.update(expires_at=utcnow() - timedelta(hours=2)).where(
                S.object_key == abandoned["s3_key"]
            ).execute()
            app.services.queue.sweep()
            assert quotas.usage(settings, org_id(key)).objects == 2
            assert upload_image(client, key, session).status_code == 201
    finally:
        app.services.db.close()


def test_the_upgrade_counts_what_is_already_stored(tmp_path, monkeypatch):
    """The storage_quotas migration counts the photos (at their size) and uploaded images (at 0: their
    size was never recorded) stored before it, so quotas hold from the upgrade on."""
    import shutil

    from scanserve.storage import migrate
    from scanserve.storage.database import open_database

    shipped = sorted(migrate.MIGRATIONS_DIR.glob("[0-9]*.py"))
    ours = next(path for path in shipped if path.stem.endswith("_storage_quotas"))
    before = tmp_path / "migrations"
    before.mkdir()
    for path in shipped:
        if path.name < ours.name:
            shutil.copy(path, before)
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", before)
    db = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        migrate.upgrade(db)
        for sql in (
            "INSERT INTO organization (short_id, name, created) VALUES ('o1', 'Org', '2026-01-01')",
            "INSERT INTO scan_session (short_id, organization_id, status, capture_mode, "
            "extraction_status, metadata, user_agent, device_context, created, modified, "
            "last_activity, extraction_claimed, extraction_attempts, extraction_failures) "
            "VALUES ('s1', 1, 'ACTIVE', 'barcode_scan', 'pending', '{}', '', '{}', '2026-01-01', "
            "'2026-01-01', '2026-01-01', 0, 0, '[]')",
            "INSERT INTO photo (short_id, organization_id, session_id, photo_type, s3_key, "
            "original_filename, sort_order, file_size, metadata, created) VALUES ('p1', 1, 1, "
            "'other', 'org/o1/p.jpg', '', 0, 1234, '{}', '2026-01-01')",
            "INSERT INTO capture (short_id, organization_id, session_id, capture_type, raw_value, "
            "gtin, status, error_message, metadata, uploaded_image_key, created, modified, "
            "state_changed_at, attempts) VALUES ('c1', 1, 1, 'IMAGE', '', '', 'COMPLETED', '', "
            "'{}', 'org/o1/c.png', '2026-01-01', '2026-01-01', '2026-01-01', 0)",
        ):
            db.execute_sql(sql)
        monkeypatch.undo()
        assert ours.stem in migrate.upgrade(db)
        rows = db.execute_sql(
            "SELECT organization_id, object_key, size, state FROM stored_object ORDER BY size DESC"
        ).fetchall()
        assert rows == [(1, "org/o1/p.jpg", 1234, "stored"), (1, "org/o1/c.png", 0, "stored")]
    finally:
        db.close()
