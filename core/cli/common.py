"""What the commands share: settings, the database a command opens (and the refusal to create
an empty one by mistake), one-line start-up errors, organisation look-up, expiry parsing, the
log format option, and tables that are text or JSON.

Output of a command that lists or shows things (every ``list``, ``show``, ``db current`` and
``db history``, ``purge``'s report): decorate it with :func:`json_option` and print through
:func:`print_table`::

    @things.command("list")
    @json_option
    def things_list(as_json: bool) -> None:
        print_table(("thing_id", "name", "expires"), rows, as_json=as_json)

Text is a header of the upper-cased keys and one tab-separated line a row (None is ``-``, a
list is joined with commas); with ``--json`` stdout is one JSON array of objects with exactly
those keys, in that order, and nothing else: messages and errors go to stderr. A test walks the
command tree and fails for a ``list`` or ``show`` command without ``--json``."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, cast

import click

from scanserve.settings import Settings, without_password


def read_settings(*, warn: bool = True) -> Settings:
    """The settings from the environment; a setting that cannot be used ends the command
    with one line. ``warn``: say now which ``SCANSERVE_*`` variables are no setting (see
    :func:`warn_unknown_variables`); a command that sets up its log says it there instead
    (:func:`setup_logging`)."""
    from scanserve.settings import SettingsProblem, load_settings

    try:
        settings = load_settings()
    except SettingsProblem as exc:
        raise click.ClickException(str(exc)) from None
    if warn:
        warn_unknown_variables()
    return settings


@functools.cache  # once a process
def warn_unknown_variables() -> None:
    """Once a process: one warning line on stderr for each ``SCANSERVE_*`` variable that is
    no setting, with the nearest setting's name (``SCANSERVE_QUEU``: did you mean
    ``SCANSERVE_QUEUE``?). Only a warning: a plugin's own options share the prefix.

    Through the log when the command set it up (``serve``, ``worker``, ``plugins list``), so
    that it has the log's format; else as a plain line, as the data directory is named."""
    import importlib.metadata
    import logging
    import os

    from scanserve.settings import unknown_variables

    if not any(name.upper().startswith("SCANSERVE_") for name in os.environ):
        return
    plugins = {ep.name for ep in importlib.metadata.entry_points(group="scanserve")}
    logger = logging.getLogger("scanserve.settings")
    for variable, nearest in unknown_variables(os.environ, plugins):
        hint = f"did you mean {nearest}?" if nearest else "no setting has a name like it"
        message = f"{variable} is not a scanserve setting and is ignored; {hint}"
        if logger.hasHandlers():
            logger.warning("%s", message)
        else:
            click.echo(f"scanserve: warning: {message}", err=True)


def where(settings: Settings) -> str:
    """The data directory (absolute) and, when it is not SQLite there, the database."""
    place = f"data directory {settings.data_dir.resolve()}"
    if settings.database_url:
        place += f", database {without_password(settings.database_url)}"
    return place


def announce(settings: Settings) -> None:
    # stderr: stdout of some commands (keys create) is only their result.
    click.echo(f"scanserve: {where(settings)}", err=True)


def _may_create() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("create"))


def refuse_new_database(settings: Settings) -> None:
    """Stop a command that would create a new, empty database (see ``create_database``)."""
    if settings.create_database or _may_create():
        return
    if settings.database_url:
        from scanserve.storage.database import open_database

        db = open_database(settings.effective_database_url)
        try:
            empty = "organization" not in db.get_tables()
        finally:
            db.close()
        what = "the database has no scanserve tables"
    else:
        empty = not settings.sqlite_path.exists()
        what = f"there is no database in {settings.data_dir.resolve()}"
    if empty:
        raise click.ClickException(
            f"{what}; this command would create a new, empty one. Point --data-dir or "
            "SCANSERVE_DATA_DIR (--database-url, SCANSERVE_DATABASE_URL) at the existing data, "
            "or create it with "
            "'scanserve db upgrade' (or run 'scanserve --create ...')."
        )


def open_db(
    settings: Settings | None = None, *, migrate: bool = True, create: bool = False
) -> Any:
    """Open (and migrate) the database for a command, saying which; refuses to create a new
    empty one unless ``create`` (``db upgrade``) or the operator said so."""
    from scanserve.storage.database import open_database
    from scanserve.storage.migrate import upgrade

    settings = settings or read_settings()
    announce(settings)
    with startup_errors():
        if not create:
            refuse_new_database(settings)
        db = open_database(
            settings.effective_database_url,
            prepared_statements=settings.database_prepared_statements,
        )
        if migrate:
            upgrade(db)
    return db


@contextmanager
def startup_errors() -> Iterator[None]:
    """A plugin that cannot be loaded (a misspelt hook, a wrong argument) or a database that
    cannot be reached ends the command with one line saying so, not a traceback."""
    import peewee

    from scanserve.plugins.manager import PluginProblem

    try:
        yield
    except PluginProblem as exc:
        raise click.ClickException(str(exc)) from None
    except (peewee.OperationalError, peewee.InterfaceError, peewee.ImproperlyConfigured) as exc:
        # ImproperlyConfigured: peewee has no driver for the database (psycopg2 missing).
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise click.ClickException(
            f"cannot use the database: {first} (check SCANSERVE_DATABASE_URL, SCANSERVE_DATA_DIR)"
        ) from None


def find_org(ref: str, param_hint: str = "--org") -> Any:
    """The organisation ``ref`` names: its id, else its name (an error when several share
    it: then the id is needed)."""
    from scanserve.storage import models

    org = models.Organization.get_or_none(models.Organization.short_id == ref)
    if org is None:
        matches = list(
            models.Organization.select().where(models.Organization.name == ref).limit(2)
        )
        if len(matches) != 1:
            raise click.BadParameter(
                f"no organisation named or numbered {ref!r} (see 'scanserve orgs list')"
                if not matches
                else f"several organisations are named {ref!r}; give the id "
                "(see 'scanserve orgs list')",
                param_hint=param_hint,
            )
        org = matches[0]
    return org


_DURATION = re.compile(r"^(\d+)([dhm])$")


def parse_expiry(value: str | None) -> datetime | None:
    if not value:
        return None
    from scanserve.storage.fields import utcnow

    match = _DURATION.match(value)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return utcnow() + timedelta(**{{"d": "days", "h": "hours", "m": "minutes"}[unit]: amount})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "use an ISO date-time (2027-01-31T00:00:00Z) or a duration such as 30d, 12h, 45m"
        ) from None
    if parsed.tzinfo is None:
        from datetime import UTC

        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def log_format_option(fn: Any) -> Any:
    return click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        default=None,
        help="Log lines as text or JSON objects (default: SCANSERVE_LOG_FORMAT, text).",
    )(fn)


def setup_logging(settings: Settings, log_format: str | None) -> dict[str, Any]:
    from scanserve.infra.logconfig import configure_logging, logging_config

    fmt = cast("Any", log_format or settings.log_format)
    configure_logging(fmt, settings.log_level)
    warn_unknown_variables()  # now as a line of the log, in its format
    return logging_config(fmt, settings.log_level)


def json_option(fn: Any) -> Any:
    """``--json``: the output as JSON on stdout (see the module's docstring)."""
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print JSON (an array of objects keyed by the columns' names), not a table.",
    )(fn)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value) or "-"
    return str(value)


def print_table(
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    *,
    as_json: bool,
    text: Mapping[str, Callable[[Any], str]] | None = None,
) -> None:
    """Rows (mappings holding every one of ``columns``) as a table with a header, or with
    ``as_json`` as one JSON array of objects keyed by ``columns``. ``text`` maps a column
    to how its value is written in the table (the JSON keeps the value itself)."""
    shown = [{column: row[column] for column in columns} for row in rows]
    if as_json:
        click.echo(json.dumps(shown, default=str, ensure_ascii=False))
        return
    writers = text or {}
    click.echo("\t".join(column.upper() for column in columns))
    for row in shown:
        click.echo("\t".join(writers.get(c, _cell)(row[c]) for c in columns))


def when(value: datetime | None) -> str | None:
    """A time as the tables and their JSON give it: ISO 8601, or None."""
    return value.isoformat() if value is not None else None


def url_host(host: str) -> str:
    """``host`` as it stands in a URL: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host
