"""Input hardening: hostile files that used to crash, quarantine or lose bars now give
one verdict per bar, through the whole ingest core (docs/formats.md: numbers, symbols)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import zlib
from unittest import mock

import pytest

from chalicelib.ingest import formats
from chalicelib.ingest.formats import InputRejected, decode_input
from chalicelib.ingest.pipeline import ingest_document

NOW = int(dt.datetime(2030, 1, 1, tzinfo=dt.UTC).timestamp())
DAY = 86_400
MAX_BYTES = 5_000_000


def ingest(raw: bytes, key: str = "inputs/AAPL_1day.json"):
    return ingest_document(raw, key, NOW, max_bytes=MAX_BYTES, future_slack_s=DAY)


def lines(body) -> list[dict]:
    return [json.loads(line) for line in bytes(body).splitlines()]


def bar(day: str, **fields) -> dict:
    return {
        "datetime": day,
        "open": "130.28000",
        "high": "130.90000",
        "low": "124.17000",
        "close": "125.07000",
        "volume": "112117500",
        **fields,
    }


def response(symbol: str | None, bars: list) -> dict:
    meta = {"interval": "1day"} if symbol is None else {"symbol": symbol, "interval": "1day"}
    return {"meta": meta, "values": bars, "status": "ok"}


def both_paths(raw: bytes, key: str = "inputs/AAPL_1day.json"):
    """The outcome through the typed decoder and through the generic one: they must agree."""

    def outcome():
        try:
            result = ingest(raw, key)
        except InputRejected as rejected:
            return rejected.reason
        return dict(result.counts), lines(result.processed), lines(result.rejects)

    typed = outcome()
    with mock.patch.object(formats, "_typed_document", return_value=None):
        assert outcome() == typed
    return typed


def verdicts(rejects: list[dict]) -> list[tuple]:
    return [(r["symbol"], r["index"], r["rule"], r["field"]) for r in rejects]


# --- numbers ------------------------------------------------------------------------------------


def test_a_json_number_beyond_a_double_is_one_bad_number_not_a_quarantined_file():
    raw = json.dumps(response("AAPL", [bar("2023-01-04"), bar("2023-01-03")])).replace('"125.07000"', "1e400", 1)
    assert "1e400" in raw

    counts, processed, rejects = both_paths(raw.encode())

    assert counts == {"input": 2, "valid": 1, "rejected": 1, "symbol_errors": 0}
    assert verdicts(rejects) == [("AAPL", 0, "bad_number", "close")]
    assert rejects[0]["bar"]["close"] == "1e400"  # kept as its text
    assert [line["datetime"] for line in processed] == ["2023-01-03"]


@pytest.mark.parametrize("number", ["-1e400", "1E+999", "1" + "0" * 400])
def test_other_numbers_no_double_holds_are_bad_number_too(number):
    raw = (
        b'{"meta": {"symbol": "AAPL"}, "values": [%s]}'
        % json.dumps(bar("2023-01-03", volume="X")).replace('"X"', number).encode()
    )

    counts, _, rejects = both_paths(raw)

    assert verdicts(rejects) == [("AAPL", 0, "bad_number", "volume")]


@pytest.mark.parametrize("junk", [b"NaN", b"Infinity", b"-Infinity"])
def test_a_file_with_a_huge_number_and_a_non_json_constant_is_still_bad_json(junk):
    raw = b'{"meta": {"symbol": "AAPL"}, "values": [{"open": 1e400, "close": %s}]}' % junk

    assert both_paths(raw) == "bad_json"


def test_a_file_with_a_huge_number_and_a_lone_surrogate_is_still_bad_json():
    raw = b'{"meta": {"symbol": "AAPL\\ud800"}, "values": [{"open": 1e400}]}'

    assert both_paths(raw) == "bad_json"


@pytest.mark.parametrize("value", ["1e200", "1e-200", 1e200, 1e-200])
def test_numbers_dynamodb_cannot_hold_never_reach_processed(value):
    raw = json.dumps(response("AAPL", [bar("2023-01-03", high=value), bar("2023-01-04")])).encode()

    counts, processed, rejects = both_paths(raw)

    assert verdicts(rejects) == [("AAPL", 0, "bad_number", "high")]
    assert len(processed) == 1


@pytest.mark.parametrize("value", ["\u0661\u0660\u0660", "1_00", "+200", " 50 "])
def test_contract_examples_of_non_numbers_are_bad_number(value):
    raw = json.dumps(response("AAPL", [bar("2023-01-03", low=value)])).encode()

    _, _, rejects = both_paths(raw)

    assert verdicts(rejects) == [("AAPL", 0, "bad_number", "low")]


# --- a repeated key -----------------------------------------------------------------------------


def test_a_multi_symbol_file_that_repeats_a_symbol_keeps_both_series():
    first = json.dumps(response("AAPL", [bar("2023-01-04"), bar("2023-01-03")]))
    second = json.dumps(response("AAPL", [bar("2023-01-05"), bar("2023-01-04", close="126.00000")]))
    msft = json.dumps(response("MSFT", [bar("2023-01-04")]))
    raw = f'{{"AAPL": {first}, "MSFT": {msft}, "AAPL": {second}}}'.encode()

    counts, processed, rejects = both_paths(raw)

    # Both AAPL responses are one series: the later bar at 2023-01-04 is a duplicate.
    assert counts == {"input": 5, "valid": 4, "rejected": 1, "symbol_errors": 0}
    assert sorted((line["symbol"], line["datetime"]) for line in processed) == [
        ("AAPL", "2023-01-03"),
        ("AAPL", "2023-01-04"),
        ("AAPL", "2023-01-05"),
        ("MSFT", "2023-01-04"),
    ]
    assert verdicts(rejects) == [("AAPL", 3, "duplicate_timestamp", "datetime")]
    assert rejects[0]["bar"]["close"] == "126.00000"


@pytest.mark.parametrize("same_text", [True, False])
def test_a_repeated_symbol_is_found_even_when_both_responses_are_identical(same_text):
    one = json.dumps(response("AAPL", [bar("2023-01-04")]))
    two = one if same_text else json.dumps(response("AAPL", [bar("2023-01-05")]))
    raw = f'{{"AAPL": {one},\n "AAPL" :{two} }}'.encode()

    counts, _, rejects = both_paths(raw)

    assert counts["input"] == 2
    assert len(rejects) == (1 if same_text else 0)


def test_a_batch_that_repeats_a_request_id_keeps_both_requests():
    entry = {"response": response("AAPL", [bar("2023-01-04")]), "status": "success"}
    other = {"response": response("MSFT", [bar("2023-01-04")]), "status": "success"}
    raw = b'{"code": 200, "status": "success", "data": {"req_1": %s, "req_1": %s}}' % (
        json.dumps(entry).encode(),
        json.dumps(other).encode(),
    )

    counts, processed, _ = both_paths(raw)

    assert counts["input"] == 2
    assert sorted(line["symbol"] for line in processed) == ["AAPL", "MSFT"]


def test_a_time_series_that_repeats_values_is_quarantined_not_halved():
    bars = json.dumps([bar("2023-01-04")])
    raw = f'{{"meta": {{"symbol": "AAPL"}}, "values": {bars}, "values": {bars}}}'.encode()

    assert both_paths(raw) == "wrong_shape"


def test_a_file_without_repeats_is_not_read_twice():
    raw = json.dumps({"AAPL": response("AAPL", [bar("2023-01-04")]), "MSFT": response("MSFT", [])}).encode()

    with mock.patch.object(formats, "exact_document", side_effect=AssertionError("not needed")):
        assert ingest(raw).counts["input"] == 1


# --- symbols ------------------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", ["AAPL\x00", "AAPL\u200b", "\u202eLLES", "A" * 65, ""])
def test_a_series_with_an_invalid_symbol_is_bad_symbol_and_never_merged(symbol):
    document = {"AAPL": response("AAPL", [bar("2023-01-04")]), symbol: response(symbol, [bar("2023-01-03")])}

    counts, processed, rejects = both_paths(json.dumps(document).encode())

    assert [line["symbol"] for line in processed] == ["AAPL"]
    assert verdicts(rejects) == [(symbol, 0, "bad_symbol", "symbol")]


@pytest.mark.parametrize("key", ["inputs/_1day.csv", "inputs/.csv", "inputs/_x.json", "inputs/\u200bAAPL_1day.csv"])
def test_a_csv_whose_file_name_gives_no_valid_symbol_is_bad_symbol(key):
    raw = b"datetime;open;high;low;close;volume\n2023-01-03;130.28;130.9;124.17;125.07;112117500\n"

    outcome = ingest(raw, key)

    assert outcome.counts == {"input": 1, "valid": 0, "rejected": 1, "symbol_errors": 0}
    assert [r["rule"] for r in lines(outcome.rejects)] == ["bad_symbol"]


@pytest.mark.parametrize("key", ["inputs/_x.json", "inputs/.json"])
def test_a_time_series_without_a_symbol_anywhere_is_bad_symbol(key):
    raw = json.dumps(response(None, [bar("2023-01-03")])).encode()

    _, processed, rejects = both_paths(raw, key)

    assert processed == [] and verdicts(rejects) == [("", 0, "bad_symbol", "symbol")]


# --- CSV rows -----------------------------------------------------------------------------------


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1e"])
def test_a_unicode_line_separator_inside_a_csv_row_does_not_split_it(separator):
    raw = f"datetime;open;high;low;close;volume\n2023-01-03;130.28;130.9;124.17;125.07;10{separator}x\n".encode()

    outcome = ingest(raw, "inputs/AAPL_1day.csv")

    assert outcome.counts == {"input": 1, "valid": 0, "rejected": 1, "symbol_errors": 0}
    [reject] = lines(outcome.rejects)
    assert (reject["rule"], reject["field"], reject["bar"]["volume"]) == ("bad_number", "volume", f"10{separator}x")


def test_a_csv_cell_keeps_non_ascii_blanks_for_the_rules_to_judge():
    raw = "datetime;open;high;low;close;volume\n2023-01-03;130.28;130.9;124.17;125.07;\x8510\xa0\n".encode()

    [reject] = lines(ingest(raw, "inputs/AAPL_1day.csv").rejects)

    assert (reject["rule"], reject["field"]) == ("bad_number", "volume")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_csv_rows_end_at_lf_crlf_or_a_cr_only_file(newline):
    rows = ["datetime;open;high;low;close;volume", "2023-01-04;1;2;0.5;1.5;10", "2023-01-03;1;2;0.5;1.5;10"]
    raw = newline.join(rows).encode()

    assert ingest(raw, "inputs/AAPL_1day.csv").counts["valid"] == 2


# --- gzip ---------------------------------------------------------------------------------------


def test_many_gzip_members_are_decoded_without_copying_the_rest_of_the_file_per_member():
    payload = json.dumps(response("AAPL", [bar(f"2023-01-{d:02d}") for d in range(1, 29)])).encode()
    raw = b"".join(gzip.compress(payload[i : i + 7]) for i in range(0, len(payload), 7))
    fed: list[int] = []
    real = zlib.decompressobj

    class Recording:
        def __init__(self, *args, **kwargs):
            self._inner = real(*args, **kwargs)

        def decompress(self, data, max_length=0):
            fed.append(len(data))
            return self._inner.decompress(data, max_length)

        def __getattr__(self, name):
            return getattr(self._inner, name)

    with mock.patch.object(formats.zlib, "decompressobj", Recording):
        parsed = decode_input(raw, "inputs/AAPL.json.gz", MAX_BYTES)

    assert len(parsed.series[0].values) == 28
    # Each member is handed a small piece of the file, never the whole rest of it: linear work.
    members = raw.count(b"\x1f\x8b\x08")
    assert members >= 100
    assert sum(fed) <= 4 * len(raw) + members * formats._GUNZIP_FIRST_PIECE


@pytest.mark.parametrize("field", ["close", "datetime", "volume"])
def test_a_deeply_nested_array_in_a_bar_field_is_one_reject_with_a_bounded_message(field):
    depth = 1000  # under orjson's parse limit, over Python's repr recursion limit
    document = json.dumps(response("AAPL", [bar("2023-01-04"), bar("2023-01-03", **{field: "NESTED"})]))
    raw = document.replace('"NESTED"', "[" * depth + "]" * depth).encode()

    counts, processed, rejects = both_paths(raw)

    assert counts == {"input": 2, "valid": 1, "rejected": 1, "symbol_errors": 0}
    [reject] = rejects
    assert reject["index"] == 1 and reject["field"] == field
    assert reject["rule"] == ("bad_datetime" if field == "datetime" else "bad_number")
    assert len(reject["message"]) < 200


def test_a_lone_carriage_return_inside_a_csv_row_keeps_the_row_one_bar():
    raw = b"datetime;open;high;low;close;volume\n2023-01-04;1;2;0.5;1.5;10\n\r;0.0000\n2023-01-03;1;2;0.5;1\r5;10\n"

    outcome = ingest(raw, "inputs/AAPL_1day.csv")

    assert outcome.counts == {"input": 3, "valid": 1, "rejected": 2, "symbol_errors": 0}
    first, second = lines(outcome.rejects)
    assert (first["rule"], first["bar"]["datetime"]) == ("missing_field", "\r")
    assert (second["rule"], second["bar"]["close"]) == ("bad_number", "1\r5")


@pytest.mark.parametrize("field", ["close", "volume"])
@pytest.mark.parametrize("text", ["1e-400", "1E-999", "-0.5e-300", "0.000000000000000000000000000000001e-200"])
def test_a_number_too_small_for_a_double_is_bad_number_not_zero(field, text):
    """It reads as 0.0, but it is not zero: a price would be `non_positive_price`, a volume 0."""
    bars = [bar("2023-01-04", **{field: text}), bar("2023-01-03")]
    for dumps in (json.dumps, lambda doc: json.dumps(doc, separators=(",", ":"))):  # spaced, and compact
        counts, processed, rejects = both_paths(dumps(response("AAPL", bars)).encode())

        assert verdicts(rejects) == [("AAPL", 0, "bad_number", field)]
        assert [line["datetime"] for line in processed] == ["2023-01-03"]


@pytest.mark.parametrize("text", ["0e-400", "0.0E5", "-0e0"])
def test_zero_written_with_an_exponent_is_still_zero(text):
    raw = json.dumps(response("AAPL", [bar("2023-01-04", volume=text)]), separators=(",", ":")).encode()

    counts, processed, rejects = both_paths(raw)

    assert rejects == [] and processed[0]["volume"] == text
