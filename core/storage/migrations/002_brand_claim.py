"""Brand claims: an organisation's per-brand freshness overrides."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class BrandClaim(pw.Model):
        id = pw.AutoField()
        organization = pw.ForeignKeyField(column_name='organization_id', field='id', model=migrator.orm['organization'], on_delete='CASCADE')
        brand = pw.CharField(max_length=200)
        brand_key = pw.CharField(max_length=200, unique=True)
        created = pw.DateTimeField()

        class Meta:
            table_name = "brand_claim"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model('brand_claim')
