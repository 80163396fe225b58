"""The reject rules (docs/formats.md), applied to a whole series at once with numpy.

Fields are pulled out column by column; prices, volumes and datetimes are parsed in bulk, and
every rule is a vectorised mask. Only bars that break a rule are looked at one by one, to write
their reject line. Each bar gets exactly one verdict: the first rule of `BAR_RULES` it breaks.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chalicelib.ingest.columnar import BAR_FIELDS, ColumnarBars
from chalicelib.ingest.decoders import TypedBar, bar_dict
from chalicelib.ingest.parsing import (
    STORABLE_MAX,
    STORABLE_MIN,
    columnar_datetimes,
    columnar_numbers,
    columns,
    parse_datetimes,
    parse_numbers,
)
from chalicelib.models import BAR_RULES, RejectRecord

FIELDS = BAR_FIELDS
_CODE = {rule: code for code, rule in enumerate(BAR_RULES, start=1)}
# Symbols (docs/formats.md): non-empty, at most 64 characters, no control, bidi-control or
# zero-width characters.
SYMBOL_MAX_CHARS = 64
_FORBIDDEN_IN_SYMBOL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


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
    """Why `symbol` is not a valid symbol (docs/formats.md, "Symbols"), or None when it is."""
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
        texts = [bars.column(name) for name in FIELDS[: 6 if has_volume else 5]]
        seconds, dt_bad, dt_missing = columnar_datetimes(bars, texts[0])
        numbers, num_bad, num_missing = columnar_numbers(bars, FIELDS[1 : len(texts)], texts[1:])
    else:
        texts, has_volume = columns(bars)
        seconds, dt_bad, dt_missing = parse_datetimes(texts[0])
        numbers, num_bad, num_missing = parse_numbers(texts[1:], short=isinstance(bars[0], TypedBar))

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
    context = _MessageContext(symbol, texts, seconds, first_at, now_epoch_s, future_slack_s)
    rejected_at = np.flatnonzero(rule)

    def plan(release: bool) -> Iterator[RejectRecord]:
        for i in rejected_at.tolist():
            yield _reject(context, bars, i, BAR_RULES[rule[i] - 1], int(field_at[i]))
            if release:  # no later message reads this bar's fields
                for column in texts:
                    column[i] = None

    counts = np.bincount(rule, minlength=len(BAR_RULES) + 1)
    rule_counts = Counter({BAR_RULES[c - 1]: int(counts[c]) for c in range(1, len(counts)) if counts[c]})
    return SeriesVerdict(valid=valid, rule_counts=rule_counts, rejected=len(rejected_at), _plan=plan)


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
