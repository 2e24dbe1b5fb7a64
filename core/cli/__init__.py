"""The ``scanserve`` command line: the ``main`` group, and one module per group of commands.

Each command imports what it needs when it runs, so that ``scanserve --help`` stays fast.
"""

from __future__ import annotations

import click

from scanserve import __version__
from scanserve.cli import (
    brands,
    catalog,
    credentials,
    db,
    freshness,
    keys,
    orgs,
    plugins,
    retention,
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
@click.pass_context
def main(ctx: click.Context, create: bool) -> None:
    """scanserve: a contract-first server for the Scanner API.

    Every command that uses the database says on stderr which data directory it uses
    (SCANSERVE_DATA_DIR, default ./scanserve-data).
    """
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
main.add_command(plugins.plugins)
main.add_command(catalog.catalog)
main.add_command(freshness.freshness)
main.add_command(brands.brands)
main.add_command(credentials.users)
main.add_command(credentials.members)
main.add_command(credentials.tokens)
