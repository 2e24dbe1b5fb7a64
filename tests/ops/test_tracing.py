"""OpenTelemetry tracing (``SCANSERVE_TRACING=true``, ``scanserve[otel]``): a span a request,
a span for the queued capture whose parent is the request that posted it (the context rides
the queue), and a span a provider call inside it. The real app with its embedded queue's
capture lanes, spans recorded in memory by the SDK."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from scanserve.app import create_app
from scanserve.domain import catalog_import
from scanserve.infra import tracing
from scanserve.settings import Settings
from scanserve.testing import issue_key, wait_for

BASE = "/scanner/api/v1"
GTIN = "4006381333931"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    assert tracing.enable(provider)
    try:
        yield exporter
    finally:
        tracing.disable()
        provider.shutdown()


def test_a_capture_is_traced_from_its_request_through_the_queue(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        queue="embedded",
        tracing=True,
        load_entrypoint_plugins=False,
        validate_responses=True,
    )
    app = create_app(settings, start_queue=True)
    key = issue_key("Traced")
    csv = tmp_path / "catalog.csv"
    csv.write_text(f"gtin,name,gpc_brick_code\n{GTIN},Highlighter,10000025\n")
    catalog_import.import_file(csv)
    with app.test_client() as client:
        session = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()
        body = {"session_id": session["id"], "capture_type": "BARCODE", "raw_value": GTIN}
        posted = client.post(f"{BASE}/captures", json=body, headers=key.headers)
        assert posted.status_code == 201, posted.text
        capture_id = posted.json()["id"]

        def done() -> bool:
            answer = client.get(f"{BASE}/captures/{capture_id}", headers=key.headers)
            return answer.json()["status"] == "COMPLETED"

        wait_for(done, 30, "the capture to be COMPLETED")
        wait_for(
            lambda: any(s.name == "process_capture" for s in spans.get_finished_spans()),
            10,
            "the capture's span to end",
        )
    finished: list[Any] = list(spans.get_finished_spans())
    request = [s for s in finished if s.name == "createCapture"]
    assert len(request) == 1, [s.name for s in finished]
    assert request[0].attributes["http.response.status_code"] == 201
    assert request[0].attributes["request_id"] == posted.headers["X-Request-ID"]
    task = [s for s in finished if s.name == "process_capture"]
    assert len(task) == 1
    # linked across the queue: the same trace, the request's span its parent
    assert task[0].context.trace_id == request[0].context.trace_id
    assert task[0].parent.span_id == request[0].context.span_id
    assert task[0].attributes["capture_id"] == capture_id
    calls = [s for s in finished if s.attributes.get("hook") == "enrichment"]
    assert calls and all(s.parent.span_id == task[0].context.span_id for s in calls)
    # every request its own span, named by its operation
    assert {"createSession", "createCapture", "getCapture"} <= {s.name for s in finished}


def test_tracing_off_makes_no_spans(tmp_path: Path) -> None:
    assert not tracing.enabled()
    with tracing.span("anything") as span:
        assert span is None
    assert tracing.carrier() is None and tracing.extract({"traceparent": "x"}) is None
