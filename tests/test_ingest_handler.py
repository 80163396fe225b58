"""The ingest handler through `chalice.test.Client`, against moto's S3 and EventBridge."""

from __future__ import annotations

import gzip
import json
from urllib.parse import quote_plus

import boto3
import orjson
import pytest
from boto3.dynamodb.types import TypeDeserializer
from moto import mock_aws

from chalicelib.analysis_store import from_dynamo_value
from chalicelib.ingest.service import marker_key
from infra.resources import resource_specs
from infra.table import table_definition
from tests.conftest import REPO, fixture_bytes

BUCKET = "test-bucket"
# chalice.test.Client applies the dev stage's environment, so the table is the one it names.
TABLE = json.loads((REPO / ".chalice" / "config.json").read_text())["stages"]["dev"]["environment_variables"][
    "TABLE_NAME"
]


@pytest.fixture
def aws(aws_env):
    """Bucket plus an EventBridge rule that copies IngestorCompleted into a queue we can read."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue = sqs.create_queue(QueueName="events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = boto3.client("events", region_name="us-east-1")
        events.put_rule(Name="all", EventPattern=json.dumps({"source": ["stock-insights.ingestor"]}))
        events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": arn}])
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(**table_definition({**resource_specs()["table"], "name": TABLE}))
        yield Harness(s3, sqs, queue, ddb, TABLE)


class Harness:
    def __init__(self, s3, sqs, queue, ddb, table):
        self.s3, self.sqs, self.queue, self.ddb, self.table = s3, sqs, queue, ddb, table

    def notices(self) -> list[dict]:
        items = self.ddb.scan(TableName=self.table)["Items"]
        return [from_dynamo_value({k: TypeDeserializer().deserialize(v) for k, v in i.items()}) for i in items]

    def upload(self, key: str, body: bytes) -> str:
        return self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)["ETag"].strip('"')

    def invoke(self, *keys: str, event_name: str = "ObjectCreated:Put", etags=None, sizes=None) -> dict:
        from chalice.test import Client

        import app

        with Client(app.app) as client:
            event = client.events.generate_s3_event(bucket=BUCKET, key="placeholder", event_name=event_name)
            template = event["Records"][0]
            records = []
            for i, key in enumerate(keys):
                record = json.loads(json.dumps(template))
                record["s3"]["object"]["key"] = quote_plus(key)  # S3 URL-encodes keys, spaces as '+'
                head = self.s3.head_object(Bucket=BUCKET, Key=key) if etags is None else None
                record["s3"]["object"]["eTag"] = etags[i] if etags else head["ETag"].strip('"')
                record["s3"]["object"]["size"] = sizes[i] if sizes else head["ContentLength"] if head else 1
                records.append(record)
            event["Records"] = records
            return client.lambda_.invoke("ingest", event).payload

    def events(self) -> list[dict]:
        messages = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
        for m in messages:
            self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in messages]

    def lines(self, key: str) -> list[dict]:
        body = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        return [orjson.loads(line) for line in body.splitlines()]

    def keys(self, prefix: str) -> list[str]:
        return [o["Key"] for o in self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def _series(symbol="AAPL", bars=None) -> bytes:
    bars = bars or [
        {"datetime": "2024-01-03", "open": "10", "high": "11", "low": "9", "close": "10.5", "volume": "100"},
        {"datetime": "2024-01-02", "open": "10", "high": "11", "low": "9", "close": "10", "volume": "90"},
    ]
    return orjson.dumps({"meta": {"symbol": symbol, "interval": "1day"}, "values": bars, "status": "ok"})


def test_valid_file_is_processed_and_announced(aws):
    etag = aws.upload("inputs/aapl.json", fixture_bytes("soulgarden_time_series_AAPL_1min_ok.json"))

    result = aws.invoke("inputs/aapl.json")

    [file] = result["files"]
    assert file["status"] == "processed"
    assert file["records"] == {"input": 3, "valid": 3, "rejected": 0}
    assert file["processed_key"] == f"processed/bars/aapl.json/{etag}.jsonl"
    assert [line["symbol"] for line in aws.lines(file["processed_key"])] == ["AAPL"] * 3
    assert aws.lines(file["rejects_key"]) == []
    [event] = aws.events()
    assert event["source"] == "stock-insights.ingestor"
    assert event["detail-type"] == "IngestorCompleted"
    assert event["detail"] == {
        "bucket": BUCKET,
        "input_key": "inputs/aapl.json",
        "etag": etag,
        "processed_key": file["processed_key"],
        "rejects_key": file["rejects_key"],
        "counts": {"input": 3, "valid": 3, "rejected": 0, "symbol_errors": 0},
        "correlation_id": file["correlation_id"],
        "reject_rules": {},
        # the file's meta names the exchange's time zone: the report dates the session in it
        "exchange_timezones": {"AAPL": "America/New_York"},
    }
    marker = json.loads(aws.s3.get_object(Bucket=BUCKET, Key=marker_key("inputs/aapl.json", etag))["Body"].read())
    assert marker["state"] == "done" and marker["processed_key"] == file["processed_key"]


def test_rejects_carry_rule_field_message_and_the_original_bar(aws):
    bad = {"datetime": "2024-01-04", "open": "abc", "high": "11", "low": "9", "close": "10", "volume": "5"}
    good = {"datetime": "2024-01-03", "open": "10", "high": "11", "low": "9", "close": "10", "volume": "5"}
    aws.upload("inputs/mixed.json", _series(bars=[bad, good]))

    [file] = aws.invoke("inputs/mixed.json")["files"]

    assert file["records"] == {"input": 2, "valid": 1, "rejected": 1}
    assert file["reject_rules"] == {"bad_number": 1}
    [reject] = aws.lines(file["rejects_key"])
    assert reject["rule"] == "bad_number" and reject["field"] == "open" and reject["symbol"] == "AAPL"
    assert reject["bar"] == bad and "abc" in reject["message"]


def test_same_content_twice_is_a_duplicate_with_no_second_event(aws):
    body = _series()
    aws.upload("inputs/a.json", body)
    first = aws.invoke("inputs/a.json")["files"][0]
    aws.events()

    # Another key, same content (same ETag), and a name giving the same symbol and interval.
    aws.upload("inputs/nested/a_copy.json", body)
    second = aws.invoke("inputs/nested/a_copy.json")["files"][0]

    assert second["status"] == "duplicate"
    assert second["processed_key"] == first["processed_key"]
    assert aws.events() == []


def test_redelivered_event_is_processed_once(aws):
    aws.upload("inputs/a.json", _series())

    results = [aws.invoke("inputs/a.json")["files"][0]["status"] for _ in range(3)]

    assert results == ["processed", "duplicate", "duplicate"]
    assert len(aws.events()) == 1


def test_several_records_url_encoded_keys_and_foreign_prefixes(aws):
    aws.upload("inputs/with space+plus.json", _series("MSFT"))
    aws.upload("inputs/b.csv", b"datetime;open;high;low;close;volume\n2024-01-02;1;2;0.5;1.5;10\n")
    aws.upload("elsewhere/c.json", _series("IBM"))

    result = aws.invoke("inputs/with space+plus.json", "inputs/b.csv", "elsewhere/c.json")

    assert [(f["key"], f["status"]) for f in result["files"]] == [
        ("inputs/with space+plus.json", "processed"),
        ("inputs/b.csv", "processed"),
    ]
    assert len(aws.events()) == 2


def test_non_created_events_are_ignored(aws):
    aws.upload("inputs/a.json", _series())
    assert aws.invoke("inputs/a.json", event_name="ObjectRemoved:Delete") == {"files": []}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"\xff\xfe\x00binary", "not_text"),
        (b"just some words\nno header here", "not_csv"),
        (b"[1, 2, 3]", "wrong_shape"),
        (b"{not json", "bad_json"),
        (b"\x1f\x8b\x08\x00garbage", "bad_gzip"),
    ],
)
def test_whole_file_failures_are_quarantined_without_raising(aws, body, reason):
    etag = aws.upload("inputs/bad.json", body)

    [file] = aws.invoke("inputs/bad.json")["files"]

    assert file["status"] == "quarantined" and file["error"].startswith(reason)
    assert aws.keys("quarantine/") == sorted(
        [f"quarantine/bad.json/{etag}/bad.json", f"quarantine/bad.json/{etag}/error.json"]
    )
    error = json.loads(aws.s3.get_object(Bucket=BUCKET, Key=f"quarantine/bad.json/{etag}/error.json")["Body"].read())
    assert error["reason"] == reason and error["input_key"] == "inputs/bad.json"
    assert aws.events() == []
    # The readers hear of it: a failure notice in the table, which notify emails (its stream).
    [notice] = aws.notices()
    assert notice["kind"] == "failure_notice" and notice["analysis_id"].startswith("notice-")
    assert notice["reason"] == reason and notice["input_key"] == "inputs/bad.json" and notice["etag"] == etag
    assert notice["quarantine_key"] == f"quarantine/bad.json/{etag}/bad.json"
    assert notice["correlation_id"] == file["correlation_id"]
    # A quarantined file is done: delivering it again does not quarantine it twice.
    assert aws.invoke("inputs/bad.json")["files"][0]["status"] == "duplicate"
    assert len(aws.notices()) == 1


def test_oversized_object_is_quarantined_before_download(aws, monkeypatch):
    monkeypatch.setenv("MAX_INPUT_MB", "0.0001")
    from chalicelib.config import get_settings

    get_settings.cache_clear()
    aws.upload("inputs/big.json", _series() * 10)

    [file] = aws.invoke("inputs/big.json")["files"]

    assert file["status"] == "quarantined" and file["error"].startswith("too_large")


def test_an_s3_error_while_quarantining_releases_the_marker_for_the_retry(aws, monkeypatch):
    from botocore.exceptions import ClientError

    from chalicelib.storage import ObjectStore

    etag = aws.upload("inputs/bad.json", b"{not json")
    real_copy = ObjectStore.copy
    failures = []

    def copy_fails_once(self, *args, **kwargs):
        if not failures:
            failures.append(1)
            raise ClientError({"Error": {"Code": "InternalError", "Message": "We encountered an internal error"}}, "X")
        return real_copy(self, *args, **kwargs)

    monkeypatch.setattr(ObjectStore, "copy", copy_fails_once)
    with pytest.raises(ClientError):
        aws.invoke("inputs/bad.json")
    assert aws.keys("processed/hashes/") == []  # released, not held for the lease

    [file] = aws.invoke("inputs/bad.json")["files"]  # Lambda's immediate retry
    assert file["status"] == "quarantined"
    assert aws.keys("quarantine/") == [f"quarantine/bad.json/{etag}/bad.json", f"quarantine/bad.json/{etag}/error.json"]


def test_a_file_over_copy_objects_limit_is_quarantined_without_a_copy(aws):
    from chalicelib.ingest.service import COPY_LIMIT_BYTES

    etag = aws.upload("inputs/huge.json", _series())
    size = COPY_LIMIT_BYTES + 1  # what the S3 event says of a 5 GiB + 1 byte multipart upload

    [file] = aws.invoke("inputs/huge.json", sizes=[size])["files"]

    assert file["status"] == "quarantined" and file["error"].startswith("too_large")
    assert aws.keys("quarantine/") == [f"quarantine/huge.json/{etag}/error.json"]  # CopyObject would refuse
    error = json.loads(aws.s3.get_object(Bucket=BUCKET, Key=f"quarantine/huge.json/{etag}/error.json")["Body"].read())
    assert error["copy_key"] is None and error["original_key"] == "inputs/huge.json" and error["etag"] == etag
    assert error["size"] == size and "not copied" in error["note"]
    assert aws.keys("inputs/") == ["inputs/huge.json"]  # the original stays where error.json points
    assert aws.invoke("inputs/huge.json", sizes=[size])["files"][0]["status"] == "duplicate"


def test_an_input_key_near_s3s_limit_gets_output_keys_within_it(aws):
    # S3 keys may be 1,024 bytes; the output keys add a prefix and the ETag to the input's name.
    long_name = "inputs/" + "k" * 990 + "é.json"
    other = "inputs/" + "k" * 990 + "è.json"
    aws.upload(long_name, _series())
    aws.upload(other, _series("MSFT"))

    files = [aws.invoke(k)["files"][0] for k in (long_name, other)]

    assert [f["status"] for f in files] == ["processed", "processed"]
    written = aws.keys("processed/bars/") + aws.keys("rejects/")
    assert len(written) == 4 and all(len(k.encode()) <= 1024 for k in written)
    assert files[0]["processed_key"] != files[1]["processed_key"]  # a hash keeps them apart
    assert sorted(f["processed_key"] for f in files) == aws.keys("processed/bars/")


def test_gzip_input_is_ingested(aws):
    aws.upload("inputs/aapl.json.gz", gzip.compress(_series()))
    [file] = aws.invoke("inputs/aapl.json.gz")["files"]
    assert file["status"] == "processed" and file["records"]["valid"] == 2


def test_failed_event_entry_raises_and_a_later_delivery_finishes(aws, monkeypatch):
    from chalicelib import events

    aws.upload("inputs/a.json", _series())
    real_publish = events.EventPublisher.publish

    def refuse(self, detail_type, detail):
        raise events.EventPublishError("EventBridge refused IngestorCompleted: InternalFailure")

    monkeypatch.setattr(events.EventPublisher, "publish", refuse)
    with pytest.raises(events.EventPublishError):
        aws.invoke("inputs/a.json")

    monkeypatch.setattr(events.EventPublisher, "publish", real_publish)
    assert aws.invoke("inputs/a.json")["files"][0]["status"] == "processed"
    assert len(aws.events()) == 1


def test_marker_of_a_dead_invocation_is_taken_over_after_its_lease(aws):
    etag = aws.upload("inputs/a.json", _series())
    stale = {"state": "in_progress", "input_key": "inputs/a.json", "claimed_at": 0, "lease_expires_at": 1}
    aws.s3.put_object(Bucket=BUCKET, Key=marker_key("inputs/a.json", etag), Body=json.dumps(stale))

    assert aws.invoke("inputs/a.json")["files"][0]["status"] == "processed"


def _wait_for_holders(monkeypatch, seconds: float) -> None:
    from chalicelib.config import get_settings

    monkeypatch.setenv("MARKER_WAIT_SECONDS", str(seconds))
    get_settings.cache_clear()


def test_live_in_progress_marker_makes_the_delivery_retry_once_its_wait_is_over(aws, monkeypatch):
    import time

    from chalicelib.ingest.service import IngestInProgress

    _wait_for_holders(monkeypatch, 0.6)
    etag = aws.upload("inputs/a.json", _series())
    live = {"state": "in_progress", "input_key": "inputs/a.json", "lease_expires_at": time.time() + 600}
    aws.s3.put_object(Bucket=BUCKET, Key=marker_key("inputs/a.json", etag), Body=json.dumps(live))

    started = time.monotonic()
    with pytest.raises(IngestInProgress):
        aws.invoke("inputs/a.json")
    assert time.monotonic() - started >= 0.6  # it waited for the holder before giving up
    assert aws.events() == []


def test_a_duplicate_delivery_waits_for_the_live_holder_and_ends_as_a_duplicate(aws, monkeypatch):
    """Two deliveries of one event at once: the second finds the first's marker and waits for it,
    instead of failing (three such failures in a row put an ingested file's event in the DLQ)."""
    import threading
    import time

    _wait_for_holders(monkeypatch, 30)
    etag = aws.upload("inputs/a.json", _series())
    key = marker_key("inputs/a.json", etag)
    live = {"state": "in_progress", "input_key": "inputs/a.json", "lease_expires_at": time.time() + 600}
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(live))
    done = {"state": "done", "status": "processed", "input_key": "inputs/a.json", "processed_key": "processed/x"}
    finisher = threading.Timer(0.5, lambda: aws.s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(done)))
    finisher.start()
    try:
        [file] = aws.invoke("inputs/a.json")["files"]
    finally:
        finisher.join()

    assert file["status"] == "duplicate" and file["processed_key"] == "processed/x"
    assert aws.events() == []  # the holder published; the duplicate did not


def test_the_wait_for_a_holder_leaves_half_the_invocation_for_a_takeover():
    from chalicelib.config import Settings, holder_wait_seconds

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 9_000

    assert holder_wait_seconds(Settings(marker_wait_seconds=20), Context()) == 4.5
    assert holder_wait_seconds(Settings(marker_wait_seconds=2), Context()) == 2
    assert holder_wait_seconds(Settings(), None) == Settings().marker_wait_seconds


def test_object_overwritten_since_the_event_is_skipped(aws):
    aws.upload("inputs/a.json", _series())
    [file] = aws.invoke("inputs/a.json", etags=["0123456789abcdef0123456789abcdef"])["files"]
    assert file["status"] == "skipped"
    assert aws.keys("processed/hashes/") == []


def test_event_publish_error_on_failed_entry():
    from botocore.stub import Stubber

    from chalicelib.events import EventPublisher, EventPublishError

    client = boto3.client("events", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_response(
            "put_events",
            {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]},
        )
        with pytest.raises(EventPublishError, match="InternalFailure"):
            EventPublisher(client, "default", "stock-insights.ingestor").publish("IngestorCompleted", {"a": 1})


def test_same_bytes_under_names_giving_other_symbols_are_two_files(aws):
    body = b"datetime;open;high;low;close;volume\n2024-01-02;1;2;0.5;1.5;10\n2024-01-03;1;2;0.5;1.5;10\n"
    aws.upload("inputs/AAPL_1day.csv", body)
    aws.upload("inputs/MSFT_1day.csv", body)
    aws.upload("inputs/MSFT_1week.csv", body)

    files = aws.invoke("inputs/AAPL_1day.csv", "inputs/MSFT_1day.csv", "inputs/MSFT_1week.csv")["files"]

    assert [f["status"] for f in files] == ["processed", "processed", "processed"]
    assert len({f["etag"] for f in files}) == 1
    symbols = [{(line["symbol"], line["interval"]) for line in aws.lines(f["processed_key"])} for f in files]
    assert symbols == [{("AAPL", "1day")}, {("MSFT", "1day")}, {("MSFT", "1week")}]
    assert len(aws.events()) == 3
