"""The fast JSON decoders for the common file: columnar (bar lists kept as bytes) and typed (structs).

Both give a document of the generic decoder's shape (responses as dicts, `values` as a bar
sequence), so `formats.classify_document` sorts it like any other; both return None for a file
they do not take, which then goes the generic way. Property tests hold all three to the same
outcome (`tests/test_columnar.py`, `tests/test_properties.py`).
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any

import msgspec
import numpy as np
import orjson

from chalicelib.ingest import columnar, limits
from chalicelib.ingest.exact_json import repeats_keys

# A single time series starts with one of its own keys; anything else is read as multi-symbol.
FIRST_KEY_RE = re.compile(rb'\s*\{\s*"(meta|values|status)"')


class TypedBar(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """Base of the bar types the typed decoder builds: every field a string, nothing else."""


# A typed bar's numbers are strings of at most this many characters, so none can hold more
# significant digits than an analysis can store (rules.STORABLE_DIGITS) and the rules skip that
# check for them; a file with a longer one goes through the generic decoder, as any misfit does.
TYPED_NUMBER_MAX_CHARS = 38
_Number = Annotated[str, msgspec.Meta(max_length=TYPED_NUMBER_MAX_CHARS)]


class Bar(TypedBar):
    datetime: str
    open: _Number
    high: _Number
    low: _Number
    close: _Number
    volume: _Number


class BarWithoutVolume(TypedBar):
    """Forex pairs, indices and the like: Twelve Data sends no `volume` at all."""

    datetime: str
    open: _Number
    high: _Number
    low: _Number
    close: _Number


def _response_type(bar: type[TypedBar]) -> type[msgspec.Struct]:
    # meta and status are kept raw and decoded by orjson, so they come out exactly as the generic
    # path gives them (orjson and msgspec differ on integers wider than 64 bits, for one).
    return msgspec.defstruct(
        f"Response{bar.__name__}",
        [("values", list[bar]), ("meta", msgspec.Raw, msgspec.Raw()), ("status", msgspec.Raw, msgspec.Raw())],
        forbid_unknown_fields=True,
    )


_VOLUME_PROBE_BYTES = 1 << 16


@functools.cache
def _decoder(single: bool, volume: bool) -> msgspec.json.Decoder:
    response = _response_type(Bar if volume else BarWithoutVolume)
    return msgspec.json.Decoder(response if single else dict[str, response])


def typed_document(data: bytes, start: int) -> dict | None:
    """The common, well-typed file decoded straight into bar structs; None for anything else.

    A single time series or a multi-symbol object whose responses hold only `meta`, `values` and
    `status`, and whose bars hold exactly the bar fields as strings (with or without `volume`
    throughout). Building small structs instead of one dict per bar makes this several times
    faster than the generic decode and smaller in memory. The result has the generic document's
    shape (responses as dicts, bars as structs), so it is classified by the same code. Any file
    that does not fit gets None and goes through the generic decoder, which also gives the error
    for invalid JSON (msgspec refuses what orjson refuses: lone surrogates, invalid UTF-8, NaN).
    """
    single = FIRST_KEY_RE.match(data, start) is not None
    # The first bars tell whether the file has volume; if they mislead, the decode fails and the
    # generic decoder takes the file.
    decoder = _decoder(single, volume=data.find(b'"volume"', 0, _VOLUME_PROBE_BYTES) >= 0)
    try:
        decoded = decoder.decode(data)
    except Exception:  # msgspec refused it: the generic decoder decides (as below)
        return None
    if not single:
        limits.check_symbols(len(decoded))  # before shaping each of them
    try:
        if single:
            return _response_dict(decoded)
        return {symbol: _response_dict(response, level=2) for symbol, response in decoded.items()}
    # Whatever the fast path cannot take, the generic decoder decides: msgspec's refusals, orjson's
    # on a raw `meta`, and msgspec's RecursionError on nesting that orjson refuses as too deep.
    except Exception:
        return None


# orjson refuses a document nested deeper than this; msgspec's own limit follows the interpreter's
# C stack (Python 3.13 lets it go deeper than 3.11 did), so the raw parts are held to orjson's.
_ORJSON_MAX_DEPTH = 1024


def _response_dict(response: Any, values: Any = None, level: int = 1) -> dict:
    """A response as the generic decoder shapes it; `level`: the containers around it in the file."""
    document = {"values": response.values if values is None else values}
    for name in ("meta", "status"):
        raw = getattr(response, name)
        if raw:
            document[name] = _loads_at_depth(memoryview(raw), level)
    return document


def _loads_at_depth(raw: memoryview, level: int) -> Any:
    """orjson's reading of a part that sits inside `level` containers, refused where orjson would
    refuse the whole file for its depth (only a part of 2 bytes a level or more can be that deep)."""
    if len(raw) < 2 * (_ORJSON_MAX_DEPTH - level):
        return orjson.loads(raw)
    value = orjson.loads(b"[" * level + bytes(raw) + b"]" * level)
    for _ in range(level):
        value = value[0]
    return value


@functools.cache
def _skeleton_decoder(single: bool) -> msgspec.json.Decoder:
    response = msgspec.defstruct(
        "RawResponse",
        [("values", msgspec.Raw), ("meta", msgspec.Raw, msgspec.Raw()), ("status", msgspec.Raw, msgspec.Raw())],
        forbid_unknown_fields=True,
    )
    return msgspec.json.Decoder(response if single else dict[str, response])


def columnar_document(data: bytes, start: int) -> dict | None:
    """The common file with its bar lists kept as bytes and read as columns; None for anything else.

    msgspec checks the whole file is JSON and finds each response's `values` without decoding it;
    `columnar.Scanner` then takes each bar list whose layout it knows (compact bars, string values,
    ASCII). The responses are shaped as `typed_document` shapes them, so the same code classifies
    them. A file with any other part, or one that repeats a key, goes to the other decoders.
    """
    single = FIRST_KEY_RE.match(data, start) is not None
    try:
        decoded = _skeleton_decoder(single).decode(data)
    except Exception:  # as in typed_document: the other decoders decide
        return None
    responses = {None: decoded} if single else decoded
    # Refused before the per-response work, which was most of the 121 s 450,000 symbols took.
    limits.check_symbols(len(responses))
    try:
        base = np.frombuffer(data, dtype=np.uint8).ctypes.data
        scanner = columnar.Scanner(data)
        document, cut = {}, []
        for symbol, response in responses.items():
            raw = response.values
            lo = np.frombuffer(raw, dtype=np.uint8).ctypes.data - base  # a Raw is a view of `data`
            hi = lo + len(raw)
            if not 0 <= lo < hi <= len(data):
                return None
            bars = [] if len(raw) < 8 and bytes(raw).strip() == b"[]" else scanner.scan(lo, hi)
            if bars is None:
                return None
            document[symbol] = _response_dict(response, bars, level=1 if single else 2)
            cut.append((lo, hi))
    except Exception:  # as in typed_document: the other decoders decide
        return None
    # A repeated key is looked for where one can be: outside the bar lists, whose keys scan checked.
    if repeats_keys(_without(data, cut), start):
        return None
    return document[None] if single else document


def _without(data: bytes, cut: list[tuple[int, int]]) -> bytes:
    """`data` with each cut span replaced by `[]`."""
    pieces, at = [], 0
    for lo, hi in sorted(cut):
        pieces += [data[at:lo], b"[]"]
        at = hi
    pieces.append(data[at:])
    return b"".join(pieces)


def bar_dict(bar: Any) -> Any:
    """A bar as the generic decoder would have given it: a typed bar becomes a dict again."""
    return msgspec.structs.asdict(bar) if isinstance(bar, TypedBar) else bar
