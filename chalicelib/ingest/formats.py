"""Decode an input file into series of raw bars, whatever Twelve Data shape it arrived in.

Detection is by content, never by file name alone: gzip by its magic bytes, JSON by its first
character, CSV by a header naming `datetime`. A file that is none of these, or whose JSON has no
Twelve Data shape, raises `InputRejected`, which the caller turns into a quarantine.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

import orjson

from chalicelib.ingest import limits
from chalicelib.ingest.columnar import ColumnarBars
from chalicelib.ingest.csv_input import parse_csv
from chalicelib.ingest.decoders import TypedBar, bar_dict
from chalicelib.ingest.decoders import columnar_document as _columnar_document
from chalicelib.ingest.decoders import typed_document as _typed_document
from chalicelib.ingest.exact_json import NotJson, RepeatedKeys, exact_document, repeats_keys
from chalicelib.ingest.input_types import (  # noqa: F401  (re-exported: callers import them from here)
    InputRejected,
    ParsedInput,
    Series,
    SymbolError,
    clip,
    symbol_from_key,
)

_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"
_NON_SPACE = re.compile(rb"\S")


def decode_input(raw: bytes, key: str, max_bytes: int) -> ParsedInput:
    """Decode `raw` (the object at `key`) into series and per-symbol errors."""
    if len(raw) > max_bytes:
        raise InputRejected("too_large", f"file is {len(raw)} bytes, over the {max_bytes} limit")
    data = _gunzip(raw, max_bytes) if raw[:2] == _GZIP_MAGIC else raw
    bom = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    first = _NON_SPACE.search(data, bom)  # no lstrip(): that would copy a large file to read one byte
    text_start = data[first.start() : first.start() + 1] if first else b""
    if not text_start:
        raise InputRejected("empty", "file is empty")
    if text_start in (b"{", b"["):
        if bom:
            data = data[bom:]
            first = _NON_SPACE.search(data)
        document = _columnar_document(data, first.start())
        if document is None:
            document = _typed_document(data, first.start())
            if document is None:
                document = _generic_document(data)
            elif repeats_keys(data, first.start()):
                document = _exact_document(data)
        parsed = classify_document(document, symbol_from_key(key)[0])
    else:
        parsed = parse_csv(data, key, bom)  # the CSV reader skips the mark without copying the file
    limits.check_symbols(len(parsed.series) + len(parsed.errors))
    limits.check_bars(sum(len(series.values) for series in parsed.series))
    return parsed


def _exact_document(data: bytes, orjson_error: Exception | None = None) -> Any:
    """The exact reading (`exact_json.exact_document`); what it refuses is a `bad_json` file."""
    limits.check_generic_decode(data)
    try:
        return exact_document(data, orjson_error)
    except NotJson as exc:
        raise InputRejected("bad_json", f"not valid JSON: {exc}") from None


def _generic_document(data: bytes) -> Any:
    """orjson's reading, or the exact one when orjson refuses a number or would drop a repeated key.

    Both build a Python object per JSON value: a file that would need more memory than the
    function has is refused first (`limits.check_generic_decode`)."""
    limits.check_generic_decode(data)
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
    # Multi-symbol: a dict keyed by symbol. It must hold at least one response: a time series
    # (`values` or `meta`) or an error object. Another JSON document (an API schema, a config) is
    # a wrong shape, not a file of as many symbol errors as it has keys.
    if not any(_is_response(v) for _, v in _members(document)):
        raise InputRejected(
            "wrong_shape",
            "JSON object is not a Twelve Data response: expected a time series (meta, values), a /batch"
            " (code, status, data) or an object of them keyed by symbol; found keys " + _shown_keys(document),
        )
    parsed = ParsedInput(shape="multi_symbol")
    # A symbol repeated as a key keeps both its responses; their bars are validated as one series.
    for symbol, response in _members(document):
        _add(parsed, _series_or_error(response, str(symbol) or None))
    return parsed


def _is_response(value: Any) -> bool:
    return isinstance(value, dict) and ("values" in value or "meta" in value or _is_error_object(value))


def _shown_keys(document: dict) -> str:
    """The first keys of a document, each clipped, for a message (data quoted, not all of it)."""
    members = _members(document)
    return ", ".join(clip(str(key), 40) for key, _ in members[:12]) + (", …" if len(members) > 12 else "")


def _members(obj: dict) -> list:
    """Every (key, value) of a JSON object, a repeated key included."""
    return obj.pairs if isinstance(obj, RepeatedKeys) else list(obj.items())


def _add(parsed: ParsedInput, item: Series | SymbolError) -> None:
    (parsed.series if isinstance(item, Series) else parsed.errors).append(item)
