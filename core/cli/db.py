"""``scanserve db``: the database schema, as alembic's ``upgrade``, ``current`` and
``history`` do it."""

from __future__ import annotations

from typing import Any

import click

from scanserve.cli.common import announce, json_option, open_db, print_table, read_settings


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations."""
    from scanserve.storage.migrate import upgrade

    applied = upgrade(open_db(migrate=False, create=True))
    click.echo(
        f"applied {len(applied)} migration(s): {', '.join(applied)}"
        if applied
        else "database is up to date"
    )


def _history() -> list[Any]:
    """Every migration and whether the database has it, read without creating a database
    (a data directory without one has applied none) and without migrating."""
    from scanserve.storage.migrate import Migration, history, shipped

    settings = read_settings()
    if not settings.database_url and not settings.sqlite_path.exists():
        announce(settings)
        click.echo(
            f"scanserve: there is no database yet ('{_upgrade_command()}' creates it)",
            err=True,
        )
        return [Migration(name, None) for name in shipped()]
    database = open_db(settings, migrate=False, create=True)
    try:
        return history(database)
    finally:
        database.close()


def _upgrade_command() -> str:
    """``scanserve db upgrade`` as this command was called: with the group's ``--data-dir``
    and ``--database-url`` when it had them, so that the advice, followed as written, upgrades
    the database just looked at and not the default one."""
    import shlex

    root = click.get_current_context().find_root()
    words = ["scanserve"]
    for option, name in (("--data-dir", "data_dir"), ("--database-url", "database_url")):
        value = root.params.get(name)
        if value is not None:
            words += [option, shlex.quote(str(value))]
    return " ".join([*words, "db", "upgrade"])


def _marks(migrations: list[Any]) -> tuple[str | None, str | None]:
    """(current, head): the last migration applied and the last this release ships."""
    applied = [m.name for m in migrations if m.applied_at is not None]
    known = [m.name for m in migrations if m.known]
    return (applied[-1] if applied else None), (known[-1] if known else None)


@db.command("current")
@json_option
@click.option("--check", is_flag=True, help="Exit 1 when a migration is pending.")
def db_current(as_json: bool, check: bool) -> None:
    """The last migration applied (CURRENT), the last this release has (HEAD), whether the
    database is up to date, and the migrations pending. Changes nothing."""
    migrations = _history()
    current, head = _marks(migrations)
    pending = [m.name for m in migrations if m.applied_at is None]
    row = {"current": current, "head": head, "up_to_date": not pending, "pending": pending}
    if as_json:
        import json

        click.echo(json.dumps(row))
    else:
        print_table(("current", "head", "up_to_date", "pending"), [row], as_json=False)
    if pending:
        click.echo(
            f"scanserve: {len(pending)} migration(s) pending; run '{_upgrade_command()}'",
            err=True,
        )
        if check:
            raise SystemExit(1)


@db.command("history")
@json_option
def db_history(as_json: bool) -> None:
    """Every migration, oldest first: applied (with when) or pending; MARK says which is
    current (the last applied) and which is head (the last this release has). A migration
    the database ran that this release does not have (a newer release's) is unknown."""
    migrations = _history()
    current, head = _marks(migrations)
    rows = [
        {
            "migration": m.name,
            "state": "unknown"
            if not m.known
            else "pending"
            if m.applied_at is None
            else "applied",
            "applied_at": m.applied_at,
            "mark": [
                mark for mark, name in (("current", current), ("head", head)) if name == m.name
            ],
        }
        for m in migrations
    ]
    print_table(("migration", "state", "applied_at", "mark"), rows, as_json=as_json)
