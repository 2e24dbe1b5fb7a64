"""The ``Cookie`` request header, read in linear time.

Python's ``http.cookies`` (``SimpleCookie``, and Starlette's ``Request.cookies``, which calls
its ``_unquote``) unquotes a quoted value in time quadratic in its backslashes
(CVE-2024-7592, fixed in CPython 3.12.6 / 3.11.10, not in the 3.11.7 this server may run on):
a 16 KB ``sessionid="\\\\…"`` cost half a second of CPU per request, before any credential
check. This reader never calls it:

- the header is split at ``;`` and each pair at its first ``=`` (as Starlette, and browsers,
  do), then only the value of the cookie asked for is looked at;
- a value in double quotes is unquoted as ``http.cookies`` does (``\\"`` -> ``"``, ``\\ooo``
  octal escapes), by one regular expression substitution: linear;
- a value longer than :data:`MAX_VALUE_LENGTH` is never unquoted; it is returned as sent,
  so a credential check refuses it as malformed.

Of two cookies of the same name the first wins: browsers send the one with the longer
``Path`` first (RFC 6265, 5.4), and scanserve's is scoped to the API's base path.
"""

from __future__ import annotations

import re

# RFC 6265, 6.1: user agents keep cookies of at least 4096 bytes (name, value and attributes);
# no cookie scanserve sets is longer, so nothing longer needs unquoting.
MAX_VALUE_LENGTH = 4096
_ESCAPE = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))")


def _unescape(match: re.Match[str]) -> str:
    octal, char = match.groups()
    return chr(int(octal, 8)) if octal else char


def unquote(value: str) -> str:
    """``value`` without its surrounding double quotes and escapes, as ``http.cookies``
    reads it; a value that is not quoted, or is too long to be one of ours, is unchanged."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"' or len(value) > MAX_VALUE_LENGTH:
        return value
    inner = value[1:-1]
    return _ESCAPE.sub(_unescape, inner) if "\\" in inner else inner


def cookie_value(header: str | None, name: str) -> str | None:
    """The value of the first cookie called ``name`` in a ``Cookie`` header, or None."""
    if not header or name not in header:
        return None
    for pair in header.split(";"):
        key, sep, value = pair.partition("=")
        if sep and key.strip() == name:
            return unquote(value.strip())
    return None
