"""A short-lived, per-process cache of authenticated API keys.

Authenticating a key is a database query (and a thread hop to make it) on every request. A
hit here answers from memory on the event loop instead. Entries live for ``ttl`` seconds
(``SCANSERVE_AUTH_CACHE_SECONDS``, at most 1), counted from the database check that made
them, and are never extended by use: a key revoked (or expired) in any process, through the
CLI or the database, is refused by every process within that time. Only API keys that
authenticated are kept: a refusal is always looked up again, so a key that becomes valid
works at once, and bearer tokens and browser sessions (sign-out must end them at once, and
a cookie's CSRF token is checked per request) are always looked up. The cache is bounded;
the oldest entries leave first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from scanserve.identity.auth import Credentials, Principal


class AuthCache:
    def __init__(
        self, ttl: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ):
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Credentials, tuple[float, Principal]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, creds: Credentials) -> Principal | None:
        if self.ttl <= 0:
            return None
        entry = self._entries.get(creds)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            with self._lock:
                self._entries.pop(creds, None)
            return None
        return entry[1]

    def put(self, creds: Credentials, principal: Principal, checked_at: float) -> None:
        """Keep ``principal`` until ``checked_at`` (the clock before the lookup) + ttl."""
        if self.ttl <= 0 or principal.via != "api_key":
            return
        with self._lock:
            self._entries[creds] = (checked_at + self.ttl, principal)
            self._entries.move_to_end(creds)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def now(self) -> float:
        return self._clock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
