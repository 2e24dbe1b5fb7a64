"""``scanserve db``: the database schema."""

from __future__ import annotations

import click

from scanserve.cli.common import open_db


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
