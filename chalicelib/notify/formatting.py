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
