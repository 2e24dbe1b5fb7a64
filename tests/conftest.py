"""The suite's plugins, and the markers a test's fixtures imply.

The switch that turns skips into failures (``SCANSERVE_TEST_REQUIRE_ALL=1``, which
``.ci/run`` sets) is the plugin ``tests/support/require_all.py``.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["scanserve.testing", "redis_support", "postgres_support", "require_all"]

# Helpers shared by test modules live in support modules, never in a test module; pytest
# rewrites the asserts of these as it does a test module's (registered before any is imported).
pytest.register_assert_rewrite(
    "cli_runner",
    "extractors",
    "photo_support",
    "resolvers",
    "retention_support",
    "token_fixtures",
    "workers",
)

# A test that takes one of these fixtures needs that service: it gets the marker too, so that
# ``-m "not postgres"`` / ``-m redis`` select it whether or not its author wrote the mark.
SERVICE_FIXTURES = {"postgres_url": "postgres", "redis_url": "redis"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, marker in SERVICE_FIXTURES.items():
            if fixture in getattr(item, "fixturenames", ()) and not item.get_closest_marker(
                marker
            ):
                item.add_marker(marker)
    # The files holding a slow test run first: the parallel run (``-n auto --dist
    # loadfile``) hands files out in this order (see pytest_configure), and a minute-long
    # file handed out last would run alone at the end while the other workers stand idle.
    # Stable, and the same in every xdist worker (they must collect the same order).
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


def pytest_configure(config: pytest.Config) -> None:
    # xdist's loadfile hands out the files with the most tests first unless told not to:
    # the slow ones, each a few long tests, came last (the run's last minute on one worker).
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers a core (``SCANSERVE_TEST_WORKERS_PER_CORE`` changes it). A
    third of the suite's time is spent waiting on servers, subprocesses and outages it
    starts, so one worker a core leaves the cores idle a third of the time."""
    per_core = float(os.environ.get("SCANSERVE_TEST_WORKERS_PER_CORE", "2"))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, round((cores or 1) * per_core))
