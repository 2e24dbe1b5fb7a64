"""An idempotent replay is served only to a caller who may make the request now (issue 15):
the same organisations and scopes as the first request's caller. Anyone else's request is
answered as it would be without the key. Real credentials, made with the real command line
(the fixtures of ``token_fixtures``)."""

from __future__ import annotations

from cli_runner import run
from token_fixtures import bearer, client, data_dir, people, people_template  # noqa: F401  (fixtures)

from scanserve.storage import models

BASE = "/scanner/api/v1"


def _token(data_dir, *options):  # noqa: F811
    return run(data_dir, "tokens", "create", "--user", "ana@example.com", *options).stdout.strip()


def test_a_read_only_token_of_another_organisation_gets_no_replay(
    data_dir,  # noqa: F811
    people,  # noqa: F811
    client,  # noqa: F811
):
    writer = _token(data_dir)  # every organisation Ana is in, every scope
    reader = _token(data_dir, "--org", "Depot", "--scope", "scanner:read")
    body = {"organization_short_id": people["shop"]}
    keyed = {"Idempotency-Key": "shop-session-1"}
    first = client.post(f"{BASE}/sessions", json=body, headers={**bearer(writer), **keyed})
    assert first.status_code == 201
    # the caller of the first request gets its replay
    again = client.post(f"{BASE}/sessions", json=body, headers={**bearer(writer), **keyed})
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()

    without_key = client.post(f"{BASE}/sessions", json=body, headers=bearer(reader))
    assert without_key.status_code == 403
    replayed = client.post(f"{BASE}/sessions", json=body, headers={**bearer(reader), **keyed})
    assert replayed.status_code == 403, replayed.text
    assert "idempotent-replayed" not in replayed.headers
    assert first.json()["id"] not in replayed.text
    assert replayed.json()["error_code"] == without_key.json()["error_code"] == "forbidden"
    assert models.ScanSession.select().count() == 1


def test_no_replay_after_the_member_is_removed(data_dir, people, client):  # noqa: F811
    writer = _token(data_dir)
    session = client.post(
        f"{BASE}/sessions",
        json={"organization_short_id": people["depot"]},
        headers=bearer(writer),
    ).json()["id"]
    body = {"session_id": session, "capture_type": "BARCODE", "raw_value": "4006381333931"}
    keyed = {**bearer(writer), "Idempotency-Key": "depot-capture-1"}
    first = client.post(f"{BASE}/captures", json=body, headers=keyed)
    assert first.status_code == 201
    capture = first.json()["id"]

    run(data_dir, "members", "remove", "--org", "Depot", "ana@example.com")
    assert client.get(f"{BASE}/captures/{capture}", headers=bearer(writer)).status_code == 404
    without_key = client.post(f"{BASE}/captures", json=body, headers=bearer(writer))
    replayed = client.post(f"{BASE}/captures", json=body, headers=keyed)
    assert replayed.status_code == without_key.status_code == 404, replayed.text
    assert "idempotent-replayed" not in replayed.headers
    assert capture not in replayed.text
    assert models.Capture.select().count() == 1

    # back in the organisation, with the same rights: the first answer is replayed
    run(data_dir, "members", "add", "--org", "Depot", "ana@example.com")
    back = client.post(f"{BASE}/captures", json=body, headers=keyed)
    assert back.status_code == 201 and back.headers["idempotent-replayed"] == "true"
    assert back.json()["id"] == capture
    assert models.Capture.select().count() == 1
