"""PostgreSQL for the tests that need it: a scratch database on the server named by the
environment, created for one test and dropped after it (the test is skipped without it)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

POSTGRES_ENV = "SCANSERVE_TEST_POSTGRES_URL"


@contextlib.contextmanager
def scratch_database(url: str, prefix: str = "scanserve_test") -> Iterator[str]:
    """A database created on the PostgreSQL server ``url`` names; its URL, dropped after."""
    import psycopg2

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(url)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(
            f"needs PostgreSQL: set {POSTGRES_ENV} (CI uses postgresql://postgres@127.0.0.1:5432/test)"
        )
    with scratch_database(url) as scratch:
        yield scratch
