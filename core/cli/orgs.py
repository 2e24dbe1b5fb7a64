"""``scanserve orgs``: organisations and their storage quotas."""

from __future__ import annotations

import re

import click

from scanserve.cli.common import find_org, json_option, open_db, print_table, read_settings, when


@click.group()
def orgs() -> None:
    """Organisations."""


@orgs.command("create")
@click.argument("name")
def orgs_create(name: str) -> None:
    """Create an organisation; prints its id. Names must be unique (ignoring case)."""
    import peewee

    from scanserve.storage import models

    name = name.strip()
    if not name:
        raise click.BadParameter("the name must not be empty", param_hint="NAME")
    open_db()
    existing = models.Organization.get_or_none(
        peewee.fn.LOWER(models.Organization.name) == name.lower()
    )
    if existing is not None:
        raise click.ClickException(
            f"an organisation named {existing.name!r} already exists (id {existing.short_id})"
        )
    click.echo(models.Organization.create(name=name).short_id)


@orgs.command("list")
@json_option
def orgs_list(as_json: bool) -> None:
    """Every organisation: its id, its name and when it was created."""
    from scanserve.storage import models

    open_db()
    rows = [
        {"org_id": org.short_id, "name": org.name, "created": when(org.created)}
        for org in models.Organization.select().order_by(models.Organization.created)
    ]
    print_table(("org_id", "name", "created"), rows, as_json=as_json)


@orgs.group("quota")
def orgs_quota() -> None:
    """Storage quotas: what an organisation holds in the object store, and may hold."""


def _limit(value: int, overridden: bool) -> str:
    shown = "no limit" if value == 0 else str(value)
    return f"{shown} ({'this organisation' if overridden else 'the default'})"


@orgs_quota.command("show")
@click.argument("org_ref", metavar="ORG")
@json_option
def orgs_quota_show(org_ref: str, as_json: bool) -> None:
    """What ORG (id or name) holds (photos, uploaded images, presigned uploads not yet
    registered, counted at the most they may hold) and its limits: a line for bytes and one
    for objects. LIMIT 0 is no limit (the table says so); SOURCE says whose limit it is
    (org or default)."""
    from scanserve.domain import quotas

    settings = read_settings()
    open_db(settings)
    org = find_org(org_ref, "ORG")
    used = quotas.usage(settings, org.id)
    rows = [
        {
            "org_id": org.short_id,
            "resource": resource,
            "used": amount,
            "limit": limit,
            "source": "org" if overridden else "default",
        }
        for resource, amount, limit, overridden in (
            ("bytes", used.bytes, used.max_bytes, used.bytes_overridden),
            ("objects", used.objects, used.max_objects, used.objects_overridden),
        )
    ]
    print_table(
        ("org_id", "resource", "used", "limit", "source"),
        rows,
        as_json=as_json,
        text={"limit": lambda limit: str(limit or "no limit")},
    )


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
    from scanserve.domain import quotas

    given_bytes, bytes_value = _quota_value(max_bytes, "--bytes")
    given_objects, objects_value = _quota_value(max_objects, "--objects")
    if not (given_bytes or given_objects):
        raise click.UsageError("say --bytes, --objects or both")
    if given_objects and objects_value is not None and max_objects and not max_objects.isdigit():
        raise click.BadParameter("a whole number, or 'default'", param_hint="--objects")
    settings = read_settings()
    open_db(settings)
    org = find_org(org_ref, "ORG")
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
