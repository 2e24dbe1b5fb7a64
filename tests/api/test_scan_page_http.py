"""``/scan/``, the public scanning page, over HTTP: configured or not, its files, its
security headers, and what its script may call (what a browser does with it:
tests/journeys/test_scan_page.py)."""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser
from importlib.resources import files

import pytest

from scanserve.app import contract
from scanserve.http.scanpage import KEY_FILE
from scanserve.identity.keys import generate_key
from scanserve.settings import SettingsProblem, load_settings

CPK = generate_key("cpk")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if self.tags and self.tags[-1][0] == "script" and data.strip():
            self.inline_script = True


def _tags(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def _assert_page_headers(answer) -> None:
    csp = answer.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval'" not in csp.replace("wasm-unsafe-eval", "")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"


def test_without_a_key_the_page_says_it_is_not_configured(scanserve_client):
    answer = scanserve_client.get("/scan/")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert "The scanning page is not configured" in answer.text
    assert "scanserve scan-page --key" in answer.text and "SCANSERVE_SCAN_PAGE_KEY" in answer.text
    assert 'name="scanserve-key"' not in answer.text
    _assert_page_headers(answer)


@pytest.mark.scanserve_settings(scan_page_key=CPK)
def test_the_setting_puts_its_publishable_key_in_the_page(scanserve_client):
    answer = scanserve_client.get("/scan/")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    _assert_page_headers(answer)
    tags = _tags(answer.text)
    metas = {a["name"]: a["content"] for t, a in tags.tags if t == "meta" and "name" in a}
    assert metas["scanserve-key"] == CPK
    assert metas["scanserve-api"] == "/scanner/api/v1"
    # No inline script, style or handler: the CSP would block them.
    assert not tags.inline_script
    assert not any(t == "style" for t, _ in tags.tags)
    assert not any(k == "style" or k.startswith("on") for _, a in tags.tags for k in a)
    # Every file the page names is served, with its type and the same headers.
    named = [a.get("src") or a.get("href") for t, a in tags.tags if t in ("script", "link")]
    assert sorted(named) == ["favicon.svg", "scan.css", "scan.js"]
    for name, media_type in (
        ("scan.js", "text/javascript; charset=utf-8"),
        ("scan.css", "text/css; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
        ("zxing/zxing-reader.js", "text/javascript; charset=utf-8"),
        ("zxing/zxing_reader.wasm", "application/wasm"),
    ):
        asset = scanserve_client.get(f"/scan/{name}")
        assert asset.status_code == 200, name
        assert asset.headers["content-type"] == media_type
        _assert_page_headers(asset)
    wasm = scanserve_client.get("/scan/zxing/zxing_reader.wasm").content
    assert wasm.startswith(b"\0asm")
    # what the page's script loads is what is served
    script = scanserve_client.get("/scan/scan.js").text
    assert 'loadScript("zxing/zxing-reader.js")' in script and '"zxing/"' in script


def test_the_key_scanserve_scan_page_kept_is_read_at_each_request(
    scanserve_client, scanserve_settings
):
    assert scanserve_client.get("/scan/").status_code == 503
    (scanserve_settings.data_dir / KEY_FILE).write_text(CPK + "\n")
    page = scanserve_client.get("/scan/")
    assert page.status_code == 200 and f'content="{CPK}"' in page.text


def test_a_key_file_without_a_publishable_key_leaves_the_page_unconfigured(
    scanserve_client, scanserve_settings, caplog
):
    secret = generate_key("csb")
    (scanserve_settings.data_dir / KEY_FILE).write_text(secret + "\n")
    with caplog.at_level(logging.WARNING, logger="scanserve.scanpage"):
        page = scanserve_client.get("/scan/")
    assert page.status_code == 503 and secret not in page.text
    assert "holds no publishable key" in caplog.text and secret not in caplog.text


def test_only_a_publishable_key_is_a_setting_and_a_wrong_one_is_not_repeated():
    secret = generate_key("csb")
    with pytest.raises(SettingsProblem) as refused:
        load_settings(scan_page_key=secret)
    assert "SCANSERVE_SCAN_PAGE_KEY" in str(refused.value) and "cpk_" in str(refused.value)
    assert secret not in str(refused.value)
    assert load_settings(scan_page_key=CPK).scan_page_key == CPK


@pytest.mark.scanserve_settings(scan_page_key=CPK)
def test_paths_methods_and_revalidation(scanserve_client):
    moved = scanserve_client.get("/scan", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "/scan/"
    for missing in ("/scan/nothing.js", "/scan/zxing/README.md", "/scan/zxing/LICENSE-zxing-cpp"):
        answer = scanserve_client.get(missing)
        assert answer.status_code == 404, missing
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["error_code"] == "not_found"
    refused = scanserve_client.post("/scan/", content=b"x")
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"
    assert refused.json()["error_code"] == "method_not_allowed"
    first = scanserve_client.get("/scan/scan.js")
    again = scanserve_client.get("/scan/scan.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    changed = scanserve_client.get("/scan/scan.js", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200 and changed.content == first.content
    # gzipped for a client that takes it (the decoder's WebAssembly most of all), each
    # encoding with its own ETag
    wasm = "/scan/zxing/zxing_reader.wasm"
    plain = scanserve_client.get(wasm, headers={"Accept-Encoding": "identity"})
    packed = scanserve_client.get(wasm, headers={"Accept-Encoding": "br, gzip"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert plain.headers["vary"] == packed.headers["vary"] == "Accept-Encoding"
    assert packed.content == plain.content  # the client undid the gzip
    assert int(packed.headers["content-length"]) < len(plain.content) / 2
    assert plain.headers["etag"] != packed.headers["etag"]
    refused = scanserve_client.get(wasm, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in refused.headers
    again = scanserve_client.get(
        wasm, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["etag"]}
    )
    assert again.status_code == 304
    head = scanserve_client.head("/scan/")
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(scanserve_client.get("/scan/").content)


def test_the_script_calls_only_what_a_publishable_key_may():
    # The operations a cpk key may call (docs/authentication.md, the contract's publishable
    # scope): the page must keep working once keys are scoped.
    allowed = {
        ("POST", "/sessions"),
        ("POST", "/captures"),
        ("GET", "/sessions/{id}"),
        ("GET", "/sessions/{id}/status"),
        ("GET", "/captures/{id}"),
        ("GET", "/freshness-thresholds"),
    }
    script = (files("scanserve") / "scan_page" / "scan.js").read_text(encoding="utf-8")
    calls = set()
    for method, path in re.findall(r'api\("(GET|POST|PATCH|PUT|DELETE)", [`"]([^`"?]+)', script):
        calls.add((method, re.sub(r"\$\{[^}]+\}", "{id}", path)))
    assert calls == {c for c in allowed if c != ("GET", "/sessions/{id}")}, calls
    spec = contract()
    operations = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{id}", path)): op
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in ("get", "post")
    }
    assert calls <= set(operations)  # each is an operation of the contract
    # Where the contract declares the publishable scope (the security scheme publishable
    # keys are sent under), each call is in it.
    if "PublishableKeyAuth" in spec["components"]["securitySchemes"]:
        for call in calls:
            schemes = {name for req in operations[call].get("security", []) for name in req}
            assert "PublishableKeyAuth" in schemes, call
