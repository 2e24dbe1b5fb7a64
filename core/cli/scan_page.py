"""``scanserve scan-page``: the publishable key of the public scanning page ``/scan/``."""

from __future__ import annotations

import os
from pathlib import Path

import click

from scanserve.cli.common import open_db, read_settings


def keep_page_key(data_dir: Path, raw: str) -> Path:
    """Write the page's key to ``<data_dir>/scan-page-key`` (mode 0600), replacing any: the
    server reads it at each request for the page (scanserve.http.scanpage)."""
    from scanserve.http.scanpage import KEY_FILE

    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE
    partial = data_dir / f".{KEY_FILE}.{os.getpid()}"
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(raw + "\n")
    os.replace(partial, path)  # whole or not at all, for a server reading it meanwhile
    return path


def usable_key(raw: str) -> object | None:
    """The active, unexpired ``cpk`` key row of ``raw``, or None. Needs an open database."""
    from scanserve.identity.keys import hash_secret, parse_key
    from scanserve.storage import models
    from scanserve.storage.fields import utcnow

    parsed = parse_key(raw)
    if parsed is None or parsed.kind != "cpk":
        return None
    row = models.ApiKey.get_or_none(models.ApiKey.key_hash == hash_secret(raw))
    if row is None or not row.is_active or (row.expires_at and row.expires_at <= utcnow()):
        return None
    return row


@click.command("scan-page")
@click.option(
    "--key",
    default=None,
    help="The publishable key (cpk_..., from 'scanserve keys create --kind cpk') the page "
    "calls the API with.",
)
@click.option("--off", is_flag=True, help="Forget the kept key: the page is not configured.")
def scan_page(key: str | None, off: bool) -> None:
    """The public scanning page /scan/: set its publishable key, or show which it uses.

    The server keeps only hashes of keys, so the operator gives the page its key once; it is
    kept in the data directory (scan-page-key, mode 0600) and read by the running server,
    no restart needed. SCANSERVE_SCAN_PAGE_KEY, when set, wins over it.
    """
    from scanserve.http.scanpage import KEY_FILE, page_key
    from scanserve.identity.keys import parse_key

    settings = read_settings()
    if key is not None and off:
        raise click.UsageError("give --key or --off, not both")
    path = settings.data_dir / KEY_FILE
    if off:
        path.unlink(missing_ok=True)
        click.echo("The scanning page has no kept key now.")
    elif key is not None:
        key = key.strip()
        parsed = parse_key(key)
        if parsed is None:
            raise click.BadParameter(
                "not a well-formed API key (a publishable key looks like cpk_..._<checksum>, "
                "as 'scanserve keys create --kind cpk' prints it)",
                param_hint="--key",
            )
        if parsed.kind != "cpk":
            raise click.BadParameter(
                "the page takes a publishable key (cpk_...): anyone who opens it can read "
                "its key, so a business or user key must never be given",
                param_hint="--key",
            )
        open_db(settings)
        row = usable_key(key)
        if row is None:
            raise click.BadParameter(
                "no active publishable key of this server has that value", param_hint="--key"
            )
        keep_page_key(settings.data_dir, key)
        org = row.organization  # type: ignore[attr-defined]
        click.echo(f"The scanning page /scan/ uses {parsed.hint}... ({org.name}).")
    if settings.scan_page_key:
        shown = parse_key(settings.scan_page_key)
        hint = shown.hint if shown else "?"
        click.echo(f"SCANSERVE_SCAN_PAGE_KEY is set ({hint}...): the page uses it, not the file.")
    elif key is None and not off:
        current = parse_key(page_key(settings))
        if current is None:
            click.echo("The scanning page is not configured: scanserve scan-page --key cpk_...")
        else:
            click.echo(f"The scanning page uses {current.hint}... (kept in {path.resolve()}).")
