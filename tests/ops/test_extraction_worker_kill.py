"""A worker killed mid-extraction loses nothing: the session stays ``processing`` with the dead
worker's claim, and the next worker to start (it sweeps at once) re-queues the extraction and
finishes it, writing the proposals once.

Real parts throughout: ``scanserve worker`` processes on Redis, the API in this process on the
same SQLite file and object store, and a fake OpenAI-compatible vision endpoint on loopback
that hangs on the first request (so the first worker is caught inside the extractor) and
answers afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path

import pytest
from extraction_support import (
    BASE,
    FakeOpenAI,
    add_photo,
    add_product,
    capture,
    open_session,
    proposals,
    submit,
    text_image,
)
from redis_support import delete_queue_keys
from workers import Workers

from scanserve.app import create_app
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.testing import issue_key, wait_for

STALE_SECONDS = 1
# a real image (extraction reads its header first); the fake model does not look at it
PHOTO = text_image(["a front photo"])

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_the_next_worker_finishes_an_extraction_whose_worker_was_killed(
    tmp_path: Path, redis_url: str
) -> None:
    queue_name = f"scanserve_test_{uuid.uuid4().hex[:12]}"
    data_dir = tmp_path / "data"
    vision = FakeOpenAI()
    vision.delay = 120  # the first request hangs
    vision.answer(
        json.dumps(
            {
                "proposals": [
                    {"field_name": "brand_name", "proposed_value": "STABILO", "confidence": 0.9}
                ]
            }
        )
    )
    common = {
        "QUEUE": "redis",
        "REDIS_URL": redis_url,
        "QUEUE_NAME": queue_name,
        "EXTRACTION_STALE_SECONDS": str(STALE_SECONDS),
        "VISION_OPENAI_URL": vision.base_url,
        "VISION_OPENAI_MODEL": "tiny-vision",
        "VISION_OPENAI_TIMEOUT_SECONDS": "300",
        "EXTRACTION_TIMEOUT_SECONDS": "300",
        "VISION_OPENAI_PHOTO_TYPES": '["front"]',
        "LOAD_ENTRYPOINT_PLUGINS": "false",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANSERVE_")}
    env.update(PYTHONUNBUFFERED="1", SCANSERVE_DATA_DIR=str(data_dir))
    env.update({f"SCANSERVE_{name}": value for name, value in common.items()})
    settings = Settings(
        data_dir=data_dir,
        queue="redis",
        redis_url=redis_url,
        queue_name=queue_name,
        extraction_stale_seconds=STALE_SECONDS,
        load_entrypoint_plugins=False,
    )
    app = create_app(settings)  # the API: same SQLite file and object store, same queue
    workers = Workers(env, tmp_path)
    try:
        first = workers.start()
        key = issue_key()
        with app.test_client() as client:
            add_product()
            session = open_session(client, key.headers)
            cap = capture(client, key.headers, session["id"])
            add_photo(app.services, session["id"], PHOTO, "front", capture_id=cap["id"])
            submit(client, key.headers, session["id"])

            def row() -> models.ScanSession:
                return models.ScanSession.get(models.ScanSession.short_id == session["id"])

            def caught_in_extractor() -> bool:
                if first.poll() is not None:
                    pytest.fail(f"the first worker exited early:\n{workers.logs()}")
                return row().extraction_claimed and len(vision.requests) == 1

            wait_for(caught_in_extractor, 30, "the first worker to ask the vision model")
            first.send_signal(signal.SIGKILL)
            assert first.wait(timeout=10) == -signal.SIGKILL
            vision.delay = 0

            orphan = row()
            assert (orphan.extraction_status, orphan.extraction_claimed) == ("processing", True)
            assert orphan.extraction_attempts == 1
            assert proposals(client, key.headers, cap["id"]) == []

            # The next worker sweeps as it starts; make sure the claim is stale by then.
            age = (utcnow() - orphan.extraction_changed_at).total_seconds()
            time.sleep(max(0.0, STALE_SECONDS + 0.2 - age))
            second = workers.start()

            def ready() -> bool:
                if second.poll() is not None:
                    pytest.fail(f"the second worker exited:\n{workers.logs()}")
                got = client.get(f"{BASE}/sessions/{session['id']}/status", headers=key.headers)
                return got.json()["extraction_status"] == "ready"

            try:
                wait_for(ready, 60, "the second worker to finish the extraction")
            except pytest.fail.Exception as exc:
                raise AssertionError(f"{exc}\n{workers.logs()}") from None
            found = proposals(client, key.headers, cap["id"])
            assert [(p["field_name"], p["proposed_value"]) for p in found] == [
                ("brand_name", "STABILO")
            ]
            finished = row()
            assert (finished.extraction_claimed, finished.extraction_attempts) == (False, 2)
            assert len(vision.requests) == 2
    finally:
        workers.kill_all()
        vision.close()
        delete_queue_keys(redis_url, queue_name)
        app.services.db.close()
