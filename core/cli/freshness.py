"""``scanserve freshness``: an organisation's freshness thresholds."""

from __future__ import annotations

from typing import cast

import click

from scanserve.cli.common import find_org, json_option, open_db, print_table


@click.group()
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
    from scanserve.plugins.providers import OrgRule, Scope
    from scanserve.storage import models

    open_db()
    org = find_org(org_ref)
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
@click.option("--org", "org_ref", required=True, help="Organisation id or name.")
@json_option
def freshness_list(org_ref: str, as_json: bool) -> None:
    """An organisation's rules: scope, GPC code (- for the fallback), warning and critical
    days, label."""
    from scanserve.storage import models

    open_db()
    rule = models.FreshnessRule
    rows = [
        {
            "scope": r.scope,
            "code": r.code or None,
            "warning_days": r.warning_days,
            "critical_days": r.critical_days,
            "label": r.label,
        }
        for r in rule.select()
        .where(rule.organization == find_org(org_ref))
        .order_by(rule.scope, rule.code)
    ]
    print_table(("scope", "code", "warning_days", "critical_days", "label"), rows, as_json=as_json)


@freshness.command("remove")
@click.option("--org", "org_ref", required=True, help="Organisation id or name.")
@click.option(
    "--scope", type=click.Choice(["brick", "family", "segment", "fallback"]), required=True
)
@click.option("--code", default="", help="The rule's GPC code (empty for --scope fallback).")
def freshness_remove(*, org_ref: str, scope: str, code: str) -> None:
    """Remove one rule (as 'freshness list' shows it)."""
    from scanserve.storage import models

    open_db()
    rule = models.FreshnessRule
    removed = (
        rule.delete()
        .where(rule.organization == find_org(org_ref), rule.scope == scope, rule.code == code)
        .execute()
    )
    if not removed:
        raise click.ClickException(f"no {scope} rule {code or '-'} for that organisation")
    click.echo(f"removed {scope} {code or '-'}")
