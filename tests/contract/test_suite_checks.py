"""The suite's own switches and checks, tested: CI runs the README's command verbatim with
skips refused, the fuzz run counts what it must."""

from __future__ import annotations

import ast
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
import run as fuzz_run  # noqa: E402  (tests/fuzz/run.py)


def _readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text()
    (command,) = re.findall(r"^python3 -m venv \.venv && .*pytest.*$", readme, re.MULTILINE)
    return command


def test_ci_runs_the_readme_test_command_verbatim_with_skips_refused():
    ci = (ROOT / ".ci" / "run").read_text()
    command = _readme_test_command()
    assert command in ci.splitlines()
    assert "-n auto" in command and "--durations=25" in command
    assert "export SCANSERVE_TEST_REQUIRE_ALL=1" in ci.splitlines()
    assert "|| echo" not in ci  # no install failure is let through
    fuzz = [line for line in ci.splitlines() if line.startswith(".venv/bin/python tests/fuzz")]
    assert len(fuzz) == 1 and "--seed " in fuzz[0] and "--seconds 60" in fuzz[0]


SKIPPING = """
import pytest

def test_skips():
    pytest.skip("needs something this machine lacks")

@pytest.mark.skipif(True, reason="needs another thing")
def test_marked():
    pass

def test_passes():
    pass
"""


@pytest.mark.parametrize("require_all", ["", "1"])
def test_require_all_turns_skips_into_failures(tmp_path, require_all):
    """The switch (the plugin tests/support/require_all.py), on a module of its own: without it two
    skips and a pass; with it two failures naming what was missing, and the pass."""
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    env = {
        **os.environ,
        "SCANSERVE_TEST_REQUIRE_ALL": require_all,
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "tests" / "support"), env.get("PYTHONPATH", "")]
    )
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-ra", "-p", "require_all"),
            *("-p", "no:cacheprovider", str(tmp_path / "test_skipping.py")),
        ],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    summary = done.stdout.strip().splitlines()[-1]
    if require_all:
        assert done.returncode == 1, done.stdout
        assert re.search(r"1 failed, 1 passed, 1 error", summary), done.stdout
        assert "refuses skips: needs something this machine lacks" in done.stdout
        assert "refuses skips: needs another thing" in done.stdout
    else:
        assert done.returncode == 0, done.stdout
        assert "1 passed, 2 skipped" in summary, done.stdout
        assert "SKIPPED" in done.stdout and "needs another thing" in done.stdout


def test_an_extractor_bug_is_an_error_line_the_fuzz_run_counts(caplog):
    """A bug in an extractor (anything but ProviderError or the deadline) is logged at ERROR
    with its traceback, in the server's text format, which the fuzz run's LOG_FINDING
    matches; a ProviderError stays a warning it does not count."""
    from scanserve.domain.pipeline import _log_provider_failure
    from scanserve.infra.logconfig import TEXT_FORMAT, TextFormatter
    from scanserve.plugins.providers import ProviderError

    formatter = TextFormatter(TEXT_FORMAT)
    with caplog.at_level(logging.WARNING, logger="scanserve.pipeline"):
        try:
            raise TypeError("'NoneType' object is not subscriptable")
        except TypeError as exc:
            _log_provider_failure(exc, "lookup provider %s failed for %s: %s", "off", "0123")
        _log_provider_failure(
            ProviderError("upstream answered 503"),
            "lookup provider %s failed for %s: %s",
            "off",
            "1",
        )
    bug, expected = caplog.records
    assert bug.levelno == logging.ERROR and bug.exc_info is not None
    assert expected.levelno == logging.WARNING and not expected.exc_info
    assert fuzz_run.LOG_FINDING.search(formatter.format(bug))
    assert not fuzz_run.LOG_FINDING.search(formatter.format(expected))


def test_the_fuzz_run_fails_an_operation_that_never_reached_a_2xx():
    counts = {"createSession": {"cases": 3, "2xx": 1, "4xx": 2}, "getSession": {"4xx": 9}}
    assert fuzz_run.never_2xx(counts, ("createSession", "getSession", "signIn")) == [
        "getSession",
        "signIn",
    ]
    spec = (ROOT / "spec" / "openapi.yaml").read_text()
    operations = set(re.findall(r"operationId: (\w+)", spec))
    assert set(fuzz_run.MUST_REACH_2XX) <= operations


def test_no_test_module_imports_another():
    """What two test modules share lives in a support module (``loopback``, ``cli_runner``,
    ...), never in a test module: moving or renaming a test module must not break another."""
    imports = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            imports += [
                f"{path.relative_to(ROOT)}:{node.lineno} imports {name}"
                for name in names
                if any(part.startswith("test_") for part in name.split("."))
            ]
    assert imports == []


def test_a_forked_scanserve_is_a_process_as_popen_gives_one(tmp_path):
    """cli_fork.Popen, which starts the suite's servers: its own pid and environment, its
    banner on a pipe, signals, and a status that one thread may poll while another waits."""
    import signal
    import threading

    import cli_fork

    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANSERVE_")}
    env["SCANSERVE_DATA_DIR"] = str(tmp_path / "data")
    with cli_fork.Popen(
        [*cli_fork.COMMAND, "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            banner = proc.stdout.readline()  # names the data directory of its environment
            assert banner.startswith("scanserve ") and str(tmp_path / "data") in banner, banner
            assert proc.pid != os.getpid() and proc.poll() is None
        except BaseException:
            proc.kill()
            raise
        polled: list[int | None] = []
        stop = threading.Event()

        def keep_polling() -> None:
            while not stop.is_set():
                polled.append(proc.poll())

        poller = threading.Thread(target=keep_polling)
        poller.start()
        try:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == -signal.SIGTERM
        finally:
            stop.set()
            poller.join()
        assert proc.poll() == -signal.SIGTERM and polled  # no reader tripped over the other
