"""Products found by an outside lookup provider record when they were fetched, so they can be
refreshed after ``lookup_cache_ttl_seconds``; imported products keep NULL."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields("product", fetched_at=pw.DateTimeField(null=True))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("product", "fetched_at")
