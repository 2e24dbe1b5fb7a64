"""A worker killed mid-capture loses its Redis message; the database still says where the
capture was, and the next worker to start finishes it (it sweeps at once).

Real parts throughout: ``scanserve worker`` processes on Redis, the API in this process on the
same SQLite file, and a fake Open Food Facts on loopback that hangs on the first request (so
the first worker is caught inside the lookup) and answers the product afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from loopback import LoopbackServer, Route
from redis_support import delete_queue_keys
from workers import Workers

from scanserve.app import create_app
from scanserve.domain.captures import COMPLETED, LOOKING_UP, TERMINAL
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.testing import issue_key, wait_for

BASE = "/scanner/api/v1"
BARCODE = "5000112637939"  # in no catalog: only Open Food Facts knows it
OFF_PATH = f"/api/v2/product/{BARCODE}.json"
STALE_SECONDS = 1
OFF_PRODUCT = {
    "code": BARCODE,
    "status": 1,
    "status_verbose": "product found",
    "product": {
        "code": BARCODE,
        "product_name": "Fizzy Orange 330 ml",
        "brands": "Loopback Drinks, Other",
        "generic_name": "Orange soft drink",
        "categories": "Beverages, Soft drinks",
        "image_front_url": "https://images.example/fizzy-orange.jpg",
    },
}

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_the_next_worker_finishes_a_capture_whose_worker_was_killed(
    tmp_path: Path, redis_url: str
) -> None:
    queue_name = f"scanserve_test_{uuid.uuid4().hex[:12]}"
    data_dir = tmp_path / "data"
    off = LoopbackServer({OFF_PATH: Route(200, delay=60)})  # the first lookup hangs
    settings = Settings(
        data_dir=data_dir,
        queue="redis",
        redis_url=redis_url,
        queue_name=queue_name,
        capture_stale_seconds=STALE_SECONDS,
        openfoodfacts_enabled=True,
        openfoodfacts_base_url=off.url(""),
        openfoodfacts_user_agent="test",
        load_entrypoint_plugins=False,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANSERVE_")}
    env.update(
        PYTHONUNBUFFERED="1",
        SCANSERVE_DATA_DIR=str(data_dir),
        SCANSERVE_QUEUE="redis",
        SCANSERVE_REDIS_URL=redis_url,
        SCANSERVE_QUEUE_NAME=queue_name,
        SCANSERVE_CAPTURE_STALE_SECONDS=str(STALE_SECONDS),
        SCANSERVE_OPENFOODFACTS_ENABLED="true",
        SCANSERVE_OPENFOODFACTS_BASE_URL=off.url(""),
        SCANSERVE_OPENFOODFACTS_USER_AGENT="test",
        SCANSERVE_LOAD_ENTRYPOINT_PLUGINS="false",
    )
    app = create_app(settings)  # the API: same SQLite file, same Redis queue
    workers = Workers(env, tmp_path)
    try:
        first = workers.start()
        key = issue_key()
        with app.test_client() as client:
            session = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()
            created = client.post(
                f"{BASE}/captures",
                json={
                    "session_id": session["id"],
                    "capture_type": "BARCODE",
                    "raw_value": BARCODE,
                },
                headers=key.headers,
            )
            assert created.status_code == 201, created.text
            capture_id = created.json()["id"]

            def capture() -> models.Capture:
                return models.Capture.get(models.Capture.short_id == capture_id)

            def caught_in_lookup() -> bool:
                if first.poll() is not None:
                    pytest.fail(f"the first worker exited early:\n{workers.logs()}")
                return capture().status == LOOKING_UP and OFF_PATH in off.paths()

            wait_for(caught_in_lookup, 20, "the first worker to ask Open Food Facts")
            off.route(
                OFF_PATH,
                Route(200, {"Content-Type": "application/json"}, json.dumps(OFF_PRODUCT).encode()),
            )
            first.send_signal(signal.SIGKILL)
            assert first.wait(timeout=10) == -signal.SIGKILL

            orphan = capture()
            assert orphan.status not in TERMINAL, workers.logs()
            assert (orphan.status, orphan.processed_at, orphan.product) == (LOOKING_UP, None, None)
            asked = off.paths().count(OFF_PATH)

            # The next worker sweeps as it starts; make sure the capture is stale by then
            # rather than hoping the interpreter starts slowly enough.
            age = (utcnow() - orphan.state_changed_at).total_seconds()
            time.sleep(max(0.0, STALE_SECONDS + 0.2 - age))
            second = workers.start()

            def completed() -> dict[str, Any] | None:
                if second.poll() is not None:
                    pytest.fail(f"the second worker exited:\n{workers.logs()}")
                got = client.get(f"{BASE}/captures/{capture_id}", headers=key.headers).json()
                return got if got["status"] == COMPLETED else None

            try:
                done = wait_for(completed, 30, "the second worker to finish the capture")
            except pytest.fail.Exception as exc:
                raise AssertionError(f"{exc}\n{workers.logs()}") from None
            assert done["product_name"] == "Fizzy Orange 330 ml"
            assert done["gtin"] == "0" + BARCODE
            assert done["error_message"] == ""
            assert done["processed_at"] is not None
            finished = capture()
            assert finished.attempts == orphan.attempts + 1  # claimed once more, by the new one
            assert finished.product.source == "openfoodfacts"
            assert finished.product.brand == "Loopback Drinks"
            assert off.paths().count(OFF_PATH) == asked + 1
    finally:
        workers.kill_all()
        off.close()
        delete_queue_keys(redis_url, queue_name)
        app.services.db.close()
