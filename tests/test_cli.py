"""The command line, run as a user runs it: real subprocesses on a real data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scanserve import __version__


def run(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SCANSERVE_DATA_DIR": str(data_dir),
        "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
    }
    return subprocess.run(
        [sys.executable, "-c", "from scanserve.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        check=check,
        timeout=60,
    )


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


def test_version(data_dir):
    assert run(data_dir, "--version").stdout.strip() == f"scanserve, version {__version__}"


def test_db_upgrade_is_idempotent(data_dir):
    first = run(data_dir, "db", "upgrade").stdout
    assert "migration(s): 001_initial, " in first
    assert (data_dir / "scanserve.db").exists()
    assert run(data_dir, "db", "upgrade").stdout.strip() == "database is up to date"


def test_org_and_key_lifecycle(data_dir):
    org_id = run(data_dir, "orgs", "create", "Corner Shop").stdout.strip()
    assert len(org_id) == 22
    created = run(
        data_dir, "keys", "create", "--org", "Corner Shop", "--kind", "cpk", "--expires", "30d"
    )
    key = created.stdout.strip()
    assert created.stdout == key + "\n"  # only the key on stdout
    assert key.startswith("cpk_") and len(key) == 4 + 32 + 1 + 8

    listing = run(data_dir, "keys", "list", "--org", org_id).stdout
    assert key not in listing  # never shown again
    line = listing.splitlines()[1]
    key_id, hint, kind, active = line.split("\t")[:4]
    assert hint.startswith(key[:10]) and kind == "cpk" and active == "yes"

    assert run(data_dir, "keys", "revoke", key_id).stdout.strip() == f"revoked {key_id}"
    assert (
        run(data_dir, "keys", "list", "--org", org_id).stdout.splitlines()[1].split("\t")[3]
        == "no"
    )
    missing = run(data_dir, "keys", "revoke", "nope", check=False)
    assert missing.returncode != 0 and "no key with id nope" in missing.stderr


def test_key_for_unknown_org_and_bad_expiry_fail_clearly(data_dir):
    unknown = run(data_dir, "keys", "create", "--org", "Nobody", check=False)
    assert unknown.returncode == 2 and "no organisation" in unknown.stderr
    run(data_dir, "orgs", "create", "Shop")
    bad = run(data_dir, "keys", "create", "--org", "Shop", "--expires", "soon", check=False)
    assert bad.returncode == 2 and "duration" in bad.stderr


def test_sessions_expire_command(data_dir):
    assert run(data_dir, "sessions", "expire").stdout.strip() == "expired 0 session(s)"


def test_catalog_import_reports_rejected_rows(data_dir, tmp_path):
    path = tmp_path / "products.csv"
    path.write_text(
        "gtin,name,brand\n"
        "4006381333931,Highlighter,Stabilo\n"
        "4006381333932,Bad check digit,X\n"
        "09506000134352,,Nameless\n"
        "5000112637939,Cola,Demo\n"
    )
    result = run(data_dir, "catalog", "import", str(path))
    assert "imported 2 product(s), rejected 2 row(s)" in result.stdout
    assert "line 3:" in result.stderr and "line 4:" in result.stderr
    again = run(data_dir, "catalog", "import", str(path))  # upsert: same products, no duplicates
    assert "imported 2 product(s)" in again.stdout
    from scanserve.storage import models
    from scanserve.storage.database import open_database

    db = open_database(f"sqlite:///{data_dir / 'scanserve.db'}")
    try:
        assert models.Product.select().count() == 2
    finally:
        db.close()


def test_plugins_list_shows_builtins(data_dir):
    out = run(data_dir, "plugins", "list").stdout
    assert "scanserve.plugins.builtin.catalog" in out
    assert "register_lookup_providers" in out


def test_freshness_rules_are_managed_and_checked(data_dir):
    run(data_dir, "orgs", "create", "Deli")
    ok = run(
        data_dir,
        "freshness",
        "set",
        "--org",
        "Deli",
        "--scope",
        "brick",
        "--code",
        "10000025",
        "--warning-days",
        "4",
        "--critical-days",
        "2",
        "--label",
        "Milk, ours",
    )
    assert "brick 10000025: warning 4 d, critical 2 d" in ok.stdout
    run(
        data_dir,
        "freshness",
        "set",
        "--org",
        "Deli",
        "--scope",
        "brick",
        "--code",
        "10000025",
        "--warning-days",
        "5",
        "--critical-days",
        "2",
        "--label",
        "Milk, ours",
    )  # replaces
    bad = run(
        data_dir,
        "freshness",
        "set",
        "--org",
        "Deli",
        "--scope",
        "brick",
        "--code",
        "10000025",
        "--warning-days",
        "1",
        "--critical-days",
        "3",
        "--label",
        "x",
        check=False,
    )
    assert bad.returncode == 2 and "critical" in bad.stderr.lower()
    assert run(data_dir, "freshness", "list", "--org", "Deli").stdout.splitlines() == [
        "brick\t10000025\t5\t2\tMilk, ours"
    ]
