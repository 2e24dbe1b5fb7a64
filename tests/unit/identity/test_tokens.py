"""Personal access tokens, users and memberships: made with the real command line on a real
data directory, then used as ``Authorization: Bearer`` against the app on the same database."""

from __future__ import annotations

from cli_runner import run
from token_fixtures import bearer, client, data_dir, people, people_template, token_id  # noqa: F401  (fixtures)

from scanserve.identity import tokens
from scanserve.identity.keys import hash_secret
from scanserve.storage import models

BASE = "/scanner/api/v1"


def test_users_and_members_commands(data_dir, people):  # noqa: F811
    users = run(data_dir, "users", "list").stdout.splitlines()
    assert users[0] == "USER_ID\tEMAIL\tORGANISATIONS"
    (ana,) = users[1:]
    assert ana.split("\t")[1] == "ana@example.com"
    assert set(ana.split("\t")[2].split(",")) == {people["shop"], people["depot"]}
    assert run(data_dir, "users", "create", "ana@example.com", check=False).returncode != 0
    assert run(data_dir, "users", "create", "not-an-address", check=False).returncode != 0
    again = run(data_dir, "members", "add", "--org", "Shop", "ana@example.com").stdout
    assert "already" in again
    members = run(data_dir, "members", "list", "--org", "Shop").stdout.splitlines()
    assert [m.split("\t")[1] for m in members[1:]] == ["ana@example.com"]
    assert (
        run(data_dir, "members", "add", "--org", "Shop", "bob@example.com", check=False).returncode
        != 0
    )
    run(data_dir, "members", "remove", "--org", "Shop", "ana@example.com")
    assert run(data_dir, "members", "list", "--org", "Shop").stdout.splitlines()[1:] == []
    assert (
        run(
            data_dir, "members", "remove", "--org", "Shop", "ana@example.com", check=False
        ).returncode
        != 0
    )


def test_token_is_printed_once_and_stored_as_a_hash(data_dir, people, client):  # noqa: F811
    out = run(data_dir, "tokens", "create", "--user", "ana@example.com", "--name", "laptop").stdout
    token = out.strip()
    assert out == token + "\n"
    assert tokens.is_well_formed(token) and token.startswith("cst_")
    row = models.AccessToken.get(models.AccessToken.token_hash == hash_secret(token))
    assert token not in (row.token_hash, row.hint, row.name)
    listing = run(data_dir, "tokens", "list", "--user", "ana@example.com").stdout.splitlines()
    assert listing[0].split("\t") == [
        "TOKEN_ID",
        "HINT",
        "ORG",
        "SCOPES",
        "STATUS",
        "EXPIRES",
        "LAST_USED",
        "NAME",
    ]
    fields = listing[1].split("\t")
    assert fields[2:5] == ["*", "scanner:read,scanner:write", "active"]
    assert fields[5] != "never"  # tokens expire by default (90 days)
    assert fields[6] == "-" and fields[7] == "laptop"
    # used once: last_used is recorded
    assert client.get(f"{BASE}/sessions", headers=bearer(token)).status_code == 200
    assert (
        run(data_dir, "tokens", "list", "--user", "ana@example.com")
        .stdout.splitlines()[1]
        .split("\t")[6]
        != "-"
    )


def test_a_token_acts_for_the_users_organisations(data_dir, people, client):  # noqa: F811
    token = run(data_dir, "tokens", "create", "--user", "ana@example.com").stdout.strip()
    # two organisations: a new session needs one named
    assert client.post(f"{BASE}/sessions", json={}, headers=bearer(token)).status_code == 422
    for org in (people["shop"], people["depot"]):
        made = client.post(
            f"{BASE}/sessions", json={"organization_short_id": org}, headers=bearer(token)
        )
        assert made.status_code == 201
    assert (
        client.get(f"{BASE}/sessions", headers=bearer(token)).json()["pagination"]["total_count"]
        == 2
    )
    # leaving an organisation takes its objects out of sight at once
    run(data_dir, "members", "remove", "--org", "Depot", "ana@example.com")
    assert (
        client.get(f"{BASE}/sessions", headers=bearer(token)).json()["pagination"]["total_count"]
        == 1
    )


def test_a_token_limited_to_one_organisation(data_dir, people, client):  # noqa: F811
    token = run(
        data_dir, "tokens", "create", "--user", "ana@example.com", "--org", "Shop"
    ).stdout.strip()
    made = client.post(
        f"{BASE}/sessions", json={}, headers=bearer(token)
    )  # the org is the token's
    assert made.status_code == 201
    assert made.json()["id"]
    # a non-member cannot get a token limited to an organisation
    run(data_dir, "orgs", "create", "Elsewhere")
    refused = run(
        data_dir,
        "tokens",
        "create",
        "--user",
        "ana@example.com",
        "--org",
        "Elsewhere",
        check=False,
    )
    assert refused.returncode != 0 and "not a member" in refused.stderr
    # when the user leaves the organisation the token stops working
    run(data_dir, "members", "remove", "--org", "Shop", "ana@example.com")
    response = client.get(f"{BASE}/sessions", headers=bearer(token))
    assert response.status_code == 401
    assert "no longer a member" in response.json()["detail"]


def test_scopes_are_checked_per_operation(data_dir, people, client):  # noqa: F811
    read = run(
        data_dir,
        "tokens",
        "create",
        "--user",
        "ana@example.com",
        "--org",
        "Shop",
        "--scope",
        "scanner:read",
    ).stdout.strip()
    assert client.get(f"{BASE}/sessions", headers=bearer(read)).status_code == 200
    refused = client.post(f"{BASE}/sessions", json={}, headers=bearer(read))
    assert refused.status_code == 403
    assert refused.json()["error_code"] == "forbidden"
    assert "scanner:write" in refused.json()["detail"]
    write = run(
        data_dir,
        "tokens",
        "create",
        "--user",
        "ana@example.com",
        "--org",
        "Shop",
        "--scope",
        "scanner:write",
    ).stdout.strip()
    session = client.post(f"{BASE}/sessions", json={}, headers=bearer(write)).json()["id"]
    assert client.get(f"{BASE}/sessions/{session}", headers=bearer(write)).status_code == 403
    assert client.get(f"{BASE}/sessions/{session}", headers=bearer(read)).status_code == 200
    # presigned upload URLs let their holder upload: scanner:write
    presign = f"{BASE}/sessions/{session}/presigned-upload-url"
    assert client.get(presign, headers=bearer(read)).status_code == 403


def test_revoked_expired_and_malformed_tokens_are_401(data_dir, people, client):  # noqa: F811
    token = run(data_dir, "tokens", "create", "--user", "ana@example.com").stdout.strip()
    assert client.get(f"{BASE}/sessions", headers=bearer(token)).status_code == 200
    run(data_dir, "tokens", "revoke", token_id(data_dir, token))
    response = client.get(f"{BASE}/sessions", headers=bearer(token))
    assert response.status_code == 401 and "revoked" in response.json()["detail"]
    assert "\trevoked\t" in run(data_dir, "tokens", "list", "--user", "ana@example.com").stdout
    assert run(data_dir, "tokens", "revoke", "nosuchtokennosuchtoken", check=False).returncode != 0

    past = run(
        data_dir,
        "tokens",
        "create",
        "--user",
        "ana@example.com",
        "--expires",
        "2020-01-01",
        check=False,
    )
    assert past.returncode != 0 and "past" in past.stderr
    short = run(
        data_dir, "tokens", "create", "--user", "ana@example.com", "--expires", "1m"
    ).stdout.strip()
    models.AccessToken.update(expires_at=models.AccessToken.created).where(
        models.AccessToken.token_hash == hash_secret(short)
    ).execute()
    response = client.get(f"{BASE}/sessions", headers=bearer(short))
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    assert "\texpired\t" in run(data_dir, "tokens", "list", "--user", "ana@example.com").stdout
    never = run(
        data_dir, "tokens", "create", "--user", "ana@example.com", "--expires", "never"
    ).stdout.strip()
    assert client.get(f"{BASE}/sessions", headers=bearer(never)).status_code == 200

    body = token.split("_")[1]
    wrong_checksum = (
        f"cst_{body}_00000000" if not token.endswith("00000000") else f"cst_{body}_11111111"
    )
    for bad in (wrong_checksum, "cst_short", tokens.generate_token()):
        assert client.get(f"{BASE}/sessions", headers=bearer(bad)).status_code == 401


def test_malformed_token_is_refused_without_a_database_lookup(scanserve_client, scanserve_app):
    db = scanserve_app.services.db
    executed: list[str] = []
    original = db.execute_sql
    db.execute_sql = lambda sql, *a, **k: (executed.append(sql), original(sql, *a, **k))[1]
    try:
        bad = "cst_" + "b" * 32 + "_deadbeef"
        assert scanserve_client.get(f"{BASE}/sessions", headers=bearer(bad)).status_code == 401
    finally:
        db.execute_sql = original
    assert not [sql for sql in executed if "access_token" in sql]


def test_revoking_with_the_cli_ends_browser_sessions(data_dir, people, client):  # noqa: F811
    key = run(data_dir, "keys", "create", "--org", "Shop").stdout.strip()
    token = run(data_dir, "tokens", "create", "--user", "ana@example.com").stdout.strip()
    cookies = {}
    for name, headers in (("key", {"X-API-Key": key}), ("token", bearer(token))):
        signed = client.post(f"{BASE}/auth/session", headers=headers)
        assert signed.status_code == 201
        cookies[name] = {"Cookie": signed.headers["set-cookie"].split(";")[0]}
        client.cookies.clear()
        assert client.get(f"{BASE}/sessions", headers=cookies[name]).status_code == 200
    key_id = run(data_dir, "keys", "list", "--org", "Shop").stdout.splitlines()[1].split("\t")[0]
    out = run(data_dir, "keys", "revoke", key_id).stdout
    assert out.strip() == f"revoked {key_id} and ended 1 browser session(s)"
    assert client.get(f"{BASE}/sessions", headers=cookies["key"]).status_code == 401
    assert client.get(f"{BASE}/sessions", headers=cookies["token"]).status_code == 200
    out = run(data_dir, "tokens", "revoke", token_id(data_dir, token)).stdout
    assert "ended 1 browser session(s)" in out
    assert client.get(f"{BASE}/sessions", headers=cookies["token"]).status_code == 401
    assert models.WebSession.select().count() == 0
