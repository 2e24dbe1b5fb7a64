"""Peewee migrations -- 001_initial.py.

Some examples (model - class or model name)::

    > Model = migrator.orm['table_name']            # Return model in current state by name
    > Model = migrator.ModelClass                   # Return model in current state by name

    > migrator.sql(sql)                             # Run custom SQL
    > migrator.run(func, *args, **kwargs)           # Run python function with the given args
    > migrator.create_model(Model)                  # Create a model (could be used as decorator)
    > migrator.remove_model(model, cascade=True)    # Remove a model
    > migrator.add_fields(model, **fields)          # Add fields (allow_not_null=True skips default)
    > migrator.change_fields(model, **fields)       # Change fields
    > migrator.remove_fields(model, *field_names, cascade=True)
    > migrator.rename_field(model, old_field_name, new_field_name)
    > migrator.rename_table(model, new_table_name)
    > migrator.add_index(model, *col_names, unique=False)
    > migrator.add_not_null(model, *field_names)
    > migrator.add_default(model, field_name, default)
    > migrator.add_constraint(model, name, sql)
    > migrator.drop_index(model, *col_names)
    > migrator.drop_not_null(model, *field_names)
    > migrator.drop_constraints(model, *constraints)

"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""
    
    @migrator.create_model
    class User(pw.Model):
        id = pw.AutoField()
        short_id = pw.CharField(max_length=22, unique=True)
        email = pw.CharField(max_length=320, unique=True)
        created = pw.DateTimeField()

        class Meta:
            table_name = "app_user"

    @migrator.create_model
    class Organization(pw.Model):
        id = pw.AutoField()
        short_id = pw.CharField(max_length=22, unique=True)
        name = pw.CharField(max_length=200)
        created = pw.DateTimeField()

        class Meta:
            table_name = "organization"

    @migrator.create_model
    class AccessToken(pw.Model):
        id = pw.AutoField()
        token_hash = pw.CharField(max_length=64, unique=True)
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['app_user'], on_delete='CASCADE')
        expires_at = pw.DateTimeField(null=True)
        is_active = pw.BooleanField(default=True)
        created = pw.DateTimeField()

        class Meta:
            table_name = "access_token"

    @migrator.create_model
    class ApiKey(pw.Model):
        id = pw.AutoField()
        short_id = pw.CharField(max_length=22, unique=True)
        organization = pw.ForeignKeyField(column_name='organization_id', field='id', model=migrator.orm['organization'], on_delete='CASCADE')
        kind = pw.CharField(max_length=3)
        name = pw.CharField(default='', max_length=200)
        key_hash = pw.CharField(max_length=64, unique=True)
        hint = pw.CharField(max_length=16)
        is_active = pw.BooleanField(default=True)
        expires_at = pw.DateTimeField(null=True)
        last_used = pw.DateTimeField(null=True)
        rate_limit_per_minute = pw.IntegerField(default=0)
        rate_limit_per_day = pw.IntegerField(default=0)
        created = pw.DateTimeField()

        class Meta:
            table_name = "api_key"

    @migrator.create_model
    class ScanSession(pw.Model):
        id = pw.AutoField()
        short_id = pw.CharField(max_length=22, unique=True)
        organization = pw.ForeignKeyField(column_name='organization_id', field='id', model=migrator.orm['organization'], on_delete='CASCADE')
        status = pw.CharField(default='ACTIVE', index=True, max_length=16)
        capture_mode = pw.CharField(default='barcode_scan', max_length=32)
        extraction_status = pw.CharField(default='pending', max_length=16)
        metadata = pw.TextField()
        user_agent = pw.CharField(default='', max_length=500)
        device_context = pw.TextField()
        created = pw.DateTimeField(index=True)
        modified = pw.DateTimeField()
        last_activity = pw.DateTimeField(index=True)

        class Meta:
            table_name = "scan_session"

    @migrator.create_model
    class Product(pw.Model):
        id = pw.AutoField()
        short_id = pw.CharField(max_length=22, unique=True)
        gtin = pw.CharField(max_length=14, unique=True)
        name = pw.CharField(max_length=500)
        brand = pw.CharField(default='', max_length=200)
        description = pw.TextField(default='')
        category = pw.CharField(default='', max_length=500)
        gpc_brick_code = pw.CharField(default='', max_length=8)
        gpc_brick_label = pw.CharField(default='', max_length=200)
        ingredients = pw.TextField(default='')
        image_urls = pw.TextField()
        source = pw.CharField(default='catalog', max_length=100)
        created = pw.DateTimeField()
        modified = pw.DateTimeField()

        class Meta:
            table_name = "product"

    @migrator.create_model
    class Capture(pw.Model):
        id = pw.AutoField()
        short_id = pw.CharField(max_length=22, unique=True)
        organization = pw.ForeignKeyField(column_name='organization_id', field='id', model=migrator.orm['organization'], on_delete='CASCADE')
        session = pw.ForeignKeyField(column_name='session_id', field='id', model=migrator.orm['scan_session'], on_delete='CASCADE')
        capture_type = pw.CharField(max_length=16)
        raw_value = pw.CharField(max_length=500)
        gtin = pw.CharField(default='', max_length=14)
        gs1_dl_data = pw.TextField(null=True)
        status = pw.CharField(default='PENDING', index=True, max_length=16)
        error_message = pw.TextField(default='')
        metadata = pw.TextField()
        product = pw.ForeignKeyField(column_name='product_id', field='id', model=migrator.orm['product'], null=True, on_delete='SET NULL')
        processed_at = pw.DateTimeField(null=True)
        uploaded_image_key = pw.CharField(max_length=500, null=True)
        qr_analysis = pw.TextField(null=True)
        created = pw.DateTimeField(index=True)
        modified = pw.DateTimeField()
        state_changed_at = pw.DateTimeField(index=True)
        attempts = pw.IntegerField(default=0)

        class Meta:
            table_name = "capture"

    @migrator.create_model
    class FreshnessRule(pw.Model):
        id = pw.AutoField()
        organization = pw.ForeignKeyField(column_name='organization_id', field='id', model=migrator.orm['organization'], on_delete='CASCADE')
        scope = pw.CharField(max_length=8)
        code = pw.CharField(default='', max_length=8)
        warning_days = pw.IntegerField()
        critical_days = pw.IntegerField()
        label = pw.CharField(max_length=200)

        class Meta:
            table_name = "freshness_rule"
            indexes = [(('organization', 'scope', 'code'), True)]

    @migrator.create_model
    class Membership(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['app_user'], on_delete='CASCADE')
        organization = pw.ForeignKeyField(column_name='organization_id', field='id', model=migrator.orm['organization'], on_delete='CASCADE')

        class Meta:
            table_name = "membership"
            indexes = [(('user', 'organization'), True)]

    @migrator.create_model
    class Photo(pw.Model):
        id = pw.AutoField()
        short_id = pw.CharField(max_length=22, unique=True)
        organization = pw.ForeignKeyField(column_name='organization_id', field='id', model=migrator.orm['organization'], on_delete='CASCADE')
        session = pw.ForeignKeyField(column_name='session_id', field='id', model=migrator.orm['scan_session'], on_delete='CASCADE')
        capture = pw.ForeignKeyField(column_name='capture_id', field='id', model=migrator.orm['capture'], null=True, on_delete='SET NULL')
        photo_type = pw.CharField(default='other', max_length=32)
        s3_key = pw.CharField(max_length=500)
        original_filename = pw.CharField(default='', max_length=255)
        sort_order = pw.IntegerField(default=0)
        file_size = pw.BigIntegerField(null=True)
        metadata = pw.TextField()
        created = pw.DateTimeField()

        class Meta:
            table_name = "photo"

    @migrator.create_model
    class Proposal(pw.Model):
        id = pw.UUIDField(primary_key=True)
        organization = pw.ForeignKeyField(column_name='organization_id', field='id', model=migrator.orm['organization'], on_delete='CASCADE')
        capture = pw.ForeignKeyField(column_name='capture_id', field='id', model=migrator.orm['capture'], on_delete='CASCADE')
        field_name = pw.CharField(max_length=50)
        current_value = pw.TextField(default='')
        proposed_value = pw.TextField(default='')
        confidence = pw.CharField(default='0.00', max_length=4)
        reasoning = pw.TextField(default='')
        source = pw.CharField(default='', max_length=100)
        status = pw.CharField(default='PENDING', max_length=16)
        metadata = pw.TextField()
        created = pw.DateTimeField()
        reviewed_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "proposal"

    @migrator.create_model
    class RedirectRule(pw.Model):
        id = pw.AutoField()
        short_id = pw.CharField(max_length=22, unique=True)
        product = pw.ForeignKeyField(column_name='product_id', field='id', model=migrator.orm['product'], on_delete='CASCADE')
        organization = pw.ForeignKeyField(column_name='organization_id', field='id', model=migrator.orm['organization'], on_delete='CASCADE')
        url = pw.CharField(max_length=2048)
        position = pw.IntegerField()
        created = pw.DateTimeField()

        class Meta:
            table_name = "redirect_rule"
            indexes = [(('product', 'position'), True)]

    @migrator.create_model
    class WebSession(pw.Model):
        id = pw.AutoField()
        session_hash = pw.CharField(max_length=64, unique=True)
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['app_user'], on_delete='CASCADE')
        expires_at = pw.DateTimeField()
        created = pw.DateTimeField()

        class Meta:
            table_name = "web_session"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    
    migrator.remove_model('web_session')

    migrator.remove_model('redirect_rule')

    migrator.remove_model('proposal')

    migrator.remove_model('photo')

    migrator.remove_model('membership')

    migrator.remove_model('freshness_rule')

    migrator.remove_model('capture')

    migrator.remove_model('product')

    migrator.remove_model('scan_session')

    migrator.remove_model('api_key')

    migrator.remove_model('access_token')

    migrator.remove_model('organization')

    migrator.remove_model('app_user')
