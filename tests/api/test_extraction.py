"""Vision extraction through the real app: submit hands the photos to the extractors on the
queue (``immediate`` here: the task runs inside the request), photos are routed by
``photo_type``, failing and unavailable extractors are skipped, the sweep recovers an
extraction a worker left behind, and proposals are written exactly once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from extraction_support import (
    GTIN13,
    GTIN14,
    add_photo,
    add_product,
    capture,
    ean13_image,
    needs_tesseract,
    open_session,
    proposals,
    status,
    submit,
    text_image,
)

from scanserve.cli import main as cli_main
from scanserve.domain import extraction
from scanserve.plugins.hookspecs import hookimpl
from scanserve.plugins.providers import ExtractionInput, Extractor, ProductRecord, ProposalDraft
from scanserve.storage import models
from scanserve.storage.fields import utcnow
from scanserve.testing import FakeLookupProvider

INGREDIENTS_PANEL = [
    "~ | INGREDIENTS: Water, oats (10%),",
    "rapeseed oil, sea salt, calcium carbo-",
    "nate, vitamin D2.",
    "Nutrition: Energy 190 kJ",
]
CLEAN = "Water, oats (10%), rapeseed oil, sea salt, calcium carbonate, vitamin D2."


@dataclass
class RecordingExtractor:
    """Proposes a description for every photo routed to it and records what it saw."""

    name: str = "recorder"
    photo_types: frozenset[str] = frozenset({"front"})
    seen: list[tuple[str, str, str]] = field(default_factory=list)
    fail: bool = False
    on_call: Callable[[ExtractionInput], None] | None = None

    def extract(self, item: ExtractionInput) -> list[ProposalDraft]:
        assert item.photo is not None
        self.seen.append((item.photo.short_id, item.photo.photo_type, item.photo.content_type))
        if self.on_call is not None:
            self.on_call(item)
        if self.fail:
            raise RuntimeError("the model fell over")
        return [
            ProposalDraft(
                field_name="description",
                proposed_value=f"seen on {item.photo.photo_type}",
                confidence=0.456,
                reasoning="a test extractor",
                metadata={"photo_id": item.photo.short_id},
            )
        ]

    @hookimpl
    def register_extractors(self, register: Callable[[Extractor], None]) -> None:
        register(self)


@pytest.fixture
def recorder(scanserve_plugins: list[Any]) -> RecordingExtractor:
    extractor = RecordingExtractor()
    scanserve_plugins.append(extractor)
    return extractor


def _services(app: Any) -> Any:
    return app.services


def _session_row(short_id: str) -> Any:
    return models.ScanSession.get(models.ScanSession.short_id == short_id)


def test_session_without_photos_reaches_ready(scanserve_client, api_key):
    session = open_session(scanserve_client, api_key.headers)
    assert status(scanserve_client, api_key.headers, session["id"])["extraction_status"] == (
        "pending"
    )
    body = submit(scanserve_client, api_key.headers, session["id"])
    assert body["status"] == "COMPLETED"
    assert status(scanserve_client, api_key.headers, session["id"]) == {
        "session_status": "COMPLETED",
        "extraction_status": "ready",
        "extraction_failures": [],
        "captures": [],
    }


# Both OCR engines read the same panels: RapidOCR, the default (installed with scanserve),
# and Tesseract (the operating system's program).
ENGINES = pytest.mark.parametrize(
    "engine",
    [
        pytest.param("rapidocr", marks=pytest.mark.scanserve_settings(ocr_engine="rapidocr")),
        pytest.param(
            "tesseract-ocr",
            marks=[needs_tesseract, pytest.mark.scanserve_settings(ocr_engine="tesseract")],
        ),
    ],
)


@ENGINES
def test_ocr_proposes_cleaned_ingredients(scanserve_app, scanserve_client, api_key, engine):
    add_product()
    session = open_session(scanserve_client, api_key.headers)
    cap = capture(scanserve_client, api_key.headers, session["id"])
    assert cap["status"] == "COMPLETED"
    add_photo(
        _services(scanserve_app),
        session["id"],
        text_image(INGREDIENTS_PANEL),
        "ingredients",
        capture_id=cap["id"],
    )
    submit(scanserve_client, api_key.headers, session["id"])
    summary = status(scanserve_client, api_key.headers, session["id"])
    assert summary["extraction_status"] == "ready"
    assert summary["captures"] == [{"id": cap["id"], "status": "COMPLETED", "proposal_count": 1}]
    [proposal] = proposals(scanserve_client, api_key.headers, cap["id"])
    assert proposal["field_name"] == "ingredients"
    assert proposal["proposed_value"] == CLEAN
    assert proposal["current_value"] == ""
    assert proposal["source"] == engine
    assert proposal["status"] == "PENDING" and proposal["reviewed_at"] is None
    assert 0.5 <= float(proposal["confidence"]) <= 1.0


@ENGINES
def test_nutrition_photo_proposes_only_a_labelled_list(
    scanserve_app, scanserve_client, api_key, engine
):
    add_product()
    session = open_session(scanserve_client, api_key.headers)
    cap = capture(scanserve_client, api_key.headers, session["id"])
    services = _services(scanserve_app)
    add_photo(services, session["id"], text_image(["Energy 190 kJ", "Fat 1.5 g"]), "nutrition")
    add_photo(services, session["id"], text_image(INGREDIENTS_PANEL), "nutrition", sort_order=1)
    submit(scanserve_client, api_key.headers, session["id"])
    # The unlabelled panel gave nothing; the labelled one gave the list, and both photos
    # (linked to no capture) went to the session's one capture with a product.
    assert [
        p["proposed_value"] for p in proposals(scanserve_client, api_key.headers, cap["id"])
    ] == [CLEAN]


def test_photos_are_routed_by_type_in_gallery_order(
    recorder, scanserve_app, scanserve_client, api_key
):
    add_product()
    session = open_session(scanserve_client, api_key.headers)
    cap = capture(scanserve_client, api_key.headers, session["id"])
    services = _services(scanserve_app)
    image = text_image(["front of pack"])
    second = add_photo(services, session["id"], image, "front", sort_order=2)
    add_photo(services, session["id"], image, "back", sort_order=1)
    first = add_photo(services, session["id"], image, "front", sort_order=0)
    submit(scanserve_client, api_key.headers, session["id"])
    assert recorder.seen == [
        (first.short_id, "front", "image/png"),
        (second.short_id, "front", "image/png"),
    ]
    found = proposals(scanserve_client, api_key.headers, cap["id"])
    assert [(p["field_name"], p["source"], p["confidence"]) for p in found] == [
        ("description", "recorder", "0.46")
    ] * 2
    assert {p["metadata"]["photo_id"] for p in found} == {first.short_id, second.short_id}


# The queue and sweep tests take a deterministic extractor as their signal, not OCR (whose
# reading of an image is the OCR tests' business): both OCR engines are switched off there
# (Tesseract chosen, and not installed).
WITHOUT_TESSERACT = pytest.mark.scanserve_settings(
    ocr_engine="tesseract", tesseract_cmd="tesseract-not-installed-here"
)


@pytest.fixture
def steady(scanserve_plugins: list[Any]) -> RecordingExtractor:
    extractor = RecordingExtractor(name="steady", photo_types=frozenset({"ingredients"}))
    scanserve_plugins.append(extractor)
    return extractor


@WITHOUT_TESSERACT
def test_an_extractor_that_raises_is_skipped(
    recorder, steady, scanserve_app, scanserve_client, api_key, caplog
):
    recorder.photo_types = frozenset({"ingredients"})
    recorder.fail = True
    add_product()
    session = open_session(scanserve_client, api_key.headers)
    cap = capture(scanserve_client, api_key.headers, session["id"])
    add_photo(
        _services(scanserve_app), session["id"], text_image(INGREDIENTS_PANEL), "ingredients"
    )
    with caplog.at_level(logging.WARNING, logger="scanserve.extraction"):
        submit(scanserve_client, api_key.headers, session["id"])
    assert recorder.seen, "the failing extractor was called"
    assert "extractor recorder failed" in caplog.text and "the model fell over" in caplog.text
    assert status(scanserve_client, api_key.headers, session["id"])["extraction_status"] == "ready"
    # The other extractor, on the same photo, still proposed.
    assert [p["source"] for p in proposals(scanserve_client, api_key.headers, cap["id"])] == [
        "steady"
    ]


@pytest.fixture
def no_tesseract(scanserve_settings):
    return scanserve_settings.model_copy(
        update={"ocr_engine": "tesseract", "tesseract_cmd": "tesseract-not-installed-here"}
    )


def test_missing_tesseract_is_skipped_and_listed_unavailable(
    no_tesseract, tmp_path, monkeypatch, caplog
):
    from scanserve.app import create_app
    from scanserve.testing import issue_key

    app = create_app(no_tesseract)
    try:
        key = issue_key()
        with app.test_client() as client:
            add_product()
            session = open_session(client, key.headers)
            cap = capture(client, key.headers, session["id"])
            add_photo(app.services, session["id"], text_image(INGREDIENTS_PANEL), "ingredients")
            with caplog.at_level(logging.INFO, logger="scanserve.extraction"):
                submit(client, key.headers, session["id"])
            assert status(client, key.headers, session["id"])["extraction_status"] == "ready"
            assert proposals(client, key.headers, cap["id"]) == []
        assert "extractor tesseract-ocr skipped" in caplog.text
    finally:
        app.services.db.close()

    monkeypatch.setenv("SCANSERVE_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("SCANSERVE_OCR_ENGINE", "tesseract")
    monkeypatch.setenv("SCANSERVE_TESSERACT_CMD", "tesseract-not-installed-here")
    monkeypatch.setenv("SCANSERVE_LOAD_ENTRYPOINT_PLUGINS", "false")
    result = CliRunner().invoke(cli_main, ["plugins", "list"])
    assert result.exit_code == 0, result.output
    lines = {line.split("\t")[0]: line for line in result.output.splitlines()}
    assert (
        "unavailable: the Tesseract program 'tesseract-not-installed-here'"
        in (lines["tesseract-ocr"])
    )
    assert lines["barcode"].split("\t")[1:] == ["barcode", "available"]
    assert lines["rapidocr"].split("\t")[1:] == [
        "ingredients,nutrition",
        "unavailable: another OCR engine is configured (SCANSERVE_OCR_ENGINE)",
    ]


def test_plugins_list_shows_the_default_ocr_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("SCANSERVE_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("SCANSERVE_LOAD_ENTRYPOINT_PLUGINS", "false")
    monkeypatch.delenv("SCANSERVE_OCR_ENGINE", raising=False)
    result = CliRunner().invoke(cli_main, ["plugins", "list"])
    assert result.exit_code == 0, result.output
    lines = {line.split("\t")[0]: line for line in result.output.splitlines()}
    assert lines["rapidocr"].split("\t")[1:] == ["ingredients,nutrition", "available"]
    assert lines["tesseract-ocr"].split("\t")[1:] == [
        "ingredients,nutrition",
        "unavailable: another OCR engine is configured (SCANSERVE_OCR_ENGINE)",
    ]


@needs_tesseract
def test_plugins_list_shows_tesseract_available(tmp_path, monkeypatch):
    monkeypatch.setenv("SCANSERVE_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("SCANSERVE_LOAD_ENTRYPOINT_PLUGINS", "false")
    monkeypatch.setenv("SCANSERVE_OCR_ENGINE", "tesseract")
    result = CliRunner().invoke(cli_main, ["plugins", "list"])
    assert result.exit_code == 0, result.output
    lines = {line.split("\t")[0]: line for line in result.output.splitlines()}
    assert lines["tesseract-ocr"].split("\t")[1:] == ["ingredients,nutrition", "available"]
    assert lines["lookup-data"].split("\t")[1:] == [
        "(product)",
        "unavailable: no outside lookup provider is configured",
    ]


def test_barcode_photo_confirms_or_disputes_the_product(scanserve_app, scanserve_client, api_key):
    add_product()
    session = open_session(scanserve_client, api_key.headers)
    cap = capture(scanserve_client, api_key.headers, session["id"])
    services = _services(scanserve_app)
    add_photo(services, session["id"], ean13_image(GTIN13), "barcode", capture_id=cap["id"])
    add_photo(
        services,
        session["id"],
        ean13_image("5000112637922"),
        "barcode",
        capture_id=cap["id"],
        sort_order=1,
    )
    add_photo(services, session["id"], text_image(["no code here"]), "barcode", sort_order=2)
    submit(scanserve_client, api_key.headers, session["id"])
    confirmed, disputed = proposals(scanserve_client, api_key.headers, cap["id"])
    assert confirmed["field_name"] == "name" and confirmed["source"] == "barcode"
    assert confirmed["proposed_value"] == confirmed["current_value"] == "Highlighter Yellow"
    assert confirmed["confidence"] == "1.00"
    assert confirmed["metadata"]["gtin"] == GTIN14
    assert confirmed["metadata"]["gtin_check"] == "confirmed"
    assert confirmed["metadata"]["symbology"] == "EAN13"
    assert disputed["confidence"] == "0.00"
    assert disputed["metadata"]["gtin_check"] == "mismatch"
    assert disputed["metadata"]["gtin"] == "05000112637922"
    assert "05000112637922" in disputed["reasoning"] and GTIN14 in disputed["reasoning"]


def test_lookup_data_proposes_what_the_product_lacks(scanserve_plugins, scanserve_settings):
    from scanserve.app import create_app
    from scanserve.testing import issue_key

    outside = FakeLookupProvider(
        products={
            GTIN14: ProductRecord(
                gtin=GTIN14,
                name="STABILO BOSS ORIGINAL",  # the product has a name: not proposed
                brand="Stabilo",
                ingredients="",  # nothing to propose
                image_urls=("https://img.example/boss.jpg",),
            )
        },
        name="outside-db",
        external=True,
    )
    app = create_app(scanserve_settings, extra_plugins=[outside])
    try:
        key = issue_key()
        with app.test_client() as client:
            add_product(category="Office")
            session = open_session(client, key.headers)
            cap = capture(client, key.headers, session["id"])
            submit(client, key.headers, session["id"])
            found = proposals(client, key.headers, cap["id"])
    finally:
        app.services.db.close()
    assert [(p["field_name"], p["proposed_value"], p["current_value"]) for p in found] == [
        ("brand_name", "Stabilo", ""),
        ("images", '["https://img.example/boss.jpg"]', ""),
    ]
    assert {p["source"] for p in found} == {"lookup:outside-db"}
    assert outside.asked == [GTIN14]


@WITHOUT_TESSERACT
def test_extraction_waits_for_running_captures(recorder, scanserve_app, scanserve_client, api_key):
    recorder.photo_types = frozenset({"ingredients"})
    add_product()
    session = open_session(scanserve_client, api_key.headers)
    cap = capture(scanserve_client, api_key.headers, session["id"])
    add_photo(
        _services(scanserve_app),
        session["id"],
        text_image(INGREDIENTS_PANEL),
        "ingredients",
        capture_id=cap["id"],
    )
    # As if a worker were still on the capture when the session is submitted.
    row = models.Capture.get(models.Capture.short_id == cap["id"])
    models.Capture.update(status="PENDING", product=None).where(
        models.Capture.id == row.id
    ).execute()
    submit(scanserve_client, api_key.headers, session["id"])
    assert status(scanserve_client, api_key.headers, session["id"])["extraction_status"] == (
        "processing"
    )
    assert recorder.seen == []  # nothing extracted while a capture runs
    # The capture finishes; its pipeline queues the extraction, which now runs.
    _services(scanserve_app).queue.enqueue_capture(cap["id"])
    summary = status(scanserve_client, api_key.headers, session["id"])
    assert summary["extraction_status"] == "ready"
    assert summary["captures"][0]["proposal_count"] == 1
    assert len(recorder.seen) == 1


def _leave_processing(session_id: str, *, claimed: bool, age: timedelta, attempts: int) -> None:
    models.ScanSession.update(
        status="COMPLETED",
        extraction_status="processing",
        extraction_claimed=claimed,
        extraction_changed_at=utcnow() - age,
        extraction_attempts=attempts,
    ).where(models.ScanSession.short_id == session_id).execute()


@WITHOUT_TESSERACT
def test_sweep_finishes_an_extraction_a_dead_worker_left(
    recorder, scanserve_app, scanserve_client, api_key
):
    recorder.photo_types = frozenset({"ingredients"})
    add_product()
    session = open_session(scanserve_client, api_key.headers)
    cap = capture(scanserve_client, api_key.headers, session["id"])
    services = _services(scanserve_app)
    add_photo(services, session["id"], text_image(INGREDIENTS_PANEL), "ingredients")
    stale = timedelta(seconds=services.settings.extraction_stale_seconds + 5)

    # Claimed a moment ago: a duplicate task and the sweep leave it to its worker.
    _leave_processing(session["id"], claimed=True, age=timedelta(seconds=1), attempts=1)
    services.queue.enqueue_extraction(session["id"])
    assert services.queue.sweep() == 0
    assert _session_row(session["id"]).extraction_status == "processing"
    assert recorder.seen == []

    # The worker died long ago: the sweep releases and re-queues it, and it finishes.
    _leave_processing(session["id"], claimed=True, age=stale, attempts=1)
    assert services.queue.sweep() == 1
    row = _session_row(session["id"])
    assert (row.extraction_status, row.extraction_claimed, row.extraction_attempts) == (
        "ready",
        False,
        2,
    )
    assert [
        p["proposed_value"] for p in proposals(scanserve_client, api_key.headers, cap["id"])
    ] == ["seen on ingredients"]
    assert len(recorder.seen) == 1
    # A lost message (queued, never claimed) is re-queued the same way.
    other = open_session(scanserve_client, api_key.headers)
    _leave_processing(other["id"], claimed=False, age=stale, attempts=0)
    assert services.queue.sweep() == 1
    assert _session_row(other["id"]).extraction_status == "ready"


def test_a_worker_that_lost_its_claim_writes_nothing(
    recorder, scanserve_app, scanserve_client, api_key
):
    """Worker A is slow; the sweep hands the extraction to worker B, which finishes. A's
    proposals must not be written next to B's."""
    add_product()
    session = open_session(scanserve_client, api_key.headers)
    cap = capture(scanserve_client, api_key.headers, session["id"])
    services = _services(scanserve_app)
    add_photo(services, session["id"], text_image(["front"]), "front")
    stale = timedelta(seconds=services.settings.extraction_stale_seconds + 5)
    calls = []

    def meanwhile(item: ExtractionInput) -> None:
        calls.append(item.photo.short_id if item.photo else "")
        if len(calls) == 1:  # inside worker A: A looks dead, the sweep runs B to the end
            _leave_processing(session["id"], claimed=True, age=stale, attempts=1)
            assert services.queue.sweep() == 1

    recorder.on_call = meanwhile
    submit(scanserve_client, api_key.headers, session["id"])
    assert len(calls) == 2
    assert _session_row(session["id"]).extraction_status == "ready"
    assert len(proposals(scanserve_client, api_key.headers, cap["id"])) == 1


def test_run_extraction_ignores_sessions_not_processing(scanserve_app, scanserve_client, api_key):
    session = open_session(scanserve_client, api_key.headers)
    extraction.run_extraction(_services(scanserve_app), session["id"])
    extraction.run_extraction(_services(scanserve_app), "NoSuchSessionAnywhere22")
    assert _session_row(session["id"]).extraction_status == "pending"


def test_unlinked_photos_go_to_the_sessions_one_product(
    recorder, scanserve_app, scanserve_client, api_key, caplog
):
    add_product()
    add_product("05000112637922", "Cola Classic 330 ml")
    services = _services(scanserve_app)
    # Scanned twice, one product: the unlinked photo belongs to the first scan.
    one = open_session(scanserve_client, api_key.headers)
    first = capture(scanserve_client, api_key.headers, one["id"])
    second = capture(scanserve_client, api_key.headers, one["id"])
    add_photo(services, one["id"], text_image(["front"]), "front")
    submit(scanserve_client, api_key.headers, one["id"])
    assert len(proposals(scanserve_client, api_key.headers, first["id"])) == 1
    assert proposals(scanserve_client, api_key.headers, second["id"]) == []
    # Two products: an unlinked photo is nobody's; a linked one is its capture's.
    two = open_session(scanserve_client, api_key.headers)
    pen = capture(scanserve_client, api_key.headers, two["id"])
    cola = capture(scanserve_client, api_key.headers, two["id"], raw="5000112637922")
    unlinked = add_photo(services, two["id"], text_image(["front"]), "front")
    add_photo(
        services, two["id"], text_image(["front"]), "front", capture_id=cola["id"], sort_order=1
    )
    with caplog.at_level(logging.INFO, logger="scanserve.extraction"):
        submit(scanserve_client, api_key.headers, two["id"])
    assert f"photo {unlinked.short_id} belongs to no single product" in caplog.text
    assert proposals(scanserve_client, api_key.headers, pen["id"]) == []
    assert len(proposals(scanserve_client, api_key.headers, cola["id"])) == 1


def test_lookup_data_never_sends_restricted_gtins(scanserve_settings):
    from scanserve.app import create_app
    from scanserve.testing import issue_key

    restricted = "02000000000008"  # GS1 prefix 20: a store-internal number
    outside = FakeLookupProvider(
        products={restricted: ProductRecord(gtin=restricted, name="x", brand="Leak")},
        external=True,
    )
    app = create_app(scanserve_settings, extra_plugins=[outside])
    try:
        key = issue_key()
        with app.test_client() as client:
            add_product(restricted, "Store bread")
            session = open_session(client, key.headers)
            cap = capture(client, key.headers, session["id"], raw="2000000000008")
            assert cap["product_name"] == "Store bread"
            submit(client, key.headers, session["id"])
            assert proposals(client, key.headers, cap["id"]) == []
    finally:
        app.services.db.close()
    assert outside.asked == []
