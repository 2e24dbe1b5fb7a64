"""The ``scanserve`` command line."""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import click

from . import __version__
from .settings import Settings

DEMO_ORG_NAME = "Demo Shop"


def _settings() -> Settings:
    from .settings import SettingsProblem, load_settings

    try:
        return load_settings()
    except SettingsProblem as exc:
        raise click.ClickException(str(exc)) from None


def _where(settings: Settings) -> str:
    """The data directory (absolute) and, when it is not SQLite there, the database."""
    where = f"data directory {settings.data_dir.resolve()}"
    if settings.database_url:
        where += f", database {_without_password(settings.database_url)}"
    return where


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc}"))


def _announce(settings: Settings) -> None:
    # stderr: stdout of some commands (keys create) is only their result.
    click.echo(f"scanserve: {_where(settings)}", err=True)


def _may_create() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("create"))


def _refuse_new_database(settings: Settings) -> None:
    """Stop a command that would create a new, empty database (see ``create_database``)."""
    if settings.create_database or _may_create():
        return
    if settings.database_url:
        from .storage.database import open_database

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
            f"{what}; this command would create a new, empty one. Point SCANSERVE_DATA_DIR "
            "(or SCANSERVE_DATABASE_URL) at the existing data, or create it with "
            "'scanserve db upgrade' (or run 'scanserve --create ...')."
        )


def _open(settings: Settings | None = None, *, migrate: bool = True, create: bool = False) -> Any:
    """Open (and migrate) the database for a command, saying which; refuses to create a new
    empty one unless ``create`` (``db upgrade``) or the operator said so."""
    from .storage.database import open_database
    from .storage.migrate import upgrade

    settings = settings or _settings()
    _announce(settings)
    with _startup_errors():
        if not create:
            _refuse_new_database(settings)
        db = open_database(
            settings.effective_database_url,
            prepared_statements=settings.database_prepared_statements,
        )
        if migrate:
            upgrade(db)
    return db


@contextmanager
def _startup_errors() -> Iterator[None]:
    """A plugin that cannot be loaded (a misspelt hook, a wrong argument) or a database that
    cannot be reached ends the command with one line saying so, not a traceback."""
    import peewee

    from .plugins.manager import PluginProblem

    try:
        yield
    except PluginProblem as exc:
        raise click.ClickException(str(exc)) from None
    except (peewee.OperationalError, peewee.InterfaceError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise click.ClickException(f"cannot use the database: {first}") from None


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
@click.option(
    "--create",
    is_flag=True,
    help="Let the command create a new, empty database where there is none "
    "(also SCANSERVE_CREATE_DATABASE=true). Without it only 'db upgrade' and 'serve' do.",
)
def main(create: bool) -> None:
    """scanserve: a contract-first server for the Scanner API.

    Every command that uses the database says on stderr which data directory it uses
    (SCANSERVE_DATA_DIR, default ./scanserve-data).
    """
    # Connexion imports starlette.testclient at import time, which warns about httpx on every
    # start of the CLI; it says nothing about scanserve.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")


def _log_format_option(fn: Any) -> Any:
    return click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        default=None,
        help="Log lines as text or JSON objects (default: SCANSERVE_LOG_FORMAT, text).",
    )(fn)


def _configure_logging(settings: Settings, log_format: str | None) -> dict[str, Any]:
    from .logconfig import configure_logging, logging_config

    fmt = cast("Any", log_format or settings.log_format)
    configure_logging(fmt, settings.log_level)
    return logging_config(fmt, settings.log_level)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--demo",
    is_flag=True,
    help="Create (once) a demo organisation and catalog, keep one demo key, and print how to "
    "call the API.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Server processes. More than one needs SCANSERVE_RATE_LIMIT_STORAGE_URL=redis://...",
)
@_log_format_option
def serve(host: str, port: int, demo: bool, workers: int, log_format: str | None) -> None:
    """Run the API server (migrating the database first) with the embedded queue's consumer."""
    from . import server
    from .app import HandlerProblem, create_app

    settings = _settings()
    if workers > 1 and settings.rate_limit_storage_url.startswith("memory:"):
        raise click.UsageError(
            f"--workers {workers} needs rate limits shared by the server processes: set "
            "SCANSERVE_RATE_LIMIT_STORAGE_URL=redis://host:6379/N (with memory:// each "
            f"process would count alone, and every limit would be {workers} times too high)"
        )
    log_config = _configure_logging(settings, log_format)
    with _startup_errors():
        # With several processes this one only checks and migrates; each process builds its
        # own app (scanserve.asgi) with its queue consumer.
        try:
            app = create_app(settings, start_queue=workers == 1)
        except HandlerProblem as exc:  # a handler module that does not import, say
            raise click.ClickException(str(exc)) from None
    # Bound before the banner, so that it names the port taken (``--port 0``: any free one).
    try:
        sock = server.bind(host, port)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from None
    port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    base = f"http://{shown_host}:{port}{settings.base_path}"
    click.echo(f"scanserve {__version__}: {_where(settings)}")
    click.echo(f"Base URL: {base}")
    click.echo(f"API reference: {base}/ui/")
    click.echo(f"Health: {base}/health/live, {base}/health/ready")
    if demo:
        key = seed_demo(settings)
        click.echo(f"API key: {key}")
        click.echo("Try:")
        click.echo(
            f"  curl -s -X POST {base}/sessions -H 'X-API-Key: {key}' "
            '-H \'Content-Type: application/json\' -d \'{"metadata": {"store": "demo"}}\''
        )
    else:
        click.echo("API keys: scanserve keys create --org ORG (see scanserve --help)")
    sys.stdout.flush()
    if workers == 1:
        server.run(app, settings, host=host, port=port, log_config=log_config, sock=sock)
        return
    app.services.db.close()
    server.run_workers(settings, workers, host=host, port=port, log_config=log_config, sock=sock)


DEMO_KEY_FILE = "demo-key"
DEMO_KEY_NAME = "demo"


def seed_demo(settings: Settings) -> str:
    """Seed the demo once and return its key.

    The organisation is created when missing; the demo catalog's products are inserted only
    where no product with their GTIN exists (source ``demo``), so an operator's rows are never
    overwritten. The key is kept in ``<data dir>/demo-key`` (mode 0600) and reused while it is
    valid; otherwise a new one replaces it and every older demo key is revoked.
    """
    from importlib.resources import as_file, files

    from . import catalog
    from .keys import generate_key, hash_secret, parse_key
    from .storage import models
    from .storage.fields import utcnow

    org = models.Organization.get_or_none(models.Organization.name == DEMO_ORG_NAME)
    if org is None:
        org = models.Organization.create(name=DEMO_ORG_NAME)
    with as_file(files("scanserve") / "demo" / "demo_catalog.csv") as path:
        catalog.seed_file(path, source="demo")

    key_file = settings.data_dir / DEMO_KEY_FILE
    if key_file.exists():
        raw = key_file.read_text(encoding="ascii").strip()
        kept = models.ApiKey.get_or_none(
            models.ApiKey.key_hash == hash_secret(raw), models.ApiKey.organization == org
        )
        if (
            kept is not None
            and kept.is_active
            and (kept.expires_at is None or kept.expires_at > utcnow())
        ):
            return raw
    # Replace: revoke every earlier demo key, mint one, and keep it for the next start.
    models.ApiKey.update(is_active=False).where(
        models.ApiKey.organization == org,
        models.ApiKey.name.startswith(DEMO_KEY_NAME),  # older releases named them "demo <date>"
        models.ApiKey.is_active == True,  # noqa: E712 - a peewee expression
    ).execute()
    raw = generate_key("csb")
    parsed = parse_key(raw)
    assert parsed is not None
    models.ApiKey.create(
        organization=org,
        kind="csb",
        name=DEMO_KEY_NAME,
        key_hash=hash_secret(raw),
        hint=parsed.hint,
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key_file.unlink(missing_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(raw + "\n")
    return raw


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations."""
    from .storage.migrate import upgrade

    applied = upgrade(_open(migrate=False, create=True))
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
    """Create an organisation; prints its id. Names must be unique (ignoring case)."""
    import peewee

    from .storage import models

    name = name.strip()
    if not name:
        raise click.BadParameter("the name must not be empty", param_hint="NAME")
    _open()
    existing = models.Organization.get_or_none(
        peewee.fn.LOWER(models.Organization.name) == name.lower()
    )
    if existing is not None:
        raise click.ClickException(
            f"an organisation named {existing.name!r} already exists (id {existing.short_id})"
        )
    click.echo(models.Organization.create(name=name).short_id)


@orgs.command("list")
def orgs_list() -> None:
    from .storage import models

    _open()
    for org in models.Organization.select().order_by(models.Organization.created):
        click.echo(f"{org.short_id}\t{org.name}")


@orgs.group("quota")
def orgs_quota() -> None:
    """Storage quotas: what an organisation holds in the object store, and may hold."""


def _limit(value: int, overridden: bool) -> str:
    shown = "no limit" if value == 0 else str(value)
    return f"{shown} ({'this organisation' if overridden else 'the default'})"


@orgs_quota.command("show")
@click.argument("org_ref", metavar="ORG")
def orgs_quota_show(org_ref: str) -> None:
    """What ORG (id or name) holds (photos, uploaded images, presigned uploads not yet
    registered, counted at the most they may hold) and its limits."""
    from . import quotas

    settings = _settings()
    _open(settings)
    org = _org(org_ref)
    used = quotas.usage(settings, org.id)
    click.echo(f"organisation\t{org.short_id}\t{org.name}")
    click.echo(f"bytes\t{used.bytes}\tof {_limit(used.max_bytes, used.bytes_overridden)}")
    click.echo(f"objects\t{used.objects}\tof {_limit(used.max_objects, used.objects_overridden)}")


def _quota_value(value: str | None, name: str) -> tuple[bool, int | None]:
    """(given, value): ``default`` is None (the setting's default), else a whole number."""
    if value is None:
        return False, None
    if value.strip().lower() == "default":
        return True, None
    match = re.fullmatch(r"(\d+)([KMGT]i?B?)?", value.strip(), re.IGNORECASE)
    if match is None:
        raise click.BadParameter(
            "a whole number (0: no limit), optionally with KiB/MiB/GiB/TiB, or 'default'",
            param_hint=name,
        )
    units = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
    unit = (match.group(2) or "")[:1].lower()
    return True, int(match.group(1)) * units[unit]


@orgs_quota.command("set")
@click.argument("org_ref", metavar="ORG")
@click.option("--bytes", "max_bytes", help="Bytes it may hold (10GiB, 0: no limit, default).")
@click.option("--objects", "max_objects", help="Objects it may hold (0: no limit, default).")
def orgs_quota_set(org_ref: str, max_bytes: str | None, max_objects: str | None) -> None:
    """Set ORG's own storage quota; 'default' goes back to the server's setting. Writes past
    it are refused (507) at once; what it already holds is kept."""
    from . import quotas

    given_bytes, bytes_value = _quota_value(max_bytes, "--bytes")
    given_objects, objects_value = _quota_value(max_objects, "--objects")
    if not (given_bytes or given_objects):
        raise click.UsageError("say --bytes, --objects or both")
    if given_objects and objects_value is not None and max_objects and not max_objects.isdigit():
        raise click.BadParameter("a whole number, or 'default'", param_hint="--objects")
    settings = _settings()
    _open(settings)
    org = _org(org_ref)
    current = quotas.usage(settings, org.id)
    quotas.set_quota(
        org.id,
        max_bytes=bytes_value
        if given_bytes
        else _own(current.max_bytes, current.bytes_overridden),
        max_objects=objects_value
        if given_objects
        else _own(current.max_objects, current.objects_overridden),
    )
    used = quotas.usage(settings, org.id)
    click.echo(
        f"{org.name}: {_limit(used.max_bytes, used.bytes_overridden)} bytes, "
        f"{_limit(used.max_objects, used.objects_overridden)} objects"
    )


def _own(value: int, overridden: bool) -> int | None:
    return value if overridden else None


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
    if expires_at is not None:
        from .storage.fields import utcnow

        if expires_at <= utcnow():
            raise click.BadParameter(
                f"{expires_at.isoformat()} is in the past", param_hint="--expires"
            )
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
    """List an organisation's keys (never the keys themselves). STATUS is active, revoked or
    expired."""
    from .storage import models
    from .storage.fields import utcnow

    _open()
    org = _org(org_ref)
    now = utcnow()
    click.echo("KEY_ID\tHINT\tKIND\tSTATUS\tEXPIRES\tLAST_USED\tNAME")
    for key in (
        models.ApiKey.select()
        .where(models.ApiKey.organization == org)
        .order_by(models.ApiKey.created)
    ):
        status = (
            "revoked"
            if not key.is_active
            else "expired"
            if key.expires_at is not None and key.expires_at <= now
            else "active"
        )
        click.echo(
            f"{key.short_id}\t{key.hint}…\t{key.kind}\t{status}\t"
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
    from .websessions import end_sessions_of  # browser sessions signed in with the key end too

    ended = end_sessions_of(api_key_id=models.ApiKey.get(models.ApiKey.short_id == key_id).id)
    click.echo(f"revoked {key_id}" + (f" and ended {ended} browser session(s)" if ended else ""))


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
    help="Main-lane threads (default: SCANSERVE_WORKER_PROCESS_THREADS, 8).",
)
@_log_format_option
def worker(workers: int | None, log_format: str | None) -> None:
    """Run a queue worker in the foreground (for the redis queue)."""
    from .services import build_services

    settings = _settings()
    if settings.queue == "immediate":
        raise click.UsageError(
            "the immediate queue runs tasks where they are queued; a worker needs "
            "SCANSERVE_QUEUE=redis (or embedded)"
        )
    _announce(settings)
    with _startup_errors():
        _refuse_new_database(settings)
    # Otherwise the worker says nothing, not even that it started or re-queued captures.
    _configure_logging(settings, log_format)
    with _startup_errors():
        services = build_services(settings)
    services.queue.run_worker(workers)


@main.group()
def plugins() -> None:
    """Plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print what GET /plugins answers.")
def plugins_list(as_json: bool) -> None:
    """Each loaded plugin, its version and the hooks it implements; then each provider the
    plugins registered (vision extractors included), by kind, in the order the server asks
    them; then each extractor, the photo types routed to it, and whether it can run here."""
    from .plugins.manager import Plugins, build_plugin_manager, describe, report

    settings = _settings()
    _configure_logging(settings, None)  # a disabled plugin that matches nothing is a warning
    with _startup_errors():
        pm = build_plugin_manager(settings)
        loaded = Plugins(pm, settings)
    if as_json:
        import json

        click.echo(json.dumps(report(loaded), indent=2))
        return
    click.echo("NAME\tVERSION\tBUILTIN\tHOOKS")
    for info in describe(pm):
        builtin = "yes" if info.builtin else "no"
        click.echo(f"{info.name}\t{info.version}\t{builtin}\t{','.join(info.hooks)}")
    click.echo("")
    providers = loaded.describe_providers()
    click.echo("KIND\tORDER\tPROVIDER\tPLUGIN")
    for provider in providers:
        click.echo(f"{provider.kind}\t{provider.order}\t{provider.name}\t{provider.plugin}")

    click.echo("")
    click.echo("EXTRACTOR\tPHOTO TYPES\tSTATUS")
    for extractor in (p for p in providers if p.kind == "extractor"):
        types = ",".join(extractor.photo_types) or "(product)"
        state = f"unavailable: {extractor.unavailable}" if extractor.unavailable else "available"
        click.echo(f"{extractor.name}\t{types}\t{state}")


@plugins.command("new")
@click.argument("name")
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default=True,
    help="Where to create the package's folder.",
)
def plugins_new(name: str, directory: Path) -> None:
    """Write a ready plugin package NAME: pyproject with the `scanserve` entry point, a
    lookup provider, a README and tests using scanserve.testing, in ./scanserve-NAME."""
    from . import plugin_template

    try:
        root = plugin_template.write(name, directory)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {root.resolve()}")
    click.echo("next:")
    click.echo(f"  cd {root} && pip install -e '.[test]' && python -m pytest")
    click.echo("  scanserve plugins list")


@main.group()
def catalog() -> None:
    """The product catalog."""


CATALOG_FORMATS_HELP = """
\b
Formats (each may be gzip-compressed; see docs/catalog.md):
  CSV    a header row; columns gtin, name (required), brand, description,
         category, gpc_brick_code, gpc_brick_label, ingredients, image_urls
         (separated by | or spaces); delimiter , or ; or tab
  JSONL  one object a line with the same field names (image_urls a list),
         or an Open Food Facts JSONL export (code, product_name, brands,
         categories, ingredients_text, image_front_url, ...)
"""


@catalog.command("import", epilog=CATALOG_FORMATS_HELP)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "csv", "jsonl"]),
    default="auto",
    show_default=True,
    help="auto goes by the extension: .csv, .jsonl or .ndjson, each optionally .gz.",
)
@click.option(
    "--allow-rejects",
    is_flag=True,
    help="Exit 0 even when rows were rejected (they are still reported).",
)
def catalog_import(file: Path, fmt: str, allow_rejects: bool) -> None:
    """Load products into the catalog, replacing products with the same GTIN.

    Every rejected row is reported on stderr with its line; a GTIN that appears again in the
    file is reported and its later rows are rejected (the first one is imported). The exit
    status is 1 when any row was rejected, unless --allow-rejects.
    """
    from . import catalog as service

    _open()
    try:
        report = service.import_file(file, fmt=fmt, progress=True)
    except ValueError as exc:  # an unknown extension, before any row is read
        raise click.BadParameter(str(exc), param_hint="FILE") from None
    for error in report.errors:
        click.echo(f"line {error.line}: {error.message}", err=True)
    for gtin, count in report.duplicates.items():
        click.echo(
            f"GTIN {gtin}: {count} more row(s) with this GTIN rejected (the first one was kept)",
            err=True,
        )
    click.echo(f"imported {report.upserted} product(s), rejected {report.rejected} row(s)")
    if report.rejected and not allow_rejects:
        sys.exit(1)


def _product(gtin: str) -> Any:
    from .gs1 import InvalidGtin, normalise_gtin
    from .storage import models

    try:
        normalised = normalise_gtin(gtin)
    except InvalidGtin as exc:
        raise click.BadParameter(str(exc), param_hint="GTIN") from None
    product = models.Product.get_or_none(models.Product.gtin == normalised)
    if product is None:
        raise click.ClickException(f"no product with GTIN {normalised} in the catalog")
    return product


@catalog.command("show")
@click.argument("gtin")
@click.option(
    "--org",
    "org_ref",
    help="Organisation id or name: show the product as it sees it (with the values its "
    "applied proposals wrote; the catalog is shared, those values are its own).",
)
def catalog_show(gtin: str, org_ref: str | None) -> None:
    """Show one product: every field, where it came from and how old it is."""
    from .storage.fields import utcnow

    _open()
    product = _product(gtin)
    own: dict[str, str] = {}
    if org_ref:
        from .products import own_values

        own = own_values(_org(org_ref).id, product)
    fields = ("short_id", "gtin", "name", "brand", "description", "category")
    for name in (*fields, "gpc_brick_code", "gpc_brick_label", "ingredients"):
        click.echo(f"{name}: {own.get(name, getattr(product, name))}")
    images = own["image_urls"] if "image_urls" in own else " ".join(product.image_urls or [])
    click.echo(f"image_urls: {images or '-'}")
    if org_ref:
        click.echo(f"ai_summary: {own.get('ai_summary', '') or '-'}")
        click.echo(f"organisation's own values: {', '.join(sorted(own)) or '-'}")
    click.echo(f"source: {product.source}")
    if product.fetched_at is not None:
        age = int((utcnow() - product.fetched_at).total_seconds())
        click.echo(f"fetched: {product.fetched_at.isoformat()} ({_age(age)} ago)")
    else:
        click.echo("fetched: - (imported; never refreshed)")
    click.echo(f"modified: {product.modified.isoformat()}")


def _age(seconds: int) -> str:
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


@catalog.command("remove")
@click.argument("gtin")
def catalog_remove(gtin: str) -> None:
    """Remove one product. Captures that found it keep their history but lose the link."""
    _open()
    product = _product(gtin)
    product.delete_instance()
    click.echo(f"removed {product.gtin} ({product.name})")


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
    """An organisation's rules: scope, GPC code, warning and critical days, label."""
    from .storage import models

    _open()
    rule = models.FreshnessRule
    click.echo("SCOPE\tCODE\tWARNING_DAYS\tCRITICAL_DAYS\tLABEL")
    for r in (
        rule.select().where(rule.organization == _org(org_ref)).order_by(rule.scope, rule.code)
    ):
        click.echo(f"{r.scope}\t{r.code or '-'}\t{r.warning_days}\t{r.critical_days}\t{r.label}")


@freshness.command("remove")
@click.option("--org", "org_ref", required=True, help="Organisation id or name.")
@click.option(
    "--scope", type=click.Choice(["brick", "family", "segment", "fallback"]), required=True
)
@click.option("--code", default="", help="The rule's GPC code (empty for --scope fallback).")
def freshness_remove(*, org_ref: str, scope: str, code: str) -> None:
    """Remove one rule (as ``freshness list`` shows it)."""
    from .storage import models

    _open()
    rule = models.FreshnessRule
    removed = (
        rule.delete()
        .where(rule.organization == _org(org_ref), rule.scope == scope, rule.code == code)
        .execute()
    )
    if not removed:
        raise click.ClickException(f"no {scope} rule {code or '-'} for that organisation")
    click.echo(f"removed {scope} {code or '-'}")


@main.group()
def brands() -> None:
    """Brand claims: freshness calls about a claimed brand's products use its owner's rules."""


@brands.command("claim")
@click.option("--org", "org_ref", required=True, help="Organisation id or name.")
@click.argument("brand")
def brands_claim(*, org_ref: str, brand: str) -> None:
    """Claim BRAND (as the catalog spells it; case and outer spaces do not matter)."""
    from . import brands as brand_claims

    _open()
    try:
        row = brand_claims.claim(_org(org_ref), brand)
    except (ValueError, brand_claims.BrandTaken) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"claimed {row.brand}")


@brands.command("release")
@click.option("--org", "org_ref", required=True, help="Organisation id or name.")
@click.argument("brand")
def brands_release(*, org_ref: str, brand: str) -> None:
    """Give up the claim on BRAND."""
    from . import brands as brand_claims

    _open()
    if not brand_claims.release(_org(org_ref), brand):
        raise click.ClickException(f"the organisation does not claim {brand!r}")
    click.echo(f"released {brand.strip()}")


@brands.command("list")
@click.option("--org", "org_ref", default=None, help="Only this organisation's claims.")
def brands_list(org_ref: str | None) -> None:
    """Claimed brands, with the organisation that claims each."""
    from . import brands as brand_claims

    _open()
    for row in brand_claims.claims(_org(org_ref) if org_ref else None):
        click.echo(f"{row.brand}\t{row.organization.short_id}\t{row.organization.name}")


# Users, memberships and personal access tokens live in their own module.
from .cli_credentials import members, tokens, users  # noqa: E402

main.add_command(users)
main.add_command(members)
main.add_command(tokens)
