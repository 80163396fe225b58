"""`python -m sandbox.bench [CASE…]`: time and peak-memory benchmarks, one fresh process per measured run.

Case `ingest` (what `make bench` is for): a 1,000,000-bar Twelve Data multi-symbol file goes through
`ingest_document` exactly as the handler calls it. The same file also goes through a floor
(`orjson.loads` plus one `orjson.dumps` per bar) and through a straightforward per-record Python
baseline. The table goes to stdout and the figures to `bench-out/<case>.json`.

Every run is a new `python -m sandbox.bench --contender …` process. It imports what it needs, reads
the file, and times only the work. Its peak RSS is `ru_maxrss`. That figure includes the parent's peak
when the child is started by vfork, so the parent never holds big data: even the input file is
generated in a child process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox import bench_csv, bench_memory
from sandbox.bench_analyze import ANALYZE_CONTENDERS, ensure_analyze_input, generate_processed, report_analyze
from sandbox.bench_core import _INPUT, OUT_DIR, ROOT, Case, Contender
from sandbox.bench_csv import CSV_CONTENDERS
from sandbox.bench_deploy import DEPLOY_CONTENDERS, ensure_package, report_deploy
from sandbox.bench_ingest import (
    INGEST_CONTENDERS,
    _ingest_setup,
    _ingest_summary,
    ensure_input,
    generate_input,
    report_ingest,
)
from sandbox.bench_sandbox import SANDBOX_CONTENDERS, report_sandbox

# --------------------------------------------------------------------------------------------
# The memory cases: ingest's peak RSS on reject-heavy files (sandbox/bench_memory.py) and on big
# CSVs with its lines written in parts, as the handler writes them (sandbox/bench_csv.py)
# --------------------------------------------------------------------------------------------

MEMORY_CONTENDERS = (Contender("ingest", "ingest (gc off)", "ingest", _ingest_setup, _ingest_summary, gc_off=True),)


def _memory_case(
    name: str,
    prepare: Callable[[argparse.Namespace], tuple[Path, dict]],
    contenders: tuple[Contender, ...] = MEMORY_CONTENDERS,
) -> Case:
    return Case(
        prepare=prepare,
        contenders=contenders,
        report=lambda args, facts, rows: bench_memory.report_memory(name, facts, rows),
    )


CASES: dict[str, Case] = {
    "ingest": Case(prepare=ensure_input, contenders=INGEST_CONTENDERS, report=report_ingest),
    "sandbox": Case(prepare=ensure_input, contenders=SANDBOX_CONTENDERS, report=report_sandbox),
    "analyze": Case(prepare=ensure_analyze_input, contenders=ANALYZE_CONTENDERS, report=report_analyze),
    "deploy": Case(prepare=ensure_package, contenders=DEPLOY_CONTENDERS, report=report_deploy),
    "memory-rejects": _memory_case("memory-rejects", lambda args: bench_memory.ensure_all_duplicates(OUT_DIR, ROOT)),
    "memory-bad40": _memory_case("memory-bad40", lambda args: ensure_input(bench_memory.with_bad_fraction(args))),
    "memory-csv": _memory_case("memory-csv", lambda args: bench_csv.ensure_csv("valid", OUT_DIR, ROOT), CSV_CONTENDERS),
    "memory-csv-rejects": _memory_case(
        "memory-csv-rejects", lambda args: bench_csv.ensure_csv("rejects", OUT_DIR, ROOT), CSV_CONTENDERS
    ),
}


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def measure(case: str, contenders: tuple[Contender, ...], path: Path, repeat: int) -> list[dict]:
    """Run every contender `repeat` times (round-robin), each run in a fresh process."""
    runs: dict[str, list[dict]] = {c.key: [] for c in contenders}
    for attempt in range(1, repeat + 1):
        for contender in contenders:
            run = spawn_process(contender, path) if contender.process else spawn(case, contender.key, path)
            runs[contender.key].append(run)
            print(
                f"  [{case}] run {attempt}/{repeat} {contender.label:<18} {run['seconds']:8.3f} s "
                f"{run['peak_rss_mib']:8.1f} MiB",
                file=sys.stderr,
                flush=True,
            )
    rows = []
    for contender in contenders:
        done = runs[contender.key]
        rows.append(
            {
                "key": contender.key,
                "label": contender.label,
                "role": contender.role,
                "gc_off": contender.gc_off,
                "seconds": min(r["seconds"] for r in done),
                "peak_rss_mib": max(r["peak_rss_mib"] for r in done),
                "ready_rss_mib": max(r["ready_rss_mib"] for r in done),
                "runs": [
                    {
                        k: r[k]
                        for k in ("seconds", "cpu_seconds", "peak_rss_mib", "ready_rss_mib", "vm_hwm_mib")
                        if k in r
                    }
                    for r in done
                ],
                "summary": done[0]["summary"],
            }
        )
    return rows


def _child_environment() -> dict[str, str]:
    """The children may cache bytecode: with PYTHONDONTWRITEBYTECODE set (some shells and CI images
    set it) and `make demo`'s `pip --no-compile`, every run compiled moto, boto3 and the app from
    source (1.27 s of a 5.75 s `sandbox run` here), which no user's second run pays."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def spawn_process(contender: Contender, path: Path) -> dict:
    """Run a whole-process contender once: wall time from its spawn to its exit, peak RSS from wait4."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-") as scratch, tempfile.TemporaryFile() as errors:
        command = contender.process(path, Path(scratch))
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, env=_child_environment())
        stdout = child.stdout.read().decode()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        child.stdout.close()
        if child.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(command)} failed ({child.returncode}): {errors.read().decode()[-2000:]}")
    peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024) / 2**20
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,  # steadier than wall time on shared cores
        "peak_rss_mib": peak,
        "ready_rss_mib": 0.0,
        "vm_hwm_mib": None,
        "summary": contender.summary(stdout),
    }


def spawn(case: str, key: str, path: Path, profile: bool = False) -> dict:
    command = [sys.executable, "-m", "sandbox.bench", "--contender", f"{case}:{key}", "--file", str(path)]
    if profile:
        command.append("--profile-run")
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=_child_environment())
    if done.returncode != 0:
        raise SystemExit(f"{case}:{key} failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_contender(case: str, key: str, path: Path, profile: bool) -> None:
    """Child side: set up, read the input, time the work alone, print one JSON line."""
    contender = CASES[case].contender(key)
    _INPUT["path"] = path
    work = contender.setup()
    raw = path.read_bytes()
    ready = _maxrss_mib()
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        work = _profiled(work, profiler)
    started = time.perf_counter()
    if contender.gc_off:
        gc.disable()
    result = work(raw)
    if contender.gc_off:
        gc.enable()
    seconds = time.perf_counter() - started
    peak = _maxrss_mib()
    if profile:
        import pstats

        print(f"{case}:{key} under cProfile, {seconds:.2f} s", file=sys.stderr)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    line = {
        "seconds": seconds,
        "peak_rss_mib": peak,
        "ready_rss_mib": ready,
        "vm_hwm_mib": _vm_hwm_mib(),
        "summary": contender.summary(result),
    }
    print(json.dumps(line))


def _profiled(work: Callable[[bytes], Any], profiler: Any) -> Callable[[bytes], Any]:
    def run(raw: bytes) -> Any:
        return profiler.runcall(work, raw)

    return run


def _maxrss_mib() -> float:
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def _vm_hwm_mib() -> float | None:
    """Linux's peak RSS of this process image alone (a cross-check on ru_maxrss)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", metavar="CASE", help=f"cases to run (default: all of {', '.join(CASES)})")
    parser.add_argument("--symbols", type=int, default=200, help="symbols in the input file (default: 200)")
    parser.add_argument("--bars-per-symbol", type=int, default=5000, help="bars per symbol (default: 5000)")
    parser.add_argument("--bad-fraction", type=float, default=0.001, help="share of bad bars (default: 0.001)")
    parser.add_argument("--seed", type=int, default=20240601, help="generator seed")
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender; best time is kept (default: 3)")
    parser.add_argument("--profile", metavar="CONTENDER", help="run one contender once under cProfile, no table")
    parser.add_argument("--contender", help=argparse.SUPPRESS)  # child: CASE:KEY
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--analyze-symbols", type=int, default=2000, help="analyze case: symbols (default: 2000)")
    parser.add_argument("--analyze-bars", type=int, default=1000, help="analyze case: bars per symbol (default: 1000)")
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)  # child: write the input file
    parser.add_argument("--generate-processed", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.contender:
        case, _, key = args.contender.partition(":")
        run_contender(case, key, args.file, args.profile_run)
        return
    if args.generate:
        generate_input(args.generate, args.symbols, args.bars_per_symbol, args.bad_fraction, args.seed)
        return
    if args.generate_processed:
        generate_processed(args.generate_processed, args.analyze_symbols, args.analyze_bars, args.seed)
        return
    unknown = [name for name in args.cases if name not in CASES]
    if unknown:
        parser.error(f"unknown case {', '.join(unknown)}; choose from {', '.join(CASES)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    cases = args.cases or list(CASES)

    if args.profile:
        for name in cases:
            if any(c.key == args.profile for c in CASES[name].contenders):
                path, _ = CASES[name].prepare(args)
                spawn(name, args.profile, path, profile=True)
                return
        parser.error(f"no contender {args.profile!r} in {', '.join(cases)}")

    for name in cases:
        case = CASES[name]
        path, facts = case.prepare(args)
        rows = measure(name, case.contenders, path, args.repeat)
        results = {
            "case": name,
            "finished_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "repeat": args.repeat,
            **case.report(args, facts, rows),
        }
        OUT_DIR.mkdir(exist_ok=True)
        out = OUT_DIR / f"{name}.json"
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
