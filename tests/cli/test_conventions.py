"""One consistent command line (checked against datasette's and alembic's): every command that
lists or shows things has a header and ``--json`` (an array of objects, nothing else on
stdout), the same word means the same thing in every command, ``--data-dir`` and
``--database-url`` win over the environment, and ``db current`` / ``db history`` say where the
schema stands."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from datetime import datetime

import cli_fork
import click
import httpx
import pytest
from cli_runner import create_database, run
from click.testing import CliRunner
from loopback import served_port

from scanserve.bootstrap import build_services
from scanserve.cli import main
from scanserve.settings import Settings
from scanserve.storage.database import open_database
from scanserve.storage.migrate import shipped
from scanserve.testing import issue_key, wait_for

LISTING = {"list", "show", "current", "history"}


def _every_command(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _every_command(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def _options(command: click.Command) -> set[str]:
    return {opt for param in command.params for opt in getattr(param, "opts", ())}


def test_every_command_that_lists_or_shows_takes_json():
    listing = [path for path, _ in _every_command(main) if path[-1] in LISTING]
    assert {("orgs", "list"), ("keys", "list"), ("orgs", "quota", "show")} <= set(listing)
    for path, command in _every_command(main):
        if path[-1] in LISTING or path == ("purge",):
            assert "--json" in _options(command), " ".join(path)


@pytest.fixture
def filled(filled_once, tmp_path):
    """A data directory with one of everything a list command lists (a copy of the module's:
    each test may change its own)."""
    return shutil.copytree(filled_once, tmp_path / "data")


@pytest.fixture(scope="module")
def filled_once(tmp_path_factory):
    """A data directory filled by the commands themselves, once for the module (eight
    ``scanserve`` processes)."""
    tmp_path = tmp_path_factory.mktemp("filled")
    path = tmp_path / "data"
    create_database(path)
    run(path, "orgs", "create", "Corner Shop")
    run(path, "keys", "create", "--org", "Corner Shop", "--name", "till", "--expires", "never")
    run(path, "users", "create", "ana@example.com")
    run(path, "members", "add", "--org", "Corner Shop", "ana@example.com")
    run(path, "tokens", "create", "--user", "ana@example.com", "--expires", "never")
    run(path, "brands", "claim", "--org", "Corner Shop", "Acme")
    run(
        *(path, "freshness", "set", "--org", "Corner Shop", "--scope", "fallback"),
        *("--warning-days", "3", "--critical-days", "1", "--label", "Fresh"),
    )
    csv = tmp_path / "products.csv"
    csv.write_text("gtin,name,brand\n4006381333931,Highlighter,Stabilo\n")
    run(path, "catalog", "import", str(csv))
    return path


# Each listing with the keys its JSON objects have, in order, and what one of them holds.
LISTS = [
    (("orgs", "list"), ["org_id", "name", "created"], {"name": "Corner Shop"}),
    (
        ("keys", "list", "--org", "Corner Shop"),
        ["key_id", "hint", "kind", "status", "expires", "last_used", "origins", "name"],
        {
            "kind": "csb",
            "status": "active",
            "expires": None,
            "last_used": None,
            "origins": [],
            "name": "till",
        },
    ),
    (
        ("users", "list"),
        ["user_id", "email", "organisations"],
        {"email": "ana@example.com"},
    ),
    (("members", "list", "--org", "Corner Shop"), ["user_id", "email"], {}),
    (
        ("tokens", "list", "--user", "ana@example.com"),
        ["token_id", "hint", "org", "scopes", "status", "expires", "last_used", "name"],
        {"org": None, "scopes": ["scanner:read", "scanner:write"], "expires": None},
    ),
    (("brands", "list"), ["brand", "org_id", "org_name"], {"brand": "Acme"}),
    (
        ("freshness", "list", "--org", "Corner Shop"),
        ["scope", "code", "warning_days", "critical_days", "label"],
        {"scope": "fallback", "code": None, "warning_days": 3, "critical_days": 1},
    ),
    (
        ("orgs", "quota", "show", "Corner Shop"),
        ["org_id", "resource", "used", "limit", "source"],
        {"resource": "bytes", "used": 0, "source": "default"},
    ),
]


@pytest.mark.parametrize(
    ("args", "keys", "holds"), LISTS, ids=[" ".join(a[:2]) for a, _, _ in LISTS]
)
def test_each_list_has_a_header_and_json_with_stable_keys(filled, args, keys, holds):
    table = run(filled, *args)
    assert table.stdout.splitlines()[0].split("\t") == [key.upper() for key in keys]
    as_json = run(filled, *args, "--json")
    rows = json.loads(as_json.stdout)  # stdout is the JSON and nothing else
    assert isinstance(rows, list) and rows, as_json.stdout
    assert all(list(row) == keys for row in rows)
    assert holds.items() <= rows[0].items(), rows[0]
    assert len(rows) == len(table.stdout.splitlines()) - 1  # a table line per object
    assert "data directory" in as_json.stderr  # messages stay on stderr


def test_json_lists_name_the_same_things_the_same_way(filled):
    (org,) = json.loads(run(filled, "orgs", "list", "--json").stdout)
    (user,) = json.loads(run(filled, "users", "list", "--json").stdout)
    (claim,) = json.loads(run(filled, "brands", "list", "--json").stdout)
    assert user["organisations"] == [org["org_id"]] and claim["org_id"] == org["org_id"]
    (key,) = json.loads(run(filled, "keys", "list", "--org", org["org_id"], "--json").stdout)
    (token,) = json.loads(run(filled, "tokens", "list", "--user", user["email"], "--json").stdout)
    assert key["status"] == token["status"] == "active"  # one word for one thing


def test_an_empty_list_is_a_header_or_an_empty_array(filled):
    run(filled, "orgs", "create", "Empty")
    assert run(filled, "members", "list", "--org", "Empty").stdout == "USER_ID\tEMAIL\n"
    assert run(filled, "members", "list", "--org", "Empty", "--json").stdout == "[]\n"


def test_an_error_leaves_stdout_empty_under_json(filled):
    result = run(filled, "keys", "list", "--org", "Nobody", "--json", check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert "no organisation named or numbered 'Nobody'" in result.stderr


def test_catalog_show_and_plugins_list_as_json(filled):
    product = json.loads(run(filled, "catalog", "show", "4006381333931", "--json").stdout)
    assert product["gtin"] == "04006381333931" and product["name"] == "Highlighter"
    assert product["image_urls"] == [] and product["fetched"] is None
    listed = json.loads(run(filled, "plugins", "list", "--json").stdout)  # GET /plugins' body
    assert {"plugins", "providers"} <= set(listed)


def test_purge_reports_as_json(filled):
    report = json.loads(run(filled, "purge", "--older-than", "90d", "--json").stdout)
    assert report["executed"] is False and report["total"]["sessions"] == 0


# --- processes and threads named apart ------------------------------------------------------


def _worker_threads(tmp_path, redis_url, *flags: str) -> tuple[str, str]:
    """Start ``scanserve worker`` with ``flags`` on the redis queue until its main lane says
    how many threads it started; returns that line and the worker's stderr before it."""
    data = tmp_path / "data"
    create_database(data)
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "SCANSERVE_DATA_DIR": str(data),
        "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
        "SCANSERVE_QUEUE": "redis",
        "SCANSERVE_REDIS_URL": redis_url,
        "SCANSERVE_QUEUE_NAME": f"cli-threads-{uuid.uuid4().hex[:8]}",
        "SCANSERVE_SLOW_WORKER_THREADS": "1",
    }
    command = [*cli_fork.COMMAND, "worker"]
    with log.open("w") as out, cli_fork.Popen([*command, *flags], stderr=out, env=env) as proc:
        try:

            def main_lane() -> str | None:
                text = log.read_text()
                assert proc.poll() is None, text
                found = re.search(r"Huey consumer started with ([2-9]|\d\d+) thread", text)
                return found.group(0) if found else None

            line = wait_for(main_lane, 60, "the worker's main lane to start")
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    return line, log.read_text()


@pytest.mark.redis
def test_worker_threads_are_given_with_threads(tmp_path, redis_url):
    line, log = _worker_threads(tmp_path, redis_url, "--threads", "3")
    assert line == "Huey consumer started with 3 thread"
    assert "deprecated" not in log


@pytest.mark.redis
def test_worker_workers_still_works_and_says_it_is_deprecated(tmp_path, redis_url):
    line, log = _worker_threads(tmp_path, redis_url, "--workers", "5")
    assert line == "Huey consumer started with 5 thread"
    warnings = [entry for entry in log.splitlines() if "deprecated" in entry]
    assert warnings == [
        "scanserve: warning: 'worker --workers' is deprecated (on 'serve' it counts "
        "processes); use 'worker --threads 5'"
    ]


def test_workers_means_processes_and_threads_means_threads():
    serve, worker = main.commands["serve"], main.commands["worker"]
    workers = next(p for p in serve.params if p.name == "workers")
    assert "processes" in (workers.help or "").lower()
    visible = {opt for p in worker.params if not getattr(p, "hidden", False) for opt in p.opts}
    assert "--threads" in visible and "--workers" not in visible
    # no other command uses either word for something else
    for path, command in _every_command(main):
        if path not in (("serve",), ("worker",)):
            assert not {"--workers", "--threads", "--processes"} & _options(command), path


# --- which database: the options win over the environment ----------------------------------


def test_data_dir_option_wins_over_the_environment(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    create_database(first)
    create_database(second)
    made = run(first, "--data-dir", str(second), "orgs", "create", "Second Shop")
    assert f"data directory {second.resolve()}" in made.stderr
    assert run(first, "orgs", "list", "--json").stdout == "[]\n"  # the environment's: untouched
    (org,) = json.loads(run(second, "orgs", "list", "--json").stdout)
    assert org["name"] == "Second Shop"


def test_database_url_option_wins_over_the_environment(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    create_database(first)
    create_database(second)
    run(second, "orgs", "create", "Second Shop")
    env = {"SCANSERVE_DATABASE_URL": f"sqlite:///{first / 'scanserve.db'}"}
    assert run(tmp_path, "orgs", "list", "--json", env=env).stdout == "[]\n"
    url = f"sqlite:///{second / 'scanserve.db'}"
    listed = run(tmp_path, "--database-url", url, "orgs", "list", "--json", env=env)
    assert [org["name"] for org in json.loads(listed.stdout)] == ["Second Shop"]
    assert f"database {url}" in listed.stderr


def test_the_database_options_are_named_in_the_help():
    result = CliRunner().invoke(main, ["--help"])
    assert "--data-dir" in result.output and "SCANSERVE_DATA_DIR" in result.output
    assert "--database-url" in result.output and "SCANSERVE_DATABASE_URL" in result.output


# --- db current and db history, as alembic's ------------------------------------------------


def test_db_current_and_history_of_a_directory_without_a_database(tmp_path):
    new = tmp_path / "new"
    current = json.loads(run(new, "db", "current", "--json").stdout)
    assert current["current"] is None and current["up_to_date"] is False
    assert current["pending"] == shipped() and current["head"] == shipped()[-1]
    assert run(new, "db", "current", "--check", check=False).returncode == 1
    history = json.loads(run(new, "db", "history", "--json").stdout)
    assert [m["migration"] for m in history] == shipped()
    assert {m["state"] for m in history} == {"pending"} and history[-1]["mark"] == ["head"]
    assert not new.exists()  # looking created nothing


def test_db_current_advises_the_upgrade_of_the_database_it_looked_at(tmp_path):
    """Followed as written, the advice upgrades the --data-dir given, not the default."""
    elsewhere, new = tmp_path / "default", tmp_path / "my data"
    done = run(elsewhere, "--data-dir", str(new), "db", "current", check=False)
    assert done.returncode == 0
    assert f"'scanserve --data-dir '{new}' db upgrade'" in done.stderr, done.stderr
    plain = run(new, "db", "current", check=False)
    assert "run 'scanserve db upgrade'" in plain.stderr, plain.stderr


def test_db_current_and_history_of_an_up_to_date_database(tmp_path):
    data = tmp_path / "data"
    run(data, "db", "upgrade")
    table = run(data, "db", "current").stdout.splitlines()
    assert table == [
        "CURRENT\tHEAD\tUP_TO_DATE\tPENDING",
        f"{shipped()[-1]}\t{shipped()[-1]}\tyes\t-",
    ]
    assert run(data, "db", "current", "--check").returncode == 0
    history = json.loads(run(data, "db", "history", "--json").stdout)
    assert {m["state"] for m in history} == {"applied"}
    assert all(datetime.fromisoformat(m["applied_at"]) for m in history)
    assert history[-1]["mark"] == ["current", "head"] and history[0]["mark"] == []
    lines = run(data, "db", "history").stdout.splitlines()
    assert lines[0] == "MIGRATION\tSTATE\tAPPLIED_AT\tMARK"
    assert lines[-1].startswith(f"{shipped()[-1]}\tapplied\t") and lines[-1].endswith(
        "\tcurrent,head"
    )


def test_db_history_shows_a_database_part_way_and_one_from_a_newer_release(tmp_path):
    data = tmp_path / "data"
    create_database(data)
    db = open_database(f"sqlite:///{data / 'scanserve.db'}")
    try:  # as if the last migration had not run yet, and a newer release had run another
        db.execute_sql("DELETE FROM migratehistory WHERE name = ?", (shipped()[-1],))
        db.execute_sql(
            "INSERT INTO migratehistory (name, migrated_at) VALUES (?, ?)",
            ("999_from_the_future", "2030-01-01 00:00:00"),
        )
    finally:
        db.close()
    history = json.loads(run(data, "db", "history", "--json").stdout)
    states = {m["migration"]: m["state"] for m in history}
    assert states[shipped()[-1]] == "pending" and states["999_from_the_future"] == "unknown"
    current = json.loads(run(data, "db", "current", "--json").stdout)
    assert current["pending"] == [shipped()[-1]] and current["up_to_date"] is False
    assert current["current"] == "999_from_the_future"  # the last the database ran


@pytest.mark.postgres
def test_db_current_on_a_new_postgres_database(postgres_url, tmp_path):
    current = run(tmp_path, "--database-url", postgres_url, "db", "current", "--json")
    assert json.loads(current.stdout)["current"] is None
    run(tmp_path, "--database-url", postgres_url, "db", "upgrade")
    after = json.loads(
        run(tmp_path, "--database-url", postgres_url, "db", "current", "--json").stdout
    )
    assert after == {
        "current": shipped()[-1],
        "head": shipped()[-1],
        "up_to_date": True,
        "pending": [],
    }


@pytest.mark.redis
def test_data_dir_option_reaches_the_processes_of_serve_workers(tmp_path, redis_url):
    """serve --workers N builds each process's app from the environment: the option must
    be there, or the processes would answer from SCANSERVE_DATA_DIR's database."""
    chosen, decoy = tmp_path / "chosen", tmp_path / "decoy"
    create_database(decoy)
    services = build_services(
        Settings(data_dir=chosen, queue="immediate", load_entrypoint_plugins=False)
    )
    key = issue_key("Chosen")
    services.db.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANSERVE_")}
    env.update(
        SCANSERVE_DATA_DIR=str(decoy),
        SCANSERVE_LOAD_ENTRYPOINT_PLUGINS="false",
        SCANSERVE_RATE_LIMIT_STORAGE_URL=redis_url,
    )
    command = list(cli_fork.COMMAND)
    out = tmp_path / "serve.out"
    with out.open("wb") as out_file:
        server = cli_fork.Popen(
            [*command, "--data-dir", str(chosen), "serve", "--workers", "2", "--port", "0"],
            env=env,
            stdout=out_file,
            stderr=subprocess.DEVNULL,
        )
    try:
        url = f"http://127.0.0.1:{served_port(server, out, within=90)}/scanner/api/v1/sessions"

        def answer() -> int | None:
            try:
                return httpx.get(url, headers={"X-API-Key": key.key}, timeout=5).status_code
            except httpx.TransportError:
                return None

        assert wait_for(answer, 90, "the server processes to start") == 200
        assert {answer() for _ in range(10)} == {200}  # new connections, either process
    finally:
        server.terminate()
        server.wait(timeout=60)
