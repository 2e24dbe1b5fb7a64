"""Per-credential rate limits (fixed windows of a minute and a day), and the headers every
response carries.

Several server processes share one budget by pointing ``SCANSERVE_RATE_LIMIT_STORAGE_URL`` at
Redis: there one Lua script counts both windows and reads back what the headers need, one
round trip per request (:class:`_RedisWindows`). ``memory://`` (one process) is counted here,
the same way (:class:`_MemoryWindows`); any other storage the ``limits`` library knows is
counted by ``limits``.

When that store cannot be reached (Redis stopped or restarting), requests are still served:
they are counted in this process instead (:class:`_MemoryWindows`, so each process of a
fleet admits up to the whole budget meanwhile), with one warning when the store goes and
one when it returns. While it is down no request touches it; a thread tries it again with
exponential back-off (capped) and counting goes back to it as soon as it answers.
:meth:`RateLimiter.state` says which is counting, for readiness; :meth:`RateLimiter.check`
(at start-up) warns when the store is unreachable from the start.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from limits import RateLimitItemPerDay, RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from scanserve import sources
from scanserve.infra import metrics
from scanserve.infra.outage import Outage

logger = logging.getLogger("scanserve.ratelimit")

_REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    headers: dict[str, str]
    retry_after: int


class RateLimiter:
    def __init__(self, storage_url: str):
        # memory:// is counted here (see _MemoryWindows), Redis by one script (_RedisWindows);
        # anything else by ``limits``, whose storages increment atomically.
        self._counter: _MemoryWindows | _RedisWindows | _LimitsWindows
        if storage_url.startswith("memory:"):
            self._counter = _MemoryWindows()
        elif storage_url.startswith(_REDIS_SCHEMES):
            self._counter = _RedisWindows(storage_url)
        else:
            self._counter = _LimitsWindows(storage_url)
        # A shared store's stand-in while it is unreachable (None: counted here anyway).
        self._fallback = None if isinstance(self._counter, _MemoryWindows) else _MemoryWindows()
        self.outage = Outage("the rate-limit store", logger)
        self._probing: threading.Thread | None = None
        self._probe_lock = threading.Lock()

    def hit(self, rate_key: str, per_minute: int, per_day: int) -> Verdict:
        """Count one request for ``rate_key``; allowed unless that count exceeds a window.

        Each window is hit (incremented, then compared: one atomic step in the storage), so
        of N concurrent requests exactly the budget is admitted, across threads and, on
        Redis, across processes. A request refused by the minute window does not count
        against the day; one refused by the day window has used a minute slot.

        A store that cannot be reached never fails the request: it is counted in this
        process until the store answers again (see the module docstring).
        """
        limits = ((per_minute, 60), (per_day, 86_400))
        fallback = self._fallback
        if fallback is None:
            return _verdict(*self._counter.hit(rate_key, limits))
        if self.outage.down:
            metrics.recorder().rate_limit_fallback()
            return _verdict(*fallback.hit(rate_key, limits))
        try:
            return _verdict(*self._counter.hit(rate_key, limits))
        except Exception as exc:  # whatever the store's client raises: count here instead
            self._lost(exc)
            metrics.recorder().rate_limit_fallback()
            return _verdict(*fallback.hit(rate_key, limits))

    def check(self) -> bool:
        """Try the store once (at start-up); a warning and counting in this process when it
        cannot be reached. Whether it answered."""
        if self._fallback is None:
            return True
        try:
            self._counter.ping()
        except Exception as exc:
            self._lost(exc)
            return False
        return True

    def state(self) -> dict[str, object]:
        """For readiness: ``{"status": "up", "store": ...}``, or ``"degraded"`` with the
        store's error while requests are counted in this process instead."""
        store = "memory" if self._fallback is None else type(self._counter).store
        if not self.outage.down:
            return {"status": "up", "store": store}
        return {
            **self.outage.state(),
            "status": "degraded",
            "store": store,
            "counting": "in this process until the store answers",
        }

    def _lost(self, exc: BaseException) -> None:
        self.outage.failed(exc)
        with self._probe_lock:
            if self._probing is None:
                self._probing = threading.Thread(
                    target=self._probe, name="scanserve-ratelimit-probe", daemon=True
                )
                self._probing.start()

    def _probe(self) -> None:
        """Try the store with back-off until it answers; then counting goes back to it."""
        while True:
            time.sleep(max(0.05, self.outage.wait_seconds()))
            try:
                self._counter.ping()
            except Exception as exc:
                self.outage.failed(exc)
                continue
            with self._probe_lock:
                self._probing = None
                self.outage.recovered()
            return


_LIMITS_ITEMS = {60: RateLimitItemPerMinute, 86_400: RateLimitItemPerDay}


class _LimitsWindows:
    """The windows counted by the ``limits`` library, for the storages it knows other than
    memory and Redis."""

    store = "limits"

    def __init__(self, url: str):
        self._storage = storage_from_string(url)
        self._limiter = FixedWindowRateLimiter(self._storage)

    def ping(self) -> None:
        if not self._storage.check():
            raise ConnectionError("the rate-limit storage does not answer")

    def hit(
        self, rate_key: str, limits: tuple[tuple[int, int], ...]
    ) -> tuple[bool, list[WindowFigures]]:
        """Count a hit in each window, in order, stopping at the first that it exceeds;
        whether all admitted it, and each window's figures after it."""
        items = [_LIMITS_ITEMS[seconds](amount) for amount, seconds in limits]
        allowed = True
        for item in items:
            if not self._limiter.hit(item, rate_key):
                allowed = False
                break
        figures: list[WindowFigures] = []
        for item, (amount, seconds) in zip(items, limits, strict=True):
            stats = self._limiter.get_window_stats(item, rate_key)
            figures.append((amount, seconds, stats.remaining, stats.reset_time))
        return allowed, figures


# One window's figures for the headers: (amount, seconds, remaining, reset at (Unix time)).
WindowFigures = tuple[int, int, int, float]


def _verdict(allowed: bool, windows: list[WindowFigures]) -> Verdict:
    now = sources.epoch()
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
    store = "memory"

    def ping(self) -> None:
        pass  # always here

    def __init__(self, clock: Callable[[], float] = sources.epoch):
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


# KEYS[i] counts window i; ARGV[2i-1] and ARGV[2i] are its limit and its length in ms.
# Windows are counted in order up to the first the hit exceeds (the later ones are only
# read); a window opens at its first hit. Returns {allowed, count_1, ms_left_1, ...}, where
# ms_left is negative for a window never opened.
_HIT_SCRIPT = """
local allowed = 1
local out = {1}
for i, key in ipairs(KEYS) do
    local count, left
    if allowed == 1 then
        count = redis.call('INCR', key)
        left = redis.call('PTTL', key)
        if left < 0 then
            left = tonumber(ARGV[2 * i])
            redis.call('PEXPIRE', key, left)
        end
        if count > tonumber(ARGV[2 * i - 1]) then
            allowed = 0
        end
    else
        count = tonumber(redis.call('GET', key) or '0')
        left = redis.call('PTTL', key)
    end
    out[2 * i] = count
    out[2 * i + 1] = left
end
out[1] = allowed
return out
"""

_GRANULARITY = {60: "minute", 86_400: "day"}


class _RedisWindows:
    """Both windows of a hit in one round trip: a Lua script, run with EVALSHA (redis-py's
    registered script loads it again when the server answers NOSCRIPT, after a restart or
    a SCRIPT FLUSH). Redis runs a script atomically, so of N concurrent hits in any number
    of processes exactly the budget is admitted, and each hit's figures are its own.

    The counters are the keys ``limits`` used for these windows (``LIMITS:LIMITER/<rate
    key>/<amount>/1/<minute|day>``, a changed limit opening a new window), so servers of the
    previous release and this one count in the same budget during a rolling upgrade."""

    def __init__(self, url: str):
        if url.startswith("redis+unix://"):  # limits' spelling of redis-py's unix://
            url = "unix://" + url.removeprefix("redis+unix://")
        # A Redis that does not answer must not hold requests: after these the request is
        # counted in the process instead (RateLimiter.hit).
        self._client = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0)
        self._script = self._client.register_script(_HIT_SCRIPT)

    store = "redis"

    def ping(self) -> None:
        self._client.ping()

    def hit(
        self, rate_key: str, limits: tuple[tuple[int, int], ...]
    ) -> tuple[bool, list[WindowFigures]]:
        """Count a hit in each window, in order, stopping at the first that it exceeds;
        whether all admitted it, and each window's figures after it."""
        keys = [f"LIMITS:LIMITER/{rate_key}/{a}/1/{_GRANULARITY[s]}" for a, s in limits]
        args = [v for amount, seconds in limits for v in (amount, seconds * 1000)]
        answer = self._script(keys, args)
        now = sources.epoch()
        figures: list[WindowFigures] = []
        for i, (amount, seconds) in enumerate(limits):
            count, left = answer[2 * i + 1], answer[2 * i + 2]
            figures.append((amount, seconds, max(0, amount - count), now + max(0, left) / 1000))
        return bool(answer[0]), figures
