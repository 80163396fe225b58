"""`python -m sandbox.power_tune`: each function's memory, chosen from measurements.

What AWS Lambda Power Tuning does by running a function at several memory sizes, done here from
one measurement per function and Lambda's documented scaling: a function gets CPU in proportion
to its memory, one full vCPU at 1,769 MB (AWS Lambda Developer Guide, "Configure Lambda function
memory", read 2026-12-05). The functions' work is single-threaded (numpy and Python loops), so
above 1,769 MB it runs no faster.

Each function's work runs in a fresh process (`--child`), as Lambda's would: the init (importing
the app, boto3 and the function's modules), then the input held as the download leaves it, then
the handler's core: ingest validates the file (`ingest_document`), analyze computes the record
from ingest's processed lines and serialises it, notify renders the report and builds the MIME
message. Each reports its CPU seconds (init and work) and its peak RSS (VmHWM). Two files: a
typical daily file (the cost workload, 50 symbols x 30 bars) and the largest legal one (just under
MAX_INPUT_MB, 200 MiB: 1,000 symbols of daily bars; for ingest also one with 40 % bad bars, and
the worse of the two counts). The modelled duration at M MB is the measured
CPU time x max(1, 1,769 / M) (this machine's core taken as one Lambda vCPU) plus the time spent
waiting (wall - CPU). The choice, per function: the cheapest size (GB-seconds on the typical
file) whose memory holds the largest file's peak with `HEADROOM` (and `SPARE_MIB`) to spare and whose modelled
duration on it stays under half the function's timeout. S3 transfer time is not in the model
(the sandbox has no network): the timeout margin covers it.

    python -m sandbox.power_tune [--out build/power-tune] [--json sandbox/measurements/power-tune.json]

writes the table docs/cost.md shows; the chosen sizes are `FUNCTION_MEMORY_MB` in infra/resources.py.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CPU_MB = 1769  # one vCPU's worth of CPU
SIZES = (128, 256, 512, 768, 1024, 1280, 1536, 1769, 2048, 2304, 2560, 3008)
# Memory over the largest file's measured peak: 30 %, and at least 64 MiB, for what the core-only
# run leaves out (the event, the SDK's response buffers, Lambda's runtime client).
HEADROOM = 1.3
SPARE_MIB = 64
TUNED = ("ingest", "analyze", "notify")
# The clients each function's edge creates (chalicelib.aws): their service models are part of its memory.
CLIENTS = {"ingest": ("s3", "events"), "analyze": ("s3", "dynamodb"), "notify": ("s3", "dynamodb", "ses")}
REPEAT = 2  # each measurement's best of two runs (the first may compile the bytecode)


def _vm_hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _PartsToFile:
    """The S3 calls `storage.PartWriter` makes, each part appended to a local file (what it uploads)."""

    def __init__(self, path: Path):
        self.path = path
        path.write_bytes(b"")

    def create_multipart_upload(self, **_: Any) -> dict:
        return {"UploadId": "local"}

    def upload_part(self, Body: Any, PartNumber: int, **_: Any) -> dict:  # noqa: N803 (boto3's names)
        self._append(Body)
        return {"ETag": str(PartNumber)}

    def complete_multipart_upload(self, **_: Any) -> dict:
        return {}

    def put_object(self, Body: Any, **_: Any) -> dict:  # noqa: N803
        self._append(Body)
        return {"ETag": "local"}

    def _append(self, body: Any) -> None:
        with self.path.open("ab") as out:
            out.write(body if isinstance(body, bytes | bytearray) else body.read())


def run_child(function: str, source: Path, target: Path) -> None:
    """Child side: init, then `function`'s core on `source`; its output to `target`; one JSON line."""
    started_cpu, started = _cpu(), time.perf_counter()
    import boto3  # noqa: F401 (the handlers' clients: part of every function's init)
    import orjson

    import app  # noqa: F401
    from chalicelib import aws
    from chalicelib.config import Settings

    settings = Settings()
    for service in CLIENTS[function]:
        aws.client(service)
    if function == "ingest":
        from chalicelib.ingest.pipeline import ingest_document
        from chalicelib.storage import ObjectStore
    elif function == "analyze":
        from chalicelib.analyze.insights import OfflineInsights
        from chalicelib.analyze.service import analyze
    else:
        from chalicelib.notify.mime import build_message
        from chalicelib.notify.render import render_report
    init_cpu, init_wall = _cpu() - started_cpu, time.perf_counter() - started
    work_cpu, work_started = _cpu(), time.perf_counter()
    raw = source.read_bytes()
    key = f"inputs/{source.name}"  # a CSV's symbol and interval come from its name
    if function == "ingest":  # the lines go up in parts as they are written, as the handler's do
        processed = ObjectStore(_PartsToFile(target), "bucket").writer("processed", "application/x-ndjson")
        rejects = ObjectStore(_PartsToFile(target.with_suffix(".rejects")), "bucket").writer("rejects")
        ingest_document(
            raw,
            key,
            int(time.time()),
            max_bytes=settings.max_input_bytes,
            future_slack_s=int(settings.future_slack_hours * 3600),
            processed=processed,
            rejects=rejects,
        )
        processed.close()
        rejects.close()
        output = None
    elif function == "analyze":
        detail = {"bucket": "b", "input_key": key, "etag": "power-tune", "processed_key": "processed/x.jsonl"}
        output = orjson.dumps(analyze(raw, detail, settings, OfflineInsights()))
    else:
        report = render_report(orjson.loads(raw))
        output = build_message(report, settings.sender, settings.recipients, analysis_id="a", correlation_id="c")
    cpu, wall = _cpu() - work_cpu, time.perf_counter() - work_started
    peak = _vm_hwm_mib()
    if output is not None:
        target.write_bytes(output)
    print(json.dumps({"init_cpu": init_cpu, "init_wall": init_wall, "cpu": cpu, "wall": wall, "peak_mib": peak}))


def measure_function(function: str, source: Path, target: Path, repeat: int = REPEAT) -> dict:
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    environment.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    command = [sys.executable, "-m", "sandbox.power_tune", "--child", function, str(source), str(target)]
    runs = []
    for _ in range(repeat):
        done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=environment, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda run: run["init_cpu"] + run["cpu"])
    return {**best, "peak_mib": max(run["peak_mib"] for run in runs)}


def worst(*runs: dict) -> dict:
    """Each figure at its highest over `runs`: the case a size must hold."""
    return {key: max(run[key] for run in runs) for key in runs[0]}


def modelled_seconds(run: dict, memory_mb: int) -> float:
    """Duration at `memory_mb`: CPU time scaled by the CPU share, plus the waiting (not scaled)."""
    cpu = run["init_cpu"] + run["cpu"]
    waiting = max(0.0, run["init_wall"] + run["wall"] - cpu)
    return cpu * max(1.0, CPU_MB / memory_mb) + waiting


def choose(typical: dict, largest: dict, timeout_s: int) -> tuple[int, list[dict]]:
    """(chosen memory, a row per size) for one function."""
    rows = []
    for size in SIZES:
        seconds = modelled_seconds(typical, size)
        largest_seconds = modelled_seconds(largest, size)
        needed = max(largest["peak_mib"] * HEADROOM, largest["peak_mib"] + SPARE_MIB)
        fits = size >= needed and largest_seconds <= timeout_s / 2
        rows.append(
            {
                "memory_mb": size,
                "typical_s": round(seconds, 3),
                "typical_gb_s": round(seconds * size / 1024, 4),
                "largest_s": round(largest_seconds, 2),
                "fits": fits,
            }
        )
    fitting = [row for row in rows if row["fits"]]
    if not fitting:
        raise RuntimeError(f"no size holds the largest file: peak {largest['peak_mib']:.0f} MiB")
    best = min(fitting, key=lambda row: (row["typical_gb_s"], row["typical_s"]))
    return best["memory_mb"], rows


def table_markdown(results: dict) -> str:
    """The docs' table: per function, the measured runs and the modelled sizes."""
    lines = []
    cases = [case for case in results["cases"] if case != "typical"]
    for function, result in results["functions"].items():
        typical, largest = result["typical"], result["largest"]
        peaks = ", ".join(f"{case} {results['cases'][case][function]['peak_mib']:,.0f}" for case in cases)
        lines += [
            f"**{function}** (timeout {result['timeout_s']} s): typical file {typical['init_cpu'] + typical['cpu']:.2f} s "
            f"CPU (init {typical['init_cpu']:.2f} s), peak {typical['peak_mib']:.0f} MiB; largest legal files, "
            f"peak MiB: {peaks}; the worst {largest['init_cpu'] + largest['cpu']:.2f} s CPU, "
            f"{largest['peak_mib']:,.0f} MiB. Chosen: **{result['chosen_mb']:,} MB**.",
            "",
            "| memory (MB) | typical file (s) | typical file (GB-s) | largest file (s) | holds the largest file |",
            "| ---: | ---: | ---: | ---: | :---: |",
        ]
        for row in result["rows"]:
            mark = "yes" if row["fits"] else "no"
            size = f"**{row['memory_mb']:,}**" if row["memory_mb"] == result["chosen_mb"] else f"{row['memory_mb']:,}"
            lines.append(
                f"| {size} | {row['typical_s']:.3f} | {row['typical_gb_s']:.4f} | {row['largest_s']:.2f} | {mark} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.power_tune", description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", nargs=3, metavar=("FUNCTION", "SOURCE", "TARGET"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "power-tune", help="generated files")
    parser.add_argument("--json", type=Path, help="write the results here (e.g. sandbox/measurements/power-tune.json)")
    args = parser.parse_args(argv)
    if args.child:
        function, source, target = args.child
        run_child(function, Path(source), Path(target))
        return 0
    from sandbox.lambda_runtime import function_config
    from sandbox.power_files import LARGEST_CASES, typical_file

    args.out.mkdir(parents=True, exist_ok=True)
    files = {"typical": (args.out / "typical.json", typical_file(args.out / "typical.json"))}
    for case, (name, make) in LARGEST_CASES.items():
        files[case] = (args.out / name, make(args.out / name))
    results: dict = {"files": {name: facts for name, (_, facts) in files.items()}, "functions": {}, "cases": {}}
    measured: dict[str, dict] = {}
    for name, (path, facts) in files.items():
        print(f"{name}: {facts['bytes']:,} bytes, {facts['bars']:,} bars", file=sys.stderr)
        source = path
        for function in TUNED:
            target = args.out / f"{name}-{function}.out"
            run = measure_function(function, source, target, repeat=REPEAT if name == "typical" else 1)
            results["cases"].setdefault(name, {})[function] = measured[f"{function}:{name}"] = run
            print(f"  {function}: {run['cpu']:.2f} s CPU, peak {run['peak_mib']:.0f} MiB", file=sys.stderr)
            source = target
    for function in TUNED:
        measured[f"{function}:largest"] = worst(*(measured[f"{function}:{case}"] for case in LARGEST_CASES))
    for function in TUNED:
        timeout = int(function_config(function).get("lambda_timeout", 60))
        chosen, rows = choose(measured[f"{function}:typical"], measured[f"{function}:largest"], timeout)
        results["functions"][function] = {
            "timeout_s": timeout,
            "typical": measured[f"{function}:typical"],
            "largest": measured[f"{function}:largest"],
            "chosen_mb": chosen,
            "rows": rows,
        }
    print(table_markdown(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
