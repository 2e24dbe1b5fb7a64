"""OAuth 2.0 resource-server mode: bearer JWTs from an outside issuer.

Every token here is signed in the test with keys generated in the test (RSA and EC), and the
issuer's key set is served by a real HTTP server on loopback (or read from a file), so the
whole path runs: discovery, JWKS fetch and cache, refresh on an unknown key id, PyJWT's
signature and claim checks, the organisation and scope claims, and per-operation scopes.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from loopback import LoopbackServer, Route

from scanserve.app import create_app
from scanserve.settings import Settings
from scanserve.testing import issue_key

BASE = "/scanner/api/v1"
AUDIENCE = "scanserve-test"


class Issuer:
    """An identity provider of our own: keys, a JWKS document and tokens signed with them."""

    def __init__(self, server: LoopbackServer):
        self.server = server
        self.url = server.url("/realms/test").rstrip("/")
        self.keys: dict[str, Any] = {}  # kid -> private key
        self.published: list[str] = []

    def new_rsa(self, kid: str, *, publish: bool = True) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if publish:
            self.publish(kid)

    def new_ec(self, kid: str) -> None:
        self.keys[kid] = ec.generate_private_key(ec.SECP256R1())
        self.publish(kid)

    def publish(self, *kids: str) -> None:
        self.published = [*self.published, *kids]
        self.server.route("/jwks", Route(200, {"Content-Type": "application/json"}, self.jwks()))

    def jwk(self, kid: str) -> dict[str, Any]:
        key = self.keys[kid].public_key()
        algo = RSAAlgorithm if isinstance(key, rsa.RSAPublicKey) else ECAlgorithm
        return {**json.loads(algo.to_jwk(key)), "kid": kid, "use": "sig"}

    def jwks(self) -> bytes:
        return json.dumps({"keys": [self.jwk(k) for k in self.published]}).encode()

    def token(self, kid: str = "rsa-1", alg: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": "user-42",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "scope": "openid scanner:read scanner:write",
            **claims,
        }
        body = {k: v for k, v in body.items() if v is not None}
        key = self.keys[kid]
        alg = alg or ("RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256")
        return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})

    def jwks_fetches(self) -> int:
        return sum(1 for r in self.server.requests if r.path == "/jwks")


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with LoopbackServer() as server:
        idp = Issuer(server)
        server.route(
            "/realms/test/.well-known/openid-configuration",
            Route(
                200,
                {"Content-Type": "application/json"},
                json.dumps({"issuer": idp.url, "jwks_uri": server.url("/jwks")}).encode(),
            ),
        )
        idp.new_rsa("rsa-1")
        idp.new_ec("ec-1")
        yield idp


def _settings(tmp_path: Path, issuer: Issuer, **extra: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
        oidc_issuer=issuer.url,
        oidc_audience=AUDIENCE,
        **extra,
    )


@pytest.fixture
def oidc_app(tmp_path: Path, issuer: Issuer) -> Iterator[Any]:
    app = create_app(_settings(tmp_path, issuer, oidc_jwks_min_refresh_seconds=0))
    yield app
    app.services.db.close()


@pytest.fixture
def client(oidc_app: Any) -> Iterator[Any]:
    with oidc_app.test_client() as c:
        yield c


@pytest.fixture
def org(oidc_app: Any) -> Any:
    return issue_key("IdP Org")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_refused(response: Any, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.json()["detail"], response.json()["detail"]


def test_valid_tokens_act_for_the_claimed_organisation(client, issuer, org):
    for kid in ("rsa-1", "ec-1"):
        token = issuer.token(kid, org=org.org_short_id)
        created = client.post(f"{BASE}/sessions", json={}, headers=bearer(token))
        assert created.status_code == 201, created.text
        # the organisation's key sees what the token made
        seen = client.get(f"{BASE}/sessions/{created.json()['id']}", headers=org.headers)
        assert seen.status_code == 200
        listed = client.get(f"{BASE}/sessions", headers=bearer(token))
        assert listed.status_code == 200
    # discovery once, the key set once: later tokens are checked from the cache
    assert issuer.jwks_fetches() == 1


def test_another_organisations_objects_stay_invisible(client, issuer, org, oidc_app):
    other = issue_key("Other Org")
    theirs = client.post(f"{BASE}/sessions", json={}, headers=other.headers).json()["id"]
    token = issuer.token(org=org.org_short_id)
    assert client.get(f"{BASE}/sessions/{theirs}", headers=bearer(token)).status_code == 404


def test_several_organisations_need_organization_short_id(client, issuer, org):
    second = issue_key("Second Org")
    token = issuer.token(org=[org.org_short_id, second.org_short_id])
    missing = client.post(f"{BASE}/sessions", json={}, headers=bearer(token))
    assert missing.status_code == 422
    made = client.post(
        f"{BASE}/sessions",
        json={"organization_short_id": second.org_short_id},
        headers=bearer(token),
    )
    assert made.status_code == 201
    assert (
        client.get(f"{BASE}/sessions/{made.json()['id']}", headers=second.headers).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"iss": "https://evil.example/realms/test"}, "another issuer"),
        ({"aud": "someone-else"}, "another audience"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
        ({"exp": None}, "'exp'"),
        ({"aud": None}, "'aud'"),
        ({"org": "unknownunknownunknown2"}, "names no organisation"),
        ({"org": None}, "names no organisation"),  # no org claim at all
    ],
)
def test_tokens_with_wrong_claims_are_401(client, issuer, org, claims, words):
    claims = {"org": org.org_short_id, **claims}
    assert_refused(
        client.get(f"{BASE}/sessions", headers=bearer(issuer.token(**claims))), 401, words
    )


def test_leeway_tolerates_small_clock_skew(client, issuer, org):
    # 10 s past exp and 10 s before nbf are within the default 30 s leeway
    now = int(time.time())
    late = issuer.token(org=org.org_short_id, exp=now - 10)
    early = issuer.token(org=org.org_short_id, nbf=now + 10, iat=now + 10)
    assert client.get(f"{BASE}/sessions", headers=bearer(late)).status_code == 200
    assert client.get(f"{BASE}/sessions", headers=bearer(early)).status_code == 200


def test_missing_scope_is_403_per_operation(client, issuer, org):
    read_only = issuer.token(org=org.org_short_id, scope="openid scanner:read")
    assert client.get(f"{BASE}/sessions", headers=bearer(read_only)).status_code == 200
    assert_refused(
        client.post(f"{BASE}/sessions", json={}, headers=bearer(read_only)), 403, "scanner:write"
    )
    write_only = issuer.token(org=org.org_short_id, scope=["scanner:write"])  # a list claim
    assert client.post(f"{BASE}/sessions", json={}, headers=bearer(write_only)).status_code == 201
    assert_refused(client.get(f"{BASE}/sessions", headers=bearer(write_only)), 403, "scanner:read")
    no_scope = issuer.token(org=org.org_short_id, scope=None)
    assert client.get(f"{BASE}/sessions", headers=bearer(no_scope)).status_code == 403
    # freshness stays open to anonymous callers, so a token without scanner:read still gets it
    assert (
        client.get(
            f"{BASE}/freshness-thresholds?gtin=4006381333931", headers=bearer(no_scope)
        ).status_code
        == 200
    )


def test_unknown_kid_refreshes_the_key_set_once(client, issuer, org):
    assert (
        client.get(
            f"{BASE}/sessions", headers=bearer(issuer.token(org=org.org_short_id))
        ).status_code
        == 200
    )
    assert issuer.jwks_fetches() == 1
    # The issuer rotates: a token signed with a key published after our fetch is accepted
    # after one refresh.
    issuer.new_rsa("rsa-2")
    rotated = issuer.token("rsa-2", org=org.org_short_id)
    assert client.get(f"{BASE}/sessions", headers=bearer(rotated)).status_code == 200
    assert issuer.jwks_fetches() == 2
    assert client.get(f"{BASE}/sessions", headers=bearer(rotated)).status_code == 200
    assert issuer.jwks_fetches() == 2
    # A key the issuer never published: refused after a refresh that does not find it.
    issuer.new_rsa("forged", publish=False)
    forged = issuer.token("forged", org=org.org_short_id)
    assert_refused(client.get(f"{BASE}/sessions", headers=bearer(forged)), 401, "does not publish")
    assert issuer.jwks_fetches() == 3


def test_unknown_kids_cannot_make_us_hammer_the_issuer(tmp_path, issuer, org):
    app = create_app(_settings(tmp_path, issuer, oidc_jwks_min_refresh_seconds=3600))
    try:
        issue = issue_key("Hammered Org")
        issuer.new_rsa("forged", publish=False)
        with app.test_client() as c:
            for _ in range(5):
                token = issuer.token("forged", org=issue.org_short_id)
                assert c.get(f"{BASE}/sessions", headers=bearer(token)).status_code == 401
        assert issuer.jwks_fetches() == 1
    finally:
        app.services.db.close()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


def test_algorithm_confusion_is_refused(client, issuer, org):
    good = jwt.decode(issuer.token(org=org.org_short_id), options={"verify_signature": False})
    # alg=none, with and without a kid
    for header in ({"alg": "none", "kid": "rsa-1"}, {"alg": "none"}, {"alg": "None"}):
        assert_refused(
            client.get(f"{BASE}/sessions", headers=bearer(_unsigned(header, good))),
            401,
            "algorithm",
        )
    # HS256 keyed with the issuer's public RSA key (the classic confusion attack)
    public_pem = (
        issuer.keys["rsa-1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = _b64(json.dumps({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(good).encode())
    import hashlib
    import hmac

    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{payload}.{_b64(mac)}"
    assert_refused(client.get(f"{BASE}/sessions", headers=bearer(forged)), 401, "algorithm")
    # An RSA key named in an ES256 header, and an EC key named in an RS256 header
    es_token = issuer.token("ec-1", org=org.org_short_id)
    _, es_payload, es_sig = es_token.split(".")
    relabelled = _b64(json.dumps({"alg": "ES256", "kid": "rsa-1"}).encode())
    assert (
        client.get(
            f"{BASE}/sessions", headers=bearer(f"{relabelled}.{es_payload}.{es_sig}")
        ).status_code
        == 401
    )
    # A valid signature over changed claims
    rs = issuer.token(org=org.org_short_id).split(".")
    tampered = {**good, "sub": "admin"}
    assert (
        client.get(
            f"{BASE}/sessions",
            headers=bearer(f"{rs[0]}.{_b64(json.dumps(tampered).encode())}.{rs[2]}"),
        ).status_code
        == 401
    )


FAR = int(time.time()) + 3600


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        # issue 14: a date past the year 9999 made a 500 (OverflowError) after PyJWT passed it
        ({"exp": 253402300800}, "'exp' claim must be a number"),
        ({"exp": 10**30}, "'exp' claim must be a number"),
        # issue 15: PyJWT reads a string with int(), and took these
        ({"exp": str(FAR)}, "'exp' claim must be a number"),
        ({"nbf": str(FAR - 7200)}, "'nbf' claim must be a number"),
        ({"iat": str(FAR - 7200)}, "'iat' claim must be a number"),
        ({"iat": True}, "'iat' claim must be a number"),
        ({"nbf": -1}, "'nbf' claim must be a number"),
        ({"sub": ""}, "'sub' claim must be a non-empty string"),
        ({"sub": "   "}, "'sub' claim must be a non-empty string"),
        # refused by PyJWT already, and still a 401 problem document
        ({"sub": 42}, "not valid"),
        ({"exp": "soon"}, "not valid"),
        ({"exp": [FAR]}, "not valid"),
        ({"sub": None}, "'sub'"),
    ],
)
def test_tokens_with_claims_of_the_wrong_type_are_401(client, issuer, org, claims, words):
    token = issuer.token(org=org.org_short_id, **claims)
    for operation in (
        lambda: client.get(f"{BASE}/sessions", headers=bearer(token)),
        lambda: client.post(f"{BASE}/auth/session", headers=bearer(token)),
    ):
        response = operation()
        assert_refused(response, 401, words)
        assert response.json()["error_code"] == "unauthorized"
        assert "set-cookie" not in response.headers


def test_claims_of_the_right_types_are_taken(client, issuer, org):
    # floats are numbers too (RFC 7519 NumericDate), and the year 2999 is a date
    token = issuer.token(org=org.org_short_id, exp=32_503_679_999.5, iat=FAR - 3600.25)
    assert client.get(f"{BASE}/sessions", headers=bearer(token)).status_code == 200
    signed_in = client.post(f"{BASE}/auth/session", headers=bearer(token))
    assert signed_in.status_code == 201, signed_in.text


def test_garbage_bearer_values_are_401(client, issuer, org):
    for value in ("a.b.c", "not-a-jwt", "eyJ.eyJ.", "cst_nope"):
        assert client.get(f"{BASE}/sessions", headers=bearer(value)).status_code == 401


def test_jwks_file_for_offline_use(tmp_path, issuer):
    path = tmp_path / "jwks.json"
    path.write_bytes(issuer.jwks())
    settings = Settings(
        data_dir=tmp_path / "offline",
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
        oidc_issuer="https://login.example.com/realms/shop",  # never contacted
        oidc_audience=AUDIENCE,
        oidc_jwks_file=path,
    )
    app = create_app(settings)
    try:
        org = issue_key("Offline Org")
        token = issuer.token(org=org.org_short_id, iss="https://login.example.com/realms/shop")
        with app.test_client() as c:
            assert c.get(f"{BASE}/sessions", headers=bearer(token)).status_code == 200
        assert issuer.server.requests == []
    finally:
        app.services.db.close()


def test_issuer_keys_unavailable_is_401_not_500(tmp_path, issuer):
    issuer.server.route("/jwks", Route(503))
    app = create_app(_settings(tmp_path, issuer))
    try:
        org = issue_key("Unlucky Org")
        with app.test_client() as c:
            for _ in range(3):
                response = c.get(
                    f"{BASE}/sessions", headers=bearer(issuer.token(org=org.org_short_id))
                )
                assert_refused(response, 401, "unavailable")
        # an issuer that is down is asked once per minimum interval, not once per request
        assert issuer.jwks_fetches() == 1
    finally:
        app.services.db.close()


def test_keys_already_held_stay_in_use_when_the_issuer_is_down(client, issuer, org):
    token = issuer.token(org=org.org_short_id)
    assert client.get(f"{BASE}/sessions", headers=bearer(token)).status_code == 200
    issuer.server.route("/jwks", Route(503))
    issuer.new_rsa("rsa-9", publish=False)  # forces a (failing) refresh
    unknown = issuer.token("rsa-9", org=org.org_short_id)
    assert client.get(f"{BASE}/sessions", headers=bearer(unknown)).status_code == 401
    assert issuer.jwks_fetches() == 2
    assert client.get(f"{BASE}/sessions", headers=bearer(token)).status_code == 200


def test_without_an_issuer_jwts_are_refused(scanserve_client, api_key):
    # Resource-server mode is off by default: a JWT is just an unknown bearer token.
    token = jwt.encode(
        {"sub": "x", "org": api_key.org_short_id},
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
    )
    assert scanserve_client.get(f"{BASE}/sessions", headers=bearer(token)).status_code == 401


def test_settings_refuse_symmetric_algorithms_and_a_missing_audience():
    with pytest.raises(ValueError, match="AUDIENCE"):
        Settings(oidc_issuer="https://login.example.com")
    for algs in (["HS256"], ["RS256", "none"]):
        with pytest.raises(ValueError, match="asymmetric"):
            Settings(oidc_algorithms=algs)


def test_a_jwt_signs_a_browser_in_until_the_token_expires(client, issuer, org):
    exp = int(time.time()) + 120
    token = issuer.token(org=org.org_short_id, scope="scanner:read", exp=exp)
    response = client.post(f"{BASE}/auth/session", headers=bearer(token))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["organization_short_ids"] == [org.org_short_id]
    assert body["scopes"] == ["scanner:read"]
    max_age = int(response.headers["set-cookie"].lower().split("max-age=")[1].split(";")[0])
    assert max_age <= 120
    value = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    client.cookies.clear()
    as_cookie = {"Cookie": f"sessionid={value}", "X-CSRF-Token": body["csrf_token"]}
    assert client.get(f"{BASE}/sessions", headers=as_cookie).status_code == 200
    assert (
        client.post(f"{BASE}/sessions", json={}, headers=as_cookie).status_code == 403
    )  # read only
