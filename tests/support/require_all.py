"""A pytest plugin (loaded by tests/conftest.py): with ``SCANSERVE_TEST_REQUIRE_ALL=1``
(``.ci/run`` sets it) a test that skips fails instead, naming why it would have skipped.

Every skip in this suite is for something missing on the machine (a PostgreSQL or Redis
URL, Tesseract, Chromium, the example plugin), and CI must have all of it. Without the switch
(the README's command on a developer's machine) those tests skip, and ``-ra`` lists each with
its reason in the summary.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

REQUIRE_ALL_ENV = "SCANSERVE_TEST_REQUIRE_ALL"


def require_all() -> bool:
    return os.environ.get(REQUIRE_ALL_ENV, "").strip().lower() in ("1", "true", "yes")


def _skip_reason(longrepr: Any) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _refused(reason: str) -> str:
    return f"skipped, but {REQUIRE_ALL_ENV}=1 refuses skips: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and require_all() and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = _refused(_skip_reason(report.longrepr))


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator:
    """A whole module skipped at import (``pytest.skip(allow_module_level=True)``,
    ``importorskip``) fails the same way."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and require_all():
        report.outcome = "failed"
        report.longrepr = _refused(_skip_reason(report.longrepr))
