"""The tables. Every object the API exposes belongs to one organisation, and every query of
a caller's objects filters on it (see ``scanserve.identity.scoping``)."""

from __future__ import annotations

from typing import Any

import peewee

from scanserve import sources
from scanserve.storage.database import database_proxy
from scanserve.storage.fields import JSONField, UTCDateTimeField, utcnow


def new_short_id() -> str:
    return sources.new_short_id()


class BaseModel(peewee.Model):
    # Attributes peewee adds at run time, declared for the type checker: the primary key and,
    # below, each foreign key's ``<name>_id`` column value.
    id: Any

    class Meta:
        database = database_proxy
        legacy_table_names = False


class Organization(BaseModel):
    short_id = peewee.CharField(max_length=22, unique=True, default=new_short_id)
    name = peewee.CharField(max_length=200)
    created = UTCDateTimeField(default=utcnow)


class ApiKey(BaseModel):
    organization_id: int
    short_id = peewee.CharField(max_length=22, unique=True, default=new_short_id)
    organization = peewee.ForeignKeyField(Organization, backref="api_keys", on_delete="CASCADE")
    kind = peewee.CharField(max_length=3)  # csb | csu | cpk
    name = peewee.CharField(max_length=200, default="")
    # SHA-256 of the whole raw key, hex. The raw key is shown once and never stored.
    key_hash = peewee.CharField(max_length=64, unique=True)
    # The key's prefix and first body characters, to recognise it in listings.
    hint = peewee.CharField(max_length=16)
    is_active = peewee.BooleanField(default=True)
    expires_at = UTCDateTimeField(null=True)
    last_used = UTCDateTimeField(null=True)
    rate_limit_per_minute = peewee.IntegerField(default=0)  # 0 = the server default
    rate_limit_per_day = peewee.IntegerField(default=0)
    created = UTCDateTimeField(default=utcnow)


class ApiKeyOrigin(BaseModel):
    """A browser origin (``https://shop.example``) a publishable key may be used from: with
    any, a request from another origin is refused and CORS is answered for these only."""

    api_key_id: int
    api_key = peewee.ForeignKeyField(ApiKey, backref="origins", on_delete="CASCADE")
    # scheme://host[:port], lower case, as a browser sends it in ``Origin``
    origin = peewee.CharField(max_length=255, index=True)

    class Meta:
        table_name = "api_key_origin"
        indexes = ((("api_key", "origin"), True),)


class User(BaseModel):
    short_id = peewee.CharField(max_length=22, unique=True, default=new_short_id)
    email = peewee.CharField(max_length=320, unique=True)
    created = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "app_user"  # "user" is a reserved word in PostgreSQL


class Membership(BaseModel):
    organization_id: int
    user_id: int
    user = peewee.ForeignKeyField(User, backref="memberships", on_delete="CASCADE")
    organization = peewee.ForeignKeyField(Organization, on_delete="CASCADE")

    class Meta:
        indexes = ((("user", "organization"), True),)


class AccessToken(BaseModel):
    """A personal access token (``Authorization: Bearer cst_...``) of a user, who may act for
    each organisation they are a member of, or only for ``organization`` when it is set.
    Only the SHA-256 of the token is stored; ``scopes`` limit what it may do (see
    ``scanserve.scopes``)."""

    user_id: int
    organization_id: int | None
    token_hash = peewee.CharField(max_length=64, unique=True)
    user = peewee.ForeignKeyField(User, on_delete="CASCADE")
    expires_at = UTCDateTimeField(null=True)
    is_active = peewee.BooleanField(default=True)
    created = UTCDateTimeField(default=utcnow)
    short_id = peewee.CharField(max_length=22, unique=True, default=new_short_id)
    name = peewee.CharField(max_length=200, default="")
    # The token's prefix and first body characters, to recognise it in listings.
    hint = peewee.CharField(max_length=16, default="")
    organization = peewee.ForeignKeyField(Organization, null=True, on_delete="CASCADE")
    scopes = peewee.CharField(max_length=200, default="scanner:read scanner:write")
    last_used = UTCDateTimeField(null=True)


class WebSession(BaseModel):
    """A browser sign-in (``sessionid`` cookie), made from the credential that signed in: an
    API key, a personal access token, or an outside identity provider's JWT. It acts as that
    credential did and ends with it (a revoked key or token ends its sessions). JWT-made
    sessions keep what the token said (``subject``, ``org_short_ids``, ``scopes``) and expire
    no later than the token. Only hashes of the cookie and of its CSRF token are stored."""

    user_id: int | None
    api_key_id: int | None
    access_token_id: int | None
    session_hash = peewee.CharField(max_length=64, unique=True)
    user = peewee.ForeignKeyField(User, null=True, on_delete="CASCADE")
    expires_at = UTCDateTimeField()
    created = UTCDateTimeField(default=utcnow)
    csrf_hash = peewee.CharField(max_length=64, default="")
    api_key = peewee.ForeignKeyField(ApiKey, null=True, on_delete="CASCADE")
    access_token = peewee.ForeignKeyField(AccessToken, null=True, on_delete="CASCADE")
    subject = peewee.CharField(max_length=500, default="")
    org_short_ids = JSONField(null=True)
    scopes = JSONField(null=True)  # None: every scope


class ScanSession(BaseModel):
    organization_id: int
    # set by the queries that select them (sessions.py)
    capture_count: int
    photo_count: int
    short_id = peewee.CharField(max_length=22, unique=True, default=new_short_id)
    organization = peewee.ForeignKeyField(Organization, on_delete="CASCADE")
    # The API key that created it (None: a token, a JWT or a browser session of a user): a
    # publishable key sees only the sessions it created (scanserve.identity.scoping).
    created_by_key = peewee.ForeignKeyField(
        ApiKey, null=True, on_delete="SET NULL", backref="+", index=True
    )
    status = peewee.CharField(max_length=16, default="ACTIVE", index=True)
    capture_mode = peewee.CharField(max_length=32, default="barcode_scan")
    extraction_status = peewee.CharField(max_length=16, default="pending")
    metadata = JSONField(default=dict)
    user_agent = peewee.CharField(max_length=500, default="")
    device_context = JSONField(default=dict)
    created = UTCDateTimeField(default=utcnow, index=True)
    modified = UTCDateTimeField(default=utcnow)
    # Last time a client did something with the session; the expiry job compares it to the TTL.
    last_activity = UTCDateTimeField(default=utcnow, index=True)
    # Vision extraction's ownership (see scanserve.domain.extraction): when extraction last changed
    # hands (queued, claimed, re-queued) or its worker last renewed its lease, whether a
    # worker holds it, and how many claims so far.
    extraction_changed_at = UTCDateTimeField(null=True, index=True)
    extraction_claimed = peewee.BooleanField(default=False)
    extraction_attempts = peewee.IntegerField(default=0)
    # What the finished extraction could not read: [{photo_id, extractor, reason}]
    extraction_failures = JSONField(default=list)

    class Meta:
        table_name = "scan_session"


class Product(BaseModel):
    """The catalog: products by GTIN-14, from imports or from lookup providers."""

    short_id = peewee.CharField(max_length=22, unique=True)
    gtin = peewee.CharField(max_length=14, unique=True)
    name = peewee.CharField(max_length=500)
    brand = peewee.CharField(max_length=200, default="")
    description = peewee.TextField(default="")
    category = peewee.CharField(max_length=500, default="")
    gpc_brick_code = peewee.CharField(max_length=8, default="")
    gpc_brick_label = peewee.CharField(max_length=200, default="")
    ingredients = peewee.TextField(default="")
    image_urls = JSONField(default=list)
    source = peewee.CharField(max_length=100, default="catalog")
    # When an outside lookup provider last answered for it; None for imported products, which
    # are never refreshed (see ``Settings.lookup_cache_ttl_seconds``).
    fetched_at = UTCDateTimeField(null=True)
    created = UTCDateTimeField(default=utcnow)
    modified = UTCDateTimeField(default=utcnow)


class Capture(BaseModel):
    organization_id: int
    session_id: int
    product_id: int | None
    short_id = peewee.CharField(max_length=22, unique=True, default=new_short_id)
    organization = peewee.ForeignKeyField(Organization, on_delete="CASCADE")
    session = peewee.ForeignKeyField(ScanSession, backref="captures", on_delete="CASCADE")
    capture_type = peewee.CharField(max_length=16)
    raw_value = peewee.CharField(max_length=500)
    gtin = peewee.CharField(max_length=14, default="")
    gs1_dl_data = JSONField(null=True)
    status = peewee.CharField(max_length=16, default="PENDING", index=True)
    error_message = peewee.TextField(default="")
    metadata = JSONField(default=dict)
    product = peewee.ForeignKeyField(Product, null=True, on_delete="SET NULL")
    processed_at = UTCDateTimeField(null=True)
    uploaded_image_key = peewee.CharField(max_length=500, null=True)
    qr_analysis = JSONField(null=True)
    created = UTCDateTimeField(default=utcnow, index=True)
    modified = UTCDateTimeField(default=utcnow)
    # When the status last changed: the sweep re-queues captures stuck past a timeout.
    state_changed_at = UTCDateTimeField(default=utcnow, index=True)
    attempts = peewee.IntegerField(default=0)


class Photo(BaseModel):
    organization_id: int
    session_id: int
    capture_id: int | None
    short_id = peewee.CharField(max_length=22, unique=True, default=new_short_id)
    organization = peewee.ForeignKeyField(Organization, on_delete="CASCADE")
    session = peewee.ForeignKeyField(ScanSession, backref="photos", on_delete="CASCADE")
    capture = peewee.ForeignKeyField(Capture, null=True, on_delete="SET NULL")
    photo_type = peewee.CharField(max_length=32, default="other")
    s3_key = peewee.CharField(max_length=500, unique=True)  # one photo per stored object
    original_filename = peewee.CharField(max_length=255, default="")
    sort_order = peewee.IntegerField(default=0)
    file_size = peewee.BigIntegerField(null=True)
    metadata = JSONField(default=dict)
    created = UTCDateTimeField(default=utcnow)


class Proposal(BaseModel):
    organization_id: int
    capture_id: int
    id = peewee.UUIDField(primary_key=True)
    organization = peewee.ForeignKeyField(Organization, on_delete="CASCADE")
    capture = peewee.ForeignKeyField(Capture, backref="proposals", on_delete="CASCADE")
    field_name = peewee.CharField(max_length=50)
    current_value = peewee.TextField(default="")
    proposed_value = peewee.TextField(default="")
    confidence = peewee.CharField(max_length=4, default="0.00")
    reasoning = peewee.TextField(default="")
    source = peewee.CharField(max_length=100, default="")
    status = peewee.CharField(max_length=16, default="PENDING")
    metadata = JSONField(default=dict)
    created = UTCDateTimeField(default=utcnow)
    reviewed_at = UTCDateTimeField(null=True)
    # When apply wrote the value (to the organisation's ProductOverride); null until then.
    applied_at = UTCDateTimeField(null=True)


class ProductOverride(BaseModel):
    """One organisation's value for one field of a catalog product, written by applying an
    accepted proposal. The catalog row is shared by every organisation and never changed by
    one organisation's review; each organisation sees the catalog with its own overrides.
    ``field`` is a proposal ``field_name`` (name, description, brand_name, category,
    ingredients, ai_summary, images); ``value`` is the proposal's text form."""

    organization_id: int
    product_id: int
    organization = peewee.ForeignKeyField(Organization, on_delete="CASCADE")
    product = peewee.ForeignKeyField(Product, on_delete="CASCADE")
    field = peewee.CharField(max_length=50)
    value = peewee.TextField()
    proposal = peewee.UUIDField(null=True)
    modified = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "product_override"
        indexes = ((("organization", "product", "field"), True),)


class RedirectRule(BaseModel):
    """A product-scoped redirect target saved from a capture; ``position`` orders the rules."""

    product_id: int
    organization_id: int
    short_id = peewee.CharField(max_length=22, unique=True, default=new_short_id)
    product = peewee.ForeignKeyField(Product, backref="redirect_rules", on_delete="CASCADE")
    organization = peewee.ForeignKeyField(Organization, on_delete="CASCADE")
    url = peewee.CharField(max_length=2048)
    position = peewee.IntegerField()
    created = UTCDateTimeField(default=utcnow)

    class Meta:
        # numbered per organisation: each sees only its own rules of a shared product
        indexes = ((("product", "organization", "position"), True),)


class FreshnessRule(BaseModel):
    """An organisation's freshness configuration: per GPC brick/family/segment, or fallback."""

    organization_id: int
    organization = peewee.ForeignKeyField(Organization, on_delete="CASCADE")
    scope = peewee.CharField(max_length=8)  # brick | family | segment | fallback
    code = peewee.CharField(max_length=8, default="")
    warning_days = peewee.IntegerField()
    critical_days = peewee.IntegerField()
    label = peewee.CharField(max_length=200)

    class Meta:
        indexes = ((("organization", "scope", "code"), True),)


class BrandClaim(BaseModel):
    """An organisation's claim on a product brand: freshness calls about the brand's products
    use that organisation's rules (per-brand overrides). One organisation per brand;
    ``brand_key`` is the brand case-folded and trimmed, as products are matched on it."""

    organization_id: int
    organization = peewee.ForeignKeyField(Organization, on_delete="CASCADE")
    brand = peewee.CharField(max_length=200)
    brand_key = peewee.CharField(max_length=200, unique=True)
    created = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "brand_claim"


class IdempotencyRecord(BaseModel):
    """A POST made with an ``Idempotency-Key``: what it was (``fingerprint``) and, once it
    finished, the answer to replay (``status`` 0 while it is still running). Keys are unique
    per ``scope`` (an organisation, or a user)."""

    scope = peewee.CharField(max_length=64)
    key = peewee.CharField(max_length=255)
    fingerprint = peewee.CharField(max_length=64)
    status = peewee.IntegerField(default=0)
    content_type = peewee.CharField(max_length=200, default="")
    body = peewee.BlobField(null=True)
    created = UTCDateTimeField(default=utcnow, index=True)
    locked_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "idempotency_record"
        indexes = ((("scope", "key"), True),)


class StoredObject(BaseModel):
    """An object of the object store and the organisation it counts against
    (scanserve.domain.quotas): a registered photo or uploaded image (``stored``, its real
    size), a presigned upload not registered yet (``pending``, the most it may hold, until
    ``expires_at``; the sweep deletes it some time after), or an object of a purged session
    waiting to be deleted (``purging``, since ``expires_at``; scanserve.domain.retention)."""

    organization_id: int
    organization = peewee.ForeignKeyField(Organization, on_delete="CASCADE")
    object_key = peewee.CharField(max_length=500, unique=True)
    size = peewee.BigIntegerField()
    state = peewee.CharField(max_length=8)  # pending | stored | purging
    expires_at = UTCDateTimeField(null=True, index=True)
    created = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "stored_object"


class StorageQuota(BaseModel):
    """One organisation's storage quota, overriding the settings' defaults; a None column
    keeps the default, 0 means no limit."""

    organization_id: int
    organization = peewee.ForeignKeyField(Organization, unique=True, on_delete="CASCADE")
    max_bytes = peewee.BigIntegerField(null=True)
    max_objects = peewee.BigIntegerField(null=True)

    class Meta:
        table_name = "storage_quota"


ALL_MODELS: list[type[BaseModel]] = [
    Organization,
    ApiKey,
    ApiKeyOrigin,
    User,
    Membership,
    AccessToken,
    WebSession,
    ScanSession,
    Product,
    Capture,
    Photo,
    Proposal,
    RedirectRule,
    FreshnessRule,
    ProductOverride,
    BrandClaim,
    IdempotencyRecord,
    StoredObject,
    StorageQuota,
]
