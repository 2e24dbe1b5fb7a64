"""What a captured ``raw_value`` says, in GS1 terms: pure functions over biip, no I/O.

:func:`interpret` reads one scanned or typed value and answers an :class:`Interpretation`:
its kind, the normalised GTIN-14, every GS1 Application Identifier, whether the capture
must FAIL (``error``), whether the GTIN is a restricted-circulation number, and the URL to
follow. The caller stores ``raw_value`` exactly as given; only a stripped copy is read.

Precedence, first match wins, and why
-------------------------------------
1. **AIM symbology identifier** (``]E0``, ``]C1``, ``]d2``, ``]Q3``, ``]e0`` ...). It is the
   scanner telling us what it decoded, so it beats any guess from the data: an EAN/UPC or
   ITF-14 identifier (``]E0 ]E3 ]E4 ]I1``) admits only a GTIN reading (``]E4`` is EAN-8,
   8 digits under ``]E0`` are UPC-E, an ``]E3`` add-on is dropped); a GS1 identifier
   (``]C1 ]e0 ]d2 ]Q3 ]J1``) admits only a Digital Link URI or an element string, so
   ``]C1`` + 13 digits is AI (400) plus data, never an EAN-13. Other identifiers (``]Q1``
   plain QR, ``]C0`` plain Code 128 ...) are removed and the rules below decide.
2. **http(s) URL** (scheme http/https, a host, no whitespace). If biip parses it as a GS1
   Digital Link URI (any host, any path prefix, AIs in path and query) the kind is
   ``digital_link``; otherwise ``url``. ``url`` is set either way: the resolver follows it.
   biip zero-fills a short ``/01/`` value, which would make ``/archive/2024/01/15`` a
   GTIN with a wrong check digit; so a ``/01/`` path value must be 8, 12, 13 or 14 digits
   to count as Digital Link, and a URL that fails this or biip's parse is a plain ``url``,
   never an error. biip does not read the deprecated convenience names (``/gtin/``,
   ``/lot/``, ``?exp=``); such URIs are ``url`` here and :func:`gtin_from_url` reads
   ``/gtin/<digits>`` as it reads ``?gtin=``. :func:`is_digital_link` is this rule alone;
   :func:`gtin_from_url` is the one reading of a GTIN from a URL (the QR resolver's too).
3. **Parenthesised element string** (``(01)09506000134352(10)ABC``, the printed HRI):
   explicit GS1 syntax, so any AI biip knows is accepted; if biip cannot parse it, ``text``.
4. **A digit string of GTIN length (8, 12, 13, 14)** is a GTIN before anything else.
   biip also offers a GS1 element-string reading (``4006381333931`` = AI (400) +
   ``6381333931``), but retail scanners send bare EAN/UPC digits far more often than an
   unflagged, AI-only GS1-128 of exactly that length, and a wrong check digit must fail the
   capture instead of being quietly reread as an element string. So a bad check digit gives
   kind ``gtin``, gtin ``""`` and an ``error`` naming the expected digit.
5. **Unflagged element string** (GS1-128 or DataMatrix data sent without a symbology
   identifier, FNC1 as ASCII 29 ``\\x1d``). biip reads almost any ``10...``/``21...``/
   ``91...`` text as AI data ("2112" would be serial number "12"), so without a GS1
   symbology identifier and without a ``\\x1d`` separator the element string must carry a
   GS1 identification key (AI 00, 01, 02, 03, 253, 255, 401, 402, 414, 415, 417, 8003,
   8004, 8006, 8010, 8013, 8017, 8018). A leading ``\\x1d`` (FNC1 in first position) is
   skipped.
6. Anything else is ``text`` with no error: the lookup will answer NOT_FOUND.

Decisions on the ambiguous cases
--------------------------------
- **8 digits: GTIN-8 or UPC-E.** biip's own ``parse`` keeps the GTIN-8 reading and offers
  the UPC-E expansion beside it. Here, 8 digits starting with ``0`` are read as UPC-E
  first (expanded to UPC-A by biip, ``01234565`` -> ``00012345000065``), falling back to
  GTIN-8: GS1-8 prefixes 000-099 only issue company-internal restricted numbers, so the
  GTIN-8 reading of such a code could never be looked up, while number-system-0 UPC-E is
  common on small US packs. 8 digits starting with ``1`` keep biip's order (GTIN-8, GS1-8
  prefixes 100-139 belong to GS1 US; UPC-E number system 1 is rare) with UPC-E as the
  fallback; any other first digit is GTIN-8 only. An ``]E4``/``]E0`` identifier settles it.
  6- and 7-digit UPC-E (no check digit to verify) are not GTINs here; they are ``text``.
  Inside GS1 data (AI 01 in a Digital Link or element string) 8 significant digits are
  always a GTIN-8, as the GS1 standards say.
- **AI 01, 03, 02.** ``gtin`` comes from AI (01); failing that from (03) (a made-to-order
  trade item); failing that from (02) (the trade item contained in a logistic unit, which
  GS1 forbids beside (01)). Reading (02) lets a pallet label ``(00)...(02)...(37)25``
  look up the product it holds instead of answering NOT_FOUND.
- **Errors inside GS1 data.** A GTIN (AI 01/02/03), SSCC (00) or GLN (41x) whose check digit
  biip rejects fails the capture: the symbol is misread or misprinted. ``ai_data`` still
  holds every AI as read, ``gtin`` is then ``""``. An all-zero GTIN is invalid too.
- **Restricted circulation** comes from biip's prefix tables (it parses such numbers as
  :class:`biip.rcn.Rcn`): GS1 prefixes 02 and 20-29 (geographic RCNs, in-store variable
  measure), 040-049 (company-internal RCNs; UPC number system 4), and GTIN-8 with GS1-8
  prefixes 000-099 and 200-299 (company-internal "velocity codes"). A GTIN-14 with an
  indicator digit is judged by the GTIN-13 under its indicator.
- ``ai_data`` is ``None`` for kinds ``gtin``, ``url`` and ``text``: a bare EAN/UPC carries
  no Application Identifiers. Values are the raw AI values (dates stay ``YYMMDD``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from biip import BiipException
from biip.checksums import gs1_standard_check_digit
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin, GtinFormat
from biip.rcn import Rcn
from biip.symbology import GS1Symbology, SymbologyIdentifier
from biip.upc import Upc

if TYPE_CHECKING:
    from collections.abc import Iterable

    from biip.gs1_element_strings import GS1ElementString

__all__ = [
    "Interpretation",
    "InvalidGtin",
    "Kind",
    "gtin_from_url",
    "interpret",
    "is_digital_link",
    "is_restricted",
    "normalise_gtin",
]

Kind = Literal["gtin", "digital_link", "element_string", "url", "text"]
_Reading = Literal["auto", "gtin8", "upce"]

_GTIN_LENGTHS = (8, 12, 13, 14)
_DIGITS = re.compile(r"[0-9]+")
_GROUP_SEPARATOR = "\x1d"  # what scanners send for FNC1
_GTIN_AIS = ("01", "03", "02")  # order of preference for Interpretation.gtin
_KEY_AIS = frozenset(
    {"00", "01", "02", "03", "253", "255", "401", "402", "414", "415", "417"}
    | {"8003", "8004", "8006", "8010", "8013", "8017", "8018"}
)
# biip raises ParseError for data it rejects; ValueError covers the odd input that trips
# a conversion inside it (an IPv6 host urlsplit refuses, a "]Y" identifier without length).
_BIIP_ERRORS = (BiipException, ValueError)
_GTIN_SYMBOLOGIES = GS1Symbology.with_gtin()
_GS1_DATA_SYMBOLOGIES = GS1Symbology.with_gs1_messages()
# A path pair names a GTIN too: "/gtin/<gtin>", and "/01/<gtin>" where biip refuses the rest of
# a Digital Link-like URI (a trailing slash, an odd segment). A GTIN needs 8 to 14 digits and
# its check digit: "/2024/01/17" names none.
_GTIN_PATH_NAMES = frozenset({"gtin", "01"})
_GTIN_QUERY_NAMES = frozenset(
    {"gtin", "gtin8", "gtin12", "gtin13", "gtin14", "ean", "ean8", "ean13", "upc", "barcode"}
    | {"01"}
)


class InvalidGtin(ValueError):
    """The value is not a GTIN-8/12/13/14 (or an 8-digit UPC-E) with a correct check digit."""


@dataclass(frozen=True)
class Interpretation:
    """What :func:`interpret` read from a ``raw_value``; see the module docstring."""

    kind: Kind
    gtin: str
    """Normalised GTIN-14, ``""`` when there is none (or it is invalid)."""
    ai_data: dict[str, str] | None
    """Every GS1 Application Identifier: AI code -> raw value; ``None`` when not GS1 data."""
    error: str
    """``""`` when fine, else why the capture must FAIL (the request itself is valid)."""
    restricted: bool
    """A restricted-circulation number: never send it to outside lookup services."""
    url: str | None
    """The http(s) URL to follow when the value is one (Digital Link included)."""


_TEXT = Interpretation(kind="text", gtin="", ai_data=None, error="", restricted=False, url=None)


def interpret(raw_value: str) -> Interpretation:
    """Interpret a scanned or typed value by the precedence in the module docstring."""
    value = raw_value.strip()
    symbology = _symbology(value)
    gs1_symbology = None
    if symbology is not None:
        value = value[len(symbology) :]
        gs1_symbology = symbology.gs1_symbology
    if gs1_symbology in _GTIN_SYMBOLOGIES:
        return _interpret_flagged_gtin(value, gs1_symbology)
    if _is_http_url(value):
        return _interpret_url(value)
    if gs1_symbology in _GS1_DATA_SYMBOLOGIES:
        return _interpret_element_string(value, flagged=True) or _TEXT
    if value.startswith("("):
        return _interpret_hri(value) or _TEXT
    if _DIGITS.fullmatch(value) and len(value) in _GTIN_LENGTHS:
        return _interpret_gtin(value, "auto")
    return _interpret_element_string(value, flagged=_GROUP_SEPARATOR in value) or _TEXT


def normalise_gtin(value: str) -> str:
    """Return the GTIN-14 of a GTIN-8/12/13/14 (8 digits may be UPC-E, see the module
    docstring); spaces and hyphens are ignored. Raises :class:`InvalidGtin` with the reason."""
    digits = re.sub(r"[ \-]", "", value.strip())
    if not digits:
        raise InvalidGtin("GTIN is empty")
    if not _DIGITS.fullmatch(digits):
        raise InvalidGtin(f"GTIN must contain only digits, got {value!r}")
    return _digits_to_gtin14(digits, "auto")


def is_restricted(gtin14: str) -> bool:
    """Whether a GTIN-14 (as :func:`normalise_gtin` returns it) is a restricted-circulation
    number; ``""`` is not. Raises :class:`InvalidGtin` for anything but a valid GTIN-14."""
    if not gtin14:
        return False
    if len(gtin14) != 14 or not _DIGITS.fullmatch(gtin14):
        raise InvalidGtin(f"expected a GTIN-14 (14 digits), got {gtin14!r}")
    return _is_rcn(_parse_gtin(gtin14))


def _is_rcn(gtin: Gtin) -> bool:
    """Whether biip's reading of a GTIN is a restricted-circulation number. biip reads a
    GTIN the same with or without leading zeros, so the reading of any of a GTIN's
    spellings (8 to 14 digits) will do."""
    if gtin.format is GtinFormat.GTIN_14:
        # biip judges RCNs only without an indicator digit: drop it, recompute the check.
        inner = gtin.as_gtin_14()[1:13]
        gtin = _parse_gtin(f"{inner}{gs1_standard_check_digit(inner)}")
    return isinstance(gtin, Rcn)


def is_digital_link(url: str) -> bool:
    """Whether ``url`` is shaped like a GS1 Digital Link URI: an http(s) URL that
    :func:`interpret` reads as one (kind ``digital_link``), or whose path has ``/01/``
    followed by a value of a GTIN's length (8, 12, 13 or 14 digits) where biip refuses the
    rest (a trailing slash, an odd segment). Its GTIN may still be invalid (a wrong check
    digit): :func:`gtin_from_url` then finds none there. ``/2024/01/17`` is no Digital Link."""
    value = url.strip()
    if not _is_http_url(value):
        return False
    if _parse_digital_link(value) is not None:
        return True
    segments = _path_segments(urlsplit(value).path)
    return any(name == "01" and _is_gtin_shaped(value) for name, value in pairwise(segments))


def gtin_from_url(url: str) -> str:
    """The GTIN-14 a URL names, ``""`` if none: a GS1 Digital Link path (``/01/<gtin>``, any
    host and prefix), a ``/gtin/<gtin>`` or ``/01/<gtin>`` path pair, or a query parameter
    such as ``gtin``, ``ean``, ``upc`` or ``barcode``. Only values of a GTIN's length (8, 12,
    13, 14 digits) with a correct check digit count, read as :func:`normalise_gtin` reads
    them; the first found in that order wins."""
    value = url.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    digital_link = _parse_digital_link(value)
    if digital_link is not None:
        gtin, _ = _gtin_of(digital_link.element_strings)
        if gtin:
            return gtin
    for name, candidate in pairwise(_path_segments(parts.path)):
        if name.lower() in _GTIN_PATH_NAMES and (gtin := _valid_or_empty(candidate)):
            return gtin
    for name, candidate in parse_qsl(parts.query):
        if name.lower() in _GTIN_QUERY_NAMES and (gtin := _valid_or_empty(candidate)):
            return gtin
    return ""


# --- interpretation steps -------------------------------------------------------------


def _symbology(value: str) -> SymbologyIdentifier | None:
    if len(value) < 3 or not value.startswith("]") or not value[2].isalnum():
        return None
    try:
        return SymbologyIdentifier.extract(value)
    except _BIIP_ERRORS:
        return None


def _is_http_url(value: str) -> bool:
    if any(char.isspace() for char in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _interpret_flagged_gtin(value: str, symbology: GS1Symbology) -> Interpretation:
    if symbology is GS1Symbology.EAN_13_WITH_ADD_ON and len(value) in (15, 18):
        value = value[:13]  # EAN-13/UPC-A + 2- or 5-digit add-on: the add-on is no GTIN
    if not _DIGITS.fullmatch(value) or len(value) not in _GTIN_LENGTHS:
        return _TEXT
    reading: _Reading = "auto"
    if len(value) == 8:
        reading = "gtin8" if symbology is GS1Symbology.EAN_8 else "upce"
    return _interpret_gtin(value, reading)


def _interpret_gtin(digits: str, reading: _Reading) -> Interpretation:
    try:
        parsed = _parsed_gtin(digits, reading)
    except InvalidGtin as exc:
        return Interpretation(
            kind="gtin", gtin="", ai_data=None, error=str(exc), restricted=False, url=None
        )
    # the reading that gave the GTIN-14 tells whether it is restricted: no second parse
    return Interpretation(
        kind="gtin",
        gtin=parsed.as_gtin_14(),
        ai_data=None,
        error="",
        restricted=_is_rcn(parsed),
        url=None,
    )


def _interpret_url(url: str) -> Interpretation:
    digital_link = _parse_digital_link(url)
    if digital_link is None:
        return Interpretation(
            kind="url", gtin="", ai_data=None, error="", restricted=False, url=url
        )
    return _from_element_strings("digital_link", digital_link.element_strings, url=url)


def _interpret_hri(value: str) -> Interpretation | None:
    try:
        message = GS1Message.parse_hri(value)
    except _BIIP_ERRORS:
        return None
    return _from_element_strings("element_string", message.element_strings, url=None)


def _interpret_element_string(value: str, *, flagged: bool) -> Interpretation | None:
    data = value.lstrip(_GROUP_SEPARATOR)  # FNC1 in first position
    if not data:
        return None
    try:
        message = GS1Message.parse(data)
    except _BIIP_ERRORS:
        return None
    elements = message.element_strings
    if not flagged and not any(element.ai.ai in _KEY_AIS for element in elements):
        return None
    return _from_element_strings("element_string", elements, url=None)


def _parse_digital_link(url: str) -> GS1DigitalLinkURI | None:
    try:
        digital_link = GS1DigitalLinkURI.parse(url)
    except _BIIP_ERRORS:
        return None
    # biip zero-fills the /01/ path value to 14 digits; demand a real GTIN length so that
    # ".../2024/01/15" is not taken for GTIN 00000000000015.
    segments = _path_segments(urlsplit(url).path)
    if "01" in segments:
        at = segments.index("01")
        value = segments[at + 1] if at + 1 < len(segments) else ""
        if not _is_gtin_shaped(value):
            return None
    return digital_link


def _path_segments(path: str) -> list[str]:
    return [unquote(segment) for segment in path.split("/")]


def _from_element_strings(
    kind: Kind, elements: Iterable[GS1ElementString], *, url: str | None
) -> Interpretation:
    elements = list(elements)
    ai_data = {element.ai.ai: element.value for element in elements}
    gtin, gtin_error = _gtin_of(elements)
    error = gtin_error or _key_error(elements)
    return Interpretation(
        kind=kind,
        gtin=gtin,
        ai_data=ai_data,
        error=error,
        restricted=is_restricted(gtin),
        url=url,
    )


def _gtin_of(elements: Iterable[GS1ElementString]) -> tuple[str, str]:
    """(GTIN-14, "") from the preferred GTIN AI present, or ("", why it is invalid)."""
    by_ai = {element.ai.ai: element.value for element in elements}
    for ai in _GTIN_AIS:
        if ai in by_ai:
            try:
                return _digits_to_gtin14(by_ai[ai], "gtin8"), ""
            except InvalidGtin as exc:
                return "", f"AI ({ai}): {exc}"
    return "", ""


def _key_error(elements: Iterable[GS1ElementString]) -> str:
    """Why another GS1 key in the data is invalid (GTIN in a non-preferred AI, SSCC, GLN)."""
    for element in elements:
        if element.ai.ai in _GTIN_AIS:
            try:
                _digits_to_gtin14(element.value, "gtin8")
            except InvalidGtin as exc:
                return f"AI ({element.ai.ai}): {exc}"
        for problem in (element.sscc_error, element.gln_error):
            if problem:
                return f"AI ({element.ai.ai}): {problem}"
    return ""


# --- GTIN helpers ---------------------------------------------------------------------


def _is_gtin_shaped(value: str) -> bool:
    return bool(_DIGITS.fullmatch(value)) and len(value) in _GTIN_LENGTHS


def _valid_or_empty(value: str) -> str:
    try:
        return normalise_gtin(value)
    except InvalidGtin:
        return ""


def _parse_gtin(digits: str) -> Gtin:
    try:
        return Gtin.parse(digits)
    except _BIIP_ERRORS as exc:
        raise InvalidGtin(str(exc)) from exc


def _digits_to_gtin14(digits: str, reading: _Reading) -> str:
    """GTIN-14 of a digit string; ``reading`` decides 8 digits (module docstring)."""
    return _parsed_gtin(digits, reading).as_gtin_14()


def _parsed_gtin(digits: str, reading: _Reading) -> Gtin:
    """biip's reading of a digit string (see :func:`_digits_to_gtin14`)."""
    if len(digits) not in _GTIN_LENGTHS:
        raise InvalidGtin(f"GTIN must have 8, 12, 13 or 14 digits, got {len(digits)}")
    if not digits.strip("0"):
        raise InvalidGtin("GTIN must not be all zeros")
    if len(digits) != 8:
        return _checked_gtin(digits)
    tries: tuple[Literal["gtin8", "upce"], ...]
    if reading != "auto":
        tries = (reading,)
    elif digits[0] == "0":
        tries = ("upce", "gtin8")
    elif digits[0] == "1":
        tries = ("gtin8", "upce")
    else:
        tries = ("gtin8",)
    if "upce" in tries and digits[0] not in "01":
        raise InvalidGtin(f"UPC-E must start with 0 or 1, got {digits[0]}")
    expected: list[str] = []
    for attempt in tries:
        check = _upce_check_digit(digits) if attempt == "upce" else _gtin_check_digit(digits)
        if check == int(digits[-1]):
            upc_a = Upc.parse(digits).as_upc_a() if attempt == "upce" else digits
            return _checked_gtin(upc_a)
        label = " (as UPC-E)" if attempt == "upce" else " (as GTIN-8)"
        expected.append(f"{check}{label if len(tries) > 1 else ''}")
    raise InvalidGtin(
        f"invalid GTIN check digit: expected {' or '.join(expected)}, got {digits[-1]}"
    )


def _checked_gtin(digits: str) -> Gtin:
    check = _gtin_check_digit(digits)
    if check != int(digits[-1]):
        raise InvalidGtin(f"invalid GTIN check digit: expected {check}, got {digits[-1]}")
    return _parse_gtin(digits)


def _gtin_check_digit(digits: str) -> int:
    return gs1_standard_check_digit(digits[:-1])


def _upce_check_digit(digits: str) -> int:
    # Seven digits (number system + six) make biip compute the check digit of the expansion.
    check = Upc.parse(digits[:7]).check_digit
    assert check is not None  # biip always computes it for UPC-E
    return check
