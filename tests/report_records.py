"""Analysis records for the notifier's tests, made by the real analyze core from generated bars."""

from __future__ import annotations

import datetime as dt
import random

import orjson

from chalicelib.analyze.insights import OfflineInsights
from chalicelib.analyze.service import analyze, empty_metrics
from chalicelib.config import Settings

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def closes_walk(seed: int, n: int = 40, start: float = 100.0, drift: float = 0.0, last_move_pct: float = 0.0):
    """A reproducible random walk; `last_move_pct` makes the last bar jump (a price_move anomaly)."""
    rng = random.Random(seed)
    closes = [start]
    for _ in range(n - 2):
        closes.append(round(closes[-1] * (1 + drift + rng.uniform(-0.015, 0.015)), 4))
    closes.append(round(closes[-1] * (1 + last_move_pct / 100), 4))
    return closes


def make_record(
    series: dict[str, list[float]],
    *,
    spike_volume: tuple[str, ...] = (),
    rejected: dict[str, int] | None = None,
    symbol_errors: int = 0,
    empty_symbols: tuple[str, ...] = (),
    input_key: str = "inputs/prices.json",
    etag: str = "0123456789abcdef0123456789abcdef",
    day0: dt.date = dt.date(2024, 1, 1),
    bar_times: dict | None = None,
) -> dict:
    """The analysis record `analyze` builds for these closes (one daily bar per close from `day0`);
    `bar_times` receives each series' datetimes of its recent closes."""
    lines = []
    for symbol, closes in series.items():
        for i, close in enumerate(closes):
            volume = 1_000_000 * (4 if symbol in spike_volume and i == len(closes) - 1 else 1)
            lines.append(
                {
                    "symbol": symbol,
                    "interval": "1day",
                    "datetime": (day0 + dt.timedelta(days=i)).isoformat(),
                    "open": close,
                    "high": close * 1.01,
                    "low": close * 0.99,
                    "close": close,
                    "volume": volume,
                }
            )
    valid = len(lines)
    rejected = rejected or {}
    n_rejected = sum(rejected.values())
    detail = {
        "bucket": "test-bucket",
        "input_key": input_key,
        "etag": etag,
        "processed_key": f"processed/bars/{input_key}/{etag}.jsonl",
        "rejects_key": f"rejects/{input_key}/{etag}.jsonl",
        "counts": {"input": valid + n_rejected, "valid": valid, "rejected": n_rejected, "symbol_errors": symbol_errors},
        "correlation_id": "corr-1234-abcd",
    }
    body = b"\n".join(orjson.dumps(line) for line in lines)
    record = dict(analyze(body, detail, Settings(), OfflineInsights(), tuple(empty_symbols), bar_times=bar_times))
    record["reject_rules"] = dict(rejected)
    record["symbol_errors"] = symbol_errors
    for symbol in empty_symbols:
        assert record["symbols"][symbol]["bars"] == 0 or record["symbols"][symbol] == empty_metrics()
    return record


def market_record() -> dict:
    """Three symbols: one up strongly (with a price move), one down, one flat-ish with a volume spike."""
    return make_record(
        {
            "UPCO": closes_walk(1, drift=0.004, last_move_pct=7.5),
            "DOWNCO": closes_walk(2, drift=-0.004, last_move_pct=-3.0),
            "FLATCO": closes_walk(3, last_move_pct=0.4),
        },
        spike_volume=("FLATCO",),
        rejected={"bad_number": 5, "ohlc_inconsistent": 3, "duplicate_timestamp": 1},
        symbol_errors=1,
        empty_symbols=("GONE",),
    )


def hostile_record() -> dict:
    """Markup in symbol names (data) and in every text the model writes."""
    record = make_record(
        {
            SCRIPT: closes_walk(4, last_move_pct=6.0),
            IMG: closes_walk(5, last_move_pct=-6.0),
            "SAFE": closes_walk(6),
        },
        rejected={SCRIPT: 2},
    )
    record["executive_summary"] = f"Model says {SCRIPT} and {IMG}"
    for insight in (s["insight"] for s in record["symbols"].values()):
        for key in insight:
            insight[key] = f"{key}: {SCRIPT} {IMG}"
    record["insights"] = {
        "source": "bedrock",
        "model": IMG,
        "input_tokens": 1234,
        "output_tokens": 567,
        "cost_usd": 0.00021,
        "notes": [SCRIPT],
    }
    record["correlation_id"] = "corr\r\nBcc: victim@example.com"
    return record


def record_from_file(raw: bytes, key: str = "inputs/prices.json", settings: Settings | None = None) -> dict:
    """The record for an input file, through the real cores: ingest, then analyze with its rejects."""
    from chalicelib.analyze.record import symbol_error_entry
    from chalicelib.ingest.pipeline import ingest_document

    settings = settings or Settings()
    outcome = ingest_document(raw, key, 2_000_000_000, max_bytes=10**8, future_slack_s=86_400)
    rejects = [orjson.loads(line) for line in outcome.rejects.splitlines()]
    without_bars = sorted({r["symbol"] for r in rejects if r["rule"] != "symbol_error"} - set(outcome.symbols))
    errors = tuple(symbol_error_entry(r) for r in rejects if r["rule"] == "symbol_error")
    detail = {
        "bucket": "test-bucket",
        "input_key": key,
        "etag": "0123456789abcdef0123456789abcdef",
        "processed_key": f"processed/bars/{key}/x.jsonl",
        "rejects_key": f"rejects/{key}/x.jsonl",
        "counts": dict(outcome.counts),
        "reject_rules": dict(outcome.reject_rules),
        "correlation_id": "corr-1234-abcd",
        "exchange_timezones": dict(outcome.exchange_timezones),
    }
    provider = OfflineInsights(settings.metric_settings())
    return dict(analyze(outcome.processed, detail, settings, provider, tuple(without_bars), errors))


def bars_file(series: dict[str, list[tuple[float, int]]]) -> bytes:
    """A multi-symbol Twelve Data file: per symbol, (close, volume) per day, oldest first."""
    day0 = dt.date(2024, 1, 1)
    document = {}
    for symbol, rows in series.items():
        values = [
            {
                "datetime": (day0 + dt.timedelta(days=i)).isoformat(),
                "open": f"{close:.4f}",
                "high": f"{close * 1.01:.4f}",
                "low": f"{close * 0.99:.4f}",
                "close": f"{close:.4f}",
                "volume": str(volume),
            }
            for i, (close, volume) in enumerate(rows)
        ]
        document[symbol] = {"meta": {"symbol": symbol, "interval": "1day"}, "values": values[::-1], "status": "ok"}
    return orjson.dumps(document)
