"""Unit tests for `chalicelib.ingest.formats`: every Twelve Data shape the ingestor accepts, and
every whole-file failure it must turn into an `InputRejected` (docs/formats.md)."""

from __future__ import annotations

import copy
import gzip
import json
from unittest import mock

import pytest
from conftest import FIXTURES, fixture_bytes

from chalicelib.ingest import formats
from chalicelib.ingest.decoders import TYPED_NUMBER_MAX_CHARS, TypedBar, bar_dict
from chalicelib.ingest.formats import (
    InputRejected,
    ParsedInput,
    classify_document,
    decode_input,
    symbol_from_key,
)

MAX_BYTES = 5_000_000

AAPL_1MIN = "soulgarden_time_series_AAPL_1min_ok.json"
MULTI_PARTIAL = "ianpojman_twelvedata-zio_multi_symbol_1day_PARTIAL.txt"
BATCH = "openapi_batch_POST_example.json"
QUOTE_ERRORS = "soulgarden_quote_batch_two_symbols_not_found.json"
XAU_NO_VOLUME = "clementeaf_trading-assistant-app_XAUUSD_1h_no_volume.txt"

# Real AAPL daily bars (2023-01-04 and 2023-01-03), newest first as Twelve Data writes them.
CSV_HEADER = ("datetime", "open", "high", "low", "close", "volume")
CSV_ROWS = (
    ("2023-01-04", "126.89000", "128.66000", "125.08000", "126.36000", "89113600"),
    ("2023-01-03", "130.28000", "130.90000", "124.17000", "125.07000", "112117500"),
)
CSV_BARS = [dict(zip(CSV_HEADER, row, strict=True)) for row in CSV_ROWS]


def plain(values: list) -> list:
    """Bars as the generic decoder gives them (the typed decoder builds structs)."""
    return [bar_dict(bar) for bar in values]


def sample(name: str) -> bytes:
    if not (FIXTURES / name).is_file():
        pytest.skip(f"shared fixture {name} not found under {FIXTURES}")
    return fixture_bytes(name)


def csv_bytes(delimiter: str, newline: str = "\n") -> bytes:
    lines = [delimiter.join(CSV_HEADER), *(delimiter.join(row) for row in CSV_ROWS)]
    return (newline.join(lines) + newline).encode()


def rejected(raw: bytes, key: str = "inputs/AAPL_1day.json", max_bytes: int = MAX_BYTES) -> InputRejected:
    with pytest.raises(InputRejected) as info:
        decode_input(raw, key, max_bytes)
    assert info.value.message  # a human reason always comes with the machine id
    return info.value


def only_series(parsed: ParsedInput):
    assert len(parsed.series) == 1, parsed
    return parsed.series[0]


# --- symbol_from_key ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("inputs/AAPL_1day.csv", ("AAPL", "1day")),
        ("inputs/AAPL_1day.csv.gz", ("AAPL", "1day")),
        ("inputs/MSFT.csv", ("MSFT", None)),
        ("inputs/nested/dir/IBM_1min.JSON", ("IBM", "1min")),
        ("inputs/GOOG_1h.json.GZ", ("GOOG", "1h")),
        ("inputs/BRK.B_1day.csv", ("BRK.B", "1day")),
        ("inputs/FB_1week", ("FB", "1week")),
        ("inputs/TSLA_5min.jsonl", ("TSLA", "5min")),
        ("AAPL_1day.txt", ("AAPL", "1day")),
        ("inputs/AAPL_1day_messy.csv", ("AAPL", "1day")),
        ("inputs/AAPL_messy_1month.csv", ("AAPL", "1month")),
        ("inputs/AAPL_export.csv", ("AAPL", None)),
    ],
)
def test_symbol_from_key(key, expected):
    assert symbol_from_key(key) == expected


# --- single-symbol /time_series ----------------------------------------------------------------


def test_single_symbol_time_series_keeps_meta_and_bars_untouched():
    raw = sample(AAPL_1MIN)

    parsed = decode_input(raw, "inputs/AAPL_1min.json", MAX_BYTES)

    assert parsed.shape == "time_series"
    assert parsed.errors == []
    series = only_series(parsed)
    assert (series.symbol, series.interval) == ("AAPL", "1min")
    assert series.meta["exchange"] == "NASDAQ"
    # Bars come back exactly as delivered: strings, delivered (newest-first) order.
    assert plain(series.values) == json.loads(raw)["values"]
    assert plain(series.values)[0] == {
        "datetime": "2022-02-07 15:59:00",
        "open": "171.42000",
        "high": "171.75999",
        "low": "171.41000",
        "close": "171.71001",
        "volume": "863231",
    }


def test_symbol_in_meta_wins_over_the_file_name():
    parsed = decode_input(sample(AAPL_1MIN), "inputs/MSFT_1day.json", MAX_BYTES)

    assert only_series(parsed).symbol == "AAPL"


def test_time_series_without_meta_symbol_takes_the_symbol_from_the_key():
    raw = json.dumps({"values": CSV_BARS, "status": "ok"}).encode()

    parsed = decode_input(raw, "inputs/TSLA_1day.json", MAX_BYTES)

    assert parsed.shape == "time_series"
    series = only_series(parsed)
    assert series.symbol == "TSLA"
    assert plain(series.values) == CSV_BARS


def test_series_without_volume_xauusd():
    parsed = decode_input(sample(XAU_NO_VOLUME), "inputs/XAUUSD_1h.txt", MAX_BYTES)

    assert parsed.shape == "time_series"
    assert parsed.errors == []
    series = only_series(parsed)
    assert (series.symbol, series.interval) == ("XAU/USD", "1h")
    assert series.meta["currency_base"] == "Gold Spot"
    assert plain(series.values) == [
        {
            "datetime": "2026-01-03 23:00:00",
            "open": "4330.48907",
            "high": "4330.68336",
            "low": "4330.43095",
            "close": "4330.47347",
        }
    ]


# --- multi-symbol -------------------------------------------------------------------------------


def closed_partial_multi_symbol() -> dict:
    """The truncated sample with only its missing closing brackets added (nothing else changed)."""
    text = sample(MULTI_PARTIAL).decode()
    # The source stops inside AAPL's second bar: close the bar, `values`, AAPL and the document.
    return json.loads(text + "}]}}")


def repaired_multi_symbol() -> bytes:
    """A complete `symbol=AAPL,MSFT` response built from the truncated sample."""
    document = closed_partial_multi_symbol()
    aapl = document["AAPL"]
    msft = copy.deepcopy(aapl)
    msft["meta"]["symbol"] = "MSFT"
    msft["values"] = [  # illustrative MSFT bars for the same two days
        {
            "datetime": "2023-04-28",
            "open": "304.01001",
            "high": "308.92999",
            "low": "303.31000",
            "close": "307.26001",
            "volume": "36446700",
        },
        {
            "datetime": "2023-04-27",
            "open": "295.97000",
            "high": "305.20001",
            "low": "295.25000",
            "close": "304.82999",
            "volume": "46462600",
        },
    ]
    # The sample's "" key holds the curl command line the source comment left in; a real body has none.
    return json.dumps({"AAPL": aapl, "MSFT": msft}, indent=2).encode()


def test_truncated_multi_symbol_sample_is_rejected_as_bad_json():
    error = rejected(sample(MULTI_PARTIAL), "inputs/ianpojman_multi_symbol_1day_PARTIAL.txt")

    assert error.reason == "bad_json"


def test_repaired_multi_symbol_response_gives_one_series_per_symbol():
    parsed = decode_input(repaired_multi_symbol(), "inputs/multi_1day.json", MAX_BYTES)

    assert parsed.shape == "multi_symbol"
    assert parsed.errors == []
    by_symbol = {s.symbol: s for s in parsed.series}
    assert sorted(by_symbol) == ["AAPL", "MSFT"]
    assert {s.interval for s in parsed.series} == {"1day"}
    assert plain(by_symbol["AAPL"].values) == [
        {
            "datetime": "2023-04-28",
            "open": "168.49001",
            "high": "169.85001",
            "low": "167.88000",
            "close": "169.67999",
            "volume": "55209200",
        },
        {
            "datetime": "2023-04-27",
            "open": "165.19000",
            "high": "168.56000",
            "low": "165.19000",
            "close": "168.41000",
            "volume": "64902300",
        },
    ]
    assert [bar["datetime"] for bar in plain(by_symbol["MSFT"].values)] == ["2023-04-28", "2023-04-27"]


def test_multi_symbol_entry_that_is_not_a_response_becomes_a_symbol_error_not_a_silent_drop():
    # The closed-but-unedited sample still holds `"": "curl …"` next to AAPL.
    document = closed_partial_multi_symbol()

    parsed = classify_document(document, "fallback")

    assert parsed.shape == "multi_symbol"
    assert [s.symbol for s in parsed.series] == ["AAPL"]
    assert len(parsed.errors) == 1
    assert parsed.errors[0].payload == document[""]


def test_multi_symbol_with_an_error_object_for_one_symbol():
    error_object = {"code": 400, "message": "**symbol** not found: NOPE.", "status": "error"}
    document = {
        "AAPL": {"meta": {"symbol": "AAPL", "interval": "1day"}, "values": CSV_BARS, "status": "ok"},
        "NOPE": error_object,
    }

    parsed = decode_input(json.dumps(document).encode(), "inputs/multi.json", MAX_BYTES)

    assert parsed.shape == "multi_symbol"
    assert [s.symbol for s in parsed.series] == ["AAPL"]
    [error] = parsed.errors
    assert error.symbol == "NOPE"
    assert error.payload == error_object
    assert "400" in error.message and "not found: NOPE" in error.message


def test_per_symbol_error_objects_are_symbol_errors_named_by_their_key():
    raw = sample(QUOTE_ERRORS)

    parsed = decode_input(raw, "inputs/quote_batch.json", MAX_BYTES)

    assert parsed.shape == "multi_symbol"
    assert parsed.series == []
    # Named by the key, not by meta.symbol (which is "NOTFOUND1,NOTFOUND2" in both).
    assert [e.symbol for e in parsed.errors] == ["NOTFOUND1", "NOTFOUND2"]
    document = json.loads(raw)
    for error in parsed.errors:
        assert error.payload == document[error.symbol]
        assert f"not found: {error.symbol}" in error.message
        assert "400" in error.message


# --- /batch envelope ----------------------------------------------------------------------------


def test_batch_envelope_one_series_and_two_non_time_series_responses():
    raw = sample(BATCH)
    data = json.loads(raw)["data"]

    parsed = decode_input(raw, "inputs/batch.json", MAX_BYTES)

    assert parsed.shape == "batch"
    series = only_series(parsed)
    assert (series.symbol, series.interval) == ("AAPL", "1min")
    assert series.values == data["req_1"]["response"]["values"]
    # The two exchange-rate answers are not time series: each becomes a SymbolError, none is dropped.
    assert len(parsed.errors) == 2
    assert [e.symbol for e in parsed.errors] == ["USD/JPY", "USD/JPY"]
    assert [e.payload for e in parsed.errors] == [data["req_2"]["response"], data["req_3"]["response"]]
    assert all(e.message for e in parsed.errors)


def test_batch_failed_entries_and_entries_without_response_are_symbol_errors():
    document = {
        "code": 200,
        "status": "success",
        "data": {
            "req_1": {"response": {"code": 404, "message": "not found", "status": "error"}, "status": "error"},
            "req_2": {"unexpected": True},
            "req_3": {
                "response": {"meta": {"symbol": "MSFT", "interval": "1day"}, "values": CSV_BARS},
                "status": "success",
            },
        },
    }

    parsed = decode_input(json.dumps(document).encode(), "inputs/batch.json", MAX_BYTES)

    assert parsed.shape == "batch"
    assert [s.symbol for s in parsed.series] == ["MSFT"]
    assert [e.payload for e in parsed.errors] == [document["data"]["req_1"]["response"], document["data"]["req_2"]]
    assert "404" in parsed.errors[0].message


# --- top-level error bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        # No meta: the error names no symbol, and the file name is not taken for one.
        ("soulgarden_time_series_error_429.json", None),
        ("soulgarden_time_series_error_not_available_with_plan.json", "ALD:TASE"),
        ("soulgarden_time_series_error_symbol_not_found.json", "NOTFOUND"),
        ("openapi_error_example_400_interval.json.txt", None),
    ],
)
def test_top_level_error_body_is_one_symbol_error(name, symbol):
    raw = sample(name)
    body = json.loads(raw)

    parsed = decode_input(raw, "inputs/AAPL_1min.json", MAX_BYTES)

    assert parsed.shape == "error"
    assert parsed.series == []
    [error] = parsed.errors
    assert error.symbol == symbol
    assert error.payload == body
    assert str(body["code"]) in error.message
    assert body["message"] in error.message


# --- CSV ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", ","])
def test_csv_with_either_delimiter_takes_symbol_and_interval_from_the_file_name(delimiter):
    parsed = decode_input(csv_bytes(delimiter), "inputs/AAPL_1day.csv", MAX_BYTES)

    assert parsed.shape == "csv"
    assert parsed.errors == []
    series = only_series(parsed)
    assert (series.symbol, series.interval) == ("AAPL", "1day")
    assert series.values == CSV_BARS


def test_csv_file_name_without_interval():
    series = only_series(decode_input(csv_bytes(";"), "inputs/MSFT.csv", MAX_BYTES))

    assert (series.symbol, series.interval) == ("MSFT", None)


def test_csv_with_crlf_blank_lines_and_a_capitalised_spaced_header():
    raw = (
        b"\r\n Datetime ; Open ; High ; Low ; Close ; Volume \r\n"
        + b"\r\n".join(";".join(row).encode() for row in CSV_ROWS)
        + b"\r\n\r\n ; ; \r\n"
    )

    series = only_series(decode_input(raw, "inputs/AAPL_1day.csv", MAX_BYTES))

    assert series.values == CSV_BARS


def test_csv_short_and_long_rows_are_kept_for_the_rules_to_judge():
    raw = csv_bytes(";") + b"2023-01-02;1;2;0.5\n2023-01-01;1;2;0.5;1.5;10;junk\n"

    series = only_series(decode_input(raw, "inputs/AAPL_1day.csv", MAX_BYTES))

    assert len(series.values) == 4
    short, long = series.values[2], series.values[3]
    assert short == {"datetime": "2023-01-02", "open": "1", "high": "2", "low": "0.5"}
    assert {k: long[k] for k in CSV_HEADER} == dict(
        zip(CSV_HEADER, ["2023-01-01", "1", "2", "0.5", "1.5", "10"], strict=True)
    )
    assert "junk" in json.dumps(long)  # the surplus cell is not silently lost


def test_format_is_detected_from_content_not_from_the_extension():
    as_csv_named_json = decode_input(csv_bytes(";"), "inputs/AAPL_1day.json", MAX_BYTES)
    as_json_named_csv = decode_input(sample(AAPL_1MIN), "inputs/AAPL_1min.csv", MAX_BYTES)

    assert as_csv_named_json.shape == "csv"
    assert as_json_named_csv.shape == "time_series"


# --- gzip ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["inputs/AAPL_1min.json.gz", "inputs/AAPL_1min.json", "inputs/AAPL_1min"])
def test_gzip_json_is_detected_by_magic_bytes_whatever_the_name(key):
    raw = sample(AAPL_1MIN)
    plain = decode_input(raw, "inputs/AAPL_1min.json", MAX_BYTES)

    parsed = decode_input(gzip.compress(raw), key, MAX_BYTES)

    assert parsed == plain


@pytest.mark.parametrize("key", ["inputs/AAPL_1day.csv.gz", "inputs/AAPL_1day.csv"])
def test_gzip_csv(key):
    parsed = decode_input(gzip.compress(csv_bytes(";")), key, MAX_BYTES)

    assert parsed.shape == "csv"
    series = only_series(parsed)
    assert (series.symbol, series.interval) == ("AAPL", "1day")
    assert series.values == CSV_BARS


def test_multi_member_gzip_is_decoded_as_one_stream():
    raw = sample(AAPL_1MIN)
    cut = len(raw) // 2  # split mid-document: only the joined members are valid JSON
    members = gzip.compress(raw[:cut]) + gzip.compress(raw[cut:])

    parsed = decode_input(members, "inputs/AAPL_1min.json.gz", MAX_BYTES)

    assert parsed == decode_input(raw, "inputs/AAPL_1min.json", MAX_BYTES)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda gz: gz[: len(gz) // 2], id="cut-in-half"),
        pytest.param(lambda gz: gz[:-8], id="no-trailer"),
        pytest.param(lambda gz: gz[:2], id="magic-only"),
        pytest.param(lambda gz: gz[:2] + b"this is not deflate data", id="magic-then-junk"),
        pytest.param(lambda gz: gz[:-8] + b"\x00\x00\x00\x00" + gz[-4:], id="bad-crc"),
        pytest.param(lambda gz: gz + gz[: len(gz) // 2], id="second-member-truncated"),
    ],
)
def test_undecodable_gzip_is_bad_gzip(damage):
    gz = gzip.compress(sample(AAPL_1MIN))

    assert rejected(damage(gz), "inputs/AAPL_1min.json.gz").reason == "bad_gzip"


def test_gzip_bomb_over_max_bytes_is_too_large():
    bomb = gzip.compress(b"{" + b" " * 2_000_000 + b"}")
    assert len(bomb) < 100_000  # small on disk, so only the decompressed size can trip the limit

    assert rejected(bomb, "inputs/bomb.json.gz", max_bytes=1_000_000).reason == "too_large"


def test_multi_member_gzip_over_max_bytes_in_total_is_too_large():
    member = gzip.compress(b" " * 600)

    assert rejected(member + member, "inputs/x.json.gz", max_bytes=1000).reason == "too_large"


def test_decompressed_size_exactly_at_the_limit_is_accepted():
    payload = sample(AAPL_1MIN)
    limit = len(payload) + 100
    padded = payload + b" " * 100
    assert len(padded) == limit

    assert decode_input(gzip.compress(padded), "inputs/a.json.gz", limit).shape == "time_series"
    assert rejected(gzip.compress(padded), "inputs/a.json.gz", max_bytes=limit - 1).reason == "too_large"


def test_raw_file_over_max_bytes_is_too_large():
    raw = sample(AAPL_1MIN)

    assert rejected(raw, "inputs/AAPL_1min.json", max_bytes=len(raw) - 1).reason == "too_large"
    assert decode_input(raw, "inputs/AAPL_1min.json", len(raw)).shape == "time_series"


# --- whole-file failures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"  \n\t\r\n  ", id="whitespace"),
        pytest.param(b"\xef\xbb\xbf", id="bom-only"),
        pytest.param(b"\xef\xbb\xbf \n", id="bom-whitespace"),
        pytest.param(gzip.compress(b""), id="gzip-of-nothing"),
        pytest.param(gzip.compress(b"\n\n"), id="gzip-of-whitespace"),
    ],
)
def test_empty_file_is_rejected_as_empty(raw):
    assert rejected(raw).reason == "empty"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[]", id="empty-array"),
        pytest.param(b'[{"datetime": "2023-01-03", "open": "1"}]', id="bare-values-array"),
        pytest.param(b"{}", id="empty-object"),
        pytest.param(b'{"foo": 1, "bar": "x", "baz": [1, 2]}', id="object-without-twelve-data-shape"),
    ],
)
def test_wrong_top_level_shape_is_rejected(raw):
    assert rejected(raw).reason == "wrong_shape"


def test_values_array_of_the_real_sample_as_top_level_is_wrong_shape():
    values = json.dumps(json.loads(sample(AAPL_1MIN))["values"]).encode()

    assert rejected(values).reason == "wrong_shape"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"meta": {"symbol": "AAPL"}, "values": [', id="truncated"),
        pytest.param(b"{'meta': {}}", id="single-quotes"),
        pytest.param(b'{"values": [NaN]}', id="nan-literal"),
        pytest.param(b'{"a": "\xff\xfe"}', id="invalid-utf8"),
    ],
)
def test_invalid_json_is_bad_json(raw):
    assert rejected(raw).reason == "bad_json"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"\x00\x01\x02\xff\xfe\xfd", id="binary"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", id="png"),
        pytest.param(b"PK\x03\x04\x14\x00\x00\x00\x08\x00\xb7\x8c", id="zip"),
        pytest.param(b"hello world\nthis is prose, not data\n", id="prose"),
        pytest.param(b'"just a JSON string"', id="json-string"),
        pytest.param(b"12345", id="json-number"),
        pytest.param(b"day;open;high\n2023-01-03;1;2\n", id="csv-without-datetime-column"),
        pytest.param(b"datetime\n2023-01-03\n", id="csv-with-one-column"),
    ],
)
def test_binary_junk_and_non_twelve_data_text_are_rejected(raw):
    assert rejected(raw, "inputs/AAPL_1day.csv").reason in {"not_text", "not_csv"}


YAHOO_CSV = (
    b"Date,Open,High,Low,Close,Adj Close,Volume\n"
    b"2024-01-02,187.15,188.44,183.89,185.64,184.94,82488700\n"
    b"2024-01-03,184.22,185.88,183.43,184.25,183.55,58414500\n"
)


def test_a_yahoo_style_csv_is_read_with_date_as_datetime_and_adj_close_ignored():
    parsed = decode_input(YAHOO_CSV, "inputs/AAPL_1day.csv", MAX_BYTES)

    assert parsed.shape == "csv"
    [series] = parsed.series
    assert series.symbol == "AAPL"
    assert series.values[0] == {
        "datetime": "2024-01-02",
        "open": "187.15",
        "high": "188.44",
        "low": "183.89",
        "close": "185.64",
        "volume": "82488700",
    }


@pytest.mark.parametrize(
    "raw",
    [
        b"DATETIME;OPEN;HIGH;LOW;CLOSE;VOLUME\n2024-01-02;1;2;0.5;1.5;10\n",
        b"Datetime,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,10\n",
        b"date;open;high;low;close;adj_close;volume\n2024-01-02;1;2;0.5;1.5;1.4;10\n",
    ],
)
def test_csv_header_names_are_case_insensitive(raw):
    [series] = decode_input(raw, "inputs/X.csv", MAX_BYTES).series
    assert series.values == [
        {"datetime": "2024-01-02", "open": "1", "high": "2", "low": "0.5", "close": "1.5", "volume": "10"}
    ]


def test_an_unknown_csv_header_names_the_columns_expected_and_found():
    exc = rejected(b"Ticker,Price,When\nAAPL,1,2024-01-02\n", "inputs/AAPL.csv")
    assert exc.reason == "not_csv"
    assert "expected columns datetime (or date), open, high, low, close, volume" in exc.message
    assert "found Ticker, Price, When" in exc.message


def test_non_utf8_bytes_are_not_text():
    assert rejected(b"\x00\x01\x02\xff\xfe\xfd", "inputs/AAPL_1day.csv").reason == "not_text"


# --- byte-order mark ----------------------------------------------------------------------------


def test_utf8_bom_before_json_is_ignored():
    raw = sample(AAPL_1MIN)

    assert decode_input(b"\xef\xbb\xbf" + raw, "inputs/a.json", MAX_BYTES) == decode_input(
        raw, "inputs/a.json", MAX_BYTES
    )


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_utf8_bom_before_csv_header_is_ignored(compress):
    raw = b"\xef\xbb\xbf" + csv_bytes(";")

    parsed = decode_input(gzip.compress(raw) if compress else raw, "inputs/AAPL_1day.csv", MAX_BYTES)

    assert only_series(parsed).values == CSV_BARS  # `datetime`, not `\ufeffdatetime`


# --- classify_document directly -----------------------------------------------------------------


@pytest.mark.parametrize("document", [[], [{}], "text", 3, None, {}])
def test_classify_document_refuses_non_object_or_empty_documents(document):
    with pytest.raises(InputRejected) as info:
        classify_document(document, "AAPL")

    assert info.value.reason == "wrong_shape"


def test_error_status_without_code_is_an_error_body():
    body = {"meta": {"symbol": "XAU/USD", "interval": "1h"}, "status": "error", "message": "No data is available"}

    parsed = decode_input(json.dumps(body).encode(), "inputs/XAUUSD_1h.json", MAX_BYTES)

    assert parsed.shape == "error"
    assert [(e.symbol, e.message, e.payload) for e in parsed.errors] == [("XAU/USD", "No data is available", body)]


def test_an_error_body_without_a_symbol_is_not_named_after_the_file():
    parsed = classify_document({"code": 429, "message": "slow down", "status": "error"}, "soulgarden")

    assert parsed.shape == "error"
    assert [(e.symbol, e.message) for e in parsed.errors] == [(None, "429: slow down")]
    # One that names its symbol keeps it, from `meta` or from a top-level `symbol`.
    named = {"code": 400, "message": "not found", "status": "error", "symbol": "IBM"}
    assert [e.symbol for e in classify_document(named, "openapi").errors] == ["IBM"]


# --- bugs ---------------------------------------------------------------------------------------


def test_csv_with_a_huge_field_is_not_an_unhandled_error():
    raw = b"datetime;open;high;low;close;volume\n2023-01-03;" + b"1" * 200_000 + b";2;0.5;1.5;10\n"

    try:
        parsed = decode_input(raw, "inputs/AAPL_1day.csv", MAX_BYTES)
    except InputRejected:
        return  # quarantining the file is an acceptable answer
    assert len(only_series(parsed).values) == 1  # or keep the bar for the rules to reject


def test_error_object_with_deeply_nested_code_is_not_an_unhandled_error():
    depth = 1020  # just under orjson's 1024-level parse limit
    raw = b'{"code": ' + b"[" * depth + b"]" * depth + b', "message": "m", "status": "error"}'

    try:
        parsed = decode_input(raw, "inputs/AAPL_1day.json", MAX_BYTES)
    except InputRejected:
        return
    assert len(parsed.errors) == 1


# --- the typed decoder: the common file as structs, everything else as before ---------------------


def typed(parsed: ParsedInput) -> bool:
    bars = [bar for series in parsed.series for bar in series.values]
    assert bars, parsed
    kinds = {isinstance(bar, TypedBar) for bar in bars}
    assert len(kinds) == 1, "a file is decoded one way or the other, never mixed"
    return kinds.pop()


def test_real_files_of_the_common_shape_are_decoded_into_structs():
    assert typed(decode_input(repaired_multi_symbol(), "inputs/multi_1day.json", MAX_BYTES))
    xau = decode_input(sample(XAU_NO_VOLUME), "inputs/XAUUSD_1h.txt", MAX_BYTES)
    assert typed(xau)
    assert not hasattr(only_series(xau).values[0], "volume")


@pytest.mark.parametrize(
    "odd_bar",
    [
        {"datetime": "2023-01-05", "open": 1.5, "high": "2", "low": "1", "close": "1.5", "volume": "10"},
        {"datetime": "2023-01-05", "open": None, "high": "2", "low": "1", "close": "1.5", "volume": "10"},
        {"datetime": "2023-01-05", "open": "1", "high": "2", "low": "1", "close": "1.5", "volume": "10", "note": "x"},
        {"datetime": "2023-01-05", "high": "2", "low": "1", "close": "1.5", "volume": "10"},
        {"datetime": "2023-01-05", "open": "1", "high": "2", "low": "1", "close": "1.5"},
        ["2023-01-05", "1", "2", "1", "1.5", "10"],
    ],
    ids=["number", "null", "extra-field", "missing-open", "volume-in-some-bars", "not-an-object"],
)
def test_one_odd_bar_sends_the_file_through_the_generic_decoder_with_the_same_verdicts(odd_bar):
    raw = json.dumps({"meta": {"symbol": "AAPL", "interval": "1day"}, "values": [*CSV_BARS, odd_bar]}).encode()

    parsed = decode_input(raw, "inputs/AAPL_1day.json", MAX_BYTES)

    assert not typed(parsed)
    assert only_series(parsed).values == [*CSV_BARS, odd_bar]  # untouched, as before


@pytest.mark.parametrize(
    ("high", "verdict"),
    [("0" * 37 + "2", None), ("0" * 38 + "2", None), ("1" * 39, "bad_number"), ("1." + "1" * 38, "bad_number")],
    ids=["38-chars", "39-chars-2-digits", "39-digits", "39-digits-with-a-point"],
)
def test_a_number_longer_than_typed_bars_hold_goes_generic_with_the_same_verdict(high, verdict):
    # Typed bars hold numbers of at most 38 characters (the rules then skip the digit count); a
    # longer one, too many digits or not, sends the file through the generic decoder.
    from chalicelib.ingest.rules import validate_series

    odd = {**CSV_BARS[0], "datetime": "2023-01-05", "high": high, "low": "1", "open": "1.5", "close": "1.5"}
    raw = json.dumps({"meta": {"symbol": "AAPL", "interval": "1day"}, "values": [*CSV_BARS, odd]}).encode()

    parsed = decode_input(raw, "inputs/AAPL_1day.json", MAX_BYTES)

    assert typed(parsed) == (len(high) <= TYPED_NUMBER_MAX_CHARS)
    result = validate_series("AAPL", only_series(parsed).values, 2_000_000_000, 0)
    assert [(r["rule"], r["field"]) for r in result.rejects] == ([(verdict, "high")] if verdict else [])


@pytest.mark.parametrize("extra", [{"code": 200}, {"meta": {"symbol": "AAPL"}, "values": "none"}])
def test_a_response_with_other_keys_or_types_is_decoded_generically(extra):
    document = {"AAPL": {"meta": {"symbol": "AAPL", "interval": "1day"}, "values": CSV_BARS, **extra}}

    parsed = decode_input(json.dumps(document).encode(), "inputs/multi.json", MAX_BYTES)

    if isinstance(document["AAPL"]["values"], list):
        assert not typed(parsed)
    else:
        assert parsed.series == [] and len(parsed.errors) == 1


def test_meta_is_read_exactly_as_the_generic_decoder_reads_it():
    # msgspec keeps a 70-bit integer exact while orjson gives a float; meta goes through orjson.
    raw = b'{"meta": {"symbol": "AAPL", "interval": 1180591620717411303424, "n": 1}, "values": %s}' % (
        json.dumps(CSV_BARS).encode()
    )

    series = only_series(decode_input(raw, "inputs/AAPL.json", MAX_BYTES))

    assert series.values and isinstance(series.values[0], TypedBar)
    assert series.interval == str(json.loads(raw, parse_int=float)["meta"]["interval"])
    assert series.meta == {"symbol": "AAPL", "interval": 1.1805916207174113e21, "n": 1}


@pytest.mark.parametrize("escape", [rb"\ud800", rb"\udc00x", rb"\ud800\u0041"])
def test_lone_surrogate_escapes_are_bad_json_on_either_path(escape):
    raw = json.dumps({"values": CSV_BARS}).replace("2023-01-04", "ESCAPE").encode().replace(b"ESCAPE", escape)

    assert rejected(raw).reason == "bad_json"


def test_a_surrogate_pair_escape_is_a_character():
    raw = json.dumps({"meta": {"symbol": "\U0001f600"}, "values": CSV_BARS}, ensure_ascii=True).encode()
    assert rb"\ud83d\ude00" in raw

    series = only_series(decode_input(raw, "inputs/x.json", MAX_BYTES))

    assert series.symbol == "\U0001f600"
    assert plain(series.values) == CSV_BARS


@pytest.mark.parametrize(
    "document",
    [
        {"meta": {"symbol": "AAPL"}, "values": CSV_BARS, "status": "error"},  # a response with status error
        {"AAPL": {"values": CSV_BARS}, "meta": {"values": []}},  # `meta` at the top: the whole file is the payload
    ],
    ids=["error-response", "whole-document"],
)
def test_error_payloads_from_the_typed_decoder_hold_plain_bars(document):
    parsed = decode_input(json.dumps(document).encode(), "inputs/AAPL_1day.json", MAX_BYTES)

    assert parsed.series == []
    (error,) = parsed.errors
    assert error.payload == document
    assert "Bar(" not in json.dumps(error.payload)  # json.dumps would raise on a struct anyway


def _decode_outcome(raw: bytes, key: str):
    """What decode_input makes of a file: its series and errors, or the reason it refused it."""
    try:
        parsed = decode_input(raw, key, MAX_BYTES)
    except InputRejected as error:
        return error.reason
    return [(s.symbol, plain(s.values)) for s in parsed.series], [e.message for e in parsed.errors]


@pytest.mark.parametrize("depth", [1021, 1022, 1023, 1024])
@pytest.mark.parametrize("where", ["meta", "status"])
def test_deeply_nested_meta_of_a_multi_symbol_file_gets_the_generic_decoders_answer(depth, where):
    # One level deeper than a single series: the symbol's object sits inside the file's.
    nested = b"[" * depth + b"]" * depth
    bars = json.dumps(CSV_BARS).encode()
    raw = b'{"AAPL": {"%s": %s, "values": %s}, "MSFT": {"values": %s}}' % (where.encode(), nested, bars, bars)

    fast = _decode_outcome(raw, "inputs/batch.json")
    with (
        mock.patch.object(formats, "_typed_document", return_value=None),
        mock.patch.object(formats, "_columnar_document", return_value=None),
    ):
        assert fast == _decode_outcome(raw, "inputs/batch.json")


@pytest.mark.parametrize("depth", [10, 1000, 1023, 1024, 1025, 2000, 50_000])
@pytest.mark.parametrize("where", ["meta", "status"])
def test_deeply_nested_meta_gets_the_generic_decoders_answer(depth, where):
    nested = b"[" * depth + b"]" * depth
    raw = b'{"%s": %s, "values": %s}' % (where.encode(), nested, json.dumps(CSV_BARS).encode())

    typed_path = _decode_outcome(raw, "inputs/AAPL_1day.json")
    with mock.patch.object(formats, "_typed_document", return_value=None):
        assert typed_path == _decode_outcome(raw, "inputs/AAPL_1day.json")
