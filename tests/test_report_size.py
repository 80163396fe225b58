"""The largest email fits the mailbox: Gmail clips a message whose HTML is over about 102 KB
(the last symbols and the footer vanish behind "[Message clipped]"), so the HTML part stays
under 100 KB however many symbols the file has."""

from __future__ import annotations

import datetime as dt
import random
import re

import orjson
import pytest

from chalicelib.notify.mime import build_message
from chalicelib.notify.render import HTML_BUDGET, render_report
from tests.report_records import record_from_file
from tests.test_render import visible_text

LIMIT = 100_000


def many_symbols(n: int, bars: int = 30, name_length: int = 9) -> bytes:
    rng = random.Random(n)
    document = {}
    for s in range(n):
        close, values = 100.0, []
        for i in range(bars):
            close *= 1 + rng.uniform(-0.04, 0.04)
            values.append(
                {
                    "datetime": (dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat(),
                    "open": f"{close:.4f}",
                    "high": f"{close * 1.01:.4f}",
                    "low": f"{close * 0.99:.4f}",
                    "close": f"{close:.4f}",
                    "volume": str(rng.randint(1000, 9000) if i < bars - 1 else rng.randint(1000, 40000)),
                }
            )
        name = f"S{s:03d}".ljust(name_length, "X")
        document[name] = {"meta": {"symbol": name, "interval": "1day"}, "values": values[::-1], "status": "ok"}
    return orjson.dumps(document)


@pytest.fixture(scope="module")
def big():
    return record_from_file(many_symbols(200))


def html_part_size(report) -> int:
    return len(report.html.encode("utf-8"))


def test_a_200_symbol_email_stays_under_100_kb(big):
    report = render_report(big)
    assert html_part_size(report) < LIMIT
    text = visible_text(report.html)
    # The footer is there (nothing to clip), and the rows not shown are counted, not dropped silently.
    assert "not investment advice" in text
    shown = re.search(r"Showing (\d+) of 200 symbols", text)
    assert shown and 20 <= int(shown.group(1)) <= 40  # the rows that fit: still a useful report
    assert f"Showing {shown.group(1)} of 200 symbols" in " ".join(report.text.split())
    build_message(report, "a@example.com", ["b@example.com"], analysis_id="x", correlation_id="y")


def test_the_largest_email_the_report_sends_stays_under_100_kb(big):
    # Worst case: the longest symbol names shown, a model that writes long insights, twenty long
    # symbol errors and twenty anomalies: the report shows fewer rows instead of growing.
    record = record_from_file(many_symbols(200, name_length=24))
    for symbol in record["symbols"].values():
        symbol["insight"] = {
            k: "Long model text with many words. " * 12 for k in ("summary", "opportunities", "risks", "key_anomaly")
        }
    record["symbol_error_details"] = [
        {"symbol": f"ERR{i:02d}", "code": 400, "message": "**symbol** not found, a long message. " * 8}
        for i in range(25)
    ]
    record["symbol_errors"] = 25
    report = render_report(record)
    assert html_part_size(report) <= HTML_BUDGET < LIMIT
    assert "not investment advice" in visible_text(report.html)


def test_a_small_email_is_not_shortened():
    record = record_from_file(many_symbols(12))
    report = render_report(record)
    assert all(f"S{s:03d}" in report.text for s in range(12)) and "Showing" not in report.text
