"""Proposals through the real app: list, review once, apply once, the review settling the
session's extraction_status, organisation scoping, and applied values staying the applying
organisation's own (the catalog row is shared)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from extraction_support import (
    BASE,
    GTIN14,
    add_photo,
    add_product,
    capture,
    open_session,
    proposals,
    status,
    submit,
    text_image,
)
from extractors import DRAFTS, ProposingExtractor

from scanserve.storage import models
from scanserve.testing import issue_key


@pytest.fixture
def scanserve_plugins() -> list[Any]:
    return [ProposingExtractor()]


@pytest.fixture
def reviewed(scanserve_app, scanserve_client, api_key) -> dict[str, Any]:
    """A submitted session whose one capture has the three proposals, PENDING."""
    add_product()
    session = open_session(scanserve_client, api_key.headers)
    cap = capture(scanserve_client, api_key.headers, session["id"])
    add_photo(scanserve_app.services, session["id"], text_image(["front"]), "front")
    submit(scanserve_client, api_key.headers, session["id"])
    found = proposals(scanserve_client, api_key.headers, cap["id"])
    assert [(p["field_name"], p["status"]) for p in found] == [(f, "PENDING") for f, _ in DRAFTS]
    assert [p["current_value"] for p in found] == ["Highlighter Yellow", "", ""]
    return {"session": session, "capture": cap, "proposals": {p["field_name"]: p for p in found}}


def review(client: Any, headers: dict[str, str], proposal_id: str, decision: str, **extra: Any):
    return client.patch(
        f"{BASE}/proposals/{proposal_id}", json={"status": decision, **extra}, headers=headers
    )


def apply(client: Any, headers: dict[str, str], capture_id: str):
    return client.post(f"{BASE}/captures/{capture_id}/apply", headers=headers)


def test_review_is_final(scanserve_client, api_key, reviewed):
    pid = reviewed["proposals"]["name"]["id"]
    first = review(scanserve_client, api_key.headers, pid, "ACCEPTED", metadata={"by": "ana"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "ACCEPTED" and body["reviewed_at"] is not None
    assert body["metadata"] == {"by": "ana"}
    for decision in ("ACCEPTED", "REJECTED"):
        again = review(scanserve_client, api_key.headers, pid, decision)
        assert again.status_code == 409, again.text
        assert again.json()["error_code"] == "conflict"
    assert models.Proposal.get_by_id(uuid.UUID(pid)).status == "ACCEPTED"
    pending = review(scanserve_client, api_key.headers, pid, "PENDING")
    assert pending.status_code == 422


def test_unknown_and_foreign_proposals_are_404(scanserve_client, api_key, reviewed):
    other = issue_key("Other Org")
    pid = reviewed["proposals"]["name"]["id"]
    for headers, target in (
        (other.headers, pid),
        (api_key.headers, str(uuid.uuid4())),
    ):
        response = review(scanserve_client, headers, target, "ACCEPTED")
        assert response.status_code == 404, response.text
        assert response.json()["error_code"] == "not_found"
    cap = reviewed["capture"]["id"]
    assert (
        scanserve_client.get(f"{BASE}/captures/{cap}/proposals", headers=other.headers).status_code
        == 404
    )
    assert apply(scanserve_client, other.headers, cap).status_code == 404
    assert models.Proposal.get_by_id(uuid.UUID(pid)).status == "PENDING"


def test_review_end_settles_extraction_status(scanserve_client, api_key, reviewed):
    sid = reviewed["session"]["id"]
    ids = [p["id"] for p in reviewed["proposals"].values()]
    review(scanserve_client, api_key.headers, ids[0], "REJECTED")
    review(scanserve_client, api_key.headers, ids[1], "ACCEPTED")
    assert status(scanserve_client, api_key.headers, sid)["extraction_status"] == "ready"
    review(scanserve_client, api_key.headers, ids[2], "REJECTED")
    assert status(scanserve_client, api_key.headers, sid)["extraction_status"] == "accepted"


def test_all_rejected_settles_rejected(scanserve_client, api_key, reviewed):
    sid = reviewed["session"]["id"]
    for proposal in reviewed["proposals"].values():
        assert (
            review(scanserve_client, api_key.headers, proposal["id"], "REJECTED").status_code
            == 200
        )
    assert status(scanserve_client, api_key.headers, sid)["extraction_status"] == "rejected"


def test_apply_writes_accepted_values_once_for_this_organisation_only(
    scanserve_client, api_key, reviewed
):
    cap = reviewed["capture"]["id"]
    by_field = reviewed["proposals"]
    review(scanserve_client, api_key.headers, by_field["name"]["id"], "ACCEPTED")
    review(scanserve_client, api_key.headers, by_field["ai_summary"]["id"], "ACCEPTED")
    review(scanserve_client, api_key.headers, by_field["ingredients"]["id"], "REJECTED")

    first = apply(scanserve_client, api_key.headers, cap)
    assert first.status_code == 200, first.text
    body = first.json()
    product = models.Product.get(models.Product.gtin == GTIN14)
    assert body["product_short_id"] == product.short_id
    assert [(p["field_name"], p["status"]) for p in body["applied"]] == [
        ("name", "ACCEPTED"),
        ("ai_summary", "ACCEPTED"),
    ]
    # This organisation now sees its name for the product...
    shown = scanserve_client.get(f"{BASE}/captures/{cap}", headers=api_key.headers).json()
    assert shown["product_name"] == "Highlighter Yellow (pack of 4)"
    detail = scanserve_client.get(
        f"{BASE}/sessions/{reviewed['session']['id']}", headers=api_key.headers
    ).json()
    assert detail["captures"][0]["product_name"] == "Highlighter Yellow (pack of 4)"
    # ...the shared catalog row is unchanged...
    product = models.Product.get_by_id(product.id)
    assert (product.name, product.ingredients) == ("Highlighter Yellow", "")
    overrides = {
        o.field: o.value
        for o in models.ProductOverride.select().where(
            models.ProductOverride.organization == api_key.org_id
        )
    }
    assert overrides == {
        "name": "Highlighter Yellow (pack of 4)",
        "ai_summary": "A yellow highlighter.",
    }
    # ...and another organisation scanning the same product sees the catalog.
    other = issue_key("Other Org")
    theirs = capture(
        scanserve_client, other.headers, open_session(scanserve_client, other.headers)["id"]
    )
    assert theirs["product_name"] == "Highlighter Yellow"

    # Applying again applies nothing new.
    second = apply(scanserve_client, api_key.headers, cap)
    assert second.status_code == 200
    assert second.json() == {"product_short_id": product.short_id, "applied": []}


def test_later_proposals_start_from_the_organisations_values(
    scanserve_app, scanserve_client, api_key, reviewed
):
    by_field = reviewed["proposals"]
    review(scanserve_client, api_key.headers, by_field["name"]["id"], "ACCEPTED")
    apply(scanserve_client, api_key.headers, reviewed["capture"]["id"])
    session = open_session(scanserve_client, api_key.headers)
    cap = capture(scanserve_client, api_key.headers, session["id"])
    assert cap["product_name"] == "Highlighter Yellow (pack of 4)"
    add_photo(scanserve_app.services, session["id"], text_image(["front"]), "front")
    submit(scanserve_client, api_key.headers, session["id"])
    current = {
        p["field_name"]: p["current_value"]
        for p in proposals(scanserve_client, api_key.headers, cap["id"])
    }
    assert current["name"] == "Highlighter Yellow (pack of 4)"


def test_apply_without_a_product_is_400(scanserve_client, api_key):
    session = open_session(scanserve_client, api_key.headers)
    cap = capture(scanserve_client, api_key.headers, session["id"], raw="5000112637922")
    assert cap["status"] == "NOT_FOUND"
    response = apply(scanserve_client, api_key.headers, cap["id"])
    assert response.status_code == 400
    assert response.json()["error_code"] == "bad_request"
    assert proposals(scanserve_client, api_key.headers, cap["id"]) == []


def test_apply_with_nothing_accepted_is_empty(scanserve_client, api_key, reviewed):
    cap = reviewed["capture"]["id"]
    response = apply(scanserve_client, api_key.headers, cap)
    assert response.status_code == 200
    assert response.json()["applied"] == []
    assert models.ProductOverride.select().count() == 0


def test_catalog_show_gives_the_organisations_view(
    scanserve_settings, scanserve_client, api_key, reviewed, monkeypatch
):
    from click.testing import CliRunner

    from scanserve.cli import main as cli_main

    for field in ("ingredients", "ai_summary"):
        review(scanserve_client, api_key.headers, reviewed["proposals"][field]["id"], "ACCEPTED")
    apply(scanserve_client, api_key.headers, reviewed["capture"]["id"])
    monkeypatch.setenv("SCANSERVE_DATA_DIR", str(scanserve_settings.data_dir))
    runner = CliRunner()
    mine = runner.invoke(
        cli_main, ["catalog", "show", "4006381333931", "--org", api_key.org_short_id]
    )
    assert mine.exit_code == 0, mine.output
    lines = mine.output.splitlines()
    assert "ingredients: Water, pigment." in lines
    assert "name: Highlighter Yellow" in lines  # the name proposal was not accepted
    assert "ai_summary: A yellow highlighter." in lines
    assert "organisation's own values: ai_summary, ingredients" in lines
    shared = runner.invoke(cli_main, ["catalog", "show", "4006381333931"])
    assert shared.exit_code == 0, shared.output
    assert "ingredients: " in shared.output.splitlines()
    assert "ai_summary" not in shared.output
    assert models.ProductOverride.select().count() == 2
    removed = runner.invoke(cli_main, ["catalog", "remove", "4006381333931"])
    assert removed.exit_code == 0, removed.output
    assert models.ProductOverride.select().count() == 0  # the organisation's values went too


@pytest.mark.parametrize(
    ("target", "body", "expected"),
    [
        ("not-a-uuid", {"status": "ACCEPTED"}, (404, 422)),
        ("00000000-0000-0000-0000-000000000000", {"status": "ACCEPTED"}, (404,)),
        ("{pid}", {}, (422,)),
        ("{pid}", {"status": "MAYBE"}, (422,)),
        ("{pid}", {"status": "ACCEPTED", "metadata": {"k": 5}}, (422,)),
    ],
)
def test_bad_reviews_get_problem_documents(
    scanserve_client, api_key, reviewed, target, body, expected
):
    pid = reviewed["proposals"]["name"]["id"]
    response = review_raw(scanserve_client, api_key.headers, target.format(pid=pid), body)
    assert response.status_code in expected, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert models.Proposal.get_by_id(uuid.UUID(pid)).status == "PENDING"


def review_raw(client: Any, headers: dict[str, str], proposal_id: str, body: dict[str, Any]):
    return client.patch(f"{BASE}/proposals/{proposal_id}", json=body, headers=headers)
