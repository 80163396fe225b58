"""Wrong shapes and the input limits, through the ingest handler (moto's S3 and EventBridge)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import orjson
import pytest

from chalicelib import storage
from chalicelib.ingest import formats, limits, pipeline
from tests.conftest import fixture_bytes
from tests.test_ingest_handler import BUCKET, aws  # noqa: F401  (the handler's moto harness)


def _error_document(aws, key: str) -> dict:  # noqa: F811
    [error_key] = [k for k in aws.keys("quarantine/") if k.endswith("/error.json")]
    return json.loads(aws.s3.get_object(Bucket=BUCKET, Key=error_key)["Body"].read())


def test_a_csv_without_the_price_columns_is_quarantined_naming_the_columns_expected_and_found(aws):  # noqa: F811
    aws.upload("inputs/AAPL_1day.csv", b"date,o,h,l,c\n2024-01-02,1,2,0.5,1.5\n2024-01-03,1,2,0.5,1.5\n")

    [file] = aws.invoke("inputs/AAPL_1day.csv")["files"]

    assert file["status"] == "quarantined"
    assert file["records"] == {"input": 0, "valid": 0, "rejected": 0}
    error = _error_document(aws, "inputs/AAPL_1day.csv")
    assert error["reason"] == "wrong_shape"
    assert "lacks open, high, low, close" in error["error"]
    assert "expected columns datetime (or date), open, high, low, close" in error["error"]
    assert "found date, o, h, l, c" in error["error"]
    assert aws.keys("processed/bars/") == [] and aws.keys("rejects/") == []
    assert aws.events() == []


def test_a_csv_missing_one_price_column_names_that_column(aws):  # noqa: F811
    aws.upload("inputs/X.csv", b"Datetime;Open;High;Close;Volume\n2024-01-02;1;2;1.5;10\n")

    [file] = aws.invoke("inputs/X.csv")["files"]

    assert file["status"] == "quarantined"
    assert file["error"].startswith("wrong_shape: CSV header lacks low:")
    assert "found Datetime, Open, High, Close, Volume" in file["error"]


def test_a_csv_with_every_column_but_no_bar_rows_is_still_processed(aws):  # noqa: F811
    aws.upload("inputs/X.csv", b"datetime,open,high,low,close\n")

    [file] = aws.invoke("inputs/X.csv")["files"]

    assert file["status"] == "processed" and file["records"]["input"] == 0


def test_an_openapi_schema_is_quarantined_as_a_wrong_shape_not_six_symbol_errors(aws):  # noqa: F811
    # The official OpenAPI description of /time_series (tests/fixtures/twelvedata/README.md).
    aws.upload("inputs/schema.json", fixture_bytes("openapi_time_series_schema_extract.json"))

    [file] = aws.invoke("inputs/schema.json")["files"]

    assert file["status"] == "quarantined" and file["symbol_errors"] == 0
    error = _error_document(aws, "inputs/schema.json")
    assert error["reason"] == "wrong_shape"
    assert "not a Twelve Data response" in error["error"]
    assert "found keys source, path_description, GetTimeSeries_200_response" in error["error"]
    assert aws.keys("rejects/") == [] and aws.events() == []


def test_an_object_of_error_responses_keyed_by_symbol_is_still_processed_as_symbol_errors(aws):  # noqa: F811
    aws.upload("inputs/quotes.json", fixture_bytes("soulgarden_quote_batch_two_symbols_not_found.json"))

    [file] = aws.invoke("inputs/quotes.json")["files"]

    assert file["status"] == "processed" and file["symbol_errors"] == 2


# --- limits -------------------------------------------------------------------------------------


def test_a_file_of_more_symbols_than_the_limit_is_quarantined_as_too_many_symbols(aws):  # noqa: F811
    document = {f"S{i}": {"meta": {"symbol": f"S{i}"}, "values": []} for i in range(limits.MAX_SYMBOLS + 1)}
    aws.upload("inputs/many.json", orjson.dumps(document))

    [file] = aws.invoke("inputs/many.json")["files"]

    assert file["status"] == "quarantined"
    assert file["error"].startswith(f"too_many_symbols: the file holds {limits.MAX_SYMBOLS + 1} symbol responses")
    assert aws.keys("processed/bars/") == [] and aws.events() == []


def test_a_file_of_exactly_the_symbol_limit_is_processed(aws):  # noqa: F811
    document = {f"S{i}": {"code": 404, "message": "not found", "status": "error"} for i in range(limits.MAX_SYMBOLS)}
    aws.upload("inputs/many.json", orjson.dumps(document))

    [file] = aws.invoke("inputs/many.json")["files"]

    assert file["status"] == "processed" and file["symbol_errors"] == limits.MAX_SYMBOLS


def test_a_csv_of_more_bars_than_the_limit_is_quarantined_as_too_many_bars(aws, monkeypatch):  # noqa: F811
    monkeypatch.setattr(limits, "MAX_BARS", 2)
    aws.upload("inputs/X.csv", b"datetime,open,high,low,close\n" + b"2024-01-02,1,2,0.5,1.5\n" * 3)

    [file] = aws.invoke("inputs/X.csv")["files"]

    assert file["status"] == "quarantined" and file["error"].startswith("too_many_bars: the file holds 3 bars")


@pytest.mark.parametrize(
    "body",
    [
        b'{"a":[' + b",".join([b"[]"] * 5000) + b"]}",  # runs of empty arrays
        b'{"meta":{},"values":[{"datetime":"2024-01-02","x":' + b"[" * 500 + b"]" * 500 + b"}]}",  # deep nesting
    ],
)
def test_json_the_generic_decoder_could_not_hold_is_quarantined_before_decoding(aws, monkeypatch, body):  # noqa: F811
    monkeypatch.setattr(limits, "GENERIC_DECODE_BUDGET_BYTES", 10_000)
    decoded = []
    monkeypatch.setattr(formats, "orjson", SimpleNamespace(loads=decoded.append, JSONDecodeError=ValueError))
    aws.upload("inputs/complex.json", body)

    [file] = aws.invoke("inputs/complex.json")["files"]

    assert file["status"] == "quarantined" and file["error"].startswith("too_complex:")
    assert decoded == []  # refused before the generic decoder ran


def test_the_estimate_of_the_generic_decoders_memory_errs_high():
    # Measured on CPython 3.13 + orjson: about 91 bytes an empty list, 770 a seven-field bar.
    assert limits.generic_decode_estimate(b"[" + b",".join([b"[]"] * 1000) + b"]") >= 1000 * 91
    bar = b'{"datetime":"2024-01-02","open":1.5,"high":2,"low":0.5,"close":1.5,"volume":10,"x":1}'
    assert limits.generic_decode_estimate(b"[" + b",".join([bar] * 1000) + b"]") >= 1000 * 700


# --- outputs written in parts ---------------------------------------------------------------------


def _all_duplicates(bars: int) -> bytes:
    bar = {"datetime": "2024-01-02", "open": "10", "high": "11", "low": "9", "close": "10.5", "volume": "100"}
    return orjson.dumps({"meta": {"symbol": "AAPL", "interval": "1day"}, "values": [bar] * bars, "status": "ok"})


def test_reject_lines_past_a_part_are_uploaded_in_parts_and_complete(aws):  # noqa: F811
    bars = 40_000  # about 10 MiB of reject lines: two parts
    aws.upload("inputs/AAPL_1day.json", _all_duplicates(bars))

    [file] = aws.invoke("inputs/AAPL_1day.json")["files"]

    assert file["records"] == {"input": bars, "valid": 1, "rejected": bars - 1}
    head = aws.s3.head_object(Bucket=BUCKET, Key=file["rejects_key"])
    assert head["ETag"].strip('"').endswith("-2") and head["ContentLength"] > storage.PART_BYTES
    lines = aws.lines(file["rejects_key"])
    assert len(lines) == bars - 1 and {line["rule"] for line in lines} == {"duplicate_timestamp"}
    assert [line["index"] for line in lines] == list(range(1, bars))
    assert len(aws.lines(file["processed_key"])) == 1  # small: one PutObject, as before
    assert "-" not in aws.s3.head_object(Bucket=BUCKET, Key=file["processed_key"])["ETag"]


def test_a_failure_after_a_part_was_uploaded_aborts_the_upload_and_frees_the_marker(aws, monkeypatch):  # noqa: F811
    bars = 40_000
    etag = aws.upload("inputs/AAPL_1day.json", _all_duplicates(bars))
    written = []
    real_line = pipeline._reject_line

    def failing_line(reject):
        written.append(1)
        if len(written) == 36_000:  # past the first part
            raise RuntimeError("the function dies here")
        return real_line(reject)

    monkeypatch.setattr(pipeline, "_reject_line", failing_line)

    with pytest.raises(Exception, match="the function dies here"):
        aws.invoke("inputs/AAPL_1day.json")

    assert aws.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert aws.keys("rejects/") == [] and aws.keys("processed/") == [] and aws.events() == []
    monkeypatch.setattr(pipeline, "_reject_line", real_line)
    [file] = aws.invoke("inputs/AAPL_1day.json")["files"]  # Lambda's retry finds the marker free
    assert file["status"] == "processed" and file["etag"] == etag
