"""When the data failed, the readers hear of it: a quarantined file, a file of only error objects
(a 429 "out of API credits") or of bars that were all rejected produce a short failure notice,
sent to the addresses NOTICE_TO chooses, once."""

from __future__ import annotations

import email
import re
from email import policy

import pytest

from chalicelib.analysis_store import NOTICE_KIND, NOTICE_PREFIX, save_notice
from chalicelib.notify.notice import needs_notice, notice_from_quarantine, notice_from_record, render_notice
from tests.conftest import fixture_bytes
from tests.report_records import bars_file, market_record, record_from_file
from tests.test_notify_handler import RECIPIENTS, TABLE, _deliver, env  # noqa: F401 (the fixture)
from tests.test_render import parse_strict, plain, visible_text

OPS = ["ops@example.com"]


def _quarantined(name: str = "bad.json", reason: str = "bad_json") -> dict:
    return {
        "analysis_id": NOTICE_PREFIX + "0" * 32,
        "kind": NOTICE_KIND,
        "created_at": "2026-12-04T14:08:31Z",
        "correlation_id": "corr-q",
        "bucket": "test-bucket",
        "input_key": f"inputs/{name}",
        "etag": "e" * 32,
        "reason": reason,
        "message": "not valid JSON: unexpected character: line 1 column 2 (char 1)",
        "quarantine_key": f"quarantine/{name}/{'e' * 32}/{name}",
    }


def _credits() -> dict:
    raw = fixture_bytes("soulgarden_time_series_error_429.json")
    return record_from_file(raw, key="inputs/scheduled/1417Z-1day.json")


def test_a_quarantined_file_gets_a_notice_that_says_what_failed_and_what_to_do():
    report = render_notice(notice_from_quarantine(_quarantined()))
    assert report.subject == "Stock Insights · Data failed: the file is not valid JSON · bad.json"
    parse_strict(render_notice(notice_from_quarantine(_quarantined()), inline_css=False).html)
    for part in (visible_text(report.html), plain(report.text)):
        assert "bad.json: the file is not valid JSON. There is no market report for it." in part
        assert "not valid JSON: unexpected character" in part  # the reason in full
        assert "quarantined" in part and "upload it again" in part  # the symbols, and what to do
        assert "s3://test-bucket/quarantine/bad.json/" in part
        assert "4 Dec 2026 14:08 UTC" in part


def test_a_file_too_large_says_how_to_fix_it():
    report = render_notice(notice_from_quarantine(_quarantined("big.json", "too_large")))
    assert "Data failed: the file is too large" in report.subject
    assert "MAX_INPUT_MB" in report.text


def test_a_429_file_gets_a_notice_not_a_report_with_no_market_reading():
    record = _credits()
    assert needs_notice(record)
    report = render_notice(notice_from_record(record))
    assert report.subject == "Stock Insights · Data failed: Twelve Data's API credits ran out (429) · 1417Z-1day.json"
    assert "no market reading" not in report.subject
    for part in (visible_text(report.html), plain(report.text)):
        assert "You have run out of API credits for the current minute." in part
        assert "symbol unknown" in part and "429" in part
        assert "FETCH_CREDITS_PER_MINUTE" in part and "next scheduled fetch" in part


def test_named_symbol_errors_and_all_rejected_bars_get_notices_too():
    named = record_from_file(fixture_bytes("soulgarden_quote_batch_two_symbols_not_found.json"))
    report = render_notice(notice_from_record(named))
    assert "Data failed: every symbol failed (2 symbol errors)" in report.subject
    assert "NOTFOUND1" in report.text and "**" not in report.text
    rejected = record_from_file(bars_file({"BAD": [(1.0, 10), (2.0, 20)]}).replace(b'"volume":"', b'"volume":"-'))
    assert needs_notice(rejected)
    report = render_notice(notice_from_record(rejected))
    assert "Data failed: every bar was rejected (2 bars)" in report.subject
    assert "2 bars rejected, by rule: negative_volume 2." in plain(report.text)


def test_a_report_with_bars_needs_no_notice():
    assert not needs_notice(market_record())


# --- through the notify handler (moto) --------------------------------------------------------------


def _notice_inserts(env) -> list[dict]:  # noqa: F811
    return [r for r in env.stream() if r["dynamodb"]["NewImage"].get("kind", {}).get("S") == NOTICE_KIND]


def _sent(env):  # noqa: F811
    return [(m.destinations, email.message_from_string(m.raw_data, policy=policy.default)) for m in env.sent()]


@pytest.mark.parametrize(
    ("notice_to", "expected"),
    [("recipients", RECIPIENTS), ("operations", OPS), ("both", RECIPIENTS + OPS)],
)
def test_settings_decide_who_gets_a_notice_and_it_goes_once(env, monkeypatch, notice_to, expected):  # noqa: F811
    from chalicelib.config import get_settings

    monkeypatch.setenv("NOTICE_TO", notice_to)
    monkeypatch.setenv("OPERATIONS_EMAILS", ",".join(OPS))
    get_settings.cache_clear()
    assert save_notice(env.ddb, TABLE, _quarantined())
    assert not save_notice(env.ddb, TABLE, _quarantined())  # one notice per file
    (record,) = _notice_inserts(env)

    assert _deliver(record) == {"batchItemFailures": []}
    assert _deliver(record) == {"batchItemFailures": []}  # a redelivery sends nothing more

    [(destinations, message)] = _sent(env)
    assert set(destinations) == set(expected)
    assert message["Subject"] == "Stock Insights · Data failed: the file is not valid JSON · bad.json"
    assert message["X-Analysis-Id"] == NOTICE_PREFIX + "0" * 32


def test_an_analysis_without_valid_bars_is_emailed_as_a_notice(env, monkeypatch):  # noqa: F811
    from chalicelib.config import get_settings

    monkeypatch.setenv("NOTICE_TO", "operations")
    monkeypatch.setenv("OPERATIONS_EMAILS", ",".join(OPS))
    get_settings.cache_clear()
    env.save(_credits())
    records = [r for r in env.stream() if r["eventName"] == "INSERT"]
    assert _deliver(*records) == {"batchItemFailures": []}
    [(destinations, message)] = _sent(env)
    assert set(destinations) == set(OPS)
    assert message["Subject"].startswith("Stock Insights · Data failed: Twelve Data's API credits ran out (429)")


def test_operations_without_an_address_falls_back_to_the_recipients(env, monkeypatch):  # noqa: F811
    from chalicelib.config import get_settings

    monkeypatch.setenv("NOTICE_TO", "operations")
    get_settings.cache_clear()
    save_notice(env.ddb, TABLE, _quarantined())
    _deliver(*_notice_inserts(env))
    [(destinations, _)] = _sent(env)
    assert set(destinations) == set(RECIPIENTS)


def test_the_notice_is_short():
    report = render_notice(notice_from_record(_credits()))
    assert len(report.html.encode()) < 15_000 and len(re.findall(r"\n", report.text)) < 40


def test_every_quarantine_reason_is_told_in_words():
    from chalicelib.notify.notice import _QUARANTINE_REASONS
    from tests.conftest import REPO

    source = "".join(path.read_text() for path in (REPO / "chalicelib" / "ingest").glob("*.py"))
    reasons = set(re.findall(r'InputRejected\(\s*"(\w+)"', source))
    assert reasons and reasons <= set(_QUARANTINE_REASONS), reasons - set(_QUARANTINE_REASONS)
