"""Per-credential rate limits with the ``limits`` library (fixed windows of a minute and a
day), and the headers every response carries.

``limits`` gives us atomic counters on Redis storage, so several server processes can share
one budget by pointing ``SCANSERVE_RATE_LIMIT_STORAGE_URL`` at Redis; ``memory://`` (one
process) is counted here, the same way.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    headers: dict[str, str]
    retry_after: int


class RateLimiter:
    def __init__(self, storage_url: str):
        # memory:// is counted here (see _MemoryWindows); anything else (Redis) by ``limits``,
        # whose storage increments atomically (a Lua script), across processes too.
        self._memory = _MemoryWindows() if storage_url.startswith("memory:") else None
        self._limiter = (
            None if self._memory else FixedWindowRateLimiter(storage_from_string(storage_url))
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
        if self._memory is not None:
            counted = self._memory.hit(rate_key, ((per_minute, 60), (per_day, 86_400)))
            return _verdict(*counted)
        limiter = self._limiter
        assert limiter is not None
        windows = self._windows(per_minute, per_day)
        allowed = True
        for item, _ in windows:
            if not limiter.hit(item, rate_key):
                allowed = False
                break
        stats = [limiter.get_window_stats(item, rate_key) for item, _ in windows]
        return _verdict(
            allowed,
            [
                (item.amount, w, s.remaining, s.reset_time)
                for (item, w), s in zip(windows, stats, strict=True)
            ],
        )


# One window's figures for the headers: (amount, seconds, remaining, reset at (Unix time)).
WindowFigures = tuple[int, int, int, float]


def _verdict(allowed: bool, windows: list[WindowFigures]) -> Verdict:
    now = time.time()
    # The most restrictive window is the one with the fewest requests left; among
    # exhausted windows, the one that stays closed longest.
    amount, _, remaining, reset_time = min(windows, key=lambda w: (w[2], -w[3]))
    reset_in = max(0, math.ceil(reset_time - now))
    headers = {
        "RateLimit-Policy": ", ".join(f"{a};w={w}" for a, w, _, _ in windows),
        "RateLimit-Limit": str(amount),
        "RateLimit-Remaining": str(max(0, remaining)),
        "RateLimit-Reset": str(reset_in),
        "X-RateLimit-Limit": str(amount),
        "X-RateLimit-Remaining": str(max(0, remaining)),
        "X-RateLimit-Reset": str(math.ceil(reset_time)),
    }
    retry_after = 0
    if not allowed:
        retry_after = max([1] + [math.ceil(r - now) for _, _, left, r in windows if left <= 0])
        headers["Retry-After"] = str(retry_after)
    return Verdict(allowed=allowed, headers=headers, retry_after=retry_after)


class _MemoryWindows:
    """Fixed windows counted in this process, as ``limits``' memory storage counts them (a
    window opens at its first hit and a changed limit is a new window), without its expiry
    thread: that storage starts a timer thread whenever the previous one has ended, about
    every hundredth of a second under load, and the request that starts it waits until the
    new thread runs. Here ended windows are dropped when met, and all of them by a sweep at
    most once a minute. One lock makes each hit's count its own."""

    _SWEEP_SECONDS = 60.0

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        # (rate key, amount, seconds) -> [count, the window's end]
        self._windows: dict[tuple[str, int, int], list[Any]] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + self._SWEEP_SECONDS

    def hit(
        self, rate_key: str, limits: tuple[tuple[int, int], ...]
    ) -> tuple[bool, list[WindowFigures]]:
        """Count a hit in each window, in order, stopping at the first that it exceeds;
        whether all admitted it, and each window's figures after it."""
        now = self._clock()
        allowed = True
        figures: list[WindowFigures] = []
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            for amount, seconds in limits:
                key = (rate_key, amount, seconds)
                window = self._windows.get(key)
                if window is not None and window[1] <= now:
                    del self._windows[key]
                    window = None
                if allowed:
                    if window is None:
                        window = self._windows[key] = [0, now + seconds]
                    window[0] += 1
                    allowed = window[0] <= amount
                if window is None:
                    figures.append((amount, seconds, amount, now))
                else:
                    figures.append((amount, seconds, max(0, amount - window[0]), window[1]))
        return allowed, figures

    def _sweep(self, now: float) -> None:
        self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
        self._next_sweep = now + self._SWEEP_SECONDS
