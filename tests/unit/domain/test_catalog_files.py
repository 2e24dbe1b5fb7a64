"""Reading catalog import files: CSV and JSON Lines (ours and Open Food Facts'), plain or gzip."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from scanserve.domain import catalog_files
from scanserve.domain.catalog_files import CatalogRow, RowError, count_lines, read_catalog

DATA = Path(__file__).resolve().parents[2] / "data"
CSV_SAMPLE = DATA / "catalog_sample.csv"
JSONL_SAMPLE = DATA / "catalog_sample.jsonl"
HEADER = (
    "gtin,name,brand,description,category,gpc_brick_code,gpc_brick_label,ingredients,image_urls\n"
)


def errors(items: list[CatalogRow | RowError]) -> dict[int, str]:
    return {item.line: item.message for item in items if isinstance(item, RowError)}


def rows(items: list[CatalogRow | RowError]) -> list[CatalogRow]:
    return [item for item in items if isinstance(item, CatalogRow)]


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# --- CSV ----------------------------------------------------------------------------------


def test_csv_sample_rows_and_errors() -> None:
    items = list(read_catalog(CSV_SAMPLE))

    assert rows(items) == [
        CatalogRow(
            gtin="04006381333931",
            name="Textmarker Boss Original gelb",
            brand="STABILO",
            description="Highlighter",
            category="Office supplies",
            gpc_brick_code="10001234",
            gpc_brick_label="Markers",
            image_urls=("https://img.example.com/4006381333931.jpg",),
        ),
        CatalogRow(
            gtin="00036000291452",
            name="Facial Tissues",
            brand="Kleenex",
            category="Paper goods",
            # "|" and whitespace both separate; the duplicate is dropped
            image_urls=("https://img.example.com/a.jpg", "https://img.example.com/b.jpg"),
        ),
        CatalogRow(
            gtin="00000096385074",
            name="Mineral water 0.5 l",
            brand="Aqua Vista",
            description="Still mineral water,\nbottled at the source",
            category="Beverages",
            gpc_brick_code="10000232",
            gpc_brick_label="Water (Still)",
        ),
        CatalogRow(
            gtin="14006381333938",
            name="Textmarker Boss Original gelb (case of 10)",
            brand="STABILO",
            category="Office supplies",
            gpc_brick_code="10001234",
            gpc_brick_label="Markers",
        ),
    ]
    # Line 4-5 is one quoted row, line 8 is blank.
    found = errors(items)
    assert sorted(found) == [6, 7, 9, 10]
    assert "check digit" in found[6]
    assert found[7] == "name is required"
    assert "gpc_brick_code" in found[9]
    assert "http(s)" in found[10]
    assert "ftp://" in found[10]


def test_csv_missing_required_column_is_one_error_at_line_1(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "code,product_name,brand\n4006381333931,Pen,STABILO\n")

    items = list(read_catalog(path))

    assert len(items) == 1
    assert isinstance(items[0], RowError)
    assert items[0].line == 1
    assert "gtin" in items[0].message
    assert "name" in items[0].message


def test_csv_with_only_name_missing(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "GTIN,brand\n4006381333931,STABILO\n")

    [error] = read_catalog(path)

    assert error == RowError(1, "missing required column(s): name; the header has: gtin, brand")


def test_csv_empty_file(tmp_path: Path) -> None:
    assert list(read_catalog(write(tmp_path / "c.csv", ""))) == [
        RowError(1, "the file is empty; expected a header row")
    ]


def test_csv_header_is_case_insensitive_with_bom_and_extra_columns(tmp_path: Path) -> None:
    content = "\ufeff Name ,GTIN,Price\r\nPen,4006381333931,1.99\r\n"
    path = write(tmp_path / "c.csv", content)

    assert list(read_catalog(path)) == [CatalogRow(gtin="04006381333931", name="Pen")]


def test_csv_semicolon_delimiter(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "gtin;name;brand\n4006381333931;Pen, yellow;STABILO\n")

    assert list(read_catalog(path)) == [
        CatalogRow(gtin="04006381333931", name="Pen, yellow", brand="STABILO")
    ]


def test_csv_non_utf8_line_is_rejected_and_reading_goes_on(tmp_path: Path) -> None:
    content = (
        HEADER.encode()
        + b"4006381333931,Pen,,,,,,,\n"
        + "036000291452,Caf\u00e9 cr\u00e8me,,,,,,,\n".encode("latin-1")
        + "96385074,Caf\u00e9,,,,,,,\n".encode()
    )
    path = write(tmp_path / "c.csv", content)

    items = list(read_catalog(path))

    assert [item.name for item in rows(items)] == ["Pen", "Caf\u00e9"]
    assert list(errors(items)) == [3]
    assert "UTF-8" in errors(items)[3]


def test_csv_row_with_more_fields_than_the_header(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "gtin,name\n4006381333931,Pen,surprise\n96385074,Water,\n")

    items = list(read_catalog(path))

    assert errors(items) == {2: "the row has 3 fields, the header 2"}
    assert rows(items) == [CatalogRow(gtin="00000096385074", name="Water")]


def test_csv_unclosed_quote_is_reported_and_reading_goes_on(tmp_path: Path) -> None:
    filler = "x" * 1000 + "\n"
    content = 'gtin,name\n4006381333931,"Pen\n' + filler * 200 + "96385074,Water\n"
    path = write(tmp_path / "c.csv", content)

    items = list(read_catalog(path))

    first = items[0]
    assert isinstance(first, RowError)
    assert first.line == 2
    assert "malformed CSV" in first.message
    assert rows(items)[-1] == CatalogRow(gtin="00000096385074", name="Water")


# --- JSON Lines ---------------------------------------------------------------------------


def test_jsonl_sample_with_open_food_facts_records() -> None:
    items = list(read_catalog(JSONL_SAMPLE))

    nutella, noodles, water, olive_oil = rows(items)
    assert nutella == CatalogRow(
        gtin="03017620422003",
        name="Nutella",
        brand="Ferrero",
        description="Pâte à tartiner aux noisettes et au cacao",
        category="Pâtes à tartiner aux noisettes",
        ingredients=(
            "Sucre, huile de palme, NOISETTES 13%, cacao maigre 7,4%, LAIT écrémé en poudre "
            "6,6%, LACTOSERUM en poudre, émulsifiants: lécithines [SOJA], vanilline."
        ),
        image_urls=(
            "https://images.openfoodfacts.org/images/products/301/762/042/2003/"
            "front_fr.633.400.jpg",
        ),
    )
    # product_name empty -> product_name_en; only categories_tags -> the last tag
    assert noodles.gtin == "00737628064502"
    assert noodles.name == "Stir-Fry Rice Noodles"
    assert noodles.brand == "Thai Kitchen"
    assert noodles.category == "en:rice-noodles"
    assert len(noodles.image_urls) == 2
    # our own field names
    assert water == CatalogRow(
        gtin="00000096385074",
        name="Mineral water 0.5 l",
        brand="Aqua Vista",
        category="Beverages",
        gpc_brick_code="10000232",
        gpc_brick_label="Water (Still)",
        image_urls=("https://img.example.com/w1.jpg", "https://img.example.com/w2.jpg"),
    )
    # product_name null -> generic_name, which is also the description
    assert olive_oil.name == olive_oil.description == "Aceite de oliva virgen extra"
    assert olive_oil.category == "Aceites de oliva"

    # line 4 is blank
    found = errors(items)
    assert sorted(found) == [5, 6, 7, 8, 9]
    assert found[5].startswith("invalid JSON")
    assert "check digit" in found[6]
    assert found[7] == "name is required"
    assert "gpc_brick_code" in found[8]
    assert "ftp://" in found[8]
    assert found[9] == "expected a JSON object, got an array"


def test_jsonl_blank_and_whitespace_lines_are_skipped(tmp_path: Path) -> None:
    record = json.dumps({"code": "4006381333931", "product_name": "Pen"})
    path = write(tmp_path / "p.jsonl", f"\n   \n{record}\n\t\n\n")

    assert list(read_catalog(path)) == [CatalogRow(gtin="04006381333931", name="Pen")]


def test_jsonl_non_utf8_line_is_rejected_and_reading_goes_on(tmp_path: Path) -> None:
    good = json.dumps({"code": "4006381333931", "product_name": "Pen"}).encode()
    bad = '{"code": "96385074", "product_name": "Caf\u00e9"}'.encode("cp1252")
    path = write(tmp_path / "p.jsonl", good + b"\n" + bad + b"\n" + good + b"\n")

    items = list(read_catalog(path))

    assert len(rows(items)) == 2
    assert list(errors(items)) == [2]
    assert "UTF-8" in errors(items)[2]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"gtin": 4006381333931, "name": "Pen"}, "gtin must be a string, got a number"),
        ({"code": "400638133393", "product_name": "Pen"}, "check digit"),
        ({"code": "4006381", "product_name": "Pen"}, "8, 12, 13 or 14 digits"),
        ({"code": "40063813339 1", "product_name": "Pen"}, "only digits"),
        ({"code": "00000000", "product_name": "Pen"}, "all zeros"),
        ({"gtin": "4006381333931", "name": "x" * 501}, "name is longer than 500"),
        ({"gtin": "4006381333931", "name": "Pen", "brand": "b" * 201}, "brand is longer"),
        (
            {"gtin": "4006381333931", "name": "Pen", "description": "d" * 5001},
            "description is longer",
        ),
        (
            {"gtin": "4006381333931", "name": "Pen", "ingredients": "i" * 10001},
            "ingredients is longer",
        ),
        ({"gtin": "4006381333931", "name": "Pen", "gpc_brick_code": "1000123"}, "8 digits"),
        ({"gtin": "4006381333931", "name": "Pen\x00"}, "NUL"),
        ({"gtin": "4006381333931", "name": "Pen", "image_urls": ["/img/p.jpg"]}, "http(s)"),
        ({"gtin": "4006381333931", "name": "Pen", "image_urls": [1]}, "array of strings"),
        ({"code": "4006381333931", "product_name": ["Pen"]}, "product_name must be a string"),
    ],
)
def test_jsonl_row_validation(tmp_path: Path, record: dict[str, object], message: str) -> None:
    path = write(tmp_path / "p.jsonl", json.dumps(record) + "\n")

    [item] = read_catalog(path)

    assert isinstance(item, RowError)
    assert item.line == 1
    assert message in item.message


def test_limits_are_inclusive(tmp_path: Path) -> None:
    record = {
        "gtin": "4006381333931",
        "name": "n" * 500,
        "brand": "b" * 200,
        "description": "d" * 5000,
        "ingredients": "i" * 10000,
    }
    path = write(tmp_path / "p.jsonl", json.dumps(record) + "\n")

    [item] = read_catalog(path)

    assert isinstance(item, CatalogRow)


def test_an_overlong_line_is_rejected_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog_files, "_MAX_LINE_BYTES", 100)
    good = json.dumps({"code": "4006381333931", "product_name": "Pen"})
    long = json.dumps({"code": "96385074", "product_name": "w" * 500})
    path = write(tmp_path / "p.jsonl", f"{long}\n{good}\n")

    items = list(read_catalog(path))

    assert items == [
        RowError(1, "line is longer than 100 bytes"),
        CatalogRow(gtin="04006381333931", name="Pen"),
    ]


# --- gzip, formats, counting --------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "name"), [(CSV_SAMPLE, "c.csv.gz"), (JSONL_SAMPLE, "p.jsonl.gz")]
)
def test_gzip_files_read_like_plain_ones(tmp_path: Path, sample: Path, name: str) -> None:
    path = write(tmp_path / name, gzip.compress(sample.read_bytes()))

    assert list(read_catalog(path)) == list(read_catalog(sample))
    assert count_lines(path) == count_lines(sample)


def test_gzip_is_recognised_by_content_with_an_explicit_format(tmp_path: Path) -> None:
    path = write(tmp_path / "export.data", gzip.compress(JSONL_SAMPLE.read_bytes()))

    assert list(read_catalog(path, format="jsonl")) == list(read_catalog(JSONL_SAMPLE))


def test_truncated_gzip_ends_with_an_error_instead_of_raising(tmp_path: Path) -> None:
    record = json.dumps({"code": "4006381333931", "product_name": "Pen"}) + "\n"
    compressed = gzip.compress((record * 2000).encode())
    path = write(tmp_path / "p.jsonl.gz", compressed[: len(compressed) // 2])

    items = list(read_catalog(path))

    last = items[-1]
    assert isinstance(last, RowError)
    assert "truncated or corrupt" in last.message
    assert all(isinstance(item, CatalogRow) for item in items[:-1])
    assert last.line == len(items)
    assert count_lines(path) >= len(items) - 1


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.csv", "gtin"),
        ("a.CSV.gz", "gtin"),
        ("a.jsonl", "Pen"),
        ("a.ndjson", "Pen"),
        ("a.jsonl.gz", "Pen"),
    ],
)
def test_auto_format_goes_by_extension(tmp_path: Path, name: str, expected: str) -> None:
    # The same bytes read as CSV (a header without a name column) or as JSON Lines.
    record = json.dumps({"code": "4006381333931", "product_name": "Pen"}) + "\n"
    path = write(tmp_path / name, gzip.compress(record.encode()) if ".gz" in name else record)

    [item] = read_catalog(path)

    text = item.message if isinstance(item, RowError) else item.name
    assert expected in text


def test_unknown_extension_or_format_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "catalog.txt"  # never created: nothing is opened
    with pytest.raises(ValueError, match="format="):
        read_catalog(path)
    with pytest.raises(ValueError, match="'auto', 'csv' or 'jsonl'"):
        read_catalog(path, format="xml")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", 0), (b"a\n", 1), (b"a\nb", 2), (b"\n\n\n", 3), (b"a\r\nb\r\n", 2)],
)
def test_count_lines(tmp_path: Path, content: bytes, expected: int) -> None:
    assert count_lines(write(tmp_path / "f.csv", content)) == expected
    assert count_lines(write(tmp_path / "f.csv.gz", gzip.compress(content))) == expected


def test_count_lines_of_the_samples() -> None:
    assert count_lines(CSV_SAMPLE) == 11
    assert count_lines(str(JSONL_SAMPLE)) == 10
