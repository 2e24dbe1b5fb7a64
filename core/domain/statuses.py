"""A capture's states (see :mod:`scanserve.domain.pipeline` for how it moves between them), in
the lowest module that needs them: captures, the pipeline and extraction all read them."""

from __future__ import annotations

PENDING, LOOKING_UP, ENRICHING, RESOLVING = "PENDING", "LOOKING_UP", "ENRICHING", "RESOLVING"
COMPLETED, FAILED, NOT_FOUND = "COMPLETED", "FAILED", "NOT_FOUND"
TERMINAL = frozenset({COMPLETED, FAILED, NOT_FOUND})
RETRYABLE = frozenset({FAILED, NOT_FOUND})
