"""Idempotency-Key records: the answers of POSTs to replay, kept in the database so that they
survive a restart and are shared by every server process."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class IdempotencyRecord(pw.Model):
        id = pw.AutoField()
        scope = pw.CharField(max_length=64)
        key = pw.CharField(max_length=255)
        fingerprint = pw.CharField(max_length=64)
        status = pw.IntegerField(default=0)
        content_type = pw.CharField(default='', max_length=200)
        body = pw.BlobField(null=True)
        created = pw.DateTimeField(index=True)
        locked_at = pw.DateTimeField()

        class Meta:
            table_name = "idempotency_record"
            indexes = [(('scope', 'key'), True)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model('idempotency_record')
