"""What the report archive reads per symbol, written beside each analysis (pure).

An analysis of 20,000 symbols is a 20 MB record; the archive's pages must not read it to show
one symbol. So analyze also writes, in the analyses table:

- a **reading** per series of the record: `analysis_id = "reading#<analysis id>#<series>"`,
  `kind = "reading#<folded symbol>"`, `created_at` the analysis' time. The table's
  `kind-created_at` index then holds each symbol's readings in a partition of their own, newest
  first: a symbol's page is one Query of its own rows. The partition is the *folded* symbol
  (`str.casefold`), so `/symbols/aapl` finds `AAPL`; the item keeps the exact symbol.
- a **directory entry** per symbol: `analysis_id = "symbol#<symbol>"`, `kind = "symbol"`,
  `created_at = "<folded symbol>\\t<symbol>"` (a tab cannot be in a symbol). The partition
  `symbol` lists every symbol once, sorted by folded name: a prefix search is a `begins_with`
  Query, the symbols differing only in case are the rows under `"<folded>\\t"`. Each analysis
  overwrites the entries of its symbols with their latest reading.
- on the analysis item, `movers`: its symbols with the largest moves (at most MOVERS), each a
  small summary: the index page shows the newest analyses' movers without reading a record.

Neither kind is `analysis`, so notify (which emails `kind = "analysis"` INSERTs only) and the
report listing never meet them. A reading keeps the closes of the series' last bars with their
datetimes, so a symbol's chart joins the bars of its analyses (a bar seen by two analyses is one
point).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

READING_PREFIX = "reading#"
DIRECTORY_KIND = "symbol"
DIRECTORY_PREFIX = "symbol#"
SEPARATOR = "\t"
MOVERS = 40  # symbols summarised on each analysis item, biggest moves first
# The metrics a reading keeps (the record's names); `anomalies` is kept as a count.
READING_FIELDS = (
    "last_close",
    "percent_change",
    "period_change_pct",
    "momentum_pct",
    "slope_pct_per_bar",
    "trend",
    "volatility_pct",
    "volume_ratio",
    "bars",
    "first_datetime",
    "last_datetime",
)
INSIGHT_FIELDS = ("summary", "opportunities", "risks", "key_anomaly")
_INSIGHT_MAX = 1000  # characters of each insight text a reading keeps


def fold(symbol: str) -> str:
    """The case-insensitive form of a symbol (`AAPL`, `aapl` and `Aapl` fold alike)."""
    return symbol.casefold()


def reading_kind(symbol: str) -> str:
    return READING_PREFIX + fold(symbol)


def directory_sort_key(symbol: str) -> str:
    return f"{fold(symbol)}{SEPARATOR}{symbol}"


def series_symbol(name: str, metrics: dict) -> str:
    """The symbol of a record's series key: `AAPL@5min` (one of two intervals in a file) is AAPL."""
    interval = metrics.get("interval")
    suffix = f"@{interval}" if isinstance(interval, str) else None
    if suffix and name.endswith(suffix) and len(name) > len(suffix):
        return name[: -len(suffix)]
    return name


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    return value


def reading(record: dict, name: str, metrics: dict, times: list[str] | None) -> dict:
    """The reading item (plain values) of series `name` in `record`."""
    symbol = series_symbol(name, metrics)
    closes = list(metrics.get("recent_closes") or [])
    times = list(times or [])
    points = [[t, c] for t, c in zip(times[-len(closes) :], closes, strict=False)] if times else []
    insight = metrics.get("insight") or {}
    return {
        "analysis_id": f"{READING_PREFIX}{record['analysis_id']}#{name}",
        "kind": reading_kind(symbol),
        "created_at": record["created_at"],
        "symbol": symbol,
        "series": name,
        "interval": metrics.get("interval"),
        "report_id": record["analysis_id"],
        "input_file": (record.get("source") or {}).get("input_key"),
        **{field: _finite_or_none(metrics.get(field)) for field in READING_FIELDS},
        "anomalies": len(metrics.get("anomalies") or []),
        "anomaly_list": list(metrics.get("anomalies") or [])[:10],
        "insight": {k: str(insight.get(k) or "")[:_INSIGHT_MAX] for k in INSIGHT_FIELDS if insight.get(k)},
        "closes": closes,
        "points": points,  # [[datetime, close], …] of the last bars, oldest first ([] if unknown)
    }


def directory_entry(item: dict) -> dict:
    """The directory item for the symbol of a reading item: the reading's headline values."""
    symbol = item["symbol"]
    return {
        "analysis_id": DIRECTORY_PREFIX + symbol,
        "kind": DIRECTORY_KIND,
        "created_at": directory_sort_key(symbol),
        "symbol": symbol,
        "interval": item.get("interval"),
        "time": item["created_at"],
        "report_id": item["report_id"],
        "last_close": item.get("last_close"),
        "percent_change": item.get("percent_change"),
        "trend": item.get("trend"),
        "last_datetime": item.get("last_datetime"),
    }


def archive_items(record: dict, bar_times: dict[str, list[str]] | None = None) -> Iterator[dict]:
    """Every reading of `record`, then one directory entry per symbol (the first series of each)."""
    entries: dict[str, dict] = {}
    for name, metrics in (record.get("symbols") or {}).items():
        item = reading(record, name, metrics, (bar_times or {}).get(name))
        entries.setdefault(item["symbol"], directory_entry(item))
        yield item
    yield from entries.values()


def _move(metrics: dict) -> float:
    change = metrics.get("percent_change")
    return abs(change) if isinstance(change, (int, float)) and change == change else -1.0


def movers(record: dict, limit: int = MOVERS) -> list[dict]:
    """The record's series with the largest moves first (ties by name): small summaries."""
    symbols = record.get("symbols") or {}
    chosen = sorted(symbols, key=lambda name: (-_move(symbols[name]), name))[:limit]
    return [
        {
            "symbol": series_symbol(name, symbols[name]),
            "interval": symbols[name].get("interval"),
            "last_close": _finite_or_none(symbols[name].get("last_close")),
            "percent_change": _finite_or_none(symbols[name].get("percent_change")),
            "trend": symbols[name].get("trend"),
            "closes": list(symbols[name].get("recent_closes") or []),
        }
        for name in chosen
    ]
