"""The archive's HTML: the index, a symbol's page, the symbol search, a report page (pure).

The pages use the report's own templates environment and stylesheet (`_style.css.j2`), so the
archive looks like the emails it lists. Every link is relative and written by chalicelib.links,
so it works under API Gateway's stage path and on a local server alike.
"""

from __future__ import annotations

import base64
from typing import Any

from chalicelib.api.chart_svg import joined_points, price_svg
from chalicelib.links import report_path, symbol_json_path, symbol_path, symbol_slug
from chalicelib.notify.chart import sparkline_png
from chalicelib.notify.formatting import clean_line, finite, pct, plain_pct, price, tone

MAX_INDEX_SYMBOLS = 40  # symbol rows on the index page
SYMBOL_TEXT_MAX = 64  # a symbol as ingest allows it, shown whole
_TREND_ARROW = {"up": "↗", "down": "↘", "flat": "→"}


def _trend(trend: Any) -> dict:
    trend = trend if isinstance(trend, str) else ""
    return {
        "trend": trend or "n/a",
        "trend_arrow": _TREND_ARROW.get(trend, ""),
        "trend_tone": {"up": "up", "down": "down"}.get(trend, "flat"),
    }


def _interval(value: Any) -> str:
    return clean_line(value, 20) if value else "interval n/a"


def index_symbols(items: list[dict], limit: int = MAX_INDEX_SYMBOLS) -> list[dict]:
    """The symbol rows of the index: the movers of the newest reports first (each report's biggest
    moves first), one row per symbol and interval."""
    rows: list[dict] = []
    seen: set[tuple] = set()
    for item in items:
        for mover in item.get("movers") or []:
            key = (mover.get("symbol"), mover.get("interval"))
            if key in seen or not isinstance(mover.get("symbol"), str):
                continue
            seen.add(key)
            closes = [float(c) for c in mover.get("closes") or [] if finite(c)]
            change = mover.get("percent_change")
            rows.append(
                {
                    "symbol": mover["symbol"],
                    "label": clean_line(mover["symbol"], SYMBOL_TEXT_MAX),
                    "href": symbol_path(mover["symbol"]),
                    "interval": _interval(mover.get("interval")),
                    "time": item.get("created_at"),
                    "report": item.get("analysis_id"),
                    "last_close": price(mover.get("last_close")),
                    "change": pct(change),
                    "tone": tone(change),
                    **_trend(mover.get("trend")),
                    "bars_text": f"last {len(closes)} bars" if len(closes) >= 2 else "too few prices for a chart",
                    "chart": _data_uri(sparkline_png(closes)) if len(closes) >= 2 else None,
                }
            )
            if len(rows) >= limit:
                return rows
    return rows


def index_page(
    rows: list[dict], items: list[dict], symbols: list[dict], total: int, counted_all: bool, next_token: str | None
) -> str:
    """The archive's front page: the latest reports, the symbols moving in them, a symbol search."""
    from chalicelib.notify.render import environment

    reports = [
        {
            **row,
            "file": clean_line(row.get("input_file") or row.get("id") or "", 80),
            "href": report_path(row["id"]),
            "json_href": report_path(row["id"], as_json=True),
            "sentiment_label": str(row.get("sentiment") or "no reading").capitalize(),
            "sentiment_tone": {"bullish": "up", "bearish": "down"}.get(row.get("sentiment") or "", "flat"),
            "symbols_text": _symbols_text(row),
        }
        for row in rows
    ]
    view = {
        "reports": reports,
        "symbols": symbols,
        "symbols_total": total,
        "symbols_total_text": f"{total:,}" + ("" if counted_all else "+"),
        "next": next_token,
    }
    return environment().get_template("archive.html.j2").render(a=view)


def _symbols_text(row: dict[str, Any]) -> str:
    names = row.get("symbols")
    count = int(row.get("symbols_count") or 0)
    if not names:
        return f"{count:,} symbol{'' if count == 1 else 's'}"
    shown = ", ".join(clean_line(n, 24) for n in names[:6])
    return shown + (f" and {len(names) - 6} more" if len(names) > 6 else "")


def symbol_page(symbol: str, items: list[dict], next_token: str | None, first_page: bool = True) -> str:
    """A symbol's page: its latest reading (metrics, insight), its price chart joined from the bars
    of the readings shown, and a table of those readings."""
    from chalicelib.notify.render import environment

    latest = items[0] if items else {}
    interval = latest.get("interval")
    points = joined_points(items, interval)
    if len(points) < 2:  # readings without datetimes: the latest one's closes
        points = [(str(i), float(c)) for i, c in enumerate(latest.get("closes") or []) if finite(c)]
    label = clean_line(symbol, SYMBOL_TEXT_MAX)
    chart = price_svg(points, f"{label} closes") if points else None
    change = 100.0 * (points[-1][1] / points[0][1] - 1.0) if len(points) >= 2 and points[0][1] else None
    readings = [
        {
            "time": clean_line(item.get("created_at") or "", 40),
            "report_href": "../" + report_path(str(item.get("report_id"))),
            "file": clean_line(item.get("input_file") or item.get("report_id") or "", 60),
            "interval": _interval(item.get("interval")),
            "last_close": price(item.get("last_close")),
            "change": pct(item.get("percent_change")),
            "tone": tone(item.get("percent_change")),
            "period_change": pct(item.get("period_change_pct")),
            "period_tone": tone(item.get("period_change_pct")),
            "volatility": plain_pct(item.get("volatility_pct")),
            "bars": f"{int(item.get('bars') or 0):,}",
            "last_bar": clean_line(item.get("last_datetime") or "", 40),
            "anomalies": int(item.get("anomalies") or 0),
            **_trend(item.get("trend")),
        }
        for item in items
    ]
    insight = latest.get("insight") or {}
    view = {
        "symbol": label,
        "interval": _interval(interval),
        "first_page": first_page,
        "latest": readings[0] if readings else None,
        "momentum": pct(latest.get("momentum_pct")),
        "volume_ratio": f"{latest['volume_ratio']:.2f}×" if finite(latest.get("volume_ratio")) else "n/a",
        "insight": {k: str(insight.get(k) or "") for k in ("summary", "opportunities", "risks", "key_anomaly")},
        "chart": chart,
        "chart_text": (
            f"{len(points)} bars at {_interval(interval)}, {pct(change)} from first to last"
            if len(points) >= 2
            else "too few prices for a chart"
        ),
        "chart_tone": tone(change),
        "readings": readings,
        "json_href": symbol_json_path(symbol).removeprefix("symbols/"),
        "self_href": symbol_slug(symbol),
        "next": next_token,
    }
    return environment().get_template("symbol.html.j2").render(s=view)


def directory_row(item: dict) -> dict:
    """A symbol in the search's answer (JSON), from its directory entry."""
    symbol = str(item.get("symbol") or "")
    return {
        "symbol": symbol,
        "href": symbol_path(symbol),
        "interval": item.get("interval"),
        "time": item.get("time"),
        "report_id": item.get("report_id"),
        "last_close": item.get("last_close"),
        "percent_change": item.get("percent_change"),
        "trend": item.get("trend"),
    }


def search_page(query: str, rows: list[dict], next_token: str | None) -> str:
    from chalicelib.notify.render import environment

    shown = [
        {
            **row,
            "label": clean_line(row["symbol"], SYMBOL_TEXT_MAX),
            "interval_text": _interval(row.get("interval")),
            "price": price(row.get("last_close")),
            "change": pct(row.get("percent_change")),
            "tone": tone(row.get("percent_change")),
            **_trend(row.get("trend")),
        }
        for row in rows
    ]
    view = {"q": query, "rows": shown, "next": next_token}
    return environment().get_template("symbols.html.j2").render(s=view)


def report_page(record: dict, older: str | None = None, newer: str | None = None) -> str:
    """The report as emailed, with each `cid:` chart as a data: URI, under a bar of links."""
    from chalicelib.notify.render import render_report, standalone_html

    return with_links(standalone_html(render_report(record)), str(record.get("analysis_id") or ""), older, newer)


def with_links(html: str, analysis_id: str, older: str | None = None, newer: str | None = None) -> str:
    """A report page under a bar of links: the archive, the report's JSON, the older and the newer report."""
    from markupsafe import escape

    links = [("../", "← Archive"), (f"{analysis_id}.json", "JSON")]
    if older:
        links.append((older, "‹ Older report"))
    if newer:
        links.append((newer, "Newer report ›"))
    style = "color:#0b5cad;text-decoration:none;margin:0 14px 0 0;white-space:nowrap;display:inline-block"
    anchors = "".join(f'<a href="{escape(href)}" style="{style}">{escape(text)}</a>' for href, text in links)
    nav = (
        '<nav class="archive-nav" style="max-width:600px;margin:0 auto;padding:10px 8px 0 8px;'
        f'font-family:Helvetica,Arial,sans-serif;font-size:14px">{anchors}</nav>'
    )
    start = html.find("<body")
    end = html.find(">", start) + 1 if start >= 0 else 0
    return html[:end] + nav + html[end:]


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
