"""``scanserve`` commands in real processes, without paying for Python's start each time.

A command run in a subprocess spends most of its third of a second importing (pydantic,
pydantic-settings, peewee, the models): the suite runs several hundred. A fork server (one
per test process, started on first use) imports all that once and forks a child per command.
Each child is a process of its own, as a subprocess would be: its own environment, working
directory, stdin (empty), stdout and stderr (files read back), exit status and global state,
and it runs ``from scanserve.cli import main; main()`` with the arguments given. It inherits
only imported modules: nothing is configured, connected or started before the fork.

``SCANSERVE_TEST_CLI_FORK=0`` (or a platform without ``fork``) runs plain subprocesses.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

# What a subprocess would run: the suite's way of starting ``scanserve``.
COMMAND = (sys.executable, "-c", "from scanserve.cli import main; main()")

# The server: read a request a line (JSON), fork, report the child's pid, wait for it and
# report its exit status. Its own stdin and stdout are the control pipe; the child puts its
# files on descriptors 0, 1 and 2 (the interpreter's sys.std* wrap those descriptors, and
# hold nothing buffered at a fork: every reply is flushed), runs the command, flushes, runs
# the exit handlers and leaves with the command's status.
_SERVER = r"""
import json, os, sys, traceback, atexit
import scanserve.cli
import scanserve.settings, scanserve.storage.models, scanserve.storage.migrate
import scanserve.plugins.manager, scanserve.bootstrap
control = sys.stdin.buffer
reply = sys.stdout
while True:
    line = control.readline()
    if not line:
        break
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setpgid(0, 0)
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            for fd, (path, mode) in enumerate(
                ((os.devnull, os.O_RDONLY), (request["out"], os.O_WRONLY), (request["err"], os.O_WRONLY))
            ):
                opened = os.open(path, mode)
                os.dup2(opened, fd)
                os.close(opened)
            sys.argv = ["-c", *request["args"]]
            # PYTHONPATH is read at start-up: put its folders where start-up would have
            extra = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
            sys.path[1:1] = extra
            try:
                from scanserve.cli import main
                main()
                code = 0
            except SystemExit as stop:
                if stop.code is None:
                    code = 0
                elif isinstance(stop.code, int):
                    code = stop.code
                else:
                    print(stop.code, file=sys.stderr)
                    code = 1
            except BaseException:
                traceback.print_exc()
                code = 1
            try:
                atexit._run_exitfuncs()
            except BaseException:
                traceback.print_exc()
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except BaseException:
                    pass
        finally:
            os._exit(code)
    reply.write(json.dumps({"pid": pid}) + "\n")
    reply.flush()
    _, status = os.waitpid(pid, 0)
    reply.write(json.dumps({"code": os.waitstatus_to_exitcode(status)}) + "\n")
    reply.flush()
"""


class _ForkServer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner = os.getpid()
        # the server's environment (what its interpreter started with)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SCANSERVE_")}
        self.env.pop("PYTHONPATH", None)

    def _server(self) -> subprocess.Popen[bytes]:
        proc = self._proc
        if proc is None or proc.poll() is not None or self._owner != os.getpid():
            env = self.env
            proc = subprocess.Popen(
                [sys.executable, "-c", _SERVER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                cwd=tempfile.gettempdir(),
            )
            self._proc, self._owner = proc, os.getpid()
        return proc

    def run(
        self, args: Sequence[str], env: dict[str, str], cwd: str, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        with self._lock, tempfile.TemporaryDirectory(prefix="scanserve-cli-") as folder:
            out, err = Path(folder, "out"), Path(folder, "err")
            out.touch()
            err.touch()
            proc = self._server()
            assert proc.stdin is not None and proc.stdout is not None
            request = {"args": list(args), "env": env, "cwd": cwd, "out": str(out)}
            request["err"] = str(err)
            proc.stdin.write((json.dumps(request) + "\n").encode())
            proc.stdin.flush()
            pid = json.loads(proc.stdout.readline())["pid"]
            fired = threading.Event()

            def kill() -> None:
                fired.set()
                _kill_group(pid)

            timer = threading.Timer(timeout, kill)
            timer.start()
            try:
                code = json.loads(proc.stdout.readline())["code"]
            finally:
                timer.cancel()
            command = [*COMMAND, *args]
            if fired.is_set():
                raise subprocess.TimeoutExpired(command, timeout)
            return subprocess.CompletedProcess(
                command,
                code,
                out.read_text(errors="replace"),
                err.read_text(errors="replace"),
            )


def _startup_settings(env: dict[str, str]) -> dict[str, str]:
    """The variables Python reads only as it starts (but PYTHONPATH, which a child applies):
    a command given others than the server started with runs in a plain subprocess."""
    return {k: v for k, v in env.items() if k.startswith("PYTHON") and k != "PYTHONPATH"}


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


_FORKS = _ForkServer()


def enabled() -> bool:
    return hasattr(os, "fork") and os.environ.get("SCANSERVE_TEST_CLI_FORK", "1") != "0"


def run_command(
    args: Sequence[str], env: dict[str, str], *, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``scanserve ARGS`` with environment ``env`` in the current folder, to its end: its
    status, stdout and stderr, as ``subprocess.run(..., capture_output=True, text=True)``
    gives them."""
    if not enabled() or _startup_settings(env) != _startup_settings(_FORKS.env):
        return subprocess.run(
            [*COMMAND, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    return _FORKS.run(args, env, os.getcwd(), timeout)
