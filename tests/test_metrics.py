"""Every metric checked against independent implementations (TA-Lib, pandas) on real daily data.

The sample is real: five stocks, 2012-03-02 to 2013-03-01 (sandbox/samples/SOURCE.md). Each
series is also cut into every prefix, so windows shorter than 20 bars, the first bars and the
anomaly look-back are all compared, not only the last day of the year.
"""

from __future__ import annotations

import math

import numpy as np
import orjson
import pandas as pd
import pytest
import talib

from chalicelib.analyze.bars import columns_from_bars, load_processed
from chalicelib.analyze.metrics import MetricSettings, compute_metrics, empty_metrics
from tests.conftest import SAMPLES

REL = 1e-9


def _real_series() -> dict[str, list[dict]]:
    document = orjson.loads((SAMPLES / "twelvedata_5_stocks_1day.json").read_bytes())
    return {symbol: response["values"] for symbol, response in document.items()}


def _prefix_bars() -> list[dict]:
    """Every prefix (1..n bars, ascending) of every real series as its own symbol, newest first."""
    bars = []
    for symbol, values in _real_series().items():
        ascending = list(reversed(values))
        for length in list(range(1, 40)) + list(range(40, len(ascending) + 1, 7)):
            for bar in reversed(ascending[:length]):
                bars.append({"symbol": f"{symbol}@{length:03d}", "interval": "1day", **bar})
    return bars


@pytest.fixture(scope="module")
def prefix_metrics():
    bars = _prefix_bars()
    return bars, compute_metrics(columns_from_bars(bars))


def _arrays(bars: list[dict], symbol: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    mine = sorted((b for b in bars if b["symbol"] == symbol), key=lambda b: b["datetime"])
    close = np.array([float(b["close"]) for b in mine])
    volume = np.array([float(b["volume"]) for b in mine])
    return close, volume, [b["datetime"] for b in mine]


def _close_to(actual, expected) -> bool:
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        return actual is None
    return actual is not None and math.isclose(actual, expected, rel_tol=REL, abs_tol=1e-12)


def _reference(close: np.ndarray, volume: np.ndarray, dates: list[str]) -> dict:
    """The same metrics from TA-Lib and pandas, written straight from the table in docs/analysis.md."""
    n = len(close)
    c = pd.Series(close)
    v = pd.Series(volume)
    returns = c.pct_change()
    window = min(20, n)
    ref = {
        "bars": n,
        "first_datetime": dates[0],
        "last_datetime": dates[-1],
        "last_close": close[-1],
        "percent_change": 100 * returns.iloc[-1] if n >= 2 else None,
        "period_change_pct": 100 * (close[-1] / close[0] - 1) if n >= 2 else None,
        "momentum": talib.MOM(close, 5)[-1] if n >= 6 else None,
        "momentum_pct": talib.ROC(close, 5)[-1] if n >= 6 else None,
        "slope_pct_per_bar": (100 * talib.LINEARREG_SLOPE(close, window)[-1] / c.iloc[-window:].mean())
        if n >= 3
        else None,
        "volatility_pct": 100 * returns.iloc[1:].tail(min(20, n - 1)).std(ddof=1) if n >= 3 else None,
        "avg_volume": v.iloc[:-1].tail(min(20, n - 1)).mean() if n >= 2 else None,
    }
    ref["volume_ratio"] = volume[-1] / ref["avg_volume"] if ref["avg_volume"] else None
    slope = ref["slope_pct_per_bar"]
    ref["trend"] = None if slope is None else "up" if slope > 0.1 else "down" if slope < -0.1 else "flat"
    # Anomalies: for each of the last 5 bars i >= 1, pandas rolling means of the 20 volumes before i.
    prior_mean = v.shift(1).rolling(20, min_periods=1).mean()
    anomalies = []
    for i in range(max(1, n - 5), n):
        if prior_mean.iloc[i] > 0 and volume[i] / prior_mean.iloc[i] > 1.5:
            anomalies.append(("volume_spike", dates[i], volume[i] / prior_mean.iloc[i]))
        elif prior_mean.iloc[i] == 0 and volume[i] > 0:  # over a zero mean: a spike, ratio null
            anomalies.append(("volume_spike", dates[i], None))
    for i in range(max(1, n - 5), n):
        move = 100 * returns.iloc[i]
        if abs(move) > 5:
            anomalies.append(("price_move", dates[i], move))
    ref["anomalies"] = anomalies
    return ref


def test_every_metric_matches_talib_and_pandas_on_real_prefixes(prefix_metrics):
    bars, metrics = prefix_metrics
    checked = 0
    for symbol, mine in metrics.items():
        ref = _reference(*_arrays(bars, symbol))
        for name in ("bars", "first_datetime", "last_datetime", "trend"):
            assert mine[name] == ref[name], (symbol, name)
        for name in (
            "last_close",
            "percent_change",
            "period_change_pct",
            "momentum",
            "momentum_pct",
            "slope_pct_per_bar",
            "volatility_pct",
            "avg_volume",
            "volume_ratio",
        ):
            assert _close_to(mine[name], ref[name]), (symbol, name, mine[name], ref[name])
            checked += 1
        got = sorted((a["type"], a["datetime"], a["value"]) for a in mine["anomalies"])
        want = sorted(ref["anomalies"])
        assert [(t, d) for t, d, _ in got] == [(t, d) for t, d, _ in want], symbol
        assert all(
            g[2] is w[2] is None or math.isclose(g[2], w[2], rel_tol=REL) for g, w in zip(got, want, strict=True)
        )
    assert checked > 3000  # ~340 real prefixes x 9 numeric metrics


def test_real_prefixes_exercise_anomalies_of_both_kinds(prefix_metrics):
    _, metrics = prefix_metrics
    kinds = {a["type"] for m in metrics.values() for a in m["anomalies"]}
    assert kinds == {"volume_spike", "price_move"}


def test_full_year_figures_are_stable():
    body = b"".join(
        orjson.dumps({"symbol": s, "interval": "1day", **bar}) + b"\n"
        for s, values in _real_series().items()
        for bar in values
    )
    metrics = compute_metrics(load_processed(body))
    aapl = metrics["AAPL"]
    assert aapl["bars"] == 250 and aapl["last_datetime"] == "2013-03-01"
    assert aapl["last_close"] == pytest.approx(430.47)
    assert aapl["trend"] == "down"
    assert metrics["FB"]["bars"] == 196


def _series(closes, volumes=None, start="2024-01-01"):
    dates = pd.date_range(start, periods=len(closes), freq="D").strftime("%Y-%m-%d")
    bars = []
    for i, (d, c) in enumerate(zip(dates, closes, strict=True)):
        bar = {"symbol": "X", "interval": "1day", "datetime": d, "open": c, "high": c, "low": c, "close": c}
        if volumes is not None:
            bar["volume"] = volumes[i]
        bars.append(bar)
    return compute_metrics(columns_from_bars(bars))["X"]


def _assert_no_nan(value):
    if isinstance(value, float):
        assert math.isfinite(value)
    elif isinstance(value, dict):
        for v in value.values():
            _assert_no_nan(v)
    elif isinstance(value, list):
        for v in value:
            _assert_no_nan(v)


def test_a_symbol_without_bars_has_the_same_fields_in_the_same_order(prefix_metrics):
    _, metrics = prefix_metrics
    computed = next(iter(metrics.values()))

    assert list(empty_metrics()) == list(computed)


def test_one_bar_gives_nulls_not_nans():
    m = _series([10.0], [100])
    assert m["bars"] == 1 and m["last_close"] == 10.0
    for name in (
        "percent_change",
        "period_change_pct",
        "momentum",
        "momentum_pct",
        "slope_pct_per_bar",
        "trend",
        "volatility_pct",
        "avg_volume",
        "volume_ratio",
    ):
        assert m[name] is None, name
    assert m["anomalies"] == []


def test_two_bars():
    m = _series([10.0, 11.0], [100, 300])
    assert m["percent_change"] == pytest.approx(10.0)
    assert m["slope_pct_per_bar"] is None and m["trend"] is None and m["volatility_pct"] is None
    assert m["avg_volume"] == 100 and m["volume_ratio"] == 3.0
    assert {a["type"] for a in m["anomalies"]} == {"volume_spike", "price_move"}


def test_all_closes_equal_is_flat_with_zero_volatility():
    m = _series([5.0] * 30, [10] * 30)
    assert m["volatility_pct"] == 0.0 and m["slope_pct_per_bar"] == 0.0 and m["trend"] == "flat"
    assert m["anomalies"] == []
    _assert_no_nan(m)


def test_a_volume_over_a_zero_average_is_a_spike_with_a_null_ratio():
    m = _series([1.0, 1.01, 1.02, 1.03], [0, 0, 0, 500])
    assert m["avg_volume"] == 0 and m["volume_ratio"] is None
    assert m["anomalies"] == [{"type": "volume_spike", "datetime": "2024-01-04", "value": None, "window": 3}]
    _assert_no_nan(m)
    # zero after zeros is no spike; a zero average from the first bar on is a spike on bar 1
    assert _series([1.0, 1.01, 1.02], [0, 0, 0])["anomalies"] == []
    assert [a["datetime"] for a in _series([1.0, 1.01, 1.02], [0, 7, 5])["anomalies"]] == ["2024-01-02"]


def test_extreme_storable_prices_have_a_finite_volatility():
    # Prices ingest accepts (1e-130 .. 1e126): returns near 1e255, whose squares overflow a float.
    closes = [1e-129, 1e126, 1e-129, 1e126, 1e-129]
    m = _series(closes, [1] * 5)
    returns = [closes[i] / closes[i - 1] - 1 for i in range(1, 5)]
    mean = sum(returns) / 4
    expected = 100 * math.sqrt(sum(((r - mean) / 1e255) ** 2 for r in returns) / 3) * 1e255
    assert m["volatility_pct"] == pytest.approx(expected, rel=1e-9)
    assert math.isfinite(m["volatility_pct"])
    # and ordinary prices keep their value (the real-data comparison above covers the rest)
    assert _series([10.0, 11.0, 10.0], [1] * 3)["volatility_pct"] == pytest.approx(
        100 * float(np.std([0.1, 10 / 11 - 1], ddof=1))
    )


def test_instrument_without_volume():
    m = _series([1.0, 1.2, 1.1, 1.3, 1.25, 1.4, 1.5])
    assert m["avg_volume"] is None and m["volume_ratio"] is None
    assert all(a["type"] == "price_move" for a in m["anomalies"]) and m["anomalies"]
    assert m["momentum"] == pytest.approx(1.5 - 1.2)


def test_thresholds_are_configurable():
    quiet = MetricSettings(price_move_pct=50.0, volume_spike_ratio=100.0)
    bars = [
        {"symbol": "X", "interval": "1day", "datetime": f"2024-01-0{i + 1}", "close": c, "volume": v}
        for i, (c, v) in enumerate([(1, 1), (2, 10)])
    ]
    assert compute_metrics(columns_from_bars(bars))["X"]["anomalies"]
    assert compute_metrics(columns_from_bars(bars), quiet)["X"]["anomalies"] == [
        {"type": "price_move", "datetime": "2024-01-02", "value": 100.0}
    ]


def test_symbols_keep_their_own_interval_and_order():
    bars = [
        {"symbol": "B", "interval": "1h", "datetime": "2024-01-01 10:00:00", "close": "2", "volume": "1"},
        {"symbol": "A", "interval": "1day", "datetime": "2024-01-02", "close": "4", "volume": "1"},
        {"symbol": "A", "interval": "1day", "datetime": "2024-01-01", "close": "2", "volume": "1"},
        {"symbol": "B", "interval": "1h", "datetime": "2024-01-01 09:00:00", "close": "1", "volume": "1"},
    ]
    metrics = compute_metrics(columns_from_bars(bars))
    assert metrics["A"]["interval"] == "1day" and metrics["B"]["interval"] == "1h"
    assert metrics["A"]["percent_change"] == 100.0 and metrics["B"]["percent_change"] == 100.0
    assert metrics["B"]["last_datetime"] == "2024-01-01 10:00:00"


def test_one_symbol_at_two_intervals_is_two_series_keyed_symbol_at_interval():
    daily = [
        {"symbol": "A", "interval": "1day", "datetime": f"2024-01-0{d}", "close": str(d), "volume": "1"} for d in (1, 2)
    ]
    hourly = [
        {"symbol": "A", "interval": "1h", "datetime": f"2024-01-02 1{h}:00:00", "close": str(10 + h), "volume": "1"}
        for h in (0, 1, 2)
    ]
    other = [{"symbol": "B", "interval": "1day", "datetime": "2024-01-01", "close": "3", "volume": "1"}]
    body = b"".join(orjson.dumps(bar) + b"\n" for bar in daily + hourly + other)
    for columns in (load_processed(body), columns_from_bars(daily + hourly + other)):
        assert columns.symbols.tolist() == ["A@1day", "A@1h", "B"]
        assert columns.series_symbols() == ["A", "A", "B"]
        metrics = compute_metrics(columns)
        assert metrics["A@1day"]["interval"] == "1day" and metrics["A@1day"]["bars"] == 2
        assert metrics["A@1day"]["percent_change"] == 100.0
        assert metrics["A@1h"]["interval"] == "1h" and metrics["A@1h"]["bars"] == 3
        assert metrics["A@1h"]["last_close"] == 12.0 and metrics["A@1h"]["first_datetime"] == "2024-01-02 10:00:00"
        assert metrics["B"]["interval"] == "1day"


def test_empty_input():
    assert compute_metrics(load_processed(b"")) == {}


def test_loading_in_chunks_gives_the_same_columns(monkeypatch):
    import chalicelib.analyze.bars as bars_module

    bars = _prefix_bars()[:3000]
    body = b"".join(orjson.dumps(bar) + b"\n" for bar in bars)
    whole = compute_metrics(load_processed(body))
    monkeypatch.setattr(bars_module, "_CHUNK_BYTES", 4096)  # ~30 chunks; symbols span chunk edges

    assert compute_metrics(load_processed(body)) == whole
    assert compute_metrics(load_processed(body.replace(b"\n", b"\n\n", 5))) == whole  # blank lines too


def _same_columns(a, b) -> bool:
    return (
        a.symbols.tolist() == b.symbols.tolist()
        and a.intervals == b.intervals
        and a.starts.tolist() == b.starts.tolist()
        and a.counts.tolist() == b.counts.tolist()
        and a.datetimes.tolist() == b.datetimes.tolist()
        and np.array_equal(a.close, b.close)
        and np.array_equal(a.volume, b.volume, equal_nan=True)
    )


@pytest.mark.parametrize(
    "odd",
    [
        {},
        {"close": 125.5, "volume": 10},  # JSON numbers, not strings
        {"volume": None},
        {"volume": "__absent__"},  # an instrument without volume
        {"interval": "__absent__"},
        {"interval": {"n": 1180591620717411303424}},  # read by orjson, as the generic path reads it
        {"source_symbol": "X", "note": [1, {"a": 2}]},  # other fields are skipped
        {"close": True},  # a type the typed lines refuse: the chunk goes the generic way
    ],
    ids=["plain", "numbers", "null-volume", "no-volume", "no-interval", "odd-interval", "extra-fields", "bool"],
)
def test_typed_line_decoding_gives_the_generic_columns(odd, monkeypatch):
    # load_processed decodes lines into small structs of the fields it reads; whatever they hold,
    # the columns are those of the dict-per-line reading.
    import json

    import chalicelib.analyze.bars as bars_module

    bars = _prefix_bars()[:500]
    bars[7] = {k: v for k, v in {**bars[7], **odd}.items() if v != "__absent__"}
    body = b"".join(json.dumps(bar).encode() + b"\n" for bar in bars)
    typed = load_processed(body)
    assert (bars_module._typed_chunk_columns(body) is None) == (odd.get("close") is True)
    monkeypatch.setattr(bars_module, "_typed_chunk_columns", lambda part: None)

    assert _same_columns(typed, load_processed(body))
