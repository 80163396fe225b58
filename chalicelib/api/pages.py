"""The archive's HTML: a report page (the email, charts inline) and the index page (pure).

The index uses the report's own templates environment and stylesheet (`_style.css.j2`), so the
archive looks like the emails it lists.
"""

from __future__ import annotations

import base64
from typing import Any

from chalicelib.notify.chart import sparkline_png
from chalicelib.notify.formatting import clean_line, finite, pct, price, tone

MAX_INDEX_SYMBOLS = 40  # symbols with a history chart on the index page
_TREND_ARROW = {"up": "↗", "down": "↘", "flat": "→"}


def report_page(record: dict) -> str:
    """The report as emailed, with each `cid:` chart as a data: URI."""
    from chalicelib.notify.render import render_report, standalone_html

    return standalone_html(render_report(record))


def symbol_histories(records: list[dict], limit: int = MAX_INDEX_SYMBOLS) -> list[dict]:
    """Per symbol in `records` (newest first): its closes across them, oldest first, and its latest trend.

    With a symbol in one analysis only, the chart shows that analysis' recent closes instead.
    """
    by_symbol: dict[str, list[tuple[dict, dict]]] = {}
    for record in records:
        for name, metrics in (record.get("symbols") or {}).items():
            by_symbol.setdefault(name, []).append((record, metrics))
    rows = []
    for name in sorted(by_symbol)[:limit]:
        points = by_symbol[name]
        latest = points[0][1]
        closes = [m.get("last_close") for _, m in reversed(points)]
        closes = [float(c) for c in closes if finite(c)]
        basis = f"last {len(closes)} analyses"
        if len(closes) < 2:
            closes = [float(c) for c in latest.get("recent_closes") or [] if finite(c)]
            basis = f"last {len(closes)} bars"
        change = 100.0 * (closes[-1] / closes[0] - 1.0) if len(closes) >= 2 and closes[0] else None
        trend = latest.get("trend") or ""
        rows.append(
            {
                "symbol": clean_line(name, 24),
                "href": f"symbols/{name}",
                "last_close": price(latest.get("last_close")),
                "trend": trend or "n/a",
                "trend_arrow": _TREND_ARROW.get(trend, ""),
                "trend_tone": {"up": "up", "down": "down"}.get(trend, "flat"),
                "change": pct(change),
                "tone": tone(change),
                "basis": basis if len(closes) >= 2 else "too few prices for a chart",
                "chart": _data_uri(sparkline_png(closes)) if len(closes) >= 2 else None,
                "analyses": len(points),
            }
        )
    return rows


def index_page(rows: list[dict], records: list[dict], next_token: str | None) -> str:
    """The archive's front page: the latest reports and a small history chart per symbol."""
    from chalicelib.notify.render import environment

    reports = [
        {
            **row,
            "file": clean_line(row.get("input_file") or row.get("id") or "", 80),
            "href": f"reports/{row['id']}",
            "sentiment_label": str(row.get("sentiment") or "no reading").capitalize(),
            "sentiment_tone": {"bullish": "up", "bearish": "down"}.get(row.get("sentiment") or "", "flat"),
            "symbols_text": _symbols_text(row),
        }
        for row in rows
    ]
    view = {
        "reports": reports,
        "histories": symbol_histories(records),
        "symbols_total": len({name for record in records for name in record.get("symbols") or {}}),
        "next": next_token,
    }
    return environment().get_template("archive.html.j2").render(a=view)


def _symbols_text(row: dict[str, Any]) -> str:
    names = row.get("symbols")
    if names is None:
        return f"{row.get('symbols_count', 0):,} symbols"
    shown = ", ".join(clean_line(n, 24) for n in names[:6])
    return shown + (f" and {len(names) - 6} more" if len(names) > 6 else "") if names else "no symbols"


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
