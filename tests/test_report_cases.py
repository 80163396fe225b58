"""The report on the files a newcomer tries first: a flat market, a 3-bar file, a 429
error body, and non-default windows. Each goes through the real cores: ingest, analyze, render."""

from __future__ import annotations

import re

import pytest

from chalicelib.config import Settings
from chalicelib.notify.render import render_report
from tests.conftest import fixture_bytes
from tests.report_records import bars_file, closes_walk, record_from_file
from tests.test_render import plain, visible_text


def both(report) -> tuple[str, str]:
    return visible_text(report.html), plain(report.text)


# --- a flat file: nothing moved ------------------------------------------------------------------


@pytest.fixture(scope="module")
def flat():
    # Five symbols whose last close equals the one before: the market did not move.
    series = {s: [(100.0 + i, 1000) for i in range(8)] + [(107.0, 1000)] for s in ("AAA", "BBB", "CCC", "DDD", "EEE")}
    record = record_from_file(bars_file(series))
    return record, render_report(record)


def test_a_flat_file_is_neutral_not_bearish(flat):
    record, report = flat
    agg = record["aggregates"]
    assert agg["sentiment"] == "neutral" and agg["breadth_pct"] is None
    assert agg["top_gainers"] == [] and agg["top_losers"] == []
    html, text = both(report)
    for part in (html, text, report.subject):
        assert "Bearish" not in part and "bearish" not in part
    assert "Neutral" in report.subject and "nothing moved" in report.subject
    for part in (html, text):
        assert "Neutral" in part
        assert "no breadth (nothing moved)" in part and "breadth 0%" not in part
        assert "5 symbols: 0 up, 0 down, 5 unchanged" in part
    assert "Neutral picture: none of the 5 symbols moved on the last bar." in record["executive_summary"]


def test_the_neutral_pill_is_grey(flat):
    _, report = flat
    assert re.search(r'class="badge badge-flat"[^>]*>Neutral<', report.html)


# --- a 3-bar file ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def short():
    # Three bars, rising, the last with 2.4x the volume of the two before: a volume spike on a
    # two-bar average. ONE has a single bar.
    series = {"TRI": [(100.0, 1000), (101.0, 1000), (102.0, 2400)], "ONE": [(50.0, 10)]}
    record = record_from_file(bars_file(series))
    return record, render_report(record)


def test_a_3_bar_file_names_the_real_windows(short):
    record, report = short
    tri = record["symbols"]["TRI"]
    [spike] = [a for a in tri["anomalies"] if a["type"] == "volume_spike"]
    assert spike["window"] == 2 and spike["value"] == pytest.approx(2.4)
    insight = tri["insight"]
    assert insight["key_anomaly"] == "Volume spiked to 2.4x the average of the only 2 bars before it on 3 Jan 2024."
    assert "20-bar" not in " ".join(insight.values())
    assert "The trend over the last 3 bars is up" in insight["summary"] and "over 3 bars" in insight["summary"]
    # No "too few bars for a trend" beside a trend: momentum is what is missing.
    assert insight["opportunities"] == "Too few bars for 5-bar momentum; no signal beyond the 3-bar trend."
    assert "too few to rate" in insight["risks"] and "high" not in insight["risks"].lower()
    html, text = both(report)
    for part in (html, text):
        assert not re.search(r"\b1 bars", part)
        assert "1 bar (1 Jan 2024)" in part
        assert "20-bar average" not in part and "2.4x its" not in part


def test_a_3_bar_file_does_not_rate_turbulence(short):
    record, report = short
    assert record["aggregates"]["turbulence"] is None
    assert "Turbulence is not rated" in record["executive_summary"]
    assert "in the last 2 bars" in record["executive_summary"]  # 3 bars: two have a bar before them
    for part in both(report):
        assert re.search(r"Turbulence:? not rated \(too few bars; 1 anomaly in 1 symbol\)", part)
        assert not re.search(r"Turbulence:? high", part)


# --- a 429 error body ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def credits():
    raw = fixture_bytes("soulgarden_time_series_error_429.json")
    record = record_from_file(raw, key="inputs/soulgarden_time_series_error_429.json")
    return record, render_report(record)


def test_a_429_body_lists_the_failing_request_with_its_code_and_message(credits):
    record, report = credits
    assert record["symbol_errors"] == 1
    [entry] = record["symbol_error_details"]
    assert entry["symbol"] is None  # the body names none; "soulgarden" is the file's source, not a symbol
    assert entry["code"] == 429 and entry["message"].startswith("You have run out of API credits")
    html, text = both(report)
    for part in (html, text):
        assert "soulgarden" not in part.replace("soulgarden_time_series_error_429.json", "")
        assert "symbol unknown" in part and "429" in part
        assert "You have run out of API credits for the current minute." in part
        assert "No symbol has valid bars in this file: see the symbol errors above." in part
        # An error object is not a rejected bar: no "symbol_error 1 (n/a)" among the reject rules.
        assert "No bar was rejected." in part and "symbol_error" not in part
        assert "No market reading: no symbol has valid bars." in part and "0 symbols" not in part
    assert record["executive_summary"] == "No symbol in this file has valid bars: no market reading is possible."


def test_named_symbol_errors_are_listed_by_symbol():
    raw = fixture_bytes("soulgarden_quote_batch_two_symbols_not_found.json")
    record = record_from_file(raw)
    assert [(e["symbol"], e["code"]) for e in record["symbol_error_details"]] == [
        ("NOTFOUND1", 400),
        ("NOTFOUND2", 400),
    ]
    html, text = both(render_report(record))
    for part in (html, text):
        # Twelve Data's markdown (`**symbol**`) is shown as plain text.
        assert "NOTFOUND1" in part and "symbol not found: NOTFOUND2." in part and "**" not in part


# --- non-default windows --------------------------------------------------------------------------


def test_non_default_windows_are_named_in_the_text_and_both_templates():
    settings = Settings(momentum_period=10, metric_window=30, anomaly_lookback=3)
    closes = closes_walk(7, n=60, drift=0.003)
    volumes = [1000] * 59 + [5000]
    record = record_from_file(bars_file({"WIN": list(zip(closes, volumes, strict=True))}), settings=settings)
    assert record["metric_settings"]["momentum_period"] == 10
    insight = record["symbols"]["WIN"]["insight"]
    words = " ".join(insight.values())
    assert "10-bar momentum" in insight["opportunities"] and "5-bar" not in words
    assert "The trend over the last 30 bars" in insight["summary"]
    assert "its 30-bar average" in insight["key_anomaly"] and "20-bar" not in words
    assert "in the last 3 bars" in record["executive_summary"]
    html, text = both(render_report(record))
    for part in (html, text):
        assert "10-bar momentum" in part and "5-bar momentum" not in part
        assert "20-bar" not in part and "five" not in part


def test_no_anomalies_names_the_look_back():
    settings = Settings(anomaly_lookback=4)
    closes = closes_walk(8, n=40)
    record = record_from_file(bars_file({"CALM": [(c, 1000) for c in closes]}), settings=settings)
    assert record["aggregates"]["total_anomalies"] == 0
    assert record["symbols"]["CALM"]["insight"]["key_anomaly"] == "No anomalies in the last 4 bars."
    html, text = both(render_report(record))
    for part in (html, text):
        assert "No anomalies in the last 4 bars of any symbol." in part
        assert re.search(r"Turbulence:? low \(no anomalies\)", part)
        assert "0 anomalies" not in part and "symbol(s)" not in part


# --- wording ------------------------------------------------------------------------------------


def test_reject_shares_say_they_are_of_the_rejects_and_the_range_names_its_bars():
    closes = closes_walk(9, n=40)
    raw = bars_file({"RNG": [(c, 1000) for c in closes]}).replace(b'"volume":"1000"', b'"volume":"-5"', 2)
    record = record_from_file(raw)
    assert record["row_counts"]["rejected"] == 2
    html, text = both(render_report(record))
    assert "with their share of the rejected bars: negative_volume 2 (100.0%)" in html
    assert "Top reject rules (share of the rejected bars): - negative_volume: 2 (100.0%)" in text
    for part in (html, text):
        assert "20-bar range" in part


def test_the_footer_does_not_break_prose_mid_word():
    record = record_from_file(bars_file({"A": [(1.0, 1), (2.0, 1)]}))
    html = render_report(record).html
    footer = re.search(r'<td class="footer"[^>]*style="([^"]*)"', html).group(1)
    assert "break-all" not in footer
    # Identifiers (ids, URIs) may still wrap anywhere; prose wraps between words.
    assert re.search(r'<code style="[^"]*overflow-wrap:anywhere', html)
