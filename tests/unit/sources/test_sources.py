"""scanserve.sources: the clock and the id source a composition root may install."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import shortuuid

from scanserve import sources
from scanserve.sources import SeededIds, SettableClock

START = datetime(2026, 1, 1, 9, tzinfo=UTC)


@pytest.fixture
def installed() -> Iterator[None]:
    yield
    sources.install()  # the system clock and random ids again, for the rest of the process


def test_a_settable_clock_stands_still_and_moves_only_forward():
    clock = SettableClock(START)
    assert clock.now() == clock.now() == START
    assert clock.advance(90) == START + timedelta(seconds=90)
    assert clock.set(START + timedelta(days=1)) == START + timedelta(days=1)
    with pytest.raises(ValueError, match="does not go back"):
        clock.set(START)
    with pytest.raises(ValueError, match="does not go back"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="time zone"):
        clock.set(datetime(2027, 1, 1))  # naive: refused
    clock.reset()
    assert clock.now() == START


def test_a_ticking_clock_runs_from_its_start():
    clock = SettableClock(START, ticking=True)
    first = clock.now()
    assert START <= first < START + timedelta(minutes=5)
    assert clock.now() >= first


def test_seeded_ids_repeat_for_a_seed_and_differ_between_seeds():
    one, same, other = SeededIds(7), SeededIds(7), SeededIds(8)
    drawn = [one.short_id() for _ in range(5)]
    assert drawn == [same.short_id() for _ in range(5)]
    assert not set(drawn) & {other.short_id() for _ in range(5)}
    assert len(set(drawn)) == 5
    made = uuid.UUID(str(shortuuid.decode(drawn[0])))
    assert made.version == 4 and len(drawn[0]) == 22
    one.reset()
    assert one.short_id() == drawn[0]


def test_what_is_installed_is_what_the_server_reads(installed):
    clock, ids = SettableClock(START), SeededIds(3)
    expected = SeededIds(3)
    sources.install(clock, ids)
    assert sources.utcnow() == START
    assert sources.epoch() == START.timestamp()
    assert sources.new_short_id() == expected.short_id()
    assert sources.new_uuid() == expected.uuid()
    # the storage layer's defaults read it too
    from scanserve.storage import fields, models

    assert fields.utcnow() == START
    assert models.new_short_id() == expected.short_id()
    sources.install()
    assert abs(sources.utcnow() - datetime.now(UTC)) < timedelta(minutes=5)
    assert sources.new_short_id() != SeededIds(3).short_id()
