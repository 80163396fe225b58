"""The session a report is for: the last bar's date (and time, for intraday data), for people."""

from __future__ import annotations

import re

import orjson

from chalicelib.notify.formatting import human_time
from chalicelib.notify.render import render_report
from chalicelib.notify.session import market_session
from tests.conftest import fixture_bytes
from tests.report_records import bars_file, record_from_file


def _m(last: str, bars: int = 5) -> dict:
    return {"bars": bars, "last_datetime": last}


def test_daily_bars_name_the_day():
    assert market_session({"A": _m("2013-03-01"), "B": _m("2013-03-01")})["label"] == "Fri 1 Mar 2013"


def test_intraday_bars_name_the_time_in_the_exchange_zone():
    session = market_session({"AAPL": _m("2026-12-04 14:08:00")}, {"AAPL": "America/New_York"})
    assert session["label"] == "Fri 4 Dec 2026 14:08 EST"
    summer = market_session({"AAPL@1h": _m("2026-07-01 10:00:00")}, {"AAPL": "America/New_York"})
    assert summer["label"] == "Wed 1 Jul 2026 10:00 EDT"
    # Without a zone the time stands alone; an unknown zone is shown by its own name.
    assert market_session({"X": _m("2026-12-04 14:08:00")})["label"] == "Fri 4 Dec 2026 14:08"
    assert market_session({"X": _m("2026-12-04 14:08")}, {"X": "Mars/Olympus"})["label"].endswith("Mars/Olympus")


def test_mixed_dates_say_so():
    session = market_session({"A": _m("2013-03-01"), "B": _m("2013-02-28"), "C": _m("2013-03-01")})
    assert session["mixed"] and session["label"] == "Mixed dates, 28 Feb–1 Mar 2013"
    assert session["note"] == "2 of 3 symbols end on Fri 1 Mar 2013; the others end earlier."
    across = market_session({"A": _m("2013-01-02"), "B": _m("2012-12-31")})
    assert across["label"] == "Mixed dates, 31 Dec 2012–2 Jan 2013"


def test_no_bars_no_date():
    assert market_session({"GONE": {"bars": 0, "last_datetime": None}})["known"] is False
    assert market_session({})["known"] is False


def test_times_for_people():
    assert human_time("2026-12-04T14:08:31Z") == "4 Dec 2026 14:08 UTC"
    assert human_time("2013-03-01") == "1 Mar 2013"
    assert human_time("2026-12-04 09:30:00") == "4 Dec 2026 09:30"
    assert human_time("not a date") == "not a date"


def test_the_zone_travels_from_the_file_to_the_report():
    raw = fixture_bytes("soulgarden_time_series_AAPL_1min_ok.json")
    record = record_from_file(raw, key="inputs/aapl.json")
    assert record["exchange_timezones"] == {"AAPL": "America/New_York"}
    report = render_report(record)
    last = orjson.loads(raw)["values"][0]["datetime"]  # newest first
    assert last[11:16] in report.subject and ("EST" in report.subject or "EDT" in report.subject)


def test_the_headline_and_subject_name_the_session_and_the_file_moves_to_the_details():
    record = record_from_file(bars_file({"AAA": [(10.0, 1), (11.0, 1)], "BBB": [(10.0, 1)]}), key="inputs/q.json")
    report = render_report(record)
    assert report.subject.startswith("Stock Insights · Mixed dates, 1–2 Jan 2024 · ")
    assert "q.json" not in report.subject
    text = report.text.splitlines()
    assert text[1] == "Mixed dates, 1–2 Jan 2024"
    assert "1 of 2 symbols end on Tue 2 Jan 2024; the others end earlier." in report.text
    assert "  File:           q.json" in text
    assert re.search(r"Report made: +\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2} UTC", report.text)
    for part in (report.text, report.html):
        assert not re.search(r"\d{4}-\d{2}-\d{2}T\d", part)  # no raw ISO stamp
