"""Vision extraction and proposals: extraction ownership on sessions, ``applied_at`` on
proposals, and each organisation's overrides of catalog products."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "scan_session",
        extraction_changed_at=pw.DateTimeField(null=True, index=True),
        extraction_claimed=pw.BooleanField(default=False),
        extraction_attempts=pw.IntegerField(default=0),
    )
    migrator.add_fields("proposal", applied_at=pw.DateTimeField(null=True))

    @migrator.create_model
    class ProductOverride(pw.Model):
        id = pw.AutoField()
        organization = pw.ForeignKeyField(
            column_name="organization_id",
            field="id",
            model=migrator.orm["organization"],
            on_delete="CASCADE",
        )
        product = pw.ForeignKeyField(
            column_name="product_id", field="id", model=migrator.orm["product"], on_delete="CASCADE"
        )
        field = pw.CharField(max_length=50)
        value = pw.TextField()
        proposal = pw.UUIDField(null=True)
        modified = pw.DateTimeField()

        class Meta:
            table_name = "product_override"
            indexes = ((("organization", "product", "field"), True),)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("product_override")
    migrator.remove_fields("proposal", "applied_at")
    migrator.remove_fields(
        "scan_session", "extraction_changed_at", "extraction_claimed", "extraction_attempts"
    )
