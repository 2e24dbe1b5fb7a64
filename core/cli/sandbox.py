"""``scanserve sandbox``: the real server, repeatable, for a client's CI (docs/sandbox.md)."""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from scanserve import __version__
from scanserve.cli.common import log_format_option, setup_logging, startup_errors, url_host

# What the sandbox sets whatever the environment says: a scratch database, the pipeline
# done before the answer, nothing outside asked, no credential cached across a reset, and
# limits a test suite does not reach while the clock stands still.
SANDBOX_SETTINGS: dict[str, object] = {
    "database_url": "",
    "s3_bucket": "",
    "create_database": True,
    "queue": "immediate",
    "openfoodfacts_enabled": False,
    "vision_openai_url": "",
    "auth_cache_seconds": 0,
    "rate_limit_storage_url": "memory://",
    "rate_limit_per_minute": 100_000,
    "rate_limit_per_day": 10_000_000,
    "publishable_rate_limit_per_minute": 100_000,
    "org_image_uploads_per_minute": 10_000,
    "org_image_uploads_per_day": 1_000_000,
    "org_link_captures_per_minute": 10_000,
    "org_link_captures_per_day": 1_000_000,
    "org_extractions_per_minute": 10_000,
    "org_extractions_per_day": 1_000_000,
}


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int, help="0: any free port.")
@click.option(
    "--seed",
    default=1,
    show_default=True,
    type=click.IntRange(min=0),
    help="Ids and test credentials are drawn from it: the same seed, the same answers.",
)
@click.option(
    "--real-time",
    is_flag=True,
    help="Let the clock run from its fixed start (otherwise it moves only when told).",
)
@click.option(
    "--plugins",
    "entrypoint_plugins",
    is_flag=True,
    help="Load installed plugins too (they may reach outside: the runs may then differ).",
)
@log_format_option
def sandbox(
    *,
    host: str,
    port: int,
    seed: int,
    real_time: bool,
    entrypoint_plugins: bool,
    log_format: str | None,
) -> None:
    """Run a deterministic sandbox of the API for client tests: a scratch database with the
    demo catalog, ids and test credentials from --seed, a clock that stands still until
    told, the pipeline done before each answer, no outside lookups, and test-control
    endpoints under /_sandbox (reset, clock, forced outcomes)."""
    from scanserve.app import HandlerProblem, create_app
    from scanserve.domain.sandbox import START, Sandbox
    from scanserve.infra import server
    from scanserve.settings import SettingsProblem, load_settings

    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="scanserve-sandbox-"))
    try:
        try:
            settings = load_settings(
                **SANDBOX_SETTINGS,
                data_dir=scratch,
                load_entrypoint_plugins=entrypoint_plugins,
            )
        except SettingsProblem as exc:
            raise click.ClickException(str(exc)) from None
        log_config = setup_logging(settings, log_format)
        state = Sandbox(seed, real_time=real_time)
        with startup_errors():
            try:
                app = create_app(settings, sandbox=state)
            except HandlerProblem as exc:
                raise click.ClickException(str(exc)) from None
        try:
            sock = server.bind(host, port)
        except OSError as error:
            raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from None
        # listening before the banner: a client that reads it may connect at once, and waits
        # in the backlog until uvicorn, which listens on the same socket, takes it
        sock.listen(2048)
        port = sock.getsockname()[1]
        shown_host = url_host(host)
        root = f"http://{shown_host}:{port}"
        base = f"{root}{settings.base_path}"
        credentials = state.credentials
        click.echo(f"scanserve {__version__} sandbox, seed {seed}")
        click.echo(f"Base URL: {base}")
        click.echo(f"Control: {root}/_sandbox")
        click.echo(
            f"Clock: {START.isoformat().replace('+00:00', 'Z')}"
            + (" (running)" if real_time else " (moves only when told)")
        )
        click.echo(f"Business key: {credentials.business_key}")
        click.echo(f"Publishable key: {credentials.publishable_key}")
        click.echo(f"Access token: {credentials.access_token}")
        click.echo(f"Ready in {time.perf_counter() - started:.2f} s")
        sys.stdout.flush()
        # uvicorn re-raises the signal that stopped it once it has shut down; as SIGTERM's
        # default action that would end the process before the scratch directory goes.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        server.run(app, settings, host=host, port=port, log_config=log_config, sock=sock)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _exit_on_sigterm(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)
