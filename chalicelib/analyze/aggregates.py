"""Market-wide aggregates over the symbols of one analysis (CONTRACT section 3)."""

from __future__ import annotations

from typing import Any


def market_aggregates(symbols: dict[str, dict]) -> dict[str, Any]:
    """Breadth, sentiment, movers, volatility leaders and turbulence across `symbols`."""
    changed = {s: m["percent_change"] for s, m in symbols.items() if m.get("percent_change") is not None}
    count = len(changed)
    advancers = sum(1 for v in changed.values() if v > 0)
    decliners = sum(1 for v in changed.values() if v < 0)
    breadth = 100.0 * advancers / count if count else None
    if breadth is None:
        sentiment = None
    elif breadth >= 60:
        sentiment = "bullish"
    elif breadth <= 40:
        sentiment = "bearish"
    else:
        sentiment = "mixed"
    by_change = sorted(changed.items(), key=lambda item: (-item[1], item[0]))
    by_drop = sorted(changed.items(), key=lambda item: (item[1], item[0]))
    volatile = sorted(
        ((s, m["volatility_pct"]) for s, m in symbols.items() if m.get("volatility_pct") is not None),
        key=lambda item: (-item[1], item[0]),
    )
    with_anomaly = sorted(s for s, m in symbols.items() if m.get("anomalies"))
    share = len(with_anomaly) / len(symbols) if symbols else 0.0
    return {
        "symbols": count,
        "advancers": advancers,
        "decliners": decliners,
        "unchanged": count - advancers - decliners,
        "breadth_pct": breadth,
        "sentiment": sentiment,
        "top_gainers": [{"symbol": s, "percent_change": v} for s, v in by_change[:3] if v > 0],
        "top_losers": [{"symbol": s, "percent_change": v} for s, v in by_drop[:3] if v < 0],
        "most_volatile": [{"symbol": s, "volatility_pct": v} for s, v in volatile[:3]],
        "anomaly_symbols": with_anomaly,
        "total_anomalies": sum(len(m.get("anomalies") or []) for m in symbols.values()),
        "turbulence": "high" if share > 0.5 else "moderate" if share > 0.2 else "low",
    }
