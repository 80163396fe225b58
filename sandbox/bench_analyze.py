"""The analyze case of `python -m sandbox.bench`: processed lines to a finished record, against a floor and pandas."""

from __future__ import annotations

import argparse
import hashlib
import operator
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from sandbox.bench_core import OUT_DIR, Contender, print_table, ratios
from sandbox.bench_ingest import GENERATOR_VERSION, _business_days, _symbol_bars, _write_generated, cached

# --------------------------------------------------------------------------------------------
# The analyze case: 2,000 symbols x 1,000 bars of processed JSON Lines
# --------------------------------------------------------------------------------------------

ANALYZE_DETAIL = {
    "bucket": "bench",
    "input_key": "inputs/bench.json",
    "etag": "bench",
    "processed_key": "processed/bars/bench.json/bench.jsonl",
    "rejects_key": "rejects/bench.json/bench.jsonl",
    "correlation_id": "bench",
}


def analyze_input_path(args: argparse.Namespace) -> Path:
    return OUT_DIR / f"processed-{args.analyze_symbols}x{args.analyze_bars}-seed{args.seed}-v{GENERATOR_VERSION}.jsonl"


def ensure_analyze_input(args: argparse.Namespace) -> tuple[Path, dict]:
    """Processed JSON Lines as ingest writes them (per symbol, newest first), cached."""
    path = analyze_input_path(args)
    options = ["--analyze-symbols", str(args.analyze_symbols), "--analyze-bars", str(args.analyze_bars)]
    return cached(path, ["--generate-processed", str(path), *options, "--seed", str(args.seed)])


def generate_processed(path: Path, symbols: int, bars_per_symbol: int, seed: int) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    dates = _business_days(np, bars_per_symbol)
    planned: Counter = Counter()
    from chalicelib.ingest.pipeline import processed_lines  # the very writer ingest uses

    body = b"".join(
        processed_lines(f"SYM{i:04d}", "1day", _symbol_bars(np, rng, dates, 0.0, planned)) for i in range(symbols)
    )
    facts = {
        "file": path.name,
        "bytes": len(body),
        "symbols": symbols,
        "bars_per_symbol": bars_per_symbol,
        "bars": symbols * bars_per_symbol,
    }
    _write_generated(path, body, facts)


def _analyze_setup() -> Callable[[bytes], Any]:
    from chalicelib.analyze.insights import OfflineInsights
    from chalicelib.analyze.service import analyze
    from chalicelib.config import Settings

    settings, provider = Settings(), OfflineInsights()
    counts = {"input": 0, "valid": 0, "rejected": 0, "symbol_errors": 0}
    return lambda body: analyze(body, {**ANALYZE_DETAIL, "counts": counts}, settings, provider)


def _analyze_summary(record: Any) -> dict:
    symbols = record["symbols"]
    return {
        "symbols": len(symbols),
        "bars": sum(m["bars"] for m in symbols.values()),
        "checksum": _checksum(
            {s: (m["volatility_pct"], m["slope_pct_per_bar"], m["momentum"]) for s, m in symbols.items()}
        ),
    }


def _analyze_floor_setup() -> Callable[[bytes], Any]:
    """Load the lines into numpy arrays, then one vectorised pass of returns and per-symbol std."""
    import numpy as np

    from chalicelib.analyze.bars import _floats

    getter = operator.itemgetter("symbol", "close", "volume")

    def floor(body: bytes) -> Any:
        bars = orjson.loads(b"[" + body.strip().replace(b"\n", b",") + b"]")
        symbols, closes, volumes = zip(*map(getter, bars), strict=True)
        close, volume = _floats(closes), _floats(volumes)
        names = np.array(symbols)
        starts = np.flatnonzero(np.r_[True, names[1:] != names[:-1]])  # lines come grouped by symbol
        returns = np.r_[0.0, np.diff(close) / close[:-1]]
        counts = np.diff(np.r_[starts, len(close)])
        mean = np.add.reduceat(returns, starts) / counts
        std = np.sqrt(np.maximum(np.add.reduceat(returns**2, starts) / counts - mean**2, 0.0))
        return {"symbols": len(starts), "bars": len(close), "std": std, "volume": volume}

    return floor


def _analyze_floor_summary(result: Any) -> dict:
    return {"symbols": result["symbols"], "bars": result["bars"]}


def _pandas_setup() -> Callable[[bytes], Any]:
    import pandas as pd

    def peer(body: bytes) -> Any:
        df = pd.DataFrame(orjson.loads(b"[" + body.strip().replace(b"\n", b",") + b"]"))
        df["close"] = df["close"].astype(float)
        df["volume"] = df["volume"].astype(float)
        df = df.sort_values(["symbol", "datetime"], kind="stable", ignore_index=True)
        g = df.groupby("symbol", sort=True)
        df["ret"] = g["close"].pct_change()
        df["close_5_back"] = g["close"].shift(5)
        df["vprev_mean"] = (
            g["volume"].shift(1).groupby(df["symbol"]).rolling(20, min_periods=1).mean().reset_index(level=0, drop=True)
        )
        tail20 = g.tail(20).copy()
        tail20["x"] = tail20.groupby("symbol").cumcount().astype(float)
        t = tail20.groupby("symbol")
        dx = tail20["x"] - t["x"].transform("mean")
        dy = tail20["close"] - t["close"].transform("mean")
        slope = (dx * dy).groupby(tail20["symbol"]).sum() / (dx * dx).groupby(tail20["symbol"]).sum()
        last = g.tail(1).set_index("symbol")
        out = pd.DataFrame(
            {
                "bars": g.size(),
                "last_close": last["close"],
                "percent_change": 100 * last["ret"],
                "momentum": last["close"] - last["close_5_back"],
                "slope_pct_per_bar": 100 * slope / t["close"].mean(),
                "volatility_pct": 100 * g.tail(20).groupby("symbol")["ret"].std(ddof=1),
                "avg_volume": last["vprev_mean"],
            }
        )
        tail5 = g.tail(5)
        spikes = tail5[(tail5["volume"] / tail5["vprev_mean"]) > 1.5]
        moves = tail5[(100 * tail5["ret"]).abs() > 5]
        return {"metrics": out, "anomalies": len(spikes) + len(moves)}

    return peer


def _pandas_summary(result: Any) -> dict:
    metrics = result["metrics"]
    return {"symbols": len(metrics), "bars": int(metrics["bars"].sum())}


def _checksum(values: dict) -> str:
    return hashlib.sha1(orjson.dumps(values, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)).hexdigest()


ANALYZE_CONTENDERS = (
    Contender("analyze-floor", "floor (gc off)", "floor", _analyze_floor_setup, _analyze_floor_summary, gc_off=True),
    Contender("analyze", "analyze", "analyze", _analyze_setup, _analyze_summary),
    Contender("pandas", "pandas groupby", "pandas", _pandas_setup, _pandas_summary),
)
ANALYZE_TARGETS = (
    ("analyze / floor time", "analyze", "floor", "seconds", "<=", 2.0),
    ("pandas / analyze time", "pandas", "analyze", "seconds", ">", 1.0),
)


def report_analyze(args: argparse.Namespace, facts: dict, rows: list[dict]) -> dict:
    by_key = {row["key"]: row for row in rows}
    for key in ("analyze", "analyze-floor", "pandas"):
        summary = by_key[key]["summary"]
        assert (summary["symbols"], summary["bars"]) == (facts["symbols"], facts["bars"]), (key, summary)
    print()
    print(
        f"analyze: {facts['bars']:,} bars ({facts['symbols']:,} symbols x {facts['bars_per_symbol']:,}) of processed "
        f"JSON Lines, {facts['bytes'] / 2**20:.1f} MiB; best of {args.repeat}; analyze = JSON Lines to finished "
        "record (metrics, anomalies, aggregates, offline insights), as the handler runs it"
    )
    print_table(rows)
    return {"input": facts, "contenders": rows, "ratios": ratios(rows, ANALYZE_TARGETS)}
