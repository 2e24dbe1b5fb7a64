"""Everything one running app (or worker, or CLI command) holds: a plain container, built and
wired by the composition root (:func:`scanserve.bootstrap.build_services`); nothing of it
exists at import time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import peewee

from .objectstore import ObjectStore
from .plugins.manager import Plugins
from .ratelimit import RateLimiter
from .settings import Settings


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
