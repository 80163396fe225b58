"""The reject rules (CONTRACT section 2), applied to a whole series at once with numpy.

Fields are pulled out column by column; prices, volumes and datetimes are parsed in bulk, and
every rule is a vectorised mask. Only bars that break a rule are looked at one by one, to write
their reject line. Each bar gets exactly one verdict: the first rule of `BAR_RULES` it breaks.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import orjson

from chalicelib.ingest import columnar
from chalicelib.ingest.columnar import BAR_FIELDS, ColumnarBars
from chalicelib.ingest.decoders import TYPED_NUMBER_MAX_CHARS, TypedBar, bar_dict
from chalicelib.models import BAR_RULES, RejectRecord

FIELDS = BAR_FIELDS
_MISSING = object()  # a key absent from the bar, as opposed to present with a null
_CODE = {rule: code for code, rule in enumerate(BAR_RULES, start=1)}
_GETTERS = tuple(itemgetter(name) for name in FIELDS)
_ATTRIBUTES = tuple(attrgetter(name) for name in FIELDS)
# A joined column holding any of these characters has a non-number in it (a JSON string, literal,
# array or object, or text with blanks, which JSON would read around); NaN/Infinity and anything
# else outside the JSON number grammar make the strict JSON parse fail instead.
_NOT_A_NUMBER_CHARS = ('"', "t", "f", "n", "[", "{", " ", "\t", "\n", "\r")
# CONTRACT section 2: ASCII decimal text only. Python's float() would also take "+1", "1_0", " 5 "
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
# Symbols (CONTRACT section 2): non-empty, at most 64 characters, no control, bidi-control or
# zero-width characters.
SYMBOL_MAX_CHARS = 64
_FORBIDDEN_IN_SYMBOL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_DATETIME_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?: ([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?)?")
_EPOCH = dt.datetime(1970, 1, 1)
_SECOND = dt.timedelta(seconds=1)


@dataclass
class SeriesVerdict:
    """The outcome for one symbol's bars: accepted bars as delivered, and one reject per refusal.

    Reject records are built on demand (`iter_rejects`, or the `rejects` list), so a series with
    a million refused bars never holds a million records at once.
    """

    valid: list
    rule_counts: Counter = field(default_factory=Counter)
    rejected: int = 0
    _plan: Callable[[bool], Iterator[RejectRecord]] | None = None

    def iter_rejects(self, release: bool = False) -> Iterator[RejectRecord]:
        """The reject records in bar order. With `release`, each bar's fields are dropped from the
        verdict's own columns once its record is built: a one-time pass, for a caller that writes
        each record and lets its bar go."""
        return self._plan(release) if self._plan is not None else iter(())

    @property
    def rejects(self) -> list[RejectRecord]:
        return list(self.iter_rejects())


def valid_symbol_problem(symbol: Any) -> str | None:
    """Why `symbol` is not a valid symbol (CONTRACT section 2), or None when it is."""
    if not isinstance(symbol, str) or not symbol:
        return "is empty"
    if len(symbol) > SYMBOL_MAX_CHARS:
        return f"is {len(symbol)} characters long, over {SYMBOL_MAX_CHARS}"
    bad = _FORBIDDEN_IN_SYMBOL.search(symbol)
    if bad:
        return f"holds the control, bidi or zero-width character U+{ord(bad.group()):04X}"
    return None


def validate_series(symbol: str, bars: Sequence[Any], now_epoch_s: int, future_slack_s: int) -> SeriesVerdict:
    """Apply every bar rule to `bars` (one symbol, delivered order); the first duplicate is kept."""
    n = len(bars)
    if n == 0:
        return SeriesVerdict(valid=[])
    problem = valid_symbol_problem(symbol)
    if problem is not None:  # `bad_symbol` comes first: every bar of the series, whatever else it breaks
        message = (
            f"symbol {_show(symbol)} {problem}; a symbol is 1-{SYMBOL_MAX_CHARS} characters"
            " without control, bidi or zero-width characters"
        )

        def bad_symbol_rejects(release: bool) -> Iterator[RejectRecord]:
            for i in range(n):
                bar = bar_dict(bars[i])
                yield RejectRecord(symbol=symbol, rule="bad_symbol", field="symbol", message=message, index=i, bar=bar)

        return SeriesVerdict(valid=[], rule_counts=Counter({"bad_symbol": n}), rejected=n, _plan=bad_symbol_rejects)
    if isinstance(bars, ColumnarBars):
        has_volume = bars.has_volume
        columns = [bars.column(name) for name in FIELDS[: 6 if has_volume else 5]]
        seconds, dt_bad, dt_missing = _columnar_datetimes(bars, columns[0])
        numbers, num_bad, num_missing = _columnar_numbers(bars, FIELDS[1 : len(columns)], columns[1:])
    else:
        columns, has_volume = _columns(bars)
        seconds, dt_bad, dt_missing = _parse_datetimes(columns[0])
        numbers, num_bad, num_missing = _parse_numbers(columns[1:], short=isinstance(bars[0], TypedBar))

    rule = np.zeros(n, dtype=np.int8)
    field_at = np.full(n, -1, dtype=np.int8)  # index into FIELDS, -1 when no single field

    def mark(rule_name: str, mask: np.ndarray, fields: np.ndarray | int) -> None:
        hit = mask & (rule == 0)
        rule[hit] = _CODE[rule_name]
        field_at[hit] = fields[hit] if isinstance(fields, np.ndarray) else fields

    def mark_first_field(rule_name: str, broken: np.ndarray, first_field: int) -> None:
        """`broken` is (fields, bars): a bar breaks the rule on the first field marked."""
        mask = broken.any(axis=0)
        if mask.any():  # the common clean case skips the argmax
            mark(rule_name, mask, first_field + broken.argmax(axis=0))

    mark_first_field("missing_field", np.vstack([dt_missing[None, :], num_missing]), 0)
    mark("bad_datetime", dt_bad, 0)
    mark_first_field("bad_number", num_bad, 1)
    with np.errstate(invalid="ignore"):
        prices = numbers[:4]
        mark_first_field("non_positive_price", prices <= 0, 1)
        if has_volume:
            mark("negative_volume", numbers[4] < 0, 5)
        open_, high, low, close = prices
        low_bad = ~(low <= np.minimum(open_, close))
        high_bad = ~(np.maximum(open_, close) <= high)
        ohlc_field = np.where(low_bad & high_bad, -1, np.where(low_bad, 3, 2))
        mark("ohlc_inconsistent", low_bad | high_bad, ohlc_field)
    mark("future_timestamp", seconds > now_epoch_s + future_slack_s, 0)
    candidates = np.flatnonzero(rule == 0)
    unique_seconds, first = np.unique(seconds[candidates], return_index=True)
    duplicate = np.zeros(n, dtype=bool)
    duplicate[candidates] = True
    duplicate[candidates[first]] = False
    mark("duplicate_timestamp", duplicate, 0)

    if not rule.any():
        return SeriesVerdict(valid=bars if isinstance(bars, ColumnarBars) else list(bars))
    keep = np.flatnonzero(rule == 0)
    valid = bars.take(keep) if isinstance(bars, ColumnarBars) else list(map(bars.__getitem__, keep.tolist()))
    repeated = np.isin(unique_seconds, seconds[duplicate])  # where each repeated datetime was first seen
    first_at = dict(zip(unique_seconds[repeated].tolist(), candidates[first[repeated]].tolist(), strict=True))
    context = _MessageContext(symbol, columns, seconds, first_at, now_epoch_s, future_slack_s)
    rejected_at = np.flatnonzero(rule)

    def plan(release: bool) -> Iterator[RejectRecord]:
        for i in rejected_at.tolist():
            yield _reject(context, bars, i, BAR_RULES[rule[i] - 1], int(field_at[i]))
            if release:  # no later message reads this bar's fields
                for column in columns:
                    column[i] = None

    counts = np.bincount(rule, minlength=len(BAR_RULES) + 1)
    rule_counts = Counter({BAR_RULES[c - 1]: int(counts[c]) for c in range(1, len(counts)) if counts[c]})
    return SeriesVerdict(valid=valid, rule_counts=rule_counts, rejected=len(rejected_at), _plan=plan)


def _columns(bars: Sequence[Any]) -> tuple[list[Sequence[Any]], bool]:
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
    return [[b.get(name, _MISSING) if isinstance(b, dict) else _MISSING for b in bars] for name in names], has_volume


# Span statuses from the parsers below.
_OK, _BAD, _ABSENT = 0, 1, 2
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


def _parse_numbers(columns: Sequence[Sequence[Any]], short: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, not-a-finite-number mask, absent mask), each shaped (len(columns), n).

    `short`: the columns are typed bars' numbers, strings too short to hold too many digits."""
    fast = _fast_short_numbers if short else _fast_numbers
    parsed = [_parse_spans(column, fast, _slow_number, np.float64) for column in columns]
    values = np.vstack([v for v, _ in parsed])
    status = np.vstack([s for _, s in parsed])
    return values, status == _BAD, status == _ABSENT


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
    try:
        array = np.fromiter(parsed, dtype=np.float64, count=len(parsed))
    except (OverflowError, TypeError, ValueError):
        return None
    magnitude = np.abs(array)
    # NaN and infinities fail the first comparison; zero is storable, tiny nonzero values are not.
    storable = (magnitude < STORABLE_MAX) & ((magnitude >= STORABLE_MIN) | (magnitude == 0))
    if not storable.all():
        return int(storable.argmin())
    return array, np.zeros(len(array), dtype=np.int8)


_DIGITS_LIMIT = 10**STORABLE_DIGITS


def _slow_number(value: Any) -> tuple[float, int]:
    if value is _MISSING:
        return math.nan, _ABSENT
    number = _to_float(value)
    magnitude = abs(number)
    storable = magnitude < STORABLE_MAX and (magnitude >= STORABLE_MIN or magnitude == 0)
    return number, (_OK if storable and _significant_digits(value) <= STORABLE_DIGITS else _BAD)


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


def _columnar_datetimes(bars: ColumnarBars, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_parse_datetimes` for bars read as columns (none is absent there)."""
    seconds, status = columnar.complete(*columnar.parse_datetimes(bars), texts.__getitem__, _slow_datetime)
    return seconds, status == _BAD, np.zeros(len(bars), dtype=bool)


def _columnar_numbers(
    bars: ColumnarBars, names: Sequence[str], texts: Sequence[Sequence[str]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_parse_numbers` for bars read as columns: the bulk parser, then `_slow_number` for what it left."""
    values, ok = columnar.parse_numbers(bars, names)
    status = np.zeros(values.shape, dtype=np.int8)
    for row, column in enumerate(texts):
        values[row], status[row] = columnar.complete(values[row], ok[row], column.__getitem__, _slow_number)
    return values, status == _BAD, np.zeros(values.shape, dtype=bool)


def _parse_datetimes(column: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(epoch seconds, malformed mask, absent mask) for a column of datetime strings."""
    seconds, status = _parse_spans(column, _fast_datetimes, _slow_datetime, np.int64)
    return seconds, status == _BAD, status == _ABSENT


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
    if width not in columnar.DIGITS_AT or len(text) != width * len(values):
        return None
    seconds, ok = columnar.grid_datetimes(np.frombuffer(text, dtype=np.uint8).reshape(len(values), width))
    if not ok.all():
        return int(ok.argmin())
    return seconds, np.zeros(len(values), dtype=np.int8)


def _slow_datetime(value: Any) -> tuple[int, int]:
    if value is _MISSING:
        return 0, _ABSENT
    seconds = _datetime_seconds(value)
    return (0, _BAD) if seconds is None else (seconds, _OK)


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


@dataclass
class _MessageContext:
    symbol: str
    columns: list
    seconds: np.ndarray
    first_at: dict
    now_epoch_s: int
    future_slack_s: int


_SHOWN_CHARS = 60  # a value quoted in a message is cut to this many characters


def _show(value: Any) -> str:
    """A value for a message: bounded in length, and never recursing into nested arrays or objects."""
    if isinstance(value, str):
        text = value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "…"
        return repr(text)  # repr escapes what does not print (controls, bidi, zero-width)
    if isinstance(value, list):
        return f"(an array of {len(value)})"
    if isinstance(value, dict):
        return f"(an object of {len(value)} keys)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"(an integer of {len(str(abs(value))) if value.bit_length() < 10_000 else 'thousands of'} digits)"
    if isinstance(value, (bool, int, float)) or value is None:
        return repr(value)
    return f"(a {type(value).__name__})"


def _reject(ctx: _MessageContext, bars: Sequence[Any], i: int, rule: str, field_index: int) -> RejectRecord:
    bar = bar_dict(bars[i])
    name = FIELDS[field_index] if field_index >= 0 else None
    raw = ctx.columns[field_index][i] if field_index >= 0 else None
    if rule == "missing_field":
        message = "bar is not a JSON object" if not isinstance(bar, dict) else f"required field `{name}` is absent"
        name = name if isinstance(bar, dict) else None
    elif rule == "bad_datetime":
        message = f"`datetime` {_show(raw)} is not a real date as YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS]"
    elif rule == "bad_number":
        message = f"`{name}` {_show(raw)} is not a finite decimal number within {STORABLE_MIN:g}..{STORABLE_MAX:g}"
    elif rule == "non_positive_price":
        message = f"`{name}` is {_show(raw)}; prices must be greater than 0"
    elif rule == "negative_volume":
        message = f"`volume` is {_show(raw)}; volume must be 0 or more"
    elif rule == "ohlc_inconsistent":
        o, h, lo, c = (_show(ctx.columns[j][i]).strip("'") for j in range(1, 5))
        message = (
            f"need low <= min(open, close) and max(open, close) <= high; got open {o}, high {h}, low {lo}, close {c}"
        )
    elif rule == "future_timestamp":
        limit = dt.datetime.fromtimestamp(ctx.now_epoch_s + ctx.future_slack_s, dt.UTC)
        message = f"`datetime` {raw} is later than the ingestion time plus slack ({limit:%Y-%m-%d %H:%M:%S} UTC)"
    else:  # duplicate_timestamp
        first = ctx.first_at.get(int(ctx.seconds[i]))
        message = f"{ctx.symbol} already has a bar at {raw} (bar {first}); the first one is kept"
    return RejectRecord(symbol=ctx.symbol, rule=rule, field=name, message=message, index=i, bar=bar)
