"""The CSV memory cases of `python -m sandbox.bench`: ingest's peak RSS on big CSVs, against the bound.

- `memory-csv`: a 193 MiB CSV of valid minute bars (2.9 million rows);
- `memory-csv-rejects`: a 150 MiB CSV whose rows all share one datetime, so every row but the first
  is a `duplicate_timestamp` reject (several times the file's size in reject lines).

Both are measured as the handler runs ingest: its processed and reject lines go to sinks that keep
at most one part (`storage.PART_BYTES`) before it is uploaded, as `storage.PartWriter` does; the
peak RSS is then the ingest core's own. The bound is `bench_memory`'s: 4 x the file's size + 300
MiB (target: ratio < 1). The files come from `sandbox.big_inputs` (the chaos suite's big group),
written once under bench-out/ by a child process.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox import big_inputs
from sandbox.bench_core import Contender

GENERATOR_VERSION = 1
VALID_MIB = 193
REJECTS_MIB = 150
_CSV_KEY = "inputs/BIG_1min.csv"
_FUTURE_SLACK_S = 86_400


class PartSink:
    """Lines kept until a part's worth is there, then hashed, counted and let go: what
    `storage.PartWriter` holds in memory, without the upload."""

    def __init__(self, part_bytes: int):
        self.part_bytes = part_bytes
        self.buffer = bytearray()
        self.size = 0
        self.lines = 0
        self.sha1 = hashlib.sha1()

    def __iadd__(self, data: Any) -> PartSink:
        self.buffer += data
        self.size += len(data)
        if len(self.buffer) >= self.part_bytes:
            self.flush()
        return self

    def __len__(self) -> int:
        return self.size

    def flush(self) -> None:
        self.lines += self.buffer.count(b"\n")
        self.sha1.update(self.buffer)
        self.buffer = bytearray()


def _setup() -> Callable[[bytes], Any]:
    from chalicelib.ingest.pipeline import ingest_document
    from chalicelib.storage import PART_BYTES

    now = int(time.time())

    def ingest_in_parts(raw: bytes) -> Any:
        outcome = ingest_document(
            raw,
            _CSV_KEY,
            now,
            max_bytes=2**31,
            future_slack_s=_FUTURE_SLACK_S,
            processed=PartSink(PART_BYTES),
            rejects=PartSink(PART_BYTES),
        )
        outcome.processed.flush()
        outcome.rejects.flush()
        return outcome

    return ingest_in_parts


def _summary(outcome: Any) -> dict:
    counts = dict(outcome.counts)
    assert counts["valid"] + counts["rejected"] == counts["input"], counts
    assert outcome.processed.lines == counts["valid"], (outcome.processed.lines, counts)
    return {
        "counts": counts,
        "reject_rules": dict(sorted(outcome.reject_rules.items())),
        "processed_bytes": outcome.processed.size,
        "processed_sha1": outcome.processed.sha1.hexdigest(),
        "rejects_lines": outcome.rejects.lines,
    }


CSV_CONTENDERS = (Contender("ingest-parts", "ingest, lines in parts", "ingest", _setup, _summary, gc_off=True),)

_KINDS = {
    "valid": (VALID_MIB, big_inputs.valid_csv, big_inputs.valid_csv_rows),
    "rejects": (REJECTS_MIB, big_inputs.all_duplicate_csv, big_inputs.all_duplicate_csv_rows),
}


def ensure_csv(kind: str, out_dir: Path, root: Path) -> tuple[Path, dict]:
    """The `kind` CSV ("valid" or "rejects") and its facts, generated once in a child process."""
    mib = _KINDS[kind][0]
    path = out_dir / f"csv-{kind}-{mib}MiB-v{GENERATOR_VERSION}.csv"
    facts_path = path.with_suffix(".facts.json")
    if not (path.exists() and facts_path.exists()):
        print(f"generating {path.relative_to(root)} …", file=sys.stderr, flush=True)
        command = [sys.executable, "-m", "sandbox.bench_csv", "--generate", kind, str(path)]
        subprocess.run(command, cwd=root, check=True)
    return path, json.loads(facts_path.read_text())


def generate(kind: str, path: Path) -> None:
    mib, make, rows = _KINDS[kind]
    body = make(mib)
    facts = {"file": path.name, "bytes": len(body), "symbols": 1, "bars": rows(mib)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".facts.json").write_text(json.dumps(facts, indent=2) + "\n")
    partial = path.with_suffix(".partial")
    partial.write_bytes(body)
    partial.replace(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.bench_csv", description="generate a CSV memory input")
    parser.add_argument("--generate", nargs=2, metavar=("KIND", "PATH"), required=True)
    args = parser.parse_args(argv)
    kind, path = args.generate
    started = time.perf_counter()
    generate(kind, Path(path))
    print(f"  generated in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
