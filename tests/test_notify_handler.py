"""The notify handler against moto's DynamoDB (with its stream), S3 and SES.

Stream batches are read from the table's real (moto) stream, so the records have the shape
Lambda delivers; each test delivers them to `handle_stream_batch` the way Lambda would,
including redeliveries.
"""

from __future__ import annotations

import email
import json
import time
from dataclasses import dataclass
from email import policy
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from chalicelib.analysis_store import AnalysisStore, report_page_key
from chalicelib.notify import markers
from chalicelib.notify.render import render_report, standalone_html
from chalicelib.notify.service import handle_stream_batch
from chalicelib.observability import metrics
from chalicelib.readings import archive_items, movers
from chalicelib.storage import ObjectStore
from infra.resources import resource_specs
from infra.table import table_definition
from tests.conftest import REPO
from tests.report_records import closes_walk, make_record, market_record

BUCKET, REGION = "test-bucket", "us-east-1"
# chalice.test.Client applies the dev stage's environment, so the table is the one it names.
TABLE = json.loads((REPO / ".chalice" / "config.json").read_text())["stages"]["dev"]["environment_variables"][
    "TABLE_NAME"
]
SENDER = "reports@example.com"
RECIPIENTS = ["analyst@example.com", "desk@example.com"]


@dataclass
class Env:
    ddb: Any
    s3: Any
    ses: Any
    stream_arn: str

    def save(self, record: dict, item_max_bytes: int = 300 * 1024) -> str:
        store = AnalysisStore(self.ddb, TABLE, ObjectStore(self.s3, BUCKET), item_max_bytes)
        # As analyze stores it: the archive's readings and directory entries first (other kinds).
        assert store.save(record, archive_items(record), movers(record))
        return record["analysis_id"]

    def stream(self) -> list[dict]:
        """Every record on the stream so far, as Lambda's event JSON has them."""
        streams = boto3.client("dynamodbstreams", region_name=REGION)
        shards = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        records = []
        for shard in shards:
            iterator = streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for record in streams.get_records(ShardIterator=iterator)["Records"]:
                record["eventSourceARN"] = self.stream_arn
                records.append(json.loads(json.dumps(record, default=lambda v: v.timestamp())))
        return records

    def inserts(self) -> list[dict]:
        return [r for r in self.stream() if r["eventName"] == "INSERT" and "analysis" in _kind(r)]

    def sent(self) -> list[Any]:
        from moto.ses.models import ses_backends

        return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)

    def marker(self, analysis_id: str) -> dict | None:
        return markers.EmailMarkers(self.ddb, TABLE).get(analysis_id)


def _kind(record: dict) -> str:
    return record["dynamodb"].get("NewImage", {}).get("kind", {}).get("S", "")


def _metric(name: str) -> float:
    return sum(metrics.metric_set.get(name, {}).get("Value", []))


def _emailed(env: Env) -> list[str]:
    return sorted(email.message_from_string(m.raw_data)["X-Analysis-Id"] for m in env.sent())


def _deliver(*records: dict) -> dict:
    return handle_stream_batch({"Records": list(records)}, None)


@pytest.fixture
def env(aws_env, monkeypatch):
    from chalicelib.config import get_settings

    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("SENDER_EMAIL", SENDER)
    monkeypatch.setenv("RECIPIENT_EMAILS", ", ".join(RECIPIENTS))
    get_settings.cache_clear()
    metrics.clear_metrics()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        table = ddb.create_table(**table_definition({**resource_specs()["table"], "name": TABLE}))
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        ses = boto3.client("ses", region_name=REGION)
        ses.verify_email_identity(EmailAddress=SENDER)
        yield Env(ddb, s3, ses, table["TableDescription"]["LatestStreamArn"])
    metrics.clear_metrics()
    get_settings.cache_clear()


def _record(n: int) -> dict:
    return make_record({f"SYM{n}": closes_walk(n), "OTHER": closes_walk(100 + n)}, etag=f"etag{n:030d}")


def test_an_inserted_analysis_is_emailed_once_to_every_recipient(env):
    analysis_id = env.save(market_record())

    result = _deliver(*env.inserts())

    assert result == {"batchItemFailures": []}
    (sent,) = env.sent()
    assert sent.source == SENDER
    assert set(RECIPIENTS) <= set(sent.destinations)
    message = email.message_from_string(sent.raw_data, policy=policy.default)
    assert message["X-Analysis-Id"] == analysis_id
    assert message["X-Correlation-Id"] == "corr-1234-abcd"
    assert message["Subject"].startswith("Stock Insights · Fri 9 Feb 2024 · Bullish")
    assert [a.strip() for a in message["To"].split(",")] == RECIPIENTS
    html = message.get_body(("html",)).get_content()
    assert "UPCO" in html and "corr-1234-abcd" in html
    marker = env.marker(analysis_id)
    assert marker["state"] == "sent" and marker["ses_message_id"] == sent.id
    assert _metric("EmailsSent") == 1


def test_a_redelivered_batch_never_sends_a_second_email(env):
    env.save(market_record())
    batch = env.inserts()

    first = _deliver(*batch)
    again = _deliver(*batch)
    third = _deliver(*batch, *batch)  # the same record twice in one batch, too

    assert first == again == third == {"batchItemFailures": []}
    assert len(env.sent()) == 1
    assert _metric("EmailsSent") == 1
    assert _metric("EmailDuplicates") == 3


def test_modify_remove_and_other_items_are_skipped(env):
    analysis_id = env.save(_record(1))
    _deliver(*env.inserts())
    assert len(env.sent()) == 1
    metrics.clear_metrics()

    # The stream also holds the archive's readings and directory entries, the marker's INSERT and
    # MODIFYs: none of them is an analysis.
    others = [r for r in env.stream() if _kind(r) != "analysis"]
    assert {r["eventName"] for r in others} == {"INSERT", "MODIFY"}
    assert {_kind(r).split("#")[0] for r in others} == {"reading", "symbol", "email_marker"}
    (insert,) = env.inserts()
    modify = {**insert, "eventName": "MODIFY", "dynamodb": {**insert["dynamodb"], "SequenceNumber": "9001"}}
    remove = {**insert, "eventName": "REMOVE", "dynamodb": {**insert["dynamodb"], "SequenceNumber": "9002"}}
    del remove["dynamodb"]["NewImage"]
    env.ddb.delete_item(TableName=TABLE, Key={"analysis_id": {"S": markers.marker_key(analysis_id)}})

    result = _deliver(*others, modify, remove)

    assert result == {"batchItemFailures": []}
    assert len(env.sent()) == 1  # even with the marker gone, only an INSERT could send
    assert _metric("EmailsSkipped") == len(others) + 2
    assert _metric("EmailsSent") == 0


def test_one_failing_record_is_reported_alone_and_the_others_are_not_resent(env, monkeypatch):
    ids = [env.save(_record(n)) for n in (1, 2, 3)]
    batch = env.inserts()
    from chalicelib.notify import render

    real = render.render_report

    def flaky(record, **kwargs):
        if record["analysis_id"] == ids[1]:
            raise ConnectionError("simulated outage while rendering")
        return real(record, **kwargs)

    monkeypatch.setattr(render, "render_report", flaky)
    result = _deliver(*batch)

    assert result == {"batchItemFailures": [{"itemIdentifier": batch[1]["dynamodb"]["SequenceNumber"]}]}
    assert _emailed(env) == sorted([ids[0], ids[2]])
    assert env.marker(ids[1])["state"] == "retry"

    # Lambda redelivers from the failed record on; the cause has gone away.
    monkeypatch.setattr(render, "render_report", real)
    assert _deliver(*batch[1:]) == {"batchItemFailures": []}
    assert _emailed(env) == sorted(ids)  # each analysis exactly once


def test_a_record_that_keeps_failing_stops_blocking_the_shard(env, monkeypatch):
    analysis_id = env.save(_record(1))
    (record,) = env.inserts()
    from chalicelib.notify import render

    monkeypatch.setattr(render, "render_report", lambda *a, **k: 1 / 0)
    outcomes = [_deliver(record) for _ in range(markers.MAX_ATTEMPTS + 1)]

    failed = {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
    assert outcomes == [failed] * markers.MAX_ATTEMPTS + [{"batchItemFailures": []}]
    marker = env.marker(analysis_id)
    assert marker["state"] == "failed" and "ZeroDivisionError" in marker["error"]
    assert _metric("EmailFailed") == 1
    assert env.sent() == []


def test_a_large_analysis_summary_item_is_completed_from_s3(env):
    record = make_record({f"S{i:03d}": closes_walk(i, n=30) for i in range(30)})
    analysis_id = env.save(record, item_max_bytes=2_000)
    (insert,) = env.inserts()
    assert "symbols" not in insert["dynamodb"]["NewImage"]  # only the summary is in the table

    assert _deliver(insert) == {"batchItemFailures": []}

    (sent,) = env.sent()
    text = email.message_from_string(sent.raw_data, policy=policy.default).get_body(("plain",)).get_content()
    assert all(f"S{i:03d}" in text for i in range(30))
    assert env.marker(analysis_id)["state"] == "sent"
    # The archive's page of this big file's report is kept beside its record: the email's HTML.
    page = env.s3.get_object(Bucket=BUCKET, Key=report_page_key(analysis_id))["Body"].read().decode()
    assert page == standalone_html(render_report(record)) and "S029" in page


def test_a_whole_item_gets_no_kept_page(env):
    analysis_id = env.save(market_record())
    _deliver(*env.inserts())
    listed = env.s3.list_objects_v2(Bucket=BUCKET, Prefix="analyses/").get("Contents", [])
    assert [o["Key"] for o in listed] == [f"analyses/{analysis_id}.json"]


def test_ses_refusing_the_sender_is_logged_with_the_fix_and_not_retried(env, monkeypatch, caplog):
    from chalicelib.config import get_settings

    monkeypatch.setenv("SENDER_EMAIL", "unverified@example.org")
    get_settings.cache_clear()
    analysis_id = env.save(_record(1))
    batch = env.inserts()

    result = _deliver(*batch)

    assert result == {"batchItemFailures": []}  # no endless retry
    assert env.sent() == []
    assert _metric("EmailRejected") == 1
    (refusal,) = [r for r in caplog.records if getattr(r, "error_code", None) == "MessageRejected"]
    assert "verify the sender unverified@example.org" in refusal.fix
    assert "production access" in refusal.fix
    assert refusal.levelname == "ERROR"
    marker = env.marker(analysis_id)
    assert marker["state"] == "failed" and marker["error_code"] == "MessageRejected"

    # Fixing the identity does not make a redelivery resend on its own: the refusal is recorded.
    env.ses.verify_email_identity(EmailAddress="unverified@example.org")
    assert _deliver(*batch) == {"batchItemFailures": []}
    assert env.sent() == []


def _fail_ses_once(monkeypatch, exc: Exception) -> list[int]:
    from chalicelib import aws

    ses = aws.client("ses")
    real = ses.send_raw_email
    calls = []

    def send_raw_email(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise exc
        return real(**kwargs)

    monkeypatch.setattr(ses, "send_raw_email", send_raw_email)
    return calls


def test_a_transient_ses_error_is_retried_and_sends_once(env, monkeypatch):
    analysis_id = env.save(_record(1))
    (record,) = env.inserts()
    throttled = ClientError({"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."}}, "X")
    calls = _fail_ses_once(monkeypatch, throttled)

    first = _deliver(record)
    assert first == {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
    assert env.marker(analysis_id)["state"] == "retry"
    assert _deliver(record) == {"batchItemFailures": []}
    assert _deliver(record) == {"batchItemFailures": []}

    assert len(calls) == 2 and len(env.sent()) == 1


def test_an_ses_call_without_an_answer_is_never_repeated(env, monkeypatch, caplog):
    analysis_id = env.save(_record(1))
    (record,) = env.inserts()
    calls = _fail_ses_once(monkeypatch, ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com"))

    assert _deliver(record) == {"batchItemFailures": []}
    assert _deliver(record) == {"batchItemFailures": []}

    assert len(calls) == 1  # SES may have it: a second call could be a second email
    assert env.marker(analysis_id)["state"] == "unknown"
    assert _metric("EmailOutcomeUnknown") == 1
    assert [r.levelname for r in caplog.records if analysis_id in r.getMessage()] == ["ERROR"]


class Died(BaseException):
    """A process death (out of memory, timeout): skips every `except Exception`."""


def test_a_death_while_preparing_lets_a_prompt_retry_send_at_once(env, monkeypatch):
    analysis_id = env.save(_record(1))
    (record,) = env.inserts()
    from chalicelib.notify import render

    real = render.render_report

    def die(*args, **kwargs):
        raise Died("out of memory while rendering")

    monkeypatch.setattr(render, "render_report", die)
    with pytest.raises(Died):
        _deliver(record)
    marker = env.marker(analysis_id)
    assert marker["state"] == "preparing" and marker["lease_expires_at"] > time.time() + 30  # a live lease

    # Lambda retries the record within a second or two, long before the lease runs out.
    monkeypatch.setattr(render, "render_report", real)
    assert _deliver(record) == {"batchItemFailures": []}
    assert _emailed(env) == [analysis_id]
    assert env.marker(analysis_id)["state"] == "sent"
    assert _deliver(record) == {"batchItemFailures": []}
    assert len(env.sent()) == 1


def test_a_death_between_mark_sending_and_ses_surfaces_as_outcome_unknown(env, monkeypatch, caplog):
    analysis_id = env.save(_record(1))
    (record,) = env.inserts()
    from chalicelib import aws

    ses = aws.client("ses")
    real = ses.send_raw_email

    def die(**kwargs):
        raise Died("killed before the SES call")

    monkeypatch.setattr(ses, "send_raw_email", die)
    with pytest.raises(Died):
        _deliver(record)
    assert env.marker(analysis_id)["state"] == "sending"
    monkeypatch.setattr(ses, "send_raw_email", real)
    caplog.clear()

    assert _deliver(record) == {"batchItemFailures": []}
    assert _deliver(record) == {"batchItemFailures": []}  # reported once, not at every redelivery

    assert env.sent() == []  # SES might have had it: never resent automatically
    assert env.marker(analysis_id)["state"] == "unknown"
    assert _metric("EmailOutcomeUnknown") == 1
    assert _metric("EmailDuplicates") == 1  # the third delivery only
    (line,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert analysis_id in line.getMessage() and "outcome unknown" in line.getMessage()


def test_a_lost_answer_to_mark_sending_is_read_back_and_the_email_goes_once(env, monkeypatch):
    analysis_id = env.save(_record(1))
    (record,) = env.inserts()
    real = markers.EmailMarkers.mark_sending

    def landed_but_no_answer(self, *args):
        real(self, *args)
        raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    monkeypatch.setattr(markers.EmailMarkers, "mark_sending", landed_but_no_answer)

    assert _deliver(record) == {"batchItemFailures": []}
    assert _emailed(env) == [analysis_id]
    assert env.marker(analysis_id)["state"] == "sent"
    assert _metric("EmailOutcomeUnknown") == 0


def test_a_mark_sending_that_did_not_land_is_released_for_the_retry(env, monkeypatch):
    analysis_id = env.save(_record(1))
    (record,) = env.inserts()
    real = markers.EmailMarkers.mark_sending
    calls = []

    def fails_once(self, *args):
        calls.append(1)
        if len(calls) == 1:
            raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
        return real(self, *args)

    monkeypatch.setattr(markers.EmailMarkers, "mark_sending", fails_once)

    failed = {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
    assert _deliver(record) == failed
    assert env.marker(analysis_id)["state"] == "retry"
    assert _deliver(record) == {"batchItemFailures": []}
    assert _emailed(env) == [analysis_id]


def test_a_live_claim_taken_over_by_a_later_delivery_cannot_send(env):
    analysis_id = env.save(_record(1))
    (record,) = env.inserts()
    # Another invocation claimed the marker; a later delivery of the record arrives at once.
    held = markers.EmailMarkers(env.ddb, TABLE).claim(analysis_id, "corr", lease_s=60)
    assert held.outcome == markers.CLAIMED

    assert _deliver(record) == {"batchItemFailures": []}
    assert len(env.sent()) == 1
    assert env.marker(analysis_id)["attempts"] == 2
    # ...and the first invocation can no longer reach SES with its stale claim.
    assert not markers.EmailMarkers(env.ddb, TABLE).mark_sending(analysis_id, held.token)


def test_concurrent_claims_never_exhaust_a_live_claimant(env):
    analysis_id = env.save(_record(1))
    (record,) = env.inserts()
    claims = [markers.EmailMarkers(env.ddb, TABLE).claim(analysis_id, "c", 60) for _ in range(markers.MAX_ATTEMPTS + 2)]

    assert [c.outcome for c in claims] == [markers.CLAIMED] * len(claims)
    last = claims[-1]
    assert [markers.EmailMarkers(env.ddb, TABLE).mark_sending(analysis_id, c.token) for c in claims] == [False] * (
        len(claims) - 1
    ) + [True]
    assert last.attempts == len(claims)


def test_the_chalice_handler_returns_the_partial_batch_response(env, monkeypatch):
    import app

    names = {getattr(s, "name", None) for s in app.app.event_sources}
    if "notify" not in names:
        pytest.skip("app.py has no `notify` stream handler yet")
    from chalice.test import Client

    env.save(_record(1))
    (record,) = env.inserts()
    with Client(app.app, stage_name="dev") as client:
        payload = client.lambda_.invoke("notify", {"Records": [record]}).payload
    assert payload == {"batchItemFailures": []}
    assert len(env.sent()) == 1
