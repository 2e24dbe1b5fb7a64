"""``scanserve`` commands in real processes, without paying for Python's start each time.

A ``scanserve`` process spends most of its first second importing (pydantic, peewee,
Connexion, Starlette, uvicorn, the models): the suite starts several hundred, commands run to
their end and servers and workers it stops. A fork server (one per test process, started on
first use) imports all that once and forks a child per command. Each child is a process of
its own, as a subprocess would be: its own pid, environment, working directory, standard
streams (the caller's files or pipes, handed over the fork server's socket), signals, exit
status and global state, and it runs ``from scanserve.cli import main; main()`` with the
arguments given. It inherits only imported modules: nothing is configured, connected or
started before the fork.

- :func:`run_command`: a command to its end, as ``subprocess.run(..., capture_output=True,
  text=True)`` gives it.
- :class:`Popen`: ``subprocess.Popen`` for any command line; one that starts with
  :data:`COMMAND` is forked, and its handle has the part of ``Popen`` the suite uses
  (``pid``, ``poll``, ``wait``, ``send_signal``, ``terminate``, ``kill``, ``returncode``,
  ``stdout`` and ``stderr`` pipes, ``with``).

A command whose environment sets a ``PYTHON*`` variable (but ``PYTHONPATH``, which a child
applies) other than the fork server started with, or asks for a pipe on stdin, runs in a
plain subprocess. ``SCANSERVE_TEST_CLI_FORK=0`` (or a platform without ``fork``) runs every
command in a plain subprocess.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

# What a subprocess would run: the suite's way of starting ``scanserve``.
COMMAND = (sys.executable, "-c", "from scanserve.cli import main; main()")

# The server: listens on a Unix socket (SOCK_SEQPACKET: a request is one message, the
# child's stdin, stdout and stderr ride along as descriptors), forks a child per request,
# answers the child's pid at once and its exit status when it ends (SIGCHLD wakes the loop),
# on the same connection. Its stdin is a pipe from the test process: at its end (the test
# process has gone) every child still running is killed with its process group. The child
# drops the server's descriptors and handlers, becomes a process group of its own, puts the
# files it was handed on descriptors 0, 1 and 2 (the interpreter's sys.std* wrap those, and
# hold nothing buffered at a fork: the server writes nothing to them), runs the command,
# flushes, runs the exit handlers and leaves with the command's status.
_SERVER = r"""
import json, os, selectors, signal, socket, sys, traceback, atexit
import scanserve.cli, scanserve.app, scanserve.bootstrap, scanserve.infra.server
import uvicorn

listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
listener.bind(sys.argv[1])
listener.listen(64)
wake_r, wake_w = socket.socketpair()
wake_r.setblocking(False)
wake_w.setblocking(False)
signal.signal(signal.SIGCHLD, lambda *_: None)
signal.set_wakeup_fd(wake_w.fileno())
selector = selectors.DefaultSelector()
selector.register(listener, selectors.EVENT_READ, "accept")
selector.register(wake_r, selectors.EVENT_READ, "reap")
selector.register(0, selectors.EVENT_READ, "control")
children = {}  # pid: the connection its status goes to


def child(request, fds, conn):
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        selector.close()
        for held in (listener, wake_r, wake_w, conn, *children.values()):
            held.close()
        os.setpgid(0, 0)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in set(fds):
            if fd > 2:
                os.close(fd)
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


def reap():
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is not None:
            try:
                conn.send(json.dumps({"code": os.waitstatus_to_exitcode(status)}).encode())
            except OSError:
                pass
            conn.close()


print("ready", flush=True)
while True:
    for key, _ in selector.select():
        if key.data == "accept":
            conn, _ = listener.accept()
            message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
            pid = os.fork()
            if pid == 0:
                child(json.loads(message), fds, conn)
            children[pid] = conn
            for fd in set(fds):
                os.close(fd)
            conn.send(json.dumps({"pid": pid}).encode())
        elif key.data == "reap":
            while True:
                try:
                    if not wake_r.recv(4096):
                        break
                except BlockingIOError:
                    break
            reap()
        elif not os.read(0, 4096):  # the test process has gone: so do its commands
            for pid in list(children):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
            sys.exit(0)
"""


class _ForkServer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._address = ""
        self._owner = os.getpid()
        # the server's environment (what its interpreter started with)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SCANSERVE_")}
        self.env.pop("PYTHONPATH", None)

    def address(self) -> str:
        """The socket of this process's fork server, started if need be."""
        with self._lock:
            proc = self._proc
            if proc is None or proc.poll() is not None or self._owner != os.getpid():
                folder = tempfile.mkdtemp(prefix="scanserve-fork-")
                self._address = os.path.join(folder, "socket")
                proc = subprocess.Popen(
                    [sys.executable, "-c", _SERVER, self._address],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=self.env,
                    cwd=tempfile.gettempdir(),
                )
                assert proc.stdout is not None
                ready = proc.stdout.readline()
                assert ready == b"ready\n", f"the fork server did not start ({ready!r})"
                self._proc, self._owner = proc, os.getpid()
            return self._address

    def fork(
        self, args: Sequence[str], env: dict[str, str], cwd: str, fds: tuple[int, int, int]
    ) -> tuple[socket.socket, int]:
        """A child running ``scanserve ARGS`` on descriptors ``fds`` (stdin, stdout, stderr):
        the connection its exit status will come on, and its pid."""
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            conn.connect(self.address())
            request = {"args": list(args), "env": env, "cwd": cwd}
            socket.send_fds(conn, [json.dumps(request).encode()], list(fds))
            return conn, json.loads(conn.recv(4096))["pid"]
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        """Stop this process's fork server (the end of its stdin), with what still runs."""
        proc = self._proc
        if proc is not None and self._owner == os.getpid():
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._proc = None


_FORKS = _ForkServer()
atexit.register(_FORKS.close)


def enabled() -> bool:
    return hasattr(os, "fork") and os.environ.get("SCANSERVE_TEST_CLI_FORK", "1") != "0"


def _startup_settings(env: dict[str, str]) -> dict[str, str]:
    """The variables Python reads only as it starts (but PYTHONPATH, which a child applies)."""
    return {k: v for k, v in env.items() if k.startswith("PYTHON") and k != "PYTHONPATH"}


def _forkable(argv: Sequence[str], env: dict[str, str], stdin: Any) -> bool:
    return (
        enabled()
        and tuple(argv[: len(COMMAND)]) == COMMAND
        and stdin in (None, subprocess.DEVNULL)
        and _startup_settings(env) == _startup_settings(_FORKS.env)
    )


class Popen:
    """``subprocess.Popen(argv, ...)``: forked from the fork server when ``argv`` is a
    ``scanserve`` command (:data:`COMMAND` and its arguments), else a plain subprocess (then
    every call goes to that ``subprocess.Popen``). ``stdin`` is /dev/null; ``stdout`` and
    ``stderr`` take what ``subprocess.Popen`` takes (a file, a descriptor, ``None``,
    ``DEVNULL``, ``PIPE``, and ``STDOUT`` for stderr)."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        stdin: Any = None,
        stdout: Any = None,
        stderr: Any = None,
        text: bool = False,
    ) -> None:
        self.args = list(argv)
        self.returncode: int | None = None
        self.stdin: IO[Any] | None = None
        self.stdout: IO[Any] | None = None
        self.stderr: IO[Any] | None = None
        self._plain: subprocess.Popen[Any] | None = None
        self._conn: socket.socket | None = None
        # one reader of the status at a time (a test may poll from one thread while another
        # waits, as subprocess.Popen allows)
        self._reading = threading.Lock()
        env = dict(os.environ) if env is None else env
        if not _forkable(self.args, env, stdin):
            self._plain = subprocess.Popen(
                self.args, env=env, cwd=cwd, stdin=stdin, stdout=stdout, stderr=stderr, text=text
            )
            self.pid = self._plain.pid
            self.stdin, self.stdout, self.stderr = (
                self._plain.stdin,
                self._plain.stdout,
                self._plain.stderr,
            )
            return
        mine: list[int] = []  # descriptors this handle opened for the child
        try:
            null = os.open(os.devnull, os.O_RDWR)
            mine.append(null)
            out = self._child_end(stdout, null, mine, "stdout", text)
            err = (
                out
                if stderr == subprocess.STDOUT
                else self._child_end(stderr, null, mine, "stderr", text)
            )
            self._conn, self.pid = _FORKS.fork(
                self.args[len(COMMAND) :], env, os.fspath(cwd or os.getcwd()), (null, out, err)
            )
        except BaseException:
            for stream in (self.stdout, self.stderr):
                if stream is not None:
                    stream.close()
            raise
        finally:
            for fd in mine:
                os.close(fd)

    def _child_end(self, how: Any, null: int, mine: list[int], name: str, text: bool) -> int:
        """The descriptor the child writes ``name`` to; with PIPE, the reading end becomes
        this handle's ``stdout`` or ``stderr``."""
        if how is None:
            return 1 if name == "stdout" else 2
        if how == subprocess.DEVNULL:
            return null
        if how == subprocess.PIPE:
            read, write = os.pipe()
            mine.append(write)
            setattr(self, name, open(read, "r" if text else "rb"))  # noqa: SIM115 (closed by the handle)
            return write
        return how if isinstance(how, int) else how.fileno()

    # -- the part of subprocess.Popen the suite uses

    def poll(self) -> int | None:
        if self._plain is not None:
            self.returncode = self._plain.poll()
        elif self.returncode is None:
            self._status(0, queue=False)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self._plain is not None:
            self.returncode = self._plain.wait(timeout)
            return self.returncode
        if not self._status(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def _status(self, timeout: float | None, *, queue: bool = True) -> bool:
        """Whether the exit status came within ``timeout`` seconds (``None``: for ever).
        Without ``queue``, a status another thread is reading counts as not come yet (as
        ``subprocess.Popen.poll`` does)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._reading.acquire(queue, -1 if timeout is None or not queue else timeout):
            return self.returncode is not None
        try:
            if self.returncode is not None:
                return True
            assert self._conn is not None
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([self._conn], [], [], left)
            if not readable:
                return False
            answer = self._conn.recv(4096)
            self._conn.close()
            if not answer:
                raise RuntimeError(f"the fork server went away while {self.args} ran")
            self.returncode = int(json.loads(answer)["code"])
            return True
        finally:
            self._reading.release()

    def send_signal(self, sig: int) -> None:
        if self._plain is not None:
            self._plain.send_signal(sig)
        elif self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill_group(self) -> None:
        """SIGKILL to the command and what it started: a forked command leads a process
        group of its own (a plain subprocess does not, and only it is killed)."""
        if self._plain is not None:
            self._plain.kill()
        elif self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def __enter__(self) -> Popen:
        return self

    def __exit__(self, *exc: object) -> None:
        for stream in (self.stdout, self.stderr):
            if stream is not None:
                stream.close()
        self.wait()


def run_command(
    args: Sequence[str], env: dict[str, str], *, timeout: float = 60, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """``scanserve ARGS`` with environment ``env`` in the current folder, to its end: its
    status, stdout and stderr, as ``subprocess.run(..., capture_output=True, text=True,
    check=check)`` gives them (a timeout kills the command's process group and raises
    ``subprocess.TimeoutExpired``)."""
    command = [*COMMAND, *args]
    with tempfile.TemporaryDirectory(prefix="scanserve-cli-") as folder:
        out, err = Path(folder, "out"), Path(folder, "err")
        with out.open("wb") as out_file, err.open("wb") as err_file:
            proc = Popen(command, env=env, stdout=out_file, stderr=err_file)
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill_group()
            proc.wait()
            raise
        done = subprocess.CompletedProcess(
            command, code, out.read_text(errors="replace"), err.read_text(errors="replace")
        )
    if check:
        done.check_returncode()
    return done
