"""Numbers and datetimes parsed in bulk from where they stand in a buffer: no Python object each.

A value is a span (start, end) of a bytes buffer. Numbers are read from unaligned 8-byte loads
with SWAR digit arithmetic, datetimes from a grid of their bytes. Each parser also says which
values it read (`ok`); the others are for an exact parser to judge one by one (`complete`), so
bulk reading never changes a verdict, only its speed. Used by ingest's columnar decoder and by
analyze's reading of processed lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

_DOT = ord(".")

# Unaligned little-endian loads of 8 bytes (the first byte lowest) and SWAR digit arithmetic.
_ASCII_ZEROS = 0x3030303030303030
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_TEN_UP = np.uint64(0x7676767676767676)  # added to a byte, sets its high bit when the byte is 10 or more
_HIGH = np.uint64(0x8080808080808080)
_POW10 = 10 ** np.arange(19, dtype=np.int64)
_POW10_F = 10.0 ** np.arange(19)
_FEW = 64
_EXACT_DIGITS = 15  # an integer of this many digits, and 10**k for k <= 22, are exact doubles


def loads8(data: bytes) -> np.ndarray:
    """`loads[i]`: the 8 bytes at offset i as a little-endian integer (any offset, no copy)."""
    return np.ndarray((len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))


# LOW[c]: the mask of a word's first c bytes.
LOW = np.array([(1 << (8 * c)) - 1 for c in range(8)] + [2**64 - 1], dtype=np.uint64)


def words_at(load8: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The 8 bytes at each offset (ascending) as a little-endian word; past the data's end, zero bytes."""
    limit = len(load8) - 1
    if not len(at) or int(at[-1]) <= limit:
        return load8[at]
    safe = np.minimum(at, limit)
    return load8[safe] >> (np.minimum(at - safe, 7) * 8).astype(np.uint64)


def same_text(data: Any, load8: np.ndarray, at: np.ndarray, text: bytes) -> bool:
    """Whether every offset in `at` (ascending, each at least len(text) bytes before the end of
    `data`, whose 8-byte loads `load8` are) starts `text`: one word compared per offset up to 8
    bytes, one fixed-width block beyond."""
    width = len(text)
    if width <= 8:  # one word: cheaper to compare than a block
        return bool(((words_at(load8, at) & LOW[width]) == np.uint64(int.from_bytes(text, "little"))).all())
    blocks = np.ndarray((len(data) - width + 1,), dtype=f"V{width}", buffer=data, strides=(1,))
    return bool((blocks[at] == np.frombuffer(text, dtype=f"V{width}")[0]).all())


def parse_decimals(
    region: Any, load8: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """`parse_numbers` for one column given as spans of `region` (`load8` its 8-byte loads); every
    span must end at least 8 bytes into the region."""
    values, ok = _common_decimals(region, load8, starts, ends)
    rest = np.flatnonzero(~ok)
    if len(rest) > _FEW:  # a few are left to the caller: cheaper one by one than in bulk
        values[rest], ok[rest] = _any_decimals(load8, starts[rest], ends[rest])
    return values, ok


def _common_decimals(
    region: bytes, load8: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The layout of the first value (its digits after the point) read for every value at once:
    the usual case, where a column is written with one number of decimals. Up to 8 digits before
    the point and 7 after it."""
    first = region[starts[0] : ends[0]]
    point_at = first.rfind(b".")
    fraction = len(first) - point_at - 1 if point_at >= 0 else 0
    width = ends - starts
    tail = load8[ends - 8]  # the last 8 characters (and, for a short value, what precedes it)
    if 1 <= fraction <= 7:
        ok = ((tail >> np.uint64(8 * (7 - fraction))) & _BYTE) == np.uint64(_DOT)
        frac, frac_ok = _swar_digits(tail, _KEEP[fraction])
        ok &= frac_ok
        head = load8[np.maximum(ends - (fraction + 9), 0)]
        whole = width - (fraction + 1)
    else:
        fraction, frac, head, whole = 0, 0, tail, width
        ok = np.ones(len(ends), dtype=bool)
    ok &= (whole >= 1) & (whole <= 8)
    number, number_ok = _swar_digits(head, _KEEP[np.clip(whole, 0, 8)])
    ok &= number_ok
    mantissa = number * np.uint64(10**fraction) + frac if fraction else number
    return mantissa.astype(np.float64) / _POW10_F[fraction], ok


def _any_decimals(load8: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values of any layout: the point found in each, up to 15 digits in all and 7 after the point."""
    n = len(starts)
    width = ends - starts
    tail = load8[ends - 8]
    dot = tail.view(np.uint8).reshape(n, 8) == _DOT
    has_dot = dot.any(axis=1) & (width >= 2)
    # Digits after the point: within the last 8 characters, the last point's distance from the end.
    fraction = np.where(has_dot, dot[:, ::-1].argmax(axis=1), 0)
    has_dot &= fraction < np.minimum(width, 8)
    fraction = np.where(has_dot, fraction, 0)
    point = has_dot.astype(np.int64)
    whole = width - fraction - point
    ok = (whole >= 1) & (whole + fraction <= _EXACT_DIGITS) & (~has_dot | (fraction >= 1))
    whole_end = ends - fraction - point
    low, low_ok = _swar_digits(load8[np.maximum(whole_end - 8, 0)], _KEEP[np.clip(whole, 0, 8)])
    high, high_ok = _swar_digits(load8[np.maximum(whole_end - 16, 0)], _KEEP[np.clip(whole - 8, 0, 8)])
    frac, frac_ok = _swar_digits(tail, _KEEP[fraction])
    ok &= low_ok & high_ok & frac_ok
    mantissa = (high.astype(np.int64) * 10**8 + low.astype(np.int64)) * _POW10[fraction] + frac.astype(np.int64)
    return mantissa / _POW10_F[fraction], ok


# _KEEP[c]: the mask of a word's last c bytes; the bytes before them are read as leading zeros.
_KEEP = np.array([0] + [((1 << (8 * c)) - 1) << (8 * (8 - c)) for c in range(1, 9)], dtype=np.uint64)
_BYTE = np.uint64(0xFF)


def _swar_digits(words: np.ndarray, keep: Any) -> tuple[np.ndarray, np.ndarray]:
    """The bytes of each word that `keep` keeps, read as a decimal number (the first byte the most
    significant; those dropped are leading zeros), and whether they are all ASCII digits."""
    x = (words ^ np.uint64(_ASCII_ZEROS)) & keep
    ok = ((((x & _LOW7) + _TEN_UP) | x) & _HIGH) == 0
    x = x * np.uint64(10) + (x >> np.uint64(8))
    x = ((x & np.uint64(0x00FF00FF00FF00FF)) * np.uint64(6553601)) >> np.uint64(16)
    x = ((x & np.uint64(0x0000FFFF0000FFFF)) * np.uint64(42949672960001)) >> np.uint64(32)
    return x & np.uint64(0xFFFFFFFF), ok


# --- datetimes ---------------------------------------------------------------------------------------

DIGITS_AT = {10: [0, 1, 2, 3, 5, 6, 8, 9], 16: [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15]}
DIGITS_AT[19] = DIGITS_AT[16] + [17, 18]
_SEPARATORS_AT = {4: ord("-"), 7: ord("-"), 10: ord(" "), 13: ord(":"), 16: ord(":")}


def grid_datetimes(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(epoch seconds, ok) for rows of `YYYY-MM-DD[ HH:MM[:SS]]` bytes of one width (10, 16 or 19).

    `ok` where the row has digits and separators where they belong and names a real moment (no
    year 0, Feb 30, 24:00 or 60th second)."""
    width = grid.shape[1]
    digits = grid[:, DIGITS_AT[width]] - ord("0")  # uint8: below "0" wraps above 9
    ok = (digits <= 9).all(axis=1)
    for col, char in _SEPARATORS_AT.items():
        if col < width:
            ok &= grid[:, col] == char
    d = digits.astype(np.int64)
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month, day = d[:, 4] * 10 + d[:, 5], d[:, 6] * 10 + d[:, 7]
    hour = d[:, 8] * 10 + d[:, 9] if width >= 16 else 0
    minute = d[:, 10] * 10 + d[:, 11] if width >= 16 else 0
    second = d[:, 12] * 10 + d[:, 13] if width == 19 else 0
    months = (np.clip(year, 1, 9999) - 1970) * 12 + np.clip(month, 1, 12) - 1
    first_day = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    month_days = (months + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) - first_day
    ok &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    ok &= (hour <= 23) & (minute <= 59) & (second <= 59)
    seconds = (first_day + day - 1) * 86_400 + hour * 3_600 + minute * 60 + second
    return seconds, ok


def complete(values: np.ndarray, ok: np.ndarray, text: Callable[[int], str], slow: Callable[[Any], tuple[Any, int]],
             ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(values, statuses): the bulk-parsed values, and `slow`'s verdict on each value they left."""
    status = np.zeros(len(values), dtype=np.int8)
    for i in np.flatnonzero(~ok).tolist():
        values[i], status[i] = slow(text(i))
    return values, status
