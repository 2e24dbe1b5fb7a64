"""Reading catalog import files: parse and validate rows; storing them is done elsewhere.

Two formats, each plain or gzip-compressed (recognised by the gzip magic bytes, so a
``.gz`` suffix is not required):

* CSV with a header row. Columns: ``gtin``, ``name`` (both required), ``brand``,
  ``description``, ``category``, ``gpc_brick_code``, ``gpc_brick_label``, ``ingredients``,
  ``image_urls`` (separated by ``|`` or whitespace). Header names are matched without regard to
  case or surrounding spaces; other columns are ignored. The delimiter is ``,``, or ``;`` or a
  tab when the header only makes sense split that way (spreadsheets in many locales).
* JSON Lines, one object a line, with our field names (``image_urls`` a list or a string as in
  CSV) or those of the Open Food Facts JSONL export: ``code`` -> gtin; ``product_name``, then
  ``product_name_en``, then ``generic_name`` -> name; the first of the comma-separated
  ``brands`` -> brand; ``generic_name`` -> description; the last (most specific) of the
  comma-separated ``categories``, else the last of ``categories_tags`` (a taxonomy id such as
  ``en:hazelnut-spreads``) -> category; ``ingredients_text`` -> ingredients;
  ``image_front_url`` and ``image_url`` -> image_urls. Our name wins when both are present and
  not empty; every other key is ignored.

:func:`read_catalog` yields a :class:`CatalogRow` per valid row and a :class:`RowError` per
rejected one, with the 1-based physical line number (CSV: the header is line 1; a quoted value
spanning lines is reported at its row's first line), and keeps going. Blank lines are skipped.
It stops after one error only when it cannot go on: a CSV header without ``gtin`` or ``name``,
or a compressed file that is truncated or corrupt. Files are read line by line, never whole
(Open Food Facts exports are gigabytes); a line longer than 16 MiB is rejected unread.

Validation: the GTIN must be a GTIN-8/12/13/14 with a correct check digit and is stored as
its GTIN-14; name is required. Limits in characters: name 500, brand 200, description 5000,
category 500, gpc_brick_label 500, ingredients 10000. ``gpc_brick_code`` is empty or 8 digits.
Image URLs are absolute http(s) URLs of at most 2048 characters, at most 20 of them,
duplicates dropped. Text is stripped of surrounding whitespace and must not contain NUL
(PostgreSQL text cannot hold it). The file must be UTF-8 (a leading BOM is allowed); a line
that is not is rejected on its own.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import os
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple, TypeAlias
from urllib.parse import urlsplit

from biip import ParseError
from biip.gtin import Gtin

from scanserve.plugins.providers import ProductRecord

CatalogFormat = Literal["auto", "csv", "jsonl"]


# A valid row is a product record like any lookup provider's (its ``gtin`` normalised).
CatalogRow: TypeAlias = ProductRecord


@dataclass(frozen=True)
class RowError:
    """A rejected row: 1-based physical ``line`` in the file and why, for the import report."""

    line: int
    message: str


_COLUMNS = (
    "gtin",
    "name",
    "brand",
    "description",
    "category",
    "gpc_brick_code",
    "gpc_brick_label",
    "ingredients",
    "image_urls",
)
_REQUIRED_COLUMNS = ("gtin", "name")
_MAX_CHARS = {
    "name": 500,
    "brand": 200,
    "description": 5000,
    "category": 500,
    "gpc_brick_label": 500,
    "ingredients": 10000,
}
_MAX_URL_CHARS = 2048
_MAX_IMAGE_URLS = 20
_MAX_LINE_BYTES = 16 * 1024 * 1024
_CHUNK_BYTES = 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_URL_SEPARATORS = re.compile(r"[|\s]+")


def read_catalog(
    path: str | os.PathLike[str],
    *,
    format: CatalogFormat = "auto",
) -> Iterator[CatalogRow | RowError]:
    """Yield the rows of a catalog file, valid or not, in file order (see the module docstring).

    ``format="auto"`` goes by the extension: ``.csv``, ``.jsonl`` or ``.ndjson``, each
    optionally followed by ``.gz``. Raises ValueError at once for an unknown format or
    extension; the file is opened on the first ``next()``.
    """
    path = Path(path)
    if _resolve_format(path, format) == "csv":
        return _read_csv(path)
    return _read_jsonl(path)


def count_lines(path: str | os.PathLike[str]) -> int:
    """Physical lines in the file (decompressed), for a progress bar's total.

    Counts the header and blank lines too, so it bounds the number of rows read_catalog yields.
    A truncated or corrupt ``.gz`` counts the lines that can be read.
    """
    count = 0
    ends_with_newline = True
    with (
        _open_binary(Path(path)) as f,
        contextlib.suppress(EOFError, zlib.error, gzip.BadGzipFile),
    ):
        while chunk := f.read1(_CHUNK_BYTES):
            count += chunk.count(b"\n")
            ends_with_newline = chunk.endswith(b"\n")
    return count if ends_with_newline else count + 1


def _resolve_format(path: Path, requested: str) -> Literal["csv", "jsonl"]:
    if requested == "csv":
        return "csv"
    if requested == "jsonl":
        return "jsonl"
    if requested != "auto":
        raise ValueError(f"format must be 'auto', 'csv' or 'jsonl', got {requested!r}")
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    raise ValueError(
        f"cannot tell the format of {path.name!r} from its extension "
        "(.csv, .jsonl or .ndjson, optionally .gz); pass format='csv' or format='jsonl'"
    )


def _open_binary(path: Path) -> io.BufferedIOBase:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == _GZIP_MAGIC:
        return gzip.open(path, "rb")
    return open(path, "rb")


class _Unreadable(Exception):
    """The rest of the file cannot be read (a truncated or corrupt gzip stream)."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


class _Line(NamedTuple):
    number: int
    data: bytes
    problem: str = ""  # why the line is rejected unread (data is then empty)


def _physical_lines(f: io.BufferedIOBase) -> Iterator[_Line]:
    number = 0
    try:
        while data := f.readline(_MAX_LINE_BYTES + 1):
            number += 1
            if len(data) > _MAX_LINE_BYTES and not data.endswith(b"\n"):
                # Skip the rest of the line in bounded pieces rather than hold it.
                while (rest := f.readline(_CHUNK_BYTES)) and not rest.endswith(b"\n"):
                    pass
                yield _Line(number, b"", f"line is longer than {_MAX_LINE_BYTES} bytes")
            else:
                yield _Line(number, data)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise _Unreadable(
            number + 1,
            f"the compressed file is truncated or corrupt, nothing more read: {exc}",
        ) from exc


def _text(line: _Line) -> str:
    """The line as text; ValueError with the report's message when rejected or not UTF-8."""
    if line.problem:
        raise ValueError(line.problem)
    try:
        text = line.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"line is not valid UTF-8 (byte 0x{line.data[exc.start]:02x} at offset "
            f"{exc.start}); save the file as UTF-8"
        ) from None
    return text.removeprefix("\ufeff") if line.number == 1 else text


# --- JSON Lines ---------------------------------------------------------------------------


def _read_jsonl(path: Path) -> Iterator[CatalogRow | RowError]:
    with _open_binary(path) as f:
        try:
            for line in _physical_lines(f):
                lineno = line.number
                try:
                    text = _text(line).strip()
                except ValueError as exc:
                    yield RowError(lineno, str(exc))
                    continue
                if not text:
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield RowError(lineno, f"invalid JSON: {exc.msg} at column {exc.colno}")
                    continue
                except (ValueError, RecursionError) as exc:  # huge integers, deep nesting
                    yield RowError(lineno, f"invalid JSON: {type(exc).__name__}")
                    continue
                if not isinstance(obj, dict):
                    yield RowError(lineno, f"expected a JSON object, got {_json_type(obj)}")
                    continue
                yield _row_from_json(obj, lineno)
        except _Unreadable as exc:
            yield RowError(exc.line, str(exc))


class _FieldTypeError(Exception):
    pass


def _first_text(obj: Mapping[str, object], *keys: str) -> str:
    """The first of ``keys`` holding a non-blank string, stripped; "" when none does."""
    for key in keys:
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise _FieldTypeError(f"{key} must be a string, got {_json_type(value)}")
        if value.strip():
            return value.strip()
    return ""


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", bool: "a boolean", str: "a string"}
    return names.get(type(value), "a number")


def _row_from_json(obj: Mapping[str, object], lineno: int) -> CatalogRow | RowError:
    try:
        gtin = _first_text(obj, "gtin", "code")
        name = _first_text(obj, "name", "product_name", "product_name_en", "generic_name")
        brand = _first_text(obj, "brand") or _first_item(_first_text(obj, "brands"))
        category = _first_text(obj, "category") or _last_item(_first_text(obj, "categories"))
        if not category:
            category = _last_tag(obj)
        images = _json_image_urls(obj)
        row = {
            "gtin": gtin,
            "name": name,
            "brand": brand,
            "description": _first_text(obj, "description", "generic_name"),
            "category": category,
            "gpc_brick_code": _first_text(obj, "gpc_brick_code"),
            "gpc_brick_label": _first_text(obj, "gpc_brick_label"),
            "ingredients": _first_text(obj, "ingredients", "ingredients_text"),
        }
    except _FieldTypeError as exc:
        return RowError(lineno, str(exc))
    return _validate(row, images, lineno)


def _first_item(value: str) -> str:
    return next((part.strip() for part in value.split(",") if part.strip()), "")


def _last_item(value: str) -> str:
    parts = [part.strip() for part in value.split(",") if part.strip()]
    return parts[-1] if parts else ""


def _last_tag(obj: Mapping[str, object]) -> str:
    tags = obj.get("categories_tags")
    if tags is None:
        return ""
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise _FieldTypeError("categories_tags must be an array of strings")
    stripped = [tag.strip() for tag in tags if tag.strip()]
    return stripped[-1] if stripped else ""


def _json_image_urls(obj: Mapping[str, object]) -> list[str]:
    ours = obj.get("image_urls")
    if isinstance(ours, list):
        if not all(isinstance(url, str) for url in ours):
            raise _FieldTypeError("image_urls must be an array of strings")
        urls = [url.strip() for url in ours if url.strip()]
    elif ours is None or isinstance(ours, str):
        urls = _split_urls(ours or "")
    else:
        raise _FieldTypeError(f"image_urls must be an array or a string, got {_json_type(ours)}")
    if urls:
        return urls
    return [url for key in ("image_front_url", "image_url") if (url := _first_text(obj, key))]


def _split_urls(value: str) -> list[str]:
    return [url for url in _URL_SEPARATORS.split(value) if url]


# --- CSV ----------------------------------------------------------------------------------


def _read_csv(path: Path) -> Iterator[CatalogRow | RowError]:
    with _open_binary(path) as f:
        lines = _physical_lines(f)
        try:
            yield from _csv_rows(lines)
        except _Unreadable as exc:
            yield RowError(exc.line, str(exc))


def _csv_rows(lines: Iterator[_Line]) -> Iterator[CatalogRow | RowError]:
    header = _csv_header(next(lines, None))
    if isinstance(header, RowError):
        yield header
        return
    delimiter, columns = header

    # Lines rejected before the csv module sees them; each stands in as an empty line so the
    # reader's line count stays in step with the file's.
    rejected: dict[int, str] = {}

    def text_lines() -> Iterator[str]:
        for line in lines:
            try:
                text = _text(line)
            except ValueError as exc:
                rejected[line.number] = str(exc)
                text = "\n"
            yield text

    reader = csv.reader(text_lines(), delimiter=delimiter)
    last_line = 1  # the header's; reader.line_num counts from line 2
    while True:
        try:
            record: list[str] | None = next(reader)
            problem = ""
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. an unclosed quote running past the field size limit
            record, problem = None, f"malformed CSV: {exc}"
        start, last_line = last_line + 1, reader.line_num + 1
        bad = sorted(line for line in rejected if line <= last_line)
        if bad:
            yield RowError(bad[0], rejected[bad[0]])
            for line in bad:
                del rejected[line]
        elif record is None:
            yield RowError(start, problem)
        elif any(value.strip() for value in record):
            yield _csv_record(record, columns, start)


def _csv_header(
    first: _Line | None,
) -> tuple[str, list[str]] | RowError:
    """The delimiter and column names, or the error that stops the file at line 1."""
    if first is None:
        return RowError(1, "the file is empty; expected a header row")
    try:
        delimiter, columns = _parse_header(_text(first))
    except ValueError as exc:
        return RowError(1, str(exc))
    missing = [column for column in _REQUIRED_COLUMNS if column not in columns]
    if missing:
        return RowError(
            1,
            f"missing required column(s): {', '.join(missing)}; "
            f"the header has: {', '.join(columns) or 'nothing'}",
        )
    duplicated = sorted({c for c in columns if c in _COLUMNS and columns.count(c) > 1})
    if duplicated:
        return RowError(1, f"column(s) named more than once: {', '.join(duplicated)}")
    return delimiter, columns


def _csv_record(record: list[str], columns: list[str], lineno: int) -> CatalogRow | RowError:
    if any(value.strip() for value in record[len(columns) :]):
        return RowError(lineno, f"the row has {len(record)} fields, the header {len(columns)}")
    values = dict(zip(columns, record, strict=False))
    fields = {column: values.get(column, "").strip() for column in _COLUMNS}
    return _validate(fields, _split_urls(fields.pop("image_urls")), lineno)


def _parse_header(text: str) -> tuple[str, list[str]]:
    """The delimiter and the normalised column names; "," unless another fits better."""
    fallback: list[str] = []
    for delimiter in (",", ";", "\t"):
        columns = [
            name.strip().lower() for name in next(csv.reader([text], delimiter=delimiter), [])
        ]
        if all(column in columns for column in _REQUIRED_COLUMNS):
            return delimiter, columns
        if delimiter == ",":
            fallback = columns
    return ",", fallback


# --- Validation ---------------------------------------------------------------------------


def _validate(
    fields: Mapping[str, str], image_urls: list[str], lineno: int
) -> CatalogRow | RowError:
    problems: list[str] = []
    gtin = ""
    try:
        gtin = _normalise_gtin(fields.get("gtin", ""))
    except ValueError as exc:
        problems.append(str(exc))
    if not fields.get("name"):
        problems.append("name is required")
    for field, limit in _MAX_CHARS.items():
        value = fields.get(field, "")
        if len(value) > limit:
            problems.append(f"{field} is longer than {limit} characters ({len(value)})")
    if any("\x00" in value for value in fields.values()):
        problems.append("text must not contain NUL characters")
    brick = fields.get("gpc_brick_code", "")
    if brick and not (len(brick) == 8 and brick.isascii() and brick.isdigit()):
        problems.append(f"gpc_brick_code must be empty or 8 digits, got {_short(brick)}")
    urls = list(dict.fromkeys(image_urls))
    if len(urls) > _MAX_IMAGE_URLS:
        problems.append(f"at most {_MAX_IMAGE_URLS} image URLs, got {len(urls)}")
    for url in urls:
        problem = _url_problem(url)
        if problem:
            problems.append(problem)
    if problems:
        return RowError(lineno, "; ".join(problems))
    return CatalogRow(
        gtin=gtin,
        name=fields["name"],
        brand=fields.get("brand", ""),
        description=fields.get("description", ""),
        category=fields.get("category", ""),
        gpc_brick_code=brick,
        gpc_brick_label=fields.get("gpc_brick_label", ""),
        ingredients=fields.get("ingredients", ""),
        image_urls=tuple(urls),
    )


def _url_problem(url: str) -> str:
    if len(url) > _MAX_URL_CHARS:
        return f"image URL longer than {_MAX_URL_CHARS} characters"
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"image URL is not a valid URL: {_short(url)}"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return f"image URL must be an absolute http(s) URL, got {_short(url)}"
    return ""


def _normalise_gtin(value: str) -> str:
    """The GTIN-14 form of a GTIN-8/12/13/14; ValueError with a message for the report."""
    if not value:
        raise ValueError("gtin is required")
    if not (value.isascii() and value.isdigit()):
        raise ValueError(f"gtin must contain only digits, got {_short(value)}")
    if len(value) not in (8, 12, 13, 14):
        raise ValueError(f"gtin must have 8, 12, 13 or 14 digits, got {len(value)}")
    if not value.strip("0"):
        raise ValueError("gtin must not be all zeros")
    try:
        # The default ParseConfig has no RCN region: store-internal numbers (prefixes 02,
        # 20-29) are checked and kept as they are, with no weight or price read from them.
        return Gtin.parse(value).as_gtin_14()
    except ParseError as exc:
        raise ValueError(f"gtin is not valid: {exc}") from None


def _short(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")
