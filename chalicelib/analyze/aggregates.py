"""Market-wide aggregates over the symbols of one analysis (docs/analysis.md, "Market aggregates")."""

from __future__ import annotations

from typing import Any


def market_aggregates(symbols: dict[str, dict], turbulence_min_bars: int = 0) -> dict[str, Any]:
    """Breadth, sentiment, movers, volatility leaders and turbulence across `symbols`.

    Turbulence is rated over the symbols with at least `turbulence_min_bars` bars (the analyzer
    passes its window + 1: a full volume average before the last bar); `null` when none has them,
    so a 3-bar file is not called "high" turbulence on one- and two-bar averages.
    """
    changed = {s: m["percent_change"] for s, m in symbols.items() if m.get("percent_change") is not None}
    count = len(changed)
    advancers = sum(1 for v in changed.values() if v > 0)
    decliners = sum(1 for v in changed.values() if v < 0)
    moved = advancers + decliners
    # Breadth is over the symbols that moved: a flat market is `neutral`, not 0 % and "bearish".
    breadth = 100.0 * advancers / moved if moved else None
    if not count:
        sentiment = None  # no symbol has a change at all: no reading
    elif breadth is None:
        sentiment = "neutral"
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
    rated = [m for m in symbols.values() if (m.get("bars") or 0) >= turbulence_min_bars]
    share = sum(1 for m in rated if m.get("anomalies")) / len(rated) if rated else None
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
        "turbulence": None if share is None else "high" if share > 0.5 else "moderate" if share > 0.2 else "low",
    }
