"""Redirect rules are numbered per organisation: ``position`` counts the rules of the
capture's organisation on the product, not every organisation's (they used to share one
sequence, so another organisation's rules showed as gaps in yours).

The unique index moves from (product, position) to (product, organization, position), and
existing rules are renumbered 0, 1, 2... within each (product, organization), keeping their
order.
"""

import peewee as pw
from peewee_migrate import Migrator


def _renumber(database: pw.Database) -> None:
    rows = database.execute_sql(
        "SELECT id, product_id, organization_id FROM redirect_rule "
        "ORDER BY product_id, organization_id, position"
    ).fetchall()
    counters: dict[tuple[int, int], int] = {}
    param = database.param
    for rule_id, product_id, organization_id in rows:
        position = counters.get((product_id, organization_id), 0)
        counters[(product_id, organization_id)] = position + 1
        # ascending order: every smaller position of the same group is already free
        database.execute_sql(
            f"UPDATE redirect_rule SET position = {param} WHERE id = {param}",
            (position, rule_id),
        )


_OLD = "redirectrule_product_id_position"
_NEW = "redirectrule_product_id_organization_id_position"


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.sql(f'DROP INDEX IF EXISTS "{_OLD}"')
    migrator.sql(
        f'CREATE UNIQUE INDEX "{_NEW}" ON "redirect_rule" '
        '("product_id", "organization_id", "position")'
    )
    migrator.run(_renumber, database)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.sql(f'DROP INDEX IF EXISTS "{_NEW}"')
    migrator.sql(f'CREATE UNIQUE INDEX "{_OLD}" ON "redirect_rule" ("product_id", "position")')
