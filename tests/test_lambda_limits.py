"""The sandbox ends a delivery as Lambda would when its handler passes the function's memory or time."""

from __future__ import annotations

import time

import pytest

from sandbox import embedded, lambda_limits
from sandbox.lambda_limits import RUNTIME_BASELINE_MB, Invocation, LambdaLimitExceeded

MIB = 2**20


def _allocate(mib: int) -> list:
    """`mib` MiB held in 1 MiB pieces (pages touched), in Python code the watcher can interrupt."""
    held = []
    for _ in range(mib):
        held.append(bytearray(b"x" * MIB))
    return held


def test_a_handler_past_its_memory_size_is_ended_with_lambdas_out_of_memory_error():
    with pytest.raises(
        LambdaLimitExceeded, match=r"Runtime\.OutOfMemory: ingest used about .* over its memory size of"
    ):
        with Invocation("ingest", memory_mb=RUNTIME_BASELINE_MB + 64, timeout_s=60):
            held = _allocate(400)
            time.sleep(0.2)  # pragma: no cover - never reached: the watcher ends the call before
    assert "held" not in locals()


def test_a_handler_past_its_timeout_is_ended_with_lambdas_timeout_error():
    started = time.monotonic()
    with pytest.raises(LambdaLimitExceeded, match=r"Task timed out after 0\.30 seconds \(analyze\)"):
        with Invocation("analyze", memory_mb=3008, timeout_s=0.3):
            while True:
                time.sleep(0.01)
    assert time.monotonic() - started < 2


def test_except_exception_in_the_handler_does_not_catch_the_end():
    cleaned_up = []
    with pytest.raises(LambdaLimitExceeded):
        with Invocation("ingest", memory_mb=3008, timeout_s=0.2):
            try:
                while True:
                    time.sleep(0.01)
            except Exception:  # a killed runtime runs no handler code
                cleaned_up.append(True)
    assert cleaned_up == []


def test_a_handler_within_its_limits_returns_and_reports_what_it_used():
    with Invocation("ingest", memory_mb=3008, timeout_s=60) as call:
        held = _allocate(100)
    assert len(held) == 100
    # Memory the process freed earlier and still holds is reused without growing the peak, so
    # what is counted can be less than what was allocated, never much more.
    assert RUNTIME_BASELINE_MB <= call.peak_mb <= RUNTIME_BASELINE_MB + 160
    assert 0 < call.elapsed_s < 60


def test_what_the_handler_stores_in_the_embedded_s3_is_not_its_memory():
    stored = [0]
    with Invocation("ingest", memory_mb=RUNTIME_BASELINE_MB + 64, timeout_s=60, stored_bytes=lambda: stored[0]):
        held = []
        for _ in range(200):  # each MiB "uploaded": held by S3 (moto), not by the function
            held.append(bytearray(b"x" * MIB))
            stored[0] += MIB
    assert len(held) == 200


def test_a_call_that_ends_past_its_timeout_between_two_samples_still_fails(monkeypatch):
    monkeypatch.setattr(lambda_limits, "_POLL_S", 60)  # the watcher never samples in time
    with pytest.raises(LambdaLimitExceeded, match="timed out"):
        with Invocation("notify", memory_mb=3008, timeout_s=0.05):
            time.sleep(0.1)


# --- through the embedded account -----------------------------------------------------------------


def _csv(rows: int) -> bytes:
    lines = b"".join(
        b"2024-01-%02d %02d:%02d,1,2,0.5,1.5,%d\n" % (1 + i // 1440 % 28, i // 60 % 24, i % 60, i) for i in range(rows)
    )
    return b"datetime,open,high,low,close,volume\n" + lines


def _limited(monkeypatch, function: str, **config):
    real = embedded.function_config
    monkeypatch.setattr(
        embedded, "function_config", lambda name: {**real(name), **(config if name == function else {})}
    )
    monkeypatch.setenv("MARKER_WAIT_SECONDS", "0.01")  # a retry finding the killed attempt's marker fails at once


def test_an_ingest_past_its_memory_size_is_retried_and_dead_lettered_as_in_lambda(monkeypatch):
    _limited(monkeypatch, "ingest", lambda_memory_size=RUNTIME_BASELINE_MB + 20)
    with embedded.EmbeddedAWS() as env:
        env.upload("inputs/AAPL_1min.csv", _csv(400_000))  # 16 MiB: ingest needs far more than 20 MiB
        [delivery] = env.run_until_idle()
    assert delivery.handler == "ingest" and delivery.dead_lettered and delivery.attempts == 3
    assert delivery.errors[0].startswith("LambdaLimitExceeded: Runtime.OutOfMemory: ingest used about")


def test_an_ingest_past_its_timeout_is_retried_and_dead_lettered_as_in_lambda(monkeypatch):
    _limited(monkeypatch, "ingest", lambda_timeout=0.05)
    with embedded.EmbeddedAWS() as env:
        env.upload("inputs/AAPL_1min.csv", _csv(200_000))
        [delivery] = env.run_until_idle()
    assert (
        delivery.dead_lettered
        and delivery.errors[0] == "LambdaLimitExceeded: Task timed out after 0.05 seconds (ingest)"
    )


def test_the_same_file_within_the_functions_limits_runs_through(monkeypatch):
    with embedded.EmbeddedAWS() as env:
        env.upload("inputs/AAPL_1min.csv", _csv(50_000))
        deliveries = env.run_until_idle()
    assert [d.error for d in deliveries] == [None] * len(deliveries)
    assert {d.handler for d in deliveries} >= {"ingest", "analyze"}
