"""Which market session a report's numbers are for: the last bar's date (and time, for intraday
data, in the exchange's time zone where the file names one). This, not the file's name, heads
the report and its Subject (pure)."""

from __future__ import annotations

from typing import Any

from chalicelib.analyze.insights import plural
from chalicelib.notify.formatting import human_date, parse_stamp, zone_label


def symbol_zone(name: str, zones: dict) -> str | None:
    """The exchange time zone recorded for a symbol (a key `SYMBOL@INTERVAL` looks up `SYMBOL`)."""
    zone = zones.get(name) or zones.get(name.rsplit("@", 1)[0])
    return str(zone) if zone else None


def market_session(symbols: dict[str, dict], zones: dict | None = None) -> dict[str, Any]:
    """`{"label", "known", "mixed", "note"}`: `Fri 1 Mar 2013`, `Fri 1 Mar 2013 16:00 EST`, or a
    range that says the symbols end on different dates."""
    zones = zones or {}
    ends = []
    for name, m in symbols.items():
        parsed = parse_stamp(m.get("last_datetime")) if m.get("bars") else None
        if parsed is not None:
            ends.append((name, *parsed))
    if not ends:
        return {"label": "", "known": False, "mixed": False, "note": ""}
    dates = sorted({date for _, date, _, _ in ends})
    latest = dates[-1]
    if len(dates) > 1:
        on_latest = sum(1 for _, date, _, _ in ends if date == latest)
        span = (
            f"{human_date(dates[0])}–{human_date(latest)}"
            if dates[0].year != latest.year
            else f"{dates[0].day} {human_date(dates[0]).split()[1]}–{human_date(latest)}"
            if dates[0].month != latest.month
            else f"{dates[0].day}–{human_date(latest)}"
        )
        return {
            "label": f"Mixed dates, {span}",
            "known": True,
            "mixed": True,
            "note": f"{on_latest} of {plural(len(ends), 'symbol')} end on {human_date(latest, weekday=True)}; "
            "the others end earlier.",
        }
    label = human_date(latest, weekday=True)
    clocks = sorted({clock for _, _, clock, _ in ends if clock})
    if not clocks:
        return {"label": label, "known": True, "mixed": False, "note": ""}
    own = {zone for _, _, _, zone in ends if zone}
    named = {symbol_zone(name, zones) for name, *_ in ends} - {None}
    zone = ""
    if len(own) == 1:
        zone = own.pop()
    elif not own and len(named) == 1:
        zone = zone_label(named.pop(), latest, clocks[-1])
    times = clocks[0] if len(clocks) == 1 else f"{clocks[0]}–{clocks[-1]}"
    label = f"{label} {times}{' ' + zone if zone else ''}"
    note = "" if len(clocks) == 1 else "The symbols' last bars end at different times of the day."
    if len(named) > 1:
        note = (note + " " if note else "") + "Times are each exchange's own."
    return {"label": label, "known": True, "mixed": len(clocks) > 1, "note": note}
