"""Rate limits per credential, and the headers that carry them."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from redis_support import private_redis, require_redis_url

from scanserve.infra.ratelimit import RateLimiter, _MemoryWindows
from scanserve.testing import issue_key

BASE = "/scanner/api/v1"


def test_headers_on_success_describe_the_tightest_window(scanserve_client, api_key):
    response = scanserve_client.get(f"{BASE}/sessions", headers=api_key.headers)
    assert response.headers["ratelimit-policy"] == "300;w=60, 10000;w=86400"
    assert response.headers["ratelimit-limit"] == "300"
    assert response.headers["ratelimit-remaining"] == "299"
    assert 0 < int(response.headers["ratelimit-reset"]) <= 60
    assert response.headers["x-ratelimit-limit"] == "300"
    assert response.headers["x-ratelimit-remaining"] == "299"
    reset_at = int(response.headers["x-ratelimit-reset"])
    assert time.time() < reset_at <= time.time() + 61  # an absolute Unix time


def test_publishable_keys_get_the_lower_default(scanserve_client, scanserve_app):
    key = issue_key("Web shop", kind="cpk")
    response = scanserve_client.get(f"{BASE}/sessions", headers=key.headers)
    assert response.headers["ratelimit-policy"] == "100;w=60, 10000;w=86400"


def test_per_key_limits_override_defaults_and_daily_window_can_bind(
    scanserve_client, scanserve_app
):
    key = issue_key("Tight", rate_limit_per_minute=50, rate_limit_per_day=3)
    for remaining in ("2", "1", "0"):
        response = scanserve_client.get(f"{BASE}/sessions", headers=key.headers)
        assert response.status_code == 200
        assert response.headers["ratelimit-policy"] == "50;w=60, 3;w=86400"
        assert response.headers["ratelimit-limit"] == "3"  # the day window is the tighter one
        assert response.headers["ratelimit-remaining"] == remaining
    refused = scanserve_client.get(f"{BASE}/sessions", headers=key.headers)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 60  # waits for the day window


def test_keys_do_not_share_budgets(scanserve_client, scanserve_app):
    first = issue_key("A", rate_limit_per_minute=1)
    second = issue_key("B", rate_limit_per_minute=1)
    assert scanserve_client.get(f"{BASE}/sessions", headers=first.headers).status_code == 200
    assert scanserve_client.get(f"{BASE}/sessions", headers=first.headers).status_code == 429
    assert scanserve_client.get(f"{BASE}/sessions", headers=second.headers).status_code == 200


def test_anonymous_calls_are_limited_per_client(scanserve_client):
    response = scanserve_client.get(f"{BASE}/freshness-thresholds?gtin=4006381333931")
    assert response.status_code == 200
    assert response.headers["ratelimit-policy"] == "60;w=60, 5000;w=86400"


def _storage(request: pytest.FixtureRequest) -> str:
    if request.param == "memory://":
        return "memory://"
    return require_redis_url()


@pytest.fixture(params=["memory://", pytest.param("redis", marks=pytest.mark.redis)])
def storage_url(request: pytest.FixtureRequest) -> str:
    return _storage(request)


def test_both_storages_answer_the_same_figures(storage_url):
    limiter = RateLimiter(storage_url)
    identity = f"test:{uuid.uuid4()}"
    for remaining in ("2", "1", "0"):
        verdict = limiter.hit(identity, 50, 3)
        assert verdict.allowed
        assert verdict.headers["RateLimit-Policy"] == "50;w=60, 3;w=86400"
        assert verdict.headers["RateLimit-Limit"] == "3"  # the day window is the tighter one
        assert verdict.headers["RateLimit-Remaining"] == remaining
        assert 86_000 < int(verdict.headers["RateLimit-Reset"]) <= 86_400
        reset_at = int(verdict.headers["X-RateLimit-Reset"])
        assert time.time() + 86_000 < reset_at <= time.time() + 86_401
    refused = limiter.hit(identity, 50, 3)  # refused by the day: it used a minute slot
    assert not refused.allowed and refused.retry_after > 60
    assert refused.headers["Retry-After"] == str(refused.retry_after)
    assert refused.headers["RateLimit-Remaining"] == "0"

    other = f"test:{uuid.uuid4()}"
    assert limiter.hit(other, 1, 10).allowed
    refused = limiter.hit(other, 1, 10)  # refused by the minute: the day does not count it
    assert not refused.allowed and 1 <= refused.retry_after <= 60
    assert refused.headers["RateLimit-Limit"] == "1"
    # a changed minute limit opens a new window; the day has counted two hits, not three
    verdict = limiter.hit(other, 100, 10)
    assert verdict.allowed
    assert verdict.headers["RateLimit-Limit"] == "10"
    assert verdict.headers["RateLimit-Remaining"] == "8"


@pytest.mark.redis
def test_redis_hit_is_one_round_trip_and_survives_a_script_flush(monkeypatch, tmp_path):
    # a Redis of its own: SCRIPT FLUSH empties the script cache of every database of a
    # server, which would pull the scripts from under tests running beside this one
    with private_redis(tmp_path) as url:
        _one_round_trip_and_a_script_flush(url, monkeypatch)


def _one_round_trip_and_a_script_flush(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = RateLimiter(url)
    identity = f"test:{uuid.uuid4()}"
    limiter.hit(identity, 10, 1000)  # the server learns the script (if it did not know it)
    import redis

    commands: list[object] = []
    original = redis.Redis.execute_command

    def counting(self, *args, **options):  # type: ignore[no-untyped-def]
        commands.append(args[0])
        return original(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    verdict = limiter.hit(identity, 10, 1000)
    assert commands == ["EVALSHA"]
    assert verdict.headers["RateLimit-Remaining"] == "8"

    redis.Redis.from_url(url).script_flush()  # a restarted server has forgotten the script
    commands.clear()
    assert limiter.hit(identity, 10, 1000).headers["RateLimit-Remaining"] == "7"
    assert commands == ["EVALSHA", "SCRIPT LOAD", "EVALSHA"]


@pytest.mark.redis
def test_redis_storage_shares_one_budget_between_processes():
    url = require_redis_url()
    identity = f"test:{uuid.uuid4()}"
    first, second = RateLimiter(url), RateLimiter(url)  # two servers, one Redis
    assert first.hit(identity, 2, 1000).allowed
    assert second.hit(identity, 2, 1000).allowed
    refused = first.hit(identity, 2, 1000)
    assert not refused.allowed and refused.retry_after >= 1


def test_memory_limits_count_without_starting_threads(monkeypatch):
    """``limits``' memory storage started a timer thread about every hundredth of a second
    under load, and the request that started it waited for it; memory:// is counted in
    process, with no thread at all."""

    def no_threads(*args, **kwargs):
        raise AssertionError("the memory rate limiter started a thread")

    monkeypatch.setattr(threading.Thread, "start", no_threads)
    limiter = RateLimiter("memory://")
    assert [limiter.hit("k", 2, 1000).allowed for _ in range(3)] == [True, True, False]


def test_memory_windows_reopen_when_they_end_and_are_swept():
    now = [1000.0]
    windows = _MemoryWindows(clock=lambda: now[0])
    assert windows.hit("k", ((1, 60), (5, 86_400)))[0]
    allowed, figures = windows.hit("k", ((1, 60), (5, 86_400)))
    assert not allowed
    # refused by the minute window: the day window was not counted again
    assert figures == [(1, 60, 0, 1060.0), (5, 86_400, 4, 87_400.0)]
    now[0] = 1060.0  # the minute window has ended
    allowed, figures = windows.hit("k", ((1, 60), (5, 86_400)))
    assert allowed and figures[0] == (1, 60, 0, 1120.0) and figures[1][2] == 3
    windows.hit("other", ((1, 60), (5, 86_400)))
    now[0] = 87_460.0  # every window has ended; the next hit sweeps them all
    windows.hit("new", ((1, 60), (5, 86_400)))
    assert {key[0] for key in windows._windows} == {"new"}


def test_a_changed_limit_is_a_new_window():
    windows = _MemoryWindows()
    assert windows.hit("k", ((1, 60),))[0]
    assert not windows.hit("k", ((1, 60),))[0]
    assert windows.hit("k", ((2, 60),))[0]  # as limits keys a window by its amount
