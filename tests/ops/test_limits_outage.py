"""The rate-limit Redis stopped (issue 14): requests are still served (counted in the
process meanwhile, one warning), liveness answers 200, readiness names the limits store as
degraded, and counting goes back to Redis when it returns. A server started while the store
is unreachable says so and serves. Real ``scanserve serve`` processes and a private
``redis-server`` stopped and started again on the same port."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import redis as redis_py
from redis_private import (
    PrivateRedis,
    Processes,
    cli,
    private_redis,  # noqa: F401  (fixture)
    scanserve_env,
    wait_listening,
)

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def _served(http: httpx.Client, api_key: str) -> None:
    """An authenticated read, liveness: answered, with the rate-limit headers."""
    for path in ("/sessions", "/health/live"):
        answer = http.get(path, headers={"X-API-Key": api_key})
        assert answer.status_code == 200, (path, answer.status_code, answer.text)
        assert answer.headers["content-type"].startswith("application/json")
        assert int(answer.headers["ratelimit-remaining"]) >= 0


def _limits_check(http: httpx.Client) -> str:
    return str(http.get("/health/ready").json()["checks"]["limits"])


def _counters(redis: PrivateRedis) -> list[bytes]:
    client = redis_py.Redis.from_url(redis.url())
    try:
        return list(client.scan_iter(match="LIMITS:LIMITER/*"))
    finally:
        client.close()


def _counts(redis: PrivateRedis) -> dict[bytes, int]:
    client = redis_py.Redis.from_url(redis.url())
    try:
        return {key: int(client.get(key) or 0) for key in _counters(redis)}
    finally:
        client.close()


def test_requests_are_served_while_the_limits_store_is_down(
    tmp_path: Path,
    private_redis: PrivateRedis,  # noqa: F811
) -> None:
    redis = private_redis
    env = scanserve_env(tmp_path / "data", queue="embedded", rate_limit_storage_url=redis.url())
    cli(env, "db", "upgrade")
    cli(env, "orgs", "create", "Limits Shop")
    api_key = cli(env, "keys", "create", "--org", "Limits Shop")
    procs = Processes(tmp_path)
    try:
        server = procs.serve("server", env)
        base_url = procs.base_url("server", server)
        wait_listening(base_url, server)
        with httpx.Client(base_url=base_url, timeout=10) as http:
            _served(http, api_key)
            assert _limits_check(http) == "ok"
            assert _counters(redis), "the requests were not counted in Redis"

            redis.stop()
            for _ in range(20):
                _served(http, api_key)
            ready = http.get("/health/ready")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["limits"].startswith("degraded"), ready.text
            log = procs.log("server")
            assert log.count("the rate-limit store is unreachable") == 1, log[-3000:]
            assert "Traceback" not in log, log[-3000:]

            redis.start()  # same port, same data
            deadline = time.monotonic() + 20
            while _limits_check(http) != "ok":
                assert time.monotonic() < deadline, procs.log("server")[-3000:]
                time.sleep(0.2)
            before = _counts(redis)
            _served(http, api_key)
            after = _counts(redis)
            assert any(after[k] > before.get(k, 0) for k in after), (before, after)
            log = procs.log("server")
            assert log.count("the rate-limit store is reachable again") == 1, log[-3000:]
    finally:
        procs.kill_all()


def test_a_server_started_with_the_limits_store_down_warns_and_serves(
    tmp_path: Path,
    private_redis: PrivateRedis,  # noqa: F811
) -> None:
    redis = private_redis
    env = scanserve_env(tmp_path / "data", queue="embedded", rate_limit_storage_url=redis.url())
    cli(env, "db", "upgrade")
    cli(env, "orgs", "create", "Limits Shop")
    api_key = cli(env, "keys", "create", "--org", "Limits Shop")
    redis.stop()
    procs = Processes(tmp_path)
    try:
        server = procs.serve("server", env)
        base_url = procs.base_url("server", server)
        wait_listening(base_url, server)
        log = procs.log("server")
        assert "the rate-limit store is unreachable" in log, log[-3000:]
        with httpx.Client(base_url=base_url, timeout=10) as http:
            _served(http, api_key)
            assert _limits_check(http).startswith("degraded")
    finally:
        procs.kill_all()
