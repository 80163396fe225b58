"""Per-symbol metrics and anomalies (docs/analysis.md), vectorised across symbols and bars.

Every metric looks at most 26 bars back from a symbol's last bar, so the tail of each symbol is
gathered into one right-aligned (symbols x 26) matrix, padded with NaN, and each metric is a
handful of numpy operations over that matrix. No loop runs per bar or per symbol.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chalicelib.analyze.bars import BarColumns
from chalicelib.config import MetricSettings

_TAIL = 30  # >= last 5 bars + the 20 volumes before the earliest of them + one more close
RECENT_CLOSES = 30  # closes kept per symbol for the report's price chart


_DEFAULTS = MetricSettings()


def compute_metrics(bars: BarColumns, settings: MetricSettings = _DEFAULTS) -> dict[str, dict]:
    """`{symbol: {metric: value|None, …, "anomalies": […]}}` for every symbol in `bars`."""
    s = len(bars.symbols)
    if s == 0:
        return {}
    tail = max(_TAIL, settings.window + settings.anomaly_lookback + 1, settings.momentum_period + 1)
    n = bars.counts.astype(np.int64)
    ends = bars.ends
    offsets = np.arange(tail) - tail  # -tail … -1, right-aligned on each symbol's last bar
    index = ends[:, None] + offsets[None, :]
    present = index >= bars.starts[:, None]
    index = np.where(present, index, 0)
    close = np.where(present, bars.close[index], np.nan)
    volume = np.where(present, bars.volume[index], np.nan)
    has_volume = ~np.isnan(bars.volume[ends - 1])

    with np.errstate(divide="ignore", invalid="ignore"):
        last = close[:, -1]
        returns = close[:, 1:] / close[:, :-1] - 1.0  # returns[:, j] is the return into column j+1
        k = settings.momentum_period
        metrics = {
            "last_close": last,
            "percent_change": 100.0 * returns[:, -1],
            "period_change_pct": np.where(n >= 2, 100.0 * (last / bars.close[bars.starts] - 1.0), np.nan),
            "momentum": last - close[:, -1 - k],
            "momentum_pct": 100.0 * (last / close[:, -1 - k] - 1.0),
        }
        slope_pct = _slope_pct(close[:, -settings.window :], n, settings.window)
        metrics["slope_pct_per_bar"] = slope_pct
        metrics["volatility_pct"] = _volatility_pct(returns[:, -settings.window :], n)
        avg_volume = _mean_present(volume[:, -1 - settings.window : -1])
        avg_volume = np.where(has_volume & (n >= 2), avg_volume, np.nan)
        metrics["avg_volume"] = avg_volume
        metrics["volume_ratio"] = np.where(avg_volume > 0, volume[:, -1] / avg_volume, np.nan)

    trend = np.where(
        slope_pct > settings.trend_threshold_pct,
        "up",
        np.where(slope_pct < -settings.trend_threshold_pct, "down", "flat"),
    )
    trend = np.where(np.isnan(slope_pct), None, trend)
    anomalies = _anomalies(bars, close, volume, returns, index, n, settings)
    recent = [[c for c in row if c == c] for row in close[:, -RECENT_CLOSES:].tolist()]  # drop NaN padding

    out: dict[str, dict] = {}
    columns = {name: _to_python(values) for name, values in metrics.items()}
    first_dt = bars.datetimes[bars.starts].tolist()
    last_dt = bars.datetimes[ends - 1].tolist()
    for i, symbol in enumerate(bars.symbols.tolist()):
        record: dict[str, Any] = {
            "interval": bars.intervals[i],
            "bars": int(n[i]),
            "first_datetime": first_dt[i],
            "last_datetime": last_dt[i],
        }
        for name, values in columns.items():
            record[name] = values[i]
        record["trend"] = trend[i]
        record["anomalies"] = anomalies[i]
        record["recent_closes"] = recent[i]
        out[symbol] = record
    return out


def empty_metrics() -> dict:
    """A symbol with no valid bar: every value null (the keys, in order, of `compute_metrics`)."""
    return {
        "interval": None,
        "bars": 0,
        "first_datetime": None,
        "last_datetime": None,
        "last_close": None,
        "percent_change": None,
        "period_change_pct": None,
        "momentum": None,
        "momentum_pct": None,
        "slope_pct_per_bar": None,
        "volatility_pct": None,
        "avg_volume": None,
        "volume_ratio": None,
        "trend": None,
        "anomalies": [],
        "recent_closes": [],
    }


def _slope_pct(window: np.ndarray, n: np.ndarray, size: int) -> np.ndarray:
    """OLS slope of the last min(size, n) closes per bar, as a percent of their mean (n >= 3)."""
    x = np.arange(size, dtype=np.float64)[None, :]
    mask = ~np.isnan(window)
    count = mask.sum(axis=1)
    y = np.where(mask, window, 0.0)
    x_mean = np.where(mask, x, 0.0).sum(axis=1) / np.maximum(count, 1)
    y_mean = y.sum(axis=1) / np.maximum(count, 1)
    dx = np.where(mask, x - x_mean[:, None], 0.0)
    dy = np.where(mask, window - y_mean[:, None], 0.0)
    slope = (dx * dy).sum(axis=1) / (dx * dx).sum(axis=1)
    return np.where(n >= 3, 100.0 * slope / y_mean, np.nan)


def _volatility_pct(window: np.ndarray, n: np.ndarray) -> np.ndarray:
    """100 x sample std (ddof=1) of the last min(20, n-1) returns; needs at least 2 returns.

    Prices ingest accepts span 1e-130 to 1e126, so one return can be near 1e256 and its square
    would overflow to infinity: each deviation is divided by the row's largest one before it is
    squared (each scaled square is then at most 1), and the scale multiplied back after the root.
    """
    mask = ~np.isnan(window)
    count = mask.sum(axis=1)
    mean = np.where(mask, window, 0.0).sum(axis=1) / np.maximum(count, 1)
    deviation = np.where(mask, window - mean[:, None], 0.0)
    scale = np.abs(deviation).max(axis=1, initial=0.0)
    safe = np.where(scale > 0, scale, 1.0)
    squares = ((deviation / safe[:, None]) ** 2).sum(axis=1)
    std = safe * np.sqrt(squares / np.maximum(count - 1, 1))
    return np.where(count >= 2, np.where(scale > 0, 100.0 * std, 0.0), np.nan)


def _mean_present(values: np.ndarray) -> np.ndarray:
    mask = ~np.isnan(values)
    count = mask.sum(axis=1)
    return np.where(count > 0, np.where(mask, values, 0.0).sum(axis=1) / np.maximum(count, 1), np.nan)


def _anomalies(
    bars: BarColumns,
    close: np.ndarray,
    volume: np.ndarray,
    returns: np.ndarray,
    index: np.ndarray,
    n: np.ndarray,
    settings: MetricSettings,
) -> list[list[dict]]:
    """For each of the last bars i >= 1: volume spikes and large price moves, oldest first.

    A volume spike also carries `window`, the number of volumes its average covers (fewer than
    the setting near the start of a short series), so the text can name the real window.
    """
    found: list[list[dict]] = [[] for _ in range(len(n))]
    tail = close.shape[1]
    for back in range(settings.anomaly_lookback, 0, -1):  # a loop over 5 positions, not bars
        col = tail - back
        exists = n - back >= 1  # bar i = n - back must have a bar before it
        window = volume[:, max(0, col - settings.window) : col]
        with np.errstate(divide="ignore", invalid="ignore"):
            before = _mean_present(window)
            ratio = volume[:, col] / before
            move = 100.0 * returns[:, col - 1]
        # Over a mean of zero any volume is a spike; its ratio has no value (reported as null).
        from_zero = exists & (before == 0) & (volume[:, col] > 0)
        spike = (exists & (before > 0) & (ratio > settings.volume_spike_ratio)) | from_zero
        jump = exists & (np.abs(move) > settings.price_move_pct)
        datetimes = bars.datetimes[index[:, col]].tolist()
        averaged = (~np.isnan(window)).sum(axis=1)  # the volumes the average really covers
        for i in np.flatnonzero(spike):
            found[i].append(
                {
                    "type": "volume_spike",
                    "datetime": datetimes[i],
                    "value": None if from_zero[i] else float(ratio[i]),
                    "window": int(averaged[i]),
                }
            )
        for i in np.flatnonzero(jump):
            found[i].append({"type": "price_move", "datetime": datetimes[i], "value": float(move[i])})
    return found


def _to_python(values: np.ndarray) -> list[float | None]:
    """Floats with NaN/inf as None, so no NaN ever reaches JSON or DynamoDB."""
    if values.dtype.kind in "iu":
        return values.tolist()
    return [None if not np.isfinite(v) else v for v in values.tolist()]


def recent_datetimes(bars: BarColumns, count: int = RECENT_CLOSES) -> dict[str, list[str]]:
    """Per series, the datetimes of its last `count` bars (those of `recent_closes`), oldest first."""
    if len(bars.symbols) == 0:
        return {}
    index = bars.ends[:, None] + (np.arange(count) - count)[None, :]
    present = index >= bars.starts[:, None]
    rows = bars.datetimes[np.where(present, index, 0)].tolist()
    return {
        symbol: [t for t, keep in zip(row, mask, strict=True) if keep]
        for symbol, row, mask in zip(bars.symbols.tolist(), rows, present.tolist(), strict=True)
    }
