"""Every setting of scanserve, with its default, in one place.

Values come from the environment (``SCANSERVE_<NAME>``, case-insensitive) or from keyword
arguments in tests: ``Settings(data_dir=tmp_path, queue="immediate")``. Nothing else in the
code base reads the environment.

Storage
    ``data_dir`` (``./scanserve-data``) holds the SQLite database and the embedded queue, so
    every command pointed at the same directory sees the same data. ``database_url`` selects
    another database (``postgresql://user@host:5432/db``); empty means SQLite in ``data_dir``.
Queue
    ``queue``: ``embedded`` (Huey on SQLite in ``data_dir``, consumer threads inside
    ``scanserve serve``), ``redis`` (Huey on ``redis_url``; run ``scanserve worker``
    processes), or ``immediate`` (tasks run in the calling thread; for tests and scripts).
Rate limits
    Defaults per key per window; a key's own non-zero limits override them. ``cpk``
    (publishable) keys get ``publishable_rate_limit_per_minute``. Counters live in
    ``rate_limit_storage_url`` (``memory://`` or ``redis://...``; use Redis when several
    server processes share the limits).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCANSERVE_", extra="ignore", frozen=True)

    # storage
    data_dir: Path = Path("./scanserve-data")
    database_url: str = ""

    # HTTP
    base_path: str = "/scanner/api/v1"
    validate_responses: bool = False
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)

    # sessions
    session_ttl_seconds: int = Field(default=24 * 3600, ge=1)

    # rate limits
    rate_limit_per_minute: int = Field(default=300, ge=1)
    rate_limit_per_day: int = Field(default=10_000, ge=1)
    publishable_rate_limit_per_minute: int = Field(default=100, ge=1)
    anonymous_rate_limit_per_minute: int = Field(default=60, ge=1)
    anonymous_rate_limit_per_day: int = Field(default=5_000, ge=1)
    rate_limit_storage_url: str = "memory://"
    # How long a process may answer a key (token, cookie) from memory after checking it in
    # the database: a revocation bites everywhere within this time (see scanserve.authcache).
    auth_cache_seconds: float = Field(default=0.5, ge=0, le=1)

    # queue and pipeline
    queue: Literal["embedded", "redis", "immediate"] = "embedded"
    redis_url: str = "redis://127.0.0.1:6379/0"
    queue_name: str = "scanserve"
    worker_threads: int = Field(default=2, ge=1)
    # Threads of the slow lane: captures that follow a URL (scanserve.queue, enqueue_capture).
    slow_worker_threads: int = Field(default=2, ge=1)
    capture_stale_seconds: int = Field(default=300, ge=1)
    sweep_interval_seconds: int = Field(default=60, ge=1)
    provider_timeout_seconds: float = Field(default=10.0, gt=0)

    # plugins
    load_entrypoint_plugins: bool = True
    disabled_plugins: list[str] = Field(default_factory=list)

    # Open Food Facts lookup (off unless enabled; the service asks for a descriptive User-Agent)
    openfoodfacts_enabled: bool = False
    openfoodfacts_base_url: str = "https://world.openfoodfacts.org"
    openfoodfacts_user_agent: str = ""
    openfoodfacts_cache_ttl_seconds: float = 86_400.0

    # QR resolving
    qr_timeout_seconds: float = Field(default=5.0, gt=0)
    qr_max_hops: int = Field(default=10, ge=0, le=10)
    qr_allow_private: bool = False
    qr_allowed_networks: list[str] = Field(default_factory=list)
    qr_own_resolver_hosts: list[str] = Field(default_factory=list)
    # POST /resolve-url runs apart from other requests (scanserve.lanes): at most this many
    # at once in a process, and at most ..._per_caller of them for one key, user or address.
    resolve_concurrency: int = Field(default=8, ge=1)
    resolve_concurrency_per_caller: int = Field(default=2, ge=1)

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "scanserve.db"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"
