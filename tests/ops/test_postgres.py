"""The same app on PostgreSQL: migrations, sessions, captures and the pipeline, in a
database made for the test and dropped after it."""

from __future__ import annotations

import pytest

from scanserve.app import create_app
from scanserve.domain import catalog_import as catalog
from scanserve.settings import Settings
from scanserve.testing import issue_key

pytestmark = pytest.mark.postgres
BASE = "/scanner/api/v1"


def test_sessions_and_captures_on_postgres(postgres_url, tmp_path):
    settings = Settings(
        data_dir=tmp_path,
        database_url=postgres_url,
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
    )
    app = create_app(settings)
    try:
        assert app.services.db.__class__.__name__.startswith("Postgres")
        key = issue_key()
        csv = tmp_path / "c.csv"
        csv.write_text("gtin,name\n4006381333931,Highlighter\n")
        assert catalog.import_file(csv).upserted == 1
        assert catalog.import_file(csv).upserted == 1  # upsert on conflict works on PostgreSQL too
        with app.test_client() as client:
            session = client.post(
                f"{BASE}/sessions", json={"metadata": {"a": "b"}}, headers=key.headers
            ).json()
            cap = client.post(
                f"{BASE}/captures",
                json={
                    "session_id": session["id"],
                    "capture_type": "BARCODE",
                    "raw_value": "]C10104006381333931\x1d10LOT",
                },
                headers=key.headers,
            ).json()
            assert cap["status"] == "COMPLETED" and cap["product_name"] == "Highlighter"
            assert cap["raw_value"].endswith("\x1d10LOT")
            detail = client.get(f"{BASE}/sessions/{session['id']}", headers=key.headers).json()
            assert detail["capture_count"] == 1 and detail["captures"][0]["id"] == cap["id"]
            listing = client.get(f"{BASE}/sessions?status=ACTIVE", headers=key.headers).json()
            assert (
                listing["pagination"]["total_count"] == 1
                and listing["data"][0]["capture_count"] == 1
            )
            status = client.get(
                f"{BASE}/sessions/{session['id']}/status", headers=key.headers
            ).json()
            assert status["captures"] == [
                {"id": cap["id"], "status": "COMPLETED", "proposal_count": 0}
            ]
            rule = client.post(
                f"{BASE}/captures/{cap['id']}/save-redirect",
                json={"url": "https://e.com/a"},
                headers=key.headers,
            )
            assert rule.status_code == 201 and rule.json()["position"] == 0
    finally:
        app.services.db.close()


def test_credentials_on_postgres(postgres_url, tmp_path, monkeypatch):
    """Migration 002 on a database that already has an access token (its id is filled in),
    then a personal access token, a browser sign-in and a CSRF-checked write on PostgreSQL."""
    import shutil

    from scanserve.identity import tokens
    from scanserve.identity.keys import hash_secret
    from scanserve.storage import migrate, models
    from scanserve.storage.database import open_database

    first = tmp_path / "first"
    first.mkdir()
    shutil.copy(migrate.MIGRATIONS_DIR / "001_initial.py", first)
    shipped = migrate.MIGRATIONS_DIR
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", first)
    db = open_database(postgres_url)
    assert migrate.upgrade(db) == ["001_initial"]
    db.execute_sql(
        "INSERT INTO app_user (short_id, email, created) VALUES ('u', 'old@example.com', now())"
    )
    db.execute_sql(
        "INSERT INTO access_token (token_hash, user_id, is_active, created) "
        "SELECT 'old-hash', id, true, now() FROM app_user"
    )
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", shipped)
    db.close()

    settings = Settings(
        data_dir=tmp_path,
        database_url=postgres_url,
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
    )
    app = create_app(settings)  # runs the remaining migrations
    try:
        old = models.AccessToken.get(models.AccessToken.token_hash == "old-hash")
        assert len(old.short_id) == 22 and old.scopes == "scanner:read scanner:write"
        key = issue_key("PG Org")
        user = models.User.create(email="ana@example.com")
        models.Membership.create(user=user, organization=key.org_id)
        raw = tokens.generate_token()
        models.AccessToken.create(
            user=user, organization=key.org_id, token_hash=hash_secret(raw), hint=tokens.hint(raw)
        )
        with app.test_client() as client:
            signed = client.post(
                f"{BASE}/auth/session", headers={"Authorization": f"Bearer {raw}"}
            )
            assert signed.status_code == 201, signed.text
            csrf = signed.json()["csrf_token"]
            assert client.post(f"{BASE}/sessions", json={}).status_code == 403
            made = client.post(f"{BASE}/sessions", json={}, headers={"X-CSRF-Token": csrf})
            assert made.status_code == 201
            client.cookies.clear()
            listed = client.get(f"{BASE}/sessions", headers={"Authorization": f"Bearer {raw}"})
            assert listed.json()["pagination"]["total_count"] == 1
    finally:
        app.services.db.close()


def test_publishable_keys_on_postgres(postgres_url, tmp_path, monkeypatch):
    """Migration 011 on a database holding a session from before it (no creator: no
    publishable key sees it), then a publishable key's own session, its origins' CORS
    preflight, and the creator's index, on PostgreSQL."""
    import shutil

    from scanserve.storage import migrate, models
    from scanserve.storage.database import open_database

    before = tmp_path / "before"
    before.mkdir()
    for path in sorted(migrate.MIGRATIONS_DIR.glob("[0-9]*.py")):
        if path.stem < "011":
            shutil.copy(path, before)
    shipped = migrate.MIGRATIONS_DIR
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", before)
    db = open_database(postgres_url)
    assert migrate.upgrade(db)[-1] == "010_storage_quotas"
    old_id = models.new_short_id()
    db.execute_sql("INSERT INTO organization (short_id, name, created) VALUES ('o', 'Old', now())")
    db.execute_sql(
        "INSERT INTO scan_session (short_id, organization_id, status, capture_mode, "
        "extraction_status, metadata, user_agent, device_context, created, modified, "
        "last_activity, extraction_claimed, extraction_attempts, extraction_failures) "
        "SELECT %s, id, 'ACTIVE', 'barcode_scan', 'pending', '{}', '', "
        "'{}', now(), now(), now(), false, 0, '[]' FROM organization",
        (old_id,),
    )
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", shipped)
    db.close()

    settings = Settings(
        data_dir=tmp_path,
        database_url=postgres_url,
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
    )
    app = create_app(settings)  # runs 011
    try:
        indexes = {
            row[0]
            for row in app.services.db.execute_sql(
                "SELECT indexdef FROM pg_indexes WHERE tablename IN ('scan_session', 'api_key_origin')"
            ).fetchall()
        }
        assert any("(created_by_key_id)" in index for index in indexes), indexes
        assert any("UNIQUE" in i and "(api_key_id, origin)" in i for i in indexes), indexes
        old_org = models.Organization.get(models.Organization.short_id == "o")
        cpk = issue_key(kind="cpk", org_short_id=old_org.short_id)
        csb = issue_key(org_short_id=old_org.short_id)
        models.ApiKeyOrigin.create(
            api_key=models.ApiKey.get(models.ApiKey.short_id == cpk.key_id),
            origin="https://shop.example",
        )
        with app.test_client() as client:
            old = f"{BASE}/sessions/{old_id}"
            assert client.get(old, headers=cpk.headers).status_code == 404
            assert client.get(old, headers=csb.headers).status_code == 200
            made = client.post(f"{BASE}/sessions", json={}, headers=cpk.headers)
            assert made.status_code == 201
            own = f"{BASE}/sessions/{made.json()['id']}"
            assert client.get(own, headers=cpk.headers).status_code == 200
            listed = client.get(f"{BASE}/sessions", headers=cpk.headers)
            assert listed.status_code == 403 and listed.json()["key_scope"] == "publishable"
            preflight = client.options(
                f"{BASE}/sessions",
                headers={
                    "Origin": "https://shop.example",
                    "Access-Control-Request-Method": "POST",
                },
            )
            assert preflight.status_code == 204
            assert preflight.headers["access-control-allow-origin"] == "https://shop.example"
    finally:
        app.services.db.close()
