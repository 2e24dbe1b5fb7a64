"""Idempotency across failures (issue 14): a running request's lease is renewed while it
runs; a server that dies after creating the object but before keeping the answer leaves the
answer with the object, and a retry after the lease replays it (one object, never two)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from resolvers import BlockingResolver

from scanserve.http import idempotency
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.testing import issue_key

BASE = "/scanner/api/v1"


@pytest.mark.scanserve_settings(idempotency_lock_seconds=1)
def test_a_running_request_keeps_its_key_past_the_lease(scanserve_plugins, scanserve_app):
    """With a 1 s lease, a request running 3 s still holds its key: its server renews it."""
    resolver = BlockingResolver()
    scanserve_app.services.plugins.qr_resolvers.insert(0, resolver)
    key = issue_key()
    headers = {**key.headers, "Idempotency-Key": "long"}
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
            time.sleep(3)  # three leases
            during = client.post(f"{BASE}/resolve-url", json=body, headers=headers)
        finally:
            resolver.release.set()
            first.join(30)
        assert during.status_code == 409, during.text
        assert during.json()["retryable"] is True and "retry-after" in during.headers
        assert results["first"].status_code == 200
    assert resolver.calls == 1


@pytest.mark.scanserve_settings(queue="embedded")  # the answer is the row as written
def test_a_server_dead_after_the_commit_leaves_the_answer_with_the_object(
    scanserve_app, monkeypatch
):
    key = issue_key()
    with scanserve_app.test_client(raise_server_exceptions=False) as client:
        session_id = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()["id"]
        body = {"session_id": session_id, "capture_type": "BARCODE", "raw_value": "4006381333931"}
        headers = {**key.headers, "Idempotency-Key": "dies-after-commit"}

        # The server dies after the capture's commit: it never keeps the final answer nor
        # releases anything (what the client got, it lost).
        with monkeypatch.context() as patch:
            patch.setattr(idempotency, "finish", lambda *args: None)
            patch.setattr(idempotency, "abandon", lambda record_id: None)
            client.post(f"{BASE}/captures", json=body, headers=headers)
        (capture,) = models.Capture.select()
        record = models.IdempotencyRecord.get(models.IdempotencyRecord.key == "dies-after-commit")
        assert record.status == -201  # kept with the capture, in its transaction

        # within the lease the first request may still be running
        assert client.post(f"{BASE}/captures", json=body, headers=headers).status_code == 409
        models.IdempotencyRecord.update(locked_at=utcnow() - timedelta(seconds=11)).execute()
        retry = client.post(f"{BASE}/captures", json=body, headers=headers)
        assert retry.status_code == 201, retry.text
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.json()["id"] == capture.short_id
        assert retry.json()["status"] == "PENDING"
        assert models.Capture.select().count() == 1


@pytest.mark.scanserve_settings(queue="embedded")
def test_a_failure_after_the_commit_keeps_the_answer_not_the_key(scanserve_app, monkeypatch):
    """A 5xx after the object was created does not release the key: a retry replays."""
    key = issue_key()
    with scanserve_app.test_client(raise_server_exceptions=False) as client:
        session_id = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()["id"]
        body = {"session_id": session_id, "capture_type": "BARCODE", "raw_value": "4006381333931"}
        headers = {**key.headers, "Idempotency-Key": "fails-after-commit"}

        def broken(*args, **kwargs):
            raise RuntimeError("the queue broke in an unexpected way")

        with monkeypatch.context() as patch:
            patch.setattr(scanserve_app.services.queue, "enqueue_capture", broken)
            failed = client.post(f"{BASE}/captures", json=body, headers=headers)
        assert failed.status_code == 500
        retry = client.post(f"{BASE}/captures", json=body, headers=headers)
        assert retry.status_code == 201, retry.text
        assert retry.headers["idempotent-replayed"] == "true"
        assert models.Capture.select().count() == 1


def test_a_session_created_before_its_server_died_is_replayed_not_made_again(
    scanserve_client, monkeypatch
):
    key = issue_key()
    headers = {**key.headers, "Idempotency-Key": "session-dies-after-commit"}
    with monkeypatch.context() as patch:  # the server dies after the commit (see above)
        patch.setattr(idempotency, "finish", lambda *args: None)
        patch.setattr(idempotency, "abandon", lambda record_id: None)
        scanserve_client.post(f"{BASE}/sessions", json={}, headers=headers)
    (session,) = models.ScanSession.select()
    models.IdempotencyRecord.update(locked_at=utcnow() - timedelta(seconds=11)).execute()
    retry = scanserve_client.post(f"{BASE}/sessions", json={}, headers=headers)
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == session.short_id
    assert models.ScanSession.select().count() == 1


@pytest.mark.scanserve_settings(queue="embedded", idempotency_lock_seconds=1)
def test_a_request_that_outlived_its_lease_rolls_back_when_a_retry_took_over(
    scanserve_app, monkeypatch
):
    """Its server stalled (its lease renewals failing, as with the database down) while a
    retry took the key over and created the capture: when it resumes, its own transaction
    rolls back. One capture."""
    from scanserve.domain import captures

    monkeypatch.setattr(idempotency._Leases, "hold", lambda self, record_id: None)
    interpret = captures.gs1.interpret
    entered, release = threading.Event(), threading.Event()

    def stalled_once(raw_value):
        if not entered.is_set():
            entered.set()
            assert release.wait(30)
        return interpret(raw_value)

    key = issue_key()
    results = {}
    with scanserve_app.test_client() as client:
        session_id = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()["id"]
        body = {"session_id": session_id, "capture_type": "BARCODE", "raw_value": "4006381333931"}
        headers = {**key.headers, "Idempotency-Key": "stalled"}
        monkeypatch.setattr(captures.gs1, "interpret", stalled_once)
        first = threading.Thread(
            target=lambda: results.update(
                first=client.post(f"{BASE}/captures", json=body, headers=headers)
            )
        )
        first.start()
        try:
            assert entered.wait(30)
            time.sleep(1.5)  # the lease lapses
            retry = client.post(f"{BASE}/captures", json=body, headers=headers)
        finally:
            release.set()
            first.join(30)
        assert retry.status_code == 201 and "idempotent-replayed" not in retry.headers
        assert results["first"].status_code == 409, results["first"].text
        assert models.Capture.select().count() == 1
        again = client.post(f"{BASE}/captures", json=body, headers=headers)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json()["id"] == retry.json()["id"]


def test_a_key_the_database_cannot_claim_is_503_and_nothing_runs(scanserve_client, monkeypatch):
    import peewee

    key = issue_key()
    headers = {**key.headers, "Idempotency-Key": "db-down"}

    def down(**values):
        raise peewee.OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patch:
        patch.setattr(idempotency._CLAIM, "insert", down)
        refused = scanserve_client.post(f"{BASE}/sessions", json={}, headers=headers)
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["retryable"] is True and refused.headers["retry-after"] == "1"
    assert models.ScanSession.select().count() == 0
    made = scanserve_client.post(f"{BASE}/sessions", json={}, headers=headers)
    assert made.status_code == 201
