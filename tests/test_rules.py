"""Unit tests for `chalicelib.ingest.rules.validate_series`: one test per reject rule, the rule
precedence of `models.BAR_RULES`, the shape of a reject, and agreement between the vectorised
(all-string) path and the per-element path (docs/formats.md, "Reject rules")."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pytest

from chalicelib.ingest.rules import validate_series
from chalicelib.models import BAR_RULES

NOW = int(dt.datetime(2030, 1, 1, tzinfo=dt.UTC).timestamp())
DAY = 86_400
ABSENT = object()  # marks a key to delete from a bar
PRICES = ("open", "high", "low", "close")
NUMBERS = (*PRICES, "volume")
REQUIRED = ("datetime", *PRICES)
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")


def bar(**overrides) -> dict:
    """A valid AAPL daily bar (2023-01-03, real values), with fields replaced or removed."""
    base = {
        "datetime": "2023-01-03",
        "open": "130.28000",
        "high": "130.90000",
        "low": "124.17000",
        "close": "125.07000",
        "volume": "112117500",
    }
    for name, value in overrides.items():
        if value is ABSENT:
            base.pop(name, None)
        else:
            base[name] = value
    return base


def good_series(n: int = 5, fmt: str = "%Y-%m-%d", volume: bool = True) -> list[dict]:
    """`n` valid bars on distinct days, newest first, all values strings."""
    start = dt.datetime(2023, 3, 1, 15, 30, 45)
    bars = [bar(datetime=(start - dt.timedelta(days=i)).strftime(fmt)) for i in range(n)]
    if not volume:
        for b in bars:
            del b["volume"]
    return bars


def check(bars, now: int = NOW, slack: int = DAY):
    return validate_series("AAPL", bars, now, slack)


def with_bad_bar_at(index: int, n: int = 5, fmt: str = "%Y-%m-%d", **overrides) -> list[dict]:
    bars = good_series(n, fmt)
    bars[index] = bar(**{"datetime": bars[index]["datetime"], **overrides})
    return bars


def only_reject(verdict) -> dict:
    assert len(verdict.rejects) == 1, verdict.rejects
    return verdict.rejects[0]


def assert_single_reject(bars, index: int, rule: str, field: str | None, **kwargs) -> dict:
    verdict = check(bars, **kwargs)
    reject = only_reject(verdict)
    assert (reject["index"], reject["rule"], reject["field"]) == (index, rule, field)
    assert reject["bar"] is bars[index]
    assert [b for b in verdict.valid] == [b for i, b in enumerate(bars) if i != index]
    assert verdict.rule_counts == Counter({rule: 1})
    return reject


def verdict_table(verdict) -> dict[int, tuple]:
    return {r["index"]: (r["rule"], r["field"]) for r in verdict.rejects}


# --- accepted input -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", DATE_FORMATS)
def test_valid_series_is_accepted_as_is(fmt):
    bars = good_series(6, fmt)

    verdict = check(bars)

    assert verdict.rejects == []
    assert verdict.rule_counts == Counter()
    assert len(verdict.valid) == len(bars)
    assert all(v is b for v, b in zip(verdict.valid, bars, strict=True))


def test_empty_series_is_fine():
    verdict = check([])

    assert (verdict.valid, verdict.rejects) == ([], [])


@pytest.mark.parametrize(
    "value",
    ["2023-01-03", "2024-02-29", "2023-01-03 09:30", "2023-01-03 23:59:59", "2023-12-31 00:00:00", "0001-01-01"],
)
def test_accepted_datetime_formats(value):
    bars = good_series(3)
    bars[1]["datetime"] = value

    assert check(bars).rejects == []
    assert check([bar(datetime=value)]).rejects == []


def test_mixed_datetime_widths_in_one_series_are_accepted():
    bars = [
        bar(datetime="2023-01-05"),
        bar(datetime="2023-01-04 16:00"),
        bar(datetime="2023-01-04 15:59:00"),
        bar(datetime="2023-01-03"),
    ]

    verdict = check(bars)

    assert verdict.rejects == []
    assert verdict.valid == bars


def test_mixed_datetime_widths_still_catch_bad_dates():
    bars = [
        bar(datetime="2023-01-05"),
        bar(datetime="2023-02-30 16:00"),
        bar(datetime="2023-01-04 15:59:00"),
        bar(datetime="2023-01-03 24:00"),
    ]

    verdict = check(bars)

    assert verdict_table(verdict) == {1: ("bad_datetime", "datetime"), 3: ("bad_datetime", "datetime")}


def test_numeric_json_values_are_accepted():
    bars = [
        bar(datetime="2023-01-05", open=130.28, high=131, low=124.17, close=125.07, volume=112117500),
        bar(datetime="2023-01-04", open="126.89", high=128.66, low="125.08", close=126.36, volume="89113600"),
        bar(datetime="2023-01-03", volume=0),
    ]

    verdict = check(bars)

    assert verdict.rejects == []
    assert verdict.valid == bars


def test_instrument_without_volume_anywhere_is_valid():
    bars = good_series(4, "%Y-%m-%d %H:%M:%S", volume=False)

    verdict = check(bars)

    assert verdict.rejects == []
    assert verdict.valid == bars


def test_rules_still_apply_to_a_series_without_volume():
    bars = good_series(4, volume=False)
    bars[2]["low"] = "-1"

    reject = assert_single_reject(bars, 2, "non_positive_price", "low")

    assert "volume" not in reject["bar"]


def test_zero_volume_is_valid():
    assert check([bar(volume="0")]).rejects == []


def test_equal_prices_are_consistent():
    flat = bar(open="10", high="10", low="10", close="10")

    assert check([flat]).rejects == []


# --- missing_field ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REQUIRED)
def test_missing_required_field(name):
    bars = with_bad_bar_at(2, **{name: ABSENT})

    reject = assert_single_reject(bars, 2, "missing_field", name)

    assert name in reject["message"]


def test_bar_without_volume_in_a_series_that_has_volume_is_missing_field():
    bars = good_series(4)
    del bars[3]["volume"]

    assert_single_reject(bars, 3, "missing_field", "volume")


def test_missing_field_names_the_first_absent_field():
    bars = with_bad_bar_at(1, high=ABSENT, close=ABSENT, volume=ABSENT)

    assert_single_reject(bars, 1, "missing_field", "high")


def test_null_is_not_absent():
    # `"open": null` is present: a bad number, not a missing field.
    assert_single_reject(with_bad_bar_at(0, open=None), 0, "bad_number", "open")


@pytest.mark.parametrize("junk", [None, "2023-01-03;1;2;0.5;1.5;10", 42, 1.5, True, ["2023-01-03", "1"], []])
def test_non_object_bar_is_missing_field(junk):
    bars = good_series(3)
    bars.insert(1, junk)

    verdict = check(bars)

    reject = only_reject(verdict)
    assert (reject["index"], reject["rule"], reject["field"]) == (1, "missing_field", None)
    assert reject["bar"] is junk
    assert reject["message"]
    assert verdict.valid == [bars[0], bars[2], bars[3]]


def test_empty_object_bar_is_missing_field_datetime():
    assert_single_reject([bar(datetime="2023-01-04"), {}], 1, "missing_field", "datetime")


# --- bad_number ---------------------------------------------------------------------------------

BAD_NUMBERS = [
    "abc",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "",
    " ",
    "true",  # JSON literals spelled as strings must not turn into 1 / 0 / null
    "false",
    "null",
    "1,5",  # a decimal comma, or a stray separator
    "1,2,3",
    "1.2.3",
    "0x1A",
    None,
    True,
    False,
    [],
    {},
]


@pytest.mark.parametrize("name", NUMBERS)
@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
def test_bad_number(value, name):
    bars = with_bad_bar_at(3, **{name: value})

    reject = assert_single_reject(bars, 3, "bad_number", name)

    assert name in reject["message"]


@pytest.mark.parametrize("value", ["1e999", float("inf"), float("nan"), 10**400, "1e-400", "-2E-999"], ids=repr)
def test_overflowing_underflowing_or_non_finite_numbers_are_bad_number(value):
    assert_single_reject(with_bad_bar_at(0, close=value), 0, "bad_number", "close")


def test_bool_is_not_a_number_even_though_python_says_true_equals_one():
    bars = [bar(open=True, high=True, low=True, close=True, volume=True)]

    assert_single_reject(bars, 0, "bad_number", "open")


def test_bad_number_names_the_first_bad_field():
    assert_single_reject(with_bad_bar_at(0, low="x", volume="y"), 0, "bad_number", "low")


# docs/formats.md, "Numbers": ASCII decimal text only, whatever Python's float() would also read.
GRAMMAR_BREAKERS = ["١٠٠", "1_00", "+200", " 50 ", "50 ", " 50", "\t50", "50\n", "1.", ".5", "1e", "0x10", "10\x85"]


@pytest.mark.parametrize("value", GRAMMAR_BREAKERS, ids=repr)
@pytest.mark.parametrize("position", [0, 3])
def test_numbers_outside_the_ascii_decimal_grammar_are_bad_number(value, position):
    # Alone in the series (per-element path) and among clean strings (vectorised path first).
    bars = with_bad_bar_at(position, high=value) if position else [bar(high=value)]

    assert_single_reject(bars, position, "bad_number", "high")


@pytest.mark.parametrize("value", ["130.28000", "130", "1.5e2", "1.5E+2", "13028e-2", "0130.28"])
def test_numbers_inside_the_grammar_are_accepted(value):
    assert check([bar(open=value, close=value, high="1e4", low="1")]).rejects == []


@pytest.mark.parametrize(
    "value",
    ["1e200", "1e-200", "1e126", "-1e127", "9e-131", 1e200, 1e-200, 10**130, "1" + "0" * 130],
    ids=repr,
)
@pytest.mark.parametrize("name", ["high", "volume"])
def test_finite_numbers_dynamodb_cannot_store_are_bad_number(value, name):
    bars = with_bad_bar_at(2, **{name: value})

    reject = assert_single_reject(bars, 2, "bad_number", name)

    assert len(reject["message"]) < 200


@pytest.mark.parametrize("value", ["9.9e125", "1e-130", "1.5e-100", 0, "0.0"])
def test_numbers_at_the_edges_of_the_storable_range_are_accepted(value):
    assert check([bar(volume=value)]).rejects == []


@pytest.mark.parametrize(
    "value", ["1." + "0" * 37 + "1", "-12345678901234567890.1234567890123456789", 10**38 + 7, "2" + "0" * 38], ids=repr
)
def test_more_than_38_significant_digits_are_bad_number(value):
    """docs/formats.md, "Numbers": DynamoDB holds 38 significant digits; boto3 will not round a longer number."""
    bars = with_bad_bar_at(1, volume=value)
    assert_single_reject(bars, 1, "bad_number", "volume")


@pytest.mark.parametrize("value", ["1." + "0" * 36 + "1", "0.0000000000" + "1" * 38, "9" * 38, 10**38 - 1])
def test_38_significant_digits_or_fewer_are_accepted(value):
    """Leading zeros are not significant; the fast path's length guard sends long strings to the exact check."""
    assert check([bar(volume=value)]).rejects == []


def test_a_deeply_nested_array_in_a_field_gives_a_bounded_message():
    nested: list = []
    for _ in range(100_000):
        nested = [nested]
    bars = with_bad_bar_at(1, close=nested, datetime="2023-02-30")

    verdict = check(bars)

    [reject] = verdict.rejects
    assert (reject["rule"], reject["field"]) == ("bad_datetime", "datetime")
    bars[1]["datetime"] = "2023-01-05"
    [reject] = check(bars).rejects
    assert (reject["rule"], reject["field"]) == ("bad_number", "close")
    assert "array" in reject["message"] and len(reject["message"]) < 200


def test_a_huge_string_is_cut_in_the_message():
    reject = assert_single_reject(with_bad_bar_at(0, low="x" * 1_000_000), 0, "bad_number", "low")

    assert len(reject["message"]) < 200


# --- bad_symbol ---------------------------------------------------------------------------------

BAD_SYMBOLS = [
    "",
    "AAPL\x00",
    "AAPL\u200b",
    "\u202eLLES",
    "AA\u2066PL",
    "\ufeffAAPL",
    "AAPL\x85",
    "AAPL\x7f",
    "AAPL\n",
    "A" * 65,
]


@pytest.mark.parametrize("symbol", BAD_SYMBOLS, ids=repr)
def test_every_bar_of_a_series_with_an_invalid_symbol_is_bad_symbol(symbol):
    bars = good_series(4)
    bars[1]["open"] = "abc"  # bad_symbol comes first, before any bar's own fault

    verdict = validate_series(symbol, bars, NOW, DAY)

    assert verdict.valid == []
    assert [(r["index"], r["rule"], r["field"], r["symbol"]) for r in verdict.rejects] == [
        (i, "bad_symbol", "symbol", symbol) for i in range(4)
    ]
    assert all(r["bar"] is b for r, b in zip(verdict.rejects, bars, strict=True))
    assert verdict.rule_counts == Counter({"bad_symbol": 4})
    # The message never carries the raw character: it is escaped.
    assert all(ch not in verdict.rejects[0]["message"] for ch in "\x00\u200b\u202e\u2066\ufeff\x85")


@pytest.mark.parametrize("symbol", ["A", "A" * 64, "EUR/USD", "BRK.B", "ÉLÉ", "7203:TSE", "^GSPC"])
def test_valid_symbols_are_accepted(symbol):
    assert validate_series(symbol, good_series(3), NOW, DAY).rejects == []


def test_bad_symbol_is_first_in_the_rule_order():
    assert BAR_RULES[0] == "bad_symbol"


# --- bad_datetime -------------------------------------------------------------------------------

BAD_DATETIMES = [
    "2023-02-30",
    "2023-02-29",  # not a leap year
    "2023-13-01",
    "2023-00-10",
    "2023-01-00",
    "2023/01/01",
    "2023-01-01T10:00",
    "2023-01-01T10:00:00",
    "2023-01-01 24:00",
    "2023-01-01 10:60",
    "2023-01-01 10:00:60",
    "20230101",
    "2023-1-01",
    "0000-01-01",
    " 2023-01-01",
    "2023-01-01 ",
    "2023-01-01Z",
    "2023-01-01 10:00:00.000",
    "２０２３-01-01",  # full-width digits
    "",
    None,
    20230101,
    True,
]


@pytest.mark.parametrize("neighbours", DATE_FORMATS)
@pytest.mark.parametrize("value", BAD_DATETIMES, ids=repr)
def test_bad_datetime(value, neighbours):
    bars = good_series(4, neighbours)
    bars[2] = bar(datetime=value)

    reject = assert_single_reject(bars, 2, "bad_datetime", "datetime")

    assert reject["message"]


@pytest.mark.parametrize("value", BAD_DATETIMES, ids=repr)
def test_bad_datetime_alone(value):
    assert_single_reject([bar(datetime=value)], 0, "bad_datetime", "datetime")


# --- non_positive_price -------------------------------------------------------------------------


@pytest.mark.parametrize("name", PRICES)
@pytest.mark.parametrize("value", ["0", "0.00000", "-0", "-1.5", 0, -3, "0e-400"], ids=repr)
def test_non_positive_price(name, value):
    bars = with_bad_bar_at(1, **{name: value})

    reject = assert_single_reject(bars, 1, "non_positive_price", name)

    assert name in reject["message"]


# --- negative_volume ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-1", "-500", "-0.5", -1])
def test_negative_volume(value):
    assert_single_reject(with_bad_bar_at(2, volume=value), 2, "negative_volume", "volume")


# --- ohlc_inconsistent --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"low": "125.50000"}, "low"),  # above the close
        ({"low": "131.00000", "high": "132.00000"}, "low"),  # above the open as well
        ({"high": "129.00000"}, "high"),  # below the open
        ({"high": "125.00000", "low": "124.00000"}, "high"),  # below the close as well
        ({"low": "131.00000", "high": "124.00000"}, None),  # both sides: no single field at fault
    ],
)
def test_ohlc_inconsistent(overrides, field):
    bars = with_bad_bar_at(2, **overrides)

    reject = assert_single_reject(bars, 2, "ohlc_inconsistent", field)

    assert reject["message"]


def test_ohlc_with_close_above_high():
    assert_single_reject([bar(close="131.00000")], 0, "ohlc_inconsistent", "high")


def test_ohlc_with_open_below_low():
    assert_single_reject([bar(open="124.00000")], 0, "ohlc_inconsistent", "low")


# --- duplicate_timestamp ------------------------------------------------------------------------


def test_duplicate_timestamp_keeps_the_first_bar():
    first = bar(datetime="2023-01-03", close="125.07000")
    other = bar(datetime="2023-01-04")
    later = bar(datetime="2023-01-03", close="126.00000")

    verdict = check([first, other, later])

    reject = only_reject(verdict)
    assert (reject["index"], reject["rule"], reject["field"]) == (2, "duplicate_timestamp", "datetime")
    assert reject["bar"] is later
    assert verdict.valid[0] is first and verdict.valid[1] is other
    assert reject["message"]


@pytest.mark.parametrize("fmt", DATE_FORMATS)
def test_every_later_copy_is_a_duplicate(fmt):
    bars = good_series(3, fmt)
    bars += [dict(bars[1]), dict(bars[1]), dict(bars[0])]

    verdict = check(bars)

    assert verdict_table(verdict) == {i: ("duplicate_timestamp", "datetime") for i in (3, 4, 5)}
    assert verdict.valid == bars[:3]
    assert all(v is b for v, b in zip(verdict.valid, bars[:3], strict=True))


def test_duplicate_of_a_rejected_bar_is_kept():
    # Only a bar that is kept can be duplicated; the later bar is then the first valid one.
    broken = bar(datetime="2023-01-03", open="abc")
    fine = bar(datetime="2023-01-03")

    verdict = check([broken, fine])

    assert verdict_table(verdict) == {0: ("bad_number", "open")}
    assert verdict.valid == [fine]


# --- future_timestamp ---------------------------------------------------------------------------


def stamp(epoch_s: int) -> str:
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize("slack", [0, 3600, DAY])
def test_future_timestamp_respects_now_plus_slack(slack):
    at_limit = bar(datetime=stamp(NOW + slack))
    past_limit = bar(datetime=stamp(NOW + slack + 1))
    now_bar = bar(datetime=stamp(NOW - 60))

    verdict = check([at_limit, past_limit, now_bar], slack=slack)

    reject = only_reject(verdict)
    assert (reject["index"], reject["rule"], reject["field"]) == (1, "future_timestamp", "datetime")
    assert verdict.valid == [at_limit, now_bar]


def test_a_day_after_now_is_accepted_with_a_day_of_slack_but_two_days_are_not():
    tomorrow = dt.datetime.fromtimestamp(NOW, dt.UTC).date() + dt.timedelta(days=1)

    verdict = check([bar(datetime=tomorrow.isoformat()), bar(datetime="2099-03-04")])

    assert verdict_table(verdict) == {1: ("future_timestamp", "datetime")}


# --- precedence ---------------------------------------------------------------------------------

# Each case: one override per rule it breaks, applied to the bar at index 2 of a 4-bar daily series.
# `DUP` makes the bar repeat bar 0's datetime.
DUP = "dup"
PRECEDENCE_CASES = [
    {"missing_field": {"open": ABSENT}, "bad_datetime": {"datetime": "2023-02-30"}},
    {"bad_datetime": {"datetime": "2023/01/05"}, "bad_number": {"volume": "abc"}},
    {"bad_number": {"open": "abc"}, "non_positive_price": {"low": "-1"}},
    {"non_positive_price": {"low": "0"}, "negative_volume": {"volume": "-5"}},
    {"negative_volume": {"volume": "-5"}, "ohlc_inconsistent": {"high": "100"}},
    {"ohlc_inconsistent": {"high": "100"}, "future_timestamp": {"datetime": "2099-01-01"}},
    {"ohlc_inconsistent": {"low": "129"}, "duplicate_timestamp": {"datetime": DUP}},
    {"missing_field": {"close": ABSENT}, "future_timestamp": {"datetime": "2099-01-01"}},
    {"bad_number": {"high": None}, "duplicate_timestamp": {"datetime": DUP}},
    {"negative_volume": {"volume": "-1"}, "duplicate_timestamp": {"datetime": DUP}},
    {"missing_field": {"volume": ABSENT}, "non_positive_price": {"open": "0"}, "bad_number": {"close": "x"}},
]


def breaking(overrides_by_rule: dict, rules) -> list[dict]:
    bars = good_series(4)
    overrides = {}
    for rule in rules:
        overrides.update(overrides_by_rule[rule])
    if overrides.get("datetime") == DUP:
        overrides["datetime"] = bars[0]["datetime"]
    bars[2] = bar(**{"datetime": bars[2]["datetime"], **overrides})
    return bars


@pytest.mark.parametrize("case", PRECEDENCE_CASES, ids=lambda c: "+".join(c))
def test_each_override_alone_breaks_its_own_rule(case):
    for rule in case:
        verdict = check(breaking(case, [rule]))

        assert [r["rule"] for r in verdict.rejects] == [rule]


@pytest.mark.parametrize("case", PRECEDENCE_CASES, ids=lambda c: "+".join(c))
def test_a_bar_breaking_several_rules_gets_the_first_in_bar_rules(case):
    verdict = check(breaking(case, list(case)))

    [reject] = verdict.rejects
    assert reject["index"] == 2
    assert reject["rule"] == min(case, key=BAR_RULES.index)


def test_future_beats_duplicate():
    bars = [bar(datetime="2099-01-01"), bar(datetime="2099-01-01")]

    assert verdict_table(check(bars)) == {0: ("future_timestamp", "datetime"), 1: ("future_timestamp", "datetime")}


# --- reject record shape ------------------------------------------------------------------------


def test_reject_record_carries_symbol_rule_field_message_index_and_the_original_bar():
    bars = with_bad_bar_at(1, volume="-5")
    original = dict(bars[1])

    verdict = validate_series("MSFT", bars, NOW, DAY)

    [reject] = verdict.rejects
    assert set(reject) == {"symbol", "rule", "field", "message", "index", "bar"}
    assert reject["symbol"] == "MSFT"
    assert reject["rule"] == "negative_volume"
    assert reject["field"] == "volume"
    assert isinstance(reject["message"], str) and "-5" in reject["message"]
    assert reject["index"] == 1
    assert reject["bar"] is bars[1]
    assert reject["bar"] == original  # untouched


def test_every_rule_in_one_series_is_counted():
    bars = [
        bar(datetime="2023-01-10"),
        bar(datetime="2023-01-09", open=ABSENT),
        bar(datetime="2023-01-08", close="abc"),
        bar(datetime="2023-02-30"),
        bar(datetime="2023-01-07", low="0"),
        bar(datetime="2023-01-06", volume="-1"),
        bar(datetime="2023-01-05", high="100"),
        bar(datetime="2099-01-01"),
        bar(datetime="2023-01-10"),
    ]

    verdict = check(bars)

    assert verdict_table(verdict) == {
        1: ("missing_field", "open"),
        2: ("bad_number", "close"),
        3: ("bad_datetime", "datetime"),
        4: ("non_positive_price", "low"),
        5: ("negative_volume", "volume"),
        6: ("ohlc_inconsistent", "high"),
        7: ("future_timestamp", "datetime"),
        8: ("duplicate_timestamp", "datetime"),
    }
    # bad_symbol is the series' rule: a series with a valid symbol breaks every other rule once.
    assert verdict.rule_counts == Counter({rule: 1 for rule in BAR_RULES if rule != "bad_symbol"})
    assert verdict.valid == [bars[0]]


# --- vectorised path vs per-element path --------------------------------------------------------


def string_series_with_defects(fmt: str) -> list[dict]:
    """All-string bars, one datetime width, defects that are still number-like strings."""
    bars = good_series(10, fmt)
    bars[1]["low"] = "126.00000"  # ohlc (low side)
    bars[2]["open"] = "0"  # non-positive
    bars[3]["volume"] = "-10"  # negative volume
    bars[4]["datetime"] = bars[0]["datetime"]  # duplicate
    bars[5]["datetime"] = dt.datetime(2099, 1, 1).strftime(fmt)  # future
    bars[6]["datetime"] = "2023-02-30 10:00:00"[: len(bars[6]["datetime"])]  # not a real date, same width
    bars[7]["high"] = "1e999"  # overflows to inf
    return bars


POISON_BARS = {
    "null-volume": bar(datetime="2022-12-01", volume=None),
    "numeric-price": bar(datetime="2022-12-01", open=130.28),
    "word": bar(datetime="2022-12-01", close="abc"),
    "other-width-datetime": bar(datetime="2022-12-01 10:00:30 "),
    "absent-field": bar(datetime="2022-12-01", low=ABSENT),
    "not-an-object": "2022-12-01;1;2;3;4;5",
}


@pytest.mark.parametrize("fmt", DATE_FORMATS)
@pytest.mark.parametrize("poison", POISON_BARS, ids=str)
def test_vectorised_and_per_element_paths_agree(fmt, poison):
    bars = string_series_with_defects(fmt)
    baseline = check(bars)
    assert len(baseline.rejects) == 7  # sanity: every planted defect is caught

    for position in (0, len(bars)):
        mixed = list(bars)
        mixed.insert(position, POISON_BARS[poison])
        shift = 1 if position == 0 else 0

        verdict = check(mixed)

        untouched = {i - shift: v for i, v in verdict_table(verdict).items() if i != position}
        assert untouched == verdict_table(baseline)
        if not shift:  # messages quote bar positions, which only stay put when the poison is appended
            assert [r["message"] for r in verdict.rejects if r["index"] != position] == [
                r["message"] for r in baseline.rejects
            ]
        assert [v for v in verdict.valid if v is not POISON_BARS[poison]] == baseline.valid


# The span parser: a vectorised parser's refusal may name a suspect value. Bad values scattered
# through long columns must get exactly the per-value verdicts, whether the suspect named is right
# (orjson's error position, a stray character, a magnitude) or wrong.
@pytest.mark.parametrize("bad_at", [(0,), (4999,), (1, 2, 3), (17, 2500, 2501, 4998), tuple(range(0, 5000, 97))])
@pytest.mark.parametrize("junk", ["abc", "1e999", " 5", "1.2.3", "-", "1e-200", '"7"', "1,5", "9" * 39])
def test_scattered_bad_numbers_in_a_long_column_are_each_found(bad_at, junk):
    bars = [bar(datetime=(dt.date(2000, 1, 1) + dt.timedelta(days=i)).isoformat()) for i in range(5000)]
    for i in bad_at:
        bars[i]["high"] = junk
    verdict = validate_series("AAPL", bars, NOW, DAY)
    assert [(r["index"], r["rule"], r["field"]) for r in verdict.rejects] == [(i, "bad_number", "high") for i in bad_at]
    assert len(verdict.valid) == 5000 - len(bad_at)


def test_a_wrong_suspect_from_the_vectorised_parser_changes_no_verdict():
    from chalicelib.ingest import parsing

    column = ["1.5"] * 300
    column[7] = column[250] = "x"

    def fast(values):  # refuses any span holding "x", naming the wrong value
        return (len(values) - 1) if "x" in values else (np.array([1.5] * len(values)), np.zeros(len(values), np.int8))

    values, status = parsing._parse_spans(column, fast, parsing._slow_number, np.float64)
    assert np.flatnonzero(status).tolist() == [7, 250]
    assert np.isnan(values[[7, 250]]).all() and (np.delete(values, [7, 250]) == 1.5).all()


def test_the_vectorised_datetime_reading_agrees_with_the_exact_one_on_every_month_end():
    # Leap years (1900 no, 2000 yes), the day after each month's last, times at the edges: the fast
    # reader accepts exactly what dt.datetime accepts, with the same seconds.
    from chalicelib.ingest import parsing

    texts = []
    for year in (1, 1600, 1899, 1900, 1970, 1999, 2000, 2023, 2024, 2100, 9999):
        for month in range(0, 14):
            for day in (0, 1, 28, 29, 30, 31, 32):
                for clock in ("", " 00:00", " 23:59", " 24:00", " 23:60", " 12:30:59", " 12:30:60"):
                    texts.append(f"{year:04d}-{month:02d}-{day:02d}{clock}")
    for width in (10, 16, 19):
        column = [t for t in texts if len(t) == width]
        seconds, status = parsing._parse_spans(column, parsing._fast_datetimes, parsing._slow_datetime, np.int64)
        exact = [parsing._datetime_seconds(t) for t in column]
        assert status.tolist() == [parsing.BAD if e is None else parsing.OK for e in exact]
        assert [int(s) for s, e in zip(seconds, exact, strict=True) if e is not None] == [
            e for e in exact if e is not None
        ]
        good = [t for t, e in zip(column, exact, strict=True) if e is not None]
        fast = parsing._fast_datetimes(good)
        assert isinstance(fast, tuple) and fast[0].tolist() == [e for e in exact if e is not None]


@pytest.mark.parametrize("every", [1, 2, 3, 50])
def test_a_column_dense_with_bad_values_is_not_reparsed_once_per_bad_value(every):
    # A refusal names the first bad value; what follows it is halved, not handed back whole, so
    # the values handed to the vectorised parser stay within n * (log2(n) + 2), dense or sparse.
    import math

    from chalicelib.ingest import parsing

    n = 4096
    column = ["x" if i % every == 0 else "1.5" for i in range(n)]
    handed = []

    def counting_fast(values):
        handed.append(len(values))
        return parsing._fast_numbers(values)

    values, status = parsing._parse_spans(column, counting_fast, parsing._slow_number, np.float64)

    assert np.flatnonzero(status).tolist() == list(range(0, n, every))
    assert sum(handed) <= n * (math.log2(n) + 2)
