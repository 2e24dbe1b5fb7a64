"""``scanserve serve`` and ``scanserve worker``: the API server and a queue worker."""

from __future__ import annotations

import sys

import click

from scanserve import __version__
from scanserve.cli.common import (
    announce,
    log_format_option,
    read_settings,
    refuse_new_database,
    setup_logging,
    startup_errors,
    where,
)
from scanserve.cli.demo import seed_demo, seed_demo_scan_page


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
@log_format_option
def serve(host: str, port: int, demo: bool, workers: int, log_format: str | None) -> None:
    """Run the API server (migrating the database first) with the embedded queue's consumer."""
    from scanserve.app import HandlerProblem, create_app
    from scanserve.infra import server

    settings = read_settings(warn=False)
    log_config = setup_logging(settings, log_format)
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
    shown_host = f"[{host}]" if ":" in host else host
    base = f"http://{shown_host}:{port}{settings.base_path}"
    click.echo(f"scanserve {__version__}: {where(settings)}")
    click.echo(f"Base URL: {base}")
    click.echo(f"API reference: {base}/ui/")
    click.echo(f"Health: {base}/health/live, {base}/health/ready")
    page = f"http://{shown_host}:{port}/scan/"
    if demo:
        key = seed_demo(settings)
        seed_demo_scan_page(settings)
        click.echo(f"Scan page: {page}")
        click.echo(f"API key: {key}")
        click.echo("Try:")
        click.echo(
            f"  curl -s -X POST {base}/sessions -H 'X-API-Key: {key}' "
            '-H \'Content-Type: application/json\' -d \'{"metadata": {"store": "demo"}}\''
        )
    else:
        from scanserve.http.scanpage import page_key

        configured = bool(page_key(settings))
        click.echo(
            f"Scan page: {page}"
            if configured
            else "Scan page: not configured (scanserve scan-page --key cpk_...)"
        )
        click.echo("API keys: scanserve keys create --org ORG (see scanserve --help)")
    sys.stdout.flush()
    if workers == 1:
        server.run(app, settings, host=host, port=port, log_config=log_config, sock=sock)
        return
    app.services.db.close()
    server.run_workers(settings, workers, host=host, port=port, log_config=log_config, sock=sock)


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
@log_format_option
def worker(threads: int | None, workers: int | None, log_format: str | None) -> None:
    """Run a queue worker in the foreground (for the redis queue)."""
    if workers is not None:
        click.echo(
            "scanserve: warning: 'worker --workers' is deprecated (on 'serve' it counts "
            f"processes); use 'worker --threads {workers}'",
            err=True,
        )
        threads = threads if threads is not None else workers
    from scanserve.bootstrap import build_services

    settings = read_settings(warn=False)
    # Otherwise the worker says nothing, not even that it started or re-queued captures.
    setup_logging(settings, log_format)
    if settings.queue == "immediate":
        raise click.UsageError(
            "the immediate queue runs tasks where they are queued; a worker needs "
            "SCANSERVE_QUEUE=redis (or embedded)"
        )
    announce(settings)
    with startup_errors():
        refuse_new_database(settings)
    with startup_errors():
        services = build_services(settings)
    services.queue.run_worker(threads)
