"""``scanserve serve`` and ``scanserve worker``: the API server and a queue worker."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import click

from scanserve import __version__
from scanserve.cli.common import (
    announce,
    log_format_option,
    read_settings,
    refuse_new_database,
    setup_logging,
    startup_errors,
    url_host,
    where,
)
from scanserve.cli.demo import seed_demo, seed_demo_scan_page

if TYPE_CHECKING:
    from scanserve.domain.services import Services
    from scanserve.settings import Settings


def metrics_port_option(fn: Any) -> Any:
    return click.option(
        "--metrics-port",
        type=click.IntRange(min=0, max=65535),
        default=None,
        help="Serve Prometheus metrics on this port, apart from the API (0: any free port, "
        "printed; default: SCANSERVE_METRICS_PORT, off).",
    )(fn)


def _printer(fmt: str) -> Callable[..., None]:
    """Prints a line of the banner on stdout: as it is, or as a JSON log line."""
    from scanserve.infra.logconfig import json_line

    def say(text: str, **fields: Any) -> None:
        click.echo(json_line("scanserve.cli", text, **fields) if fmt == "json" else text)

    return say


@contextlib.contextmanager
def _metrics_directory(port: int | None) -> Iterator[None]:
    """With metrics on, the run's multiprocess directory (set in the environment before
    anything records, and inherited by the processes this one starts), removed at the end."""
    if port is None:
        yield
        return
    from scanserve.infra import metrics

    directory, made = metrics.prepare_directory()
    # the processes of --workers read their settings from the environment
    os.environ["SCANSERVE_METRICS_PORT"] = str(port)
    try:
        yield
    finally:
        if made:
            metrics.remove_directory(directory)


def _serve_metrics(settings: Settings, services: Services) -> Any:
    """The metrics port of this run, with what is read at scrape time."""
    from scanserve.domain import captures, health
    from scanserve.infra import metrics

    assert settings.metrics_port is not None
    try:
        return metrics.serve(
            settings.metrics_host,
            settings.metrics_port,
            backlog=services.queue.backlog,
            unfinished=captures.unfinished,
            dependencies=lambda: health.dependencies_up(services),
        )
    except OSError as error:
        raise click.ClickException(
            f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}: {error}"
        ) from None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--demo",
    is_flag=True,
    help="Create (once) a demo organisation and catalog, keep one demo key, and print how to "
    "call the API.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Server processes. More than one needs SCANSERVE_RATE_LIMIT_STORAGE_URL=redis://...",
)
@metrics_port_option
@log_format_option
def serve(  # noqa: PLR0917 - click passes the options by position
    host: str,
    port: int,
    demo: bool,
    workers: int,
    metrics_port: int | None,
    log_format: str | None,
) -> None:
    """Run the API server (migrating the database first) with the embedded queue's consumer."""
    settings = read_settings(warn=False)
    if metrics_port is not None:
        settings = settings.model_copy(update={"metrics_port": metrics_port})
    with _metrics_directory(settings.metrics_port):
        _serve(settings, host, port, demo=demo, workers=workers, log_format=log_format)


def _demo_or_hints(
    settings: Settings, say: Callable[..., None], base: str, page: str, *, demo: bool
) -> None:
    """The banner's last lines: the demo's scanning page, key and a first request, or where
    the scanning page stands and how to make a key."""
    if demo:
        key = seed_demo(settings)
        seed_demo_scan_page(settings)
        say(f"Scan page: {page}")
        say(f"API key: {key}")
        say("Try:")
        say(
            f"  curl -s -X POST {base}/sessions -H 'X-API-Key: {key}' "
            '-H \'Content-Type: application/json\' -d \'{"metadata": {"store": "demo"}}\''
        )
        return
    from scanserve.http.scanpage import page_key

    say(
        f"Scan page: {page}"
        if page_key(settings)
        else "Scan page: not configured (scanserve scan-page --key cpk_...)"
    )
    say("API keys: scanserve keys create --org ORG (see scanserve --help)")


def _serve(
    settings: Settings, host: str, port: int, *, demo: bool, workers: int, log_format: str | None
) -> None:
    # the log first: what importing the app warns about is written in its format
    log_config = setup_logging(settings, log_format)
    from scanserve.app import HandlerProblem, create_app
    from scanserve.infra import metrics, server

    say = _printer(log_format or settings.log_format)
    if workers > 1 and settings.rate_limit_storage_url.startswith("memory:"):
        raise click.UsageError(
            f"--workers {workers} needs rate limits shared by the server processes: set "
            "SCANSERVE_RATE_LIMIT_STORAGE_URL=redis://host:6379/N (with memory:// each "
            f"process would count alone, and every limit would be {workers} times too high)"
        )
    with startup_errors():
        # With several processes this one only checks and migrates; each process builds its
        # own app (scanserve.asgi) with its queue consumer.
        try:
            app = create_app(settings, start_queue=workers == 1)
        except HandlerProblem as exc:  # a handler module that does not import, say
            raise click.ClickException(str(exc)) from None
    # Bound before the banner, so that it names the port taken (``--port 0``: any free one).
    try:
        sock = server.bind(host, port)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from None
    port = sock.getsockname()[1]
    shown_host = url_host(host)
    base = f"http://{shown_host}:{port}{settings.base_path}"
    exporter = None
    if settings.metrics_port is not None:
        exporter = _serve_metrics(settings, app.services)
    say(f"scanserve {__version__}: {where(settings)}", version=__version__)
    say(f"Base URL: {base}", base_url=base, port=port)
    say(f"API reference: {base}/ui/")
    say(f"Health: {base}/health/live, {base}/health/ready")
    if exporter is not None:
        metrics_host = settings.metrics_host
        shown = url_host(metrics_host)
        say(f"Metrics: http://{shown}:{exporter.port}/metrics", metrics_port=exporter.port)
    _demo_or_hints(settings, say, base, f"http://{shown_host}:{port}/scan/", demo=demo)
    sys.stdout.flush()
    try:
        if workers == 1:
            server.run(app, settings, host=host, port=port, log_config=log_config, sock=sock)
            return
        app.services.db.close()
        server.run_workers(
            settings,
            workers,
            host=host,
            port=port,
            log_config=log_config,
            sock=sock,
            on_exit=metrics.process_exited if exporter is not None else None,
        )
    finally:
        if exporter is not None:
            exporter.stop()


@click.command()
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Main-lane threads of this process (default: SCANSERVE_WORKER_PROCESS_THREADS, 8). "
    "For more processes, start more workers.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    hidden=True,  # the old name of --threads, kept working for a while with a warning
)
@metrics_port_option
@log_format_option
def worker(
    threads: int | None, workers: int | None, metrics_port: int | None, log_format: str | None
) -> None:
    """Run a queue worker in the foreground (for the redis queue)."""
    if workers is not None:
        click.echo(
            "scanserve: warning: 'worker --workers' is deprecated (on 'serve' it counts "
            f"processes); use 'worker --threads {workers}'",
            err=True,
        )
        threads = threads if threads is not None else workers
    settings = read_settings(warn=False)
    if metrics_port is not None:
        settings = settings.model_copy(update={"metrics_port": metrics_port})
    with _metrics_directory(settings.metrics_port):
        _worker(settings, threads, log_format)


def _worker(settings: Settings, threads: int | None, log_format: str | None) -> None:
    # Otherwise the worker says nothing, not even that it started or re-queued captures.
    setup_logging(settings, log_format)
    if settings.queue == "immediate":
        raise click.UsageError(
            "the immediate queue runs tasks where they are queued; a worker needs "
            "SCANSERVE_QUEUE=redis (or embedded)"
        )
    if (log_format or settings.log_format) == "json":  # its first line too, as the log's
        logging.getLogger("scanserve.worker").info("scanserve: %s", where(settings))
    else:
        announce(settings)
    from scanserve.bootstrap import build_services

    with startup_errors():
        refuse_new_database(settings)
    with startup_errors():
        services = build_services(settings)
    exporter = None
    if settings.metrics_port is not None:
        exporter = _serve_metrics(settings, services)
        metrics_host = settings.metrics_host
        shown = url_host(metrics_host)
        logging.getLogger("scanserve.worker").info(
            "Metrics: http://%s:%d/metrics",
            shown,
            exporter.port,
            extra={"fields": {"metrics_port": exporter.port}},
        )
    try:
        services.queue.run_worker(threads)
    finally:
        if exporter is not None:
            exporter.stop()
