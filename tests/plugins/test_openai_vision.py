"""The example remote-vision plugin against a fake OpenAI-compatible server on loopback (real
HTTP): what it sends (the model, the photo as a base64 data URL, the bearer key), what it
makes of good answers, and that malformed answers, HTTP errors and timeouts only skip the
photo. Off unless configured."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from extraction_support import (
    FakeOpenAI,
    add_photo,
    add_product,
    capture,
    open_session,
    proposals,
    status,
    text_image,
)
from extraction_support import submit as submit_session

from scanserve.app import create_app
from scanserve.testing import issue_key

# A real image: extraction reads a photo's header (its pixel limit) before any extractor
# sees it, and skips one that is not an image; the fake model does not look at it.
PHOTO = text_image(["a front photo"])


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    yield server
    server.close()


@pytest.fixture
def vision_app(scanserve_settings, fake_openai) -> Iterator[Any]:
    settings = scanserve_settings.model_copy(
        update={
            "vision_openai_url": fake_openai.base_url,
            "vision_openai_api_key": "sk-test-123",
            "vision_openai_model": "tiny-vision",
            "vision_openai_timeout_seconds": 0.5,
            "vision_openai_photo_types": ["front"],
        }
    )
    app = create_app(settings)
    yield app
    app.services.db.close()


def _run(app: Any) -> tuple[str, list[dict[str, Any]]]:
    key = issue_key()
    with app.test_client() as client:
        add_product()
        session = open_session(client, key.headers)
        cap = capture(client, key.headers, session["id"])
        add_photo(app.services, session["id"], PHOTO, "front", capture_id=cap["id"])
        submit_session(client, key.headers, session["id"])
        state = status(client, key.headers, session["id"])["extraction_status"]
        return state, proposals(client, key.headers, cap["id"])


def test_proposals_from_the_model(vision_app, fake_openai):
    answer = {
        "proposals": [
            {
                "field_name": "brand_name",
                "proposed_value": "STABILO",
                "confidence": 0.87,
                "reasoning": "Brand mark on the cap.",
            },
            {"field_name": "name", "proposed_value": "Highlighter Yellow", "confidence": 0.9},
            {"field_name": "gtin", "proposed_value": "123", "confidence": 1},
            {"field_name": "description", "proposed_value": 42},
            {"field_name": "ai_summary", "proposed_value": "A highlighter.", "confidence": 7},
            "nonsense",
        ]
    }
    fake_openai.answer("```json\n" + json.dumps(answer) + "\n```")
    state, found = _run(vision_app)
    assert state == "ready"
    # The unknown field, the non-text value, the unchanged name and the string are dropped.
    assert [(p["field_name"], p["proposed_value"], p["confidence"]) for p in found] == [
        ("brand_name", "STABILO", "0.87"),
        ("ai_summary", "A highlighter.", "1.00"),
    ]
    assert found[0]["source"] == "vision:tiny-vision"
    assert found[0]["reasoning"] == "Brand mark on the cap."

    [(headers, body)] = fake_openai.requests
    assert headers["Authorization"] == "Bearer sk-test-123"
    assert body["model"] == "tiny-vision"
    parts = body["messages"][1]["content"]
    image = next(p for p in parts if p["type"] == "image_url")
    assert image["image_url"]["url"] == (
        "data:image/png;base64," + base64.b64encode(PHOTO).decode()
    )
    text = next(p for p in parts if p["type"] == "text")["text"]
    assert "Photo type: front" in text and "Highlighter Yellow" in text


@pytest.mark.parametrize(
    "reply",
    [
        "this is not JSON",
        json.dumps({"proposals": "brand_name=STABILO"}),
        json.dumps({"answer": []}),
        None,
    ],
    ids=["prose", "proposals-not-a-list", "no-proposals-key", "null-content"],
)
def test_malformed_answers_skip_the_photo(vision_app, fake_openai, reply, caplog):
    fake_openai.answer(reply)
    state, found = _run(vision_app)
    assert (state, found) == ("ready", [])
    assert "extractor openai-vision failed" in caplog.text
    assert "malformed" in caplog.text


def test_http_errors_and_timeouts_skip_the_photo(vision_app, fake_openai, caplog):
    fake_openai.reply = (500, b'{"error": "overloaded"}')
    assert _run(vision_app) == ("ready", [])
    assert "HTTP 500" in caplog.text
    fake_openai.answer(json.dumps({"proposals": []}))
    fake_openai.delay = 5  # beyond the 0.5 s the settings allow
    assert _run(vision_app) == ("ready", [])
    assert "no answer in time" in caplog.text
    assert len(fake_openai.requests) == 2


def test_off_unless_configured(scanserve_app):
    names = [e.name for e in scanserve_app.services.plugins.extractors]
    assert "openai-vision" not in names
    assert names == ["barcode", "rapidocr", "tesseract-ocr", "lookup-data"]
