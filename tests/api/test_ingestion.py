"""Capture ingestion: one transaction per capture, and a PENDING row that is its own durable
message, recovered at once when the embedded queue starts."""

from __future__ import annotations

import threading
import uuid
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import pytest

from scanserve.app import create_app
from scanserve.bootstrap import build_services
from scanserve.domain import catalog_import as catalog
from scanserve.domain import gs1, pipeline, sessions
from scanserve.domain.captures import COMPLETED, ENRICHING, LOOKING_UP, PENDING, RESOLVING
from scanserve.plugins.hookspecs import hookimpl
from scanserve.settings import Settings
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.testing import issue_key, wait_for

BASE = "/scanner/api/v1"
DEMO_GTIN = "4006381333931"


def test_a_capture_and_its_session_touch_commit_together(
    scanserve_client, api_key, monkeypatch
) -> None:
    """Should the second write fail (a crash between the two), the first is not kept."""
    sid = scanserve_client.post(f"{BASE}/sessions", json={}, headers=api_key.headers).json()["id"]

    def crash(_session_id: int) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(sessions, "touch", crash)
    response = scanserve_client.post(
        f"{BASE}/captures",
        json={"session_id": sid, "capture_type": "BARCODE", "raw_value": DEMO_GTIN},
        headers=api_key.headers,
    )
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert models.Capture.select().count() == 0


def _left_by_a_crash(
    status: str, org: models.Organization, raw_value: str = DEMO_GTIN
) -> models.Capture:
    session = models.ScanSession.create(organization=org)
    now = utcnow()  # fresh: far from capture_stale_seconds, so the sweep would not touch it
    return models.Capture.create(
        organization=org,
        session=session,
        capture_type="BARCODE",
        raw_value=raw_value,
        gtin=gs1.normalise_gtin(raw_value),
        status=status,
        attempts=0 if status == PENDING else 1,
        state_changed_at=now,
        modified=now,
    )


def test_embedded_start_up_picks_up_unfinished_captures_at_once(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        queue="embedded",
        queue_name=f"t{uuid.uuid4().hex[:12]}",
        load_entrypoint_plugins=False,
        capture_stale_seconds=3600,  # the sweep alone would leave them for an hour
    )
    app = create_app(settings, start_queue=True)
    try:
        with as_file(files("scanserve") / "demo" / "demo_catalog.csv") as path:
            catalog.import_file(path)
        org = models.Organization.create(name="Crashed")
        # a PENDING row whose message never reached the queue, and two mid-step captures
        left = [_left_by_a_crash(s, org) for s in (PENDING, LOOKING_UP, ENRICHING)]
        assert app.services.queue.pending_count() == 0
        with app.test_client():  # starts the lifespan: recovery, then the consumer

            def all_done() -> list[Any] | None:
                rows = [models.Capture.get_by_id(c.id) for c in left]
                return rows if all(r.status == COMPLETED for r in rows) else None

            done = wait_for(all_done, 60, "the recovered captures to complete")
        assert all(r.product_id is not None for r in done)
        assert all(r.attempts >= 1 for r in done)
    finally:
        app.services.queue.stop_embedded()
        app.services.db.close()


def test_a_posted_capture_completes_and_touches_its_session(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", queue="immediate", load_entrypoint_plugins=False)
    app = create_app(settings)
    try:
        with as_file(files("scanserve") / "demo" / "demo_catalog.csv") as path:
            catalog.import_file(path)
        key = issue_key()
        with app.test_client() as client:
            sid = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()["id"]
            before = models.ScanSession.get(models.ScanSession.short_id == sid).last_activity
            created = client.post(
                f"{BASE}/captures",
                json={"session_id": sid, "capture_type": "BARCODE", "raw_value": DEMO_GTIN},
                headers=key.headers,
            )
            assert created.status_code == 201
            assert created.json()["status"] == COMPLETED
            after = models.ScanSession.get(models.ScanSession.short_id == sid).last_activity
            assert after > before
    finally:
        app.services.db.close()


class _Moves:
    """Records each reported move with the thread that reported it."""

    def __init__(self) -> None:
        self.moves: list[tuple[str, str, str, str]] = []

    @hookimpl
    def capture_state_changed(self, capture_id: str, old_status: str, new_status: str) -> None:
        self.moves.append((capture_id, old_status, new_status, threading.current_thread().name))


# In the demo catalog: the highlighter has nothing to enrich; the milk has a GPC brick code
# without its label, which the built-in enrichment adds (a product write).
MILK_GTIN = "09506000134352"


@pytest.mark.parametrize(
    ("raw_value", "writes", "commits"),
    [
        # the claim, the product and the final status: one statement, its own transaction
        (DEMO_GTIN, [("capture", False)], 0),
        # what enrichment changed in the product goes into the same transaction
        (MILK_GTIN, [("product", True), ("capture", True)], 1),
    ],
    ids=["nothing-enriched", "product-enriched"],
)
def test_a_catalog_hit_is_written_at_once(
    tmp_path: Path, raw_value: str, writes: list[tuple[str, bool]], commits: int
) -> None:
    """Claim, product, steps and final status are written together: by the one
    compare-and-set, or in one transaction with the product's changes; nothing is written
    before. The plugins still hear of every step, in order."""
    moves = _Moves()
    services = build_services(
        Settings(data_dir=tmp_path / "data", queue="immediate", load_entrypoint_plugins=False),
        extra_plugins=[moves],
    )
    try:
        with as_file(files("scanserve") / "demo" / "demo_catalog.csv") as path:
            catalog.import_file(path)
        org = models.Organization.create(name="One commit")
        capture = _left_by_a_crash(PENDING, org, raw_value)
        db = services.db
        committed: list[str] = []
        written: list[tuple[str, bool]] = []  # (table, inside a transaction)
        real_commit, real_execute = db.commit, db.execute_sql

        def commit() -> None:
            committed.append("commit")
            real_commit()

        def execute_sql(sql: str, params: Any = None) -> Any:
            reads = ("SELECT", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
            if not sql.lstrip().upper().startswith(reads):
                written.append((sql.split()[1].strip('"'), db.in_transaction()))
            return real_execute(sql, params)

        db.commit, db.execute_sql = commit, execute_sql  # type: ignore[method-assign]
        try:
            pipeline.process_capture(services, capture.short_id)
        finally:
            db.commit, db.execute_sql = real_commit, real_execute  # type: ignore[method-assign]

        done = models.Capture.get_by_id(capture.id)
        assert (done.status, done.attempts) == (COMPLETED, 1)
        assert done.product.gtin == gs1.normalise_gtin(raw_value)
        assert done.processed_at is not None
        assert (written, len(committed)) == (writes, commits)
        if raw_value == MILK_GTIN:
            assert done.product.gpc_brick_label  # the enrichment's write was kept
        assert [(old, new) for _, old, new, _ in moves.moves] == [
            (PENDING, LOOKING_UP),
            (LOOKING_UP, ENRICHING),
            (ENRICHING, RESOLVING),
            (RESOLVING, COMPLETED),
        ]
    finally:
        services.db.close()


def test_the_embedded_server_hands_its_captures_to_its_own_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In ``serve`` with the embedded queue a posted capture goes to this process's capture
    lanes in memory, with the reading of its value made when it was posted: nothing is
    written to the queue file, and the value is interpreted once."""
    moves = _Moves()
    settings = Settings(
        data_dir=tmp_path / "data",
        queue="embedded",
        queue_name=f"t{uuid.uuid4().hex[:12]}",
        load_entrypoint_plugins=False,
    )
    app = create_app(settings, start_queue=True, extra_plugins=[moves])
    queue = app.services.queue
    readings: list[str] = []
    real_interpret = gs1.interpret

    def interpret(raw_value: str) -> Any:
        readings.append(raw_value)
        return real_interpret(raw_value)

    monkeypatch.setattr(gs1, "interpret", interpret)
    enqueued: list[Any] = []  # what would have gone to the queue file
    monkeypatch.setattr(queue.huey, "enqueue", enqueued.append)
    try:
        with as_file(files("scanserve") / "demo" / "demo_catalog.csv") as path:
            catalog.import_file(path)
        key = issue_key()
        with app.test_client() as client:
            sid = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()["id"]
            created = client.post(
                f"{BASE}/captures",
                json={"session_id": sid, "capture_type": "BARCODE", "raw_value": DEMO_GTIN},
                headers=key.headers,
            )
            assert created.status_code == 201, created.text
            short_id = created.json()["id"]

            def completed() -> bool:
                row = models.Capture.get(models.Capture.short_id == short_id)
                return row.status == COMPLETED

            wait_for(completed, 30, "the capture to complete")
            lanes = queue._lanes
            assert lanes is not None
        assert [task for task in enqueued if task.name == "process_capture"] == []
        assert readings == [DEMO_GTIN]
        threads = {thread for capture_id, _, _, thread in moves.moves if capture_id == short_id}
        assert threads and all(t.startswith("scanserve-captures-") for t in threads), threads
        # Leaving the client stopped the lanes with the rest of the queue.
        assert queue._lanes is None
        assert not any(thread.is_alive() for thread in lanes.threads())
    finally:
        queue.stop_embedded()
        app.services.db.close()


def test_a_posted_capture_answers_as_it_reads_back(tmp_path: Path) -> None:
    """POST /captures answers from what it wrote, without reading it back: the same body
    GET /captures/{id} answers."""
    settings = Settings(
        data_dir=tmp_path / "data",
        queue="embedded",  # with no consumer started: the capture stays PENDING
        queue_name=f"t{uuid.uuid4().hex[:12]}",
        load_entrypoint_plugins=False,
    )
    app = create_app(settings)
    try:
        key = issue_key()
        with app.test_client() as client:
            sid = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()["id"]
            created = client.post(
                f"{BASE}/captures",
                json={
                    "session_id": sid,
                    "capture_type": "BARCODE",
                    "raw_value": "]C10109506000134352101234\x1d17261231",
                    "metadata": {"z": "last", "a": "first"},
                },
                headers=key.headers,
            )
            assert created.status_code == 201, created.text
            read = client.get(f"{BASE}/captures/{created.json()['id']}", headers=key.headers)
            assert read.status_code == 200
            assert created.json() == read.json()
            assert list(created.json()["metadata"]) == list(read.json()["metadata"])
            assert created.json()["gs1_dl_data"] == {
                "01": "09506000134352",
                "10": "1234",
                "17": "261231",
            }
    finally:
        app.services.db.close()
