"""Everything one running app (or worker, or CLI command) holds: a plain container, built and
wired by the composition root (:func:`scanserve.bootstrap.build_services`); nothing of it
exists at import time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import peewee

from scanserve.infra.objectstore import ObjectStore
from scanserve.infra.ratelimit import RateLimiter
from scanserve.plugins.manager import Plugins
from scanserve.settings import Settings


@dataclass
class Services:
    settings: Settings
    db: peewee.Database
    plugins: Plugins
    limiter: RateLimiter
    objects: ObjectStore
    queue: Any = field(default=None)  # scanserve.infra.queue.Queue, attached by build_services
    resolve_lane: Any = field(default=None)  # scanserve.infra.request_lanes.ResolveLane
    # scanserve.infra.request_lanes.ResolveLane, per organisation
    image_lane: Any = field(default=None)
    # scanserve.identity.oidc.JwtVerifier when SCANSERVE_OIDC_ISSUER is set (resource-server mode)
    jwt_verifier: Any = field(default=None)
