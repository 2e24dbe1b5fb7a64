"""Everything one running app (or worker, or CLI command) holds, built by
:func:`build_services`; nothing of it exists at import time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import peewee

from .objectstore import ObjectStore, open_object_store
from .plugins.manager import Plugins, build_plugin_manager
from .ratelimit import RateLimiter
from .settings import Settings
from .storage.database import open_database
from .storage.migrate import upgrade


@dataclass
class Services:
    settings: Settings
    db: peewee.Database
    plugins: Plugins
    limiter: RateLimiter
    objects: ObjectStore
    queue: Any = field(default=None)  # scanserve.queue.Queue, attached by build_services
    resolve_lane: Any = field(default=None)  # scanserve.lanes.ResolveLane
    image_lane: Any = field(default=None)  # scanserve.lanes.ResolveLane, per organisation
    # scanserve.oidc.JwtVerifier when SCANSERVE_OIDC_ISSUER is set (resource-server mode)
    jwt_verifier: Any = field(default=None)


def build_services(
    settings: Settings, *, extra_plugins: Iterable[Any] = (), migrate: bool = True
) -> Services:
    db = open_database(
        settings.effective_database_url,
        prepared_statements=settings.database_prepared_statements,
    )
    if migrate:
        upgrade(db)
    from . import imaging

    imaging.configure(settings)  # the pixel limit and decode budget of this process
    pm = build_plugin_manager(settings, extra_plugins)
    services = Services(
        settings=settings,
        db=db,
        plugins=Plugins(pm, settings),
        limiter=RateLimiter(settings.rate_limit_storage_url),
        objects=open_object_store(settings),
    )
    from .lanes import ResolveLane
    from .queue import Queue  # the queue's tasks call back into services

    services.resolve_lane = ResolveLane(
        settings.resolve_concurrency, settings.resolve_concurrency_per_caller
    )
    services.image_lane = ResolveLane(
        settings.image_check_concurrency, settings.image_check_concurrency_per_org
    )

    services.queue = Queue(services)
    if settings.oidc_issuer:
        from .oidc import JwtVerifier

        services.jwt_verifier = JwtVerifier(settings)
    return services
