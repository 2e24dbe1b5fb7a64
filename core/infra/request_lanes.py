"""Slow outbound work kept off the request path: ``POST /resolve-url`` follows a URL that may
not answer for seconds. Each call runs in a worker thread under two bounds of its own, apart
from the thread pool every other (sync) request uses:

- at most ``resolve_concurrency`` calls resolve at once in the process, on their own
  capacity limiter, never on the default pool's tokens;
- at most ``resolve_concurrency_per_caller`` of them for one caller (its rate-limit
  identity: a key, a user, or an anonymous address); the caller's further calls wait
  (holding no thread) until one of its own finishes.

So a tenant firing many resolve calls at a host that never answers ties up only its own
calls, and a fixed number of threads; everyone else's requests, resolve calls included, go on.

The same lane, keyed by organisation, bounds the images ``upload-image`` decodes while the
request waits (``image_check_concurrency``, ``image_check_concurrency_per_org``): one
organisation's flood of large images waits in its own lane, holding no thread of the pool
every other request uses, and decodes at most its share at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from anyio import CapacityLimiter, to_thread

T = TypeVar("T")


class ResolveLane:
    def __init__(self, overall: int, per_caller: int):
        self.overall_size = overall
        self.per_caller = per_caller
        self._overall: CapacityLimiter | None = None  # made on the event loop, on first use
        self._callers: dict[str, tuple[asyncio.Semaphore, int]] = {}

    async def run(self, caller: str, fn: Callable[..., T], *args: Any) -> T:
        if self._overall is None:
            self._overall = CapacityLimiter(self.overall_size)
        semaphore, users = self._callers.get(caller, (None, 0))
        if semaphore is None:
            semaphore = asyncio.Semaphore(self.per_caller)
        self._callers[caller] = (semaphore, users + 1)
        try:
            async with semaphore:
                return await to_thread.run_sync(lambda: fn(*args), limiter=self._overall)
        finally:
            semaphore, users = self._callers[caller]
            if users <= 1:
                del self._callers[caller]
            else:
                self._callers[caller] = (semaphore, users - 1)
