"""Unit tests for `chalicelib.ingest.pipeline`: bytes in, processed and reject JSON Lines out, with
counts that add up and every bar in exactly one place (docs/formats.md)."""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import json
from collections import Counter

import pytest
from conftest import FIXTURES, SAMPLES, fixture_bytes

from chalicelib.ingest.formats import InputRejected
from chalicelib.ingest.pipeline import ingest_document, processed_lines
from chalicelib.models import BAR_RULES

NOW = int(dt.datetime(2030, 1, 1, tzinfo=dt.UTC).timestamp())
DAY = 86_400
MAX_BYTES = 5_000_000
REJECT_KEYS = {"symbol", "rule", "field", "message", "index", "bar"}


def sample(name: str) -> bytes:
    if not (FIXTURES / name).is_file():
        pytest.skip(f"shared fixture {name} not found under {FIXTURES}")
    return fixture_bytes(name)


def ingest(raw: bytes, key: str = "inputs/AAPL_1day.json", now: int = NOW):
    return ingest_document(raw, key, now, max_bytes=MAX_BYTES, future_slack_s=DAY)


def jsonl(body: bytes) -> list[dict]:
    """Parse a JSON Lines body strictly: newline-terminated, one object per line, no duplicate keys."""
    if not body:
        return []
    assert body.endswith(b"\n")

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), f"duplicate keys in {keys}"
        return dict(pairs)

    lines = [json.loads(line, object_pairs_hook=no_duplicates) for line in body[:-1].split(b"\n")]
    assert all(isinstance(line, dict) for line in lines)
    return lines


def assert_counts_add_up(outcome) -> tuple[list[dict], list[dict]]:
    processed, rejects = jsonl(outcome.processed), jsonl(outcome.rejects)
    counts = outcome.counts
    assert set(counts) == {"input", "valid", "rejected", "symbol_errors"}
    assert counts["valid"] + counts["rejected"] == counts["input"]
    assert len(processed) == counts["valid"]
    assert sum(r["rule"] != "symbol_error" for r in rejects) == counts["rejected"]
    assert sum(r["rule"] == "symbol_error" for r in rejects) == counts["symbol_errors"]
    assert outcome.reject_rules == Counter(r["rule"] for r in rejects)
    for reject in rejects:
        assert set(reject) == REJECT_KEYS
        assert isinstance(reject["message"], str) and reject["message"]
    return processed, rejects


def bar(day: str, close: str = "125.07000", **extra) -> dict:
    return {
        "datetime": day,
        "open": "130.28000",
        "high": "130.90000",
        "low": "124.17000",
        "close": close,
        "volume": "112117500",
        **extra,
    }


def series(symbol: str, interval: str, bars: list) -> dict:
    return {"meta": {"symbol": symbol, "interval": interval}, "values": bars, "status": "ok"}


def batch(*responses: dict) -> bytes:
    data = {f"req_{i}": {"response": r, "status": "success"} for i, r in enumerate(responses, start=1)}
    return json.dumps({"code": 200, "status": "success", "data": data}).encode()


# --- real samples end to end --------------------------------------------------------------------


def test_single_symbol_sample_end_to_end():
    raw = sample("soulgarden_time_series_AAPL_1min_ok.json")

    outcome = ingest(raw, "inputs/AAPL_1min.json")

    processed, rejects = assert_counts_add_up(outcome)
    assert outcome.counts == {"input": 3, "valid": 3, "rejected": 0, "symbol_errors": 0}
    assert outcome.shape == "time_series"
    assert outcome.symbols == ["AAPL"]
    assert outcome.rejects == b""
    assert processed == [{"symbol": "AAPL", "interval": "1min", **b} for b in json.loads(raw)["values"]]
    # symbol and interval first, then the bar's own fields in delivered order
    assert list(processed[0]) == ["symbol", "interval", "datetime", "open", "high", "low", "close", "volume"]


def test_batch_sample_writes_symbol_errors_for_the_non_series_responses():
    raw = sample("openapi_batch_POST_example.json")
    data = json.loads(raw)["data"]

    outcome = ingest(raw, "inputs/batch.json")

    processed, rejects = assert_counts_add_up(outcome)
    assert outcome.counts == {"input": 2, "valid": 2, "rejected": 0, "symbol_errors": 2}
    assert [(p["symbol"], p["interval"], p["datetime"]) for p in processed] == [
        ("AAPL", "1min", "2025-02-21 12:51:00"),
        ("AAPL", "1min", "2025-02-21 12:50:00"),
    ]
    assert [r["rule"] for r in rejects] == ["symbol_error", "symbol_error"]
    assert [r["bar"] for r in rejects] == [data["req_2"]["response"], data["req_3"]["response"]]
    for reject in rejects:
        assert (reject["symbol"], reject["field"], reject["index"]) == ("USD/JPY", None, None)


def test_per_symbol_errors_only():
    raw = sample("soulgarden_quote_batch_two_symbols_not_found.json")

    outcome = ingest(raw, "inputs/quotes.json")

    processed, rejects = assert_counts_add_up(outcome)
    assert outcome.counts == {"input": 0, "valid": 0, "rejected": 0, "symbol_errors": 2}
    assert outcome.processed == b""
    assert [(r["symbol"], r["rule"]) for r in rejects] == [("NOTFOUND1", "symbol_error"), ("NOTFOUND2", "symbol_error")]
    assert rejects[0]["bar"] == json.loads(raw)["NOTFOUND1"]
    assert outcome.reject_rules == Counter({"symbol_error": 2})


@pytest.mark.parametrize(
    "name",
    [
        "soulgarden_time_series_error_429.json",
        "soulgarden_time_series_error_not_available_with_plan.json",
        "soulgarden_time_series_error_symbol_not_found.json",
        "openapi_error_example_400_interval.json.txt",
    ],
)
def test_top_level_error_body_is_one_symbol_error_line(name):
    raw = sample(name)

    outcome = ingest(raw, "inputs/AAPL_1min.json")

    processed, rejects = assert_counts_add_up(outcome)
    assert outcome.shape == "error"
    assert outcome.counts == {"input": 0, "valid": 0, "rejected": 0, "symbol_errors": 1}
    [reject] = rejects
    assert reject["rule"] == "symbol_error"
    assert reject["bar"] == json.loads(raw)
    assert json.loads(raw)["message"] in reject["message"]


def test_series_without_volume_is_processed_without_volume():
    outcome = ingest(sample("clementeaf_trading-assistant-app_XAUUSD_1h_no_volume.txt"), "inputs/XAUUSD_1h.txt")

    processed, _ = assert_counts_add_up(outcome)
    assert outcome.counts == {"input": 1, "valid": 1, "rejected": 0, "symbol_errors": 0}
    [line] = processed
    assert (line["symbol"], line["interval"], line["datetime"]) == ("XAU/USD", "1h", "2026-01-03 23:00:00")
    assert "volume" not in line


def test_messy_csv_sample_puts_every_bar_in_exactly_one_place():
    path = SAMPLES / "AAPL_1day_messy.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    raw = path.read_bytes()

    outcome = ingest(raw, "inputs/AAPL_1day_messy.csv")

    processed, rejects = assert_counts_add_up(outcome)
    rows = [line for line in raw.decode().splitlines()[1:] if line.strip()]
    assert outcome.counts["input"] == len(rows)
    assert outcome.shape == "csv"
    # The sample plants one bar of each rule but the series-wide bad_symbol.
    assert outcome.reject_rules == Counter({rule: 1 for rule in BAR_RULES if rule != "bad_symbol"})
    assert {(p["symbol"], p["interval"]) for p in processed} == {("AAPL", "1day")}
    for reject in rejects:
        assert reject["symbol"] == "AAPL"
        assert reject["bar"]["datetime"] == rows[reject["index"]].split(";")[0]
    by_rule = {r["rule"]: r for r in rejects}
    assert by_rule["future_timestamp"]["bar"]["datetime"] == "2099-03-04"
    assert by_rule["bad_number"]["field"] == "open"
    assert by_rule["missing_field"]["field"] == "close"  # a row of four columns
    assert by_rule["duplicate_timestamp"]["bar"]["datetime"] == "2013-02-19"
    kept = [p["datetime"] for p in processed]
    assert kept.count("2013-02-19") == 1 and kept.count("2013-02-15") == 1


# --- counts and lines ---------------------------------------------------------------------------


def test_mixed_multi_symbol_file_counts_add_up_and_lines_carry_the_original_bars():
    aapl = [bar("2023-01-05"), bar("2023-01-04", open="abc"), bar("2023-01-03")]
    msft = [bar("2023-01-05", low="-1"), bar("2023-01-04"), bar("2023-01-04")]
    nope = {"code": 400, "message": "**symbol** not found: NOPE", "status": "error"}
    raw = json.dumps({"AAPL": series("AAPL", "1day", aapl), "MSFT": series("MSFT", "1day", msft), "NOPE": nope})

    outcome = ingest(raw.encode(), "inputs/multi.json")

    processed, rejects = assert_counts_add_up(outcome)
    assert outcome.counts == {"input": 6, "valid": 3, "rejected": 3, "symbol_errors": 1}
    assert outcome.symbols == ["AAPL", "MSFT"]
    assert [(p["symbol"], p["datetime"]) for p in processed] == [
        ("AAPL", "2023-01-05"),
        ("AAPL", "2023-01-03"),
        ("MSFT", "2023-01-04"),
    ]
    assert processed[0] == {"symbol": "AAPL", "interval": "1day", **aapl[0]}
    assert [(r["symbol"], r["rule"], r["field"], r["index"]) for r in rejects] == [
        ("AAPL", "bad_number", "open", 1),
        ("MSFT", "non_positive_price", "low", 0),
        ("MSFT", "duplicate_timestamp", "datetime", 2),
        ("NOPE", "symbol_error", None, None),
    ]
    assert [r["bar"] for r in rejects] == [aapl[1], msft[0], msft[2], nope]


def test_same_symbol_twice_in_a_batch_is_deduplicated_across_both_requests():
    first = series("AAPL", "1day", [bar("2023-01-04"), bar("2023-01-03")])
    second = series("AAPL", "1day", [bar("2023-01-03", close="126.00000"), bar("2023-01-02")])

    outcome = ingest(batch(first, second), "inputs/batch.json")

    processed, rejects = assert_counts_add_up(outcome)
    assert outcome.counts == {"input": 4, "valid": 3, "rejected": 1, "symbol_errors": 0}
    assert outcome.symbols == ["AAPL"]
    assert [p["datetime"] for p in processed] == ["2023-01-04", "2023-01-03", "2023-01-02"]
    assert processed[1]["close"] == "125.07000"  # the first bar is the one kept
    [reject] = rejects
    assert (reject["rule"], reject["symbol"]) == ("duplicate_timestamp", "AAPL")
    assert reject["bar"] == bar("2023-01-03", close="126.00000")


def test_one_symbol_at_two_intervals_is_two_series_each_with_its_interval():
    daily = series("AAPL", "1day", [bar("2023-01-04"), bar("2023-01-03")])
    hourly = series("AAPL", "1h", [bar("2023-01-04 15:30:00"), bar("2023-01-04")])

    outcome = ingest(batch(daily, hourly), "inputs/batch.json")

    processed, rejects = assert_counts_add_up(outcome)
    assert rejects == []  # the hourly 2023-01-04 is no duplicate of the daily one: another series
    assert [(p["interval"], p["datetime"]) for p in processed] == [
        ("1day", "2023-01-04"),
        ("1day", "2023-01-03"),
        ("1h", "2023-01-04 15:30:00"),
        ("1h", "2023-01-04"),
    ]


def test_different_symbols_may_share_a_datetime():
    outcome = ingest(batch(series("AAPL", "1day", [bar("2023-01-03")]), series("MSFT", "1day", [bar("2023-01-03")])))

    assert outcome.counts == {"input": 2, "valid": 2, "rejected": 0, "symbol_errors": 0}


def test_gzip_csv_end_to_end():
    csv_text = "datetime;open;high;low;close;volume\n2023-01-04;126.89;128.66;125.08;126.36;89113600\n"
    raw = gzip.compress(csv_text.encode())

    outcome = ingest(raw, "inputs/AAPL_1day.csv.gz")

    processed, _ = assert_counts_add_up(outcome)
    assert processed == [
        {
            "symbol": "AAPL",
            "interval": "1day",
            "datetime": "2023-01-04",
            "open": "126.89",
            "high": "128.66",
            "low": "125.08",
            "close": "126.36",
            "volume": "89113600",
        }
    ]


def test_empty_series_writes_nothing():
    outcome = ingest(json.dumps(series("AAPL", "1day", [])).encode())

    assert outcome.counts == {"input": 0, "valid": 0, "rejected": 0, "symbol_errors": 0}
    assert (outcome.processed, outcome.rejects) == (b"", b"")


def test_whole_file_failure_raises_input_rejected():
    with pytest.raises(InputRejected) as info:
        ingest(b"   ", "inputs/AAPL_1day.csv")

    assert info.value.reason == "empty"


def test_output_depends_only_on_the_input():
    raw = sample("openapi_batch_POST_example.json")

    first, second = ingest(raw, "inputs/batch.json"), ingest(raw, "inputs/batch.json")

    assert (first.processed, first.rejects, first.counts) == (second.processed, second.rejects, second.counts)


def test_reject_line_keeps_non_object_bars_and_numbers_as_delivered():
    values = [bar("2023-01-04"), "not a bar", None, bar("2023-01-03", volume=-5)]

    outcome = ingest(json.dumps(series("AAPL", "1day", values)).encode())

    _, rejects = assert_counts_add_up(outcome)
    assert [(r["index"], r["rule"], r["bar"]) for r in rejects] == [
        (1, "missing_field", "not a bar"),
        (2, "missing_field", None),
        (3, "negative_volume", values[3]),
    ]


# --- processed_lines ----------------------------------------------------------------------------


def expected_lines(symbol, interval, bars) -> list[dict]:
    return [{"symbol": symbol, "interval": interval, **b} for b in bars]


def test_processed_lines_plain_bars():
    bars = [bar("2023-01-04"), bar("2023-01-03")]

    assert jsonl(processed_lines("AAPL", "1day", bars)) == expected_lines("AAPL", "1day", bars)


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"note": "a},{b"}, id="separator-in-a-string"),
        pytest.param({"note": "},{},{"}, id="several-separators"),
        pytest.param({"nested": [{"a": 1}, {"b": 2}]}, id="separator-from-nested-objects"),
        pytest.param({"nested": {"x": {}}}, id="closing-braces"),
    ],
)
@pytest.mark.parametrize("position", [0, 1, 2])
def test_processed_lines_fall_back_when_a_bar_contains_the_separator(extra, position):
    bars = [bar("2023-01-05"), bar("2023-01-04"), bar("2023-01-03")]
    bars[position] = {**bars[position], **extra}

    body = processed_lines("AAPL", "1day", bars)

    assert body.count(b"\n") == 3
    assert jsonl(body) == expected_lines("AAPL", "1day", bars)


def test_processed_lines_single_bar_with_separator_and_null_interval():
    bars = [bar("2023-01-03", note="x},{y")]

    assert jsonl(processed_lines("MSFT", None, bars)) == expected_lines("MSFT", None, bars)


def test_separator_inside_a_bar_survives_ingest_end_to_end():
    bars = [bar("2023-01-05", note="a},{b"), bar("2023-01-04"), bar("2023-01-03", tags=[{"k": 1}, {"k": 2}])]

    outcome = ingest(json.dumps(series("AAPL", "1day", bars)).encode())

    processed, _ = assert_counts_add_up(outcome)
    assert processed == expected_lines("AAPL", "1day", bars)


def test_processed_lines_keep_unicode_and_numbers_as_delivered():
    bars = [
        {"datetime": "2023-01-04", "open": 1, "high": 2.5, "low": 0.5, "close": 1.25, "volume": 10, "n": "é 株"},
        bar("2023-01-03"),
    ]

    assert jsonl(processed_lines("7203.T", "1day", bars)) == expected_lines("7203.T", "1day", bars)


# --- bugs ---------------------------------------------------------------------------------------


def test_a_bars_own_symbol_field_cannot_relabel_its_processed_line():
    bars = [bar("2023-01-03", symbol="MSFT", interval="1min")]

    outcome = ingest(json.dumps(series("AAPL", "1day", bars)).encode())

    [line] = jsonl(outcome.processed)  # fails on the duplicate "symbol" key
    assert (line["symbol"], line["interval"]) == ("AAPL", "1day")


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize("where", ["symbol_error", "valid_bar", "rejected_bar"])
def test_deeply_nested_payload_is_not_an_unhandled_error(where):
    deep = nested(300)
    documents = {
        "symbol_error": {"AAPL": series("AAPL", "1day", [bar("2023-01-03")]), "JUNK": deep},
        "valid_bar": series("AAPL", "1day", [bar("2023-01-03", extra=deep)]),
        "rejected_bar": series("AAPL", "1day", [bar("2023-01-03", open="abc", extra=deep)]),
    }
    raw = json.dumps(copy.deepcopy(documents[where])).encode()

    try:
        outcome = ingest(raw)
    except InputRejected:
        return  # quarantining the file is an acceptable answer
    assert_counts_add_up(outcome)


def test_an_extra_symbol_key_on_an_instrument_without_volume_cannot_relabel_its_line():
    bars = [
        {"datetime": "2023-01-03 10:00", "open": "1", "high": "2", "low": "0.5", "close": "1.5", "symbol": "EVIL"},
        {"datetime": "2023-01-03 11:00", "open": "1", "high": "2", "low": "0.5", "close": "1.5"},
    ]
    raw = json.dumps({"meta": {"symbol": "XAU/USD", "interval": "1h"}, "values": bars}).encode()

    outcome = ingest(raw)

    lines = jsonl(outcome.processed)
    assert [line["symbol"] for line in lines] == ["XAU/USD", "XAU/USD"]
    assert lines[0]["source_symbol"] == "EVIL"


def test_outputs_are_buffers_the_store_uploads_without_a_copy(aws_env):
    """One growing buffer per body, never copied to bytes (a copy of a reject-heavy file's rejects
    doubled ingest's peak); the store streams it, also where botocore computes no checksum
    (request_checksum_calculation="when_required", the sandbox's setting), which refuses a bare
    bytearray."""
    import boto3
    from botocore.config import Config
    from moto import mock_aws

    from chalicelib.storage import ObjectStore

    typed = ingest(sample("soulgarden_time_series_AAPL_1min_ok.json"), "inputs/aapl.json")
    generic = ingest(
        b'{"meta": {"symbol": "X"}, "values": [{"datetime": "2024-01-02", "open": 1, "high": 2, "low": 1, "close": 1.5, "volume": 3}]}',
        "inputs/x.json",
    )
    assert type(typed.processed) is bytearray and type(generic.rejects) is bytearray
    assert typed.processed.count(b"\n") == typed.counts["valid"] and generic.processed.count(b"\n") == 1
    with mock_aws():
        for checksums in ("when_required", "when_supported"):
            s3 = boto3.client("s3", region_name="us-east-1", config=Config(request_checksum_calculation=checksums))
            s3.create_bucket(Bucket="outputs")
            store = ObjectStore(s3, "outputs")
            store.put("p.jsonl", typed.processed)
            assert s3.get_object(Bucket="outputs", Key="p.jsonl")["Body"].read() == bytes(typed.processed)
