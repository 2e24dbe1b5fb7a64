"""``scanserve brands``: brand claims."""

from __future__ import annotations

import click

from scanserve.cli.common import find_org, json_option, open_db, print_table


@click.group()
def brands() -> None:
    """Brand claims: freshness calls about a claimed brand's products use its owner's rules."""


@brands.command("claim")
@click.option("--org", "org_ref", required=True, help="Organisation id or name.")
@click.argument("brand")
def brands_claim(*, org_ref: str, brand: str) -> None:
    """Claim BRAND (as the catalog spells it; case and outer spaces do not matter)."""
    from scanserve.domain import brands as brand_claims

    open_db()
    try:
        row = brand_claims.claim(find_org(org_ref), brand)
    except (ValueError, brand_claims.BrandTaken) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"claimed {row.brand}")


@brands.command("release")
@click.option("--org", "org_ref", required=True, help="Organisation id or name.")
@click.argument("brand")
def brands_release(*, org_ref: str, brand: str) -> None:
    """Give up the claim on BRAND."""
    from scanserve.domain import brands as brand_claims

    open_db()
    if not brand_claims.release(find_org(org_ref), brand):
        raise click.ClickException(f"the organisation does not claim {brand!r}")
    click.echo(f"released {brand.strip()}")


@brands.command("list")
@click.option(
    "--org", "org_ref", default=None, help="Only the claims of this organisation (id or name)."
)
@json_option
def brands_list(org_ref: str | None, as_json: bool) -> None:
    """Claimed brands, with the organisation that claims each."""
    from scanserve.domain import brands as brand_claims

    open_db()
    rows = [
        {
            "brand": row.brand,
            "org_id": row.organization.short_id,
            "org_name": row.organization.name,
        }
        for row in brand_claims.claims(find_org(org_ref) if org_ref else None)
    ]
    print_table(("brand", "org_id", "org_name"), rows, as_json=as_json)
