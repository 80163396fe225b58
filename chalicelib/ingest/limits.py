"""The limits a file must keep to be ingested, each refused up front with its own reason.

Ingest runs in one Lambda invocation (2,304 MB, chosen for the largest files these limits accept:
docs/cost.md; 120 s). Whatever a file holds, it must finish inside that or be quarantined before
the work starts: a file that runs the function out of memory or time is retried and ends in the
dead-letter queue, neither processed nor quarantined. The limits are listed for users in
docs/limits.md.
"""

from __future__ import annotations

from chalicelib.ingest.input_types import InputRejected

# Responses (one symbol and interval each, or a symbol's error) in one file. Each series costs a
# fixed ~0.25 ms of validation however few bars it has: 600,000 one-bar symbols took 154 s.
MAX_SYMBOLS = 10_000

# Bars in one file. A 200 MiB CSV of short daily rows holds about 8 million.
MAX_BARS = 10_000_000

# What the generic JSON decoder may build, estimated from the text before it runs. It builds a
# Python object per JSON value: measured on CPython 3.13 with orjson, about 100 bytes a container
# (an empty list included) and under 50 a scalar, against 1 to 3 bytes of text for `[],`. A
# 143 MiB file of 50 million empty lists needed 4.5 GiB. Files the columnar and typed readers
# take (every Twelve Data response as sent) never come here.
GENERIC_DECODE_BUDGET_BYTES = 1280 * 1024 * 1024
_BYTES_PER_CONTAINER = 100
_BYTES_PER_VALUE = 50


def generic_decode_estimate(data: bytes) -> int:
    """An upper-leaning estimate of the memory the generic decoder needs for `data`, in bytes.

    Brackets and separators inside strings count too, so it can only err high; `bytes.count`
    reads the text without a copy.
    """
    containers = data.count(b"[") + data.count(b"{")
    values = data.count(b",") + data.count(b":")
    return _BYTES_PER_CONTAINER * containers + _BYTES_PER_VALUE * values


def check_generic_decode(data: bytes) -> None:
    """Refuse, as `too_complex`, a JSON file the generic decoder could not hold in memory."""
    estimate = generic_decode_estimate(data)
    if estimate > GENERIC_DECODE_BUDGET_BYTES:
        raise InputRejected(
            "too_complex",
            f"the JSON holds too many arrays, objects or values to decode within the function's memory:"
            f" about {estimate >> 20} MiB of decoded values, over the {GENERIC_DECODE_BUDGET_BYTES >> 20} MiB"
            " allowed (deep nesting or long runs of empty arrays are the usual cause)",
        )


# The row-by-row CSV reader (quoted cells, blank rows, ragged rows…) builds a dict and a string
# a cell for each row: measured, about 780 bytes a row of six cells.
_BYTES_PER_CSV_ROW = 150
_BYTES_PER_CSV_CELL = 100


def check_generic_csv(rows: int, columns: int) -> None:
    """Refuse, as `too_complex`, a CSV the row-by-row reader could not hold in memory."""
    estimate = rows * (_BYTES_PER_CSV_ROW + _BYTES_PER_CSV_CELL * columns)
    if estimate > GENERIC_DECODE_BUDGET_BYTES:
        raise InputRejected(
            "too_complex",
            f"the CSV's {rows} rows need reading row by row (quoted cells, blank or ragged rows, blanks"
            f" around cells, text outside ASCII), which would take about {estimate >> 20} MiB, over the"
            f" {GENERIC_DECODE_BUDGET_BYTES >> 20} MiB allowed; a plain CSV of the same rows is read in far less",
        )


def check_symbols(responses: int) -> None:
    """Refuse, as `too_many_symbols`, a file of more responses than `MAX_SYMBOLS`."""
    if responses > MAX_SYMBOLS:
        raise InputRejected(
            "too_many_symbols",
            f"the file holds {responses} symbol responses, over the limit of {MAX_SYMBOLS} a file;"
            " split it into files of fewer symbols",
        )


def check_bars(bars: int) -> None:
    """Refuse, as `too_many_bars`, a file of more bars than `MAX_BARS`."""
    if bars > MAX_BARS:
        raise InputRejected(
            "too_many_bars",
            f"the file holds {bars} bars, over the limit of {MAX_BARS} a file; split it into smaller files",
        )
