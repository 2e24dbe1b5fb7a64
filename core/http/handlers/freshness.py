"""Scanner Freshness operations."""

from __future__ import annotations

from anyio import to_thread

from scanserve.domain import freshness
from scanserve.generated import shapes
from scanserve.http import presenters
from scanserve.http.context import principal, read, services


async def get_freshness_thresholds(gtin: str) -> shapes.FreshnessThresholds:
    # A few small reads and the built-in layers' in-memory answer: on the event loop where
    # reads may run there (scanserve.http.context.read); an installed freshness plugin may do
    # I/O, so with one the whole answer is computed in a worker thread.
    svc, caller = services(), principal()
    if svc.plugins.freshness_in_memory():
        result = await read(freshness.thresholds, svc, caller, gtin)
    else:
        result = await to_thread.run_sync(freshness.thresholds, svc, caller, gtin)
    return presenters.freshness_view(result)
