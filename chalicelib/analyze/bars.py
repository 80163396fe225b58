"""Load processed JSON Lines into columns, sorted by symbol then datetime, without a per-bar loop."""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter

import numpy as np
import orjson

_GET_CORE = itemgetter("symbol", "datetime", "close")


@dataclass
class BarColumns:
    """All bars of a file, grouped by symbol (ascending) and sorted by datetime within a symbol."""

    symbols: np.ndarray  # (S,) unique symbols, sorted
    intervals: list  # (S,) interval of each symbol (from its first line)
    starts: np.ndarray  # (S,) index of each symbol's first bar
    counts: np.ndarray  # (S,) bars per symbol
    datetimes: np.ndarray  # (N,) datetime strings
    close: np.ndarray  # (N,) float64
    volume: np.ndarray  # (N,) float64, NaN where the instrument has no volume

    @property
    def ends(self) -> np.ndarray:
        return self.starts + self.counts


def load_processed(body: bytes) -> BarColumns:
    """Parse `processed/…jsonl` (one bar per line) into sorted columns."""
    body = body.strip()
    bars = orjson.loads(b"[" + body.replace(b"\n", b",") + b"]") if body else []
    return columns_from_bars(bars)


def columns_from_bars(bars: list) -> BarColumns:
    n = len(bars)
    if n == 0:
        empty = np.array([], dtype=np.float64)
        return BarColumns(
            np.array([], dtype=object),
            [],
            np.array([], int),
            np.array([], int),
            np.array([], dtype=object),
            empty,
            empty,
        )
    symbols, datetimes, closes = zip(*map(_GET_CORE, bars), strict=True)
    volumes = [bar.get("volume") for bar in bars]
    unique, first, codes = np.unique(np.array(symbols, dtype=str), return_index=True, return_inverse=True)
    # Within a symbol every datetime has a validated ISO form, which sorts correctly as text.
    order = np.lexsort((np.array(datetimes, dtype=str), codes))
    counts = np.bincount(codes, minlength=len(unique))
    return BarColumns(
        symbols=unique.astype(object),
        intervals=[bars[i].get("interval") for i in first],
        starts=np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64),
        counts=counts.astype(np.int64),
        datetimes=np.array(datetimes, dtype=object)[order],
        close=_floats(closes)[order],
        volume=_floats(volumes)[order],
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
