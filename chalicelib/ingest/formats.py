"""Decode an input file into series of raw bars, whatever Twelve Data shape it arrived in.

Detection is by content, never by file name alone: gzip by its magic bytes, JSON by its first
character, CSV by a header naming `datetime`. A file that is none of these, or whose JSON has no
Twelve Data shape, raises `InputRejected`, which the caller turns into a quarantine.
"""

from __future__ import annotations

import csv
import posixpath
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from chalicelib.ingest.columnar import ColumnarBars
from chalicelib.ingest.decoders import TypedBar, bar_dict
from chalicelib.ingest.decoders import columnar_document as _columnar_document
from chalicelib.ingest.decoders import typed_document as _typed_document
from chalicelib.ingest.exact_json import NotJson, RepeatedKeys, exact_document, repeats_keys

_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"
_KNOWN_EXTENSIONS = (".csv", ".txt", ".json", ".jsonl", ".tsv")
_NON_SPACE = re.compile(rb"\S")
_INTERVAL_RE = re.compile(r"[0-9]+(min|h|day|week|month)")


class InputRejected(Exception):
    """The whole file is unusable; `reason` is a short machine id, the message says why."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class Series:
    """The bars of one symbol as delivered (`values` untouched), with its meta."""

    symbol: str
    interval: str | None
    meta: dict
    values: list


@dataclass
class SymbolError:
    """A per-symbol error object (or a response that is not a time series) inside a file."""

    symbol: str | None
    message: str
    payload: Any


@dataclass
class ParsedInput:
    shape: str  # time_series | multi_symbol | batch | csv | error
    series: list[Series] = field(default_factory=list)
    errors: list[SymbolError] = field(default_factory=list)


def decode_input(raw: bytes, key: str, max_bytes: int) -> ParsedInput:
    """Decode `raw` (the object at `key`) into series and per-symbol errors."""
    if len(raw) > max_bytes:
        raise InputRejected("too_large", f"file is {len(raw)} bytes, over the {max_bytes} limit")
    data = _gunzip(raw, max_bytes) if raw[:2] == _GZIP_MAGIC else raw
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    first = _NON_SPACE.search(data)  # no lstrip(): that would copy a large file to read one byte
    text_start = data[first.start() : first.start() + 1] if first else b""
    if not text_start:
        raise InputRejected("empty", "file is empty")
    if text_start in (b"{", b"["):
        document = _columnar_document(data, first.start())
        if document is None:
            document = _typed_document(data, first.start())
            if document is None:
                document = _generic_document(data)
            elif repeats_keys(data, first.start()):
                document = _exact_document(data)
        return classify_document(document, symbol_from_key(key)[0])
    return _parse_csv(data, key)


def _exact_document(data: bytes, orjson_error: Exception | None = None) -> Any:
    """The exact reading (`exact_json.exact_document`); what it refuses is a `bad_json` file."""
    try:
        return exact_document(data, orjson_error)
    except NotJson as exc:
        raise InputRejected("bad_json", f"not valid JSON: {exc}") from None


def _generic_document(data: bytes) -> Any:
    """orjson's reading, or the exact one when orjson refuses a number or would drop a repeated key."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        # A number beyond what a double holds (`1e400`) is a bad bar, not a bad file: read the
        # file again keeping it as text, so the rules reject that one bar.
        if "number" not in str(exc):
            raise InputRejected("bad_json", f"not valid JSON: {exc}") from None
        return _exact_document(data, exc)
    if isinstance(document, dict) and repeats_keys(data, _NON_SPACE.search(data).start()):
        return _exact_document(data)
    return document


_GUNZIP_FIRST_PIECE = 256  # input bytes first handed to a member's inflater; doubled while the member goes on
_GUNZIP_MAX_PIECE = 1 << 20


def _gunzip(raw: bytes, max_bytes: int) -> bytes:
    """Every gzip member, one after the other, in linear time and at most `max_bytes` of output.

    zlib copies whatever follows a member's end (`unused_data`) out of the input it was handed.
    Handing it the whole rest of the file made many small members quadratic. Here each member is
    fed pieces that start small and double, so the copy at its end is at most about the member's
    own size, and the next member starts from a position in the file, not from that copy.
    """
    out = bytearray()
    view = memoryview(raw)
    position, size = 0, len(raw)
    try:
        while position < size:
            inflater = zlib.decompressobj(wbits=31)
            piece = _GUNZIP_FIRST_PIECE
            while not inflater.eof:
                if position >= size:
                    raise InputRejected("bad_gzip", "gzip stream is truncated")
                chunk = view[position : position + piece]
                out += inflater.decompress(chunk, max_bytes + 1 - len(out))
                if len(out) > max_bytes:
                    raise InputRejected("too_large", f"decompressed size exceeds the {max_bytes}-byte limit")
                # Below the output limit the whole chunk is consumed, or the member ended inside it.
                position += len(chunk) - len(inflater.unused_data)
                piece = min(piece * 2, _GUNZIP_MAX_PIECE)
    except zlib.error as exc:
        raise InputRejected("bad_gzip", f"cannot decompress gzip: {exc}") from None
    return bytes(out)


def symbol_from_key(key: str) -> tuple[str, str | None]:
    """`inputs/AAPL_1day.csv.gz` -> (`AAPL`, `1day`); `inputs/MSFT.csv` -> (`MSFT`, None).

    The symbol is the name up to the first `_`; the interval is the first later `_` part that
    looks like a Twelve Data interval (`1min`, `4h`, `1day`, `1week`, `1month`).
    """
    name = posixpath.basename(key)
    if name.lower().endswith(".gz"):
        name = name[:-3]
    for ext in _KNOWN_EXTENSIONS:
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    symbol, *rest = name.split("_")
    interval = next((part for part in rest if _INTERVAL_RE.fullmatch(part)), None)
    return symbol, interval


def _is_error_object(obj: dict) -> bool:
    return obj.get("status") == "error" or ("code" in obj and "message" in obj and "values" not in obj)


def _error_from(obj: Any, symbol: str | None, default_message: str) -> SymbolError:
    message = default_message
    if isinstance(obj, dict) and isinstance(obj.get("message"), str):
        code = obj.get("code")
        # Only a plain code goes into the message: a nested one is data, kept in the payload.
        message = f"{code}: {obj['message']}" if isinstance(code, (int, str)) else obj["message"]
    return SymbolError(symbol=symbol, message=message, payload=_plain_response(obj))


def _plain_response(obj: Any) -> Any:
    """An error payload as the generic decoder gives it: typed bars as dicts again.

    A typed document holds bars at most two levels down (document -> response -> values), and an
    error payload can be a response or the whole document.
    """
    if not isinstance(obj, dict):
        return obj
    if _has_typed_bars(obj):
        return {**obj, "values": list(map(bar_dict, obj["values"]))}
    if any(isinstance(value, dict) and _has_typed_bars(value) for value in obj.values()):
        return {key: _plain_response(value) for key, value in obj.items()}
    return obj


def _has_typed_bars(response: dict) -> bool:
    values = response.get("values")
    return isinstance(values, ColumnarBars) or (
        isinstance(values, list) and bool(values) and isinstance(values[0], TypedBar)
    )


def _meta_symbol(obj: dict) -> str | None:
    """The symbol a response names: `meta.symbol`, else a top-level `symbol` (quotes, rates)."""
    meta = obj.get("meta")
    for candidate in (meta.get("symbol") if isinstance(meta, dict) else None, obj.get("symbol")):
        if candidate not in (None, ""):
            return str(candidate)
    return None


def _series_or_error(obj: Any, symbol: str | None) -> Series | SymbolError:
    """One response: a time series, or the reason it cannot be one."""
    if not isinstance(obj, dict):
        return _error_from(obj, symbol, "response is not a JSON object")
    if _is_error_object(obj):
        return _error_from(obj, symbol or _meta_symbol(obj), "error response")
    values = obj.get("values")
    if not isinstance(values, (list, ColumnarBars)):
        return _error_from(obj, symbol or _meta_symbol(obj), "response is not a time series (no `values` list)")
    meta = obj.get("meta") if isinstance(obj.get("meta"), dict) else {}
    interval = meta.get("interval")
    return Series(
        # No symbol at all is an empty one: its bars become `bad_symbol`, never an invented name.
        symbol=symbol or _meta_symbol(obj) or "",
        interval=str(interval) if interval not in (None, "") else None,
        meta=meta,
        values=values,
    )


def classify_document(document: Any, fallback_symbol: str) -> ParsedInput:
    """Sort a decoded JSON document into series and per-symbol errors by its Twelve Data shape."""
    if not isinstance(document, dict):
        raise InputRejected("wrong_shape", f"top-level JSON is a {type(document).__name__}, expected an object")
    if not document:
        raise InputRejected("wrong_shape", "top-level JSON object is empty")
    if _is_error_object(document) and "data" not in document:
        # The error's own symbol, or none: a 429 names no symbol, and the file name is not one.
        parsed = ParsedInput(shape="error")
        parsed.errors.append(_error_from(document, _meta_symbol(document), "error response"))
        return parsed
    if "values" in document or "meta" in document:
        if isinstance(document, RepeatedKeys) and [name for name, _ in document.pairs].count("values") > 1:
            # Two bar lists for one symbol: refusing the file is the only answer that drops neither.
            raise InputRejected("wrong_shape", "the time series holds `values` more than once")
        parsed = ParsedInput(shape="time_series")
        _add(parsed, _series_or_error(document, _meta_symbol(document) or fallback_symbol))
        return parsed
    if isinstance(document.get("data"), dict) and ("code" in document or "status" in document):
        parsed = ParsedInput(shape="batch")
        for request_id, entry in _members(document["data"]):
            if isinstance(entry, dict) and "response" in entry:
                response = entry["response"]
                symbol = _meta_symbol(response) if isinstance(response, dict) else None
                if entry.get("status") == "error" and not (isinstance(response, dict) and _is_error_object(response)):
                    _add(parsed, _error_from(entry, symbol, f"{request_id}: request failed"))
                else:
                    _add(parsed, _series_or_error(response, symbol))
            else:
                _add(parsed, _error_from(entry, None, f"{request_id}: batch entry has no `response`"))
        return parsed
    # Multi-symbol: a dict keyed by symbol. It must hold at least one response-like object.
    if not any(isinstance(v, dict) for v in document.values()):
        raise InputRejected(
            "wrong_shape", "JSON object has no Twelve Data shape (no meta/values, data, or symbol keys)"
        )
    parsed = ParsedInput(shape="multi_symbol")
    # A symbol repeated as a key keeps both its responses; their bars are validated as one series.
    for symbol, response in _members(document):
        _add(parsed, _series_or_error(response, str(symbol) or None))
    return parsed


def _members(obj: dict) -> list:
    """Every (key, value) of a JSON object, a repeated key included."""
    return obj.pairs if isinstance(obj, RepeatedKeys) else list(obj.items())


def _add(parsed: ParsedInput, item: Series | SymbolError) -> None:
    (parsed.series if isinstance(item, Series) else parsed.errors).append(item)


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


def _parse_csv(data: bytes, key: str) -> ParsedInput:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputRejected("not_text", "file is neither JSON nor UTF-8 CSV text") from None
    lines, cr_stand_in = _csv_lines(text)
    header_at = next((i for i, line in enumerate(lines) if line.strip()), None)
    header_line = lines[header_at] if header_at is not None else ""
    delimiter = ";" if header_line.count(";") >= header_line.count(",") else ","
    header = csv_header(header_line, delimiter)
    symbol, interval = symbol_from_key(key)
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
    meta = {"symbol": symbol, "interval": interval, "source": "csv"}
    return ParsedInput(shape="csv", series=[Series(symbol=symbol, interval=interval, meta=meta, values=values)])


# Header names other tools write for the bar fields (Yahoo Finance: `Date,Open,…,Adj Close,Volume`).
_CSV_ALIASES = {"date": "datetime"}
_CSV_IGNORED = frozenset({"adj close", "adj_close", "adjclose", "adjusted close", "adjusted_close"})
_CSV_EXPECTED = "datetime (or date), open, high, low, close, volume"


def csv_header(header_line: str, delimiter: str) -> list[str | None]:
    """The bar field each CSV column holds, case-insensitively; None for a column that is ignored
    (`Adj Close`). A header without a datetime column is not a bar CSV: the error names the
    columns expected and the columns found."""
    try:
        found = [h.strip() for h in next(csv.reader([header_line], delimiter=delimiter))]
    except csv.Error as exc:
        raise InputRejected("bad_csv", f"CSV header cannot be read: {exc}") from None
    names = [h.lower() for h in found]
    header: list[str | None] = [None if h in _CSV_IGNORED else _CSV_ALIASES.get(h, h) for h in names]
    if header.count("datetime") != 1 or len(header) < 2:
        shown = ", ".join(clip(h, 40) for h in found[:12]) + (", …" if len(found) > 12 else "")
        raise InputRejected(
            "not_csv",
            f"file is neither JSON nor a bar CSV: expected columns {_CSV_EXPECTED}; found {shown or 'nothing'}",
        )
    return header


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, marked when cut (a message quotes data, not all of it)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
