"""Property tests for the ingest core: no input bytes crash it, every bar ends in exactly one place,
the vectorised rules agree with a plain per-bar reading of docs/formats.md, and well-formed
series are accepted whole."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math
import re
from collections import Counter
from unittest import mock

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chalicelib.ingest import formats
from chalicelib.ingest.formats import InputRejected
from chalicelib.ingest.pipeline import ingest_document
from chalicelib.ingest.rules import validate_series
from chalicelib.models import BAR_RULES

NOW = int(dt.datetime(2030, 1, 1, tzinfo=dt.UTC).timestamp())
DAY = 86_400
MAX_BYTES = 200_000
FIELDS = ("datetime", "open", "high", "low", "close", "volume")
PRICES = ("open", "high", "low", "close")
REJECT_REASONS = {"too_large", "bad_gzip", "empty", "bad_json", "wrong_shape", "not_text", "not_csv"}

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- strategies ---------------------------------------------------------------------------------

DATETIME_POOL = [
    "2023-01-03",
    "2023-01-04",
    "2023-01-03 00:00:00",
    "2023-01-03 09:30",
    "2023-01-03 09:30:00",
    "2024-02-29",
    "2029-12-31 23:59:59",
    "2030-01-01 12:00:00",  # inside the day of slack
    "2030-01-02 00:00:01",  # just past it
    "2099-03-04",
    "2023-02-30",
    "2023-13-01",
    "2023/01/03",
    "2023-01-03T09:30",
    "2023-01-03 24:00",
    "20230103",
    "",
]
NUMBER_LIKE_POOL = [
    "0",
    "-0",
    "0.0",
    "-1",
    "-1.5",
    "1e999",
    "1e-400",
    "100",
    "130.28000",
    " 5",
    "5 ",
    "1e2",
    "+5",
    "1_0",
    "\u0665",
    "1e200",
    "1e-200",
    "9e125",
    "1e126",
    "1e-130",
    "05",
    "5.",
]
JUNK_POOL = [
    "abc",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "",
    " ",
    "1,5",
    "0x10",
    "1.2.3",
    "true",
    "false",
    "null",
    "}{",
    "1]",
]

datetimes = st.one_of(
    st.sampled_from(DATETIME_POOL),
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2035, 1, 1)).map(
        lambda d: d.strftime("%Y-%m-%d %H:%M:%S")
    ),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(dt.date.isoformat),
    st.text(max_size=15),
    st.none(),
    st.integers(),
)
number_strings = st.one_of(
    st.floats(min_value=-5, max_value=500, allow_nan=False).map(lambda x: f"{x:.4f}"),
    st.integers(min_value=-5, max_value=500).map(str),
    st.sampled_from(NUMBER_LIKE_POOL),
)
numbers = st.one_of(
    number_strings,
    st.sampled_from(JUNK_POOL),
    st.text(max_size=6),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)
any_bar = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "datetime": datetimes,
            "open": numbers,
            "high": numbers,
            "low": numbers,
            "close": numbers,
            "volume": numbers,
            "note": st.text(max_size=5),
        },
    ),
    st.none(),
    st.integers(),
    st.text(max_size=5),
    st.lists(st.text(max_size=3), max_size=3),
)
# All six fields present and every value a string: the shape the vectorised path is built for.
# Mostly number-like strings, so whole series stay on that path; sometimes junk that must leave it.
string_values = st.one_of(number_strings, number_strings, number_strings, st.sampled_from(JUNK_POOL))
string_bar = st.fixed_dictionaries(
    {
        "datetime": st.sampled_from(DATETIME_POOL),
        "open": string_values,
        "high": string_values,
        "low": string_values,
        "close": string_values,
        "volume": string_values,
    }
)
string_bar_without_volume = st.fixed_dictionaries(
    {"datetime": st.sampled_from(DATETIME_POOL), **{name: string_values for name in PRICES}}
)
bar_lists = st.one_of(
    st.lists(any_bar, max_size=12),
    st.lists(string_bar, max_size=12),
    st.lists(string_bar_without_volume, max_size=12),
    st.lists(st.one_of(string_bar, any_bar), max_size=12),
)

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@st.composite
def twelve_data_documents(draw) -> bytes:
    """Documents in (or near) each accepted JSON shape, with arbitrary bars inside."""

    def response():
        return draw(
            st.one_of(
                st.fixed_dictionaries(
                    {"values": bar_lists},
                    optional={
                        "meta": st.fixed_dictionaries(
                            {}, optional={"symbol": st.text(max_size=6) | st.none(), "interval": json_scalars}
                        ),
                        "status": st.sampled_from(["ok", "error"]),
                    },
                ),
                st.fixed_dictionaries({"code": json_scalars, "message": json_scalars, "status": st.just("error")}),
                json_values,
            )
        )

    kind = draw(st.sampled_from(["time_series", "multi_symbol", "batch", "anything"]))
    if kind == "time_series":
        document = response()
    elif kind == "multi_symbol":
        document = {draw(st.text(max_size=6)): response() for _ in range(draw(st.integers(0, 3)))}
    elif kind == "batch":
        document = {
            "code": 200,
            "status": "success",
            "data": {
                f"req_{i}": draw(st.one_of(st.fixed_dictionaries({"response": st.just(response())}), json_values))
                for i in range(draw(st.integers(0, 3)))
            },
        }
    else:
        document = draw(json_values)
    return json.dumps(document).encode()


@st.composite
def csv_documents(draw) -> bytes:
    delimiter = draw(st.sampled_from([";", ","]))
    header = draw(st.sampled_from([list(FIELDS), list(FIELDS[:5]), ["Datetime", "Open", "x"], ["date", "open"]]))
    cells = st.one_of(number_strings, st.sampled_from(DATETIME_POOL + JUNK_POOL), st.text(max_size=6))
    rows = draw(st.lists(st.lists(cells, max_size=8), max_size=10))
    lines = [delimiter.join(header), *(delimiter.join(row) for row in rows)]
    return "\n".join(lines).encode("utf-8", "surrogatepass")


@st.composite
def input_files(draw) -> bytes:
    raw = draw(
        st.one_of(
            st.binary(max_size=300),
            st.binary(max_size=100).map(lambda b: b"{" + b),
            st.binary(max_size=100).map(lambda b: b"datetime;open\n" + b),
            twelve_data_documents(),
            csv_documents(),
        )
    )
    if draw(st.booleans()):
        raw = b"\xef\xbb\xbf" + raw
    wrap = draw(st.sampled_from(["plain", "plain", "gzip", "gzip-truncated", "gzip-twice"]))
    if wrap == "gzip":
        raw = gzip.compress(raw)
    elif wrap == "gzip-truncated":
        raw = gzip.compress(raw)[: draw(st.integers(0, 30))]
    elif wrap == "gzip-twice":
        raw = gzip.compress(raw[: len(raw) // 2]) + gzip.compress(raw[len(raw) // 2 :])
    return raw


keys = st.sampled_from(
    ["inputs/AAPL_1day.json", "inputs/AAPL_1day.csv", "inputs/MSFT.csv.gz", "inputs/x", "inputs/XAUUSD_1h.txt"]
)


# --- a plain, per-bar reading of the rules ------------------------------------------------------

_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?: [0-9]{2}:[0-9]{2}(?::[0-9]{2})?)?")


def _seconds(value) -> int | None:
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        return None
    parts = [int(p) for p in re.split(r"[- :]", value)]
    try:
        moment = dt.datetime(*parts, tzinfo=dt.UTC)
    except ValueError:
        return None
    return int((moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds())


_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def _number(value) -> float | None:
    """A finite number DynamoDB can hold (nonzero magnitudes 1e-130 to 1e126), from ASCII decimal text."""
    if isinstance(value, bool) or (isinstance(value, str) and not _NUMBER.fullmatch(value)):
        return None
    try:
        x = float(value) if isinstance(value, (int, float, str)) else math.nan
    except (ValueError, OverflowError):
        return None
    if x == 0 and isinstance(value, str) and value.lstrip("-").partition("e")[0].partition("E")[0].strip("0."):
        return None  # text of a nonzero number too small for a double ("1e-400"), not a zero
    return x if math.isfinite(x) and abs(x) < 1e126 and (x == 0 or abs(x) >= 1e-130) else None


def reference_verdicts(bars, now: int, slack: int) -> list[tuple[str | None, str | None]]:
    """(rule, field) per bar, (None, None) when valid; checked one bar at a time in BAR_RULES order."""
    has_volume = any(isinstance(b, dict) and "volume" in b for b in bars)
    names = FIELDS if has_volume else FIELDS[:5]
    kept_moments: set[int] = set()
    out = []
    for b in bars:
        out.append(_reference_one(b, names, now, slack, kept_moments))
    return out


def _reference_one(b, names, now, slack, kept_moments):
    if not isinstance(b, dict):
        return "missing_field", None
    absent = [name for name in names if name not in b]
    if absent:
        return "missing_field", absent[0]
    moment = _seconds(b["datetime"])
    if moment is None:
        return "bad_datetime", "datetime"
    values = {name: _number(b[name]) for name in names[1:]}
    bad = [name for name, x in values.items() if x is None]
    if bad:
        return "bad_number", bad[0]
    non_positive = [name for name in PRICES if values[name] <= 0]
    if non_positive:
        return "non_positive_price", non_positive[0]
    if "volume" in values and values["volume"] < 0:
        return "negative_volume", "volume"
    o, h, lo, c = (values[name] for name in PRICES)
    low_bad, high_bad = not lo <= min(o, c), not max(o, c) <= h
    if low_bad or high_bad:
        return "ohlc_inconsistent", None if (low_bad and high_bad) else ("low" if low_bad else "high")
    if moment > now + slack:
        return "future_timestamp", "datetime"
    if moment in kept_moments:
        return "duplicate_timestamp", "datetime"
    kept_moments.add(moment)
    return None, None


# --- properties ---------------------------------------------------------------------------------


@PROPERTY
@given(raw=input_files(), key=keys)
def test_ingest_never_raises_anything_but_input_rejected(raw, key):
    try:
        outcome = ingest_document(raw, key, NOW, max_bytes=MAX_BYTES, future_slack_s=DAY)
    except InputRejected as rejected:
        assert rejected.reason in REJECT_REASONS
        assert rejected.message
        return
    counts = outcome.counts
    assert counts["valid"] + counts["rejected"] == counts["input"]
    processed = outcome.processed.splitlines()
    rejects = outcome.rejects.splitlines()
    assert len(processed) == counts["valid"]
    assert len(rejects) == counts["rejected"] + counts["symbol_errors"]
    for line in processed:
        record = json.loads(line)
        assert isinstance(record, dict) and {"symbol", "interval", "datetime"} <= set(record)
    for line in rejects:
        assert set(json.loads(line)) == {"symbol", "rule", "field", "message", "index", "bar"}


@PROPERTY
@given(bars=bar_lists)
def test_every_bar_is_accounted_for_exactly_once(bars):
    verdict = validate_series("SYM", bars, NOW, DAY)

    assert len(verdict.valid) + len(verdict.rejects) == len(bars)
    indexes = [r["index"] for r in verdict.rejects]
    assert len(set(indexes)) == len(indexes)
    assert all(0 <= i < len(bars) for i in indexes)
    for reject in verdict.rejects:
        assert reject["bar"] is bars[reject["index"]]
        assert reject["symbol"] == "SYM"
        assert reject["rule"] in BAR_RULES
        assert reject["field"] in (*FIELDS, None)
        assert isinstance(reject["message"], str) and reject["message"]
    # The valid bars are the remaining inputs themselves, in delivered order.
    rejected = set(indexes)
    expected_valid = [b for i, b in enumerate(bars) if i not in rejected]
    assert len(verdict.valid) == len(expected_valid)
    assert all(v is b for v, b in zip(verdict.valid, expected_valid, strict=True))
    assert verdict.rule_counts == Counter(r["rule"] for r in verdict.rejects)


@PROPERTY
@given(bars=bar_lists, slack=st.sampled_from([0, 3600, DAY]))
def test_vectorised_rules_match_a_per_bar_reading_of_the_contract(bars, slack):
    verdict = validate_series("SYM", bars, NOW, slack)

    got = [(None, None)] * len(bars)
    for reject in verdict.rejects:
        got[reject["index"]] = (reject["rule"], reject["field"])
    assert got == reference_verdicts(bars, NOW, slack)


@PROPERTY
@given(bars=st.lists(st.one_of(string_bar, string_bar_without_volume), min_size=1, max_size=12), poison=any_bar)
def test_appending_a_bar_never_changes_the_verdict_on_the_others(bars, poison):
    # An all-string series takes the vectorised path; one odd bar can push it onto the per-element path.
    alone = validate_series("SYM", bars, NOW, DAY)
    together = validate_series("SYM", [*bars, poison], NOW, DAY)

    def table(verdict):
        return {r["index"]: (r["rule"], r["field"]) for r in verdict.rejects if r["index"] < len(bars)}

    # Only volume presence is series-wide: a poison bar that adds a volume column changes the rules.
    adds_volume = isinstance(poison, dict) and "volume" in poison and any("volume" not in b for b in bars)
    if not adds_volume:
        assert table(together) == table(alone)


@st.composite
def valid_series(draw) -> list[dict]:
    """Well-formed bars: real dates no later than now, positive consistent prices, distinct moments."""
    formats = {10: "%Y-%m-%d", 16: "%Y-%m-%d %H:%M", 19: "%Y-%m-%d %H:%M:%S"}
    moments = draw(
        st.lists(
            st.tuples(
                st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2029, 12, 31)),
                st.sampled_from(sorted(formats)),
            ),
            max_size=15,
            unique_by=lambda t: dt.datetime.strptime(t[0].strftime(formats[t[1]]), formats[t[1]]),
        )
    )
    with_volume = draw(st.booleans())
    bars = []
    for moment, width in moments:
        decimals = draw(st.integers(0, 6))
        low, a, b, high = sorted(draw(st.lists(st.integers(1, 10**9), min_size=4, max_size=4)))
        open_, close = (a, b) if draw(st.booleans()) else (b, a)
        as_text = draw(st.booleans())

        def price(units: int, decimals=decimals, as_text=as_text):
            value = units / 10**decimals
            return f"{value:.{decimals}f}" if as_text else value

        bar = {
            "datetime": moment.strftime(formats[width]),
            "open": price(open_),
            "high": price(high),
            "low": price(low),
            "close": price(close),
        }
        if with_volume:
            volume = draw(st.integers(0, 10**12))
            bar["volume"] = str(volume) if as_text else volume
        bars.append(bar)
    return bars


@PROPERTY
@given(bars=valid_series())
def test_well_formed_series_is_fully_accepted(bars):
    verdict = validate_series("SYM", bars, NOW, DAY)

    assert verdict.rejects == []
    assert len(verdict.valid) == len(bars)
    assert all(v is b for v, b in zip(verdict.valid, bars, strict=True))


# --- the typed decoder is only a faster route to the same outcome ----------------------------------


@st.composite
def typed_documents(draw) -> bytes:
    """Single and multi-symbol files the typed decoder takes, and near misses it must hand over."""
    bars = draw(st.lists(st.one_of(string_bar, string_bar_without_volume) | any_bar, max_size=6))
    bar_lists_ = st.one_of(
        st.lists(string_bar, max_size=8),
        st.lists(string_bar_without_volume, max_size=8),
        st.just(bars),
    )
    meta = st.fixed_dictionaries(
        {},
        optional={
            "symbol": st.text(max_size=6) | st.none(),
            # msgspec and orjson read integers wider than 64 bits differently; the interval shows it.
            "interval": st.sampled_from(["1day", "1min", ""]) | json_scalars | st.integers(2**63, 2**80),
            "exchange": st.text(max_size=4),
        },
    )
    response = st.fixed_dictionaries(
        {"values": bar_lists_},
        optional={
            "meta": meta | json_values,
            "status": st.sampled_from(["ok", "error"]) | json_scalars,
            "x": st.none(),
        },
    )
    if draw(st.booleans()):
        document = draw(response)
    else:
        document = draw(
            st.dictionaries(st.sampled_from(["AAPL", "MSFT", "meta", "values", "EUR/USD", "é"]), response, max_size=3)
        )
    return json.dumps(document, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


def _outcome(raw: bytes, key: str):
    try:
        outcome = ingest_document(raw, key, NOW, max_bytes=MAX_BYTES, future_slack_s=DAY)
    except InputRejected as rejected:
        return ("rejected", rejected.reason, rejected.message)
    return (
        outcome.shape,
        dict(outcome.counts),
        outcome.reject_rules,
        outcome.symbols,
        [json.loads(line) for line in outcome.processed.splitlines()],
        [json.loads(line) for line in outcome.rejects.splitlines()],
    )


@PROPERTY
@given(raw=st.one_of(typed_documents(), twelve_data_documents()), key=keys)
def test_typed_decoder_gives_exactly_the_outcome_of_the_generic_decoder(raw, key):
    data = raw.lstrip()
    typed = formats._typed_document(data, 0) if data[:1] in (b"{", b"[") else None
    event("typed" if typed is not None else "generic")

    fast = _outcome(raw, key)
    with mock.patch.object(formats, "_typed_document", return_value=None):
        generic = _outcome(raw, key)

    assert fast == generic


HUGE = "__HUGE__"  # placeholder in a bar, replaced in the text by a number no double holds
huge_bar = string_bar.map(lambda b: {**b, "close": HUGE})


@st.composite
def documents_with_repeats_and_huge_numbers(draw) -> bytes:
    """Multi-symbol (or batch) files whose text repeats a key, some holding numbers no double holds."""
    symbols = st.sampled_from(["AAPL", "MSFT", "", "AAPL\x00", "A\u200b"])
    bars = st.lists(st.one_of(string_bar, any_bar, huge_bar), max_size=4)
    members = draw(st.lists(st.tuples(symbols, bars), max_size=4))
    body = ", ".join(
        f"{json.dumps(symbol)}: {json.dumps({'meta': {'symbol': symbol}, 'values': values})}"
        for symbol, values in members
    )
    if draw(st.booleans()):
        body = f'"code": 200, "status": "success", "data": {{{body}}}'
    raw = "{" + body + "}"
    while f'"{HUGE}"' in raw:
        raw = raw.replace(f'"{HUGE}"', draw(st.sampled_from(["1e400", "-1e999", "1" + "0" * 400, "1e200"])), 1)
    return raw.encode("utf-8", "surrogatepass")


@PROPERTY
@given(raw=documents_with_repeats_and_huge_numbers(), key=keys)
def test_repeated_keys_and_huge_numbers_give_the_same_outcome_on_both_paths(raw, key):
    fast = _outcome(raw, key)
    with mock.patch.object(formats, "_typed_document", return_value=None):
        generic = _outcome(raw, key)

    assert fast == generic
    if fast[0] != "rejected":
        counts = fast[1]
        assert counts["valid"] + counts["rejected"] == counts["input"]
        assert len(fast[4]) == counts["valid"] and len(fast[5]) == counts["rejected"] + counts["symbol_errors"]
