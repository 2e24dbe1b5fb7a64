"""The ``scanserve`` command line: the ``main`` group, and one module per group of commands.

Each command imports what it needs when it runs, so that ``scanserve --help`` stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from scanserve import __version__
from scanserve.cli import (
    brands,
    catalog,
    conformance,
    credentials,
    db,
    freshness,
    keys,
    mock,
    orgs,
    plugins,
    proxy,
    retention,
    sandbox,
    scan_page,
    serve,
    sessions,
)
from scanserve.cli.demo import seed_demo

__all__ = ["main", "seed_demo"]


@click.group(invoke_without_command=True)
@click.version_option(__version__, prog_name="scanserve")
@click.option(
    "--create",
    is_flag=True,
    help="Let the command create a new, empty database where there is none "
    "(also SCANSERVE_CREATE_DATABASE=true). Without it only 'db upgrade' and 'serve' do.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The data directory: the SQLite database, the embedded queue, local objects "
    "(wins over SCANSERVE_DATA_DIR; default ./scanserve-data).",
)
@click.option(
    "--database-url",
    default=None,
    metavar="URL",
    help="The database, postgresql://user@host:5432/db (wins over SCANSERVE_DATABASE_URL; "
    "default: SQLite in the data directory). A password here shows in the process list: "
    "prefer the variable for one.",
)
@click.pass_context
def main(
    ctx: click.Context, create: bool, data_dir: Path | None, database_url: str | None
) -> None:
    """scanserve: a contract-first server for the Scanner API.

    Every command that uses the database says on stderr which data directory it uses
    (--data-dir, else SCANSERVE_DATA_DIR, default ./scanserve-data).
    """
    # An option names a setting for this process and the ones it starts (serve --workers
    # builds each server process's app from the environment), so it goes where the settings
    # are read from: the option wins over the variable because it replaces it.
    for variable, value in (
        ("SCANSERVE_DATA_DIR", data_dir),
        ("SCANSERVE_DATABASE_URL", database_url),
    ):
        if value is not None:
            os.environ[variable] = str(value)
    if ctx.invoked_subcommand is None:  # bare `scanserve`: what it can do, and success
        click.echo(ctx.get_help())
        ctx.exit(0)


main.add_command(serve.serve)
main.add_command(db.db)
main.add_command(orgs.orgs)
main.add_command(keys.keys)
main.add_command(sessions.sessions)
main.add_command(retention.purge)
main.add_command(serve.worker)
main.add_command(mock.mock)
main.add_command(sandbox.sandbox)
main.add_command(plugins.plugins)
main.add_command(catalog.catalog)
main.add_command(freshness.freshness)
main.add_command(brands.brands)
main.add_command(scan_page.scan_page)
main.add_command(credentials.users)
main.add_command(credentials.members)
main.add_command(credentials.tokens)
main.add_command(proxy.proxy)
main.add_command(conformance.conformance)
