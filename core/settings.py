"""Every setting of scanserve, with its default, in one place.

Values come from the environment (``SCANSERVE_<NAME>``, case-insensitive) or from keyword
arguments in tests: ``Settings(data_dir=tmp_path, queue="immediate")``. Nothing else in the
code base reads the environment. A ``SCANSERVE_*`` variable that is no setting is ignored,
and the command line warns about it (:func:`unknown_variables`).

Storage
    ``data_dir`` (``./scanserve-data``) holds the SQLite database and the embedded queue, so
    every command pointed at the same directory sees the same data. ``database_url`` selects
    another database (``postgresql://user@host:5432/db``); empty means SQLite in ``data_dir``.
    While ``data_dir``'s filesystem has less than ``min_free_disk_mb`` (100) MiB free,
    readiness answers ``503`` and writes ``507`` (0 turns both off).
Queue
    ``queue``: ``embedded`` (Huey on SQLite in ``data_dir``, consumer threads inside
    ``scanserve serve``), ``redis`` (Huey on ``redis_url``; run ``scanserve worker``
    processes), or ``immediate`` (tasks run in the calling thread; for tests and scripts).
Object storage
    Photos and uploaded images go to ``<data_dir>/objects`` unless ``s3_bucket`` is set; then
    to that bucket of ``s3_endpoint_url`` (empty: AWS) in ``s3_region``, with
    ``s3_access_key_id`` / ``s3_secret_access_key`` (empty: boto3's credential chain).
    ``s3_addressing_style`` is ``path`` for most S3-compatible servers (MinIO, moto).
    Presigned uploads expire after ``upload_url_expires_seconds``; a photo or an uploaded image
    may be at most ``max_upload_bytes``. An upload never registered is deleted
    ``upload_cleanup_grace_seconds`` after it expired. Each organisation may hold
    ``storage_quota_bytes`` and ``storage_quota_objects`` (0: no limit; overridden per
    organisation with ``scanserve orgs quota set``); past them writes answer ``507``.
Images
    ``image_max_pixels`` (40 million) on every path that opens an image; at most
    ``image_decode_budget_bytes`` (256 MiB) of decoded pixels held at once in a process, a
    request waiting ``image_decode_wait_seconds`` (10) for its share before a ``503``; OCR
    reads images scaled to ``ocr_max_side_pixels`` (3000) on the long side.
Rate limits
    Defaults per key per window; a key's own non-zero limits override them. ``cpk``
    (publishable) keys get ``publishable_rate_limit_per_minute``. Counters live in
    ``rate_limit_storage_url`` (``memory://`` or ``redis://...``; use Redis when several
    server processes share the limits). Anonymous calls are limited per client address;
    requests whose credential fails get a budget of their own per address
    (``failed_auth_per_minute`` / ``_per_day``), answered ``429`` when spent, so guessing
    keys is slow and cannot use up the anonymous budget of that address.
    Expensive operations have budgets of their own per organisation, beside the request
    budget: ``org_image_uploads_per_minute`` / ``_per_day`` (``upload-image`` and photo
    registration), ``org_link_captures_per_minute`` / ``_per_day`` (captures whose value is
    a URL to follow) and ``org_extractions_per_minute`` / ``_per_day`` (session
    submissions), counted in the same storage; ``429`` with ``Retry-After`` when spent.
Clients behind proxies
    ``trusted_proxies`` (empty by default): addresses or networks (``10.0.0.0/8``) of the
    reverse proxies in front of the server. Only a connection from one of them may name the
    client in ``X-Forwarded-For``; the client is the rightmost address there that is not a
    trusted proxy. With the default, ``X-Forwarded-For`` is ignored and the client is the
    connection's peer.
Hostile input (every limit answers a problem document, never a 500)
    ``max_body_bytes`` (1 MiB) for every body, ``max_upload_bytes`` (10 MiB) only for
    ``multipart/form-data`` to an operation that takes it (the image upload).
    ``max_json_depth`` (32): deeper JSON bodies are ``400``. ``free_form_max_depth`` (8) and
    ``free_form_max_items`` (256) bound free-form objects (``device_context``,
    ``gs1_dl_data``): levels of nesting below them, and object members plus array items in
    all (``422``). ``max_header_count`` (100) and ``max_header_bytes`` (16 KiB, names and
    values of all headers together) are checked first, before credentials are read (``431``).
    Timeouts of ``scanserve serve``: ``header_timeout_seconds`` (10) for a connection to
    send a whole request head, ``body_timeout_seconds`` (30) for the body (``408``), and
    ``keep_alive_seconds`` (5) for an idle kept-alive connection.
Credentials (see ``docs/authentication.md``)
    Personal access tokens need no setting. ``oidc_issuer`` turns on OAuth 2.0
    resource-server mode: bearer JWTs signed by that issuer are accepted when their ``aud``
    holds ``oidc_audience`` (required then), checked against the issuer's JWKS
    (``oidc_jwks_url``, found through the issuer's discovery document when empty, or a local
    ``oidc_jwks_file`` for offline use), with ``oidc_leeway_seconds`` of clock skew on
    ``exp``/``nbf``/``iat``. The organisation comes from the ``oidc_org_claim`` claim (one
    organisation id or a list), scopes from ``oidc_scope_claim`` (a space-separated string
    or a list). Browser sign-in cookies live ``web_session_ttl_seconds`` at most;
    ``session_cookie_secure`` forces the cookie's ``Secure`` flag on or off (default: on
    exactly when the request came over HTTPS).
Command line
    ``create_database`` (false): let a command other than ``db upgrade`` and ``serve`` create
    a new, empty database where none is (``scanserve --create ...`` does the same); otherwise
    it refuses, so a command run from the wrong folder cannot mint keys nobody will see.
Background work
    ``worker_threads`` (embedded) and ``worker_process_threads`` (``scanserve worker``) run
    captures and extractions; ``capture_stale_seconds`` and ``extraction_stale_seconds`` say
    when the periodic sweep (every ``sweep_interval_seconds``) takes over work whose worker is
    gone; a running extraction renews its lease every third of ``extraction_stale_seconds``.
    ``extraction_timeout_seconds`` bounds each extractor on each photo. On SIGTERM a server or
    worker takes no new work and gives the work in flight ``shutdown_grace_seconds`` (20) to
    finish; what is left is picked up again by the next start or the sweep.
Logging
    ``log_format``: ``text`` (one line: time, level, logger, message) or ``json`` (one JSON
    object a line, for log shippers); ``log_level`` (``INFO``).
The scanning page
    ``scan_page_key``: the publishable key (``cpk_...``) the page ``/scan/`` puts in front of
    the browser (see ``docs/scan-page.md``). Empty: the key ``scanserve scan-page --key``
    kept in ``<data_dir>/scan-page-key``, else the page says it is not configured. Only a
    ``cpk`` key is accepted: a business or user key must never reach a web page.
Metrics
    ``metrics_port`` (off by default): ``scanserve serve`` and ``scanserve worker`` serve
    Prometheus metrics on this port of ``metrics_host`` (``127.0.0.1``), apart from the API;
    0 takes any free port and prints it. Summed over ``serve --workers N``'s processes.
    ``tracing`` (off): OpenTelemetry spans of requests, queued captures and provider calls,
    to the tracer provider the operator configures (needs ``scanserve[otel]``).
Product lookups
    ``lookup_cache_ttl_seconds`` (7 days): a product an outside provider found is kept in the
    catalog with its source and the time it was fetched, and asked for again once it is older
    than this (0: at every lookup). Imported products never expire.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

ENV_PREFIX = "SCANSERVE_"

#: The database URL schemes scanserve opens (scanserve.storage.database): SQLite and
#: PostgreSQL (``+pool``: a connection pool in the process).
DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql", "postgres+pool", "postgresql+pool")

#: ``SCANSERVE_*`` variables that are not settings and are never warned about: those of
#: scanserve's own tests, benchmarks and fuzzing (see :func:`unknown_variables`).
NOT_SETTINGS_PREFIXES = (
    "SCANSERVE_TEST_",
    "SCANSERVE_BENCH_",
    "SCANSERVE_FUZZ_",
    "SCANSERVE_CONTRACT_",
)


#: What a publishable key looks like (scanserve.identity.keys makes them); the scanning page
#: takes no other kind, so that no key with more rights can be published in it.
PUBLISHABLE_KEY_PATTERN = r"cpk_[A-Za-z0-9]{32}_[0-9a-f]{8}"

#: Settings whose value an error message never repeats: a key set by mistake may be secret.
NEVER_SHOWN = frozenset({"scan_page_key", "s3_secret_access_key", "vision_openai_api_key"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCANSERVE_", extra="ignore", frozen=True)

    # storage
    data_dir: Path = Path("./scanserve-data")
    database_url: str = ""
    # PostgreSQL: the hot queries as server-side prepared statements (planned once per
    # connection). Off behind a pooler that hands one client several server sessions
    # (PgBouncer in transaction or statement mode).
    database_prepared_statements: bool = True
    # While the data directory's filesystem has less free space than this (MiB), readiness
    # answers 503 and writes are refused with 507 before they start: the SQLite database,
    # the embedded queue and local objects live there. 0 turns both off.
    min_free_disk_mb: int = Field(default=100, ge=0)

    # HTTP
    base_path: str = "/scanner/api/v1"
    validate_responses: bool = False
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Problem documents' `type` is `<problem_type_base>#<error_code>`. The default names the
    # error reference in the source repository (docs/errors.md, as the spec's examples show);
    # an operator who publishes the docs sets the absolute URL of that page.
    problem_type_base: str = "docs/errors.md"
    # Idempotency-Key: answers are kept this long. A running first request holds its key by a
    # lease of idempotency_lock_seconds, renewed by its server while it runs; a lease left
    # to lapse (its server died) lets a repeat take the key over and run.
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=1)
    idempotency_lock_seconds: int = Field(default=10, ge=1)
    max_json_depth: int = Field(default=32, ge=2, le=500)
    free_form_max_depth: int = Field(default=8, ge=0, le=32)
    free_form_max_items: int = Field(default=256, ge=1)
    max_header_count: int = Field(default=100, ge=10)
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    keep_alive_seconds: float = Field(default=5.0, gt=0)
    trusted_proxies: list[str] = Field(default_factory=list)

    # object storage (local files under data_dir unless s3_bucket is set)
    upload_url_expires_seconds: int = Field(default=900, ge=1, le=7 * 24 * 3600)
    # The server's address as clients reach it (``https://scan.example.com``), for the URLs
    # it hands out (the local backend's upload_url). Empty: the address the request came to,
    # which behind a TLS-terminating proxy is the proxy's view, not the client's.
    public_base_url: str = Field(default="", pattern=r"^(https?://[^/?#\s]+/?)?$")
    s3_bucket: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: SecretStr = SecretStr("")
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    # Storage quota of each organisation (scanserve.domain.quotas): the bytes and the number of
    # objects (photos, uploaded images, presigned uploads not yet registered) it may hold;
    # 0 = no limit. `scanserve orgs quota set` overrides them for one organisation.
    storage_quota_bytes: int = Field(default=10 * 1024**3, ge=0)
    storage_quota_objects: int = Field(default=100_000, ge=0)
    # A presigned upload never registered as a photo is deleted by the sweep this long after
    # its upload URL expired.
    upload_cleanup_grace_seconds: int = Field(default=3600, ge=0)

    # images (scanserve.domain.imaging): the pixel limit on every path that opens an image, the
    # bytes of decoded pixels one process holds at once, how long a request waits for them
    # (then 503), and the long side of an image handed to OCR
    image_max_pixels: int = Field(default=40_000_000, ge=1)
    image_decode_budget_bytes: int = Field(default=256 * 1024 * 1024, ge=16 * 1024 * 1024)
    image_decode_wait_seconds: float = Field(default=10.0, ge=0)
    ocr_max_side_pixels: int = Field(default=3000, ge=500, le=20_000)

    # sessions
    session_ttl_seconds: int = Field(default=24 * 3600, ge=1)
    # Retention: when above 0, the queue deletes ended sessions unchanged for this many days
    # once a day, as `scanserve purge --older-than <N>d --execute` does; 0 keeps them.
    retention_days: int = Field(default=0, ge=0)

    # rate limits
    rate_limit_per_minute: int = Field(default=300, ge=1)
    rate_limit_per_day: int = Field(default=10_000, ge=1)
    publishable_rate_limit_per_minute: int = Field(default=100, ge=1)
    anonymous_rate_limit_per_minute: int = Field(default=60, ge=1)
    anonymous_rate_limit_per_day: int = Field(default=5_000, ge=1)
    rate_limit_storage_url: str = "memory://"
    failed_auth_per_minute: int = Field(default=10, ge=1)
    failed_auth_per_day: int = Field(default=200, ge=1)
    # How long a process may answer an API key from memory after checking it in the database: a
    # revocation bites everywhere within this time (see scanserve.identity.authcache).
    auth_cache_seconds: float = Field(default=0.5, ge=0, le=1)

    # queue and pipeline
    queue: Literal["embedded", "redis", "immediate"] = "embedded"
    redis_url: str = "redis://127.0.0.1:6379/0"
    queue_name: str = "scanserve"
    worker_threads: int = Field(default=2, ge=1)
    # Main-lane threads of each `scanserve worker` process (its --threads overrides). More
    # than the embedded consumer's: a worker thread spends most of a capture waiting on
    # Redis and on its database commits (PostgreSQL: an fsync each), which the GIL does not
    # hold up; each thread keeps one database connection.
    worker_process_threads: int = Field(default=8, ge=1)
    # Threads of the slow lane: captures that follow a URL or decode an uploaded image
    # (scanserve.infra.queue, enqueue_capture), in each process that consumes it.
    slow_worker_threads: int = Field(default=4, ge=1)
    # Fairness between organisations (scanserve.infra.capture_lanes): each lane takes captures
    # from the organisations in turn, and one organisation occupies at most this many of a
    # lane's threads in a process at once (0, or not below the lane's threads: no cap). The
    # slow lane's cap below its threads keeps a thread free for everyone else.
    worker_threads_per_org: int = Field(default=0, ge=0)
    slow_worker_threads_per_org: int = Field(default=2, ge=0)
    capture_stale_seconds: int = Field(default=300, ge=1)
    # SIGTERM (or SIGINT) to `scanserve serve` or `scanserve worker`: no new work is taken,
    # work in flight has this long to finish, then the process stops (see scanserve.infra.queue).
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)
    sweep_interval_seconds: int = Field(default=60, ge=1)
    provider_timeout_seconds: float = Field(default=10.0, gt=0)

    # plugins
    load_entrypoint_plugins: bool = True
    disabled_plugins: list[str] = Field(default_factory=list)
    # Freshness: the calling organisation's own rules answer before any freshness plugin
    # ("org-rules-first"), or plugins answer first and the rules come after them, with the
    # built-in layers ("plugins-first").
    freshness_order: Literal["org-rules-first", "plugins-first"] = "org-rules-first"

    # Open Food Facts lookup (off unless enabled; the service asks for a descriptive User-Agent)
    openfoodfacts_enabled: bool = False
    openfoodfacts_base_url: str = "https://world.openfoodfacts.org"
    openfoodfacts_user_agent: str = ""
    openfoodfacts_cache_ttl_seconds: float = 86_400.0

    # vision extraction (scanserve.domain.extraction): a running extraction renews its lease every
    # third of extraction_stale_seconds; one whose lease is older than that (its worker died
    # or hangs, or its message was lost) is re-queued by the sweep. Each extractor has
    # extraction_timeout_seconds per photo (and per product); a photo that overruns it, or
    # whose extractor fails, is listed in the session's extraction_failures.
    extraction_stale_seconds: int = Field(default=120, ge=1)
    extraction_timeout_seconds: float = Field(default=60.0, gt=0)
    # The built-in OCR engine for ingredients and nutrition photos: rapidocr (installed with
    # scanserve, models included; plugins/builtin/rapid_ocr.py), tesseract (the operating
    # system's program, below), or auto (rapidocr where it can be imported, else tesseract).
    # The engine not chosen is listed unavailable and never runs.
    ocr_engine: Literal["auto", "rapidocr", "tesseract"] = "auto"
    # the Tesseract engine runs this program (skipped when it is missing)
    tesseract_cmd: str = "tesseract"
    tesseract_languages: str = "eng"
    # the example remote vision plugin (off unless vision_openai_url is set): an
    # OpenAI-compatible chat completions endpoint, e.g. https://api.openai.com/v1
    vision_openai_url: str = ""
    vision_openai_api_key: str = ""
    vision_openai_model: str = "gpt-4o-mini"
    vision_openai_timeout_seconds: float = Field(default=30.0, gt=0)
    vision_openai_photo_types: list[str] = Field(
        default_factory=lambda: ["front", "back", "ingredients", "nutrition"]
    )

    # QR resolving
    qr_timeout_seconds: float = Field(default=5.0, gt=0)
    qr_max_hops: int = Field(default=10, ge=0, le=10)
    qr_allow_private: bool = False
    qr_allowed_networks: list[str] = Field(default_factory=list)
    qr_own_resolver_hosts: list[str] = Field(default_factory=list)
    # POST /resolve-url runs apart from other requests (scanserve.infra.request_lanes): at most
    # this many at once in a process, and at most ..._per_caller of them for one key, user or
    # address.
    resolve_concurrency: int = Field(default=8, ge=1)
    resolve_concurrency_per_caller: int = Field(default=2, ge=1)
    # Expensive operations' own budgets per organisation, beside the request budget
    # (scanserve.domain.budgets): image uploads (upload-image, photo registration), captures whose
    # value is a URL to follow, and session submissions (vision extraction). 429 when spent.
    org_image_uploads_per_minute: int = Field(default=60, ge=1)
    org_image_uploads_per_day: int = Field(default=5_000, ge=1)
    org_link_captures_per_minute: int = Field(default=120, ge=1)
    org_link_captures_per_day: int = Field(default=10_000, ge=1)
    org_extractions_per_minute: int = Field(default=20, ge=1)
    org_extractions_per_day: int = Field(default=2_000, ge=1)
    # Uploaded images checked (decoded) while the request waits: at most this many at once
    # in a process, and at most ..._per_org of them for one organisation; the others wait
    # holding no thread (scanserve.infra.request_lanes).
    image_check_concurrency: int = Field(default=4, ge=1)
    image_check_concurrency_per_org: int = Field(default=2, ge=1)

    # command line
    create_database: bool = False

    # logging
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # the scanning page /scan/ (scanserve.http.scanpage): its publishable key, else the one
    # `scanserve scan-page --key` kept in the data directory
    scan_page_key: str = ""
    # tracing (scanserve.infra.tracing): OpenTelemetry spans, with scanserve[otel] installed
    tracing: bool = False

    # metrics (scanserve.infra.metrics): None is off
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"

    # product lookups
    lookup_cache_ttl_seconds: int = Field(default=7 * 86_400, ge=0)

    # credentials: outside OIDC issuer (resource-server mode) and browser sessions
    oidc_issuer: str = ""
    oidc_audience: str = ""
    oidc_jwks_url: str = ""
    oidc_jwks_file: Path | None = None
    oidc_algorithms: list[str] = Field(
        default_factory=lambda: [
            "RS256",
            "RS384",
            "RS512",
            "PS256",
            "PS384",
            "PS512",
            "ES256",
            "ES384",
            "ES512",
            "EdDSA",
        ]
    )
    oidc_leeway_seconds: int = Field(default=30, ge=0, le=300)
    oidc_org_claim: str = "org"
    oidc_scope_claim: str = "scope"
    oidc_jwks_cache_seconds: int = Field(default=3600, ge=0)
    oidc_jwks_min_refresh_seconds: int = Field(default=30, ge=0)
    oidc_http_timeout_seconds: float = Field(default=5.0, gt=0)
    web_session_ttl_seconds: int = Field(default=8 * 3600, ge=60)
    session_cookie_secure: bool | None = None

    @model_validator(mode="after")
    def _check_oidc(self) -> Settings:
        if self.oidc_issuer and not self.oidc_audience:
            raise ValueError("SCANSERVE_OIDC_AUDIENCE is required with SCANSERVE_OIDC_ISSUER")
        unsafe = [a for a in self.oidc_algorithms if a.upper() == "NONE" or a.startswith("HS")]
        if unsafe:
            # An issuer's public key must never verify a token as an HMAC secret.
            raise ValueError(
                f"SCANSERVE_OIDC_ALGORITHMS may hold asymmetric algorithms only, not {unsafe}"
            )
        return self

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        scheme = urlsplit(value).scheme.lower() if "://" in value else ""
        if value and scheme not in DATABASE_SCHEMES:
            what = f"the scheme {scheme!r}" if scheme else "a URL without a scheme"
            raise ValueError(
                f"{what} is not a database scanserve runs on; give "
                "postgresql://user:password@host:5432/dbname, or leave it empty for SQLite "
                "in SCANSERVE_DATA_DIR"
            )
        return value

    @field_validator("scan_page_key")
    @classmethod
    def _publishable(cls, value: str) -> str:
        if value and not re.fullmatch(PUBLISHABLE_KEY_PATTERN, value):
            raise ValueError(
                "the scanning page takes a publishable key (cpk_...), never a business or "
                "user key: create one with scanserve keys create --kind cpk"
            )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry.strip(), strict=False)  # ValueError names the entry
        return value

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "scanserve.db"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"


class SettingsProblem(ValueError):
    """The environment holds a setting that cannot be used; the message is one line naming
    the variable(s) and what is wrong."""


def load_settings(**overrides: object) -> Settings:
    """``Settings(**overrides)``, with any error turned into one :class:`SettingsProblem`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except SettingsError as exc:
        # pydantic-settings says only which field failed to parse; list fields are JSON.
        field = str(exc).split('"')[1] if '"' in str(exc) else ""
        name = ENV_PREFIX + field.upper() if field else "a setting"
        raise SettingsProblem(
            f'{name} is not valid JSON (a list is written ["a", "b"]): {exc.__cause__ or exc}'
        ) from None
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            value = error.get("input")
            shown = (
                f" (got {without_password(value)!r})"
                if isinstance(value, str | int | float) and field not in NEVER_SHOWN
                else ""
            )
            message = error["msg"].removeprefix("Value error, ")  # our validators' own words
            name = f"{ENV_PREFIX}{field.upper()}: " if field else ""  # "": the model's own check
            problems.append(f"{name}{message}{shown}")
        raise SettingsProblem("invalid setting " + "; ".join(problems)) from None


def without_password(value: object) -> object:
    """A value as a message may repeat it: a URL's password is never printed."""
    if not isinstance(value, str) or "://" not in value:
        return value
    try:
        parts = urlsplit(value)
        if parts.password is None:
            return value
    except ValueError:
        return value
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def env_names() -> list[str]:
    """The environment variable of every setting (``SCANSERVE_DATA_DIR``, ...)."""
    return [ENV_PREFIX + name.upper() for name in Settings.model_fields]


def unknown_variables(
    environ: Mapping[str, str], plugin_names: Iterable[str] = ()
) -> list[tuple[str, str | None]]:
    """Each ``SCANSERVE_*`` variable of ``environ`` that is no setting, with the setting's
    name nearest to it (None when none is near): most likely a misspelling, which would
    otherwise be ignored without a word.

    Not reported: the settings themselves (names are case-insensitive), the variables of
    scanserve's own tests and tools (:data:`NOT_SETTINGS_PREFIXES`), and the options of an
    installed plugin, which reads them itself and names them after itself
    (``SCANSERVE_<PLUGIN>_*`` for the plugin ``plugin``; ``plugin_names`` are those names).
    """
    known = env_names()
    known_set = set(known)
    ignored = NOT_SETTINGS_PREFIXES + tuple(
        f"{ENV_PREFIX}{name.upper().replace('-', '_')}_" for name in plugin_names
    )
    found = []
    for variable in sorted(environ):
        name = variable.upper()
        if not name.startswith(ENV_PREFIX) or name in known_set or name.startswith(ignored):
            continue
        # compared without the prefix they all share, which would make any name look near
        close = difflib.get_close_matches(
            name.removeprefix(ENV_PREFIX), [k.removeprefix(ENV_PREFIX) for k in known], n=1
        )
        found.append((variable, ENV_PREFIX + close[0] if close else None))
    return found
