"""The archive's pure parts: the joined price chart, the index's symbol rows, readings from a
record, the slug of a symbol ending in `.json`, and reading a path segment as a symbol."""

from __future__ import annotations

import pytest

from chalicelib.api.chart_svg import joined_points, price_svg
from chalicelib.api.pages import index_symbols
from chalicelib.api.query import ApiError, parse_symbol
from chalicelib.links import symbol_from_slug, symbol_slug
from chalicelib.readings import archive_items, movers, series_symbol


def test_a_bar_two_readings_saw_is_one_point_with_the_newer_close():
    newer = {"interval": "1day", "points": [["2024-01-02", 11.0], ["2024-01-03", 12.0]]}
    older = {"interval": "1day", "points": [["2024-01-01", 10.0], ["2024-01-02", 10.5]]}
    other = {"interval": "5min", "points": [["2024-01-02 09:30:00", 99.0]]}
    assert joined_points([newer, older, other], "1day") == [
        ("2024-01-01", 10.0),
        ("2024-01-02", 11.0),
        ("2024-01-03", 12.0),
    ]


def test_the_chart_escapes_its_labels_and_needs_two_points():
    svg = price_svg([("<b>", 1.0), ("2024-01-02 09:30:00", 2.0)], 'X"<script>')
    assert "<script>" not in svg and "&lt;b&gt;" in svg and "&quot;&lt;script&gt;" in svg
    assert "2024-01-02 09:30" in svg and "#1a7f37" in svg  # up: the report's green
    assert price_svg([("2024-01-01", 1.0)], "x") is None


def test_the_index_rows_are_newest_report_first_one_per_symbol_and_interval():
    newest = {"analysis_id": "b", "created_at": "2", "movers": [{"symbol": "X", "interval": "1day", "closes": [1, 2]}]}
    older = {
        "analysis_id": "a",
        "created_at": "1",
        "movers": [
            {"symbol": "X", "interval": "1day", "closes": [3, 4]},
            {"symbol": "X", "interval": "5min", "closes": [5, 6]},
            {"symbol": "XAU/USD", "interval": "1h", "closes": []},
        ],
    }
    rows = index_symbols([newest, older])
    assert [(r["symbol"], r["interval"], r["report"]) for r in rows] == [
        ("X", "1day", "b"),
        ("X", "5min", "a"),
        ("XAU/USD", "1h", "a"),
    ]
    assert rows[2]["href"] == "symbols/XAU~2FUSD" and rows[2]["chart"] is None


def test_a_record_gives_a_reading_per_series_and_an_entry_per_symbol():
    metrics = {"interval": "1day", "recent_closes": [1.0, 2.0], "percent_change": 1.0, "last_close": 2.0}
    record = {
        "analysis_id": "f" * 32,
        "created_at": "2026-12-05T00:00:00Z",
        "source": {"input_key": "inputs/a.json"},
        "symbols": {"AAPL@1day": metrics, "AAPL@5min": {**metrics, "interval": "5min", "percent_change": -3.0}},
    }
    items = list(archive_items(record, {"AAPL@1day": ["2024-01-01", "2024-01-02"]}))
    readings = [i for i in items if i["kind"] == "reading#aapl"]
    entries = [i for i in items if i["kind"] == "symbol"]
    assert [r["series"] for r in readings] == ["AAPL@1day", "AAPL@5min"] and {r["symbol"] for r in readings} == {"AAPL"}
    assert readings[0]["points"] == [["2024-01-01", 1.0], ["2024-01-02", 2.0]] and readings[1]["points"] == []
    assert (
        len(entries) == 1 and entries[0]["analysis_id"] == "symbol#AAPL"
    )  # one per symbol: a batch has no duplicate keys
    assert [m["interval"] for m in movers(record)] == ["5min", "1day"]  # the bigger move first
    assert series_symbol("A@B@1h", {"interval": "1h"}) == "A@B" and series_symbol("A@B", {"interval": "1h"}) == "A@B"


@pytest.mark.parametrize("symbol", ["X.json", "a.json.json", ".json", "XAU/USD", "株式", "~"])
def test_a_slug_round_trips_and_never_ends_in_dot_json(symbol):
    slug = symbol_slug(symbol)
    assert symbol_from_slug(slug) == symbol and not slug.endswith(".json")
    assert parse_symbol(slug) == (symbol, False) and parse_symbol(slug + ".json") == (symbol, True)


@pytest.mark.parametrize("segment", ["", "S" * 65, "A~0AB", "%00", "A%0AB"])
def test_a_segment_that_is_no_symbol_ingest_accepts_is_404(segment):
    with pytest.raises(ApiError) as refused:
        parse_symbol(segment)
    assert refused.value.status == 404
