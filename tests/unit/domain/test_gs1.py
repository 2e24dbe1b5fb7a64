"""scanserve.gs1: reading raw_value as GTIN, GS1 Digital Link, element string, URL or text."""

from __future__ import annotations

import dataclasses

import biip
import pytest
from biip.checksums import gs1_standard_check_digit
from hypothesis import given, settings
from hypothesis import strategies as st

from scanserve.domain.gs1 import (
    Interpretation,
    InvalidGtin,
    gtin_from_url,
    interpret,
    is_digital_link,
    is_restricted,
    normalise_gtin,
)

GS = "\x1d"  # ASCII 29, what scanners send for FNC1
DEMO = "09506000134352"  # GS1's demonstration GTIN
DEMO_BAD = "09506000134353"  # same, check digit off by one (expected 2)


def with_check_digit(payload: str) -> str:
    return f"{payload}{gs1_standard_check_digit(payload)}"


# --- plain GTINs --------------------------------------------------------------------

GTIN_CASES = [
    # raw, gtin, restricted
    pytest.param("4006381333931", "04006381333931", False, id="ean13"),
    pytest.param("036000291452", "00036000291452", False, id="upc-a"),
    pytest.param("96385074", "00000096385074", False, id="gtin8"),
    pytest.param("10012345678902", "10012345678902", False, id="gtin14"),
    pytest.param("09506000134352", DEMO, False, id="gtin14-leading-zero"),
    pytest.param("9506000134352", DEMO, False, id="gtin13-demo"),
    pytest.param("  4006381333931\n", "04006381333931", False, id="surrounding-whitespace"),
    # 8 digits starting with 0: UPC-E first (expanded to UPC-A by biip) ...
    pytest.param("01234565", "00012345000065", False, id="upce-also-valid-gtin8"),
    pytest.param("04963406", "00049000006346", False, id="upce-coca-cola"),
    pytest.param("01234505", "00012000003455", False, id="upce-only"),
    # ... then GTIN-8, which with GS1-8 prefix 0xx is a company-internal RCN
    pytest.param("01234503", "00000001234503", True, id="gtin8-0xx-fallback"),
    # 8 digits starting with 1: GTIN-8 first (biip's order), UPC-E as the fallback
    pytest.param("12345656", "00000012345656", False, id="gtin8-1xx-also-valid-upce"),
    pytest.param("17654304", "00176000005434", False, id="upce-ns1-fallback"),
    # restricted circulation
    pytest.param("2012345678903", "02012345678903", True, id="rcn-20"),
    pytest.param("2900000000001", "02900000000001", True, id="rcn-29"),
    pytest.param("0212345678909", "00212345678909", True, id="rcn-02-as-13"),
    pytest.param("212345678909", "00212345678909", True, id="rcn-upc-ns2"),
    pytest.param("401234567893", "00401234567893", True, id="rcn-upc-ns4-company"),
    pytest.param("21234569", "00000021234569", True, id="rcn-gtin8-2xx-velocity"),
    pytest.param("12012345678900", "12012345678900", True, id="rcn-under-indicator"),
]


@pytest.mark.parametrize(("raw", "gtin", "restricted"), GTIN_CASES)
def test_digit_strings_of_gtin_length_are_gtins(raw: str, gtin: str, restricted: bool) -> None:
    assert interpret(raw) == Interpretation(
        kind="gtin", gtin=gtin, ai_data=None, error="", restricted=restricted, url=None
    )


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        pytest.param("4006381333932", "invalid GTIN check digit: expected 1, got 2", id="ean13"),
        pytest.param("036000291453", "invalid GTIN check digit: expected 2, got 3", id="upc-a"),
        pytest.param("96385075", "invalid GTIN check digit: expected 4, got 5", id="gtin8"),
        pytest.param("10012345678901", "invalid GTIN check digit: expected 2, got 1", id="gtin14"),
        pytest.param(
            "04012345",
            "invalid GTIN check digit: expected 0 (as UPC-E) or 4 (as GTIN-8), got 5",
            id="neither-upce-nor-gtin8",
        ),
        pytest.param("00000000", "GTIN must not be all zeros", id="all-zeros"),
    ],
)
def test_bad_check_digit_fails_the_capture(raw: str, error: str) -> None:
    result = interpret(raw)
    assert (result.kind, result.gtin, result.error) == ("gtin", "", error)
    assert (result.ai_data, result.restricted, result.url) == (None, False, None)


def test_ean13_wins_over_the_ai_400_reading_biip_also_offers() -> None:
    assert biip.parse("4006381333931").gs1_message is not None  # biip offers both
    result = interpret("4006381333931")
    assert result.kind == "gtin"
    assert result.ai_data is None


def test_bad_gtin_is_not_reread_as_element_string() -> None:
    # "10" + 12 digits is a valid batch/lot element string, but 14 digits are a GTIN first.
    result = interpret("10012345678901")
    assert result.kind == "gtin"
    assert result.error.startswith("invalid GTIN check digit")


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("123456", id="upce-6-digits"),
        pytest.param("0123456", id="upce-7-digits"),
        pytest.param("123456789", id="9-digits"),
        pytest.param("123456789012345", id="15-digits"),
    ],
)
def test_other_digit_lengths_are_text(raw: str) -> None:
    assert interpret(raw) == Interpretation("text", "", None, "", False, None)


# --- AIM symbology identifiers ------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kind", "gtin", "restricted"),
    [
        pytest.param("]E04006381333931", "gtin", "04006381333931", False, id="E0-ean13"),
        pytest.param("]E00036000291452", "gtin", "00036000291452", False, id="E0-upca-as-13"),
        pytest.param("]E001234565", "gtin", "00012345000065", False, id="E0-8-digits-upce"),
        pytest.param("]E401234565", "gtin", "00000001234565", True, id="E4-8-digits-gtin8"),
        pytest.param("]E496385074", "gtin", "00000096385074", False, id="E4-ean8"),
        pytest.param("]E3400638133393112", "gtin", "04006381333931", False, id="E3-addon"),
        pytest.param("]I110012345678902", "gtin", "10012345678902", False, id="I1-itf14"),
        # a GS1 identifier makes 13 digits AI (400) + data, not an EAN-13
        pytest.param("]C14006381333931", "element_string", "", False, id="C1-digits"),
        pytest.param("]E0hello", "text", "", False, id="E0-not-digits"),
        pytest.param("]C1hello", "text", "", False, id="C1-unparseable"),
        pytest.param("]Q1hello", "text", "", False, id="Q1-plain-text"),
        pytest.param("]Q14006381333931", "gtin", "04006381333931", False, id="Q1-digits"),
        pytest.param("]hello", "text", "", False, id="not-an-identifier"),
    ],
)
def test_symbology_identifier_decides(raw: str, kind: str, gtin: str, restricted: bool) -> None:
    result = interpret(raw)
    assert (result.kind, result.gtin, result.error, result.restricted) == (
        kind,
        gtin,
        "",
        restricted,
    )


def test_e4_with_a_bad_check_digit_names_only_the_gtin8_digit() -> None:
    assert interpret("]E401234566").error == "invalid GTIN check digit: expected 5, got 6"


# --- GS1 element strings --------------------------------------------------------------

ELEMENT_CASES = [
    pytest.param(
        f"]C101{DEMO}10ABC123{GS}17261231",
        {"01": DEMO, "10": "ABC123", "17": "261231"},
        id="C1-gs1-128-with-gs",
    ),
    pytest.param(
        f"]d201{DEMO}10ABC{GS}21XYZ",
        {"01": DEMO, "10": "ABC", "21": "XYZ"},
        id="d2-datamatrix",
    ),
    pytest.param(f"]Q301{DEMO}17261231", {"01": DEMO, "17": "261231"}, id="Q3-qr"),
    pytest.param(f"]e001{DEMO}10ABC", {"01": DEMO, "10": "ABC"}, id="e0-databar"),
    pytest.param(
        f"01{DEMO}10ABC123{GS}17261231",
        {"01": DEMO, "10": "ABC123", "17": "261231"},
        id="unflagged-with-gs",
    ),
    pytest.param(
        f"{GS}01{DEMO}10ABC{GS}21XYZ",
        {"01": DEMO, "10": "ABC", "21": "XYZ"},
        id="leading-fnc1",
    ),
    pytest.param(
        f"01{DEMO}1726123110LOT7",
        {"01": DEMO, "17": "261231", "10": "LOT7"},
        id="unflagged-no-gs",
    ),
    pytest.param(
        f"(01){DEMO}(10)ABC",
        {"01": DEMO, "10": "ABC"},
        id="parentheses",
    ),
    pytest.param(
        f"(01) {DEMO} (17) 261231 (21) XYZ",
        {"01": DEMO, "17": "261231", "21": "XYZ"},
        id="parentheses-with-spaces",
    ),
    pytest.param(
        f"]C101{DEMO}3103000195",
        {"01": DEMO, "3103": "000195"},
        id="four-digit-ai",
    ),
]


@pytest.mark.parametrize(("raw", "ai_data"), ELEMENT_CASES)
def test_element_strings(raw: str, ai_data: dict[str, str]) -> None:
    assert interpret(raw) == Interpretation(
        kind="element_string", gtin=DEMO, ai_data=ai_data, error="", restricted=False, url=None
    )


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(f"]C101{DEMO_BAD}10ABC", id="C1"),
        pytest.param(f"01{DEMO_BAD}", id="unflagged"),
        pytest.param(f"(01){DEMO_BAD}(10)ABC", id="parentheses"),
    ],
)
def test_element_string_with_bad_gtin_fails(raw: str) -> None:
    result = interpret(raw)
    assert result.kind == "element_string"
    assert result.gtin == ""
    assert result.error == "AI (01): invalid GTIN check digit: expected 2, got 3"
    assert result.ai_data is not None
    assert result.ai_data["01"] == DEMO_BAD  # kept as read


def test_element_string_with_bad_sscc_fails() -> None:
    result = interpret("]C100106141412345678909")
    assert result.kind == "element_string"
    assert result.error.startswith("AI (00): ")


def test_logistic_label_takes_gtin_from_ai_02() -> None:
    # (00) SSCC, (02) GTIN of the contents, (37) count
    result = interpret("]C1001061414123456789080200614141123452" + "3725")
    assert result.kind == "element_string"
    assert result.ai_data == {"00": "106141412345678908", "02": "00614141123452", "37": "25"}
    assert result.gtin == "00614141123452"


def test_restricted_gtin_inside_element_string() -> None:
    result = interpret(f"]C101{with_check_digit('0201234567890')}3103000500")
    assert result.gtin == "02012345678903"
    assert result.restricted is True


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("2112", id="looks-like-ai-21"),
        pytest.param("10ABC", id="looks-like-ai-10"),
        pytest.param("91internal", id="looks-like-ai-91"),
        pytest.param("(555)1234567", id="phone-number"),
        pytest.param(f"01{DEMO}17261399", id="invalid-date"),
        pytest.param("hello world", id="words"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
    ],
)
def test_unrecognised_values_are_text_without_error(raw: str) -> None:
    assert interpret(raw) == Interpretation("text", "", None, "", False, None)


def test_flagged_or_separated_element_string_needs_no_key() -> None:
    assert interpret("]C110ABC").ai_data == {"10": "ABC"}
    assert interpret(f"10ABC{GS}21XYZ").ai_data == {"10": "ABC", "21": "XYZ"}


def test_group_separator_is_read_in_place_and_raw_value_is_untouched() -> None:
    raw = f"01{DEMO}10ABC{GS}21XYZ{GS}"
    kept = str(raw)
    result = interpret(raw)
    assert raw == kept
    assert result.ai_data == {"01": DEMO, "10": "ABC", "21": "XYZ"}
    assert GS not in "".join(result.ai_data.values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.gtin = "x"  # type: ignore[misc]


# --- GS1 Digital Link and other URLs ------------------------------------------------

DL_CASES = [
    pytest.param(
        f"https://id.gs1.org/01/{DEMO}/10/ABC123?17=261231",
        {"01": DEMO, "10": "ABC123", "17": "261231"},
        id="gs1-resolver-query-ai",
    ),
    pytest.param(
        f"https://example.com/some/prefix/01/{DEMO}/21/XYZ",
        {"01": DEMO, "21": "XYZ"},
        id="path-prefix",
    ),
    pytest.param(f"https://id.gs1.org/01/{DEMO}", {"01": DEMO}, id="short-form"),
    pytest.param("http://example.com/01/9506000134352", {"01": DEMO}, id="http-13-digits"),
    pytest.param(
        f"https://brand.example/dl/01/{DEMO}?10=LOT1&17=261231&utm_source=pack",
        {"01": DEMO, "10": "LOT1", "17": "261231"},
        id="query-ais-other-params-ignored",
    ),
    pytest.param(
        f"https://example.com/01/{DEMO}/10/A%2FB",
        {"01": DEMO, "10": "A/B"},
        id="percent-encoded",
    ),
    pytest.param(
        f"HTTPS://ID.GS1.ORG/01/{DEMO}?17=261231",
        {"01": DEMO, "17": "261231"},
        id="upper-case-scheme",
    ),
]


@pytest.mark.parametrize(("raw", "ai_data"), DL_CASES)
def test_digital_link(raw: str, ai_data: dict[str, str]) -> None:
    assert interpret(raw) == Interpretation(
        kind="digital_link", gtin=DEMO, ai_data=ai_data, error="", restricted=False, url=raw
    )


@pytest.mark.parametrize("prefix", ["]Q1", "]Q3", "]d2"])
def test_digital_link_behind_symbology_identifier(prefix: str) -> None:
    url = f"https://id.gs1.org/01/{DEMO}/10/ABC"
    result = interpret(prefix + url)
    assert (result.kind, result.gtin, result.url) == ("digital_link", DEMO, url)


def test_digital_link_with_bad_check_digit_fails_but_keeps_url() -> None:
    url = f"https://id.gs1.org/01/{DEMO_BAD}/10/ABC"
    result = interpret(url)
    assert result.kind == "digital_link"
    assert result.gtin == ""
    assert result.error == "AI (01): invalid GTIN check digit: expected 2, got 3"
    assert result.ai_data == {"01": DEMO_BAD, "10": "ABC"}
    assert result.url == url


def test_digital_link_of_restricted_gtin() -> None:
    result = interpret("https://shop.example/01/02012345678903")
    assert (result.kind, result.restricted) == ("digital_link", True)


def test_digital_link_sscc_takes_gtin_from_query_ai_02() -> None:
    url = "https://id.gs1.org/00/106141412345678908?02=00614141123452&37=25&10=ABC123"
    result = interpret(url)
    assert result.kind == "digital_link"
    assert result.gtin == "00614141123452"
    assert result.ai_data == {
        "00": "106141412345678908",
        "02": "00614141123452",
        "37": "25",
        "10": "ABC123",
    }


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("https://example.com/products/42", id="plain"),
        pytest.param("http://bit.ly/3xYz", id="shortener"),
        pytest.param("https://example.com/archive/2024/01/15", id="date-path-not-gtin-01"),
        pytest.param(f"https://example.com/gtin/{DEMO}", id="convenience-alpha"),
        pytest.param(f"https://example.com/01/{DEMO}/99/x", id="bad-qualifier"),
        pytest.param(f"https://example.com/01/{DEMO}?17=261399", id="bad-date"),
    ],
)
def test_other_http_urls(raw: str) -> None:
    assert interpret(raw) == Interpretation("url", "", None, "", False, raw)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(f"ftp://example.com/01/{DEMO}", id="ftp"),
        pytest.param("https://", id="no-host"),
        pytest.param("https://example.com/a b", id="whitespace"),
        pytest.param("https://[::1", id="malformed"),
        pytest.param("www.example.com", id="no-scheme"),
    ],
)
def test_non_http_urls_are_text(raw: str) -> None:
    assert interpret(raw).kind == "text"


# --- normalise_gtin / is_restricted -------------------------------------------------


@pytest.mark.parametrize(
    ("value", "gtin14"),
    [
        ("4006381333931", "04006381333931"),
        ("400-6381-33393-1", "04006381333931"),
        (" 4006381 333931 ", "04006381333931"),
        ("036000291452", "00036000291452"),
        ("01234565", "00012345000065"),
        ("96385074", "00000096385074"),
        ("10012345678902", "10012345678902"),
        ("00000096385074", "00000096385074"),
    ],
)
def test_normalise_gtin(value: str, gtin14: str) -> None:
    assert normalise_gtin(value) == gtin14


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("4006381333932", "invalid GTIN check digit: expected 1, got 2"),
        ("036000291453", "invalid GTIN check digit: expected 2, got 3"),
        ("1234567", "GTIN must have 8, 12, 13 or 14 digits, got 7"),
        ("123456789012345", "GTIN must have 8, 12, 13 or 14 digits, got 15"),
        ("40063813339x1", "GTIN must contain only digits"),
        ("", "GTIN is empty"),
        (" - ", "GTIN is empty"),
        ("00000000000000", "GTIN must not be all zeros"),
    ],
)
def test_normalise_gtin_rejects(value: str, message: str) -> None:
    with pytest.raises(InvalidGtin, match=message):
        normalise_gtin(value)
    assert issubclass(InvalidGtin, ValueError)


@pytest.mark.parametrize(
    ("gtin14", "restricted"),
    [
        ("04006381333931", False),
        ("02012345678903", True),
        ("00212345678909", True),
        ("00401234567893", True),
        ("00000001234565", True),  # GTIN-8 01234565: GS1-8 prefix 012, velocity code
        ("00000021234569", True),  # GTIN-8 prefix 212
        ("00000096385074", False),
        ("12012345678900", True),  # indicator 1 over 2012345678903
        ("10000001234562", True),  # indicator 1 over GTIN-8 01234565
        ("10012345678902", False),
        ("", False),
    ],
)
def test_is_restricted(gtin14: str, restricted: bool) -> None:
    assert is_restricted(gtin14) is restricted


@pytest.mark.parametrize("value", ["4006381333931", "0400638133393x", "04006381333932"])
def test_is_restricted_wants_a_valid_gtin14(value: str) -> None:
    with pytest.raises(InvalidGtin):
        is_restricted(value)


def test_fixture_check_digits() -> None:
    for value in ("2012345678903", "0212345678909", "12012345678900", "10000001234562"):
        assert with_check_digit(value[:-1]) == value


# --- gtin_from_url ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "gtin"),
    [
        pytest.param(f"https://id.gs1.org/01/{DEMO}/10/ABC", DEMO, id="dl"),
        pytest.param(f"https://x.example/a/b/01/{DEMO}?17=261231", DEMO, id="dl-prefix"),
        pytest.param("http://x.example/01/9506000134352", DEMO, id="dl-13-digits"),
        pytest.param(f"https://x.example/gtin/{DEMO}/lot/ABC", DEMO, id="gtin-path-name"),
        pytest.param("https://shop.example/p?gtin=4006381333931", "04006381333931", id="gtin"),
        pytest.param("https://shop.example/p?EAN=4006381333931", "04006381333931", id="ean"),
        pytest.param("https://shop.example/p?upc=036000291452", "00036000291452", id="upc"),
        pytest.param(
            "https://shop.example/p?ref=1&barcode=96385074", "00000096385074", id="barcode"
        ),
        pytest.param(
            "https://shop.example/p?gtin=4006381333932&ean=036000291452",
            "00036000291452",
            id="first-valid-param",
        ),
        pytest.param("https://shop.example/p?gtin=4006381333932", "", id="bad-check-digit"),
        pytest.param(f"https://id.gs1.org/01/{DEMO_BAD}", "", id="dl-bad-check-digit"),
        pytest.param("https://shop.example/p?id=4006381333931", "", id="unknown-param"),
        pytest.param("https://example.com/archive/2024/01/15", "", id="date-path"),
        # 00000000000017 has a valid check digit, but "17" is no GTIN: a date, not a DL
        pytest.param("https://example.com/2024/01/17", "", id="date-path-valid-check-digit"),
        pytest.param(f"https://x.example/01/{DEMO}/", DEMO, id="dl-trailing-slash"),
        pytest.param(f"https://x.example/01/{DEMO}/10", DEMO, id="dl-odd-segment"),
        pytest.param("https://x.example/01/123", "", id="dl-too-short"),
        pytest.param("https://example.com/", "", id="nothing"),
        pytest.param("not a url", "", id="not-a-url"),
        pytest.param("https://[::1", "", id="malformed"),
    ],
)
def test_gtin_from_url(url: str, gtin: str) -> None:
    assert gtin_from_url(url) == gtin


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(f"https://id.gs1.org/01/{DEMO}/10/ABC", True, id="dl"),
        pytest.param(f"https://x.example/a/b/01/{DEMO}?17=261231", True, id="dl-prefix"),
        pytest.param(f"https://id.gs1.org/01/{DEMO_BAD}", True, id="dl-bad-check-digit"),
        pytest.param("https://x.example/01/12345670", True, id="dl-gtin-8"),
        pytest.param(f"https://x.example/01/{DEMO}/", True, id="dl-trailing-slash"),
        pytest.param(f" https://x.example/01/{DEMO}\n", True, id="dl-stripped"),
        pytest.param("https://example.com/2024/01/17", False, id="date-path"),
        pytest.param("https://example.com/archive/2024/01/15", False, id="date-path-2"),
        pytest.param("https://x.example/01/123", False, id="too-short"),
        pytest.param(f"https://shop.example/p?gtin={DEMO}", False, id="query"),
        pytest.param(f"ftp://x.example/01/{DEMO}", False, id="not-http"),
        pytest.param("not a url", False, id="not-a-url"),
    ],
)
def test_is_digital_link(url: str, expected: bool) -> None:
    assert is_digital_link(url) is expected


# --- invariants over arbitrary input ------------------------------------------------

_ALPHABET = st.sampled_from(list("0123456789()]/:?=&%.-ABCdeQEhtps \x1d"))


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.text(alphabet=_ALPHABET, max_size=40),
        st.from_regex(r"\A[0-9]{6,18}\Z"),
        st.builds(lambda s: "https://x.example/01/" + s, st.text(max_size=20)),
        st.builds(lambda s: "]C101" + s, st.text(alphabet=_ALPHABET, max_size=30)),
    )
)
def test_interpret_never_raises_and_keeps_its_invariants(raw: str) -> None:
    result = interpret(raw)
    assert result.kind in ("gtin", "digital_link", "element_string", "url", "text")
    assert result.gtin == "" or (len(result.gtin) == 14 and result.gtin.isdigit())
    if result.error:
        assert result.gtin == ""
    if result.restricted:
        assert result.gtin
    assert (result.ai_data is not None) == (result.kind in ("digital_link", "element_string"))
    assert (result.url is not None) == (result.kind in ("digital_link", "url"))
    # the QR resolver reads every URL it meets with these: they never raise either
    gtin = gtin_from_url(raw)
    assert gtin == "" or (len(gtin) == 14 and gtin.isdigit())
    assert is_digital_link(raw) in (True, False)
