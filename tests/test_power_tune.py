"""Each function's memory: modelled from measurements, chosen, and what both deploy paths configure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.resources import FUNCTION_MEMORY_MB
from sandbox.lambda_runtime import function_config
from sandbox.power_tune import CPU_MB, SIZES, TUNED, choose, measure_function, modelled_seconds
from tests.conftest import REPO

RESULTS = REPO / "sandbox" / "measurements" / "power-tune.json"


def _run(cpu: float, waiting: float = 0.0, peak: float = 100.0, init: float = 0.0) -> dict:
    return {"init_cpu": init, "cpu": cpu, "init_wall": init, "wall": cpu + waiting, "peak_mib": peak}


def test_cpu_time_scales_with_the_memorys_share_of_a_vcpu_and_waiting_does_not():
    run = _run(cpu=0.9, waiting=0.2, init=0.1)
    assert modelled_seconds(run, CPU_MB) == pytest.approx(1.2)
    assert modelled_seconds(run, 3008) == pytest.approx(1.2)  # single-threaded: no faster past one vCPU
    assert modelled_seconds(run, 512) == pytest.approx(1.0 * 1769 / 512 + 0.2)


def test_the_choice_is_the_cheapest_size_that_holds_the_largest_file_in_time():
    # CPU-bound: GB-s are flat below 1,769 MB, and waiting makes smaller sizes cheaper still.
    chosen, rows = choose(_run(0.5, waiting=0.1), _run(2.0, peak=700), timeout_s=120)
    assert [row["memory_mb"] for row in rows] == list(SIZES)
    assert chosen == 1024  # 700 MiB x 1.3 = 910: the first size over it
    # 64 MiB at least to spare: 100 MiB needs 164, so 256 MB
    assert choose(_run(0.5, waiting=0.1), _run(0.5, peak=100), timeout_s=60)[0] == 256
    # Pure CPU work costs the same at every size up to a vCPU: then the faster one.
    assert choose(_run(0.5), _run(0.5, peak=100), timeout_s=60)[0] == CPU_MB
    # A largest file that would take over half the timeout at 1,024 MB rules that size out.
    slow = _run(40.0, peak=700)
    assert modelled_seconds(slow, 1024) > 60 and modelled_seconds(slow, 1280) < 60
    assert choose(_run(0.5, waiting=0.1), slow, timeout_s=120)[0] == 1280
    with pytest.raises(RuntimeError, match="no size holds"):
        choose(_run(0.5), _run(1.0, peak=4000), timeout_s=60)


def test_the_configured_memory_is_the_measured_choice_and_holds_the_largest_file():
    results = json.loads(RESULTS.read_text())
    for case in ("json", "json-rejects", "csv"):
        assert 0.97 * 200 * 2**20 < results["files"][case]["bytes"] <= 200 * 2**20  # just under MAX_INPUT_MB
    assert results["files"]["generic-json"]["decode_estimate_mib"] > 0.97 * 1280  # just under the budget
    for function in TUNED:
        result = results["functions"][function]
        chosen, _ = choose(result["typical"], result["largest"], result["timeout_s"])
        assert chosen == result["chosen_mb"] == FUNCTION_MEMORY_MB[function], function
        assert FUNCTION_MEMORY_MB[function] > result["largest"]["peak_mib"] * 1.3
        assert modelled_seconds(result["largest"], chosen) < result["timeout_s"] / 2
    # Every way a file can be as big as ingest accepts was measured, through all three functions,
    # and the worst of them is what each size must hold.
    assert set(results["cases"]) == {"typical", "json", "json-rejects", "csv", "generic-json"}
    for function in TUNED:
        peaks = [results["cases"][case][function]["peak_mib"] for case in results["cases"] if case != "typical"]
        assert results["functions"][function]["largest"]["peak_mib"] == max(peaks)


@pytest.mark.parametrize("stage", ["dev", "uat", "prod"])
def test_every_stage_of_the_chalice_config_has_the_chosen_memory(stage):
    for function, memory in FUNCTION_MEMORY_MB.items():
        assert function_config(function, stage)["lambda_memory_size"] == memory, (stage, function)


def test_a_child_measures_a_functions_cpu_and_peak_memory(tmp_path: Path):
    from sandbox.bench_ingest import generate_input

    source = tmp_path / "in.json"
    generate_input(source, 3, 40, 0.0, 7)
    run = measure_function("ingest", source, tmp_path / "processed.jsonl")
    assert run["cpu"] >= 0 and run["init_cpu"] > 0 and 30 < run["peak_mib"] < 1000
    assert len((tmp_path / "processed.jsonl").read_bytes().splitlines()) == 3 * 40


@pytest.mark.slow
def test_the_terraform_package_has_the_chosen_memory(terraform_package):
    chalice_tf = json.loads((terraform_package / "chalice.tf.json").read_text())
    functions = chalice_tf["resource"]["aws_lambda_function"]
    sizes = {body["function_name"]: body["memory_size"] for body in functions.values()}
    assert sizes["stock-insights-dev-ingest"] == FUNCTION_MEMORY_MB["ingest"]
    assert sizes["stock-insights-dev-analyze"] == FUNCTION_MEMORY_MB["analyze"]
    assert sizes["stock-insights-dev-notify"] == FUNCTION_MEMORY_MB["notify"]
    assert sizes["stock-insights-dev"] == FUNCTION_MEMORY_MB["api_handler"]


def test_the_docs_show_the_saved_measurements_table():
    from sandbox.power_tune import table_markdown

    assert table_markdown(json.loads(RESULTS.read_text())) in (REPO / "docs" / "cost.md").read_text()
