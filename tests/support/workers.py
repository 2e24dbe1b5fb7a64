"""``scanserve worker`` processes for the worker-kill and drain tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cli_fork


class Workers:
    """``scanserve worker`` processes, each logging to its own file; all killed at the end."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log_path = self.log_dir / f"worker-{len(self.started) + 1}.log"
        with log_path.open("wb") as log:
            proc = cli_fork.Popen(
                [*cli_fork.COMMAND, "worker"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.started.append((proc, log_path))
        return proc

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name} (exit {proc.poll()}):\n{path.read_text(errors='replace')[-3000:]}"
            for proc, path in self.started
        )

    def kill_all(self) -> None:
        for proc, _ in self.started:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
