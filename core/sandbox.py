"""``scanserve.sandbox``: a live ``scanserve sandbox`` for a client project's tests.

As a pytest plugin it is loaded only when asked (``pytest -p scanserve.sandbox``, or
``pytest_plugins = ["scanserve.sandbox"]`` in a ``conftest.py``): it is no ``pytest11`` entry
point, so installing scanserve changes no other project's test run. It gives

- ``scanserve_sandbox``: a :class:`SandboxServer`, reset to its seeded start before each
  test (its base URL, its keys and token, and the control calls);
- ``--sandbox-seed N`` (default 1): the seed of the sandbox the run starts, once.

:func:`running_sandbox` starts one outside pytest. The sandbox runs in a process of its own,
on a port the system gives it (``--port 0``; the banner names it).
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

START_TIMEOUT = 60.0  # seconds; a cold start on a busy CI machine, with room to spare


class SandboxError(RuntimeError):
    """The sandbox did not start, or a control call was refused."""


@dataclass
class SandboxServer:
    """A running sandbox: where it is, its well-known credentials and its controls."""

    base_url: str  # the API's base URL, ``http://127.0.0.1:PORT/scanner/api/v1``
    control_url: str  # ``http://127.0.0.1:PORT/_sandbox``
    seed: int
    business_key: str
    publishable_key: str
    access_token: str
    banner: list[str] = field(default_factory=list)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.request(method, self.control_url + path, json=body, timeout=60)
        if response.status_code != 200:
            raise SandboxError(f"{method} /_sandbox{path}: {response.status_code} {response.text}")
        return response.json()

    def state(self) -> dict[str, Any]:
        """The seed, the clock (``now``), the credentials and the outcomes queued."""
        return self._call("GET", "")  # type: ignore[no-any-return]

    def reset(self) -> None:
        """Back to the seeded start: no data but the seeded, the clock at its start."""
        self._call("POST", "/reset")

    def advance_clock(self, seconds: float | None = None, *, to: str | None = None) -> str:
        """Move the clock by ``seconds`` or to the instant ``to`` (RFC 3339); the new time."""
        body = {"advance_seconds": seconds} if to is None else {"to": to}
        return str(self._call("POST", "/clock", body)["now"])

    def force(self, kind: str, outcome: str, times: int = 1) -> None:
        """Make the next ``times`` calls of ``kind`` (lookup, resolve, extract) answer
        ``outcome`` (found, not_found, failed, timeout)."""
        self._call("POST", "/outcomes", {"kind": kind, "outcome": outcome, "times": times})


def _banner_value(lines: list[str], label: str) -> str:
    prefix = label + ": "
    for line in lines:
        if line.startswith(prefix):
            return line[len(prefix) :].split(" ")[0]
    raise SandboxError(f"the sandbox's banner has no {label!r} line: {lines}")


@contextlib.contextmanager
def running_sandbox(
    seed: int = 1,
    *,
    real_time: bool = False,
    env: dict[str, str] | None = None,
    log: Any = subprocess.DEVNULL,
) -> Iterator[SandboxServer]:
    """Start ``scanserve sandbox --port 0 --seed SEED`` with this Python, wait for its banner,
    and stop it (SIGTERM) on leaving. ``log``: where its stderr goes."""
    command = [
        sys.executable,
        "-c",
        "from scanserve.cli import main; main()",
        "sandbox",
        "--port",
        "0",
        "--seed",
        str(seed),
        *(["--real-time"] if real_time else []),
    ]
    with subprocess.Popen(  # noqa: S603 - this Python, our own command
        command,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, **(env or {})},
    ) as process:
        try:
            lines = _read_banner(process)
            yield SandboxServer(
                base_url=_banner_value(lines, "Base URL"),
                control_url=_banner_value(lines, "Control"),
                seed=seed,
                business_key=_banner_value(lines, "Business key"),
                publishable_key=_banner_value(lines, "Publishable key"),
                access_token=_banner_value(lines, "Access token"),
                banner=lines,
            )
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _read_banner(process: subprocess.Popen[str]) -> list[str]:
    """The banner's lines, up to ``Ready in``; the socket is listening by then."""
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    stdout = process.stdout

    def pump() -> None:
        for line in stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True, name="scanserve-sandbox-banner").start()
    seen: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise SandboxError(f"no banner within {START_TIMEOUT:g} s: {seen}") from None
        if line is None:
            code = process.wait()
            raise SandboxError(f"the sandbox exited ({code}) before it was ready: {seen}")
        seen.append(line)
        if line.startswith("Ready in"):
            return seen


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--sandbox-seed",
        type=int,
        default=1,
        help="scanserve.sandbox: the seed of the sandbox the run starts (default 1)",
    )


@pytest.fixture(scope="session")
def scanserve_sandbox_server(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """One sandbox for the whole run (not reset: ``scanserve_sandbox`` resets it)."""
    with running_sandbox(request.config.getoption("--sandbox-seed")) as server:
        yield server


@pytest.fixture
def scanserve_sandbox(scanserve_sandbox_server: SandboxServer) -> SandboxServer:
    """The run's sandbox, reset to its seeded start for this test."""
    scanserve_sandbox_server.reset()
    return scanserve_sandbox_server
