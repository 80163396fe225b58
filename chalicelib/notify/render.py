"""The report: an analysis record in; subject, HTML, plain text and chart images out (pure).

Numbers are formatted once (`formatting.py`) into a view model that both templates share, so the HTML and
the plain-text part always say the same thing. Templates are autoescaped HTML (jinja2) and the
HTML's stylesheet is inlined into `style` attributes (css-inline), as email clients need.
"""

from __future__ import annotations

import functools
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from chalicelib.analysis_store import record_key
from chalicelib.analyze.insights import checked_bars, plural
from chalicelib.archive_access import with_access
from chalicelib.links import absolute, report_path, symbol_path
from chalicelib.notify import sections
from chalicelib.notify.chart import sparkline_png
from chalicelib.notify.formatting import clean_line, human_time, wrap_text
from chalicelib.notify.session import market_session

_TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_SYMBOLS = 40  # symbols with a row (and a chart) in one email; the rest are counted
MAX_ANOMALIES = 20
# Gmail clips a message whose HTML is over about 102 KB ("[Message clipped]", the rest hidden
# behind a link): the HTML part is kept under this many bytes by showing fewer symbol rows.
HTML_BUDGET = 95_000
MIN_SYMBOLS = 5
_SUBJECT_MAX = 180
SEPARATOR = " · "  # between the Subject's parts
MINUS = "\u2212"


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
    record: dict,
    *,
    max_symbols: int = MAX_SYMBOLS,
    max_anomalies: int = MAX_ANOMALIES,
    inline_css: bool = True,
    archive_url: str = "",
    access: str = "",
) -> Report:
    """Render the email for one analysis record (docs/analysis.md).

    `inline_css=False` returns the template's own HTML, before the inliner re-serialises (and
    thereby silently repairs) it: tests check that one parses cleanly. `access`: a signed link's
    token (chalicelib.archive_access) every archive link carries; "": the links carry none.
    """
    env = _environment()
    while True:
        view, images = build_view(
            record, max_symbols=max_symbols, max_anomalies=max_anomalies, archive_url=archive_url, access=access
        )
        html = _html(env, view, inline_css)
        size = len(html.encode("utf-8"))
        if size <= HTML_BUDGET or max_symbols <= MIN_SYMBOLS or not inline_css:
            break
        # Fewer symbol rows, in proportion to the excess (each row costs about the same); the
        # rest are counted and the archive or the full record has them.
        max_symbols = max(MIN_SYMBOLS, min(len(view["symbols"]) - 1, len(view["symbols"]) * HTML_BUDGET // size - 2))
    text = env.get_template("report.txt.j2").render(r=view)
    return Report(subject=view["subject"], html=html, text=text, images=images)


def _html(env: Any, view: dict, inline_css: bool) -> str:
    html = env.get_template("report.html.j2").render(r=view)
    return inline_styles(html) if inline_css else html


def inline_styles(html: str) -> str:
    """The stylesheet moved into `style` attributes, as email clients need, compactly."""
    import css_inline

    # keep_at_rules keeps the phone @media block in a <style>; everything else becomes style="…".
    html = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False).inline(html)
    # The inliner writes `name: value;` in every attribute; without the spaces and the last `;`
    # a 40-row report is several KB smaller. Only the stylesheet's own declarations are in
    # style attributes (data is escaped text), and none of their values holds a `"`, `:` or `;`.
    return _STYLE_ATTR.sub(lambda m: 'style="' + _compact_style(m.group(1)) + '"', html)


_STYLE_ATTR = re.compile(r'style="([^"]*)"')


def _compact_style(style: str) -> str:
    return ";".join(
        name.strip() + ":" + value.strip()
        for name, _, value in (part.partition(":") for part in style.split(";") if part.strip())
    )


def standalone_html(report: Report) -> str:
    """The HTML with each `cid:` picture embedded as a data URI, to open in a browser."""
    import base64

    html = report.html
    for image in report.images:
        data = base64.b64encode(image.png).decode("ascii")
        html = html.replace(f'src="cid:{image.content_id}"', f'src="data:image/png;base64,{data}"')
    return html


def build_view(
    record: dict,
    *,
    max_symbols: int = MAX_SYMBOLS,
    max_anomalies: int = MAX_ANOMALIES,
    archive_url: str = "",
    access: str = "",
):
    """The formatted values both templates show, and the chart images the HTML refers to."""
    source = record.get("source") or {}
    aggregates = record.get("aggregates") or {}
    symbols = record.get("symbols") or {}
    shown = sections.symbols_to_show(symbols, aggregates, max_symbols)
    windows = sections.metric_settings(record)
    images: list[InlineImage] = []
    rows = []
    for index, name in enumerate(shown):
        row = sections.symbol_row(name, symbols[name], windows)
        row["href"] = with_access(_symbol_link(archive_url, name, symbols[name]), access)
        closes = row.pop("closes")
        if len(closes) >= 2:
            cid = f"chart-{index}@stock-insights"
            images.append(InlineImage(cid, sparkline_png(closes)))
            row["chart_cid"] = cid
        rows.append(row)
    run_name = clean_line(posixpath.basename(str(source.get("input_key") or "")) or "analysis", 80)
    view = {
        "run_name": run_name,
        "session": market_session(symbols, record.get("exchange_timezones") or {}),
        "analysis_id": clean_line(record.get("analysis_id", ""), 100),
        "correlation_id": clean_line(record.get("correlation_id", ""), 100),
        "created_at": human_time(record.get("created_at", "")),
        "source_uri": clean_line(f"s3://{source.get('bucket', '')}/{source.get('input_key', '')}", 1100),
        "etag": clean_line(source.get("etag", ""), 100),
        "record_uri": clean_line(
            f"s3://{source.get('bucket', '')}/{record_key(str(record.get('analysis_id', '')))}", 300
        ),
        "executive_summary": str(record.get("executive_summary") or ""),
        "processing": sections.processing(record),
        "symbol_errors": sections.symbol_errors(record),
        "market": sections.market(aggregates, len(symbols), sections.most_volatile(symbols, windows)),
        "anomalies": sections.anomalies(symbols, max_anomalies),
        "anomaly_window": plural(
            checked_bars(max((m.get("bars") or 0 for m in symbols.values()), default=0), windows)
            or windows.anomaly_lookback,
            "bar",
        ),
        "symbols": rows,
        "symbols_total": len(symbols),
        "symbols_hidden": len(symbols) - len(shown),
        "insights": sections.insights_meta(record.get("insights") or {}),
        # Where the archive API is deployed, the report's own page (else the email stands alone).
        "report_href": (
            with_access(absolute(archive_url, report_path(str(record.get("analysis_id", "")))), access)
            if archive_url
            else ""
        ),
    }
    view["subject"] = subject_line(view)
    return view, images


def _symbol_link(archive_url: str, name: str, metrics: dict) -> str:
    """The symbol's archive page (`SYMBOL@INTERVAL`, a symbol at two intervals, links to SYMBOL's)."""
    if not archive_url:
        return ""
    interval = metrics.get("interval")
    symbol = name[: -len(interval) - 1] if interval and name.endswith(f"@{interval}") else name
    return absolute(archive_url, symbol_path(symbol))


def subject_line(view: dict) -> str:
    """`Stock Insights · Fri 1 Mar 2013 · Bullish, 4 of 5 up · FB +1.94%, AAPL −2.48%` (one line,
    bounded): the session the numbers are for; the file's name only when no bar gives a date."""
    market = view["market"]
    session = view["session"]
    parts = ["Stock Insights", session["label"] if session["known"] else view["run_name"]]
    if market["sentiment"] == "neutral":
        parts.append(f"Neutral, nothing moved ({plural(market['symbols'], 'symbol')})")
    elif market["sentiment"]:
        parts.append(f"{market['sentiment_label']}, {market['advancers']} of {market['symbols']} up")
    else:
        parts.append("no market reading")
    # A true minus sign: as wide as the plus, and read as "minus" by screen readers.
    movers = [
        f"{m['symbol']} {m['change'].replace('-', MINUS, 1)}" for m in market["gainers"][:1] + market["losers"][:1]
    ]
    if movers:
        parts.append(", ".join(movers))
    return clean_line(SEPARATOR.join(parts), _SUBJECT_MAX)


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
    env = jinja2.Environment(
        loader=loader,
        # Everything in the HTML is escaped unless marked safe; the text template is not HTML.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wrap_text"] = wrap_text  # the plain-text part's wrapping, with hanging indents
    return env
