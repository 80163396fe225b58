"""Load processed JSON Lines into columns, sorted by symbol then datetime, without a per-bar loop."""

from __future__ import annotations

import re
from dataclasses import dataclass
from operator import attrgetter, itemgetter

import msgspec
import numpy as np
import orjson

from chalicelib.analyze import columnar_lines

_GET_CORE = itemgetter("symbol", "datetime", "close")


@dataclass
class BarColumns:
    """All bars of a file, grouped by series (ascending) and sorted by datetime within a series.

    A series is a symbol and an interval: the same symbol at two intervals is two series, named
    `SYMBOL@INTERVAL` each (`columnar_lines.series_names`); a symbol at one interval is named as is.
    """

    symbols: np.ndarray  # (S,) each series' name, in order of (symbol, interval)
    intervals: list  # (S,) interval of each series (from its first line)
    starts: np.ndarray  # (S,) index of each symbol's first bar
    counts: np.ndarray  # (S,) bars per symbol
    datetimes: np.ndarray  # (N,) datetime strings (numpy unicode)
    close: np.ndarray  # (N,) float64
    volume: np.ndarray  # (N,) float64, NaN where the instrument has no volume

    base_symbols: list | None = None  # (S,) each series' symbol; None: the names themselves

    @property
    def ends(self) -> np.ndarray:
        return self.starts + self.counts

    def series_symbols(self) -> list[str]:
        """The symbol of each series (its name without any `@INTERVAL`)."""
        return list(self.base_symbols) if self.base_symbols is not None else self.symbols.tolist()


# Between a symbol and its interval in a series key: no valid symbol holds a control character,
# and it sorts below every character a symbol can hold, so keys sort as (symbol, interval) pairs.
_SEP = "\x1f"


def _interval_text(interval: object) -> str:
    if interval is None:
        return ""
    return interval if isinstance(interval, str) else repr(interval)


_CHUNK_BYTES = 8 << 20  # parse ~8 MiB of lines at a time: only one chunk's dicts are ever alive


def load_processed(body: bytes) -> BarColumns:
    """Parse `processed/…jsonl` (one bar per line) into sorted columns.

    The common body, every line in one compact layout, is read as columns from its bytes
    (`columnar_lines`); any other is read a chunk of lines at a time, to the same columns."""
    return _columnar_columns(body) or _reference_columns(body)


def _reference_columns(body: bytes) -> BarColumns:
    return _assemble([_typed_chunk_columns(part) or _chunk_columns(_parse_lines(part)) for part in _line_chunks(body)])


def _columnar_columns(body: bytes) -> BarColumns | None:
    lines = columnar_lines.scan_lines(body)
    if lines is None:
        return None
    for name, column in (("close", lines.close), ("volume", lines.volume)):
        if name in lines.left and not _settle(body, column, lines.left[name], set(lines.not_json.get(name, ()))):
            return None
    series, intervals, counts, order = columnar_lines.sort_lines(lines)
    width = max(lines.width, 1)
    datetimes = lines.words[order].view(np.uint8)[:, :width].astype(np.uint32).view(f"<U{width}").reshape(-1)
    return BarColumns(
        symbols=np.array(columnar_lines.series_names(series), dtype=str),
        base_symbols=[symbol for symbol, _ in series],
        intervals=intervals,
        starts=np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64),
        counts=counts,
        datetimes=datetimes,
        close=lines.close[order],
        volume=lines.volume[order],
    )


_NUMBER_TEXT = re.compile(r"[0-9.eE+-]*")


def _settle(body: bytes, column: np.ndarray, left: list, not_json: set) -> bool:
    """Fill in the numbers the bulk parser left, as `_floats` reads them chunk by chunk: by orjson when
    every number of the chunk's column is JSON, else by `float`. False where `_floats` would fail (or
    read text with a comma or a space differently from one value): the body then goes the other way."""
    chunk_starts = np.array([start for start, _ in _chunk_spans(body)], dtype=np.int64)
    by_chunk: dict[int, list] = {}
    for line, text, start in left:
        if not _NUMBER_TEXT.fullmatch(text):
            return False
        by_chunk.setdefault(int(np.searchsorted(chunk_starts, start, "right")) - 1, []).append((line, text))
    plain = {int(np.searchsorted(chunk_starts, start, "right")) - 1 for start in not_json}
    for chunk, entries in by_chunk.items():
        lines, texts = zip(*entries, strict=True)
        try:
            if chunk in plain:  # a number there is not JSON: `_floats` reads the whole chunk by `float`
                values = np.array(texts, dtype=object).astype(np.float64)
            else:
                values = _floats(list(texts))
        except ValueError:
            return False
        column[list(lines)] = values
    return True


class _Line(msgspec.Struct, gc=False):
    """The fields analysis reads from a processed line; msgspec skips the others without building them."""

    symbol: str
    datetime: str
    close: str | int | float
    volume: str | int | float | None = None
    interval: msgspec.Raw = msgspec.Raw()  # read by orjson, once per symbol, as the generic path reads it


_LINES = msgspec.json.Decoder(list[_Line])
_GET_LINE = tuple(map(attrgetter, ("symbol", "datetime", "close", "volume")))


def _typed_chunk_columns(part: bytes) -> tuple | None:
    """`_chunk_columns(_parse_lines(part))` without a dict per line; None for any line it cannot
    take (a field missing or of another type, blank lines), which then goes the generic way."""
    try:
        lines = _LINES.decode(b"[" + part.strip().replace(b"\n", b",") + b"]")
    except msgspec.DecodeError:
        return None
    if not lines:
        return None
    symbols, datetimes, closes, volumes = (list(map(get, lines)) for get in _GET_LINE)
    raws = [bytes(line.interval) for line in lines]
    if len(set(raws)) == 1:  # one interval in the chunk (the usual case): one text for every line
        keys = [symbol + _SEP + _interval_text(_raw_value(lines[0].interval)) for symbol in symbols]
    else:
        texts = {raw: _interval_text(orjson.loads(raw) if raw else None) for raw in set(raws)}
        keys = [symbol + _SEP + texts[raw] for symbol, raw in zip(symbols, raws, strict=True)]
    names = np.array(keys, dtype=str)
    _, first = np.unique(names, return_index=True)
    intervals = {keys[i]: _raw_value(lines[i].interval) for i in first.tolist()}
    return names, np.array(datetimes, dtype=str), _floats(closes), _floats(volumes), intervals


def _raw_value(raw: msgspec.Raw) -> object:
    return orjson.loads(memoryview(raw)) if raw else None


def columns_from_bars(bars: list) -> BarColumns:
    """Sorted columns from bar dicts (`{"symbol", "interval", "datetime", "close", "volume"?…}`)."""
    return _assemble([_chunk_columns(bars)] if bars else [])


def _line_chunks(body: bytes):
    for start, end in _chunk_spans(body):
        if body[start:end].strip():
            yield body[start:end]


def _chunk_spans(body: bytes):
    start, size = 0, len(body)
    while start < size:
        end = body.find(b"\n", min(start + _CHUNK_BYTES, size))
        end = size if end == -1 else end
        yield start, end
        start = end + 1


def _parse_lines(part: bytes) -> list:
    try:
        return orjson.loads(b"[" + part.strip().replace(b"\n", b",") + b"]")
    except orjson.JSONDecodeError:  # blank lines inside the chunk: read line by line
        return [orjson.loads(line) for line in part.splitlines() if line.strip()]


def _chunk_columns(bars: list) -> tuple:
    symbols, datetimes, closes = zip(*map(_GET_CORE, bars), strict=True)
    keys = [symbol + _SEP + _interval_text(bar.get("interval")) for symbol, bar in zip(symbols, bars, strict=True)]
    names = np.array(keys, dtype=str)
    _, first = np.unique(names, return_index=True)
    intervals = {keys[i]: bars[i].get("interval") for i in first.tolist()}
    volumes = _floats([bar.get("volume") for bar in bars])
    return names, np.array(datetimes, dtype=str), _floats(closes), volumes, intervals


def _assemble(chunks: list[tuple]) -> BarColumns:
    if not chunks:
        empty = np.array([], dtype=np.float64)
        none = np.array([], dtype=np.int64)
        return BarColumns(np.array([], dtype=str), [], none, none, np.array([], dtype=str), empty, empty)
    names = np.concatenate([c[0] for c in chunks])
    datetimes = np.concatenate([c[1] for c in chunks])
    intervals: dict = {}
    for chunk in chunks:
        for symbol, interval in chunk[4].items():
            intervals.setdefault(symbol, interval)
    unique, codes = np.unique(names, return_inverse=True)
    # Within a series every datetime has a validated ISO form, which sorts correctly as text.
    order = np.lexsort((datetimes, codes))
    counts = np.bincount(codes, minlength=len(unique))
    keys = unique.tolist()
    series = [tuple(key.split(_SEP, 1)) for key in keys]
    return BarColumns(
        symbols=np.array(columnar_lines.series_names(series), dtype=str),
        base_symbols=[symbol for symbol, _ in series],
        intervals=[intervals.get(key) for key in keys],
        starts=np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64),
        counts=counts.astype(np.int64),
        datetimes=datetimes[order],
        close=np.concatenate([c[2] for c in chunks])[order],
        volume=np.concatenate([c[3] for c in chunks])[order],
    )


def _floats(values) -> np.ndarray:
    """Numbers or decimal strings (validated at ingest) to float64; absent volume (None) to NaN."""
    try:
        return np.array(orjson.loads("[" + ",".join(values) + "]"), dtype=np.float64)
    except (TypeError, orjson.JSONDecodeError):
        pass
    column = np.array(values, dtype=object)
    present = column != None  # noqa: E711 (element-wise comparison)
    out = np.full(len(column), np.nan)
    out[present] = column[present].astype(np.float64)
    return out
