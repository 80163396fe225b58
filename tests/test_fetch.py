"""The scheduled Twelve Data fetch against a stand-in server on loopback: real HTTP, the real client.

Waits are on a fake clock (a minute's credit window must not cost a minute of test time); the
HTTP, the timeouts and the bodies are real.
"""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.fetch.http import HttpTransport
from chalicelib.fetch.twelvedata import Fetcher, FetchSettings, batches, parse_symbols
from chalicelib.ingest.formats import decode_input
from tests.conftest import fixture_bytes
from tests.twelvedata_standin import Answer, StandIn

KEY = "td-secret-key-0123456789"


class FakeTime:
    """A clock that moves only when the fetcher sleeps, and a function with `budget_s` to run."""

    def __init__(self, budget_s: float = 900.0):
        self.now, self.budget_s, self.sleeps = 0.0, budget_s, []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def remaining_s(self) -> float:
        return self.budget_s - self.now


def _fetcher(stand_in: StandIn, fake: FakeTime, **settings) -> Fetcher:
    config = FetchSettings(base_url=stand_in.url, **{"timeout_s": 5.0, **settings})
    return Fetcher(KEY, config, remaining_s=fake.remaining_s, clock=fake.clock, sleep=fake.sleep)


def _ingestible(document: dict) -> tuple[dict, dict]:
    """What the ingestor reads from the written file: {symbol: bars}, {symbol: error message}."""
    parsed = decode_input(json.dumps(document).encode(), "inputs/scheduled/2026-11-27/2130Z-1day.json", 1 << 20)
    return {s.symbol: len(s.values) for s in parsed.series}, {e.symbol: e.message for e in parsed.errors}


def test_symbols_are_parsed_and_batched_by_the_minute_credits():
    assert parse_symbols(" aapl, MSFT,,AAPL\nibm\n# comment") == ["AAPL", "MSFT", "IBM"]
    assert batches([f"S{i}" for i in range(20)], 8) == [
        [f"S{i}" for i in range(8)],
        [f"S{i}" for i in range(8, 16)],
        [f"S{i}" for i in range(16, 20)],
    ]


def test_one_request_for_several_symbols_with_the_key_in_a_header(stand_in):
    fake = FakeTime()
    fetcher = _fetcher(stand_in, fake, outputsize=30)

    document = fetcher.fetch(["AAPL", "MSFT"])

    (request,) = stand_in.requests
    assert request.symbols == ["AAPL", "MSFT"]
    assert request.query == {"symbol": "AAPL,MSFT", "interval": "1day", "outputsize": "30"}
    assert request.headers["authorization"] == f"apikey {KEY}"
    assert KEY not in fetcher.url(["AAPL"])
    series, errors = _ingestible(document)
    assert series == {"AAPL": 30, "MSFT": 30} and errors == {}
    assert fake.sleeps == []


def test_a_single_symbol_answer_is_kept_under_its_symbol(stand_in):
    document = _fetcher(stand_in, FakeTime()).fetch(["IBM"])
    assert list(document) == ["IBM"] and document["IBM"]["meta"]["symbol"] == "IBM"
    assert _ingestible(document)[0] == {"IBM": 30}


def test_a_429_is_retried_in_the_next_minute_and_then_succeeds(stand_in):
    stand_in.then(Answer(200, fixture_bytes("soulgarden_time_series_error_429.json")))  # as Twelve Data: HTTP 200
    fake = FakeTime()
    fetcher = _fetcher(stand_in, fake)

    document = fetcher.fetch(["AAPL", "MSFT"])

    assert len(stand_in.requests) == 2
    assert fake.sleeps == [60.0]  # the credits come back with the next minute
    assert _ingestible(document) == ({"AAPL": 30, "MSFT": 30}, {})
    assert fetcher.report.errors == {}


def test_per_symbol_errors_stay_in_the_file_for_the_report(stand_in):
    document = _fetcher(stand_in, FakeTime()).fetch(["AAPL", "NOTFOUND", "MSFT"])

    assert len(stand_in.requests) == 1  # a "not found" is an answer, not a reason to retry
    series, errors = _ingestible(document)
    assert series == {"AAPL": 30, "MSFT": 30}
    assert list(errors) == ["NOTFOUND"] and "not found" in errors["NOTFOUND"]


def test_a_5xx_and_a_malformed_body_are_retried_with_backoff(stand_in):
    stand_in.then(Answer(503, b"upstream busy"), Answer(200, b"<html>gateway</html>"))
    fake = FakeTime()

    document = _fetcher(stand_in, fake).fetch(["AAPL"])

    assert len(stand_in.requests) == 3
    assert fake.sleeps == [2.0, 5.0]
    assert _ingestible(document) == ({"AAPL": 30}, {})


def test_a_symbol_that_keeps_failing_becomes_its_error_object(stand_in):
    stand_in.then(*[Answer(200, b"not json")] * 3)
    fake = FakeTime()
    fetcher = _fetcher(stand_in, fake, max_attempts=3)

    document = fetcher.fetch(["AAPL"])

    assert len(stand_in.requests) == 3
    series, errors = _ingestible(document)
    assert series == {} and "not JSON" in errors["AAPL"] and "after 3 attempts" in errors["AAPL"]
    assert document["AAPL"]["code"] == 200  # the status the body came with, not an invented 502


def test_a_timeout_is_retried_and_each_call_has_its_timeout(stand_in):
    stand_in.then(Answer(delay_s=1.5))  # longer than the client waits
    fake = FakeTime()
    fetcher = _fetcher(stand_in, fake, timeout_s=0.3)

    document = fetcher.fetch(["AAPL"])

    assert len(stand_in.requests) == 2
    assert _ingestible(document) == ({"AAPL": 30}, {})
    stand_in.then(*[Answer(delay_s=1.5)] * 2)
    failed = _fetcher(stand_in, FakeTime(), timeout_s=0.3, max_attempts=2).fetch(["MSFT"])
    # no server said 504: the code stays empty and the message says what happened
    assert failed["MSFT"]["code"] is None and "timed out" in failed["MSFT"]["message"]
    assert "did not finish answering within 0.3 s" in failed["MSFT"]["message"]


def test_more_symbols_than_a_minutes_credits_go_in_batches_a_minute_apart(stand_in):
    symbols = [f"SYM{i:02d}" for i in range(20)]
    fake = FakeTime()

    document = _fetcher(stand_in, fake, credits_per_minute=8).fetch(symbols)

    assert [len(r.symbols) for r in stand_in.requests] == [8, 8, 4]
    assert fake.sleeps == [60.0, 60.0]
    assert _ingestible(document)[0] == dict.fromkeys(symbols, 30)
    assert list(document) == symbols


def test_when_time_runs_out_what_was_fetched_is_kept_and_the_rest_says_why(stand_in):
    symbols = [f"SYM{i:02d}" for i in range(20)]
    fake = FakeTime(budget_s=70.0)  # one batch, then no time for a minute's wait and a request
    fetcher = _fetcher(stand_in, fake, credits_per_minute=8)

    document = fetcher.fetch(symbols)

    assert len(stand_in.requests) == 1 and fake.sleeps == []
    series, errors = _ingestible(document)
    assert list(series) == symbols[:8]
    assert list(errors) == symbols[8:]
    assert all("time ran out (8 of 20 symbols fetched)" in message for message in errors.values())
    assert fetcher.report.out_of_time


def test_a_refused_request_is_not_retried_and_names_every_symbol(stand_in):
    refused = b'{"code":401,"message":"**apikey** parameter is incorrect or not specified.","status":"error"}'
    stand_in.then(Answer(200, refused))

    document = _fetcher(stand_in, FakeTime()).fetch(["AAPL", "MSFT"])

    assert len(stand_in.requests) == 1
    series, errors = _ingestible(document)
    assert series == {} and set(errors) == {"AAPL", "MSFT"}
    assert document["MSFT"]["meta"]["symbol"] == "MSFT" and document["MSFT"]["code"] == 401


def test_the_standard_library_transport_reads_error_bodies(stand_in):
    stand_in.then(Answer(429, fixture_bytes("soulgarden_time_series_error_429.json")))
    status, body = HttpTransport().get(f"{stand_in.url}/time_series?symbol=AAPL", {}, 5.0)
    assert status == 429 and json.loads(body)["code"] == 429


# --- the handler's edge: the key from SSM, the file in inputs/scheduled/ --------------------------


def test_the_handler_writes_one_file_per_scheduled_time_and_never_shows_the_key(stand_in, aws_env, monkeypatch, capsys):
    from moto import mock_aws

    from chalicelib.fetch import service

    monkeypatch.setenv("TWELVEDATA_BASE_URL", stand_in.url)
    monkeypatch.setenv("FETCH_SYMBOLS", "AAPL,NOTFOUND")
    monkeypatch.setenv("TWELVEDATA_API_KEY_PARAMETER", "/stock-insights/test/twelvedata-api-key")
    event = {"time": "2026-11-27T21:30:00Z", "detail-type": "Scheduled Event", "source": "aws.events"}
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="test-bucket")
        ssm = boto3.client("ssm", region_name="us-east-1")
        with pytest.raises(RuntimeError, match="put it in the SecureString parameter /stock-insights/test/"):
            service.handle_schedule(event)
        ssm.put_parameter(Name="/stock-insights/test/twelvedata-api-key", Value=KEY, Type="SecureString")

        first = service.handle_schedule(event)
        again = service.handle_schedule(event)  # a retried invocation

        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="test-bucket")["Contents"]]
        body = s3.get_object(Bucket="test-bucket", Key=first["key"])["Body"].read()
    assert first["key"] == again["key"] == "inputs/scheduled/2026-11-27/2130Z-1day.json"
    assert keys == [first["key"]]  # overwritten, not added
    assert (first["symbols"], first["fetched"], first["errors"]) == (2, 1, ["NOTFOUND"])
    assert _ingestible(json.loads(body))[0] == {"AAPL": 30}
    assert all(r.headers["authorization"] == f"apikey {KEY}" for r in stand_in.requests)
    output = capsys.readouterr()
    assert KEY not in output.out + output.err and KEY.encode() not in body


def test_symbols_may_live_in_s3_or_ssm(aws_env):
    from moto import mock_aws

    from chalicelib.fetch.service import load_symbols

    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="lists")
        boto3.client("s3", region_name="us-east-1").put_object(Bucket="lists", Key="symbols.txt", Body=b"AAPL\nmsft\n")
        boto3.client("ssm", region_name="us-east-1").put_parameter(Name="/syms", Value="IBM,GOOG", Type="String")
        assert load_symbols("s3://lists/symbols.txt") == ["AAPL", "MSFT"]
        assert load_symbols("ssm:/syms") == ["IBM", "GOOG"]
    assert load_symbols(" aapl , ibm ") == ["AAPL", "IBM"]
    assert load_symbols("") == []


def test_a_900_second_function_fits_fifteen_requests_of_a_free_plans_minute(stand_in):
    """docs/live-data.md's "about 120 symbols a run" on the free plan (8 credits a minute)."""
    symbols = [f"S{i:03d}" for i in range(150)]
    fetcher = _fetcher(stand_in, FakeTime(budget_s=900.0), credits_per_minute=8, timeout_s=20.0)

    document = fetcher.fetch(symbols)

    assert len(stand_in.requests) == 15
    assert sum(entry.get("status") != "error" for entry in document.values()) == 120
    assert "time ran out (120 of 150 symbols fetched)" in document["S149"]["message"]


@pytest.mark.parametrize(("symbols", "expected"), [("", []), ("AAPL,MSFT", [("fetch", "cron(0 22 ? * MON-FRI *)")])])
def test_the_schedule_exists_only_where_symbols_are_configured(symbols, expected):
    """What chalice deploy/package see when they import app.py with the stage's environment."""
    import subprocess
    import sys

    from tests.conftest import REPO

    code = (
        "import app\n"
        "from chalice.app import ScheduledEventConfig\n"
        "print([(s.name, s.schedule_expression) for s in app.app.event_sources "
        "if isinstance(s, ScheduledEventConfig)])\n"
    )
    env = {"PATH": "/usr/bin:/bin", "FETCH_SYMBOLS": symbols, "FETCH_SCHEDULE": "cron(0 22 ? * MON-FRI *)"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == repr(expected)


@pytest.fixture
def scheduled(aws_env, monkeypatch):
    """A stage with a fetch of AAPL and its table, in an emulated account: (DynamoDB client, the
    schedule's event)."""
    from moto import mock_aws

    from infra.resources import resource_specs
    from infra.table import table_definition

    monkeypatch.setenv("FETCH_SYMBOLS", "AAPL")
    monkeypatch.setenv("TWELVEDATA_API_KEY_PARAMETER", "/stock-insights/test/twelvedata-api-key")
    event = {"time": "2026-11-27T21:30:00Z", "detail-type": "Scheduled Event", "source": "aws.events"}
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(**table_definition({**resource_specs()["table"], "name": aws_env["TABLE_NAME"]}))
        yield ddb, event


def test_a_run_that_cannot_fetch_at_all_leaves_a_failure_notice(scheduled, aws_env):
    from chalicelib.fetch import service
    from chalicelib.notify.notice import notice_from_quarantine, render_notice

    ddb, event = scheduled
    for _ in range(2):  # the invocation and Lambda's retry
        with pytest.raises(RuntimeError, match="no Twelve Data API key"):
            service.handle_schedule(event)
    [notice] = _notices(ddb, aws_env["TABLE_NAME"])
    assert notice["kind"] == "failure_notice" and notice["reason"] == "fetch_failed"
    report = render_notice(notice_from_quarantine(notice))
    assert report.subject == "Stock Insights · Data failed: the scheduled fetch could not run · 2130Z-1day.json"
    text = " ".join(report.text.split())
    assert "put it in the SecureString parameter /stock-insights/test/twelvedata-api-key" in text
    assert "No symbol was fetched" in text


class _Broken:
    """A transport that fails in a way nobody planned for, with a request's URL in its message."""

    def get(self, url: str, headers: dict, timeout_s: float, max_bytes: int):
        raise ZeroDivisionError(f"boom at {url}")


def _notices(ddb, table: str) -> list[dict]:
    from boto3.dynamodb.types import TypeDeserializer

    from chalicelib.analysis_store import from_dynamo_value

    items = ddb.scan(TableName=table)["Items"]
    return [from_dynamo_value({k: TypeDeserializer().deserialize(v) for k, v in i.items()}) for i in items]


def test_a_run_that_crashes_or_has_nothing_to_fetch_leaves_one_failure_notice_naming_no_request(
    scheduled, aws_env, monkeypatch
):
    from chalicelib.config import get_settings
    from chalicelib.fetch import service
    from chalicelib.notify.notice import notice_from_quarantine, render_notice

    ddb, event = scheduled
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/stock-insights/test/twelvedata-api-key", Value="a1b2c3d4e5f6a7b8c9d0", Type="SecureString"
    )
    for _ in range(3):  # the invocation and Lambda's two retries: one notice
        with pytest.raises(ZeroDivisionError):
            service.handle_schedule(event, transport=_Broken())
    [notice] = _notices(ddb, aws_env["TABLE_NAME"])
    assert notice["reason"] == "fetch_failed" and "ZeroDivisionError" in notice["message"]
    text = " ".join(render_notice(notice_from_quarantine(notice)).text.split())
    assert "unexpected ZeroDivisionError" in text and "boom" not in text and "a1b2c3" not in text

    # A symbol list that holds nothing: nothing fetched, and the readers are told so.
    monkeypatch.setenv("FETCH_SYMBOLS", "ssm:/stock-insights/test/symbols")
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/stock-insights/test/symbols", Value=" , ", Type="String"
    )
    get_settings.cache_clear()
    later = {**event, "time": "2026-11-30T21:30:00Z"}
    assert service.handle_schedule(later, transport=_Broken())["status"] == "no_symbols"
    empty = [n for n in _notices(ddb, aws_env["TABLE_NAME"]) if n["input_key"] != notice["input_key"]]
    assert len(empty) == 1 and "list of symbols to fetch is empty" in empty[0]["message"]
