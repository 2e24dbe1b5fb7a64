"""A real ``scanserve serve`` (or ``worker``) in a subprocess, and a light load of keyless
``POST /captures`` that records every answer, for the fault tests of ``tests/ops``."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cli_fork
import httpx
from private_postgres import free_port

from scanserve.testing import wait_for

BASE = "/scanner/api/v1"


def scanserve_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANSERVE_")}
    return {
        **env,
        "SCANSERVE_DATA_DIR": str(data_dir),
        "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
        **extra,
    }


@contextlib.contextmanager
def scanserve_process(
    command: str, env: dict[str, str], log: Path, *args: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``scanserve <command> <args>``, its output in ``log``; SIGTERM (then SIGKILL) after."""
    with log.open("wb") as out:
        proc = cli_fork.Popen([*cli_fork.COMMAND, command, *args], env=env, stdout=out, stderr=out)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


@contextlib.contextmanager
def served(env: dict[str, str], log: Path) -> Iterator[str]:
    """A started ``scanserve serve`` on a free loopback port; its base URL."""
    port = free_port()
    with scanserve_process("serve", env, log, "--port", str(port)) as proc:
        url = f"http://127.0.0.1:{port}{BASE}"

        def up() -> bool:
            assert proc.poll() is None, log.read_text()
            try:
                return httpx.get(f"{url}/health/live", timeout=5).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, 90, "the server to start", interval=0.2)
        yield url


@dataclass
class Answer:
    at: float
    raw_value: str
    status: int  # 0: no answer (a transport error)
    content_type: str = ""
    body: Any = None
    retry_after: str | None = None


@dataclass
class CaptureLoad:
    """Posts one capture at a time, each with a raw value of its own, until stopped."""

    url: str
    headers: dict[str, str]
    session_id: str
    pause: float = 0.05
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        n = 0
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                n += 1
                raw = f"OPS-{n:06d}"
                body = {"session_id": self.session_id, "capture_type": "MANUAL", "raw_value": raw}
                try:
                    answer = client.post(f"{self.url}/captures", json=body, headers=self.headers)
                except httpx.TransportError:
                    self.answers.append(Answer(time.monotonic(), raw, 0))
                else:
                    try:
                        parsed = answer.json()
                    except ValueError:
                        parsed = answer.text
                    self.answers.append(
                        Answer(
                            time.monotonic(),
                            raw,
                            answer.status_code,
                            answer.headers.get("content-type", ""),
                            parsed,
                            answer.headers.get("retry-after"),
                        )
                    )
                self._stop.wait(self.pause)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(60)

    def acknowledged(self) -> dict[str, str]:
        """raw value -> capture id, of every capture answered 201."""
        return {a.raw_value: a.body["id"] for a in self.answers if a.status == 201}


def assert_failures_are_retryable_problems(answers: list[Answer]) -> list[Answer]:
    """Every answer is a 201 or a 503 problem document, retryable, with Retry-After; the
    failures are returned."""
    failures = [a for a in answers if a.status != 201]
    for a in failures:
        where = f"{a.raw_value} at {a.at:.1f}: {a.status} {a.content_type} {a.body!r}"
        assert a.status == 503, where
        assert a.content_type == "application/problem+json", where
        assert a.body["error_code"] == "service_unavailable", where
        assert a.body["retryable"] is True, where
        assert a.retry_after is not None and int(a.retry_after) > 0, where
    return failures
