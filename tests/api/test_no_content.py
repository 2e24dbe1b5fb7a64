"""Every ``204 No Content`` of the contract answers without a ``Content-Type`` (issue 15: a
successful ``POST /uploads`` said ``application/problem+json``), on the fast path and on the
full Connexion stack. Through the real app on a real SQLite file."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from scanserve.app import create_app
from scanserve.settings import Settings
from scanserve.testing import issue_key

BASE = "/scanner/api/v1"
SPEC = Path(__file__).resolve().parents[2] / "spec" / "openapi.yaml"


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(out, format="JPEG")
    return out.getvalue()


def _receive_upload(client: Any) -> Any:
    key = issue_key()
    session = client.post(f"{BASE}/sessions", json={}, headers=key.headers).json()["id"]
    target = client.get(
        f"{BASE}/sessions/{session}/presigned-upload-url", headers=key.headers
    ).json()
    return client.post(
        target["upload_url"],
        data=target["upload_fields"],
        files={"file": ("photo.jpg", _jpeg(), "image/jpeg")},
    )


def _sign_out(client: Any) -> Any:
    key = issue_key()
    csrf = client.post(f"{BASE}/auth/session", headers=key.headers).json()["csrf_token"]
    return client.delete(f"{BASE}/auth/session", headers={"X-CSRF-Token": csrf})


# operationId -> a successful call of it, by a client that keeps cookies
NO_CONTENT_CALLS: dict[str, Callable[[Any], Any]] = {
    "receiveUpload": _receive_upload,
    "signOut": _sign_out,
}


def test_every_204_of_the_contract_is_called_here():
    spec = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    declared = {
        op["operationId"]
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "204" in op.get("responses", {})
    }
    assert declared == set(NO_CONTENT_CALLS)


@pytest.fixture(params=[True, False], ids=["fast-path", "full-stack"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    settings = Settings(
        data_dir=tmp_path / "data",
        queue="immediate",
        validate_responses=True,
        load_entrypoint_plugins=False,
    )
    app = create_app(settings, fast_path=request.param)
    try:
        with app.test_client() as c:
            yield c
    finally:
        app.services.db.close()


@pytest.mark.parametrize("operation_id", sorted(NO_CONTENT_CALLS))
def test_a_204_has_no_content_type(client, operation_id):
    response = NO_CONTENT_CALLS[operation_id](client)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert "content-type" not in response.headers, dict(response.headers)
    assert "content-length" not in response.headers
    assert "ratelimit-limit" in response.headers  # the gateway's headers are still there
