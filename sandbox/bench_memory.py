"""The memory cases of `python -m sandbox.bench`: ingest's peak RSS on reject-heavy files.

The bound: ingest's peak RSS stays under 4 x the input's (uncompressed) size + 300 MiB, whatever
the file holds. Two files that used to break it are measured, each in a fresh process by
`sandbox.bench`'s own machinery (`bench.py` declares the cases with the functions below):

- `memory-rejects`: a 50 MiB single-symbol file whose bars all share one datetime, so every bar
  but the first is a `duplicate_timestamp` reject;
- `memory-bad40`: the ingest case's 1,000,000-bar file (200 symbols x 5,000) with 40 % bad bars.

The report gives each peak RSS and its ratio to the bound (target < 1).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import orjson

BOUND_FACTOR = 4
BOUND_EXTRA_MIB = 300
ALL_DUPLICATES_MIB = 50
BAD_FRACTION = 0.4
GENERATOR_VERSION = 1
_BAR = {
    "datetime": "2024-01-02",
    "open": "130.28000",
    "high": "130.90000",
    "low": "124.17000",
    "close": "125.07000",
    "volume": "112117500",
}


def bound_mib(input_bytes: int) -> float:
    return BOUND_FACTOR * input_bytes / 2**20 + BOUND_EXTRA_MIB


def all_duplicates_path(out_dir: Path) -> Path:
    return out_dir / f"all-duplicates-{ALL_DUPLICATES_MIB}MiB-v{GENERATOR_VERSION}.json"


def ensure_all_duplicates(out_dir: Path, root: Path) -> tuple[Path, dict]:
    """The 50 MiB all-duplicate file, generated once in a child process (the parent stays small)."""
    path = all_duplicates_path(out_dir)
    facts_path = path.with_suffix(".facts.json")
    if not (path.exists() and facts_path.exists()):
        print(f"generating {path.relative_to(root)} …", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "sandbox.bench_memory", "--generate", str(path)], cwd=root, check=True)
    return path, json.loads(facts_path.read_text())


def generate_all_duplicates(path: Path) -> None:
    bar = orjson.dumps(_BAR)
    head = orjson.dumps({"symbol": "AAPL", "interval": "1day", "type": "Common Stock"})
    count = (ALL_DUPLICATES_MIB * 2**20 - len(head) - 40) // (len(bar) + 1)
    body = b'{"meta":' + head + b',"values":[' + b",".join([bar] * count) + b'],"status":"ok"}'
    facts = {"file": path.name, "bytes": len(body), "symbols": 1, "bars": count, "expected_rejects": count - 1}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".facts.json").write_text(json.dumps(facts, indent=2) + "\n")
    partial = path.with_suffix(".partial")
    partial.write_bytes(body)
    partial.replace(path)


def with_bad_fraction(args: argparse.Namespace) -> argparse.Namespace:
    """The ingest case's arguments with 40 % bad bars (same symbols, bars and seed)."""
    return argparse.Namespace(**{**vars(args), "bad_fraction": BAD_FRACTION})


def report_memory(name: str, facts: dict, rows: list[dict]) -> dict:
    """Print peak RSS against the bound; returns the JSON results."""
    [row] = rows
    counts = row["summary"]["counts"]
    assert counts["input"] == facts["bars"] and counts["valid"] + counts["rejected"] == counts["input"], counts
    bound = bound_mib(facts["bytes"])
    ratio = row["peak_rss_mib"] / bound
    print()
    print(
        f"{name}: {facts['bytes'] / 2**20:.1f} MiB file, {counts['input']:,} bars, {counts['rejected']:,} rejected; "
        f"bound {BOUND_FACTOR} x size + {BOUND_EXTRA_MIB} MiB = {bound:.0f} MiB"
    )
    print(f"  ingest peak RSS {row['peak_rss_mib']:8.1f} MiB   ratio to the bound {ratio:5.2f}   target < 1   ", end="")
    print("PASS" if ratio < 1 else "FAIL  <-- target missed")
    return {
        "input": facts,
        "contenders": rows,
        "bound_mib": bound,
        "ratios": [
            {"name": "ingest peak RSS / bound", "value": ratio, "comparison": "<", "target": 1.0, "pass": ratio < 1}
        ],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.bench_memory", description="generate a memory-case input")
    parser.add_argument("--generate", type=Path, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    generate_all_duplicates(args.generate)
    print(f"  generated in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
