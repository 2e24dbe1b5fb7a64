"""One dependency's outage as this process sees it: whether it is down, since when, and when
to try it again (exponential back-off, capped), with one log line when it goes down and one
when it returns, however many callers notice meanwhile.

Used by the queue's relay (:mod:`scanserve.infra.relay`), ``scanserve worker``'s consumer threads
(:mod:`scanserve.infra.queue`) and the rate limiter's fallback (:mod:`scanserve.infra.ratelimit`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

# Exceptions that mean "the dependency cannot be reached", not "we have a bug": a refused or
# dropped connection, a timeout, Redis still loading its data after a restart.
try:  # redis is a dependency of the Redis queue and limits only
    from redis.exceptions import ConnectionError as _RedisConnectionError
    from redis.exceptions import TimeoutError as _RedisTimeoutError

    UNREACHABLE: tuple[type[BaseException], ...] = (
        _RedisConnectionError,
        _RedisTimeoutError,
        OSError,
    )
except ImportError:  # pragma: no cover - redis is installed with scanserve
    UNREACHABLE = (OSError,)


class Outage:
    """``failed()`` each time the dependency could not be reached, ``recovered()`` each time it
    could; ``due()`` says whether a probe should be made now. Thread-safe."""

    def __init__(
        self,
        name: str,
        logger: logging.Logger,
        *,
        first_delay: float = 0.25,
        max_delay: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        on_recovered: Callable[[float], None] | None = None,
    ):
        self.name = name
        # called (outside the lock, in the thread that saw the dependency answer again) with
        # the instant on ``clock`` at which the outage was first noticed
        self._on_recovered = on_recovered
        self._logger = logger
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._clock = clock
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self.last_error = ""
        self._delay = first_delay
        self._next_probe = 0.0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, error: BaseException | str) -> float:
        """Note a failure; returns how long to wait before the next try (the back-off)."""
        with self._lock:
            now = self._clock()
            self.last_error = str(error) or type(error).__name__
            if self.down_since is None:
                self.down_since = now
                self._delay = self._first_delay
                self._logger.warning(
                    "%s is unreachable (%s); retrying with back-off up to %g s",
                    self.name,
                    self.last_error,
                    self._max_delay,
                )
            else:
                self._delay = min(self._max_delay, self._delay * 2)
            self._next_probe = now + self._delay
            return self._delay

    def recovered(self) -> None:
        if self.down_since is None:  # the usual case: no lock taken
            return
        with self._lock:
            if self.down_since is None:
                return
            began = self.down_since
            seconds = self._clock() - began
            self.down_since = None
            self.last_error = ""
            self._delay = self._first_delay
            self._logger.warning("%s is reachable again after %.1f s", self.name, seconds)
        if self._on_recovered is not None:
            self._on_recovered(began)

    def due(self) -> bool:
        """Whether to try the dependency now: always while it is up; while it is down, once
        the back-off has passed."""
        return self.down_since is None or self._clock() >= self._next_probe

    def wait_seconds(self) -> float:
        """How long until the next probe is due (0 while up)."""
        if self.down_since is None:
            return 0.0
        return max(0.0, self._next_probe - self._clock())

    def state(self) -> dict[str, object]:
        """For readiness: ``{"status": "up"}`` or ``{"status": "down", "error": ...,
        "down_seconds": ...}``."""
        since = self.down_since
        if since is None:
            return {"status": "up"}
        return {
            "status": "down",
            "error": self.last_error,
            "down_seconds": round(self._clock() - since, 1),
        }
