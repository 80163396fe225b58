"""What `sandbox cost` measures: the AWS calls a handler makes, tallied, and a real sandbox run."""

from __future__ import annotations

import email.policy
from email.message import EmailMessage

import pytest

from sandbox.measure import _Counter, attachment_bytes, item_size, measure, tally


def _message() -> bytes:
    message = EmailMessage(policy=email.policy.SMTP)
    message.set_content("plain text")
    message.add_alternative("<p>html</p>", subtype="html")
    message.add_attachment(b"\x89PNG" + b"\x00" * 300, maintype="image", subtype="png", filename="chart.png")
    return bytes(message)


def test_tally_counts_requests_bytes_units_events_and_emails():
    analysis = {"analysis_id": {"S": "a" * 10}, "kind": {"S": "analysis"}, "body": {"S": "x" * 1500}}
    marker = {"analysis_id": {"S": "email#a"}}
    calls = [
        ("s3", "GetObject", {"Key": "inputs/f.json"}, {}),
        ("s3", "PutObject", {"Key": "processed/bars/f/e.jsonl", "Body": b"x" * 100}, {}),
        ("s3", "PutObject", {"Key": "processed/hashes/e", "Body": b""}, {}),
        ("s3", "PutObject", {"Key": "analyses/a.json", "Body": b"y" * 50}, {}),
        ("s3", "CreateMultipartUpload", {"Key": "rejects/f/e.jsonl"}, {}),
        ("s3", "UploadPart", {"Key": "rejects/f/e.jsonl", "Body": b"r" * 70}, {}),
        ("s3", "CompleteMultipartUpload", {"Key": "rejects/f/e.jsonl"}, {}),
        ("s3", "HeadObject", {"Key": "inputs/f.json"}, {}),
        ("dynamodb", "PutItem", {"Item": analysis}, {}),
        ("dynamodb", "PutItem", {"Item": marker}, {}),
        ("dynamodb", "GetItem", {"Key": marker}, {"Item": analysis}),
        ("dynamodb", "GetItem", {"Key": marker, "ConsistentRead": True}, {"Item": analysis}),
        ("events", "PutEvents", {"Entries": [{}, {}]}, {}),
        ("ses", "SendRawEmail", {"RawMessage": {"Data": _message()}}, {}),
    ]
    found = tally(calls)
    assert (found["s3_writes"], found["s3_reads"]) == (6, 2)  # each multipart call is a request
    assert found["s3_bytes"] == {"processed": 100, "hashes": 0, "analyses": 50, "rejects": 70}
    size = item_size(analysis)
    assert 1500 < size < 1600
    # 2 KB rounded up, twice (the kind index's copy), + 1 for the marker
    assert found["wru"] == 2 * 2 + 1
    assert found["item_bytes"] == 2 * size + item_size(marker)
    assert found["rru"] == 1 + 1  # an eventually consistent read of 1.5 KB, a strong one
    assert (found["events"], found["emails"]) == (2, 1)
    assert found["attachment_bytes"] == attachment_bytes(_message()) > 400  # base64 of 304 bytes


def test_the_counter_finds_each_emf_metric_once_per_name_and_dimensions(monkeypatch):
    import sandbox.measure as measuring

    counter = _Counter()
    monkeypatch.setattr(measuring._STATE, "handler", "ingest", raising=False)
    line = (
        '{"_aws": {"CloudWatchMetrics": [{"Namespace": "StockInsights", "Dimensions": [["service", "stage"]], '
        '"Metrics": [{"Name": "BarsInput"}, {"Name": "BarsRejected"}]}]}, "service": "s", "stage": "dev"}\n'
    )
    counter.write(line[:40])
    counter.write(line[40:] + line)
    counter.write('{"level": "INFO", "message": "not a metric"}\n')
    assert counter.metrics == {
        "StockInsights/BarsInput[service=s,stage=dev]",
        "StockInsights/BarsRejected[service=s,stage=dev]",
    }
    assert counter.log_bytes["ingest"] == 2 * len(line) + len('{"level": "INFO", "message": "not a metric"}\n')


def test_a_real_sandbox_run_is_measured():
    measured = measure(3, 40)
    assert set(measured.functions) == {"ingest", "analyze", "notify"}
    assert measured.functions["ingest"].invocations == 1 and measured.functions["ingest"].seconds > 0
    assert measured.s3_bytes["inputs"] == measured.file_bytes
    assert measured.s3_bytes["processed"] > 3 * 40 * 50  # one line per bar
    assert measured.events == 1 and measured.emails == 1
    assert measured.ddb_write_units >= 2 and measured.ddb_item_bytes > 0
    assert any("BarsInput" in metric for metric in measured.metrics)
    assert measured.log_bytes > 0 and measured.page_view.seconds > 0
    assert measured.tokens_in > 0 and measured.bedrock_calls == 2 and measured.bedrock_rounds == 2


@pytest.mark.parametrize("value", [{"S": "héllo"}, {"N": "12.5"}, {"BOOL": True}, {"M": {"a": {"S": "b"}}}])
def test_item_sizes_follow_dynamodbs_rules_roughly(value):
    assert 1 <= item_size({"k": value}) <= 12


def test_a_file_of_more_symbols_than_a_stream_page_is_still_emailed():
    """1,100 symbols write 1,100 per-symbol items before the analysis: a first page of stream
    records that the mapping's filter empties entirely must not end the run as idle."""
    measured = measure(1100, 3)
    assert measured.functions["notify"].invocations >= 1 and measured.emails == 1
