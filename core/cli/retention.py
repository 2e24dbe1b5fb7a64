"""``scanserve purge``: delete ended sessions older than an age (dry run unless ``--execute``)."""

from __future__ import annotations

import json
from typing import Any

import click

from scanserve.cli.common import find_org, open_db, read_settings

COLUMNS = ("sessions", "captures", "photos", "proposals", "objects", "bytes")


@click.command("purge")
@click.option(
    "--older-than",
    "older_than",
    required=True,
    metavar="AGE",
    help="Ended sessions unchanged for longer than this: a number and h, d or w (90d).",
)
@click.option("--org", "org_ref", help="Only this organisation (id or name).")
@click.option(
    "--execute",
    is_flag=True,
    help="Delete for real. Without it nothing changes: the command says what it would delete.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=500,
    show_default=True,
    help="Sessions deleted per transaction.",
)
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object.")
def purge(
    older_than: str, org_ref: str | None, execute: bool, batch_size: int, as_json: bool
) -> None:
    """Delete ended (COMPLETED, EXPIRED) sessions unchanged for longer than AGE, with their
    captures, photos, proposals and stored objects, and count them off the storage quotas.

    A dry run unless --execute: it reports, per organisation, what it would delete. With
    --execute it works in batches (one short transaction each), reporting progress on stderr.
    """
    from scanserve.domain import retention
    from scanserve.infra.objectstore import open_object_store
    from scanserve.storage import models

    try:
        age = retention.parse_age(older_than)
    except ValueError as exc:
        raise click.ClickException(f"--older-than: {exc}") from None
    settings = read_settings()
    open_db(settings)
    org_id = find_org(org_ref).id if org_ref else None

    def progress(number: int, batch: retention.Tally, report: retention.Report) -> None:
        total = report.total
        click.echo(
            f"batch {number}: {batch.sessions} session(s) deleted "
            f"({total.sessions} so far, {total.objects} object(s), {total.bytes} bytes)",
            err=True,
        )

    report = retention.purge(
        open_object_store(settings),
        age,
        organization_id=org_id,
        execute=execute,
        batch_size=batch_size,
        progress=progress if execute else None,
    )
    names = {
        org.id: (org.short_id, org.name)
        for org in models.Organization.select().where(
            models.Organization.id.in_(list(report.by_org))
        )
    }
    rows = sorted(report.by_org.items(), key=lambda item: names.get(item[0], ("", ""))[1])
    if as_json:
        click.echo(json.dumps(_as_json(report, rows, names)))
    else:
        _print_table(report, rows, names)
    if report.objects_failed:
        raise click.ClickException(
            f"{report.objects_failed} object(s) could not be deleted; their quota rows stay, "
            "and the queue's sweep or the next purge deletes them"
        )


def _as_json(report: Any, rows: list[Any], names: dict[int, tuple[str, str]]) -> dict[str, Any]:
    total = report.total
    return {
        "executed": report.executed,
        "cutoff": report.cutoff.isoformat(),
        "organizations": [
            {
                "id": names.get(org, ("", ""))[0],
                "name": names.get(org, ("", ""))[1],
                **{c: getattr(tally, c) for c in COLUMNS},
            }
            for org, tally in rows
        ],
        "total": {c: getattr(total, c) for c in COLUMNS},
        "objects_failed": report.objects_failed,
    }


def _print_table(report: Any, rows: list[Any], names: dict[int, tuple[str, str]]) -> None:
    verb = "deleted" if report.executed else "would delete (dry run; --execute to delete)"
    click.echo(f"ended sessions unchanged since {report.cutoff.isoformat(timespec='seconds')}")
    click.echo("\t".join(("ORG", "NAME", *(c.upper() for c in COLUMNS))))
    for org, tally in rows:
        short_id, name = names.get(org, ("", ""))
        click.echo("\t".join((short_id, name, *(str(getattr(tally, c)) for c in COLUMNS))))
    total = report.total
    click.echo("\t".join(("TOTAL", "", *(str(getattr(total, c)) for c in COLUMNS))))
    click.echo(f"{verb}: {total.sessions} session(s), {total.bytes} bytes in the object store")
