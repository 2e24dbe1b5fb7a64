"""Extractors for tests, registered as plugins."""

from __future__ import annotations

from collections.abc import Callable

from scanserve.plugins.hookspecs import hookimpl
from scanserve.plugins.providers import ExtractionInput, Extractor, ProposalDraft

DRAFTS = [
    ("name", "Highlighter Yellow (pack of 4)"),
    ("ingredients", "Water, pigment."),
    ("ai_summary", "A yellow highlighter."),
]


class ProposingExtractor:
    """Proposes ``DRAFTS`` for a front photo, whatever it shows."""

    name = "front-reader"
    photo_types = frozenset({"front"})

    def extract(self, item: ExtractionInput) -> list[ProposalDraft]:
        return [
            ProposalDraft(field_name=f, proposed_value=v, confidence=0.9, reasoning="test")
            for f, v in DRAFTS
        ]

    @hookimpl
    def register_extractors(self, register: Callable[[Extractor], None]) -> None:
        register(self)
