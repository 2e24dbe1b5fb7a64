"""The ``scanserve`` command line."""

from __future__ import annotations

import re
import sys
import warnings
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import click

from . import __version__
from .settings import Settings

DEMO_ORG_NAME = "Demo Shop"


def _settings() -> Settings:
    return Settings()


def _open(settings: Settings | None = None, *, migrate: bool = True) -> Any:
    from .storage.database import open_database
    from .storage.migrate import upgrade

    settings = settings or _settings()
    db = open_database(settings.effective_database_url)
    if migrate:
        upgrade(db)
    return db


def _org(ref: str) -> Any:
    from .storage import models

    org = models.Organization.get_or_none(models.Organization.short_id == ref)
    if org is None:
        matches = list(
            models.Organization.select().where(models.Organization.name == ref).limit(2)
        )
        if len(matches) != 1:
            raise click.BadParameter(
                "no organisation with that id"
                if not matches
                else "several organisations have that name; use the id",
                param_hint="--org",
            )
        org = matches[0]
    return org


_DURATION = re.compile(r"^(\d+)([dhm])$")


def _expiry(value: str | None) -> datetime | None:
    if not value:
        return None
    from .storage.fields import utcnow

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


@click.group()
@click.version_option(__version__, prog_name="scanserve")
def main() -> None:
    """scanserve: a contract-first server for the Scanner API."""
    # Connexion imports starlette.testclient at import time, which warns about httpx on every
    # start of the CLI; it says nothing about scanserve.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--demo",
    is_flag=True,
    help="Create a demo organisation, key and catalog, and print how to call the API.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Server processes. More than one needs SCANSERVE_RATE_LIMIT_STORAGE_URL=redis://...",
)
def serve(host: str, port: int, demo: bool, workers: int) -> None:
    """Run the API server (migrating the database first) with the embedded queue's consumer."""
    import uvicorn

    from .app import create_app

    settings = _settings()
    if workers > 1 and settings.rate_limit_storage_url.startswith("memory:"):
        raise click.UsageError(
            f"--workers {workers} needs rate limits shared by the server processes: set "
            "SCANSERVE_RATE_LIMIT_STORAGE_URL=redis://host:6379/N (with memory:// each "
            f"process would count alone, and every limit would be {workers} times too high)"
        )
    app: Any = None
    if workers == 1:
        app = create_app(settings, start_queue=True)
    else:
        _open(settings).close()  # migrate once, before the processes start
    if demo:
        key = seed_demo()
        base = f"http://{host}:{port}{settings.base_path}"
        click.echo(f"scanserve {__version__} demo: data in {settings.data_dir}")
        click.echo(f"Base URL: {base}")
        click.echo(f"API key: {key}")
        click.echo("Try:")
        click.echo(
            f"  curl -s -X POST {base}/sessions -H 'X-API-Key: {key}' "
            '-H \'Content-Type: application/json\' -d \'{"metadata": {"store": "demo"}}\''
        )
        sys.stdout.flush()
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="info")
    else:
        from .storage.database import database_proxy

        if database_proxy.obj is not None and not database_proxy.is_closed():
            database_proxy.close()
        uvicorn.run(
            "scanserve.asgi:served_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
        )


def seed_demo() -> str:
    """Create (once) the demo organisation and catalog, and a fresh key; returns the key."""
    from importlib.resources import as_file, files

    from . import catalog
    from .keys import generate_key, hash_secret, parse_key
    from .storage import models
    from .storage.fields import utcnow

    org = models.Organization.get_or_none(models.Organization.name == DEMO_ORG_NAME)
    if org is None:
        org = models.Organization.create(name=DEMO_ORG_NAME)
    with as_file(files("scanserve") / "demo" / "demo_catalog.csv") as path:
        catalog.import_file(path)
    raw = generate_key("csb")
    parsed = parse_key(raw)
    assert parsed is not None
    models.ApiKey.create(
        organization=org,
        kind="csb",
        name=f"demo {utcnow():%Y-%m-%d %H:%M}",
        key_hash=hash_secret(raw),
        hint=parsed.hint,
    )
    return raw


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations."""
    from .storage.migrate import upgrade

    applied = upgrade(_open(migrate=False))
    click.echo(
        f"applied {len(applied)} migration(s): {', '.join(applied)}"
        if applied
        else "database is up to date"
    )


@main.group()
def orgs() -> None:
    """Organisations."""


@orgs.command("create")
@click.argument("name")
def orgs_create(name: str) -> None:
    """Create an organisation; prints its id."""
    from .storage import models

    _open()
    click.echo(models.Organization.create(name=name).short_id)


@orgs.command("list")
def orgs_list() -> None:
    from .storage import models

    _open()
    for org in models.Organization.select().order_by(models.Organization.created):
        click.echo(f"{org.short_id}\t{org.name}")


@main.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option("--org", "org_ref", required=True, help="Organisation id or name.")
@click.option("--kind", type=click.Choice(["csb", "csu", "cpk"]), default="csb", show_default=True)
@click.option("--expires", default=None, help="ISO date-time or duration (30d, 12h, 45m).")
@click.option("--name", default="", help="A label for listings.")
@click.option(
    "--per-minute",
    type=click.IntRange(min=0),
    default=0,
    help="Rate limit per minute (0 = default).",
)
@click.option(
    "--per-day", type=click.IntRange(min=0), default=0, help="Rate limit per day (0 = default)."
)
def keys_create(
    *, org_ref: str, kind: str, expires: str | None, name: str, per_minute: int, per_day: int
) -> None:
    """Create a key. Prints only the key, once: it is not stored."""
    from .keys import generate_key, hash_secret, parse_key
    from .storage import models

    _open()
    org = _org(org_ref)
    expires_at = _expiry(expires)
    raw = generate_key(kind)  # type: ignore[arg-type]
    parsed = parse_key(raw)
    assert parsed is not None
    models.ApiKey.create(
        organization=org,
        kind=kind,
        name=name,
        key_hash=hash_secret(raw),
        hint=parsed.hint,
        expires_at=expires_at,
        rate_limit_per_minute=per_minute,
        rate_limit_per_day=per_day,
    )
    click.echo(raw)


@keys.command("list")
@click.option("--org", "org_ref", required=True)
def keys_list(org_ref: str) -> None:
    """List an organisation's keys (never the keys themselves)."""
    from .storage import models

    _open()
    org = _org(org_ref)
    click.echo("KEY_ID\tHINT\tKIND\tACTIVE\tEXPIRES\tLAST_USED\tNAME")
    for key in (
        models.ApiKey.select()
        .where(models.ApiKey.organization == org)
        .order_by(models.ApiKey.created)
    ):
        click.echo(
            f"{key.short_id}\t{key.hint}…\t{key.kind}\t{'yes' if key.is_active else 'no'}\t"
            f"{key.expires_at.isoformat() if key.expires_at else '-'}\t"
            f"{key.last_used.isoformat() if key.last_used else '-'}\t{key.name}"
        )


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by its id (from ``keys list``)."""
    from .storage import models

    _open()
    if not models.ApiKey.update(is_active=False).where(models.ApiKey.short_id == key_id).execute():
        raise click.ClickException(f"no key with id {key_id}")
    click.echo(f"revoked {key_id}")


@main.group()
def sessions() -> None:
    """Scanning sessions."""


@sessions.command("expire")
def sessions_expire() -> None:
    """Mark sessions idle past the TTL as EXPIRED."""
    from . import sessions as service

    settings = _settings()
    _open(settings)
    click.echo(f"expired {service.expire_idle(settings.session_ttl_seconds)} session(s)")


@main.command()
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker threads (default: settings).",
)
def worker(workers: int | None) -> None:
    """Run a queue worker in the foreground (for the redis queue)."""
    import logging

    from .services import build_services

    settings = _settings()
    if settings.queue == "immediate":
        raise click.UsageError(
            "the immediate queue runs tasks where they are queued; a worker needs "
            "SCANSERVE_QUEUE=redis (or embedded)"
        )
    # Otherwise the worker says nothing, not even that it started or re-queued captures.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    services = build_services(settings)
    services.queue.run_worker(workers)


@main.group()
def plugins() -> None:
    """Plugins."""


@plugins.command("list")
def plugins_list() -> None:
    """Each loaded plugin, its version and the hooks it implements."""
    from .plugins.manager import build_plugin_manager, describe

    settings = _settings()
    pm = build_plugin_manager(settings)
    click.echo("NAME\tVERSION\tBUILTIN\tHOOKS")
    for info in describe(pm):
        builtin = "yes" if info.builtin else "no"
        click.echo(f"{info.name}\t{info.version}\t{builtin}\t{','.join(info.hooks)}")


@main.group()
def catalog() -> None:
    """The product catalog."""


@catalog.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "csv", "jsonl"]),
    default="auto",
    show_default=True,
)
def catalog_import(file: Path, fmt: str) -> None:
    """Load products from CSV or JSON Lines (Open Food Facts export names accepted)."""
    from . import catalog as service

    _open()
    report = service.import_file(file, fmt=fmt, progress=True)
    for error in report.errors:
        click.echo(f"line {error.line}: {error.message}", err=True)
    click.echo(f"imported {report.upserted} product(s), rejected {len(report.errors)} row(s)")
    if report.errors and not report.upserted:
        sys.exit(1)


@main.group()
def freshness() -> None:
    """An organisation's freshness thresholds (they win over the global GPC defaults)."""


@freshness.command("set")
@click.option("--org", "org_ref", required=True, help="Organisation id or name.")
@click.option(
    "--scope", type=click.Choice(["brick", "family", "segment", "fallback"]), required=True
)
@click.option("--code", default="", help="8-digit GPC code (empty for --scope fallback).")
@click.option("--warning-days", type=click.IntRange(min=0), required=True)
@click.option("--critical-days", type=click.IntRange(min=0), required=True)
@click.option("--label", required=True)
def freshness_set(
    *, org_ref: str, scope: str, code: str, warning_days: int, critical_days: int, label: str
) -> None:
    """Create or replace one rule."""
    from .plugins.builtin.freshness import OrgRule, Scope
    from .storage import models

    _open()
    org = _org(org_ref)
    try:  # the same checks the provider relies on
        OrgRule(
            scope=cast("Scope", scope),  # click.Choice allowed only the four scopes
            code=code,
            warning_days=warning_days,
            critical_days=critical_days,
            label=label,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    with models.FreshnessRule._meta.database.atomic():
        models.FreshnessRule.delete().where(
            models.FreshnessRule.organization == org,
            models.FreshnessRule.scope == scope,
            models.FreshnessRule.code == code,
        ).execute()
        models.FreshnessRule.create(
            organization=org,
            scope=scope,
            code=code,
            warning_days=warning_days,
            critical_days=critical_days,
            label=label,
        )
    click.echo(
        f"{scope} {code or '-'}: warning {warning_days} d, critical {critical_days} d, {label}"
    )


@freshness.command("list")
@click.option("--org", "org_ref", required=True)
def freshness_list(org_ref: str) -> None:
    from .storage import models

    _open()
    rule = models.FreshnessRule
    for r in (
        rule.select().where(rule.organization == _org(org_ref)).order_by(rule.scope, rule.code)
    ):
        click.echo(f"{r.scope}\t{r.code or '-'}\t{r.warning_days}\t{r.critical_days}\t{r.label}")
