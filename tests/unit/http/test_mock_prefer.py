"""What the mock reads from ``Prefer`` (RFC 7240) and from Prism's query parameters."""

from __future__ import annotations

import pytest

from scanserve.http.mock import Preferences, preferences


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ([], b"", Preferences()),
        ([(b"Prefer", b"code=404")], b"", Preferences(code="404")),
        (
            [(b"prefer", b'code=400, example="noProduct"; x=1, dynamic=TRUE')],
            b"",
            Preferences(code="400", example="noProduct", dynamic=True),
        ),
        # several headers; the first of a preference wins
        (
            [(b"Prefer", b"example=a"), (b"PREFER", b"example=b, dynamic=false")],
            b"",
            Preferences(example="a", dynamic=False),
        ),
        # other preferences (RFC 7240's own) are ignored
        ([(b"Prefer", b"return=minimal, respond-async")], b"", Preferences()),
        ([(b"Accept", b"code=404")], b"", Preferences()),
        # Prism's query parameters, under the header
        ([], b"page=2&__code=422&__dynamic=true", Preferences(code="422", dynamic=True)),
        ([(b"Prefer", b"code=401")], b"__code=422&__example=x", Preferences("401", "x")),
    ],
)
def test_preferences(
    headers: list[tuple[bytes, bytes]], query: bytes, expected: Preferences
) -> None:
    assert preferences(headers, query) == expected
