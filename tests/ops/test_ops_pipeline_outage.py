"""A capture whose run a database outage cuts off after its claim: the worker that claimed
it waits the outage out and finishes it itself, at once, rather than leaving a fresh claim
for the sweep to find stale minutes later, and the capture does not end FAILED."""

from __future__ import annotations

import peewee
import pytest

from scanserve.domain import pipeline
from scanserve.plugins.providers import ProductRecord
from scanserve.storage import models
from scanserve.testing import FakeLookupProvider

BASE = "/scanner/api/v1"
GTIN = "05000112637922"


@pytest.fixture
def outside_lookup(scanserve_plugins):
    # external: the pipeline commits its claim before calling it
    provider = FakeLookupProvider({GTIN: ProductRecord(gtin=GTIN, name="Cola")}, external=True)
    scanserve_plugins.append(provider)
    return provider


def test_an_outage_after_the_claim_is_waited_out_by_the_claiming_worker(
    outside_lookup, scanserve_client, api_key, monkeypatch
):
    finish = pipeline._finish
    failures = []

    def finish_after_an_outage(job, status, error=""):
        if not failures:  # the database goes away once, between the claim and the end
            failures.append(job.capture.status)
            raise peewee.OperationalError("database is locked")
        return finish(job, status, error)

    monkeypatch.setattr(pipeline, "_finish", finish_after_an_outage)
    h = api_key.headers
    session = scanserve_client.post(f"{BASE}/sessions", json={}, headers=h).json()["id"]
    body = {"session_id": session, "capture_type": "BARCODE", "raw_value": GTIN}
    created = scanserve_client.post(f"{BASE}/captures", json=body, headers=h)
    assert created.status_code == 201, created.text

    capture = models.Capture.get(models.Capture.short_id == created.json()["id"])
    assert failures == ["LOOKING_UP"]  # the outage met a claimed capture
    assert capture.status == "COMPLETED", (capture.status, capture.error_message)
    assert capture.attempts == 2  # claimed once, taken up again once by the same worker
    assert outside_lookup.asked[:1] == [GTIN]
