"""What every benchmark case of `python -m sandbox.bench` shares: contenders, cases, the table and ratios."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench-out"
_INPUT: dict[str, Path] = {}  # the child's input file, for contenders that read it themselves


@dataclass(frozen=True)
class Contender:
    """One measured implementation. `setup` runs untimed (imports) and returns the timed work."""

    key: str  # command-line name, e.g. for --profile
    label: str  # table row
    role: str  # rows of one role are alternatives; a ratio uses the role's best row
    setup: Callable[[], Callable[[bytes], Any]]
    summary: Callable[[Any], dict]  # untimed: counts (and checks) from the work's result
    gc_off: bool = False  # gc.disable() … gc.enable() around the work, inside the timing
    # A program timed as a whole process instead, from its spawn to its exit: (input, scratch
    # folder) -> its command; `summary` then gets its stdout.
    process: Callable[[Path, Path], list[str]] | None = None


@dataclass(frozen=True)
class Case:
    """A benchmark: an input file, the contenders run on it, and a report on their measurements."""

    prepare: Callable[[argparse.Namespace], tuple[Path, dict]]  # (input file, facts about it)
    contenders: tuple[Contender, ...]
    report: Callable[[argparse.Namespace, dict, list[dict]], dict]  # (args, facts, rows) -> JSON results

    def contender(self, key: str) -> Contender:
        return next(c for c in self.contenders if c.key == key)


def best(rows: list[dict], role: str, measure_name: str) -> float:
    """The role's best row for a measure: lower is better for both time and memory."""
    return min(row[measure_name] for row in rows if row["role"] == role)


def print_table(rows: list[dict]) -> None:
    print(f"  {'contender':<20} {'seconds':>9} {'peak RSS MiB':>13} {'after read MiB':>15}")
    for row in rows:
        print(f"  {row['label']:<20} {row['seconds']:9.3f} {row['peak_rss_mib']:13.1f} {row['ready_rss_mib']:15.1f}")


def ratios(rows: list[dict], targets: tuple) -> list[dict]:
    ratios = []
    for name, top, bottom, measure_name, comparison, target in targets:
        value = best(rows, top, measure_name) / best(rows, bottom, measure_name)
        passed = {"<=": value <= target, ">=": value >= target, ">": value > target}[comparison]
        ratios.append({"name": name, "value": value, "comparison": comparison, "target": target, "pass": passed})
    print()
    for ratio in ratios:
        verdict = "PASS" if ratio["pass"] else "FAIL  <-- target missed"
        print(
            f"  {ratio['name']:<26} {ratio['value']:6.2f}   target {ratio['comparison']} {ratio['target']:<4}  {verdict}"
        )
    missed = [r["name"] for r in ratios if not r["pass"]]
    print()
    print("all targets met" if not missed else "targets missed: " + "; ".join(missed))
    return ratios
