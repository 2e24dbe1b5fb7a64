"""``scanserve plugins new NAME``: write a ready plugin package to start from.

The package has a ``pyproject.toml`` with the ``scanserve`` entry point, one module with a
lookup provider that knows one product, a README, and tests that use
:mod:`scanserve.testing` (in process, and through the installed entry point). Its tests pass
as written; ``tests/plugins/test_plugin_new.py`` installs a fresh one and runs them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")

# A valid GTIN-14 no other plugin of ours uses (the example plugin knows 00012345600012).
TEMPLATE_GTIN = "05012345678900"


@dataclass(frozen=True)
class PluginNames:
    """How one plugin name is spelt in each place."""

    name: str  # the entry-point name: `scanserve plugins list`, SCANSERVE_DISABLED_PLUGINS
    distribution: str  # the package on PyPI / in `pip install`
    module: str  # the Python module

    @classmethod
    def of(cls, name: str) -> PluginNames:
        if not NAME.match(name):
            raise ValueError(
                f"{name!r} is not a plugin name: use lower-case letters and digits, words "
                "joined by '-' or '_', starting with a letter (e.g. cold-chain)"
            )
        snake = name.replace("-", "_")
        return cls(
            name=name,
            distribution=f"scanserve-{name.replace('_', '-')}",
            module=f"scanserve_{snake}",
        )


def files(names: PluginNames) -> dict[str, str]:
    """Relative path -> content of the new package."""
    n = names
    title = n.name.replace("-", " ").replace("_", " ")
    return {
        "pyproject.toml": f'''[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{n.distribution}"
version = "0.1.0"
description = "A scanserve plugin: {title}."
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["scanserve"]

[project.optional-dependencies]
test = ["scanserve[testing]"]

# scanserve finds plugins in the `scanserve` entry-point group; the entry point's name
# ({n.name}) is the plugin's name in `scanserve plugins list` and SCANSERVE_DISABLED_PLUGINS.
[project.entry-points.scanserve]
{n.name} = "{n.module}"

[tool.setuptools]
py-modules = ["{n.module}"]

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-ra --strict-markers"
filterwarnings = ["error"]
''',
        f"{n.module}.py": f'''"""The {n.name} scanserve plugin: a lookup provider that knows one
product.

Replace PRODUCTS with your own source (a file, a database, an HTTP service with a timeout).
The hooks and types are documented in scanserve's docs/hooks.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scanserve import LookupProvider, ProductRecord, hookimpl

PRODUCTS = {{
    "{TEMPLATE_GTIN}": ProductRecord(
        gtin="{TEMPLATE_GTIN}",
        name="{title.title()} Sample Product",
        brand="{title.title()}",
        source="{n.name}",
    ),
}}


class {_class(n.name)}LookupProvider:
    """Finds products by GTIN-14. Local: it sends no GTIN outside the server."""

    name = "{n.name}-lookup"
    external = False  # True if lookup() sends the GTIN to another service

    def lookup(self, gtin: str) -> ProductRecord | None:
        return PRODUCTS.get(gtin)  # None: not known here; raise ProviderError: cannot tell


@hookimpl
def register_lookup_providers(register: Callable[[LookupProvider], None], settings: Any) -> None:
    register({_class(n.name)}LookupProvider())
''',
        "README.md": f"""# {n.distribution}

A [scanserve](https://pypi.org/project/scanserve/) plugin. It registers one lookup
provider, `{n.name}-lookup`, that knows one product (GTIN `{TEMPLATE_GTIN}`); replace
`PRODUCTS` in `{n.module}.py` with your own source.

Every command below runs in the environment scanserve is installed in: activate its
virtualenv first (`. /path/to/venv/bin/activate`), so that `python` is its Python. Write
`python -m pip`, not `pip`: a bare `pip` may be another Python's (the system's), which
cannot find scanserve (`No matching distribution found for scanserve`).

Install it beside scanserve, and check that scanserve finds it:

```sh
python -m pip install .
scanserve plugins list
```

Develop and test it (the tests use the fixtures of `scanserve.testing`):

```sh
python -m pip install -e '.[test]'
python -m pytest
```

With `SCANSERVE_QUEUE=redis`, lookups run in `scanserve worker`, not in the server: install
the plugin (and set its settings) where the workers run too.

Turn it off without uninstalling: `SCANSERVE_DISABLED_PLUGINS='["{n.name}"]'`.
""",
        "tests/conftest.py": """pytest_plugins = ["scanserve.testing"]
""",
        f"tests/test_{n.module}.py": f'''"""Tests for the {n.name} plugin, with the fixtures of
scanserve.testing."""

from __future__ import annotations

from typing import Any

import pytest

import {n.module}

BASE = "/scanner/api/v1"
KNOWN = "{TEMPLATE_GTIN}"


@pytest.fixture
def plugin(scanserve_plugins: list[Any]) -> None:
    # Plugins join before the app is built: request this fixture before scanserve_client.
    scanserve_plugins.append({n.module})


def scan(client: Any, api_key: Any, raw_value: str) -> dict[str, Any]:
    session = client.post(f"{{BASE}}/sessions", json={{}}, headers=api_key.headers)
    assert session.status_code == 201, session.text
    body = {{
        "session_id": session.json()["id"],
        "capture_type": "BARCODE",
        "raw_value": raw_value,
    }}
    capture = client.post(f"{{BASE}}/captures", json=body, headers=api_key.headers)
    assert capture.status_code == 201, capture.text
    return dict(capture.json())


def test_the_provider_finds_its_product(
    plugin: None, scanserve_client: Any, api_key: Any
) -> None:
    capture = scan(scanserve_client, api_key, KNOWN)
    assert capture["status"] == "COMPLETED", capture
    assert capture["product_name"] == {n.module}.PRODUCTS[KNOWN].name


def test_other_products_are_not_found(
    plugin: None, scanserve_client: Any, api_key: Any
) -> None:
    capture = scan(scanserve_client, api_key, "4006381333931")
    assert capture["status"] == "NOT_FOUND", capture


@pytest.mark.scanserve_settings(load_entrypoint_plugins=True)
def test_scanserve_loads_the_installed_plugin(scanserve_client: Any, api_key: Any) -> None:
    # Through the `scanserve` entry point, as a server finds it (needs `pip install`).
    providers = scanserve_client.get(f"{{BASE}}/plugins", headers=api_key.headers).json()
    mine = [p for p in providers["providers"] if p["plugin"] == "{n.name}"]
    assert [(p["kind"], p["name"]) for p in mine] == [("lookup", "{n.name}-lookup")]
    assert scan(scanserve_client, api_key, KNOWN)["status"] == "COMPLETED"
''',
    }


def _class(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", name))


def write(name: str, parent: Path) -> Path:
    """Write the package for plugin ``name`` into ``parent/<distribution>``; returns it.
    ValueError for a bad name, FileExistsError when the folder exists and is not empty."""
    names = PluginNames.of(name)
    root = parent / names.distribution
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} exists and is not empty")
    for relative, content in files(names).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root
