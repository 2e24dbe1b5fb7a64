"""Extraction leases and per-photo bounds (issue 14).

- An extraction that runs longer than ``extraction_stale_seconds`` renews its lease, so the
  sweep (run here every 0.2 s, as an impatient operator's would) never takes it over: it
  finishes once, with every proposal, in one attempt. Real parts: the queue's consumer
  threads (embedded on SQLite; Redis on PostgreSQL), the database, the sweep itself.
- A worker whose lease was taken over notices at its next renewal and stops without writing.
- A photo whose extractor overruns ``extraction_timeout_seconds`` or fails, or whose stored
  object is gone, is listed in ``extraction_failures``, and the session still finishes with
  the other photos' proposals; the real Tesseract, given too little time, is killed.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from extraction_support import (
    BASE,
    add_photo,
    add_product,
    capture,
    needs_tesseract,
    open_session,
    proposals,
    status,
    submit,
    text_image,
)
from redis_support import delete_queue_keys

from scanserve.app import create_app
from scanserve.plugins.hookspecs import hookimpl
from scanserve.plugins.providers import ExtractionInput, Extractor, ProposalDraft
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.testing import issue_key, wait_for

PHOTO = text_image(["a product photo"])


@dataclass
class SlowExtractor:
    """Reads ``front`` photos: waits ``seconds`` (or for ``hang`` when the photo's id is in
    ``hang_on``), then proposes a description naming the photo. Raises on ``fail_on``."""

    seconds: float = 0.0
    name: str = "slow-reader"
    photo_types: frozenset[str] = frozenset({"front"})
    calls: list[str] = field(default_factory=list)
    hang_on: set[str] = field(default_factory=set)
    fail_on: set[str] = field(default_factory=set)
    hang: threading.Event = field(default_factory=threading.Event)
    on_call: Callable[[ExtractionInput], None] | None = None

    def extract(self, item: ExtractionInput) -> list[ProposalDraft]:
        assert item.photo is not None
        photo_id = item.photo.short_id
        self.calls.append(photo_id)
        if self.on_call is not None:
            self.on_call(item)
        if photo_id in self.hang_on:
            self.hang.wait(60)  # released when the test ends
        if photo_id in self.fail_on:
            raise RuntimeError("the model fell over")
        time.sleep(self.seconds)
        return [
            ProposalDraft(
                field_name="description",
                proposed_value=f"read {photo_id}",
                confidence=0.9,
                metadata={"photo_id": photo_id},
            )
        ]

    @hookimpl
    def register_extractors(self, register: Callable[[Extractor], None]) -> None:
        register(self)


@pytest.fixture
def slow(scanserve_plugins: list[Any]) -> Any:
    extractor = SlowExtractor()
    scanserve_plugins.append(extractor)
    yield extractor
    extractor.hang.set()


def _row(session_id: str) -> models.ScanSession:
    return models.ScanSession.get(models.ScanSession.short_id == session_id)


def _session_with_photos(app: Any, client: Any, headers: dict[str, str], count: int) -> Any:
    add_product()
    session = open_session(client, headers)
    cap = capture(client, headers, session["id"])
    photos = [
        add_photo(
            app.services, session["id"], PHOTO, "front", capture_id=cap["id"], sort_order=n
        ).short_id
        for n in range(count)
    ]
    return session, cap, photos


@pytest.fixture(
    params=[
        pytest.param("sqlite"),
        pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ]
)
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """SQLite with the embedded queue (its consumer threads inside the app), or PostgreSQL
    with the Redis queue (a consumer in this process, as `scanserve worker` runs)."""
    if request.param == "sqlite":
        yield {"queue": "embedded", "queue_name": "lease_test"}
        return
    redis_url = request.getfixturevalue("redis_url")
    queue_name = f"scanserve_test_{uuid.uuid4().hex[:12]}"
    yield {
        "database_url": request.getfixturevalue("postgres_url"),
        "queue": "redis",
        "redis_url": redis_url,
        "queue_name": queue_name,
    }
    delete_queue_keys(redis_url, queue_name)


def test_an_extraction_longer_than_the_stale_threshold_finishes_once(
    tmp_path: Path, setup: dict[str, Any]
) -> None:
    stale = 2  # a renewal every 2/3 s
    photos_count, seconds = 8, 0.5  # 4 s of work: two stale thresholds
    slow = SlowExtractor(seconds=seconds)
    settings = Settings(
        data_dir=tmp_path / "data",
        extraction_stale_seconds=stale,
        load_entrypoint_plugins=False,
        auth_cache_seconds=0,
        **setup,
    )
    app = create_app(settings, extra_plugins=[slow], start_queue=True)
    consumers = []
    try:
        with app.test_client() as client:
            if settings.queue == "redis":
                # both lanes, as `scanserve worker` runs them: extraction is slow-lane work
                consumers = [app.services.queue.consumer(), app.services.queue.consumer(slow=True)]
                for consumer in consumers:
                    consumer.start()
            key = issue_key()
            session, cap, photos = _session_with_photos(app, client, key.headers, photos_count)
            submit(client, key.headers, session["id"])
            submitted = time.monotonic()
            sweeps: list[tuple[float, int]] = []

            def ready() -> bool:
                # The sweep, as often as anyone could run it; it must find nothing to take.
                sweeps.append((time.monotonic() - submitted, app.services.queue.sweep()))
                return _row(session["id"]).extraction_status == "ready"

            wait_for(ready, 60, "the extraction to finish", interval=0.2)
            assert slow.calls == photos, "each photo read once, in gallery order"
            assert sum(n for _, n in sweeps) == 0, f"the sweep took over: {sweeps}"
            assert sweeps[-1][0] > 1.5 * stale, "the sweep ran past the stale threshold"
            row = _row(session["id"])
            assert (row.extraction_claimed, row.extraction_attempts) == (False, 1)
            found = proposals(client, key.headers, cap["id"])
            assert sorted(p["proposed_value"] for p in found) == sorted(
                f"read {p}" for p in photos
            )
            summary = status(client, key.headers, session["id"])
            assert summary["extraction_failures"] == []
    finally:
        for consumer in consumers:
            consumer.stop(graceful=True)
        app.services.db.close()


@pytest.mark.scanserve_settings(extraction_stale_seconds=1)
def test_a_worker_whose_lease_was_taken_over_stops_without_writing(
    slow: SlowExtractor, scanserve_app: Any, scanserve_client: Any, api_key: Any
) -> None:
    slow.seconds = 0.5  # longer than a renewal interval (1/3 s)
    client, headers = scanserve_client, api_key.headers
    session, cap, _photos = _session_with_photos(scanserve_app, client, headers, 4)

    def another_worker_claims(_item: ExtractionInput) -> None:
        if len(slow.calls) == 1:  # as run_extraction's claim does, in another worker
            S = models.ScanSession
            S.update(extraction_attempts=S.extraction_attempts + 1).where(
                S.short_id == session["id"]
            ).execute()

    slow.on_call = another_worker_claims
    submit(client, headers, session["id"])  # the immediate queue runs it here
    assert len(slow.calls) == 1, "the worker stopped at its next renewal"
    row = _row(session["id"])
    assert (row.extraction_status, row.extraction_attempts) == ("processing", 2)
    assert proposals(client, headers, cap["id"]) == []


@pytest.mark.scanserve_settings(extraction_timeout_seconds=0.5)
def test_a_photo_whose_extractor_overruns_is_listed_and_the_session_finishes(
    slow: SlowExtractor, scanserve_app: Any, scanserve_client: Any, api_key: Any
) -> None:
    client, headers = scanserve_client, api_key.headers
    session, cap, photos = _session_with_photos(scanserve_app, client, headers, 4)
    slow.hang_on = {photos[1]}
    slow.fail_on = {photos[3]}
    started = time.monotonic()
    submit(client, headers, session["id"])  # the immediate queue runs it here
    assert time.monotonic() - started < 30, "the hung photo held the session up"
    assert slow.calls == photos
    summary = status(client, headers, session["id"])  # validated against the spec
    assert summary["extraction_status"] == "ready"
    assert summary["extraction_failures"] == [
        {"photo_id": photos[1], "extractor": "slow-reader", "reason": "timeout"},
        {"photo_id": photos[3], "extractor": "slow-reader", "reason": "error"},
    ]
    found = proposals(client, headers, cap["id"])
    assert sorted(p["proposed_value"] for p in found) == sorted(
        [f"read {photos[0]}", f"read {photos[2]}"]
    )


def test_a_photo_whose_object_is_gone_is_listed_unreadable(
    slow: SlowExtractor, scanserve_app: Any, scanserve_client: Any, api_key: Any
) -> None:
    client, headers = scanserve_client, api_key.headers
    session, cap, photos = _session_with_photos(scanserve_app, client, headers, 2)
    gone = models.Photo.get(models.Photo.short_id == photos[0])
    scanserve_app.services.objects.delete(gone.s3_key)
    submit(client, headers, session["id"])
    summary = status(client, headers, session["id"])
    assert summary["extraction_status"] == "ready"
    assert summary["extraction_failures"] == [
        {"photo_id": photos[0], "extractor": "slow-reader", "reason": "unreadable"}
    ]
    assert [p["proposed_value"] for p in proposals(client, headers, cap["id"])] == [
        f"read {photos[1]}"
    ]


def _tesseract_children() -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == os.getpid() and comm.startswith("tesseract"):
            children.append(int(entry.name))
    return children


@needs_tesseract
@pytest.mark.scanserve_settings(extraction_timeout_seconds=0.05, ocr_engine="tesseract")
def test_tesseract_overrunning_its_time_is_killed_and_its_photo_listed(
    scanserve_app: Any, scanserve_client: Any, api_key: Any
) -> None:
    add_product()
    session = open_session(scanserve_client, api_key.headers)
    capture(scanserve_client, api_key.headers, session["id"])
    lines = [f"INGREDIENTS: water, oats, salt, line {n} of a long panel" for n in range(40)]
    photo = add_photo(scanserve_app.services, session["id"], text_image(lines), "ingredients")
    submit(scanserve_client, api_key.headers, session["id"])
    summary = status(scanserve_client, api_key.headers, session["id"])
    assert summary["extraction_status"] == "ready"
    assert summary["extraction_failures"] == [
        {"photo_id": photo.short_id, "extractor": "tesseract-ocr", "reason": "timeout"}
    ]
    wait_for(lambda: not _tesseract_children(), 10, "the overrunning tesseract to be killed")


def test_the_status_of_a_session_lists_no_failures_before_extraction(
    scanserve_client: Any, api_key: Any
) -> None:
    session = open_session(scanserve_client, api_key.headers)
    got = scanserve_client.get(f"{BASE}/sessions/{session['id']}/status", headers=api_key.headers)
    assert got.status_code == 200
    assert got.json()["extraction_failures"] == []
