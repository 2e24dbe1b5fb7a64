"""A stand-in for Open Food Facts on loopback, for the live fuzz run (``run.py``).

The demo catalog has no product images. This service knows the demo catalog's products
with a front image each, so the built-in ``lookup-data`` extractor proposes ``images`` for
them: a session with a capture of a catalog GTIN, once submitted, gets a ``PENDING``
proposal, and ``listCaptureProposals`` -> ``reviewProposal`` has something to review. Any
other code is unknown (HTTP 404, as OFF answers), so captures of other GTINs still end
``NOT_FOUND``.

Once an accepted ``images`` proposal is applied, the organisation's product has images and
is not proposed them again (the extractor never replaces a value): a run reviews proposals
until then, and on from sessions of the other catalog products.
"""

from __future__ import annotations

import contextlib
import csv
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import as_file, files


def demo_catalog() -> dict[str, str]:
    """The demo catalog's products, GTIN (as OFF keys it: EAN-13, no leading 0 of a GTIN-14)
    to name."""
    catalog = files("scanserve") / "demo" / "demo_catalog.csv"
    with as_file(catalog) as path, path.open(encoding="utf-8", newline="") as rows:
        return {row["gtin"].lstrip("0").zfill(13): row["name"] for row in csv.DictReader(rows)}


@contextlib.contextmanager
def lookup_service() -> Iterator[str]:
    """Serve the stand-in on a free loopback port; yields its base URL."""
    known = demo_catalog()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            code = path.removeprefix("/api/v2/product/").removesuffix(".json").zfill(13)
            if code in known:
                status, answer = 200, {"status": 1, "code": code, "product": self.product(code)}
            else:
                status, answer = 404, {"status": 0, "status_verbose": "product not found"}
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        @staticmethod
        def product(code: str) -> dict[str, str]:
            return {
                "code": code,
                "product_name": known[code],
                "image_front_url": f"https://images.example.com/{code}/front.jpg",
            }

        def log_message(self, format: str, *args: object) -> None:
            pass  # the server's own log says what it asked

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
