"""The composition root: what one running app (or worker, or CLI command) holds, built from
its settings (:func:`build_services`), and the background work wired to the queue
(:func:`queue_tasks`). The queue is infrastructure and imports no domain module: the tasks
it runs are handed to it here, bound to the services. Nothing is built at import time."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from scanserve.domain import extraction, imaging, pipeline, quotas, retention, sessions
from scanserve.domain.sandbox import Sandbox
from scanserve.domain.services import Services
from scanserve.http import idempotency
from scanserve.infra import metrics, tracing
from scanserve.infra.objectstore import open_object_store
from scanserve.infra.queue import Queue, Tasks
from scanserve.infra.ratelimit import RateLimiter
from scanserve.infra.request_lanes import ResolveLane
from scanserve.plugins.manager import Plugins, build_plugin_manager
from scanserve.settings import Settings
from scanserve.storage.database import open_database
from scanserve.storage.migrate import upgrade


def build_services(
    settings: Settings,
    *,
    extra_plugins: Iterable[Any] = (),
    migrate: bool = True,
    sandbox: Sandbox | None = None,
) -> Services:
    """``sandbox``: ``scanserve sandbox``'s seeded state; its clock and ids become the
    process's before anything is built, its scripted providers stand in front of the
    plugins', and the database starts at its seeded start."""
    if sandbox is not None:
        sandbox.install()
        sandbox.prepare(settings.data_dir)
    db = open_database(
        settings.effective_database_url,
        prepared_statements=settings.database_prepared_statements,
    )
    if migrate:
        upgrade(db)
    if settings.metrics_port is not None:
        metrics.enable()  # into the directory the command prepared (scanserve.infra.metrics)
    if settings.tracing and not tracing.enable():
        logging.getLogger("scanserve.tracing").warning(
            "SCANSERVE_TRACING is on but OpenTelemetry is not installed "
            "(pip install 'scanserve[otel]'): no spans"
        )
    imaging.configure(settings)  # the pixel limit and decode budget of this process
    pm = build_plugin_manager(settings, extra_plugins)
    services = Services(
        settings=settings,
        db=db,
        plugins=Plugins(pm, settings),
        limiter=RateLimiter(settings.rate_limit_storage_url),
        objects=open_object_store(settings),
    )
    services.resolve_lane = ResolveLane(
        settings.resolve_concurrency, settings.resolve_concurrency_per_caller
    )
    services.image_lane = ResolveLane(
        settings.image_check_concurrency, settings.image_check_concurrency_per_org
    )

    services.queue = Queue(settings, queue_tasks(services))
    if settings.oidc_issuer:
        from scanserve.identity.oidc import JwtVerifier  # noqa: PLC0415 - PyJWT loads only for an OIDC issuer

        services.jwt_verifier = JwtVerifier(settings)
    if sandbox is not None:
        sandbox.attach(services)
        sandbox.reset(services, on_reset=lambda: reset_rate_limits(services))
    return services


def reset_rate_limits(services: Services) -> None:
    """Every rate-limit count forgotten (the sandbox's reset): a new limiter on the same store."""
    services.limiter = RateLimiter(services.settings.rate_limit_storage_url)


def queue_tasks(services: Services) -> Tasks:
    """The queue's work, each task bound to ``services``."""

    def process_capture(short_id: str, interpretation: Any = None) -> None:
        pipeline.process_capture(services, short_id, interpretation)

    return Tasks(
        process_capture=process_capture,
        run_extraction=lambda short_id: extraction.run_extraction(services, short_id),
        session_org=sessions.organization_of,
        lanes_of=pipeline.lanes_of,
        requeue_stale_captures=lambda seconds: pipeline.requeue_stale(services, seconds),
        requeue_pending_captures=lambda seconds: pipeline.requeue_pending_older_than(
            services, seconds
        ),
        requeue_stale_extractions=lambda seconds: extraction.requeue_stale(services, seconds),
        expire_idle_sessions=sessions.expire_idle,
        purge_idempotency=idempotency.purge,
        sweep_unregistered=lambda: quotas.sweep_unregistered(services),
        extractions=extraction.Running(),
        purge_ended_sessions=lambda days: retention.purge(
            services.objects, timedelta(days=days), execute=True, progress=retention.log_batch
        ),
    )
