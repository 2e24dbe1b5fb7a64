"""The suite's plugins, and the markers a test's fixtures imply.

The switch that turns skips into failures (``SCANSERVE_TEST_REQUIRE_ALL=1``, which
``.ci/run`` sets) is the plugin ``tests/support/require_all.py``.
"""

from __future__ import annotations

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
    # loadfile``) hands files out in this order, and a minute-long file handed out last
    # would run alone at the end while the other workers stand idle. Stable, and the same
    # in every xdist worker (they must collect the same order).
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)
