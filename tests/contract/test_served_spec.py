"""The contract as served: /openapi.json is the YAML (3.1.0, same meaning), and the Swagger
UI page is the vendored Swagger UI 5, which can render 3.1 documents."""

from __future__ import annotations

from importlib.resources import files

import yaml

BASE = "/scanner/api/v1"


def test_openapi_json_is_the_yaml(scanserve_client):
    served = scanserve_client.get(f"{BASE}/openapi.json")
    assert served.status_code == 200
    document = served.json()
    source = yaml.load(
        (files("scanserve.spec") / "openapi.yaml").read_text(), Loader=yaml.CSafeLoader
    )
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": BASE}]
    document.pop("servers"), source.pop("servers")
    assert document == source


def test_swagger_ui_5_is_served(scanserve_client):
    page = scanserve_client.get(f"{BASE}/ui/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "swagger-ui-bundle.js" in page.text and "openapi.json" in page.text
    bundle = scanserve_client.get(f"{BASE}/ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and b"5.35.0" in bundle.content
