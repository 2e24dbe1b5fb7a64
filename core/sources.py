"""Where the process's time and new ids come from: one clock and one id source.

Every timestamp a response can carry (``created``, ``modified``, expiries, the problem
documents' ``timestamp``, the rate-limit reset headers, idempotency records) is read from
:func:`utcnow` or :func:`epoch`, and every id the server mints (short ids of rows, proposal
UUIDs) from :func:`new_short_id` or :func:`new_uuid`. By default they are the system clock
and random ids. The composition root may :func:`install` others before it builds anything:
``scanserve sandbox`` installs a :class:`SettableClock` that starts at a fixed instant and
moves only when told, and :class:`SeededIds` drawn from its seed, so that one scripted client
run answers the same bytes every time. Nothing on the request path asks which is installed.

The lowest layer of the import contract: it imports nothing of scanserve.
"""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Protocol

import shortuuid


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, an aware UTC datetime."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SettableClock:
    """A clock that stands still at ``start`` and moves only by :meth:`advance` or
    :meth:`set` (``ticking=True``: it runs with real time from ``start`` on)."""

    def __init__(self, start: datetime, *, ticking: bool = False) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock's start must be an aware datetime")
        self.start = start.astimezone(UTC)
        self.ticking = ticking
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._origin = datetime.now(UTC)

    def now(self) -> datetime:
        with self._lock:
            moved = datetime.now(UTC) - self._origin if self.ticking else timedelta(0)
            return self.start + self._offset + moved

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock does not go back")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def set(self, instant: datetime) -> datetime:
        """Move to ``instant`` (an aware datetime, not before the clock's current time)."""
        if instant.tzinfo is None:
            raise ValueError("the instant must name its time zone")
        behind = instant - self.now()
        if behind < timedelta(0):
            raise ValueError("the clock does not go back")
        with self._lock:
            self._offset += behind
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta(0)
            self._origin = datetime.now(UTC)


class IdSource(Protocol):
    def short_id(self) -> str: ...

    def uuid(self) -> uuid.UUID: ...


class RandomIds:
    def short_id(self) -> str:
        return str(shortuuid.uuid())

    def uuid(self) -> uuid.UUID:
        return uuid.uuid4()


class SeededIds:
    """Version-4 UUIDs (and their shortuuids) drawn in order from a generator seeded with
    ``seed``: the same seed and the same order of requests give the same ids."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self._random = random.Random(seed)  # noqa: S311 - reproducible on purpose, no secret

    def uuid(self) -> uuid.UUID:
        with self._lock:
            bits = self._random.getrandbits(128)
        return uuid.UUID(int=bits, version=4)

    def short_id(self) -> str:
        return str(shortuuid.encode(self.uuid()))

    def reset(self) -> None:
        with self._lock:
            self._random = random.Random(self.seed)  # noqa: S311


_clock: Clock = SystemClock()
_ids: IdSource = RandomIds()


def install(clock: Clock | None = None, ids: IdSource | None = None) -> None:
    """Use ``clock`` and ``ids`` from now on (None: the system clock, random ids). Called by a
    composition root before it builds anything, never on the request path."""
    global _clock, _ids  # noqa: PLW0603 - the one place the process's sources are chosen
    _clock = clock if clock is not None else SystemClock()
    _ids = ids if ids is not None else RandomIds()


def utcnow() -> datetime:
    return _clock.now()


def epoch() -> float:
    """The current instant as Unix time (seconds)."""
    return _clock.now().timestamp()


def new_short_id() -> str:
    return _ids.short_id()


def new_uuid() -> uuid.UUID:
    return _ids.uuid()
