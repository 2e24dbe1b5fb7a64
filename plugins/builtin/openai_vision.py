"""Example plugin: a remote vision model behind an OpenAI-compatible chat completions
endpoint (OpenAI, Azure OpenAI, vLLM, Ollama, LM Studio... any server that takes images as
``image_url`` content parts with base64 ``data:`` URLs).

Off unless configured: it registers its extractor only when ``SCANSERVE_VISION_OPENAI_URL``
is set (the base URL, e.g. ``https://api.openai.com/v1``; the request goes to
``<url>/chat/completions``). Other settings: ``SCANSERVE_VISION_OPENAI_API_KEY`` (sent as a
bearer token when set), ``SCANSERVE_VISION_OPENAI_MODEL`` (``gpt-4o-mini``),
``SCANSERVE_VISION_OPENAI_TIMEOUT_SECONDS`` (30) and ``SCANSERVE_VISION_OPENAI_PHOTO_TYPES``
(a JSON list; front, back, ingredients, nutrition by default).

Each photo is sent once with the organisation's current product fields; the model is asked
for a JSON object ``{"proposals": [{"field_name", "proposed_value", "confidence",
"reasoning"}]}``. Its answer is checked, not trusted: an answer that is not such a JSON
object (code fences around it are tolerated) raises :class:`ProviderError`, so the core logs
the photo as skipped; items naming an unknown field, a non-text value or a value equal to
the current one are dropped; confidences are clamped to 0..1. An HTTP error or a timeout
raises :class:`ProviderError` too. It is written as any third-party plugin would be, against
the public surface only, so it doubles as an example.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

import httpx

from scanserve.plugins.hookspecs import hookimpl
from scanserve.plugins.providers import (
    PROPOSAL_FIELDS,
    ExtractionInput,
    Extractor,
    ProposalDraft,
    ProviderError,
)

PROMPT = (
    "You read photos of retail product packaging and suggest values for product fields. "
    "Answer with one JSON object and nothing else: "
    '{"proposals": [{"field_name": F, "proposed_value": TEXT, "confidence": 0..1, '
    '"reasoning": TEXT}]}. F is one of: ' + ", ".join(PROPOSAL_FIELDS) + ". "
    "Propose only what the photo shows legibly; leave fields out otherwise. For images, "
    "never propose anything. Give an empty list when the photo shows nothing useful."
)
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class OpenAIVisionExtractor:
    name = "openai-vision"

    def __init__(
        self,
        client: httpx.Client,
        *,
        base_url: str,
        model: str,
        api_key: str = "",
        photo_types: frozenset[str] = frozenset({"front", "back", "ingredients", "nutrition"}),
    ):
        self.client = client
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.photo_types = photo_types

    def _request(self, item: ExtractionInput) -> dict[str, Any]:
        assert item.photo is not None
        data_url = f"data:{item.photo.content_type};base64," + base64.b64encode(
            item.photo.data
        ).decode("ascii")
        known = {name: value for name, value in item.current.items() if name != "images"}
        return {
            "model": self.model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": PROMPT},
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "text",
                            "text": f"Photo type: {item.photo.photo_type}. GTIN: "
                            f"{item.gtin or 'unknown'}. Current fields: "
                            + json.dumps(known, ensure_ascii=False),
                        },
                        {"type": "image_url", "image_url": {"url": data_url}},
                    ],
                },
            ],
        }

    def extract(self, item: ExtractionInput) -> list[ProposalDraft]:
        if item.photo is None:
            return []
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            response = self.client.post(self.url, json=self._request(item), headers=headers)
        except httpx.TimeoutException:
            raise ProviderError("the vision model gave no answer in time") from None
        except httpx.HTTPError as exc:
            raise ProviderError(f"the vision model could not be reached: {exc}") from None
        if response.status_code != 200:
            raise ProviderError(f"the vision model answered HTTP {response.status_code}")
        return self.parse(response, item)

    def parse(self, response: httpx.Response, item: ExtractionInput) -> list[ProposalDraft]:
        try:
            content = response.json()["choices"][0]["message"]["content"]
            if isinstance(content, list):  # content parts
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            fenced = _FENCE.match(content)
            answer = json.loads(fenced.group(1) if fenced else content)
            items = answer["proposals"]
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ProviderError(f"the vision model's answer is malformed: {exc!r}") from None
        if not isinstance(items, list):
            raise ProviderError("the vision model's answer is malformed: proposals is no list")
        drafts = []
        for entry in items:
            if not isinstance(entry, dict):
                continue
            field_name, value = entry.get("field_name"), entry.get("proposed_value")
            if field_name not in PROPOSAL_FIELDS or field_name == "images":
                continue
            if not isinstance(value, str) or not value.strip():
                continue
            if value.strip() == item.current.get(field_name, ""):
                continue
            try:
                confidence = min(1.0, max(0.0, float(entry.get("confidence", 0.5))))
            except (TypeError, ValueError):
                confidence = 0.5
            reasoning = entry.get("reasoning")
            drafts.append(
                ProposalDraft(
                    field_name=field_name,
                    proposed_value=value.strip(),
                    confidence=confidence,
                    reasoning=reasoning if isinstance(reasoning, str) else "",
                    source=f"vision:{self.model}"[:100],
                    metadata={"photo_id": item.photo.short_id} if item.photo else {},
                )
            )
        return drafts


@hookimpl
def register_extractors(register: Callable[[Extractor], None], settings: Any) -> None:
    if not settings.vision_openai_url:
        return
    client = httpx.Client(timeout=settings.vision_openai_timeout_seconds, trust_env=False)
    register(
        OpenAIVisionExtractor(
            client,
            base_url=settings.vision_openai_url,
            model=settings.vision_openai_model,
            api_key=settings.vision_openai_api_key,
            photo_types=frozenset(settings.vision_openai_photo_types),
        )
    )
