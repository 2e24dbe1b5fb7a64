"""Redis for the queue tests: the URL from the environment (the test is skipped without it)
and removal of a test queue's keys afterwards."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REDIS_ENV = "SCANSERVE_TEST_REDIS_URL"


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"needs Redis: set {REDIS_ENV} (CI uses redis://127.0.0.1:6379/0)")
    return url


def require_redis_url() -> str:
    """The shared Redis's URL, for a test that cannot take the fixture (skips without it)."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"needs Redis: set {REDIS_ENV} (CI uses redis://127.0.0.1:6379/0)")
    return url


@contextlib.contextmanager
def private_redis(folder: Path) -> Iterator[str]:
    """A Redis server of the test's own (on a free loopback port, its files in ``folder``),
    for what must not touch the shared one (``SCRIPT FLUSH``, stopping it); its URL, and
    the server stopped after."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("needs the redis-server command (Debian redis-server) for a private Redis")
    for _ in range(10):  # a port free when picked may be taken before the server binds it
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        proc = subprocess.Popen(
            [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no", "--dir", str(folder)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        said = []
        for line in proc.stdout:  # until it is ready, or has ended
            said.append(line)
            if "Ready to accept connections" in line:
                break
        else:
            proc.wait(timeout=30)
            continue
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            proc.stdout.close()
        return
    raise RuntimeError(f"no private Redis started; it said:\n{''.join(said)}")


def delete_queue_keys(url: str, queue_name: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(match=f"huey.*{queue_name}*"):
            client.delete(key)
    finally:
        client.close()
