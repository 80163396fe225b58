"""The report's sections as view models: formatted once, shown by both templates (pure)."""

from __future__ import annotations

from typing import Any

from chalicelib.analyze.insights import plural
from chalicelib.config import MetricSettings
from chalicelib.notify.chart import sparkline_text
from chalicelib.notify.formatting import (
    arrow,
    bar_width,
    clean_line,
    finite,
    human_time,
    integer,
    pct,
    plain_pct,
    plain_text,
    price,
    rate,
    tone,
)

MAX_SYMBOL_ERRORS = 20  # failing symbols listed by name; the rest are counted
_TREND_ARROW = {"up": "↗", "down": "↘", "flat": "→"}
_ANOMALY_LABEL = {"price_move": "Price move", "volume_spike": "Volume spike"}


def processing(record: dict) -> dict:
    counts = record.get("row_counts") or {}
    total, valid, rejected = (int(counts.get(k) or 0) for k in ("input", "valid", "rejected"))
    # `symbol_error` counts error objects, not bars: they are listed under the symbol errors.
    rules = sorted(
        ((str(k), int(v)) for k, v in (record.get("reject_rules") or {}).items() if k != "symbol_error"),
        key=lambda kv: (-kv[1], kv[0]),
    )
    return {
        "input": integer(total),
        "valid": integer(valid),
        "rejected": integer(rejected),
        "valid_rate": rate(valid, total),
        "rejected_rate": rate(rejected, total),
        "valid_width": bar_width(valid, total),
        "rejected_width": bar_width(rejected, total),
        "has_rejects": rejected > 0,
        "symbol_errors": integer(int(record.get("symbol_errors") or 0)),
        # A rule's share is of the rejected bars (they add up to 100 %), not of all bars.
        # Every rule that fired (at most the ten of the fixed vocabulary): none is left out.
        "rules": [{"rule": rule, "count": integer(n), "share": rate(n, rejected)} for rule, n in rules],
    }


def symbol_errors(record: dict) -> dict:
    """Each failing symbol with its code and message (a 429 names no symbol: "symbol unknown")."""
    details = [e for e in record.get("symbol_error_details") or [] if isinstance(e, dict)]
    count = max(int(record.get("symbol_errors") or 0), len(details))
    rows = []
    for entry in details[:MAX_SYMBOL_ERRORS]:
        symbol = entry.get("symbol")
        code = entry.get("code")
        rows.append(
            {
                "symbol": clean_line(symbol, 24) if symbol not in (None, "") else "symbol unknown",
                "known": symbol not in (None, ""),
                "code": clean_line(code, 12) if code not in (None, "") else "",
                "message": plain_text(clean_line(entry.get("message") or "error response", 300)),
            }
        )
    return {"count": count, "count_text": integer(count), "rows": rows, "hidden": max(0, count - len(rows))}


def most_volatile(symbols: dict, windows: MetricSettings, limit: int = 3) -> list[dict]:
    """The most volatile symbols among those that can be rated: a full window of returns and a
    volatility above zero (a series that never moved is not "volatile" at 0.00%)."""
    rated = [
        (name, m["volatility_pct"])
        for name, m in symbols.items()
        if finite(m.get("volatility_pct")) and m["volatility_pct"] > 0 and (m.get("bars") or 0) - 1 >= windows.window
    ]
    rated.sort(key=lambda item: (-item[1], item[0]))
    return [{"symbol": clean_line(name, 24), "value": plain_pct(v)} for name, v in rated[:limit]]


def market(agg: dict, symbol_count: int, volatile: list[dict] | None = None) -> dict:
    sentiment = agg.get("sentiment")
    n = int(agg.get("symbols") or 0)
    advancers, decliners, unchanged = (int(agg.get(k) or 0) for k in ("advancers", "decliners", "unchanged"))
    anomaly_symbols = agg.get("anomaly_symbols") or []
    total_anomalies = int(agg.get("total_anomalies") or 0)
    moved = advancers + decliners
    if not finite(agg.get("breadth_pct")):
        breadth = "no breadth (nothing moved)" if n else "no breadth"
    else:
        of = f"of the {moved}" if moved > 1 else "of 1"
        breadth = f"breadth {agg['breadth_pct']:.0f}% ({advancers} {of} that moved)"
    without_change = max(0, symbol_count - n)
    headline = f"{plural(symbol_count, 'symbol')}: {advancers} up, {decliners} down, {unchanged} unchanged"
    if not symbol_count:
        headline = "no symbol with valid bars"
    elif without_change:
        headline += f", {without_change} with too few bars for a change"
    return {
        "sentiment": sentiment,
        "sentiment_label": str(sentiment).capitalize() if sentiment else "No reading",
        "sentiment_tone": {"bullish": "up", "bearish": "down"}.get(sentiment or "", "flat"),
        "breadth": breadth,
        "headline": headline,
        "symbols": n,
        "symbols_without_change": without_change,
        "advancers": advancers,
        "decliners": decliners,
        "unchanged": unchanged,
        "advancers_width": bar_width(advancers, n),
        "decliners_width": bar_width(decliners, n),
        "unchanged_width": bar_width(unchanged, n),
        "turbulence": str(agg.get("turbulence") or "not rated"),
        "turbulence_note": "" if agg.get("turbulence") else "too few bars",
        "turbulence_tone": {"high": "down", "moderate": "warn"}.get(str(agg.get("turbulence")), "flat"),
        "total_anomalies": total_anomalies,
        "anomaly_symbols": len(anomaly_symbols),
        "anomaly_text": (
            f"{plural(total_anomalies, 'anomaly', 'anomalies')} in {plural(len(anomaly_symbols), 'symbol')}"
            if total_anomalies
            else "no anomalies"
        ),
        "gainers": [mover(m["symbol"], m.get("percent_change")) for m in agg.get("top_gainers") or []],
        "losers": [mover(m["symbol"], m.get("percent_change")) for m in agg.get("top_losers") or []],
        "volatile": volatile or [],
    }


def anomalies(symbols: dict, limit: int) -> dict:
    found = [(name, a) for name, m in symbols.items() for a in (m.get("anomalies") or [])]
    # A big price move says more than a volume spike; within a type, the largest first.
    found.sort(key=lambda item: (item[1].get("type") != "price_move", -abs(item[1].get("value") or 0), item[0]))
    rows = []
    for name, a in found[:limit]:
        value = a.get("value")
        if a.get("type") == "price_move":
            shown, colour = pct(value), tone(value)
        else:
            shown, colour = (f"{value:.1f}× avg volume" if finite(value) else "n/a"), "warn"
        rows.append(
            {
                "symbol": clean_line(name, 24),
                "type": _ANOMALY_LABEL.get(str(a.get("type")), clean_line(a.get("type"), 40)),
                "when": human_time(a.get("datetime")),
                "value": shown,
                "tone": colour,
            }
        )
    return {"rows": rows, "total": len(found), "hidden": max(0, len(found) - limit)}


def metric_settings(record: dict) -> MetricSettings:
    """The windows the record's metrics used (the defaults for a record written before they were kept)."""
    known = {k: v for k, v in (record.get("metric_settings") or {}).items() if k in MetricSettings.__dataclass_fields__}
    try:
        return MetricSettings(**known)
    except (TypeError, ValueError):
        return MetricSettings()


def symbol_row(name: str, m: dict, windows: MetricSettings) -> dict:
    """One symbol's row. Its chart spans the trend's window (the last `window` closes), so the
    line and the trend beside it describe the same bars, and each label names its window."""
    insight = m.get("insight") or {}
    n = int(m.get("bars") or 0)
    closes = [float(c) for c in (m.get("recent_closes") or []) if finite(c)][-windows.window :]
    change = m.get("percent_change")
    window_change = 100.0 * (closes[-1] / closes[0] - 1.0) if len(closes) >= 2 and closes[0] else None
    trend = m.get("trend")
    returns = min(windows.window, n - 1)
    facts = []
    if finite(m.get("momentum_pct")):
        facts.append(f"{windows.momentum_period}-bar momentum {pct(m['momentum_pct'])}")
    if finite(m.get("volatility_pct")):
        rated = "" if returns >= windows.window else f" (only {plural(returns, 'return')}, too few to rate)"
        facts.append(f"volatility {plain_pct(m['volatility_pct'])}{rated}")
    if finite(m.get("volume_ratio")):
        facts.append(f"volume {m['volume_ratio']:.2f}× its {min(windows.window, n - 1)}-bar average")
    if len(closes) >= 2:
        facts.append(f"{len(closes)}-bar range {price(min(closes))}–{price(max(closes))}")
    anomaly_count = len(m.get("anomalies") or [])
    if anomaly_count:
        facts.append(plural(anomaly_count, "anomaly", "anomalies"))
    return {
        "symbol": clean_line(name, 24),
        "has_bars": bool(n),
        "last_close": price(m.get("last_close")),
        "change": pct(change),
        "tone": tone(change),
        "arrow": arrow(change),
        "period_change": pct(m.get("period_change_pct")),
        "period_tone": tone(m.get("period_change_pct")),
        "bars": integer(n),
        "bars_text": plural(n, "bar"),
        "first": human_time(m.get("first_datetime")),
        "last": human_time(m.get("last_datetime")),
        "trend": (
            f"trend {trend} over {plural(min(windows.window, n), 'bar')}" if trend else "too few bars for a trend"
        ),
        "trend_arrow": _TREND_ARROW.get(trend or "", ""),
        "trend_tone": {"up": "up", "down": "down"}.get(trend or "", "flat"),
        "facts": facts,
        "anomaly_count": anomaly_count,
        "closes": closes,
        "chart_cid": None,
        "chart_text": sparkline_text(closes),
        "chart_bars": len(closes),
        # n closes are n - 1 moves: "+3.1% over 19 moves" for a 20-close chart
        "chart_moves": plural(len(closes) - 1, "move"),
        "chart_change": pct(window_change),
        "chart_tone": tone(window_change),
        "chart_low": price(min(closes)) if closes else "n/a",
        "chart_high": price(max(closes)) if closes else "n/a",
        "summary": str(insight.get("summary") or ""),
        "opportunities": str(insight.get("opportunities") or ""),
        "risks": str(insight.get("risks") or ""),
        "key_anomaly": str(insight.get("key_anomaly") or ""),
    }


def symbols_to_show(symbols: dict, agg: dict, limit: int) -> list[str]:
    """All symbols when they fit; else the headline ones and the biggest movers, alphabetically."""
    if len(symbols) <= limit:
        return sorted(symbols)
    headline = [
        m["symbol"]
        for key in ("top_gainers", "top_losers", "most_volatile")
        for m in agg.get(key) or []
        if m.get("symbol") in symbols
    ]
    headline += [s for s in agg.get("anomaly_symbols") or [] if s in symbols]

    def by_move(name: str) -> tuple:
        change = symbols[name].get("percent_change")
        return (not finite(change), -abs(change) if finite(change) else 0.0, name)

    chosen = list(dict.fromkeys(headline))[:limit]
    for name in sorted(symbols, key=by_move):
        if len(chosen) >= limit:
            break
        if name not in chosen:
            chosen.append(name)
    return sorted(chosen)


def insights_meta(meta: dict) -> dict:
    source = str(meta.get("source") or "unknown")
    cost = meta.get("cost_usd")
    return {
        "source": source,
        "source_label": {"offline": "offline, written from the numbers", "bedrock": "Amazon Bedrock"}.get(
            source, clean_line(source, 40)
        ),
        "model": str(meta.get("model") or "none"),
        "input_tokens": integer(int(meta.get("input_tokens") or 0)),
        "output_tokens": integer(int(meta.get("output_tokens") or 0)),
        "cost": f"${cost:,.4f}" if finite(cost) else "n/a",
        "notes": [str(n) for n in meta.get("notes") or []],
    }


def mover(symbol: Any, change: Any) -> dict:
    return {"symbol": clean_line(symbol, 24), "change": pct(change), "tone": tone(change)}
