"""Users, organisations and personal access tokens made with the real command line on a real
data directory, and the app on the same database to use them against.

The fixtures are imported by name into the test modules that use them (``data_dir``,
``people``, ``client``). The command line makes the people once per module, in a template
data directory; each test gets a copy of it (as PostgreSQL's ``CREATE DATABASE ... TEMPLATE``
would), so every test starts from the same state without five command-line runs of its own.
"""

from __future__ import annotations

import shutil
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


@pytest.fixture(scope="module")
def people_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A data directory with two organisations, and Ana, a member of both, made with the
    command line; and the organisations' short ids. Never used by a test itself."""
    template = tmp_path_factory.mktemp("people") / "data"
    create_database(template)
    shop = run(template, "orgs", "create", "Shop").stdout.strip()
    depot = run(template, "orgs", "create", "Depot").stdout.strip()
    run(template, "users", "create", "Ana@Example.com")
    run(template, "members", "add", "--org", "Shop", "ana@example.com")
    run(template, "members", "add", "--org", depot, "ana@example.com")
    return template, {"shop": shop, "depot": depot}


@pytest.fixture
def people(data_dir: Path, people_template: tuple[Path, dict[str, str]]) -> dict[str, str]:
    """Two organisations, and Ana, a member of both: the template's files copied into
    ``data_dir`` (every command that made them has ended, so the files are whole)."""
    template, short_ids = people_template
    shutil.copytree(template, data_dir, dirs_exist_ok=True)
    return dict(short_ids)


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
