"""Reading a series' fields into numpy columns: prices, volumes and datetimes parsed in bulk.

Each column is parsed by a vectorised parser where it can be, and value by value, exactly, where
it cannot; a parsed column comes with a status per value (ok, bad, absent). `rules` turns the
columns into verdicts. Bars read by the columnar decoder come with their own bulk parsers
(`columnar.parse_numbers`, `columnar.parse_datetimes`); what those leave is settled here too.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import orjson

from chalicelib.ingest import bulk_parse, columnar
from chalicelib.ingest.columnar import BAR_FIELDS as FIELDS
from chalicelib.ingest.columnar import ColumnarBars
from chalicelib.ingest.decoders import TYPED_NUMBER_MAX_CHARS, TypedBar

MISSING = object()  # a key absent from the bar, as opposed to present with a null
_GETTERS = tuple(itemgetter(name) for name in FIELDS)
_ATTRIBUTES = tuple(attrgetter(name) for name in FIELDS)
# A joined column holding any of these characters has a non-number in it (a JSON string, literal,
# array or object, or text with blanks, which JSON would read around); NaN/Infinity and anything
# else outside the JSON number grammar make the strict JSON parse fail instead.
_NOT_A_NUMBER_CHARS = ('"', "t", "f", "n", "[", "{", " ", "\t", "\n", "\r")
# docs/formats.md, "Numbers": ASCII decimal text only. Python's float() would also take "+1", "1_0", " 5 "
# and other scripts' digits; `[0-9]` (not `\d`) keeps those out.
_NUMBER_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# What DynamoDB can hold (analyses are stored there as Decimal): nonzero magnitudes in
# [1e-130, 1e126). Anything else is `bad_number` at ingest, so analyze never meets it.
STORABLE_MAX = 1e126
STORABLE_MIN = 1e-130
# ... and at most 38 significant digits (boto3 refuses to round a longer Decimal).
STORABLE_DIGITS = 38
# A string this long or shorter cannot hold more significant digits than that (the typed decoder
# bounds its numbers to this).
_SHORT_ENOUGH = STORABLE_DIGITS
assert TYPED_NUMBER_MAX_CHARS <= _SHORT_ENOUGH
_DATETIME_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?: ([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?)?")
_EPOCH = dt.datetime(1970, 1, 1)
_SECOND = dt.timedelta(seconds=1)


def columns(bars: Sequence[Any]) -> tuple[list[Sequence[Any]], bool]:
    """Six columns (five and `has_volume=False` for instruments without volume)."""
    if isinstance(bars[0], TypedBar):  # typed bars come a whole file of one type: all fields present
        count = len(type(bars[0]).__struct_fields__)
        return [list(map(get, bars)) for get in _ATTRIBUTES[:count]], count == len(FIELDS)
    try:
        return [list(map(get, bars)) for get in _GETTERS], True
    except (KeyError, TypeError):  # a field is absent, or a bar is not an object
        pass
    has_volume = any(isinstance(b, dict) and "volume" in b for b in bars)
    if not has_volume:
        try:
            return [list(map(get, bars)) for get in _GETTERS[:5]], False
        except (KeyError, TypeError):
            pass
    names = FIELDS if has_volume else FIELDS[:5]
    return [[b.get(name, MISSING) if isinstance(b, dict) else MISSING for b in bars] for name in names], has_volume


# Span statuses from the parsers below.
OK, BAD, ABSENT = 0, 1, 2
_SMALLEST_SPAN = 32  # spans the vectorised parser refuses without a hint are halved down to this size
_UNTRIED = object()  # a span not yet handed to the vectorised parser

# What a vectorised parser returns: (values, statuses) for the whole span, or its refusal: None, or
# the index (within the span) of the first value it suspects.
Parsed = tuple[np.ndarray, np.ndarray] | int | None


def _parse_spans(
    column: Sequence[Any],
    fast: Callable[[Sequence[Any]], Parsed],
    slow: Callable[[Any], tuple[Any, int]],
    dtype: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """(values, statuses) for a column: `fast` parses whole spans or refuses them.

    A refusal that names a suspect value sends that one value through `slow`, the span before it
    back to `fast` and the span after it back in halves; a refusal without one halves the span
    until the parts are accepted or small, and only the small refused parts go through `slow`,
    one value at a time. One bad value in 5,000 thus costs about two more vectorised passes, and
    a column of mostly bad values log-many, never one per bad value. A wrong suspect costs only
    time: every value is still judged by `fast` or `slow`.
    """
    whole = fast(column)
    if isinstance(whole, tuple):  # the clean common case: no copies
        return whole
    n = len(column)
    values = np.zeros(n, dtype=dtype)
    status = np.zeros(n, dtype=np.int8)
    spans: list[tuple[int, int, Any]] = [(0, n, whole)]
    while spans:
        lo, hi, parsed = spans.pop()
        if parsed is _UNTRIED:
            parsed = fast(column[lo:hi])
        if isinstance(parsed, tuple):
            values[lo:hi], status[lo:hi] = parsed
        elif isinstance(parsed, int) and 0 <= parsed < hi - lo:
            at = lo + parsed
            values[at], status[at] = slow(column[at])
            # The values before the suspect are usually clean; those after it are halved, so a
            # column dense with bad values costs log-many passes, not one pass per bad value.
            mid = (at + 1 + hi) // 2
            spans += [(start, end, _UNTRIED) for start, end in ((lo, at), (at + 1, mid), (mid, hi)) if start < end]
        elif hi - lo <= _SMALLEST_SPAN:
            for i in range(lo, hi):
                values[i], status[i] = slow(column[i])
        else:
            mid = (lo + hi) // 2
            spans += [(lo, mid, _UNTRIED), (mid, hi, _UNTRIED)]
    return values, status


def parse_numbers(columns: Sequence[Sequence[Any]], short: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, not-a-finite-number mask, absent mask), each shaped (len(columns), n).

    `short`: the columns are typed bars' numbers, strings too short to hold too many digits."""
    fast = _fast_short_numbers if short else _fast_numbers
    parsed = [_parse_spans(column, fast, _slow_number, np.float64) for column in columns]
    values = np.vstack([v for v, _ in parsed])
    status = np.vstack([s for _, s in parsed])
    return values, status == BAD, status == ABSENT


def _fast_short_numbers(values: Sequence[Any]) -> Parsed:
    """`_fast_numbers` for typed bars' strings, which the decoder has bounded in length."""
    return _fast_numbers(values, short=True)


def _fast_numbers(values: Sequence[Any], short: bool = False) -> Parsed:
    """All decimal strings (or all JSON numbers) that are finite: parsed in one call, else a refusal.

    With `short`, every value is known to be a string of at most `_SHORT_ENOUGH` characters."""
    try:
        joined = ",".join(values)  # the common case, all strings; anything else raises TypeError
    except TypeError:
        kinds = set(map(type, values))
        if not kinds or not kinds <= {int, float}:  # not bool: a price is never true/false
            return None
        if int in kinds and not all(-_DIGITS_LIMIT < v < _DIGITS_LIMIT for v in values if type(v) is int):
            return None  # an integer of more than 38 digits: on the exact path
        parsed = values
        exponent = False
    else:
        found = [at for at in map(joined.find, _NOT_A_NUMBER_CHARS) if at >= 0]
        if found:
            return joined.count(",", 0, min(found))  # the value holding the first such character
        if not short and max(map(len, values)) > _SHORT_ENOUGH:  # maybe too many digits: each on the exact path
            return None
        try:
            parsed = orjson.loads("[" + joined + "]")
        except orjson.JSONDecodeError as exc:
            # The parser stops inside the bad value or at the comma after it ("[" shifts by one).
            return joined.count(",", 0, max(exc.pos - 1, 0))
        if len(parsed) != len(values):  # a value held a comma
            return None
        exponent = "e" in joined or "E" in joined
    try:
        array = np.fromiter(parsed, dtype=np.float64, count=len(parsed))
    except (OverflowError, TypeError, ValueError):
        return None
    magnitude = np.abs(array)
    # NaN and infinities fail the first comparison; zero is storable, tiny nonzero values are not.
    storable = (magnitude < STORABLE_MAX) & ((magnitude >= STORABLE_MIN) | (magnitude == 0))
    if not storable.all():
        return int(storable.argmin())
    if exponent and not array.all():  # a zero may be a tiny number that underflowed: the exact path says
        return int(np.flatnonzero(array == 0)[0])
    return array, np.zeros(len(array), dtype=np.int8)


_DIGITS_LIMIT = 10**STORABLE_DIGITS


def _slow_number(value: Any) -> tuple[float, int]:
    if value is MISSING:
        return math.nan, ABSENT
    number = _to_float(value)
    magnitude = abs(number)
    if not magnitude < STORABLE_MAX or 0 < magnitude < STORABLE_MIN:  # NaN fails the first test
        return number, BAD
    digits = _significant_digits(value)
    # Zero only as written: text such as "1e-400" reads as 0.0, but is a number far below 1e-130.
    return number, (BAD if digits > STORABLE_DIGITS or (magnitude == 0 and digits) else OK)


def _significant_digits(value: Any) -> int:
    """Digits of the number as written, from the first nonzero one (`0.00120` has 3)."""
    if type(value) is float:
        return 0  # a double has at most 17, whatever the text was
    text = str(value).lstrip("-").partition("e")[0].partition("E")[0]
    return len(text.replace(".", "").lstrip("0"))


def _to_float(value: Any) -> float:
    if type(value) is int or type(value) is float:  # bool is not a price
        try:
            return float(value)
        except OverflowError:
            return math.nan
    if isinstance(value, str) and _NUMBER_RE.fullmatch(value):
        return float(value)  # the grammar is a subset of what float() reads; overflow gives inf
    return math.nan


def columnar_datetimes(bars: ColumnarBars, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`parse_datetimes` for bars read as columns (none is absent there)."""
    seconds, status = bulk_parse.complete(*columnar.parse_datetimes(bars), texts.__getitem__, _slow_datetime)
    return seconds, status == BAD, np.zeros(len(bars), dtype=bool)


def columnar_numbers(
    bars: ColumnarBars, names: Sequence[str], texts: Sequence[Sequence[str]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`parse_numbers` for bars read as columns: the bulk parser, then `_slow_number` for what it left."""
    values, ok = columnar.parse_numbers(bars, names)
    status = np.zeros(values.shape, dtype=np.int8)
    for row, column in enumerate(texts):
        values[row], status[row] = bulk_parse.complete(values[row], ok[row], column.__getitem__, _slow_number)
    return values, status == BAD, np.zeros(values.shape, dtype=bool)


def parse_datetimes(column: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(epoch seconds, malformed mask, absent mask) for a column of datetime strings."""
    seconds, status = _parse_spans(column, _fast_datetimes, _slow_datetime, np.int64)
    return seconds, status == BAD, status == ABSENT


def _fast_datetimes(values: Sequence[Any]) -> Parsed:
    """Same-width `YYYY-MM-DD[ HH:MM[:SS]]` strings, all real dates: parsed at once; else a refusal.

    The layout is checked on the bytes as a grid (digits and separators where they belong), so
    unequal widths that happen to fill the grid misalign and are refused; the fields are then
    read off the grid as numbers, and any date or time that does not exist (year 0, Feb 30,
    24:00, a 60th second) is refused, naming the first such row. Refused spans go to the exact
    slow path.
    """
    try:
        text = "".join(values).encode("ascii")
    except (TypeError, UnicodeEncodeError):
        return None
    width = len(values[0])
    if width not in bulk_parse.DIGITS_AT or len(text) != width * len(values):
        return None
    seconds, ok = bulk_parse.grid_datetimes(np.frombuffer(text, dtype=np.uint8).reshape(len(values), width))
    if not ok.all():
        return int(ok.argmin())
    return seconds, np.zeros(len(values), dtype=np.int8)


def _slow_datetime(value: Any) -> tuple[int, int]:
    if value is MISSING:
        return 0, ABSENT
    seconds = _datetime_seconds(value)
    return (0, BAD) if seconds is None else (seconds, OK)


def _datetime_seconds(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    match = _DATETIME_RE.fullmatch(value)
    if match is None:
        return None
    try:
        moment = dt.datetime(*(int(part) for part in match.groups() if part is not None))
    except ValueError:
        return None
    return (moment - _EPOCH) // _SECOND
