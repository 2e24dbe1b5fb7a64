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
