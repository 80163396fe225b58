"""How the report writes numbers and data: one place, so both templates say the same thing (pure)."""

from __future__ import annotations

import math
import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def clean_line(value: Any, limit: int) -> str:
    """One line of at most `limit` characters: control characters (CR/LF included) become spaces."""
    text = " ".join(_CONTROL.sub(" ", str(value)).split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


_MARKDOWN = re.compile(r"\*\*(.+?)\*\*|__(.+?)__|`([^`]+)`")


def plain_text(text: str) -> str:
    """Markdown emphasis and code marks a provider puts in its messages (`**symbol** not found`) removed."""
    return _MARKDOWN.sub(lambda m: next(g for g in m.groups() if g is not None), text)


def wrap_text(text: Any, indent: str = "  ", hang: int = 0, width: int = 76) -> str:
    """`text` wrapped for the plain-text part: lines start at `indent`, continuations `hang`
    further in (under a label's value); words, numbers and addresses are never split."""
    import textwrap

    text = str(text)
    label, body = text[:hang], " ".join(text[hang:].split())  # the label keeps its own padding
    return (
        textwrap.fill(
            body,
            width=width,
            initial_indent=indent + label,
            subsequent_indent=indent + " " * hang,
            break_long_words=False,
            break_on_hyphens=False,
        )
        or (indent + label).rstrip()
    )


def finite(value: Any) -> bool:
    """A real number (not bool, NaN or infinity)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def pct(value: Any, digits: int = 2) -> str:
    return f"{value:+.{digits}f}%" if finite(value) else "n/a"


def plain_pct(value: Any) -> str:
    return f"{value:.2f}%" if finite(value) else "n/a"


def price(value: Any) -> str:
    if not finite(value):
        return "n/a"
    return f"{value:,.4f}" if abs(value) < 1 else f"{value:,.2f}"


def integer(value: int) -> str:
    return f"{value:,}"


def rate(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


def bar_width(part: int, whole: int) -> int:
    """A bar segment's width in percent: never 0 for a non-zero part, so it stays visible."""
    if not whole or not part:
        return 0
    return max(1, round(100 * part / whole))


def tone(value: Any) -> str:
    if not finite(value) or value == 0:
        return "flat"
    return "up" if value > 0 else "down"


def arrow(value: Any) -> str:
    return {"up": "▲", "down": "▼"}.get(tone(value), "■")


# -- dates and times, for people: `1 Mar 2013`, `Fri 1 Mar 2013`, `4 Dec 2026 14:08 UTC` ----------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_STAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?")


def parse_stamp(value: Any):
    """`(date, "HH:MM" or None, zone text or None)` of an ISO-like stamp; None when it is not one."""
    import datetime as dt

    found = _STAMP.fullmatch(str(value or "").strip())
    if not found:
        return None
    year, month, day, hour, minute, _, zone = found.groups()
    try:
        date = dt.date(int(year), int(month), int(day))
    except ValueError:
        return None
    clock = f"{hour}:{minute}" if hour is not None else None
    return date, clock, ("UTC" if zone in ("Z", "+00:00", "+0000") else zone)


def human_date(date: Any, weekday: bool = False) -> str:
    """`1 Mar 2013` (or `Fri 1 Mar 2013`) for a `datetime.date`."""
    text = f"{date.day} {_MONTHS[date.month - 1]} {date.year}"
    return f"{_DAYS[date.weekday()]} {text}" if weekday else text


def human_time(value: Any, zone: str | None = None) -> str:
    """A stamp as people read it: `1 Mar 2013`, `4 Dec 2026 14:08 UTC`; other text is kept (cleaned)."""
    parsed = parse_stamp(value)
    if parsed is None:
        return clean_line(value or "", 40)
    date, clock, own_zone = parsed
    text = human_date(date)
    if clock is not None:
        text += f" {clock}"
        if own_zone or zone:
            text += f" {own_zone or zone}"
    return text


def zone_label(zone: str | None, date: Any = None, clock: str | None = None) -> str:
    """The short name of an IANA zone at that moment (`EST`), or the zone's own name without data."""
    if not zone:
        return ""
    try:
        import datetime as dt
        from zoneinfo import ZoneInfo

        hour, minute = (int(p) for p in (clock or "12:00").split(":"))
        moment = dt.datetime(date.year, date.month, date.day, hour, minute, tzinfo=ZoneInfo(zone))
        name = moment.tzname() or zone
    except Exception:  # an unknown zone, or no time-zone data on this system
        return clean_line(zone, 40)
    return name if re.fullmatch(r"[A-Z]{2,5}", name) else clean_line(zone, 40)
