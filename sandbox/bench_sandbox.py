"""The sandbox case of `python -m sandbox.bench`: `python -m sandbox run FILE` on the ingest case's
1,000,000-bar file, timed as the user times it, as a whole process (interpreter start, imports,
the embedded account, ingest, analyze, the email, the output folder), against the plain floor
timed the same way, as a whole process of its own (`python -m sandbox.floor FILE`).

Both are started by the parent and timed from the spawn to the exit, their peak RSS taken from
`wait4`; each is run `--repeat` times, round-robin, and its best time kept.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sandbox.bench_core import Contender, print_table, ratios


def _floor_command(gc_off: bool):
    def command(path: Path, scratch: Path) -> list[str]:
        return [sys.executable, "-m", "sandbox.floor", str(path), *(["--gc-off"] if gc_off else [])]

    return command


def _sandbox_command(path: Path, scratch: Path) -> list[str]:
    return [sys.executable, "-m", "sandbox", "run", str(path), "--out", str(scratch / "out"), "--json"]


def _floor_summary(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def _sandbox_summary(stdout: str) -> dict:
    report = json.loads(stdout)
    [entry] = report["files"]
    return {
        "status": entry["status"],
        "records": entry["records"],
        "analyses": len(report["analyses"]),
        "emails": len(report["emails"]),
    }


def _not_in_process():  # these contenders are never run inside `--contender`
    raise SystemExit("the sandbox case's contenders run as whole processes")


SANDBOX_CONTENDERS = (
    Contender("floor-process", "plain floor", "floor", _not_in_process, _floor_summary, process=_floor_command(False)),
    Contender(
        "floor-process-gcoff",
        "plain floor (gc off)",
        "floor",
        _not_in_process,
        _floor_summary,
        process=_floor_command(True),
    ),
    Contender("sandbox-run", "sandbox run", "sandbox", _not_in_process, _sandbox_summary, process=_sandbox_command),
)
SANDBOX_TARGETS = (("sandbox run / plain floor time", "sandbox", "floor", "seconds", "<=", 3.0),)


def report_sandbox(args: argparse.Namespace, facts: dict, rows: list[dict]) -> dict:
    by_key = {row["key"]: row for row in rows}
    run = by_key["sandbox-run"]["summary"]
    assert run["status"] == "processed" and run["records"]["input"] == facts["bars"], run
    assert run["emails"] == 1, run
    for key in ("floor-process", "floor-process-gcoff"):
        assert by_key[key]["summary"]["lines"] == facts["bars"], by_key[key]["summary"]
    print()
    print(
        f"sandbox: `python -m sandbox run FILE` on the ingest case's file ({facts['bars']:,} bars, "
        f"{facts['bytes'] / 2**20:.1f} MiB) against `python -m sandbox.floor FILE`, each timed as a whole "
        f"process, from its start to its exit; best of {args.repeat}"
    )
    print_table(rows)
    # CPU time (user + system, from wait4) moves less than wall time when other work shares the
    # cores: reported beside the target's wall-time ratio, as a check on it.
    cpu = {row["role"]: min(run["cpu_seconds"] for run in row["runs"]) for row in rows if row["role"] == "sandbox"}
    cpu["floor"] = min(run["cpu_seconds"] for row in rows if row["role"] == "floor" for run in row["runs"])
    print(
        f"  CPU time, best run: sandbox run {cpu['sandbox']:.2f} s, plain floor {cpu['floor']:.2f} s, "
        f"ratio {cpu['sandbox'] / cpu['floor']:.2f}"
    )
    results = ratios(rows, SANDBOX_TARGETS)
    return {"input": facts, "contenders": rows, "ratios": results, "cpu_ratio": cpu["sandbox"] / cpu["floor"]}
