"""Redis for the queue tests: the URL from the environment (the test is skipped without it)
and removal of a test queue's keys afterwards."""

from __future__ import annotations

import os

import pytest

REDIS_ENV = "SCANSERVE_TEST_REDIS_URL"


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"needs Redis: set {REDIS_ENV} (CI uses redis://127.0.0.1:6379/0)")
    return url


def delete_queue_keys(url: str, queue_name: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(match=f"huey.*{queue_name}*"):
            client.delete(key)
    finally:
        client.close()
