"""Users, organisations and personal access tokens made with the real command line on a real
data directory, and the app on the same database to use them against.

The fixtures are imported by name into the test modules that use them (``data_dir``,
``people``, ``client``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_runner import create_database, run

from scanserve.app import create_app
from scanserve.identity import tokens
from scanserve.settings import Settings


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    create_database(path)
    return path


@pytest.fixture
def people(data_dir: Path) -> dict[str, str]:
    """Two organisations, and Ana, a member of both."""
    shop = run(data_dir, "orgs", "create", "Shop").stdout.strip()
    depot = run(data_dir, "orgs", "create", "Depot").stdout.strip()
    run(data_dir, "users", "create", "Ana@Example.com")
    run(data_dir, "members", "add", "--org", "Shop", "ana@example.com")
    run(data_dir, "members", "add", "--org", depot, "ana@example.com")
    return {"shop": shop, "depot": depot}


@pytest.fixture
def client(data_dir: Path, people: dict[str, str]) -> Iterator[Any]:
    settings = Settings(
        data_dir=data_dir,
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
    )
    app = create_app(settings)
    with app.test_client() as c:
        yield c
    app.services.db.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_id(data_dir: Path, token: str) -> str:
    listing = run(data_dir, "tokens", "list", "--user", "ana@example.com").stdout
    assert token not in listing  # never shown again
    (line,) = [r for r in listing.splitlines() if r.split("\t")[1] == tokens.hint(token) + "…"]
    return line.split("\t")[0]
