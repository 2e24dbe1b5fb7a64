"""Per-credential rate limits with the ``limits`` library (fixed windows of a minute and a
day), and the headers every response carries.

``limits`` gives us atomic counters on memory or Redis storage, so several server processes
can share one budget by pointing ``SCANSERVE_RATE_LIMIT_STORAGE_URL`` at Redis.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerMinute
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    headers: dict[str, str]
    retry_after: int


class RateLimiter:
    def __init__(self, storage_url: str):
        storage = storage_from_string(storage_url)
        self._limiter = FixedWindowRateLimiter(storage)
        # limits' memory storage increments under a lock but reads the count back after
        # releasing it, so two threads can both see the later count; one lock around our
        # increments makes each hit's answer its own. Redis increments atomically (a Lua
        # script) and needs none: the lock would not reach other processes anyway.
        self._lock: threading.Lock | contextlib.nullcontext[None] = (
            threading.Lock() if isinstance(storage, MemoryStorage) else contextlib.nullcontext()
        )

    @staticmethod
    def _windows(per_minute: int, per_day: int) -> list[tuple[RateLimitItem, int]]:
        return [(RateLimitItemPerMinute(per_minute), 60), (RateLimitItemPerDay(per_day), 86_400)]

    def hit(self, rate_key: str, per_minute: int, per_day: int) -> Verdict:
        """Count one request for ``rate_key``; allowed unless that count exceeds a window.

        Each window is hit (incremented, then compared: one atomic step in the storage), so
        of N concurrent requests exactly the budget is admitted, across threads and, on
        Redis, across processes. A request refused by the minute window does not count
        against the day; one refused by the day window has used a minute slot.
        """
        windows = self._windows(per_minute, per_day)
        allowed = True
        with self._lock:
            for item, _ in windows:
                if not self._limiter.hit(item, rate_key):
                    allowed = False
                    break
        return self._verdict(windows, rate_key, allowed)

    def _verdict(
        self, windows: list[tuple[RateLimitItem, int]], rate_key: str, allowed: bool
    ) -> Verdict:
        now = time.time()
        stats = [(item, self._limiter.get_window_stats(item, rate_key)) for item, _ in windows]
        # The most restrictive window is the one with the fewest requests left; among
        # exhausted windows, the one that stays closed longest.
        item, stat = min(stats, key=lambda s: (s[1].remaining, -s[1].reset_time))
        reset_in = max(0, math.ceil(stat.reset_time - now))
        headers = {
            "RateLimit-Policy": ", ".join(f"{i.amount};w={w}" for i, w in windows),
            "RateLimit-Limit": str(item.amount),
            "RateLimit-Remaining": str(max(0, stat.remaining)),
            "RateLimit-Reset": str(reset_in),
            "X-RateLimit-Limit": str(item.amount),
            "X-RateLimit-Remaining": str(max(0, stat.remaining)),
            "X-RateLimit-Reset": str(math.ceil(stat.reset_time)),
        }
        retry_after = 0
        if not allowed:
            retry_after = max(
                [1] + [math.ceil(s.reset_time - now) for _, s in stats if s.remaining <= 0]
            )
            headers["Retry-After"] = str(retry_after)
        return Verdict(allowed=allowed, headers=headers, retry_after=retry_after)
