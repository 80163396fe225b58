"""The analyze handler through `chalice.test.Client`, against moto's S3 and DynamoDB (with stream)."""

from __future__ import annotations

import json

import boto3
import orjson
import pytest
from moto import mock_aws

from chalicelib.analysis_store import from_dynamo_value
from infra.resources import resource_specs
from infra.table import table_definition
from tests.conftest import REPO

BUCKET = "test-bucket"
# chalice.test.Client applies the dev stage's environment, so the table is the one it names.
TABLE = json.loads((REPO / ".chalice" / "config.json").read_text())["stages"]["dev"]["environment_variables"][
    "TABLE_NAME"
]


@pytest.fixture
def aws(aws_env):
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        table = ddb.create_table(**table_definition({**resource_specs()["table"], "name": TABLE}))
        yield s3, ddb, table["TableDescription"]["LatestStreamArn"]


def _bars(symbol: str, n: int, start: float = 100.0) -> list[dict]:
    return [
        {
            "symbol": symbol,
            "interval": "1day",
            "datetime": f"2024-{1 + i // 28:02d}-{1 + i % 28:02d}",
            "open": f"{start + i:.2f}",
            "high": f"{start + i + 1:.2f}",
            "low": f"{start + i - 1:.2f}",
            "close": f"{start + i + 0.5:.2f}",
            "volume": str(1000 + 10 * i),
        }
        for i in range(n)
    ]


def _put_file(s3, bars: list[dict], rejects: list[dict] = ()) -> dict:
    processed_key, rejects_key = "processed/bars/x.json/etag1.jsonl", "rejects/x.json/etag1.jsonl"
    s3.put_object(Bucket=BUCKET, Key=processed_key, Body=b"".join(orjson.dumps(b) + b"\n" for b in bars))
    s3.put_object(Bucket=BUCKET, Key=rejects_key, Body=b"".join(orjson.dumps(r) + b"\n" for r in rejects))
    return {
        "bucket": BUCKET,
        "input_key": "inputs/x.json",
        "etag": "etag1",
        "processed_key": processed_key,
        "rejects_key": rejects_key,
        "counts": {"input": len(bars) + len(rejects), "valid": len(bars), "rejected": len(rejects), "symbol_errors": 0},
        "correlation_id": "corr-1",
    }


def _invoke(detail: dict) -> dict:
    from chalice.test import Client

    import app

    with Client(app.app) as client:
        event = client.events.generate_cw_event(
            source="stock-insights.ingestor", detail_type="IngestorCompleted", detail=detail, resources=[]
        )
        return client.lambda_.invoke("analyze", event).payload


def _all_items(ddb) -> list[dict]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return [{k: deserializer.deserialize(v) for k, v in item.items()} for item in ddb.scan(TableName=TABLE)["Items"]]


def _items(ddb) -> list[dict]:
    """The analysis items (not the archive's per-symbol readings and directory entries)."""
    return [item for item in _all_items(ddb) if item["kind"] == "analysis"]


def _inserts(ddb, stream_arn: str) -> list[dict]:
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return [r for r in records if r["eventName"] == "INSERT" and r["dynamodb"]["NewImage"]["kind"]["S"] == "analysis"]


def test_analysis_is_stored_with_decimals_and_the_full_record_in_s3(aws):
    s3, ddb, _ = aws
    detail = _put_file(s3, _bars("AAPL", 30) + _bars("MSFT", 25, 50.0))

    result = _invoke(detail)

    assert result["status"] == "stored" and result["symbols"] == 2
    [item] = _items(ddb)
    assert item["analysis_id"] == result["analysis_id"]
    assert item["correlation_id"] == "corr-1" and item["complete"] is True
    assert item["source"] == {
        "bucket": BUCKET,
        "input_key": "inputs/x.json",
        "etag": "etag1",
        "processed_key": detail["processed_key"],
    }
    assert item["row_counts"] == {"input": 55, "valid": 55, "rejected": 0}
    assert type(item["symbols"]["AAPL"]["last_close"]).__name__ == "Decimal"
    full = json.loads(s3.get_object(Bucket=BUCKET, Key=f"analyses/{result['analysis_id']}.json")["Body"].read())
    assert full["symbols"]["AAPL"] == from_dynamo_value(item["symbols"]["AAPL"])
    assert full["insights"]["source"] == "offline"
    assert set(full["symbols"]["AAPL"]["insight"]) == {"summary", "opportunities", "risks", "key_anomaly"}
    assert full["executive_summary"]
    assert full["aggregates"]["symbols"] == 2


def test_each_series_gets_a_reading_and_each_symbol_a_directory_entry(aws):
    s3, ddb, _ = aws
    detail = _put_file(s3, _bars("AAPL", 30) + _bars("XAU/USD", 25, 50.0))
    result = _invoke(detail)
    others = [item for item in _all_items(ddb) if item["kind"] != "analysis"]
    readings = {item["symbol"]: item for item in others if item["kind"].startswith("reading#")}
    entries = {item["symbol"]: item for item in others if item["kind"] == "symbol"}
    assert set(readings) == set(entries) == {"AAPL", "XAU/USD"} and len(others) == 4
    gold = readings["XAU/USD"]
    assert gold["kind"] == "reading#xau/usd" and gold["report_id"] == result["analysis_id"]
    assert len(gold["times"]) == len(gold["closes"]) == 25 and gold["times"][-1] == gold["last_datetime"]
    assert (
        entries["XAU/USD"]["created_at"] == "xau/usd\tXAU/USD"
        and entries["XAU/USD"]["report_id"] == result["analysis_id"]
    )
    [item] = _items(ddb)
    assert [m["symbol"] for m in item["movers"]] == sorted(
        ["AAPL", "XAU/USD"], key=lambda s: -abs(float(readings[s]["percent_change"]))
    )


def test_replayed_event_leaves_exactly_one_analysis_and_one_insert(aws):
    s3, ddb, stream = aws
    detail = _put_file(s3, _bars("AAPL", 10))

    statuses = [_invoke(detail)["status"] for _ in range(3)]

    assert statuses == ["stored", "duplicate", "duplicate"]
    assert len(_items(ddb)) == 1
    assert len(_inserts(ddb, stream)) == 1


def test_a_concurrent_duplicate_is_caught_by_the_condition(aws, monkeypatch):
    from chalicelib.analysis_store import AnalysisStore

    s3, ddb, stream = aws
    detail = _put_file(s3, _bars("AAPL", 10))
    assert _invoke(detail)["status"] == "stored"
    monkeypatch.setattr(AnalysisStore, "exists", lambda self, analysis_id: False)  # the race: both saw nothing

    assert _invoke(detail)["status"] == "duplicate"
    assert len(_inserts(ddb, stream)) == 1


def test_symbol_whose_every_bar_was_rejected_is_reported_with_nulls(aws):
    s3, ddb, _ = aws
    rejects = [{"symbol": "BAD", "rule": "bad_number", "field": "open", "message": "m", "index": 0, "bar": {}}]
    detail = _put_file(s3, _bars("AAPL", 10), rejects)

    _invoke(detail)

    [item] = _items(ddb)
    bad = from_dynamo_value(item["symbols"]["BAD"])
    assert bad["bars"] == 0 and bad["last_close"] is None and bad["trend"] is None
    assert "no valid bars" in bad["insight"]["summary"]


def test_two_thousand_symbols_keep_the_item_under_the_dynamodb_limit(aws):
    s3, ddb, _ = aws
    bars = [bar for i in range(2000) for bar in _bars(f"S{i:04d}", 30, 10.0 + i)]
    detail = _put_file(s3, bars)

    result = _invoke(detail)

    [item] = _items(ddb)
    assert item["complete"] is False and "symbols" not in item and item["symbols_count"] == 2000
    raw = ddb.get_item(TableName=TABLE, Key={"analysis_id": {"S": result["analysis_id"]}})["Item"]
    assert len(json.dumps(raw)) < 400_000
    full = json.loads(s3.get_object(Bucket=BUCKET, Key=item["record_key"])["Body"].read())
    assert len(full["symbols"]) == 2000


@pytest.mark.parametrize(
    ("detail", "named"),
    [
        ({}, "bucket, input_key, etag, processed_key"),
        ({"bucket": BUCKET, "input_key": "inputs/x.json", "processed_key": "p"}, "etag"),
        ({"bucket": BUCKET, "input_key": "inputs/x.json", "etag": "e", "processed_key": None}, "processed_key"),
        ({"bucket": BUCKET, "input_key": 7, "etag": "e", "processed_key": "p"}, "input_key"),
        (None, "detail is NoneType"),
        (["not", "an", "object"], "detail is list"),
    ],
)
def test_a_malformed_event_is_logged_once_and_not_retried(aws, caplog, detail, named):
    from chalicelib.analyze.service import handle_ingestor_completed
    from chalicelib.observability import metrics

    s3, ddb, _ = aws
    metrics.clear_metrics()
    event = {"id": "evt-1", "source": "stock-insights.ingestor", "detail-type": "IngestorCompleted"}
    if detail is not None:
        event["detail"] = detail

    result = handle_ingestor_completed(event, None)  # returns: no KeyError, so no retries and no DLQ

    assert result["status"] == "malformed" and named in result["error"]
    (line,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "malformed IngestorCompleted event" in line.getMessage() and named in line.getMessage()
    assert sum(metrics.metric_set["MalformedEvents"]["Value"]) == 1
    assert _items(ddb) == []
    metrics.clear_metrics()


def test_the_chalice_handler_returns_normally_on_a_malformed_event(aws):
    payload = _invoke({"bucket": BUCKET})
    assert payload["status"] == "malformed" and "input_key" in payload["error"]


def test_a_bad_symbol_series_is_not_reported_as_a_symbol(aws):
    s3, ddb, _ = aws
    rejects = [
        {"symbol": "\u202eLLES", "rule": "bad_symbol", "field": "symbol", "message": "m", "index": 0, "bar": {}},
        {"symbol": "AAPL\u200b", "rule": "bad_symbol", "field": "symbol", "message": "m", "index": 0, "bar": {}},
    ]
    detail = _put_file(s3, _bars("AAPL", 10), rejects)

    _invoke(detail)

    [item] = _items(ddb)
    assert sorted(item["symbols"]) == ["AAPL"]


def test_a_derived_number_dynamodb_cannot_hold_does_not_fail_the_analysis(aws):
    s3, ddb, _ = aws
    # Both closes are storable, but the percent change between them (1e200 %) is not.
    bars = _bars("AAPL", 2)
    for line, close in zip(bars, ("1e-100", "1e100"), strict=True):
        line.update(open=close, high=close, low=close, close=close)
    detail = _put_file(s3, bars)

    result = _invoke(detail)

    assert result["status"] == "stored"
    [item] = _items(ddb)
    assert item["complete"] is False and "symbols" not in item  # readers take the S3 copy
    full = json.loads(s3.get_object(Bucket=BUCKET, Key=item["record_key"])["Body"].read())
    assert full["symbols"]["AAPL"]["percent_change"] > 1e126


def test_sixty_thousand_symbols_with_anomalies_keep_the_summary_under_the_item_limit(aws):
    from chalicelib.analysis_store import summary_within

    names = [f"SYM{i:05d}.EXCH" for i in range(60_000)]
    item = {"analysis_id": "a", "aggregates": {"anomaly_symbols": names, "total_anomalies": 60_000}, "complete": False}

    summary = summary_within(item, 300 * 1024)

    assert len(orjson.dumps(summary)) <= 300 * 1024
    aggregates = summary["aggregates"]
    assert aggregates["anomaly_symbols_count"] == 60_000 and aggregates["anomaly_symbols_truncated"] is True
    assert aggregates["anomaly_symbols"] == names[: len(aggregates["anomaly_symbols"])]
    assert len(aggregates["anomaly_symbols"]) > 10_000  # trimmed to fit, not emptied
    assert summary_within({**item, "aggregates": {"anomaly_symbols": names[:3]}}, 300 * 1024)["aggregates"] == {
        "anomaly_symbols": names[:3]
    }


def test_an_analysis_listing_sixty_thousand_anomaly_symbols_is_stored(aws):
    from chalicelib.analysis_store import AnalysisStore
    from chalicelib.storage import ObjectStore

    s3, ddb, _ = aws
    names = [f"SYM{i:05d}.EXCH" for i in range(60_000)]
    record = {
        "analysis_id": "a" * 32,
        "aggregates": {"anomaly_symbols": names, "total_anomalies": 60_000, "symbols": 60_000},
        "symbols": {name: {"last_close": 1.5} for name in names[:10]},
    }
    store = AnalysisStore(ddb, TABLE, ObjectStore(s3, BUCKET), 300 * 1024)

    assert store.save(record) is True

    [item] = _items(ddb)
    assert item["complete"] is False and item["aggregates"]["anomaly_symbols_count"] == 60_000
    assert 0 < len(item["aggregates"]["anomaly_symbols"]) < 60_000
    raw = ddb.get_item(TableName=TABLE, Key={"analysis_id": {"S": "a" * 32}})["Item"]
    assert len(json.dumps(raw)) < 400_000
    assert store.load_full(from_dynamo_value(item))["aggregates"]["anomaly_symbols"] == names
