"""Credentials: API keys (shape, checksum, hash at rest, revocation, expiry), bearer tokens
and browser session cookies, all through the real app and SQLite file."""

from __future__ import annotations

import zlib
from datetime import timedelta

import pytest

from scanserve.identity import keys, tokens
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.testing import issue_key

BASE = "/scanner/api/v1"


def test_generated_key_shape_and_checksum():
    raw = keys.generate_key("cpk")
    prefix, body, check = raw.split("_")
    assert prefix == "cpk" and len(body) == 32 and body.isalnum() and body.isascii()
    assert check == f"{zlib.crc32(body.encode()) & 0xFFFFFFFF:08x}"
    assert keys.parse_key(raw) is not None
    assert keys.parse_key(raw[:-1] + ("0" if raw[-1] != "0" else "1")) is None
    assert keys.parse_key(raw.upper()) is None
    with pytest.raises(ValueError):
        keys.generate_key("xyz")  # type: ignore[arg-type]


def test_only_a_hash_is_stored(scanserve_app, api_key):
    row = models.ApiKey.get(models.ApiKey.short_id == api_key.key_id)
    assert row.key_hash == keys.hash_secret(api_key.key)
    assert api_key.key not in (row.key_hash, row.hint)
    assert row.hint == api_key.key[:10]


def assert_401(response):
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["error_code"] == "unauthorized" and body["status"] == 401
    assert "ratelimit-limit" in response.headers


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "nonsense"},
        {"X-API-Key": "csb_" + "a" * 32 + "_00000000"},  # checksum wrong
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer unknown-token"},
        {"Cookie": "sessionid=unknown"},
    ],
)
def test_bad_or_missing_credentials_get_401(scanserve_client, headers):
    assert_401(scanserve_client.get(f"{BASE}/sessions", headers=headers))


def test_malformed_key_is_refused_without_a_database_lookup(scanserve_client, scanserve_app):
    db = scanserve_app.services.db
    executed = []
    original = db.execute_sql
    db.execute_sql = lambda sql, *a, **k: (executed.append(sql), original(sql, *a, **k))[1]
    try:
        bad = "csb_" + "b" * 32 + "_deadbeef"
        assert_401(scanserve_client.get(f"{BASE}/sessions", headers={"X-API-Key": bad}))
    finally:
        db.execute_sql = original
    assert not [sql for sql in executed if "api_key" in sql]


def test_unknown_well_formed_key_is_401(scanserve_client, scanserve_app):
    assert_401(
        scanserve_client.get(f"{BASE}/sessions", headers={"X-API-Key": keys.generate_key("csb")})
    )


def test_revoked_and_expired_keys_are_401(scanserve_client, api_key):
    assert scanserve_client.get(f"{BASE}/sessions", headers=api_key.headers).status_code == 200
    models.ApiKey.update(is_active=False).where(models.ApiKey.short_id == api_key.key_id).execute()
    response = scanserve_client.get(f"{BASE}/sessions", headers=api_key.headers)
    assert_401(response)
    assert "revoked" in response.json()["detail"]
    expired = issue_key("Expired Org", expires_at=utcnow() - timedelta(seconds=1))
    response = scanserve_client.get(f"{BASE}/sessions", headers=expired.headers)
    assert_401(response)
    assert "expired" in response.json()["detail"]
    future = issue_key("Future Org", expires_at=utcnow() + timedelta(days=1))
    assert scanserve_client.get(f"{BASE}/sessions", headers=future.headers).status_code == 200


def test_last_used_is_recorded(scanserve_client, api_key):
    assert models.ApiKey.get(models.ApiKey.short_id == api_key.key_id).last_used is None
    scanserve_client.get(f"{BASE}/sessions", headers=api_key.headers)
    assert models.ApiKey.get(models.ApiKey.short_id == api_key.key_id).last_used is not None


def _user_with(org_ids, *, cookie=None, token=None):
    user = models.User.create(email=f"user{models.User.select().count()}@example.com")
    for org_id in org_ids:
        models.Membership.create(user=user, organization=org_id)
    if cookie:
        models.WebSession.create(
            session_hash=keys.hash_secret(cookie),
            csrf_hash=keys.hash_secret("csrf-" + cookie),
            user=user,
            expires_at=utcnow() + timedelta(hours=1),
        )
    if token:
        models.AccessToken.create(token_hash=keys.hash_secret(token), user=user)
    return user


TOKEN = tokens.generate_token()


@pytest.mark.parametrize("via", ["cookie", "bearer"])
def test_user_credentials_need_an_organisation_to_create(scanserve_client, api_key, via):
    other = issue_key("Not a member")
    _user_with([api_key.org_id], cookie="c-secret", token=TOKEN)
    headers = (
        {"Cookie": "sessionid=c-secret", "X-CSRF-Token": "csrf-c-secret"}
        if via == "cookie"
        else {"Authorization": f"Bearer {TOKEN}"}
    )
    missing = scanserve_client.post(f"{BASE}/sessions", json={}, headers=headers)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["pointer"] == "/organization_short_id"
    not_member = scanserve_client.post(
        f"{BASE}/sessions", json={"organization_short_id": other.org_short_id}, headers=headers
    )
    assert not_member.status_code == 404
    created = scanserve_client.post(
        f"{BASE}/sessions", json={"organization_short_id": api_key.org_short_id}, headers=headers
    )
    assert created.status_code == 201
    # the key of that organisation sees the session the user made
    seen = scanserve_client.get(f"{BASE}/sessions/{created.json()['id']}", headers=api_key.headers)
    assert seen.status_code == 200


def test_expired_cookie_is_401(scanserve_client, api_key):
    user = _user_with([api_key.org_id])
    models.WebSession.create(
        session_hash=keys.hash_secret("old"), user=user, expires_at=utcnow() - timedelta(seconds=1)
    )
    assert_401(scanserve_client.get(f"{BASE}/sessions", headers={"Cookie": "sessionid=old"}))


def test_freshness_is_public_and_ignores_a_bad_key(scanserve_client):
    anonymous = scanserve_client.get(f"{BASE}/freshness-thresholds?gtin=4006381333931")
    assert anonymous.status_code == 200
    bad_key = scanserve_client.get(
        f"{BASE}/freshness-thresholds?gtin=4006381333931", headers={"X-API-Key": "bad"}
    )
    assert bad_key.status_code == 200 and bad_key.json() == anonymous.json()
