"""The same app on PostgreSQL: migrations, sessions, captures and the pipeline, in a
database made for the test and dropped after it."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from scanserve import catalog
from scanserve.app import create_app
from scanserve.settings import Settings
from scanserve.testing import issue_key

pytestmark = pytest.mark.postgres
BASE = "/scanner/api/v1"


@pytest.fixture
def postgres_url():
    url = os.environ.get("SCANSERVE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("SCANSERVE_TEST_POSTGRES_URL is not set")
    import psycopg2

    name = f"scanserve_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(url)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


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
