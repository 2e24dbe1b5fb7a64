"""``scanserve plugins``: the loaded plugins, and a new plugin package to start from."""

from __future__ import annotations

from pathlib import Path

import click

from scanserve.cli.common import read_settings, setup_logging, startup_errors


@click.group()
def plugins() -> None:
    """Plugins."""


@plugins.command("list")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print what GET /plugins answers: one JSON object, its plugins and providers.",
)
def plugins_list(as_json: bool) -> None:
    """Each loaded plugin, its version and the hooks it implements; then each provider the
    plugins registered (vision extractors included), by kind, in the order the server asks
    them; then each extractor, the photo types routed to it, and whether it can run here."""
    from scanserve.http.presenters import plugin_list_view
    from scanserve.plugins.manager import Plugins, build_plugin_manager, describe

    settings = read_settings(warn=False)
    setup_logging(settings, None)  # a disabled plugin that matches nothing is a warning
    with startup_errors():
        pm = build_plugin_manager(settings)
        loaded = Plugins(pm, settings)
    if as_json:
        import json

        click.echo(json.dumps(plugin_list_view(loaded), indent=2))
        return
    click.echo("NAME\tVERSION\tBUILTIN\tHOOKS")
    for info in describe(pm):
        builtin = "yes" if info.builtin else "no"
        click.echo(f"{info.name}\t{info.version}\t{builtin}\t{','.join(info.hooks)}")
    click.echo("")
    providers = loaded.describe_providers()
    click.echo("KIND\tORDER\tPROVIDER\tPLUGIN")
    for provider in providers:
        click.echo(f"{provider.kind}\t{provider.order}\t{provider.name}\t{provider.plugin}")

    click.echo("")
    click.echo("EXTRACTOR\tPHOTO TYPES\tSTATUS")
    for extractor in (p for p in providers if p.kind == "extractor"):
        types = ",".join(extractor.photo_types) or "(product)"
        state = f"unavailable: {extractor.unavailable}" if extractor.unavailable else "available"
        click.echo(f"{extractor.name}\t{types}\t{state}")


@plugins.command("new")
@click.argument("name")
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default=True,
    help="Where to create the package's folder.",
)
def plugins_new(name: str, directory: Path) -> None:
    """Write a ready plugin package NAME: pyproject with the 'scanserve' entry point, a
    lookup provider, a README and tests using scanserve.testing, in ./scanserve-NAME."""
    from scanserve.cli import plugin_template

    try:
        root = plugin_template.write(name, directory)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {root.resolve()}")
    click.echo("next:")
    # python -m pip: the pip of the environment scanserve runs in, not whichever pip is first
    # on PATH (outside a virtualenv, the system's, which cannot find scanserve).
    click.echo(f"  cd {root} && {_python()} -m pip install -e '.[test]' && {_python()} -m pytest")
    click.echo("  scanserve plugins list")


def _python() -> str:
    """How to call this environment's Python: ``python`` when that is it (an activated
    virtualenv), else its path."""
    import shutil
    import sys

    found = shutil.which("python")
    if found and Path(found).resolve() == Path(sys.executable).resolve():
        return "python"
    return sys.executable
