"""The files `sandbox.power_tune` measures on: a typical daily file and the largest legal ones.

"Largest legal" is every way a file can be as big as ingest accepts (docs/limits.md): just under
`MAX_INPUT_MB` (200 MiB) as Twelve Data sends it (the columnar reader), the same with 40 % bad bars
(reject lines are longer than the bars they refuse), a plain CSV of minute bars (one row a line:
the most bars a 200 MiB file holds), and a JSON file the generic decoder must read (numbers as
JSON numbers) whose memory estimate is just under the decoder's budget
(`chalicelib.ingest.limits.GENERIC_DECODE_BUDGET_BYTES`). Each is generated once into the output
folder with its facts beside it; all stay under `MAX_SYMBOLS` and `MAX_BARS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import orjson

LARGEST_SYMBOLS = 1000
REJECT_HEAVY = 0.4
_FILL = 0.99  # of a limit: just under it


def _facts(path: Path, facts: dict) -> dict:
    path.with_suffix(".facts.json").write_text(json.dumps(facts, indent=2) + "\n")
    return facts


def _cached(path: Path, make: Callable[[Path], dict]) -> dict:
    facts = path.with_suffix(".facts.json")
    if path.exists() and facts.exists():
        return json.loads(facts.read_text())
    return make(path)


def typical_file(path: Path, symbols: int = 50, bars: int = 30) -> dict:
    """The cost workload's file: `symbols` x `bars` daily bars, Twelve Data's multi-symbol shape."""
    from sandbox.bench_ingest import generate_input

    def make(target: Path) -> dict:
        generate_input(target, symbols, bars, 0.0, 7)
        return json.loads(target.with_suffix(".facts.json").read_text())

    return _cached(path, make)


def columnar_json(path: Path, bad_fraction: float = 0.0) -> dict:
    """Twelve Data's multi-symbol JSON, as many daily bars as fit under MAX_INPUT_MB."""
    from chalicelib.config import Settings
    from sandbox.bench_ingest import generate_input

    def make(target: Path) -> dict:
        limit = Settings().max_input_bytes
        probe = target.with_suffix(".probe.json")
        generate_input(probe, LARGEST_SYMBOLS, 100, bad_fraction, 7)
        per_bar = probe.stat().st_size / (LARGEST_SYMBOLS * 100)
        probe.unlink()
        probe.with_suffix(".facts.json").unlink()
        generate_input(target, LARGEST_SYMBOLS, int(limit * 0.995 / per_bar / LARGEST_SYMBOLS), bad_fraction, 7)
        if target.stat().st_size > limit:
            raise RuntimeError(f"{target} is over the {limit}-byte limit; lower the estimate")
        facts = json.loads(target.with_suffix(".facts.json").read_text())
        return _facts(
            target, {**facts, "kind": "Twelve Data JSON" + (f", {bad_fraction:.0%} bad" if bad_fraction else "")}
        )

    return _cached(path, make)


def plain_csv(path: Path) -> dict:
    """One symbol's minute bars as a plain CSV (one row a line), just under MAX_INPUT_MB."""
    from chalicelib.config import Settings
    from chalicelib.ingest.limits import MAX_BARS

    def make(target: Path) -> dict:
        import numpy as np

        limit = int(Settings().max_input_bytes * _FILL)
        rows = min(MAX_BARS - 1, limit // 44)
        minutes = np.datetime64("2012-01-02T00:00") + np.arange(rows).astype("timedelta64[m]")
        stamps = np.datetime_as_string(minutes, unit="m")
        close = 100 + (np.arange(rows) % 997) / 10
        lines = [b"datetime,open,high,low,close,volume\n"]
        for stamp, price in zip(stamps.tolist(), close.tolist(), strict=True):
            lines.append(
                f"{stamp.replace('T', ' ')},{price:.1f},{price + 1:.1f},{price - 1:.1f},{price:.1f},1234\n".encode()
            )
        body = b"".join(lines)
        if len(body) > limit:  # whole rows only
            body = body[: body.rindex(b"\n", 0, limit) + 1]
        target.write_bytes(body)
        return _facts(target, {"file": target.name, "bytes": len(body), "bars": body.count(b"\n") - 1, "kind": "CSV"})

    return _cached(path, make)


def generic_json(path: Path) -> dict:
    """A multi-symbol JSON with numbers as JSON numbers (the generic decoder's), its memory
    estimate just under the decoder's budget."""
    from chalicelib.config import Settings
    from chalicelib.ingest.limits import GENERIC_DECODE_BUDGET_BYTES, generic_decode_estimate

    def make(target: Path) -> dict:
        def document(bars_per_symbol: int) -> bytes:
            chunks = []
            for s in range(LARGEST_SYMBOLS):
                values = [
                    {"datetime": f"{2000 + i // 336:04d}-{1 + i // 28 % 12:02d}-{1 + i % 28:02d}",
                     "open": 100.5 + s, "high": 101.5 + s, "low": 99.5 + s, "close": 100.0 + s, "volume": 1000 + i}
                    for i in range(bars_per_symbol)
                ]  # fmt: skip
                meta = {"symbol": f"SYM{s:04d}", "interval": "1day"}
                chunks.append(orjson.dumps(f"SYM{s:04d}") + b":" + orjson.dumps({"meta": meta, "values": values}))
            return b"{" + b",".join(chunks) + b"}"

        # dates 2000-01-01 .. 2025-12-28: 26 years of 12 x 28 days, all in the past
        bars, body = 100, document(100)
        for _ in range(2):  # the estimate per bar, then once more from the file it gave
            per_bar = generic_decode_estimate(body) / (LARGEST_SYMBOLS * bars)
            bars = min(int(GENERIC_DECODE_BUDGET_BYTES * _FILL / per_bar / LARGEST_SYMBOLS), 336 * 26)
            body = document(bars)
        if generic_decode_estimate(body) > GENERIC_DECODE_BUDGET_BYTES or len(body) > Settings().max_input_bytes:
            raise RuntimeError(f"{target} would be refused; lower the estimate")
        target.write_bytes(body)
        facts = {"file": target.name, "bytes": len(body), "bars": bars * LARGEST_SYMBOLS, "kind": "generic JSON"}
        return _facts(target, {**facts, "decode_estimate_mib": round(generic_decode_estimate(body) / 2**20)})

    return _cached(path, make)


# name -> (file name, generator): every way a file can be as big as ingest accepts.
LARGEST_CASES: dict[str, tuple[str, Callable[[Path], dict]]] = {
    "json": ("largest.json", columnar_json),
    "json-rejects": ("largest-rejects.json", lambda path: columnar_json(path, REJECT_HEAVY)),
    "csv": ("PT_1min.csv", plain_csv),
    "generic-json": ("largest-generic.json", generic_json),
}
