"""Market aggregates and offline insights: thresholds, ties, and readable text from the numbers."""

from __future__ import annotations

import pytest

from chalicelib.analyze.aggregates import market_aggregates
from chalicelib.analyze.insights import INSIGHT_FIELDS, OfflineInsights
from chalicelib.analyze.service import empty_metrics


def _m(pc, vol=1.0, anomalies=()):
    m = empty_metrics()
    m.update(bars=30, last_close=10.0, percent_change=pc, volatility_pct=vol, anomalies=list(anomalies), trend="flat")
    return m


@pytest.mark.parametrize(
    ("changes", "sentiment", "breadth"),
    [
        ([1, 1, 1, -1, -1], "bullish", 60.0),
        ([1, 1, -1, -1, -1], "bearish", 40.0),
        ([1, -1, 0], "mixed", 50.0),
        # Breadth is over the symbols that moved (docs/analysis.md): the unchanged do not dilute it.
        ([1, 1, -1, 0, 0, 0], "bullish", 200 / 3),
        ([1, -1, -1, 0, 0, 0, 0], "bearish", 100 / 3),
    ],
)
def test_breadth_and_sentiment_thresholds(changes, sentiment, breadth):
    agg = market_aggregates({f"S{i}": _m(c) for i, c in enumerate(changes)})
    assert agg["sentiment"] == sentiment and agg["breadth_pct"] == pytest.approx(breadth)
    assert agg["advancers"] + agg["decliners"] + agg["unchanged"] == agg["symbols"] == len(changes)


def test_movers_are_top_three_with_ties_by_symbol():
    symbols = {"B": _m(5.0), "A": _m(5.0), "C": _m(3.0), "D": _m(1.0), "E": _m(-2.0), "F": _m(-2.0)}
    agg = market_aggregates(symbols)
    assert [g["symbol"] for g in agg["top_gainers"]] == ["A", "B", "C"]
    assert [g["symbol"] for g in agg["top_losers"]] == ["E", "F"]


def test_most_volatile_and_symbols_without_change_are_left_out_of_breadth():
    symbols = {"A": _m(1.0, vol=3.0), "B": _m(1.0, vol=5.0), "C": _m(None, vol=None), "D": _m(-1.0, vol=4.0)}
    agg = market_aggregates(symbols)
    assert agg["symbols"] == 3
    assert [v["symbol"] for v in agg["most_volatile"]] == ["B", "D", "A"]


@pytest.mark.parametrize(
    ("with_anomaly", "turbulence"), [(0, "low"), (2, "low"), (3, "moderate"), (5, "moderate"), (6, "high")]
)
def test_turbulence_thresholds(with_anomaly, turbulence):
    spike = {"type": "volume_spike", "datetime": "2024-01-02", "value": 2.0}
    symbols = {f"S{i}": _m(1.0, anomalies=[spike] if i < with_anomaly else []) for i in range(10)}
    agg = market_aggregates(symbols)
    assert agg["turbulence"] == turbulence
    assert agg["total_anomalies"] == with_anomaly and len(agg["anomaly_symbols"]) == with_anomaly


def test_nothing_moved_is_neutral_with_no_breadth_and_no_movers():
    agg = market_aggregates({f"S{i}": _m(0.0) for i in range(5)})
    assert agg["sentiment"] == "neutral" and agg["breadth_pct"] is None
    assert (agg["symbols"], agg["advancers"], agg["decliners"], agg["unchanged"]) == (5, 0, 0, 5)
    assert agg["top_gainers"] == [] and agg["top_losers"] == []


def test_gainers_hold_only_risers_and_losers_only_fallers():
    agg = market_aggregates({"UP": _m(2.0), "Z1": _m(0.0), "Z2": _m(0.0), "DN": _m(-1.0)})
    assert [g["symbol"] for g in agg["top_gainers"]] == ["UP"]
    assert [g["symbol"] for g in agg["top_losers"]] == ["DN"]


def test_turbulence_is_not_rated_on_series_too_short_for_a_full_volume_average():
    spike = {"type": "volume_spike", "datetime": "2024-01-02", "value": 2.4, "window": 1}
    short = {f"S{i}": {**_m(1.0, anomalies=[spike]), "bars": 3} for i in range(3)}
    assert market_aggregates(short, turbulence_min_bars=21)["turbulence"] is None
    assert market_aggregates(short)["turbulence"] == "high"  # the documented rating, unqualified
    # Mixed lengths: only the long series are rated (1 of 2 with an anomaly: > 20 %, moderate).
    mixed = {**short, "L1": {**_m(1.0, anomalies=[spike]), "bars": 30}, "L2": _m(1.0)}
    assert market_aggregates(mixed, turbulence_min_bars=21)["turbulence"] == "moderate"


def test_no_symbols():
    agg = market_aggregates({})
    assert agg["symbols"] == 0 and agg["sentiment"] is None and agg["breadth_pct"] is None


def test_offline_insights_are_sentences_about_the_numbers():
    up = _m(2.5, vol=4.2, anomalies=[{"type": "price_move", "datetime": "2024-03-01", "value": 6.1}])
    up.update(trend="up", momentum_pct=3.0, slope_pct_per_bar=0.4, period_change_pct=12.0, volume_ratio=2.0)
    symbols = {"UP": up, "NONE": empty_metrics()}
    insights = OfflineInsights().generate(symbols, market_aggregates(symbols))

    assert insights.source == "offline" and insights.input_tokens == 0 and insights.cost_usd == 0
    assert set(insights.per_symbol) == {"UP", "NONE"}
    text = insights.per_symbol["UP"]
    assert set(text) == set(INSIGHT_FIELDS) and all(v.strip() for v in text.values())
    assert "+2.50%" in text["summary"] and "uptrend" in text["opportunities"].lower()
    assert "4.20%" in text["risks"] and "2.0x" in text["risks"]
    assert "+6.10%" in text["key_anomaly"] and "1 Mar 2024" in text["key_anomaly"]
    assert "no valid bars" in insights.per_symbol["NONE"]["summary"]
    assert "1 of 1 symbol advanced" in insights.executive_summary and "UP" in insights.executive_summary
