"""The report over a grid of inputs (0, 1, 2 and many symbols; up, down, flat; 1, 3, 30 and 300
bars; with and without volume; errors only), each through the real cores, checked for the
defects a reader stumbles on: wrong plurals, a window that is not named, a leaked markdown mark,
an `n/a` where nothing can be said, a "most volatile" symbol that cannot be rated."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import orjson
import pytest

from chalicelib.notify.formatting import wrap_text
from chalicelib.notify.render import build_view, render_report
from tests.conftest import SAMPLES, fixture_bytes
from tests.report_records import record_from_file
from tests.test_render import plain, visible_text

DEFECTS = {
    "a singular count with a plural noun": re.compile(
        r"(?<![\d.,])1 (bars|symbols|anomalies|moves|returns|closes|symbol errors|rules)\b"
    ),
    "a verb after 'did not' in the past": re.compile(r"did not \w+ed\b"),
    "a hedged plural": re.compile(r"\w\(s\)"),
    "markdown marks": re.compile(r"\*\*|__"),
    "a volume average that does not exist": re.compile(r"volume n/a|n/a avg|n/a×"),
    "a chart that counts bars, not moves": re.compile(r"\bin \d+ bars\b"),
    "a trend without its window": re.compile(r"trend (up|down|flat)(?! over \d+ bars?\b)"),
    "a trend of 'n/a'": re.compile(r"trend n/a"),
    "a raw ISO timestamp": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}"),
    "a raw ISO date in prose": re.compile(r"(?<![\w/.-])\d{4}-\d{2}-\d{2}(?![\w/-]|\.\w)"),
    "a reject-rule list cut short": re.compile(r"more rules?\b"),
    "a zero-symbol count": re.compile(r"\b0 symbols\b"),
}


def series_file(symbols: int, direction: str, bars: int, volume: bool) -> bytes:
    step = {"up": 0.01, "down": -0.01, "flat": 0.0}[direction]
    day0 = dt.date(2024, 1, 1)
    document = {}
    for s in range(symbols):
        values = []
        for i in range(bars):
            # a gentle wave on a steady drift, so volatility is not zero unless flat
            close = 100.0 * (1 + step) ** i * (1 + (0.002 * ((i + s) % 3 - 1) if direction != "flat" else 0))
            bar = {
                "datetime": (day0 + dt.timedelta(days=i)).isoformat(),
                "open": f"{close:.4f}",
                "high": f"{close * 1.01:.4f}",
                "low": f"{close * 0.99:.4f}",
                "close": f"{close:.4f}",
            }
            if volume:
                bar["volume"] = str(1000 + 10 * ((i * 7 + s) % 5))
            values.append(bar)
        name = f"S{s:03d}"
        document[name] = {"meta": {"symbol": name, "interval": "1day"}, "values": values[::-1], "status": "ok"}
    return orjson.dumps(document)


GRID = list(itertools.product((1, 2, 12), ("up", "down", "flat"), (1, 3, 30, 300), (True, False)))


def defects(report) -> list[tuple[str, str]]:
    found = []
    for part in (visible_text(report.html), plain(report.text), report.subject):
        for name, pattern in DEFECTS.items():
            for match in pattern.finditer(part):
                found.append((name, part[max(0, match.start() - 40) : match.end() + 40]))
    return found


@pytest.mark.parametrize(("symbols", "direction", "bars", "volume"), GRID)
def test_the_grid_renders_without_defects(symbols, direction, bars, volume):
    record = record_from_file(series_file(symbols, direction, bars, volume))
    report = render_report(record)
    assert defects(report) == []
    view, _ = build_view(record)
    window = record["metric_settings"]["window"]
    # Most volatile: only symbols whose volatility can be rated (a full window, and above zero).
    for entry in view["market"]["volatile"]:
        assert record["symbols"][entry["symbol"]]["bars"] - 1 >= window and entry["value"] != "0.00%"
    if direction == "flat" or bars <= window:
        assert view["market"]["volatile"] == []
        assert "Most volatile:  none" in report.text
    for row in view["symbols"]:
        # The trend and the chart beside it describe the same bars: they never point apart here.
        assert {row["trend_tone"], row["chart_tone"]} != {"up", "down"}
        if not volume or bars == 1:
            assert not any("volume" in fact for fact in row["facts"])
    text = report.text
    if direction == "flat" and bars > 1:
        assert "Neutral" in report.subject and "nothing moved" in report.subject
        assert "FLAT" not in text and "0.00%" not in text.split("Most volatile:")[1].splitlines()[0]


def test_an_errors_only_file_says_what_failed():
    report = render_report(
        record_from_file(fixture_bytes("soulgarden_time_series_error_429.json"), key="inputs/credits.json")
    )
    assert defects(report) == []
    assert "symbol unknown" in report.text and "429" in report.text


def test_every_reject_rule_is_listed():
    record = record_from_file((SAMPLES / "AAPL_1day_messy.csv").read_bytes(), key="inputs/AAPL_1day_messy.csv")
    rules = [rule for rule in record["reject_rules"] if rule != "symbol_error"]
    assert len(rules) == 8
    report = render_report(record)
    assert defects(report) == []
    for part in (visible_text(report.html), report.text):
        assert all(rule in part for rule in rules), part


def test_wrapped_lines_stay_under_their_label():
    text = wrap_text("Opportunities: " + "word " * 40, "  ", 15)
    first, *rest = text.splitlines()
    assert first.startswith("  Opportunities: word") and rest
    assert all(line.startswith(" " * 17 + "word") for line in rest)
    assert all(len(line) <= 76 for line in text.splitlines())
    # A long address is never split, and a label keeps its padding.
    assert "s3://" + "x" * 90 in wrap_text("Input: s3://" + "x" * 90, "  ", 7)
    assert wrap_text("Sentiment:      Bullish", "  ", 16) == "  Sentiment:      Bullish"


def test_the_text_part_wraps_under_each_label():
    record = record_from_file(series_file(12, "up", 30, True))
    for symbol in record["symbols"].values():
        symbol["insight"]["opportunities"] = "A long opportunity " * 10
    lines = render_report(record).text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  Opportunities: "):
            assert lines[i + 1].startswith(" " * 17 + "A") or lines[i + 1].startswith(" " * 17 + "long")


def test_the_checks_do_see_each_defect():
    from chalicelib.notify.render import Report

    old = (
        "SYM (1 bars: 1 valid) the one symbol did not moved; **symbol** not found; volume n/a avg; "
        "+1.00% in 30 bars; ↗ trend up beside; trend n/a; 2026-12-04T14:08:00Z; and 3 more rules; 0 symbols; "
        "on 2024-01-03. 2 symbol(s)"
    )
    report = Report(
        subject="s", html=f"<!DOCTYPE html><html><head><title>t</title></head><body>{old}</body></html>", text=old
    )
    seen = {name for name, _ in defects(report)}
    assert seen == set(DEFECTS)
