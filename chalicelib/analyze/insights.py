"""Insights: the executive summary and four texts per symbol, behind one provider interface.

`OfflineInsights` writes them from the numbers alone (no model, no cost). The Bedrock provider
implements the same `InsightProvider` protocol and falls back to this one for what it misses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

INSIGHT_FIELDS = ("summary", "opportunities", "risks", "key_anomaly")


@dataclass
class Insights:
    executive_summary: str
    per_symbol: dict[str, dict[str, str]]
    source: str
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    notes: list[str] = field(default_factory=list)  # why a fallback happened, if it did

    def meta(self) -> dict[str, Any]:
        """The `insights` block of the analysis record."""
        meta: dict[str, Any] = {
            "source": self.source,
            "model": self.model,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
        }
        if self.notes:
            meta["notes"] = self.notes
        return meta


class InsightProvider(Protocol):
    def generate(self, symbols: dict[str, dict], aggregates: dict[str, Any]) -> Insights: ...


class OfflineInsights:
    """Readable sentences computed from the metrics; deterministic and free."""

    def generate(self, symbols: dict[str, dict], aggregates: dict[str, Any]) -> Insights:
        return Insights(
            executive_summary=executive_summary(aggregates, len(symbols)),
            per_symbol={symbol: symbol_insight(symbol, m) for symbol, m in symbols.items()},
            source="offline",
        )


def notability(anomaly: dict) -> tuple[bool, float]:
    """Sort key, most notable first: a price move says more than a volume spike; within a type,
    the larger value wins."""
    return anomaly["type"] != "price_move", -abs(anomaly["value"])


def _pct(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:+.{digits}f}%"


def _price(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}"


def executive_summary(agg: dict[str, Any], symbol_count: int) -> str:
    """Two or three sentences on the market as a whole."""
    if not agg.get("symbols"):
        return (
            f"{symbol_count} symbol(s) in this file, none with enough valid bars for a change: "
            "no market reading is possible."
        )
    parts = [
        f"{str(agg['sentiment']).capitalize()} picture: {agg['advancers']} of {agg['symbols']} symbols "
        f"advanced on the last bar, {agg['decliners']} declined (breadth {agg['breadth_pct']:.0f}%)."
    ]
    movers = []
    if agg["top_gainers"]:
        best = agg["top_gainers"][0]
        movers.append(f"{best['symbol']} led the gainers at {_pct(best['percent_change'])}")
    if agg["top_losers"]:
        worst = agg["top_losers"][0]
        movers.append(f"{worst['symbol']} fell furthest at {_pct(worst['percent_change'])}")
    if movers:
        parts.append("; ".join(movers) + ".")
    anomalies = agg["total_anomalies"]
    if anomalies:
        parts.append(
            f"Turbulence is {agg['turbulence']}: {anomalies} anomal{'y' if anomalies == 1 else 'ies'} "
            f"across {len(agg['anomaly_symbols'])} symbol(s) in the last five bars."
        )
    else:
        parts.append(f"Turbulence is {agg['turbulence']}: no anomalies in the last five bars.")
    return " ".join(parts)


def symbol_insight(symbol: str, m: dict[str, Any]) -> dict[str, str]:
    """The four per-symbol texts, from that symbol's metrics."""
    if not m.get("bars"):
        empty = f"{symbol} has no valid bars in this file, so nothing can be said about it."
        return {
            "summary": empty,
            "opportunities": "None identifiable without data.",
            "risks": "Every bar was rejected; check the rejects file.",
            "key_anomaly": "None.",
        }
    summary = f"{symbol} last closed at {_price(m['last_close'])}"
    if m.get("percent_change") is not None:
        summary += f", {_pct(m['percent_change'])} on the last bar"
    if m.get("period_change_pct") is not None:
        summary += f" and {_pct(m['period_change_pct'])} over {m['bars']} bars"
    summary += "."
    if m.get("trend"):
        summary += f" The recent trend is {m['trend']} ({_pct(m['slope_pct_per_bar'], 3)} per bar)."

    momentum = m.get("momentum_pct")
    trend = m.get("trend")
    if momentum is None or trend is None:
        opportunities = "Too few bars for a trend or momentum signal."
    elif trend == "up" and momentum > 0:
        opportunities = f"Uptrend with positive 5-bar momentum ({_pct(momentum)}): strength is confirmed."
    elif trend == "down" and momentum > 0:
        opportunities = f"Possible rebound: 5-bar momentum is positive ({_pct(momentum)}) against a falling trend."
    elif trend == "up":
        opportunities = (
            f"Uptrend intact, though 5-bar momentum has cooled ({_pct(momentum)}): a possible entry on weakness."
        )
    elif trend == "flat":
        opportunities = f"Range-bound (flat trend); 5-bar momentum {_pct(momentum)}."
    else:
        opportunities = f"No long signal: falling trend and 5-bar momentum of {_pct(momentum)}."

    risks = []
    if m.get("volatility_pct") is not None:
        level = "high" if m["volatility_pct"] > 3 else "moderate" if m["volatility_pct"] > 1.5 else "low"
        risks.append(f"Volatility is {level} at {m['volatility_pct']:.2f}% per bar")
    if trend == "down":
        risks.append("the trend points down")
    if m.get("volume_ratio") is not None and m["volume_ratio"] > 1.5:
        risks.append(f"last-bar volume was {m['volume_ratio']:.1f}x its recent average")
    risk_text = ("; ".join(risks) + ".") if risks else "Too few bars to judge risk."
    risk_text = risk_text[0].upper() + risk_text[1:]

    anomalies = m.get("anomalies") or []
    if anomalies:
        top = min(anomalies, key=notability)
        if top["type"] == "price_move":
            key = f"Price moved {_pct(top['value'])} on {top['datetime']}."
        else:
            key = f"Volume spiked to {top['value']:.1f}x its 20-bar average on {top['datetime']}."
    else:
        key = "No anomalies in the last five bars."
    return {"summary": summary, "opportunities": opportunities, "risks": risk_text, "key_anomaly": key}
