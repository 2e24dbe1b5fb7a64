"""An organisation's sessions, newest first, from one index: ``GET /sessions`` filters on the
organisation and orders by ``created DESC, id DESC``. With only the index on
``organization_id``, every page read all of the organisation's sessions and sorted them (a
thousand rows for an organisation with a thousand sessions, growing with it); the composite
index hands over the page's 25 rows in order (bench/scale.py, docs/performance.md). It also
serves every lookup by organisation alone, so the single-column index it replaces goes.

On PostgreSQL, building it on a million sessions takes seconds and blocks writes to
``scan_session`` meanwhile: run the upgrade in a quiet moment (docs/operations.md).
"""

import peewee as pw
from peewee_migrate import Migrator

_OLD = "scansession_organization_id"
_NEW = "scansession_organization_id_created_id"


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.sql(
        f'CREATE INDEX IF NOT EXISTS "{_NEW}" ON "scan_session" '
        '("organization_id", "created" DESC, "id" DESC)'
    )
    migrator.sql(f'DROP INDEX IF EXISTS "{_OLD}"')


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.sql(f'CREATE INDEX IF NOT EXISTS "{_OLD}" ON "scan_session" ("organization_id")')
    migrator.sql(f'DROP INDEX IF EXISTS "{_NEW}"')
