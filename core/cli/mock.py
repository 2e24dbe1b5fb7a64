"""``scanserve mock``: the Scanner API answered from the contract alone, with no database."""

from __future__ import annotations

import sys

import click

from scanserve import __version__
from scanserve.cli.common import log_format_option, read_settings, setup_logging, url_host


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=4010, show_default=True, type=int, help="0: any free port.")
@click.option(
    "--dynamic",
    is_flag=True,
    help="Answer with values made from the schemas instead of the contract's examples "
    "(per request: 'Prefer: dynamic=true|false').",
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=int,
    help="Seed of the --dynamic values: the same seed gives the same answers.",
)
@log_format_option
def mock(host: str, port: int, dynamic: bool, seed: int, log_format: str | None) -> None:
    """Serve a mock of the Scanner API from spec/openapi.yaml alone.

    Requests are validated as the server validates them (the same problem documents);
    valid ones are answered with the contract's examples, or with --dynamic with generated
    values. 'Prefer: code=404' picks a status, 'Prefer: example=NAME' a named example. Any
    well-formed credential is accepted. No database, queue or plugin is used.
    """
    from scanserve.app import create_mock_app
    from scanserve.identity.keys import checksum
    from scanserve.infra import server

    settings = read_settings(warn=False)
    log_config = setup_logging(settings, log_format)
    app = create_mock_app(settings, dynamic=dynamic, seed=seed)
    try:
        sock = server.bind(host, port)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from None
    port = sock.getsockname()[1]
    shown_host = url_host(host)
    base = f"http://{shown_host}:{port}{settings.base_path}"
    answers = f"values made from the schemas (seed {seed})" if dynamic else "the examples"
    click.echo(f"scanserve {__version__} mock: answers from the contract ({answers})")
    click.echo(f"Base URL: {base}")
    click.echo(f"API reference: {base}/ui/")
    body = "MockKeyForClientTests0000000000"[:32].ljust(32, "0")
    click.echo(f"API key: csb_{body}_{checksum(body)} (any well-formed key is accepted)")
    sys.stdout.flush()
    server.run(app, settings, host=host, port=port, log_config=log_config, sock=sock)
