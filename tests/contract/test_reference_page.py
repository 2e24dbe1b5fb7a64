"""The API reference page in a real browser (headless Chromium): Swagger UI 5 renders the
contract the server serves, and its Authorize dialog offers every credential the spec
declares (API key header, bearer token, session cookie, and the CSRF token header).

The app runs on a real uvicorn server on loopback. Chromium is a Debian package (``.ci/run``
installs it); without it these tests skip, since the reference page is a convenience and
everything it calls is tested elsewhere.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from loopback import LoopbackServer, Route

BASE = "/scanner/api/v1"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (.ci/run installs it)")


@pytest.fixture
def live_url(scanserve_app: Any) -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(
            scanserve_app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]  # port 0: the one the kernel gave
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


def rendered_dom(url: str) -> str:
    """The page's DOM after its scripts ran (Chromium's virtual time lets timers finish)."""
    assert CHROMIUM is not None
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


def test_reference_page_renders_the_served_contract(live_url):
    dom = rendered_dom(f"{live_url}{BASE}/ui/")
    assert "Scanner API" in dom
    assert "btn authorize" in dom  # the Authorize button: the spec has security schemes
    assert "/auth/session" in dom and "/sessions/{id}" in dom
    assert "errors-wrapper" not in dom  # no "could not render" box


HARNESS = """<!DOCTYPE html><html><head><meta charset="UTF-8">
<link rel="stylesheet" href="{ui}/swagger-ui.css"></head><body>
<div id="swagger-ui"></div>
<script src="{ui}/swagger-ui-bundle.js"></script>
<script>
const ui = SwaggerUIBundle({{
  spec: {spec}, dom_id: "#swagger-ui",
  onComplete: function () {{
    ui.authActions.showDefinitions(ui.authSelectors.definitionsToAuthorize());
    setTimeout(function () {{
      const out = document.createElement("pre");
      out.id = "schemes";
      out.textContent = JSON.stringify(Array.from(
        document.querySelectorAll(".auth-container")).map(function (box) {{
          return {{title: box.querySelector("h4").textContent.replace(/\\s+/g, " ").trim(),
                   text: box.textContent.replace(/\\s+/g, " "),
                   inputs: box.querySelectorAll("input").length}};
        }}));
      document.body.prepend(out);
    }}, 1000);
  }}
}});
</script></body></html>"""


def test_authorize_dialog_offers_every_credential(live_url, scanserve_client):
    # The vendored Swagger UI bundle from the live server, given the contract the server
    # serves, with the Authorize dialog opened as its button does.
    spec = scanserve_client.get(f"{BASE}/openapi.json").json()
    page = HARNESS.format(ui=f"{live_url}{BASE}/ui", spec=json.dumps(spec))
    with LoopbackServer({"/": Route(200, {"Content-Type": "text/html"}, page.encode())}) as srv:
        dom = rendered_dom(srv.url("/"))
    found = re.search(r'<pre id="schemes">(.*?)</pre>', dom, re.S)
    assert found, dom[:2000]
    boxes = {b["title"]: b for b in json.loads(html.unescape(found.group(1)))}
    assert sorted(boxes) == [
        "ApiKeyAuth (apiKey)",
        "BearerAuth (http, Bearer)",
        "CookieAuth (apiKey)",
        "CsrfToken (apiKey)",
        "PublishableKeyAuth (apiKey)",
    ]
    assert all(box["inputs"] == 1 for box in boxes.values())  # a value field each
    for scheme in ("ApiKeyAuth (apiKey)", "PublishableKeyAuth (apiKey)"):
        assert "Name: X-API-Key" in boxes[scheme]["text"]
        assert "In: header" in boxes[scheme]["text"]
    assert "Name: sessionid" in boxes["CookieAuth (apiKey)"]["text"]
    assert "In: cookie" in boxes["CookieAuth (apiKey)"]["text"]
    assert "Name: X-CSRF-Token" in boxes["CsrfToken (apiKey)"]["text"]
    assert "personal access token" in boxes["BearerAuth (http, Bearer)"]["text"]


FRAMING_PAGE = """<!DOCTYPE html><html><body>
<iframe name="reference" src="{live}/ui/"></iframe>
<iframe name="probe" src="{live}/health/live"></iframe>
</body></html>"""


def test_no_other_site_may_frame_the_reference_page(live_url, scanserve_client):
    """The reference page runs requests with the visitor's session: another site framing it
    could steer clicks onto "Execute". Chromium refuses to show it in a frame of another
    origin, while a page of the same server sent without those headers (the liveness
    probe) is shown there: the browser's own verdict, not only the headers."""
    page = scanserve_client.get(f"{BASE}/ui/")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert page.headers["x-content-type-options"] == "nosniff"
    bundle = scanserve_client.get(f"{BASE}/ui/swagger-ui-bundle.js")
    assert bundle.headers["x-content-type-options"] == "nosniff"
    assert "x-frame-options" not in scanserve_client.get(f"{BASE}/health/live").headers

    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright")
    framing = FRAMING_PAGE.format(live=f"{live_url}{BASE}")
    route = Route(200, {"Content-Type": "text/html"}, framing.encode())
    with LoopbackServer({"/": route}) as other_site, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            tab = browser.new_page()
            tab.goto(other_site.url("/"), wait_until="load")
            frames = {frame.name: frame for frame in tab.frames}
            assert frames["probe"].url == f"{live_url}{BASE}/health/live"
            assert '"status"' in frames["probe"].content()
            shown = frames["reference"]
            assert shown.url.startswith("chrome-error://"), shown.url
            assert "Scanner API" not in shown.content()
        finally:
            browser.close()
