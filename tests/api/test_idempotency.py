"""Idempotency-Key on every POST: replays, mismatches, scoping, expiry, a request still in
flight, and the records surviving a restart (a second app on the same SQLite file) and on
PostgreSQL."""

from __future__ import annotations

import os
import threading
import uuid
from datetime import timedelta

import cli_fork
import pytest
import yaml
from resolvers import BlockingResolver

from scanserve.app import create_app, spec_path
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.testing import issue_key

BASE = "/scanner/api/v1"


def _session(client, headers):
    return client.post(f"{BASE}/sessions", json={}, headers=headers).json()["id"]


def _capture_body(session_id, raw_value="4006381333931"):
    return {"session_id": session_id, "capture_type": "BARCODE", "raw_value": raw_value}


def test_every_post_declares_the_header():
    spec = yaml.load(spec_path().read_text(), Loader=yaml.CSafeLoader)
    param = spec["components"]["parameters"]["IdempotencyKey"]
    assert (param["name"], param["in"], param["required"]) == ("Idempotency-Key", "header", False)
    posts = [
        op
        for item in spec["paths"].values()
        for method, op in item.items()
        # the storage upload target takes no credential: no organisation to keep keys for
        if method == "post" and op.get("security") != [{}]
    ]
    assert len(posts) >= 11
    for op in posts:
        refs = [p.get("$ref") for p in op.get("parameters", [])]
        assert "#/components/parameters/IdempotencyKey" in refs, op["operationId"]
        assert {"409", "422"} <= set(op["responses"]), op["operationId"]
        success = next(r for code, r in op["responses"].items() if code.startswith("2"))
        # sign-in's answer sets a cookie: never kept, never replayed
        replayable = "Set-Cookie" not in success["headers"]
        assert ("Idempotent-Replayed" in success["headers"]) is replayable, op["operationId"]


def test_same_key_same_body_replays_the_first_answer(scanserve_client, api_key):
    headers = {**api_key.headers, "Idempotency-Key": "create-capture-1"}
    session_id = _session(scanserve_client, api_key.headers)
    first = scanserve_client.post(
        f"{BASE}/captures", json=_capture_body(session_id), headers=headers
    )
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    # The same body, serialised differently (key order, spacing), is the same request.
    again = scanserve_client.post(
        f"{BASE}/captures",
        content=b'{"raw_value": "4006381333931",  "capture_type": "BARCODE", "session_id": "'
        + session_id.encode()
        + b'"}',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == first.headers["content-type"]
    assert "ratelimit-remaining" in again.headers  # the gateway's headers, fresh
    assert models.Capture.select().count() == 1  # nothing ran twice

    # Sessions too, and the key is per request: another key makes another session.
    made = [
        scanserve_client.post(
            f"{BASE}/sessions", json={}, headers={**api_key.headers, "Idempotency-Key": k}
        ).json()["id"]
        for k in ("s-1", "s-1", "s-2")
    ]
    assert made[0] == made[1] != made[2]


def test_same_key_other_body_or_operation_is_422(scanserve_client, api_key):
    headers = {**api_key.headers, "Idempotency-Key": "k-1"}
    session_id = _session(scanserve_client, api_key.headers)
    assert (
        scanserve_client.post(
            f"{BASE}/captures", json=_capture_body(session_id), headers=headers
        ).status_code
        == 201
    )
    for path, body in (
        (f"{BASE}/captures", _capture_body(session_id, "5000112637922")),
        (f"{BASE}/sessions", {}),
    ):
        other = scanserve_client.post(path, json=body, headers=headers)
        assert other.status_code == 422, other.text
        problem = other.json()
        assert problem["error_code"] == "validation_error" and problem["retryable"] is False
        assert [e["pointer"] for e in problem["errors"]] == ["header/Idempotency-Key"]
    assert models.Capture.select().count() == 1
    assert models.ScanSession.select().count() == 1


def test_error_answers_are_replayed_too(scanserve_client, api_key):
    session_id = _session(scanserve_client, api_key.headers)
    scanserve_client.post(f"{BASE}/sessions/{session_id}/end", headers=api_key.headers)
    headers = {**api_key.headers, "Idempotency-Key": "late"}
    first = scanserve_client.post(
        f"{BASE}/captures", json=_capture_body(session_id), headers=headers
    )
    assert first.status_code == 409
    again = scanserve_client.post(
        f"{BASE}/captures", json=_capture_body(session_id), headers=headers
    )
    assert again.status_code == 409 and again.json() == first.json()
    assert again.headers["content-type"] == "application/problem+json"


def test_keys_are_per_organisation(scanserve_client, api_key):
    other = issue_key("Other Org")
    same_org_key = issue_key(org_short_id=api_key.org_short_id)
    ids = {}
    for name, headers in (
        ("mine", api_key.headers),
        ("other", other.headers),
        ("mine, another key", same_org_key.headers),
    ):
        response = scanserve_client.post(
            f"{BASE}/sessions", json={}, headers={**headers, "Idempotency-Key": "shared"}
        )
        assert response.status_code == 201
        ids[name] = response.json()["id"]
    assert ids["mine"] != ids["other"]  # another organisation's key space
    assert ids["mine"] == ids["mine, another key"]  # every key of one organisation shares it


def test_keys_expire_after_the_ttl(scanserve_client, api_key):
    headers = {**api_key.headers, "Idempotency-Key": "old"}
    first = scanserve_client.post(f"{BASE}/sessions", json={}, headers=headers).json()["id"]
    models.IdempotencyRecord.update(created=utcnow() - timedelta(hours=24, seconds=1)).execute()
    second = scanserve_client.post(f"{BASE}/sessions", json={}, headers=headers)
    assert second.status_code == 201 and "idempotent-replayed" not in second.headers
    assert second.json()["id"] != first
    assert models.IdempotencyRecord.select().count() == 1


@pytest.mark.parametrize("key", ["", " leading", "trailing ", "x" * 256, "tab\there"])
def test_malformed_keys_are_422(scanserve_client, api_key, key):
    response = scanserve_client.post(
        f"{BASE}/sessions", json={}, headers={**api_key.headers, "Idempotency-Key": key}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "header/Idempotency-Key"
    assert models.ScanSession.select().count() == 0


def test_two_keys_on_one_request_are_422(scanserve_app, scanserve_client, api_key):
    """Which of two keys a client meant is anyone's guess: neither is used."""
    response = scanserve_client.post(
        f"{BASE}/sessions",
        json={},
        headers=[*api_key.headers.items(), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")],
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"pointer": "header/Idempotency-Key", "message": "was sent more than once; send one key"}
    ]
    assert models.ScanSession.select().count() == 0
    assert models.IdempotencyRecord.select().count() == 0


def test_a_repeat_while_the_first_runs_is_409_then_replays(scanserve_plugins, scanserve_app):
    resolver = BlockingResolver()
    scanserve_app.services.plugins.qr_resolvers.insert(0, resolver)
    key = issue_key()
    headers = {**key.headers, "Idempotency-Key": "slow"}
    body = {"url": "https://e.com/a"}
    results = {}
    with scanserve_app.test_client() as client:
        first = threading.Thread(
            target=lambda: results.update(
                first=client.post(f"{BASE}/resolve-url", json=body, headers=headers)
            )
        )
        first.start()
        try:
            assert resolver.entered.wait(30)
            during = client.post(f"{BASE}/resolve-url", json=body, headers=headers)
        finally:
            resolver.release.set()
            first.join(30)
        assert during.status_code == 409
        problem = during.json()
        assert problem["error_code"] == "conflict" and problem["retryable"] is True
        assert results["first"].status_code == 200
        after = client.post(f"{BASE}/resolve-url", json=body, headers=headers)
    assert after.status_code == 200 and after.json() == results["first"].json()
    assert after.headers["idempotent-replayed"] == "true"
    assert resolver.calls == 1


def test_a_request_whose_server_died_runs_again_after_the_lock_time(scanserve_client, api_key):
    headers = {**api_key.headers, "Idempotency-Key": "orphan"}
    probe = {**api_key.headers, "Idempotency-Key": "probe"}  # to learn this key's scope
    assert scanserve_client.post(f"{BASE}/sessions", json={}, headers=probe).status_code == 201
    scope = models.IdempotencyRecord.get(models.IdempotencyRecord.key == "probe").scope
    assert scope.startswith(f"org:{api_key.org_id}/")
    # What a server that died while creating this session left behind.
    models.IdempotencyRecord.create(
        scope=scope, key="orphan", fingerprint=_fingerprint_of_empty_session(), locked_at=utcnow()
    )
    assert scanserve_client.post(f"{BASE}/sessions", json={}, headers=headers).status_code == 409
    # The lease (idempotency_lock_seconds) lapses: nobody renewed it.
    models.IdempotencyRecord.update(locked_at=utcnow() - timedelta(seconds=11)).execute()
    taken_over = scanserve_client.post(f"{BASE}/sessions", json={}, headers=headers)
    assert taken_over.status_code == 201
    replay = scanserve_client.post(f"{BASE}/sessions", json={}, headers=headers)
    assert replay.json() == taken_over.json()


def _fingerprint_of_empty_session():
    from scanserve.http.idempotency import fingerprint

    return fingerprint("POST", f"{BASE}/sessions", "application/json", b"{}")


def _settings(tmp_path, **extra):
    return Settings(
        data_dir=tmp_path / "data",
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
        **extra,
    )


def _replays_across_apps(settings):
    """One app answers; a new app on the same database replays the answer."""
    app = create_app(settings)
    try:
        key = issue_key()
        headers = {**key.headers, "Idempotency-Key": str(uuid.uuid4())}
        with app.test_client() as client:
            session_id = _session(client, key.headers)
            first = client.post(
                f"{BASE}/captures", json=_capture_body(session_id), headers=headers
            )
            assert first.status_code == 201
    finally:
        app.services.db.close()

    restarted = create_app(settings)
    try:
        with restarted.test_client() as client:
            again = client.post(
                f"{BASE}/captures", json=_capture_body(session_id), headers=headers
            )
            assert again.status_code == 201 and again.json() == first.json()
            assert again.headers["idempotent-replayed"] == "true"
            other = client.post(
                f"{BASE}/captures", json=_capture_body(session_id, "96385074"), headers=headers
            )
            assert other.status_code == 422
        assert models.Capture.select().count() == 1
    finally:
        restarted.services.db.close()


def test_answers_survive_a_restart(tmp_path):
    _replays_across_apps(_settings(tmp_path))


@pytest.mark.postgres
def test_answers_survive_a_restart_on_postgres(tmp_path, postgres_url):
    _replays_across_apps(_settings(tmp_path, database_url=postgres_url))


def test_the_hourly_purge_drops_only_expired_records(scanserve_app):
    from scanserve.http.idempotency import purge

    old = models.IdempotencyRecord.create(scope="org:1", key="old", fingerprint="f", status=201)
    models.IdempotencyRecord.create(scope="org:1", key="new", fingerprint="f", status=201)
    models.IdempotencyRecord.update(created=utcnow() - timedelta(hours=25)).where(
        models.IdempotencyRecord.id == old.id
    ).execute()
    assert purge(24 * 3600) == 1
    assert [r.key for r in models.IdempotencyRecord.select()] == ["new"]


@pytest.mark.slow
def test_answers_survive_a_crash_of_a_real_server(tmp_path):
    """`scanserve serve` in a subprocess answers a keyed POST, is killed (SIGKILL, no clean
    shutdown), and a new server on the same data directory replays the answer."""
    import subprocess

    import httpx
    from cli_fork import COMMAND, run_command
    from loopback import served_port

    from scanserve.testing import wait_for

    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANSERVE_")}
    env.update(
        SCANSERVE_DATA_DIR=str(tmp_path / "data"),
        SCANSERVE_LOAD_ENTRYPOINT_PLUGINS="false",
        SCANSERVE_QUEUE="immediate",
    )

    def run(*args):
        return run_command(args, env, check=True).stdout.strip()

    run("db", "upgrade")  # only `db upgrade` and `serve` create a database
    run("orgs", "create", "Crash Shop")
    key = run("keys", "create", "--org", "Crash Shop")
    headers = {"X-API-Key": key, "Idempotency-Key": "crash-1"}

    def serve_once(action):
        out = tmp_path / "serve.out"
        with out.open("wb") as out_file:
            proc = cli_fork.Popen(
                [*COMMAND, "serve", "--port", "0"],
                env=env,
                stdout=out_file,
                stderr=subprocess.DEVNULL,
            )
        try:
            port = served_port(proc, out)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}{BASE}", timeout=10) as http:

                def listening():
                    try:
                        http.get("/sessions", headers={"X-API-Key": key})
                    except httpx.TransportError:
                        return False
                    return True

                wait_for(listening, 30, f"`scanserve serve` on port {port}", interval=0.1)
                return action(http)
        finally:
            proc.kill()  # a crash: no shutdown handler runs
            proc.wait(timeout=10)

    def first(http):
        session_id = http.post("/sessions", json={}, headers={"X-API-Key": key}).json()["id"]
        body = _capture_body(session_id)
        answer = http.post("/captures", json=body, headers=headers)
        assert answer.status_code == 201, answer.text
        return body, answer.json()

    body, answer = serve_once(first)

    def again(http):
        replay = http.post("/captures", json=body, headers=headers)
        assert replay.status_code == 201 and replay.json() == answer
        assert replay.headers["idempotent-replayed"] == "true"
        detail = http.get(f"/sessions/{body['session_id']}", headers={"X-API-Key": key})
        assert detail.json()["capture_count"] == 1

    serve_once(again)


def test_the_answer_is_kept_before_its_last_byte_goes_out(scanserve_app):
    """A client that has the whole answer can count on the replay, even if the server dies
    the moment after sending it."""
    import anyio

    from scanserve.http.gateway import PRINCIPAL_KEY
    from scanserve.http.idempotency import IdempotencyMiddleware
    from scanserve.identity.auth import Principal

    async def handler(scope, receive, send):
        await receive()
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b'{"a":', "more_body": True})
        await send({"type": "http.response.body", "body": b"1}"})

    seen = []

    async def client(message):
        if message["type"] == "http.response.body":
            row = models.IdempotencyRecord.get()
            seen.append((message.get("more_body", False), row.status, bytes(row.body or b"")))

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    principal = Principal("api_key", frozenset({1}), 1, "key:x", 10, 10)
    scope = {
        "type": "http",
        "method": "POST",
        "path": f"{BASE}/sessions",
        "headers": [(b"idempotency-key", b"k"), (b"content-type", b"application/json")],
        PRINCIPAL_KEY: principal,
    }
    middleware = IdempotencyMiddleware(handler, scanserve_app.services)
    anyio.run(middleware, scope, receive, client)
    assert seen == [(True, 0, b""), (False, 201, b'{"a":1}')]


def test_an_answer_that_sets_a_cookie_is_never_kept(scanserve_client, api_key):
    """Signing in answers a session secret the server must not store: with a key, each
    repeat signs in again."""
    headers = {**api_key.headers, "Idempotency-Key": "sign-in"}
    first = scanserve_client.post(f"{BASE}/auth/session", headers=headers)
    second = scanserve_client.post(f"{BASE}/auth/session", headers=headers)
    assert first.status_code == second.status_code == 201
    assert "idempotent-replayed" not in second.headers
    assert "set-cookie" in first.headers and "set-cookie" in second.headers
    assert first.json()["csrf_token"] != second.json()["csrf_token"]
    assert models.IdempotencyRecord.select().count() == 0
