"""A symbol's price chart as inline SVG for the archive's pages (pure).

The web page is not an email: an SVG scales with the page, keeps its labels sharp and costs a
few kilobytes. Labels (prices, datetimes) are escaped text; the line is coloured as the report's
charts (green up, red down over the span shown).
"""

from __future__ import annotations

from html import escape

from chalicelib.notify.chart import DOWN_RGB, FLAT_RGB, UP_RGB
from chalicelib.notify.formatting import finite, price

_W, _H = 560, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 84, 12, 14, 34


def _rgb(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def price_svg(points: list[tuple[str, float]], title: str) -> str | None:
    """An SVG line chart of (datetime, close) points, oldest first; None with fewer than 2."""
    points = [(str(t), float(c)) for t, c in points if finite(c)]
    if len(points) < 2:
        return None
    closes = [c for _, c in points]
    low, high = min(closes), max(closes)
    span = (high - low) or abs(high) or 1.0
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def x_of(i: int) -> float:
        return _LEFT + plot_w * i / (len(points) - 1)

    def y_of(c: float) -> float:
        return _TOP + plot_h * (1.0 - (c - low) / span) if high != low else _TOP + plot_h / 2

    colour = UP_RGB if closes[-1] > closes[0] else DOWN_RGB if closes[-1] < closes[0] else FLAT_RGB
    line = " ".join(f"{x_of(i):.1f},{y_of(c):.1f}" for i, c in enumerate(closes))
    grid = "#d8dee4"
    labels = [
        (f'<text x="{_LEFT - 6}" y="{_TOP + 5}" text-anchor="end">{escape(price(high))}</text>'),
        (f'<text x="{_LEFT - 6}" y="{_TOP + plot_h + 5}" text-anchor="end">{escape(price(low))}</text>'),
        (f'<text x="{_LEFT}" y="{_H - 10}" text-anchor="start">{escape(_short(points[0][0]))}</text>'),
        (f'<text x="{_W - _RIGHT}" y="{_H - 10}" text-anchor="end">{escape(_short(points[-1][0]))}</text>'),
    ]
    return (
        f'<svg class="price-chart" viewBox="0 0 {_W} {_H}" width="100%" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="Helvetica, Arial, sans-serif" font-size="15" fill="#57606a">'
        f"<title>{escape(title)}</title>"
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_W - _RIGHT}" y2="{_TOP}" stroke="{grid}"/>'
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{_W - _RIGHT}" y2="{_TOP + plot_h}" stroke="{grid}"/>'
        f'<polyline points="{line}" fill="none" stroke="{_rgb(colour)}" stroke-width="2.5" '
        f'stroke-linejoin="round" stroke-linecap="round"/>' + "".join(labels) + "</svg>"
    )


def _short(datetime_text: str) -> str:
    """A datetime as the chart's axis shows it: the date, with the time when it is not midnight."""
    text = datetime_text.replace("T", " ")
    return text[:10] if text[10:].strip(" :0Z") == "" else text[:16]


def joined_points(readings: list[dict], interval: object) -> list[tuple[str, float]]:
    """The bars of `readings` (newest first) at `interval`, joined by datetime, oldest first: a bar
    two analyses both saw is one point (the newer reading's close)."""
    by_time: dict[str, float] = {}
    for item in readings:
        if item.get("interval") != interval:
            continue
        for pair in item.get("points") or []:
            if isinstance(pair, list) and len(pair) == 2 and finite(pair[1]):
                by_time.setdefault(str(pair[0]), float(pair[1]))
    return sorted(by_time.items())
