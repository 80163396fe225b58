"""Read a bar CSV (Twelve Data's `format=CSV`, or a spreadsheet export) into one series.

The header names the columns; a header without a datetime column is not a bar CSV (`not_csv`),
one with a datetime but not the four prices is a CSV of the wrong shape (`wrong_shape`). Both
messages name the columns expected and the columns found.
"""

from __future__ import annotations

import csv
from typing import Any

from chalicelib.ingest import limits
from chalicelib.ingest.csv_columns import read_plain_csv
from chalicelib.ingest.input_types import InputRejected, ParsedInput, Series, clip, symbol_from_key

_CSV_BLANKS = " \t"  # str.strip() alone would also take U+0085, U+00A0, U+2028… off a cell


def _csv_lines(text: str) -> tuple[list[str], str | None]:
    """(rows, stand-in): rows end at `\n` or `\r\n` only (a file with no `\n` at all: at `\r`).

    `str.splitlines()` would also end a row at U+0085, U+2028, U+2029, \x1c-\x1e, \x0b and \x0c,
    splitting one bar into two. A lone `\r` left inside a row, which the csv module refuses, is
    replaced by a stand-in character the text does not hold (put back in the cells), so the row
    stays one bar for the rules to judge instead of quarantining the file.
    """
    if "\n" not in text:
        return text.split("\r"), None
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    if not any("\r" in line for line in lines):
        return lines, None
    stand_in = next(chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text)
    return [line.replace("\r", stand_in) for line in lines], stand_in


def parse_csv(data: bytes, key: str, start: int = 0) -> ParsedInput:
    """The one series of a bar CSV (`data[start:]`), named by the file's key; `InputRejected` for
    a CSV that cannot be read or does not hold bars."""
    symbol, interval = symbol_from_key(key)
    meta = {"symbol": symbol, "interval": interval, "source": "csv"}
    plain = _plain_header(data, start)
    if plain is not None:
        header_line, body_start = plain
        delimiter = _delimiter(header_line)
        header = csv_header(header_line, delimiter)
        bars = read_plain_csv(data, body_start, header, delimiter)
        if bars is not None:
            limits.check_bars(len(bars))
            return ParsedInput(shape="csv", series=[Series(symbol=symbol, interval=interval, meta=meta, values=bars)])
    return _parse_rows(data[start:] if start else data, meta)


def _delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") >= header_line.count(",") else ","


def _plain_header(data: bytes, start: int) -> tuple[str, int] | None:
    """(header line, where the rows start) when the header is the first non-blank `\n`-ended
    ASCII line, as the row-by-row reader would find it; None otherwise (that reader decides)."""
    at = start
    while True:
        line_end = data.find(b"\n", at)
        if line_end < 0:
            return None
        try:
            line = data[at:line_end].decode("ascii")
        except UnicodeDecodeError:
            return None
        line = line[:-1] if line.endswith("\r") else line
        if "\r" in line:
            return None
        if line.strip():
            return line, line_end + 1
        at = line_end + 1


def _parse_rows(data: bytes, meta: dict) -> ParsedInput:
    """The row-by-row reading: any CSV the csv module reads, at about 800 bytes a row of six cells."""
    symbol, interval = meta["symbol"], meta["interval"]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputRejected("not_text", "file is neither JSON nor UTF-8 CSV text") from None
    lines, cr_stand_in = _csv_lines(text)
    header_at = next((i for i, line in enumerate(lines) if line.strip()), None)
    header_line = lines[header_at] if header_at is not None else ""
    delimiter = _delimiter(header_line)
    header = csv_header(header_line, delimiter)
    limits.check_generic_csv(len(lines) - header_at - 1, len(header))
    values = []
    reader = csv.reader(lines[header_at + 1 :], delimiter=delimiter)
    try:
        for row in reader:
            if not row or all(not cell.strip(_CSV_BLANKS) for cell in row):
                continue
            if cr_stand_in is not None:
                row = [cell.replace(cr_stand_in, "\r") for cell in row]
            bar: dict[str, Any] = {
                name: cell.strip(_CSV_BLANKS) for name, cell in zip(header, row, strict=False) if name
            }
            if len(row) > len(header):
                bar["_extra"] = row[len(header) :]
            values.append(bar)
    except csv.Error as exc:
        raise InputRejected("bad_csv", f"CSV row {header_at + 1 + reader.line_num} cannot be read: {exc}") from None
    return ParsedInput(shape="csv", series=[Series(symbol=symbol, interval=interval, meta=meta, values=values)])


# Header names other tools write for the bar fields (Yahoo Finance: `Date,Open,…,Adj Close,Volume`).
_CSV_ALIASES = {"date": "datetime"}
_CSV_IGNORED = frozenset({"adj close", "adj_close", "adjclose", "adjusted close", "adjusted_close"})
_CSV_EXPECTED = "datetime (or date), open, high, low, close, volume (optional)"
_CSV_REQUIRED = ("open", "high", "low", "close")


def csv_header(header_line: str, delimiter: str) -> list[str | None]:
    """The bar field each CSV column holds, case-insensitively; None for a column that is ignored
    (`Adj Close`). A header without a datetime column is not a bar CSV (`not_csv`); one without
    the four prices is a wrong shape (`wrong_shape`), not a file of bars each missing a field.
    Either error names the columns expected and the columns found."""
    try:
        found = [h.strip() for h in next(csv.reader([header_line], delimiter=delimiter))]
    except csv.Error as exc:
        raise InputRejected("bad_csv", f"CSV header cannot be read: {exc}") from None
    names = [h.lower() for h in found]
    header: list[str | None] = [None if h in _CSV_IGNORED else _CSV_ALIASES.get(h, h) for h in names]
    shown = ", ".join(clip(h, 40) for h in found[:12]) + (", …" if len(found) > 12 else "")
    if header.count("datetime") != 1 or len(header) < 2:
        raise InputRejected(
            "not_csv",
            f"file is neither JSON nor a bar CSV: expected columns {_CSV_EXPECTED}; found {shown or 'nothing'}",
        )
    absent = [name for name in _CSV_REQUIRED if name not in header]
    if absent:
        raise InputRejected(
            "wrong_shape",
            f"CSV header lacks {', '.join(absent)}: expected columns {_CSV_EXPECTED}; found {shown}",
        )
    return header
