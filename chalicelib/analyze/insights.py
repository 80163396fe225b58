"""Insights: the executive summary and four texts per symbol, behind one provider interface.

`OfflineInsights` writes them from the numbers alone (no model, no cost). The Bedrock provider
implements the same `InsightProvider` protocol and falls back to this one for what it misses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.config import MetricSettings
from chalicelib.notify.formatting import human_time

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
    """Readable sentences computed from the metrics; deterministic and free.

    Windows in the text (momentum, averages, the anomaly look-back) are the ones the metrics
    used, and shrink to what a short series really has."""

    def __init__(self, settings: MetricSettings | None = None):
        self.settings = settings or MetricSettings()

    def generate(self, symbols: dict[str, dict], aggregates: dict[str, Any]) -> Insights:
        return Insights(
            executive_summary=executive_summary(aggregates, symbols, self.settings),
            per_symbol={symbol: symbol_insight(symbol, m, self.settings) for symbol, m in symbols.items()},
            source="offline",
        )


def notability(anomaly: dict) -> tuple[bool, float]:
    """Sort key, most notable first: a price move says more than a volume spike; within a type,
    the larger value wins (a spike over a zero average, whose ratio is null, above any other)."""
    value = anomaly.get("value")
    return anomaly["type"] != "price_move", -abs(value) if value is not None else float("-inf")


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 bar`, `3 bars`, `1 anomaly`, `2 anomalies`."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"


def _pct(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:+.{digits}f}%"


def _price(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}"


def checked_bars(bars: int, settings: MetricSettings) -> int:
    """How many of a series' last bars were checked for anomalies (bar 0 has no bar before it)."""
    return max(0, min(settings.anomaly_lookback, bars - 1))


def executive_summary(agg: dict[str, Any], symbols: dict[str, dict], settings: MetricSettings | None = None) -> str:
    """Two or three sentences on the market as a whole."""
    settings = settings or MetricSettings()
    if not symbols:
        return "No symbol in this file has valid bars: no market reading is possible."
    if not agg.get("symbols"):
        return (
            f"{plural(len(symbols), 'symbol')} in this file, none with enough valid bars for a change: "
            "no market reading is possible."
        )
    n, advancers, decliners, unchanged = (agg[k] for k in ("symbols", "advancers", "decliners", "unchanged"))
    if agg.get("breadth_pct") is None:
        nobody = f"none of the {n:,} symbols moved" if n > 1 else "the one symbol did not move"
        parts = [f"Neutral picture: {nobody} on the last bar."]
    else:
        flat = f", {unchanged} unchanged" if unchanged else ""
        parts = [
            f"{str(agg['sentiment']).capitalize()} picture: {advancers} of {plural(n, 'symbol')} advanced on the "
            f"last bar, {decliners} declined{flat} (breadth {agg['breadth_pct']:.0f}% of those that moved)."
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
    longest = max((m.get("bars") or 0 for m in symbols.values()), default=0)
    window = f"the last {plural(checked_bars(longest, settings), 'bar')}"
    anomalies = agg["total_anomalies"]
    found = (
        f"{plural(anomalies, 'anomaly', 'anomalies')} across {plural(len(agg['anomaly_symbols']), 'symbol')} in {window}"
        if anomalies
        else f"no anomalies in {window}"
    )
    if agg.get("turbulence") is None:
        parts.append(
            f"Turbulence is not rated: no symbol has the {settings.window + 1} bars a full "
            f"{settings.window}-bar volume average needs; {found}."
        )
    else:
        parts.append(f"Turbulence is {agg['turbulence']}: {found}.")
    return " ".join(parts)


def symbol_insight(symbol: str, m: dict[str, Any], settings: MetricSettings | None = None) -> dict[str, str]:
    """The four per-symbol texts, from that symbol's metrics."""
    settings = settings or MetricSettings()
    n = m.get("bars") or 0
    if not n:
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
        summary += f" and {_pct(m['period_change_pct'])} over {plural(n, 'bar')}"
    summary += "."
    trend = m.get("trend")
    trend_bars = min(settings.window, n)
    if trend:
        summary += f" The trend over the last {trend_bars} bars is {trend} ({_pct(m['slope_pct_per_bar'], 3)} per bar)."

    momentum = m.get("momentum_pct")
    k = settings.momentum_period
    if trend is None:
        opportunities = "Too few bars for a trend or momentum signal."
    elif momentum is None:
        opportunities = f"Too few bars for {k}-bar momentum; no signal beyond the {trend_bars}-bar trend."
    elif trend == "up" and momentum > 0:
        opportunities = f"Uptrend with positive {k}-bar momentum ({_pct(momentum)}): strength is confirmed."
    elif trend == "down" and momentum > 0:
        opportunities = f"Possible rebound: {k}-bar momentum is positive ({_pct(momentum)}) against a falling trend."
    elif trend == "up":
        opportunities = (
            f"Uptrend intact, though {k}-bar momentum has cooled ({_pct(momentum)}): a possible entry on weakness."
        )
    elif trend == "flat":
        opportunities = f"Range-bound (flat trend); {k}-bar momentum {_pct(momentum)}."
    else:
        opportunities = f"No long signal: falling trend and {k}-bar momentum of {_pct(momentum)}."

    risks = []
    returns = min(settings.window, n - 1)  # the volatility window and the volume average's bars
    if m.get("volatility_pct") is not None:
        if returns >= settings.window:
            level = "high" if m["volatility_pct"] > 3 else "moderate" if m["volatility_pct"] > 1.5 else "low"
            risks.append(f"Volatility is {level} at {m['volatility_pct']:.2f}% per bar")
        else:  # a handful of returns cannot say whether it is high or low
            risks.append(
                f"Volatility is {m['volatility_pct']:.2f}% per bar over only {returns} returns, too few to rate"
            )
    if trend == "down":
        risks.append("the trend points down")
    if m.get("volume_ratio") is not None and m["volume_ratio"] > settings.volume_spike_ratio:
        risks.append(f"last-bar volume was {m['volume_ratio']:.1f}x {_average_of(returns, settings)}")
    risk_text = ("; ".join(risks) + ".") if risks else "Too few bars to judge risk."
    risk_text = risk_text[0].upper() + risk_text[1:]

    anomalies = m.get("anomalies") or []
    checked = checked_bars(n, settings)
    if anomalies:
        top = min(anomalies, key=notability)
        when = human_time(top["datetime"])  # the report's own date format (`9 Feb 2024`)
        if top["type"] == "price_move":
            key = f"Price moved {_pct(top['value'])} on {when}."
        else:
            averaged = int(top.get("window") or settings.window)
            if top.get("value") is None:
                key = f"Volume rose from {_average_of(averaged, settings)} of zero on {when}."
            else:
                key = f"Volume spiked to {top['value']:.1f}x {_average_of(averaged, settings)} on {when}."
    elif checked:
        key = f"No anomalies in the last {plural(checked, 'bar')}."
    else:
        key = "Too few bars to look for anomalies."
    return {"summary": summary, "opportunities": opportunities, "risks": risk_text, "key_anomaly": key}


def _average_of(bars: int, settings: MetricSettings) -> str:
    """`its 20-bar average`, or, on a short series, the average it really is."""
    if bars >= settings.window:
        return f"its {settings.window}-bar average"
    return f"the average of the only {plural(bars, 'bar')} before it"
