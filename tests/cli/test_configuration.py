"""Configuration mistakes as an operator makes them, and the command line's manners: each
mistake is one line and a non-zero exit (never a traceback), a misspelt variable is named with
the setting it was probably meant to be, bare ``scanserve`` is help, help text is plain, and
organisations are named by id or name."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from cli_runner import create_database, run
from click.testing import CliRunner

from scanserve.cli import main
from scanserve.settings import env_names, unknown_variables


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data"
    create_database(path)
    return path


def install_plugin(tmp_path: Path, name: str, source: str) -> dict[str, str]:
    """A plugin installed the way pip installs one (a module and its dist-info with the
    entry point ``name``), on PYTHONPATH for the subprocess: the environment to run with."""
    site = tmp_path / f"site-{name}"
    module = f"{name}_plugin"
    dist = site / f"{module}-1.0.dist-info"
    dist.mkdir(parents=True)
    (site / f"{module}.py").write_text(source)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[scanserve]\n{name} = {module}\n")
    return {"PYTHONPATH": str(site), "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "true"}


REFUSING_PLUGIN = """
from scanserve.plugins.hookspecs import hookimpl


@hookimpl
def register_lookup_providers(register, settings):
    raise ValueError("SCANSERVE_REFUSING_TOKEN must be set (the token of the refusing service)")
"""

UNIMPORTABLE_PLUGIN = """
import scanserve_no_such_dependency  # noqa: F401
"""

DATA_DIR_LINE = "scanserve: data directory "


def the_one_error(result, *, allowed=(DATA_DIR_LINE,)) -> str:
    """The command failed with one line on stderr (besides the line naming the data
    directory, which a command that uses the database prints first) and no traceback."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith(allowed)]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), result.stderr
    return lines[0]


SERVE = ("serve", "--port", "0")
WORKER = ("worker",)
DB_UPGRADE = ("db", "upgrade")
PLUGINS_LIST = ("plugins", "list")
ORGS_LIST = ("orgs", "list")


@pytest.mark.parametrize("command", [SERVE, WORKER, DB_UPGRADE, PLUGINS_LIST, ORGS_LIST])
@pytest.mark.parametrize("url", ["nonsense", "mysql://scanserve:secret@127.0.0.1/scanserve"])
def test_a_database_url_scanserve_cannot_use_is_one_line(data_dir, command, url):
    result = run(data_dir, *command, check=False, env={"SCANSERVE_DATABASE_URL": url})
    error = the_one_error(result, allowed=())  # refused before the data directory is named
    assert "SCANSERVE_DATABASE_URL" in error and "postgresql://" in error
    assert "secret" not in result.stderr  # a password is never printed


@pytest.mark.parametrize("command", [SERVE, WORKER, PLUGINS_LIST])
def test_open_food_facts_without_a_user_agent_is_one_line(data_dir, command):
    result = run(data_dir, *command, check=False, env={"SCANSERVE_OPENFOODFACTS_ENABLED": "true"})
    error = the_one_error(result)
    assert "plugin 'openfoodfacts' cannot start" in error
    assert "SCANSERVE_OPENFOODFACTS_USER_AGENT must be set" in error


@pytest.mark.parametrize("command", [SERVE, WORKER, PLUGINS_LIST])
def test_a_plugin_whose_register_hook_raises_is_one_line(data_dir, tmp_path, command):
    env = install_plugin(tmp_path, "refusing", REFUSING_PLUGIN)
    error = the_one_error(run(data_dir, *command, check=False, env=env))
    assert error == (
        "Error: plugin 'refusing' cannot start (register_lookup_providers raised): "
        "SCANSERVE_REFUSING_TOKEN must be set (the token of the refusing service) "
        """(or disable it: SCANSERVE_DISABLED_PLUGINS='["refusing"]')"""
    )
    # and the way out it names works
    disabled = {**env, "SCANSERVE_DISABLED_PLUGINS": '["refusing"]'}
    assert run(data_dir, *PLUGINS_LIST, env=disabled).returncode == 0


@pytest.mark.parametrize("command", [SERVE, PLUGINS_LIST])
def test_a_plugin_that_cannot_be_imported_is_one_line(data_dir, tmp_path, command):
    env = install_plugin(tmp_path, "unimportable", UNIMPORTABLE_PLUGIN)
    error = the_one_error(run(data_dir, *command, check=False, env=env))
    assert error.startswith(
        "Error: plugin 'unimportable' cannot be loaded: ModuleNotFoundError: "
        "No module named 'scanserve_no_such_dependency'"
    ), error
    assert "SCANSERVE_DISABLED_PLUGINS" in error


# --- variables that are no setting ----------------------------------------------------------


def test_a_misspelt_variable_is_named_with_the_setting_it_resembles(data_dir):
    result = run(data_dir, "orgs", "list", env={"SCANSERVE_QUEU": "redis"})
    assert result.returncode == 0  # a warning, not an error
    warnings = [line for line in result.stderr.splitlines() if "SCANSERVE_QUEU" in line]
    assert warnings == [
        "scanserve: warning: SCANSERVE_QUEU is not a scanserve setting and is ignored; "
        "did you mean SCANSERVE_QUEUE?"
    ], result.stderr


def test_the_warning_is_a_log_line_where_the_command_logs(data_dir):
    result = run(
        data_dir,
        *PLUGINS_LIST,
        env={"SCANSERVE_LOG_FORMAT": "json", "SCANSERVE_WORKER_THRAEDS": "4"},
    )
    lines = [line for line in result.stderr.splitlines() if "THRAEDS" in line]
    assert len(lines) == 1, result.stderr
    record = json.loads(lines[0])
    assert record["level"] == "WARNING" and record["logger"] == "scanserve.settings"
    assert "did you mean SCANSERVE_WORKER_THREADS?" in record["message"]


def test_variables_of_tests_tools_and_installed_plugins_are_not_warned_about(data_dir, tmp_path):
    env = install_plugin(tmp_path, "quiet-one", "")  # installed, never loaded by orgs list
    env |= {
        "SCANSERVE_QUIET_ONE_TOKEN": "x",  # the plugin's own option
        "SCANSERVE_TEST_SOMETHING": "1",
        "SCANSERVE_FUZZ_SOMETHING": "1",
        "SCANSERVE_BENCH_SOMETHING": "1",
        "SCANSERVE_CONTRACT_EXAMPLES": "3",
        "scanserve_queue": "embedded",  # settings are case-insensitive
        "SCANSERVE_XYZZY": "1",
    }
    result = run(data_dir, "orgs", "list", env=env)
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == [
        "scanserve: warning: SCANSERVE_XYZZY is not a scanserve setting and "
        "is ignored; no setting has a name like it"
    ], result.stderr


def test_unknown_variables_are_found_with_the_nearest_setting():
    environ = {
        "SCANSERVE_DATA_DIR": "d",
        "SCANSERVE_DATABSE_URL": "x",
        "SCANSERVE_ACME_KEY": "k",
        "PATH": "/bin",
    }
    assert unknown_variables(environ, plugin_names=["acme"]) == [
        ("SCANSERVE_DATABSE_URL", "SCANSERVE_DATABASE_URL")
    ]
    assert "SCANSERVE_QUEUE" in env_names() and "SCANSERVE_DATA_DIR" in env_names()


# --- the command line's manners -------------------------------------------------------------


def test_bare_scanserve_prints_help_and_succeeds(data_dir):
    result = run(data_dir, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: ")  # the runner's program is `python -c`
    assert "Commands:" in result.stdout and "serve" in result.stdout


def _every_command(group: click.Group, prefix: tuple[str, ...] = ()):
    yield prefix, group
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _every_command(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def test_help_text_is_plain():
    runner = CliRunner()
    seen = 0
    for path, _ in _every_command(main):
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "``" not in result.output and "`" not in result.output, (path, result.output)
        seen += 1
    assert seen > 30


def test_every_org_option_takes_an_id_or_a_name():
    for path, command in _every_command(main):
        for param in command.params:
            if "--org" in getattr(param, "opts", ()):
                assert "id or name" in (param.help or ""), path  # type: ignore[attr-defined]


def test_organisations_are_named_by_id_or_name(data_dir):
    org_id = run(data_dir, "orgs", "create", "Corner Shop").stdout.strip()
    for args in (
        ("keys", "list", "--org", "{}"),
        ("freshness", "list", "--org", "{}"),
        ("brands", "list", "--org", "{}"),
        ("orgs", "quota", "show", "{}"),
    ):
        by_id = run(data_dir, *(a.format(org_id) for a in args))
        by_name = run(data_dir, *(a.format("Corner Shop") for a in args))
        assert by_id.stdout == by_name.stdout, args


def test_an_unknown_organisation_is_named_as_given(data_dir):
    result = run(data_dir, "keys", "create", "--org", "Nope", check=False)
    assert result.returncode == 2
    assert "no organisation named or numbered 'Nope'" in result.stderr
    quota = run(data_dir, "orgs", "quota", "show", "Nope", check=False)
    assert "Invalid value for ORG: no organisation named or numbered 'Nope'" in quota.stderr


def test_an_unknown_catalog_format_is_said_plainly(data_dir, tmp_path):
    file = tmp_path / "products.txt"
    file.write_text("gtin,name\n4006381333931,Pen\n")
    result = run(data_dir, "catalog", "import", str(file), check=False)
    assert result.returncode == 2
    assert "choose one of: csv, jsonl" in result.stderr
    assert "format=" not in result.stderr
