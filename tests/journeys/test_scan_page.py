"""The scanning page ``/scan/`` in a real browser, on a real ``scanserve serve --demo``.

Headless Chromium (Debian ``chromium``, driven by Playwright) gets a fake camera that plays
a video this test makes from rendered barcodes: an EAN-13, a GS1 DataMatrix with an expiry
date in the past, and a GS1 Digital Link QR code with one far ahead. Chromium on Linux has no
``BarcodeDetector``, so the page decodes them with its vendored ZXing WebAssembly (two tests
give the page a stand-in detector, for the browsers that have one). Shown: the
codes decoded from the camera, their captures created and completed with the demo catalog's
product names, the freshness chip expired, in the warning window and fresh, and re-tinted
from an organisation's rule. A screenshot of each state is kept in the folder named by
``SCANSERVE_TEST_ARTIFACTS`` (else a pytest temporary folder; the test prints it). A
console error or an uncaught exception on the page fails the test.

Without Chromium or Playwright these tests skip (``SCANSERVE_TEST_REQUIRE_ALL`` turns that into
a failure, as in CI).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import cli_fork
import httpx
import pytest
from cli_runner import run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (.ci/run installs it)")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="needs playwright (pip install -e '.[test]')"
)

WIDTH, HEIGHT = 640, 480
COLA = ("5000112637922", "Cola Classic 330 ml")
MILK = ("09506000134352", "Organic Whole Milk 1 L")  # GPC brick 10000025 in the demo catalog
SPREAD = ("03017620422003", "Hazelnut Cocoa Spread 400 g")
LONG = 60_000  # ms: two cores shared by many test processes


def _yymmdd(days: int) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).strftime("%y%m%d")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    named = os.environ.get("SCANSERVE_TEST_ARTIFACTS")
    folder = (
        Path(named) / "scan-page" if named else tmp_path_factory.mktemp("scan-page-screenshots")
    )
    folder.mkdir(parents=True, exist_ok=True)
    print(f"scan page screenshots: {folder}")
    return folder


# --- the fake camera's video ------------------------------------------------------------------


def _framed(code: Any) -> Any:
    """A barcode image, scaled to fit and centred on a white 640x480 frame."""
    from PIL import Image

    code = code.convert("L")
    scale = min((WIDTH - 80) / code.width, (HEIGHT - 80) / code.height, 8)
    code = code.resize((int(code.width * scale), int(code.height * scale)), Image.NEAREST)
    frame = Image.new("L", (WIDTH, HEIGHT), 255)
    frame.paste(code, ((WIDTH - code.width) // 2, (HEIGHT - code.height) // 2))
    return frame


def _zxing_image(text: str, barcode_format: Any, **options: Any) -> Any:
    import zxingcpp
    from PIL import Image

    pixels = memoryview(
        zxingcpp.write_barcode_to_image(
            zxingcpp.create_barcode(text, barcode_format, **options), scale=1
        )
    )
    rows, cols = pixels.shape
    return Image.frombuffer("L", (cols, rows), pixels.tobytes(), "raw", "L", 0, 1)


def _qr_image(text: str) -> Any:
    import segno
    from PIL import Image

    out = BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=1, border=4)
    return Image.open(BytesIO(out.getvalue()))


def write_y4m(path: Path, frames: list[Any], repeat: int, fps: int = 5) -> None:
    """A YUV4MPEG2 video (what Chromium's fake camera plays, looping): each image for
    ``repeat`` frames, grey (chroma at 128)."""
    chroma = bytes([128]) * (WIDTH // 2 * HEIGHT // 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            luma = frame.tobytes()
            for _ in range(repeat):
                out.write(b"FRAME\n" + luma + chroma + chroma)


@pytest.fixture(scope="module")
def camera_codes(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> dict[str, Any]:
    import zxingcpp

    codes = {
        "ean": COLA[0],
        "datamatrix": f"(01){MILK[0]}(17){_yymmdd(-3)}",
        "link": f"https://id.gs1.org/01/{SPREAD[0]}?17={_yymmdd(400)}",
    }
    images = [
        _framed(_zxing_image(codes["ean"], zxingcpp.BarcodeFormat.EAN13)),
        _framed(_zxing_image(codes["datamatrix"], zxingcpp.BarcodeFormat.DataMatrix, gs1=True)),
        _framed(_qr_image(codes["link"])),
    ]
    for image, name in zip(images, ("ean13", "gs1-datamatrix", "digital-link-qr"), strict=True):
        image.save(artifacts / f"camera-{name}.png")
    # each frame reads back as the code it was made from (the page puts AI 01 first)
    assert [zxingcpp.read_barcodes(image)[0].text for image in images] == list(codes.values())
    video = tmp_path_factory.mktemp("camera") / "codes.y4m"
    write_y4m(video, images, repeat=10)  # 2 s each at 5 fps, looping
    return {"video": video, **codes}


# --- the server and the browser ---------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``scanserve serve --demo --port 0``; its data directory and the /scan/ address it
    printed."""
    folder = tmp_path_factory.mktemp("demo")
    data_dir = folder / "data"
    env = {
        **os.environ,
        "SCANSERVE_DATA_DIR": str(data_dir),
        "SCANSERVE_LOAD_ENTRYPOINT_PLUGINS": "false",
        # the Digital Link's resolver is on the internet: fail fast without one
        "SCANSERVE_QR_TIMEOUT_SECONDS": "2",
        # the page's requests (every frame's scan polls) within one test's minutes
        "SCANSERVE_ANONYMOUS_RATE_LIMIT_PER_MINUTE": "1000",
        "SCANSERVE_PUBLISHABLE_RATE_LIMIT_PER_MINUTE": "1000",
    }
    stdout = folder / "stdout.txt"
    with (
        stdout.open("w") as out,
        (folder / "stderr.txt").open("w") as err,
        cli_fork.Popen(
            [*cli_fork.COMMAND, "serve", "--demo", "--port", "0"],
            stdout=out,
            stderr=err,
            env=env,
        ) as proc,
    ):
        try:
            deadline = time.monotonic() + 60
            while not (found := re.search(r"^Scan page: (\S+)$", stdout.read_text(), re.M)):
                assert proc.poll() is None, (folder / "stderr.txt").read_text()
                assert time.monotonic() < deadline, stdout.read_text()
                time.sleep(0.05)
            page = found.group(1)
            assert page.endswith("/scan/")
            while True:  # the banner comes just before the server listens
                try:
                    if httpx.get(page, timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the scanning page did not answer"
                time.sleep(0.05)
            yield {"page": page, "data_dir": data_dir, "stdout": stdout}
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(camera_codes: dict[str, Any]) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={camera_codes['video']}",
            ],
        )
        yield launched
        launched.close()


ANNOUNCEMENTS = """
window.announced = [];
document.addEventListener("DOMContentLoaded", () => {
  const region = document.getElementById("status");
  new MutationObserver(() => window.announced.push(region.textContent)).observe(
    region, {childList: true, characterData: true, subtree: true});
});
"""


class Page:
    """A fresh browser context at 360 px wide on the scanning page, its console watched."""

    def __init__(self, browser: Any, url: str, artifacts: Path, *scripts: str) -> None:
        self.context = browser.new_context(
            viewport={"width": 360, "height": 900}, permissions=["camera"]
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(LONG)
        self.problems: list[str] = []
        self.page.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
            ),
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))
        # every text the live region is given, in order: what a screen reader announces
        self.page.add_init_script(ANNOUNCEMENTS)
        for script in scripts:  # before the page's own
            self.page.add_init_script(script)
        self.requested: list[str] = []
        self.page.on("request", lambda r: self.requested.append(r.url))
        self.artifacts = artifacts
        self.page.goto(url)

    def announced(self) -> list[str]:
        return self.page.evaluate("window.announced")

    def item(self, code: str) -> Any:
        return self.page.locator(f'#scans li[data-code="{code}"]')

    def finished(self, code: str, state: str = "COMPLETED") -> Any:
        """The list item of ``code`` once its capture is ``state``; failing, what the page
        showed instead."""
        try:
            self.page.wait_for_function(
                "([code, state]) => [...document.querySelectorAll('#scans li')].some("
                "(li) => li.dataset.code === code && li.dataset.state === state)",
                arg=[code, state],
            )
        except sync_api.TimeoutError:
            shown = self.page.locator("main").inner_text()
            pytest.fail(f"{code} did not reach {state}; the page shows:\n{shown}")
        return self.item(code)

    def type_code(self, code: str) -> None:
        field = self.page.locator("#manual-code")
        field.focus()
        self.page.keyboard.type(code)
        self.page.keyboard.press("Enter")  # the form submits from the keyboard

    def shot(self, name: str, locator: Any = None, **options: Any) -> Path:
        path = self.artifacts / f"{name}.png"
        (locator or self.page).screenshot(path=str(path), **options)
        return path

    def close(self) -> None:
        # the page fits 360 px: no box reaches past it, no text runs out of its box
        wide = self.page.evaluate(
            "[...document.querySelectorAll('body *')].filter((e) =>"
            " e.getBoundingClientRect().right > 360 || (getComputedStyle(e).display === 'block'"
            " && e.scrollWidth > e.clientWidth + 1)).map((e) => e.tagName + '#' + e.id)"
        )
        assert wide == []
        self.context.close()
        assert self.problems == []


@pytest.fixture
def page(browser: Any, demo: dict[str, Any], artifacts: Path) -> Iterator[Page]:
    opened = Page(browser, demo["page"], artifacts)
    yield opened
    opened.close()


def chip_of(item: Any) -> dict[str, str]:
    chip = item.locator(".chip")
    return {
        "level": chip.get_attribute("data-level") or "",
        "source": chip.get_attribute("data-source") or "",
        "text": chip.inner_text(),
        "colour": chip.evaluate("e => getComputedStyle(e).backgroundColor"),
    }


# Chrome on Android and macOS has a BarcodeDetector of its own; Chromium on Linux has none, so
# these stand in for it (what it reads in a frame is the browser's business; what the page
# does with it is the test's). Each reports one code in every frame of the video it is given.
_DETECTOR = """
window.detected = [];
window.BarcodeDetector = class {
  static async getSupportedFormats() { return %s; }
  constructor(options) { window.detectorFormats = options.formats; }
  async detect(source) {
    window.detected.push(source.tagName + ":" + source.videoWidth);
    return [{rawValue: "%s", format: "ean_13"}];
  }
};
"""
EVERY_FORMAT = (
    '["aztec", "code_128", "data_matrix", "ean_13", "ean_8", "qr_code", "upc_a", "upc_e"]'
)
NO_DATAMATRIX = '["ean_13", "ean_8", "qr_code", "upc_a", "upc_e"]'


def test_a_browsers_own_barcode_detector_reads_the_camera_and_zxing_is_not_loaded(
    browser, demo, artifacts
):
    opened = Page(browser, demo["page"], artifacts, _DETECTOR % (EVERY_FORMAT, COLA[0]))
    try:
        opened.page.locator("#camera-start").click()
        item = opened.finished(COLA[0])
        assert opened.page.locator("#decoder").inner_text() == (
            "Decoder: the browser's own BarcodeDetector."
        )
        assert item.locator(".format").inner_text() == "(EAN-13, camera)"
        assert item.locator(".product").inner_text() == COLA[1]
        # asked for the six formats the page reads, and given the camera's video frames
        assert sorted(opened.page.evaluate("window.detectorFormats")) == [
            *("data_matrix", "ean_13", "ean_8", "qr_code", "upc_a", "upc_e")
        ]
        opened.page.wait_for_function("() => window.detected.length >= 3")
        assert set(opened.page.evaluate("window.detected")) == {f"VIDEO:{WIDTH}"}
        # the code in every frame is one capture, and the WebAssembly decoder never came
        assert opened.page.locator("#scans li").count() == 1
        assert not [url for url in opened.requested if "/zxing/" in url]
        opened.page.locator("#camera-stop").click()
    finally:
        opened.close()


def test_a_detector_that_cannot_read_every_format_gives_way_to_zxing(browser, demo, artifacts):
    """A GS1 DataMatrix carries expiry dates: a detector without it would miss them."""
    opened = Page(browser, demo["page"], artifacts, _DETECTOR % (NO_DATAMATRIX, COLA[0]))
    try:
        opened.page.locator("#camera-start").click()
        opened.page.wait_for_function(
            "() => document.getElementById('decoder').textContent.includes('ZXing WebAssembly')"
        )
        assert opened.page.evaluate("window.detected") == []
        assert [url for url in opened.requested if url.endswith("/zxing/zxing-reader.js")]
        opened.page.locator("#camera-stop").click()
    finally:
        opened.close()


COLOURS = {  # scan.css
    "fresh": "rgb(220, 252, 231)",
    "warning": "rgb(254, 243, 199)",
    "expired": "rgb(254, 226, 226)",
}


# --- the tests ----------------------------------------------------------------------------------


def test_the_demo_prints_the_scan_page_and_it_uses_a_publishable_key(demo, page):
    printed = demo["stdout"].read_text()
    assert f"Scan page: {demo['page']}" in printed
    key = page.page.locator('meta[name="scanserve-key"]').get_attribute("content")
    assert key.startswith("cpk_") and key not in printed  # only the csb key is printed
    kept = demo["data_dir"] / "scan-page-key"
    assert kept.read_text().strip() == key and kept.stat().st_mode & 0o777 == 0o600
    assert page.page.title() == "Scan a product · scanserve"
    status = page.page.locator("#status")
    assert status.get_attribute("role") == "status"
    assert status.get_attribute("aria-live") == "polite"
    # what assistive technology sees: every control named, the live region a status
    tree = page.page.locator("body").aria_snapshot()
    for line in (
        'heading "Scan a product" [level=1]',
        'button "Start camera"',
        'textbox "GTIN, GS1 element string or Digital Link"',
        'button "Look up"',
        "status: Nothing scanned yet.",
        'list "Scanned codes, newest first"',
    ):
        assert line in tree, (line, tree)
    page.shot("page-before-scanning", full_page=True)


def test_the_camera_decodes_each_code_into_a_completed_capture(page, camera_codes):
    # Keyboard only: Tab reaches the camera button, Enter presses it.
    start = page.page.locator("#camera-start")
    for _ in range(10):
        page.page.keyboard.press("Tab")
        if page.page.evaluate("document.activeElement.id") == "camera-start":
            break
    assert page.page.evaluate("document.activeElement.id") == "camera-start"
    outline = start.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline not in ("", "none")  # focus is visible
    page.page.keyboard.press("Enter")

    ean = page.finished(camera_codes["ean"])
    assert "ZXing WebAssembly 3.1.8" in page.page.locator("#decoder").inner_text()
    assert page.page.locator("#camera-state").inner_text().startswith("The camera is on")
    assert ean.locator(".format").inner_text() == "(EAN13, camera)"
    assert ean.locator(".product").inner_text() == COLA[1]
    assert ean.locator(".chip").is_hidden()  # no expiry date, no chip
    page.shot("camera-ean13-completed", ean)

    matrix = page.finished(camera_codes["datamatrix"])
    assert matrix.locator(".format").inner_text() == "(DataMatrix, camera)"
    assert matrix.locator(".product").inner_text() == MILK[1]
    chip = chip_of(matrix)
    assert chip["level"] == "expired" and chip["colour"] == COLOURS["expired"]
    assert "expired 3 days ago" in chip["text"] and chip["source"] == "global-default"
    page.shot("chip-expired", matrix)

    link = page.finished(camera_codes["link"])
    assert link.locator(".format").inner_text() == "(QRCode, camera)"
    assert link.locator(".product").inner_text() == SPREAD[1]
    chip = chip_of(link)
    assert chip["level"] == "fresh" and chip["colour"] == COLOURS["fresh"]
    assert "expires in 400 days" in chip["text"]
    page.shot("chip-fresh", link)

    # each code held before the camera is one capture, not one per frame
    codes = page.page.eval_on_selector_all("#scans li", "lis => lis.map(li => li.dataset.code)")
    assert sorted(codes) == sorted(camera_codes[k] for k in ("ean", "datamatrix", "link"))
    page.shot("camera-three-codes", page.page.locator("section", has=page.page.locator("#scans")))
    page.page.locator("#camera-stop").press("Enter")
    assert page.page.locator("#camera-state").inner_text() == "The camera is off."


def test_a_typed_code_in_the_warning_window(page):
    code = f"(01){MILK[0]}(17){_yymmdd(2)}"
    page.type_code(code)
    item = page.finished(code)
    assert item.locator(".format").inner_text() == "(typed)"
    assert item.locator(".product").inner_text() == MILK[1]
    chip = chip_of(item)
    # the demo milk's GPC brick: warning below 3 days, expired below 1 (the server's default)
    assert chip["level"] == "warning" and chip["colour"] == COLOURS["warning"]
    assert chip["source"] == "global-default" and "expires in 2 days" in chip["text"]
    assert "Warning below 3 days, expired below 1 days" in chip["text"]
    # each step announced in the live region: the scan, the chip, the outcome
    said = page.announced()
    assert f"Scanned {code}; looking it up." in said
    assert f"{code}: warning, expires in 2 days (thresholds from global-default)." in said
    assert f"{code}: {MILK[1]}." in said
    page.shot("chip-warning", item)

    unknown = "4000000000006"  # a valid GTIN the catalog does not hold
    page.type_code(unknown)
    missing = page.finished(unknown, "NOT_FOUND")
    reason = f"No product with GTIN 0{unknown} is known."
    assert missing.locator(".reason").inner_text() == reason
    assert f"{unknown}: not found. {reason}" in page.announced()
    page.shot("typed-not-found", missing)


def test_an_organisation_rule_retints_the_chip(page, demo):
    data_dir = demo["data_dir"]
    run(
        data_dir,
        "freshness",
        "set",
        "--org",
        "Demo Shop",
        "--scope",
        "brick",
        "--code",
        "10000025",
        "--warning-days",
        "30",
        "--critical-days",
        "10",
        "--label",
        "Milk (store rule)",
    )
    held: list[Any] = []

    def hold(route: Any) -> None:  # a Python function: Playwright inspects its handlers
        held.append(route)

    page.page.route("**/freshness-thresholds?*", hold)
    try:
        code = f"(01){MILK[0]}(17){_yymmdd(20)}"
        page.type_code(code)
        item = page.item(code)
        page.page.wait_for_function(
            "() => document.querySelector('#scans li .chip:not([hidden])')"
        )
        first = chip_of(item)
        # coloured at once with the page's defaults (warning below 7 days): fresh
        assert first["level"] == "fresh" and first["source"] == "page-default"
        assert "this page's built-in defaults" in first["text"]
        page.shot("chip-retint-1-page-defaults", item)
        deadline = time.monotonic() + 30
        while not held:
            assert time.monotonic() < deadline, "the page did not ask for the thresholds"
            page.page.wait_for_timeout(50)  # lets Playwright deliver the held request
        held[0].continue_()
        page.page.wait_for_function(
            "() => document.querySelector('#scans li .chip').dataset.source === 'org-override'"
        )
        second = chip_of(item)
        assert second["level"] == "warning" and second["colour"] == COLOURS["warning"]
        assert "Milk (store rule)" in second["text"] and "source org-override" in second["text"]
        assert "Warning below 30 days, expired below 10 days" in second["text"]
        page.finished(code)
        assert item.locator(".product").inner_text() == MILK[1]
        page.shot("chip-retint-2-organisation-rule", item)
    finally:
        page.page.unroute("**/freshness-thresholds?*")
        run(
            data_dir,
            "freshness",
            "remove",
            "--org",
            "Demo Shop",
            "--scope",
            "brick",
            "--code",
            "10000025",
        )


def test_typed_codes_in_each_gs1_form_get_their_expiry(page):
    # The page reads AI 17 from each form a code may come in, and sends element strings
    # bracketed with the GTIN first, whatever form they were typed or decoded in.
    soon = dt.date.today() + dt.timedelta(days=40)
    month_end = (soon.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    forms = {
        # digits only, no brackets and no separator (AI 17 after the GTIN)
        f"01{MILK[0]}17{soon:%y%m%d}": (f"(01){MILK[0]}(17){soon:%y%m%d}", 40),
        # the AIs in another order, day 00: the month's last day
        f"(17){soon:%y%m}00(01){MILK[0]}": (
            f"(01){MILK[0]}(17){soon:%y%m}00",
            (month_end - dt.date.today()).days,
        ),
        # a Digital Link with a lot in its path and the expiry by its short name
        f"https://id.gs1.org/01/{MILK[0]}/10/LOT7?exp={soon:%y%m%d}": (
            f"https://id.gs1.org/01/{MILK[0]}/10/LOT7?exp={soon:%y%m%d}",
            40,
        ),
    }
    for typed, (sent, days) in forms.items():
        page.type_code(typed)
        item = page.item(sent)
        item.locator(".chip").wait_for()
        page.page.wait_for_function(
            "(code) => [...document.querySelectorAll('#scans li')].some((li) =>"
            " li.dataset.code === code && li.querySelector('.chip').dataset.source"
            " === 'global-default')",
            arg=sent,
        )
        chip = chip_of(item)
        assert f"expires in {days} days" in chip["text"], (typed, chip)
        assert chip["level"] == "fresh"
    for _, (sent, _days) in forms.items():
        assert page.finished(sent).locator(".product").inner_text() == MILK[1]
