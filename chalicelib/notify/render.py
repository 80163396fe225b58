"""The report: an analysis record in; subject, HTML, plain text and chart images out (pure).

Numbers are formatted once (`formatting.py`) into a view model that both templates share, so the HTML and
the plain-text part always say the same thing. Templates are autoescaped HTML (jinja2) and the
HTML's stylesheet is inlined into `style` attributes (css-inline), as email clients need.
"""

from __future__ import annotations

import functools
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from chalicelib.analysis_store import record_key
from chalicelib.analyze.insights import checked_bars, plural
from chalicelib.config import MetricSettings
from chalicelib.notify.chart import sparkline_png, sparkline_text
from chalicelib.notify.formatting import (
    arrow,
    bar_width,
    clean_line,
    finite,
    integer,
    pct,
    plain_pct,
    price,
    rate,
    tone,
)

_TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_SYMBOLS = 40  # symbols with a row (and a chart) in one email; the rest are counted
MAX_ANOMALIES = 20
MAX_REJECT_RULES = 5
MAX_SYMBOL_ERRORS = 20  # failing symbols listed by name; the rest are counted
_SUBJECT_MAX = 180
_TREND_ARROW = {"up": "↗", "down": "↘", "flat": "→"}
_ANOMALY_LABEL = {"price_move": "Price move", "volume_spike": "Volume spike"}


class InlineImage(NamedTuple):
    """A picture the HTML shows through `cid:<content_id>`."""

    content_id: str
    png: bytes


@dataclass(frozen=True)
class Report:
    subject: str
    html: str
    text: str
    images: list[InlineImage] = field(default_factory=list)


def render_report(
    record: dict, *, max_symbols: int = MAX_SYMBOLS, max_anomalies: int = MAX_ANOMALIES, inline_css: bool = True
) -> Report:
    """Render the email for one analysis record (docs/analysis.md).

    `inline_css=False` returns the template's own HTML, before the inliner re-serialises (and
    thereby silently repairs) it: tests check that one parses cleanly.
    """
    view, images = build_view(record, max_symbols=max_symbols, max_anomalies=max_anomalies)
    env = _environment()
    html = env.get_template("report.html.j2").render(r=view)
    if inline_css:
        import css_inline

        # keep_at_rules keeps the phone @media block in a <style>; everything else becomes style="…".
        html = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False).inline(html)
    text = env.get_template("report.txt.j2").render(r=view)
    return Report(subject=view["subject"], html=html, text=text, images=images)


def standalone_html(report: Report) -> str:
    """The HTML with each `cid:` picture embedded as a data URI, to open in a browser."""
    import base64

    html = report.html
    for image in report.images:
        data = base64.b64encode(image.png).decode("ascii")
        html = html.replace(f'src="cid:{image.content_id}"', f'src="data:image/png;base64,{data}"')
    return html


def build_view(record: dict, *, max_symbols: int = MAX_SYMBOLS, max_anomalies: int = MAX_ANOMALIES):
    """The formatted values both templates show, and the chart images the HTML refers to."""
    source = record.get("source") or {}
    aggregates = record.get("aggregates") or {}
    symbols = record.get("symbols") or {}
    shown = _symbols_to_show(symbols, aggregates, max_symbols)
    windows = _metric_settings(record)
    images: list[InlineImage] = []
    rows = []
    for index, name in enumerate(shown):
        row = _symbol_row(name, symbols[name], windows)
        closes = row.pop("closes")
        if len(closes) >= 2:
            cid = f"chart-{index}@stock-insights"
            images.append(InlineImage(cid, sparkline_png(closes)))
            row["chart_cid"] = cid
        rows.append(row)
    run_name = clean_line(posixpath.basename(str(source.get("input_key") or "")) or "analysis", 80)
    view = {
        "run_name": run_name,
        "analysis_id": clean_line(record.get("analysis_id", ""), 100),
        "correlation_id": clean_line(record.get("correlation_id", ""), 100),
        "created_at": clean_line(record.get("created_at", ""), 40),
        "source_uri": clean_line(f"s3://{source.get('bucket', '')}/{source.get('input_key', '')}", 1100),
        "etag": clean_line(source.get("etag", ""), 100),
        "record_uri": clean_line(
            f"s3://{source.get('bucket', '')}/{record_key(str(record.get('analysis_id', '')))}", 300
        ),
        "executive_summary": str(record.get("executive_summary") or ""),
        "processing": _processing(record),
        "symbol_errors": _symbol_errors(record),
        "market": _market(aggregates, len(symbols)),
        "anomalies": _anomalies(symbols, max_anomalies),
        "anomaly_window": plural(
            checked_bars(max((m.get("bars") or 0 for m in symbols.values()), default=0), windows)
            or windows.anomaly_lookback,
            "bar",
        ),
        "symbols": rows,
        "symbols_total": len(symbols),
        "symbols_hidden": len(symbols) - len(shown),
        "insights": _insights_meta(record.get("insights") or {}),
    }
    view["subject"] = subject_line(view)
    return view, images


def subject_line(view: dict) -> str:
    """`Stock Insights | <file> | Bullish, 4 of 5 up | FB +1.94%, AAPL -2.48%` (one line, bounded)."""
    market = view["market"]
    parts = ["Stock Insights", view["run_name"]]
    if market["sentiment"] == "neutral":
        parts.append(f"Neutral, nothing moved ({plural(market['symbols'], 'symbol')})")
    elif market["sentiment"]:
        parts.append(f"{market['sentiment_label']}, {market['advancers']} of {market['symbols']} up")
    else:
        parts.append("no market reading")
    movers = [f"{m['symbol']} {m['change']}" for m in (market["gainers"][:1] + market["losers"][:1])]
    if movers:
        parts.append(", ".join(movers))
    return clean_line(" | ".join(parts), _SUBJECT_MAX)


# -- sections --------------------------------------------------------------------------------


def _processing(record: dict) -> dict:
    counts = record.get("row_counts") or {}
    total, valid, rejected = (int(counts.get(k) or 0) for k in ("input", "valid", "rejected"))
    # `symbol_error` counts error objects, not bars: they are listed under the symbol errors.
    rules = sorted(
        ((str(k), int(v)) for k, v in (record.get("reject_rules") or {}).items() if k != "symbol_error"),
        key=lambda kv: (-kv[1], kv[0]),
    )
    top = rules[:MAX_REJECT_RULES]
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
        "rules": [{"rule": rule, "count": integer(n), "share": rate(n, rejected)} for rule, n in top],
        "other_rules": len(rules) - len(top),
    }


def _symbol_errors(record: dict) -> dict:
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
                "message": clean_line(entry.get("message") or "error response", 300),
            }
        )
    return {"count": count, "count_text": integer(count), "rows": rows, "hidden": max(0, count - len(rows))}


def _market(agg: dict, symbol_count: int) -> dict:
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
        "gainers": [_mover(m["symbol"], m.get("percent_change")) for m in agg.get("top_gainers") or []],
        "losers": [_mover(m["symbol"], m.get("percent_change")) for m in agg.get("top_losers") or []],
        "volatile": [
            {"symbol": clean_line(m["symbol"], 24), "value": plain_pct(m.get("volatility_pct"))}
            for m in agg.get("most_volatile") or []
        ],
    }


def _anomalies(symbols: dict, limit: int) -> dict:
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
                "when": clean_line(a.get("datetime") or "", 40),
                "value": shown,
                "tone": colour,
            }
        )
    return {"rows": rows, "total": len(found), "hidden": max(0, len(found) - limit)}


def _metric_settings(record: dict) -> MetricSettings:
    """The windows the record's metrics used (the defaults for a record written before they were kept)."""
    known = {k: v for k, v in (record.get("metric_settings") or {}).items() if k in MetricSettings.__dataclass_fields__}
    try:
        return MetricSettings(**known)
    except (TypeError, ValueError):
        return MetricSettings()


def _symbol_row(name: str, m: dict, windows: MetricSettings) -> dict:
    insight = m.get("insight") or {}
    closes = [float(c) for c in (m.get("recent_closes") or []) if finite(c)]
    change = m.get("percent_change")
    window_change = 100.0 * (closes[-1] / closes[0] - 1.0) if len(closes) >= 2 and closes[0] else None
    trend = m.get("trend")
    return {
        "symbol": clean_line(name, 24),
        "has_bars": bool(m.get("bars")),
        "last_close": price(m.get("last_close")),
        "change": pct(change),
        "tone": tone(change),
        "arrow": arrow(change),
        "period_change": pct(m.get("period_change_pct")),
        "period_tone": tone(m.get("period_change_pct")),
        "bars": integer(int(m.get("bars") or 0)),
        "bars_text": plural(int(m.get("bars") or 0), "bar"),
        "momentum_label": f"{windows.momentum_period}-bar momentum",
        "first": clean_line(m.get("first_datetime") or "", 40),
        "last": clean_line(m.get("last_datetime") or "", 40),
        "momentum": pct(m.get("momentum_pct")),
        "trend": trend or "n/a",
        "trend_arrow": _TREND_ARROW.get(trend or "", ""),
        "trend_tone": {"up": "up", "down": "down"}.get(trend or "", "flat"),
        "volatility": plain_pct(m.get("volatility_pct")),
        "volume_ratio": f"{m['volume_ratio']:.2f}×" if finite(m.get("volume_ratio")) else "n/a",
        "anomaly_count": len(m.get("anomalies") or []),
        "closes": closes,
        "chart_cid": None,
        "chart_text": sparkline_text(closes),
        "chart_bars": len(closes),
        "chart_change": pct(window_change),
        "chart_tone": tone(window_change),
        "chart_low": price(min(closes)) if closes else "n/a",
        "chart_high": price(max(closes)) if closes else "n/a",
        "summary": str(insight.get("summary") or ""),
        "opportunities": str(insight.get("opportunities") or ""),
        "risks": str(insight.get("risks") or ""),
        "key_anomaly": str(insight.get("key_anomaly") or ""),
    }


def _symbols_to_show(symbols: dict, agg: dict, limit: int) -> list[str]:
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


def _insights_meta(meta: dict) -> dict:
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


def _mover(symbol: Any, change: Any) -> dict:
    return {"symbol": clean_line(symbol, 24), "change": pct(change), "tone": tone(change)}


def environment():
    """The templates' jinja2 environment (the archive's pages use it too, with the same style)."""
    return _environment()


@functools.cache
def _environment():
    import jinja2

    from chalicelib.notify import precompiled

    return _configured(jinja2, precompiled.loader(jinja2))


def source_environment():
    """The same environment reading the templates themselves (what `precompiled` compiles)."""
    import jinja2

    return _configured(jinja2, jinja2.FileSystemLoader(str(_TEMPLATES)))


def _configured(jinja2: Any, loader: Any):
    return jinja2.Environment(
        loader=loader,
        # Everything in the HTML is escaped unless marked safe; the text template is not HTML.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
