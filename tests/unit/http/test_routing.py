"""The contract's one route table (scanserve.http.routing), the body replay helper
(scanserve.http.asgi_body), and handlers that fail loudly at start (scanserve.app)."""

from __future__ import annotations

import asyncio
import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import scanserve.http.handlers
from scanserve import app as app_module
from scanserve.app import HandlerProblem, contract, create_app, unimplemented_operations
from scanserve.http.asgi_body import replaying, whole_body
from scanserve.http.routing import RouteTable
from scanserve.settings import Settings

BASE = "/scanner/api/v1"
ID = "vytxeTZskVKR7C7WgdSP3d"


@pytest.fixture(scope="module")
def table() -> RouteTable:
    return RouteTable.from_spec(contract())


# -- the route table ---------------------------------------------------------------------


def test_every_operation_of_the_contract_has_one_route(table: RouteTable) -> None:
    spec = contract()
    operations = sorted(
        (method.upper(), template, op["operationId"])
        for template, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    )
    assert sorted((r.method, r.template, r.operation_id) for r in table.routes) == operations


def test_a_route_carries_what_its_operation_needs(table: RouteTable) -> None:
    found = table.match("GET", f"{BASE}/captures/{ID}")
    assert found.route is not None and found.match is not None and not found.refused
    assert found.route.operation_id == "getCapture"
    assert found.route.path_params(found.match) == {"id": ID}
    assert not found.route.media_types and not found.route.has_body
    upload = table.match("POST", f"{BASE}/captures/upload-image").route
    assert upload is not None and upload.operation_id == "uploadCaptureImage"
    assert "multipart/form-data" in upload.media_types
    assert table.match("GET", f"{BASE}/health/live").route.public_read  # type: ignore[union-attr]
    assert not table.match("GET", f"{BASE}/sessions/{ID}").route.public_read  # type: ignore[union-attr]
    assert "createSession" in table.operations_with_body()
    assert "getSession" not in table.operations_with_body()


def test_the_most_specific_path_decides_the_methods(table: RouteTable) -> None:
    # a literal segment wins over a parameter: these paths answer only their own methods
    for method in ("GET", "HEAD"):
        assert table.match(method, f"{BASE}/captures/upload-image").refused
    assert table.allowed_methods(f"{BASE}/captures/upload-image") == ["POST"]
    reorder = table.match("PATCH", f"{BASE}/sessions/{ID}/photos/reorder")
    assert reorder.refused
    # ... the gateway still learns which operation the method has on a path that fits
    assert reorder.route is not None and reorder.route.operation_id == "updatePhoto"
    assert table.allowed_methods(f"{BASE}/sessions/{ID}/photos/{ID}") == ["PATCH"]
    assert table.allowed_methods(f"{BASE}/sessions") == ["GET", "HEAD", "POST"]
    # a path that fits a less specific one only
    assert not table.match("GET", f"{BASE}/captures/upload-images").refused
    # HEAD is no route of its own; a method no path has is left to the router
    assert table.match("HEAD", f"{BASE}/captures/{ID}") == (None, None, False)
    assert table.match("PUT", f"{BASE}/captures/upload-image") == (None, None, False)


@pytest.mark.parametrize(
    "path",
    [
        f"{BASE}/plugins\n",  # Starlette's "$" would let a final newline through
        f"{BASE}/plugins/",
        "/plugins",
        f"{BASE}/sessions/a/b",
        f"{BASE}/openapi.json",
    ],
)
def test_a_path_that_fits_no_template_exactly_has_no_route(table: RouteTable, path: str) -> None:
    assert table.match("GET", path) == (None, None, False)
    assert table.allowed_methods(path) == []


def test_a_contract_the_router_would_read_otherwise_is_refused() -> None:
    """Connexion's router takes the contract's paths in their order: a more specific path
    listed after a less specific one with the same method would never be routed to."""
    spec = contract()
    spec["paths"] = {
        "/things/{id}": {"get": {"operationId": "getThing", "responses": {}}},
        "/things/mine": {"get": {"operationId": "getMyThings", "responses": {}}},
    }
    with pytest.raises(ValueError, match=r"lists /things/\{id\} before /things/mine"):
        RouteTable.from_spec(spec)
    spec["paths"] = dict(reversed(spec["paths"].items()))
    table = RouteTable.from_spec(spec)
    assert table.match("GET", f"{BASE}/things/mine").route.operation_id == "getMyThings"  # type: ignore[union-attr]
    assert table.match("GET", f"{BASE}/things/x").route.operation_id == "getThing"  # type: ignore[union-attr]


def test_integer_path_parameters_are_matched_and_converted_as_the_router_does() -> None:
    spec = contract()
    spec["paths"] = {
        "/things/{n}": {
            "parameters": [
                {"name": "n", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "get": {"operationId": "getThing", "responses": {}},
        }
    }
    table = RouteTable.from_spec(spec)
    found = table.match("GET", f"{BASE}/things/42")
    assert found.route is not None and found.match is not None
    assert found.route.path_params(found.match) == {"n": 42}
    assert table.match("GET", f"{BASE}/things/abc").route is None


def test_a_path_parameter_may_span_segments_as_the_router_lets_it() -> None:
    spec = contract()
    spec["paths"] = {
        # (where a parameter may span segments, the table takes any two paths to overlap)
        "/files": {"get": {"operationId": "listFiles", "responses": {}}},
        "/files/{rest}": {
            "parameters": [
                {
                    "name": "rest",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "format": "path"},
                }
            ],
            "get": {"operationId": "getFile", "responses": {}},
        },
    }
    table = RouteTable.from_spec(spec)
    found = table.match("GET", f"{BASE}/files/a/b/c")
    assert found.route is not None and found.match is not None
    assert found.route.path_params(found.match) == {"rest": "a/b/c"}
    assert table.match("GET", f"{BASE}/files").route.operation_id == "listFiles"  # type: ignore[union-attr]


def test_the_app_builds_one_table_for_the_gateway_the_405s_and_the_fast_path(
    tmp_path: Path,
) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data", load_entrypoint_plugins=False))
    try:
        _, stack = app.middleware._build_middleware_stack()
        tables = {
            id(m.routes)
            for m in stack
            if type(m).__name__ in ("GatewayMiddleware", "MostSpecificPath", "FastPath")
        }
        assert len(tables) == 1
    finally:
        app.services.db.close()


# -- the body replay -----------------------------------------------------------------------


def test_a_replay_gives_the_messages_read_then_receive_again() -> None:
    later = [{"type": "http.disconnect"}]

    async def receive() -> Any:
        return later.pop()

    async def run() -> list[Any]:
        replay = replaying(receive, [whole_body(b"abc")])
        return [await replay(), await replay()]

    assert asyncio.run(run()) == [
        {"type": "http.request", "body": b"abc", "more_body": False},
        {"type": "http.disconnect"},
    ]


def test_a_replay_raises_what_receiving_ended_with() -> None:
    async def receive() -> Any:
        raise AssertionError("not reached")

    async def run() -> None:
        first = {"type": "http.request", "body": b"a", "more_body": True}
        replay = replaying(receive, [first], TimeoutError("slow"))
        assert await replay() == first
        with pytest.raises(TimeoutError, match="slow"):
            await replay()

    asyncio.run(run())


# -- handlers fail loudly ------------------------------------------------------------------


def test_every_operation_has_a_handler() -> None:
    assert unimplemented_operations(contract()) == []


@pytest.fixture
def broken_handler_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A handler module, ``scanserve.http.handlers.broken``, whose import fails on a missing
    dependency (a ModuleNotFoundError, once taken for a module left out)."""
    folder = tmp_path / "handlers"
    folder.mkdir()
    (folder / "broken.py").write_text("import scanserve_no_such_dependency\n")
    monkeypatch.setattr(
        scanserve.http.handlers, "__path__", [*scanserve.http.handlers.__path__, str(folder)]
    )
    monkeypatch.setattr(app_module, "HANDLER_MODULES", (*app_module.HANDLER_MODULES, "broken"))
    return "scanserve.http.handlers.broken"


def test_a_handler_module_that_does_not_import_stops_create_app(
    broken_handler_module: str, tmp_path: Path
) -> None:
    with pytest.raises(HandlerProblem) as failed:
        create_app(Settings(data_dir=tmp_path / "data", load_entrypoint_plugins=False))
    assert str(failed.value) == (
        f"handler module {broken_handler_module} cannot be imported: ModuleNotFoundError: "
        "No module named 'scanserve_no_such_dependency'"
    )
    assert not (tmp_path / "data").exists()  # stopped before anything was opened


def test_a_handler_module_left_out_stops_create_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "HANDLER_MODULES", (*app_module.HANDLER_MODULES, "sesions"))
    with pytest.raises(
        HandlerProblem, match=r"^handler module scanserve\.http\.handlers\.sesions "
    ):
        create_app(Settings(data_dir=tmp_path / "data", load_entrypoint_plugins=False))


def test_an_operation_without_a_handler_stops_create_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = contract()
    extra = copy.deepcopy(spec["paths"]["/plugins"])
    extra["get"]["operationId"] = "listWidgets"
    spec["paths"]["/widgets"] = extra
    monkeypatch.setattr(app_module, "contract", lambda: copy.deepcopy(spec))
    with pytest.raises(HandlerProblem) as failed:
        create_app(Settings(data_dir=tmp_path / "data", load_entrypoint_plugins=False))
    message = str(failed.value)
    assert message.startswith("no handler for operation listWidgets (list_widgets) in the modules")
    assert "\n" not in message


def test_serve_with_a_broken_handler_module_exits_with_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "handlers"
    folder.mkdir()
    (folder / "broken.py").write_text("import scanserve_no_such_dependency\n")
    program = (
        "import scanserve.app, scanserve.http.handlers\n"
        f"scanserve.http.handlers.__path__.append({str(folder)!r})\n"
        "scanserve.app.HANDLER_MODULES += ('broken',)\n"
        "from scanserve.cli import main\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program, "serve", "--port", "0"],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "SCANSERVE_DATA_DIR": str(tmp_path / "data"),
            "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
        },
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert errors == [
        "Error: handler module scanserve.http.handlers.broken cannot be imported: "
        "ModuleNotFoundError: No module named 'scanserve_no_such_dependency'"
    ]
