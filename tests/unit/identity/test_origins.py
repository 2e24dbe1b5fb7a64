"""A publishable key's allowed origins are kept as browsers send ``Origin``: scheme and host
in lower case, an internationalised host in its ASCII form, the default port left out,
nothing after the host and port."""

from __future__ import annotations

import pytest

from scanserve.identity.keys import MAX_ORIGIN_LENGTH, normalize_origin


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://shop.example", "https://shop.example"),
        ("HTTPS://Shop.Example", "https://shop.example"),
        ("https://shop.example:443", "https://shop.example"),
        ("http://shop.example:80/", "http://shop.example"),
        ("http://shop.example:8080", "http://shop.example:8080"),
        ("https://shop.example:80", "https://shop.example:80"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("  https://shop.example  ", "https://shop.example"),
        # an internationalised host as browsers send it: its ASCII (punycode) form
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("https://BÜCHER.example:8443/", "https://xn--bcher-kva.example:8443"),
        ("http://münchen.de:80", "http://xn--mnchen-3ya.de"),
        ("https://xn--bcher-kva.example", "https://xn--bcher-kva.example"),
    ],
)
def test_origins_are_kept_as_browsers_send_them(given, kept):
    assert normalize_origin(given) == kept


@pytest.mark.parametrize(
    "given",
    [
        "shop.example",
        "null",
        "",
        "ftp://shop.example",
        "file:///etc",
        "https://shop.example/scan/",
        "https://shop.example?x=1",
        "https://shop.example?",
        "https://shop.example#top",
        "https://user:pw@shop.example",
        "https://shop.example:99999",
        "https://",
        "https://shop_example.test",
        "https://" + "a" * MAX_ORIGIN_LENGTH + ".example",
        "https://bü cher.example",
        "https://\u2603\u2603.example",  # symbols: IDNA 2008 has no ASCII form for them
    ],
)
def test_anything_else_is_refused(given):
    with pytest.raises(ValueError):
        normalize_origin(given)
