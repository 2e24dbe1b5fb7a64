"""Extraction, review and apply on PostgreSQL: the migration, the proposals' UUID keys, the
one-transaction write of proposals and ``ready``, and the per-organisation upsert."""

from __future__ import annotations

import pytest
from extraction_support import (
    BASE,
    add_photo,
    add_product,
    capture,
    open_session,
    proposals,
    status,
    submit,
    text_image,
)
from extractors import ProposingExtractor

from scanserve.app import create_app
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.testing import issue_key

pytestmark = pytest.mark.postgres


def test_extraction_review_and_apply_on_postgres(postgres_url, tmp_path):
    settings = Settings(
        data_dir=tmp_path,
        database_url=postgres_url,
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
    )
    app = create_app(settings, extra_plugins=[ProposingExtractor()])
    try:
        assert app.services.db.__class__.__name__.startswith("Postgres")
        key = issue_key()
        with app.test_client() as client:
            add_product()
            session = open_session(client, key.headers)
            cap = capture(client, key.headers, session["id"])
            add_photo(app.services, session["id"], text_image(["front"]), "front")
            submit(client, key.headers, session["id"])
            found = proposals(client, key.headers, cap["id"])
            assert [p["field_name"] for p in found] == ["name", "ingredients", "ai_summary"]
            for proposal, decision in zip(
                found, ("ACCEPTED", "ACCEPTED", "REJECTED"), strict=True
            ):
                response = client.patch(
                    f"{BASE}/proposals/{proposal['id']}",
                    json={"status": decision},
                    headers=key.headers,
                )
                assert response.status_code == 200, response.text
            again = client.patch(
                f"{BASE}/proposals/{found[0]['id']}",
                json={"status": "REJECTED"},
                headers=key.headers,
            )
            assert again.status_code == 409
            assert status(client, key.headers, session["id"])["extraction_status"] == "accepted"
            applied = client.post(f"{BASE}/captures/{cap['id']}/apply", headers=key.headers)
            assert [p["field_name"] for p in applied.json()["applied"]] == ["name", "ingredients"]
            assert (
                client.post(f"{BASE}/captures/{cap['id']}/apply", headers=key.headers).json()[
                    "applied"
                ]
                == []
            )
            shown = client.get(f"{BASE}/captures/{cap['id']}", headers=key.headers).json()
            assert shown["product_name"] == "Highlighter Yellow (pack of 4)"
            assert models.ProductOverride.select().count() == 2
    finally:
        app.services.db.close()
