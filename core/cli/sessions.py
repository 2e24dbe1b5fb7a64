"""``scanserve sessions``: scanning sessions."""

from __future__ import annotations

import click

from scanserve.cli.common import open_db, read_settings


@click.group()
def sessions() -> None:
    """Scanning sessions."""


@sessions.command("expire")
def sessions_expire() -> None:
    """Mark sessions idle past the TTL as EXPIRED."""
    from scanserve.domain import sessions as service

    settings = read_settings()
    open_db(settings)
    click.echo(f"expired {service.expire_idle(settings.session_ttl_seconds)} session(s)")
