"""Names from data through the real handlers (embedded AWS): the raw message SES received has
exactly the headers the code sets, and file names reach the report and the record as plain text.

Each test uploads files with `sandbox.runner.run_files` (ingest, analyze and notify as Lambda
runs them, against moto) and reads what moto's SES was handed, byte for byte.
"""

from __future__ import annotations

import email
import json
from email import policy
from email.header import decode_header, make_header
from pathlib import Path

import orjson
import pytest

from chalicelib.analyze.record import analysis_id_for
from sandbox.embedded import BUCKET
from tests.conftest import SAMPLES

# The headers build_message sets on the message itself (the parts carry their own).
HEADERS = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "X-Correlation-Id",
    "X-Analysis-Id",
    "Auto-Submitted",
    "MIME-Version",
    "Content-Type",
]
REPLY_TO_NAME = "=?utf-8?q?Q3=0D=0AReply-To=3A_x=40evil=2Eio=0D=0AX-Tail=3A?=.json"
CC_SYMBOL = "=?l1?q?=0D=0ACc:x@e.i?="  # 23 characters, none the symbol rule refuses
BIDI = "\u202e\u200b\u2066\ufeff\u200f"


@pytest.fixture
def pipeline(tmp_path, aws_env, monkeypatch):
    """Run files (name -> bytes) through the embedded pipeline: (report, raw emails, records)."""
    from sandbox.runner import run_files

    def run(files: dict[str, bytes]) -> tuple[dict, list[bytes], list[dict]]:
        src = tmp_path / "src"
        src.mkdir(exist_ok=True)
        paths = []
        for name, body in files.items():
            (src / name).write_bytes(body)
            paths.append(str(src / name))
        report = run_files(paths, tmp_path / "out")
        assert report["failures"] == []
        raws = [Path(e["eml_path"]).read_bytes() for e in report["emails"]]
        records = [json.loads(Path(a["path"]).read_text()) for a in report["analyses"]]
        return report, raws, records

    return run


def _headers_as_sent(raw: bytes) -> list[tuple[str, str]]:
    """Every top-level header as a strict reader sees it: unfolded, each encoded word decoded."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    lines: list[str] = []
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t"):
            lines[-1] += line
        else:
            lines.append(line)
    out = []
    for line in lines:
        name, _, value = line.partition(":")
        out.append((name, str(make_header(decode_header(value.strip())))))
    return out


def _assert_only_our_headers(raw: bytes) -> email.message.EmailMessage:
    assert max(raw) < 128
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    assert [name for name, _ in _headers_as_sent(raw)] == HEADERS
    for name, value in _headers_as_sent(raw):
        assert "\r" not in value and "\n" not in value, (name, value)
    for reader in (policy.default, policy.compat32):
        message = email.message_from_bytes(raw, policy=reader)
        assert message.keys() == HEADERS
    message = email.message_from_bytes(raw, policy=policy.default)
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    return message


def _series(symbol: str, closes: list[float], volumes: list[int] | None = None, interval: str = "1day") -> dict:
    values = []
    for i, close in enumerate(closes):
        bar = {"datetime": f"2026-01-{i + 1:02d}", "open": close, "high": close, "low": close, "close": close}
        if volumes is not None:
            bar["volume"] = volumes[i]
        values.append(bar)
    return {"meta": {"symbol": symbol, "interval": interval}, "values": values[::-1], "status": "ok"}


def test_an_encoded_word_in_the_file_name_stays_text_in_every_header(pipeline):
    report, (raw,), (record,) = pipeline({REPLY_TO_NAME: (SAMPLES / "twelvedata_5_stocks_1day.json").read_bytes()})

    message = _assert_only_our_headers(raw)
    assert message["Reply-To"] is None and b"Reply-To" not in raw.split(b"\r\n\r\n", 1)[0]
    subject = dict(_headers_as_sent(raw))["Subject"]
    # The Subject names the market session; the file's name is in the body's details, as text.
    assert message["Subject"] == subject == report["emails"][0]["subject"]
    assert subject.startswith("Stock Insights · Fri 1 Mar 2013 · ") and "Q3" not in subject
    assert REPLY_TO_NAME in message.get_body(("plain",)).get_content()
    assert record["source"]["input_key"] == f"inputs/{REPLY_TO_NAME}"


def test_an_encoded_word_as_the_top_gainers_symbol_adds_no_cc(pipeline):
    document = {
        CC_SYMBOL: _series(CC_SYMBOL, [10.0, 10.5, 11.0, 12.0]),
        "MSFT": _series("MSFT", [10.0, 10.1, 10.0, 10.05]),
    }
    _, (raw,), (record,) = pipeline({"prices.json": orjson.dumps(document)})

    assert record["aggregates"]["top_gainers"][0]["symbol"] == CC_SYMBOL
    message = _assert_only_our_headers(raw)
    assert message["Cc"] is None
    assert CC_SYMBOL in message["Subject"]


@pytest.mark.parametrize(
    "name",
    [
        "=?utf-8?b?DQpCY2M6IHhAZXZpbC5pbw==?=.json",  # base64 encoded CRLF + Bcc
        "=?iso-8859-1?q?=0A=0A?=body.json",  # two line breaks: would end the headers
        "Aktien-Übersicht-" + "ü" * 60 + ".json",  # non-ASCII, long: encoded words on several lines
        "x" * 150 + "=?.json",  # a long ASCII name with an opener
    ],
)
def test_any_name_reads_back_exactly_as_it_was_uploaded(pipeline, name):
    report, (raw,), _ = pipeline({name: (SAMPLES / "twelvedata_5_stocks_1day.json").read_bytes()})

    message = _assert_only_our_headers(raw)
    assert name[:60] in message.get_body(("plain",)).get_content()
    assert message["Bcc"] is None
    # An encoded word's line stays within RFC 2047's 76 characters.
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 76 for line in head.split(b"\r\n") if b"=?utf-8?b?" in line)


def test_bidi_and_zero_width_characters_of_a_file_name_reach_no_reader(pipeline):
    name = f"Q3{BIDI}report{BIDI}.json"
    body = (SAMPLES / "twelvedata_5_stocks_1day.json").read_bytes()
    report, (raw,), (record,) = pipeline({name: body})

    (entry,) = report["files"]
    assert entry["key"] == f"inputs/{name}"  # S3 keeps the object as uploaded
    assert record["source"]["input_key"] == "inputs/Q3report.json"
    # the analysis is that of the object as uploaded (two names differing in such characters stay two)
    assert record["analysis_id"] == analysis_id_for(BUCKET, f"inputs/{name}", entry["etag"])
    assert record["analysis_id"] != analysis_id_for(BUCKET, "inputs/Q3report.json", entry["etag"])
    message = _assert_only_our_headers(raw)
    texts = [message["Subject"], message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()]
    for text in texts:
        assert not any(ch in text for ch in BIDI), repr(text[:200])
    assert "Q3report.json" in texts[1] and "Q3report.json" in texts[2]


def test_a_symbol_at_two_intervals_is_two_series_in_the_record_and_the_email(pipeline):
    daily = _series("AAPL", [100.0, 101.0, 102.0, 104.0])
    hourly = _series("AAPL", [50.0, 49.0, 48.0, 47.0], interval="1h")
    for i, bar in enumerate(reversed(hourly["values"])):
        bar["datetime"] = f"2026-01-05 1{i}:00:00"
    envelope = {
        "code": 200,
        "status": "success",
        "data": {
            "req_1": {"status": "success", "response": daily},
            "req_2": {"status": "success", "response": hourly},
        },
    }
    report, (raw,), (record,) = pipeline({"batch.json": orjson.dumps(envelope)})

    (entry,) = report["files"]
    assert entry["records"] == {"input": 8, "valid": 8, "rejected": 0}
    assert sorted(record["symbols"]) == ["AAPL@1day", "AAPL@1h"]
    day, hour = record["symbols"]["AAPL@1day"], record["symbols"]["AAPL@1h"]
    assert (day["interval"], day["bars"], day["last_close"]) == ("1day", 4, 104.0)
    assert (hour["interval"], hour["bars"], hour["last_close"]) == ("1h", 4, 47.0)
    assert day["percent_change"] > 0 > hour["percent_change"]
    assert record["aggregates"]["advancers"] == 1 and record["aggregates"]["decliners"] == 1
    text = email.message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()
    assert "AAPL@1day" in text and "AAPL@1h" in text


def test_a_spike_over_zero_volume_and_extreme_prices_through_the_handlers(pipeline):
    document = {
        "ZERO": _series("ZERO", [10.0, 10.1, 10.2, 10.3], [0, 0, 0, 500]),
        "HUGE": _series("HUGE", [1e-129, 1e125, 1e-129, 1e125, 1e-129]),
    }
    _, (raw,), (record,) = pipeline({"edge.json": orjson.dumps(document)})

    zero, huge = record["symbols"]["ZERO"], record["symbols"]["HUGE"]
    assert zero["avg_volume"] == 0 and zero["volume_ratio"] is None
    assert [(a["type"], a["datetime"], a["value"]) for a in zero["anomalies"]] == [("volume_spike", "2026-01-04", None)]
    assert "ZERO" in record["aggregates"]["anomaly_symbols"]
    assert huge["volatility_pct"] is not None and huge["volatility_pct"] > 1e250
    _assert_only_our_headers(raw)


def test_an_exchange_time_zone_from_the_file_stays_text_in_the_subject(pipeline):
    # The session's time zone comes from the file's meta: data, like a symbol.
    zone = "=?utf-8?q?=0D=0ABcc:_x@evil.io?="
    series = _series("AAPL", [10.0, 10.5, 11.0, 12.0])
    for i, bar in enumerate(reversed(series["values"])):
        bar["datetime"] = f"2026-01-05 1{i}:30:00"
    series["meta"] = {**series["meta"], "interval": "1h", "exchange_timezone": zone}
    _, (raw,), (record,) = pipeline({"intraday.json": orjson.dumps(series)})

    assert record["exchange_timezones"] == {"AAPL": zone}
    message = _assert_only_our_headers(raw)
    assert message["Bcc"] is None
    assert message["Subject"].startswith(f"Stock Insights · Mon 5 Jan 2026 13:30 {zone} · ")
