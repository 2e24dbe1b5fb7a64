"""The command line, run as a user runs it: real subprocesses on a real data directory."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from cli_runner import create_database, run, start
from loopback import refused_port

from scanserve import __version__
from scanserve.storage import models
from scanserve.storage.database import open_database
from scanserve.storage.fields import utcnow


@pytest.fixture
def data_dir(tmp_path):
    """A data directory holding an up-to-date, empty database."""
    path = tmp_path / "data"
    create_database(path)
    return path


@pytest.fixture
def new_dir(tmp_path):
    """A data directory with no database yet."""
    return tmp_path / "new"


def test_version(data_dir):
    assert run(data_dir, "--version").stdout.strip() == f"scanserve, version {__version__}"


def test_db_upgrade_is_idempotent(new_dir):
    first = run(new_dir, "db", "upgrade")
    assert "applied" in first.stdout and "001_initial" in first.stdout
    assert "003_credentials" in first.stdout
    assert f"data directory {new_dir.resolve()}" in first.stderr
    assert (new_dir / "scanserve.db").exists()
    assert run(new_dir, "db", "upgrade").stdout.strip() == "database is up to date"


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
    assert hint.startswith(key[:10]) and kind == "cpk" and active == "active"

    assert run(data_dir, "keys", "revoke", key_id).stdout.strip() == f"revoked {key_id}"
    assert (
        run(data_dir, "keys", "list", "--org", org_id).stdout.splitlines()[1].split("\t")[3]
        == "revoked"
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
    result = run(data_dir, "catalog", "import", str(path), check=False)
    assert result.returncode == 1  # rows were rejected
    assert "imported 2 product(s), rejected 2 row(s)" in result.stdout
    assert "line 3:" in result.stderr and "line 4:" in result.stderr
    # upsert: same products, no duplicates; --allow-rejects for the lenient case
    again = run(data_dir, "catalog", "import", "--allow-rejects", str(path))
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
        "SCOPE\tCODE\tWARNING_DAYS\tCRITICAL_DAYS\tLABEL",
        "brick\t10000025\t5\t2\tMilk, ours",
    ]


# --- which database, and never a new empty one by accident ---------------------------------


def test_every_command_names_its_data_directory_and_keys_create_prints_only_the_key(data_dir):
    org = run(data_dir, "orgs", "create", "Shop")
    assert f"data directory {data_dir.resolve()}" in org.stderr
    created = run(data_dir, "keys", "create", "--org", "Shop")
    assert created.stdout.count("\n") == 1 and created.stdout.startswith("csb_")
    assert f"data directory {data_dir.resolve()}" in created.stderr
    for args in (("orgs", "list"), ("sessions", "expire"), ("keys", "list", "--org", "Shop")):
        assert str(data_dir.resolve()) in run(data_dir, *args).stderr, args


@pytest.mark.parametrize(
    "args",
    [
        ("orgs", "create", "Shop"),
        ("orgs", "list"),
        ("keys", "create", "--org", "Shop"),
        ("sessions", "expire"),
        ("freshness", "list", "--org", "Shop"),
        ("catalog", "show", "4006381333931"),
    ],
)
def test_a_command_refuses_to_create_a_new_empty_database(new_dir, args):
    result = run(new_dir, *args, check=False)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"scanserve: data directory {new_dir.resolve()}"
    assert len(lines) == 2 and "no database in" in lines[1] and "db upgrade" in lines[1]
    assert not (new_dir / "scanserve.db").exists()


def test_told_to_go_on_a_command_creates_the_database(new_dir, tmp_path):
    org_id = run(new_dir, "--create", "orgs", "create", "Shop").stdout.strip()
    assert len(org_id) == 22
    other = tmp_path / "other"
    made = run(other, "orgs", "create", "Shop", env={"SCANSERVE_CREATE_DATABASE": "true"})
    assert made.returncode == 0 and (other / "scanserve.db").exists()


# --- configuration mistakes: one line, non-zero exit, no traceback --------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SCANSERVE_QUEUE": "rabbit"}, "SCANSERVE_QUEUE"),
        ({"SCANSERVE_WORKER_THREADS": "none"}, "SCANSERVE_WORKER_THREADS"),
        ({"SCANSERVE_DISABLED_PLUGINS": "qr_plugin,catalog"}, "SCANSERVE_DISABLED_PLUGINS"),
    ],
)
@pytest.mark.parametrize("command", [("orgs", "list"), ("plugins", "list")])
def test_a_bad_setting_is_one_clear_line(data_dir, env, expected, command):
    result = run(data_dir, *command, check=False, env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("Error: ") and expected in result.stderr


def test_a_disabled_plugin_name_that_matches_nothing_is_a_warning(data_dir):
    result = run(data_dir, "plugins", "list", env={"SCANSERVE_DISABLED_PLUGINS": '["qr_plugn"]'})
    assert "WARNING" in result.stderr and "'qr_plugn'" in result.stderr
    assert "scanserve.plugins.builtin.qr\t" in result.stdout  # nothing was disabled


MISSPELT_PLUGIN = """
from scanserve.plugins.hookspecs import hookimpl


@hookimpl
def register_lookup_provider(register, settings):
    register(None)
"""


@pytest.fixture
def installed_misspelt_plugin(tmp_path):
    """A plugin installed the way pip installs one (a module and its dist-info with the entry
    point), on PYTHONPATH for the subprocess."""
    site = tmp_path / "site"
    dist = site / "misspelt_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (site / "misspelt_plugin.py").write_text(MISSPELT_PLUGIN)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: misspelt-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[scanserve]\nmisspelt = misspelt_plugin\n")
    return {"PYTHONPATH": str(site), "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "true"}


@pytest.mark.parametrize("command", [("plugins", "list"), ("serve", "--port", "9")])
def test_a_misspelt_hook_in_an_installed_plugin_is_one_clear_line(
    data_dir, installed_misspelt_plugin, command
):
    result = run(data_dir, *command, check=False, env=installed_misspelt_plugin)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert error == [
        "Error: plugin 'misspelt' cannot be loaded: implements 'register_lookup_provider', "
        "which is not a scanserve hook (did you mean 'register_lookup_providers'?)"
    ]


# --- organisations and keys ---------------------------------------------------------------


def test_orgs_create_refuses_empty_and_duplicate_names(data_dir):
    for empty in ("", "   "):
        result = run(data_dir, "orgs", "create", empty, check=False)
        assert result.returncode == 2 and "must not be empty" in result.stderr
    org_id = run(data_dir, "orgs", "create", "Corner Shop").stdout.strip()
    again = run(data_dir, "orgs", "create", " corner shop ", check=False)
    assert again.returncode == 1 and f"already exists (id {org_id})" in again.stderr
    assert len(run(data_dir, "orgs", "list").stdout.splitlines()) == 2  # header, one org


def test_keys_create_refuses_a_past_expiry_and_keys_list_shows_expired_keys(data_dir):
    run(data_dir, "orgs", "create", "Shop")
    past = run(data_dir, "keys", "create", "--org", "Shop", "--expires", "2020-01-01", check=False)
    assert past.returncode == 2 and "in the past" in past.stderr and past.stdout == ""
    run(data_dir, "keys", "create", "--org", "Shop", "--expires", "30d")
    run(data_dir, "keys", "create", "--org", "Shop", "--name", "forever")
    # Time passes for the first key: its expiry is now behind us.
    db = open_database(f"sqlite:///{data_dir / 'scanserve.db'}")
    try:
        models.ApiKey.update(expires_at=utcnow() - timedelta(days=1)).where(
            models.ApiKey.name == ""
        ).execute()
    finally:
        db.close()
    lines = run(data_dir, "keys", "list", "--org", "Shop").stdout.splitlines()
    assert lines[0].split("\t")[3] == "STATUS"
    assert sorted(line.split("\t")[3] for line in lines[1:]) == ["active", "expired"]


# --- catalog ------------------------------------------------------------------------------


def test_catalog_import_reports_duplicates_and_fails_unless_told(data_dir, tmp_path):
    path = tmp_path / "dupes.csv"
    path.write_text(
        "gtin,name\n"
        "4006381333931,Highlighter yellow\n"
        "5000112637939,Cola\n"
        "04006381333931,Highlighter green\n"  # the same GTIN written as GTIN-14
        "4006381333931,Highlighter blue\n"
    )
    strict = run(data_dir, "catalog", "import", str(path), check=False)
    assert strict.returncode == 1
    assert "imported 2 product(s), rejected 2 row(s)" in strict.stdout
    assert "GTIN 04006381333931: 2 more row(s) with this GTIN rejected" in strict.stderr
    shown = run(data_dir, "catalog", "show", "4006381333931").stdout
    assert "name: Highlighter yellow" in shown  # the first row won
    lenient = run(data_dir, "catalog", "import", "--allow-rejects", str(path))
    assert lenient.returncode == 0


def test_catalog_import_help_documents_the_formats(data_dir):
    text = run(data_dir, "catalog", "import", "--help").stdout
    for word in ("gtin", "image_urls", "JSONL", "Open Food Facts", "docs/catalog.md", "gzip"):
        assert word in text, word
    assert "--allow-rejects" in text


def test_catalog_show_and_remove(data_dir, tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("gtin,name,brand\n4006381333931,Highlighter yellow,Stabilo\n")
    run(data_dir, "catalog", "import", str(path))
    shown = run(data_dir, "catalog", "show", "400-6381-333931").stdout.splitlines()
    assert "gtin: 04006381333931" in shown and "brand: Stabilo" in shown
    assert "source: catalog" in shown and "fetched: - (imported; never refreshed)" in shown
    bad = run(data_dir, "catalog", "show", "abc", check=False)
    assert bad.returncode == 2 and "only digits" in bad.stderr
    removed = run(data_dir, "catalog", "remove", "4006381333931")
    assert removed.stdout.strip() == "removed 04006381333931 (Highlighter yellow)"
    gone = run(data_dir, "catalog", "show", "4006381333931", check=False)
    assert gone.returncode == 1 and "no product with GTIN 04006381333931" in gone.stderr


def test_freshness_remove(data_dir):
    run(data_dir, "orgs", "create", "Deli")
    common = ("--org", "Deli", "--scope", "fallback")
    run(data_dir, "freshness", "set", *common, "--warning-days", "3", "--critical-days", "1",
        "--label", "Ours")  # fmt: skip
    assert run(data_dir, "freshness", "remove", *common).stdout.strip() == "removed fallback -"
    assert run(data_dir, "freshness", "list", "--org", "Deli").stdout.splitlines() == [
        "SCOPE\tCODE\tWARNING_DAYS\tCRITICAL_DAYS\tLABEL"
    ]
    missing = run(data_dir, "freshness", "remove", *common, check=False)
    assert missing.returncode == 1 and "no fallback rule" in missing.stderr


# --- serve and the demo -------------------------------------------------------------------


def test_serve_demo_seeds_once_and_keeps_its_key(new_dir, tmp_path):
    # The operator's own product, imported before the demo ever ran.
    create_database(new_dir)
    ours = tmp_path / "ours.csv"
    ours.write_text("gtin,name\n4006381333931,Highlighter yellow\n")
    run(new_dir, "catalog", "import", str(ours))

    banner, base = start(new_dir, "--demo")
    assert banner[0].startswith("scanserve ") and str(new_dir.resolve()) in banner[0]
    assert f"Base URL: {base}" in banner and f"API reference: {base}/ui/" in banner
    key = banner[-1].removeprefix("API key: ")
    assert key.startswith("csb_")
    key_file = new_dir / "demo-key"
    assert key_file.read_text().strip() == key and key_file.stat().st_mode & 0o777 == 0o600
    # the scanning page, set up with a publishable key of the demo organisation
    assert f"Scan page: {base.removesuffix('/scanner/api/v1')}/scan/" in banner
    page_key = (new_dir / "scan-page-key").read_text().strip()
    assert page_key.startswith("cpk_") and page_key not in "\n".join(banner)
    assert (new_dir / "scan-page-key").stat().st_mode & 0o777 == 0o600

    log = tmp_path / "serve.log"
    again, _ = start(new_dir, "--demo", "--log-format", "json", log=log)
    assert again[-1] == f"API key: {key}"  # reused, not another key
    assert (new_dir / "scan-page-key").read_text().strip() == page_key  # and the page's too
    # The logs: JSON lines with time, level and logger, the access lines with their fields,
    # and the key only ever on stdout.
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(
        r["logger"] == "scanserve.access"
        and r["method"] == "GET"
        and r["path"] == "/scanner/api/v1"
        and r["status"] == 200
        and r["request_id"]
        for r in records
    ), records
    assert key not in log.read_text()
    listing = run(new_dir, "keys", "list", "--org", "Demo Shop").stdout.splitlines()
    # the demo key and the scanning page's publishable key, both active, neither replaced
    assert sorted(row.split("\t")[2:4] for row in listing[1:]) == [
        ["cpk", "active"],
        ["csb", "active"],
    ]
    shown = run(new_dir, "catalog", "show", "4006381333931").stdout
    assert "name: Highlighter yellow" in shown and "source: catalog" in shown
    demo_row = run(new_dir, "catalog", "show", "09506000134352").stdout
    assert "source: demo" in demo_row
    assert run(new_dir, "orgs", "list").stdout.count("Demo Shop") == 1

    plain, plain_base = start(new_dir)  # without --demo: the URL and the reference too
    assert f"Base URL: {plain_base}" in plain and f"API reference: {plain_base}/ui/" in plain
    assert not any(line.startswith("API key:") for line in plain)
    assert f"Scan page: {plain_base.removesuffix('/scanner/api/v1')}/scan/" in plain  # kept key


def test_a_revoked_demo_key_is_replaced_and_older_ones_revoked(data_dir):
    from scanserve.cli import seed_demo
    from scanserve.settings import Settings

    settings = Settings(data_dir=data_dir)
    db = open_database(settings.effective_database_url)
    try:
        first = seed_demo(settings)
        assert seed_demo(settings) == first
        models.ApiKey.update(is_active=False).execute()  # the operator revoked it
        second = seed_demo(settings)
        assert second != first
        third_run = seed_demo(settings)
        assert third_run == second
        (data_dir / "demo-key").unlink()  # lost: a new key, and the old one is revoked
        fourth = seed_demo(settings)
        active = [k.hint for k in models.ApiKey.select().where(models.ApiKey.is_active == True)]  # noqa: E712
        assert fourth != second and active == [fourth[:10]]  # csb_ and six body characters
    finally:
        db.close()


def test_the_command_line_page_lists_every_command():
    import click

    from scanserve.cli import main

    page = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    table = page.split("# Command line", 1)[1].split("\n## ", 1)[0]

    def commands(group: click.Group, prefix: str = "") -> list[str]:
        found = []
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                found += commands(command, f"{prefix}{name} ")
            else:
                found.append(prefix + name)
        return found

    listed = commands(main)
    assert {"serve", "freshness list", "freshness remove", "catalog show"} <= set(listed)
    for command in listed:
        assert re.search(rf"`(scanserve )?{re.escape(command)}[ `]", table), command


@pytest.mark.parametrize("command", [("orgs", "list"), ("serve", "--port", "9")])
def test_a_database_that_does_not_answer_is_one_clear_line(data_dir, command):
    with refused_port() as port:
        url = f"postgresql://scanserve:secret@127.0.0.1:{port}/nothing"
        result = run(data_dir, *command, check=False, env={"SCANSERVE_DATABASE_URL": url})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "secret" not in result.stderr  # the password is never printed
    error = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(error) == 1 and error[0].startswith("Error: cannot use the database: ")
