"""The scheduled fetch against a hostile or broken endpoint, through its handler (moto S3 and SSM)
and over real HTTP on loopback: redirects, the key's form and echoes, size, time, odd values."""

from __future__ import annotations

import json
import time

import boto3
import orjson
import pytest

from chalicelib.fetch.http import HttpTransport, NetworkError, ResponseTooLarge
from chalicelib.fetch.twelvedata import Fetcher, FetchSettings
from tests.twelvedata_standin import Answer, StandIn, start

KEY = "0123456789abcdef0123456789abcdef"  # a Twelve Data key is 32 hex characters
PARAMETER = "/stock-insights/test/twelvedata-api-key"
EVENT = {"time": "2026-11-27T21:30:00Z", "detail-type": "Scheduled Event", "source": "aws.events"}


@pytest.fixture
def second_host():
    """Another server on loopback: whatever reaches it is recorded (headers included)."""
    other = StandIn()
    server = start(other)
    yield other
    server.shutdown()


class Context:
    """A Lambda context whose function has `budget_s` seconds from now."""

    def __init__(self, budget_s: float):
        self.deadline = time.monotonic() + budget_s

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


def _handler(monkeypatch, base_url: str, stored_key: str = KEY, context=None, symbols="AAPL,MSFT", **env):
    """Run the fetch handler with the key stored as `stored_key`: (result, written body, log output)."""
    from moto import mock_aws

    from chalicelib.fetch import service

    monkeypatch.setenv("TWELVEDATA_BASE_URL", base_url)
    monkeypatch.setenv("FETCH_SYMBOLS", symbols)
    monkeypatch.setenv("TWELVEDATA_API_KEY_PARAMETER", PARAMETER)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="test-bucket")
        boto3.client("ssm", region_name="us-east-1").put_parameter(
            Name=PARAMETER, Value=stored_key, Type="SecureString"
        )
        result = service.handle_schedule(EVENT, context)
        body = s3.get_object(Bucket="test-bucket", Key=result["key"])["Body"].read()
    return result, body


def _assert_no_key(*texts) -> None:
    for text in texts:
        data = text if isinstance(text, bytes) else str(text).encode()
        assert KEY.encode() not in data


# --- redirects ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_to_another_host_is_not_followed_and_the_key_goes_nowhere_else(
    stand_in, second_host, monkeypatch, aws_env, capsys, status
):
    elsewhere = f"{second_host.url}/time_series?symbol=AAPL,MSFT&interval=1day"
    stand_in.then(Answer(status, b"", headers={"Location": elsewhere}))

    result, body = _handler(monkeypatch, stand_in.url)

    assert len(stand_in.requests) == 1
    assert second_host.requests == []  # nothing at all reached the second host, let alone the key
    document = json.loads(body)
    assert result["fetched"] == 0 and result["errors"] == ["AAPL", "MSFT"]
    assert document["AAPL"]["code"] == status and "redirect: not followed" in document["AAPL"]["message"]
    output = capsys.readouterr()
    _assert_no_key(body, output.out, output.err)


def test_the_standard_library_client_would_have_sent_the_key_to_the_second_host(stand_in, second_host):
    """What the fetch used before: urllib follows the redirect with every header, key included."""
    import urllib.request

    stand_in.then(Answer(302, b"", headers={"Location": f"{second_host.url}/time_series?symbol=AAPL"}))
    request = urllib.request.Request(f"{stand_in.url}/time_series?symbol=AAPL", headers={"Authorization": "k"})
    urllib.request.urlopen(request, timeout=5).read()
    assert [r.headers.get("authorization") for r in second_host.requests] == ["k"]


def test_the_transport_reports_a_redirect_as_an_answer(stand_in, second_host):
    stand_in.then(Answer(302, b"moved", headers={"Location": second_host.url}))
    assert HttpTransport().get(f"{stand_in.url}/time_series?symbol=AAPL", {}, 5.0) == (302, b"moved")
    assert second_host.requests == []


# --- the key ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stored", [KEY + "\n", KEY + "\r\n", f"  {KEY}\t\n"])
def test_a_key_stored_with_a_line_break_is_sent_without_it(stand_in, monkeypatch, aws_env, stored):
    result, body = _handler(monkeypatch, stand_in.url, stored_key=stored)

    assert result["fetched"] == 2
    assert [r.headers["authorization"] for r in stand_in.requests] == [f"apikey {KEY}"]


def test_a_key_with_a_line_break_inside_is_refused_without_showing_it(stand_in, monkeypatch, aws_env):
    with pytest.raises(RuntimeError) as raised:
        _handler(monkeypatch, stand_in.url, stored_key=KEY[:10] + "\n" + KEY[10:])
    message = str(raised.value)
    assert "position 11" in message and PARAMETER in message
    assert KEY[:10] not in message and KEY[10:] not in message
    assert stand_in.requests == []


def test_a_key_the_endpoint_echoes_back_is_redacted_everywhere(stand_in, monkeypatch, aws_env, capsys):
    refused = {"code": 401, "message": f"**apikey** {KEY} is not valid", "status": "error"}
    busy = {"code": 503, "message": f"key {KEY}: try later", "status": "error"}
    stand_in.then(Answer(200, orjson.dumps({"AAPL": refused, "MSFT": busy})), Answer(200, orjson.dumps(busy)))

    result, body = _handler(monkeypatch, stand_in.url, FETCH_MAX_ATTEMPTS="2", context=Context(200.0))

    document = json.loads(body)
    assert document["AAPL"]["message"] == "**apikey** [redacted] is not valid"
    assert "[redacted]" in document["MSFT"]["message"]
    output = capsys.readouterr()
    _assert_no_key(body, output.out, output.err, result)


# --- bounded: size, time, one symbol ------------------------------------------------------------


def test_a_body_over_the_cap_is_not_read_whatever_its_length_header_says(stand_in):
    big = b'{"values": [' + b'"x",' * 50_000 + b'"x"]}'
    stand_in.then(Answer(200, big), Answer(200, big, drip_s=0.0001))  # announced, then close-delimited
    transport = HttpTransport()
    for _ in range(2):
        with pytest.raises(ResponseTooLarge, match="over the 10,000-byte cap"):
            transport.get(f"{stand_in.url}/time_series?symbol=AAPL", {}, 5.0, max_bytes=10_000)

    stand_in.then(Answer(200, big))
    fetcher = Fetcher(KEY, FetchSettings(base_url=stand_in.url, max_response_bytes=10_000), sleep=lambda s: None)
    document = fetcher.fetch(["AAPL"])
    assert len(stand_in.requests) == 3  # not retried: the same answer would be as large
    assert "answer too large" in document["AAPL"]["message"]


def test_a_slow_drip_answer_ends_at_the_requests_deadline_not_per_read(stand_in):
    stand_in.then(Answer(200, b'{"values": []}' * 50, drip_s=0.05))  # 35 s in all, a byte every 50 ms
    started = time.monotonic()
    with pytest.raises(NetworkError, match="timed out"):
        HttpTransport().get(f"{stand_in.url}/time_series?symbol=AAPL", {}, 0.5)
    assert time.monotonic() - started < 1.5


def test_a_slow_drip_cannot_carry_the_handler_past_the_functions_deadline(stand_in, monkeypatch, aws_env):
    stand_in.then(*[Answer(200, b'{"values": []}' * 50, drip_s=0.05)] * 4)
    started = time.monotonic()

    result, body = _handler(monkeypatch, stand_in.url, context=Context(13.0), FETCH_TIMEOUT_S="1")

    assert time.monotonic() - started < 4.0  # one 1 s request; no time left for a wait and another
    assert result["fetched"] == 0
    messages = [entry["message"] for entry in json.loads(body).values()]
    assert all("timed out" in m or "time ran out" in m for m in messages), messages


def test_one_symbols_unstorable_value_fails_that_symbol_only(stand_in, monkeypatch, aws_env):
    good = stand_in.series("IBM")
    huge = stand_in.series("AAPL")
    huge["values"][0]["volume"] = 2**64  # beyond what JSON output holds
    deep = stand_in.series("MSFT")
    nested: list = []
    for _ in range(300):
        nested = [nested]
    deep["meta"]["extra"] = nested
    body = json.dumps({"AAPL": huge, "MSFT": deep, "IBM": good}).encode()
    stand_in.then(Answer(200, body))

    result, written = _handler(monkeypatch, stand_in.url, symbols="AAPL,MSFT,IBM")

    document = json.loads(written)
    assert result["fetched"] == 1 and result["errors"] == ["AAPL", "MSFT"]
    assert document["IBM"]["status"] == "ok" and len(document["IBM"]["values"]) == 30
    assert "cannot be stored" in document["AAPL"]["message"] and "cannot be stored" in document["MSFT"]["message"]
    assert len(stand_in.requests) == 1


def test_a_body_nested_past_the_parsers_limit_is_a_bad_body_not_a_crash(stand_in):
    stand_in.then(*[Answer(200, b"[" * 100_000 + b"]" * 100_000)] * 2)
    fetcher = Fetcher(KEY, FetchSettings(base_url=stand_in.url, max_attempts=2), sleep=lambda s: None)
    document = fetcher.fetch(["AAPL"])
    assert "not JSON" in document["AAPL"]["message"]


# --- failures named for what they are ----------------------------------------------------------


def test_network_failures_are_named_and_carry_no_invented_status():
    lines: list[str] = []
    settings = FetchSettings(base_url="http://127.0.0.1:1", max_attempts=2, timeout_s=2.0)
    document = Fetcher(KEY, settings, sleep=lambda s: None, progress=lines.append).fetch(["AAPL"])
    assert document["AAPL"]["code"] is None
    assert "connection refused (127.0.0.1:1)" in document["AAPL"]["message"]
    assert "HTTP" not in document["AAPL"]["message"] and "504" not in document["AAPL"]["message"]
    assert lines == [
        "request 1 (AAPL): Twelve Data could not be reached: connection refused (127.0.0.1:1)",
        "waiting 2 s before retrying, then AAPL again (attempt 2 of 2)",
        "request 2 (AAPL): Twelve Data could not be reached: connection refused (127.0.0.1:1) (gave up on AAPL)",
    ]
