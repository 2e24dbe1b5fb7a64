"""Storage quotas per organisation: ``stored_object`` counts every object of the object store
against its organisation (registered photos and uploaded images, and presigned uploads not
registered yet, which the sweep deletes after they expire), and ``storage_quota`` holds an
organisation's own limits. The photos and uploaded images already stored are counted
(uploaded images with size 0: their size was never recorded)."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class StoredObject(pw.Model):
        id = pw.AutoField()
        organization = pw.ForeignKeyField(
            column_name="organization_id",
            field="id",
            model=migrator.orm["organization"],
            on_delete="CASCADE",
        )
        object_key = pw.CharField(max_length=500, unique=True)
        size = pw.BigIntegerField()
        state = pw.CharField(max_length=8)
        expires_at = pw.DateTimeField(null=True, index=True)
        created = pw.DateTimeField()

        class Meta:
            table_name = "stored_object"
            indexes = ((("organization", "state"), False),)

    @migrator.create_model
    class StorageQuota(pw.Model):
        id = pw.AutoField()
        organization = pw.ForeignKeyField(
            column_name="organization_id",
            field="id",
            model=migrator.orm["organization"],
            on_delete="CASCADE",
            unique=True,
        )
        max_bytes = pw.BigIntegerField(null=True)
        max_objects = pw.BigIntegerField(null=True)

        class Meta:
            table_name = "storage_quota"

    migrator.sql(
        "INSERT INTO stored_object (organization_id, object_key, size, state, created) "
        "SELECT organization_id, s3_key, COALESCE(file_size, 0), 'stored', created FROM photo"
    )
    migrator.sql(
        "INSERT INTO stored_object (organization_id, object_key, size, state, created) "
        "SELECT organization_id, uploaded_image_key, 0, 'stored', created FROM capture "
        "WHERE uploaded_image_key IS NOT NULL"
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("storage_quota")
    migrator.remove_model("stored_object")
