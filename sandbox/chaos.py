"""The chaos suite (`make chaos`, `python -m sandbox.chaos`): crash the pipeline at every step
and feed it hostile files, on the embedded AWS, then account for every bar, analysis and email.

Scenarios (each in a fresh embedded account, delivered by `sandbox.embedded` as Lambda would):
- boundary: for every step a handler takes against AWS (listed by a probe run, see
  `sandbox.faults`), a process death and an ordinary error, before and after the call; then
  Lambda's redelivery: S3 and EventBridge invocations are asynchronous (2 retries, 1 and 2
  minutes apart on the simulated clock, then the DLQ); stream records are retried until they
  succeed or run out of attempts;
- concurrent: every event delivered three times at once from threads, with and without a fault;
- corpus: the hostile files of `sandbox.corpus`, each checked against what docs/formats.md says
  it must become;
- big: files up to the real input size limit (`sandbox.big_inputs`, generated, not committed),
  with the sandbox enforcing each function's memory and timeout: each processed or quarantined
  as docs/limits.md says, none dead-lettered.

After each scenario `sandbox.accounting` checks: every input bar is in exactly one of processed/
and rejects/, or its file is in quarantine/; exactly one analysis per distinct input; at most one
email per analysis and exactly one when the run completed (or, where at-least-once delivery
cannot know, a surfaced EmailOutcomeUnknown); no marker still held; no exception that did not
lead to a retry.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from typing import Any

from chalicelib.config import Settings
from sandbox.accounting import Outcome, Scenario, account
from sandbox.big_inputs import big_cases
from sandbox.corpus import CorpusCase, Expect, corpus_cases, standard_file
from sandbox.embedded import EmbeddedAWS
from sandbox.faults import AFTER, BEFORE, DEATH, ERROR, Fault, FaultInjector, SimulatedDeath

__all__ = ["Outcome", "Scenario", "account", "run_scenario", "main"]

ASYNC_RETRY_DELAYS_S = {2: 60.0, 3: 120.0}  # Lambda's asynchronous retries
STREAM_RETRY_DELAY_S = 2.0  # stream records are retried promptly
CHAOS_MAX_INPUT_MB = "8"  # small, so gzip bombs are refused fast
# A delivery waits this long (real seconds) for another invocation's marker: a live holder here
# finishes in milliseconds, and a dead one's marker is waited out by the retries' simulated minutes.
CHAOS_MARKER_WAIT_SECONDS = "1"
CONCURRENT_COPIES = 3
BIG_MAX_INPUT_MB = str(Settings.max_input_mb)  # the deployed limit: the big inputs go up to it


# -- running one scenario -----------------------------------------------------------------------
def run_scenario(scenario: Scenario) -> Outcome:
    started = time.perf_counter()
    injector = FaultInjector(scenario.faults)
    saved = {name: os.environ.get(name) for name in ("MAX_INPUT_MB", "MARKER_WAIT_SECONDS")}
    os.environ["MAX_INPUT_MB"] = BIG_MAX_INPUT_MB if scenario.group == "big" else CHAOS_MAX_INPUT_MB
    os.environ["MARKER_WAIT_SECONDS"] = CHAOS_MARKER_WAIT_SECONDS
    try:
        with EmbeddedAWS(crash_types=(SimulatedDeath,)) as env:
            clock = _RetryClock(injector, env)
            env.handlers = {name: clock.track(handler) for name, handler in env.handlers.items()}
            env.on_retry = clock.retry
            env.stream_attempts = _stream_attempts()
            with injector.installed(env):
                etags = []
                for case in scenario.files:
                    etags.append(env.upload(case.key, case.body))
                    env.run_until_idle(copies=scenario.copies)
                if scenario.redrive:
                    _redrive(env, injector)
                try:
                    outcome = account(env, scenario, etags, injector)
                except Exception as exc:  # the harness could not read the result: a failure, with why
                    outcome = Outcome(scenario, problems=[f"accounting failed: {type(exc).__name__}: {exc}"])
                    outcome.deliveries = sum(d.attempts for d in env.deliveries)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    outcome.seconds = time.perf_counter() - started
    unfired = [f.label for f in scenario.faults if f.label not in injector.fired]
    if unfired:
        outcome.problems.append(f"fault never fired: {', '.join(unfired)}")
    return outcome


class _RetryClock:
    """Lambda's retry delays on the simulated clock. A retry comes a minute or more later, long
    after any concurrent invocation (well under a second here) has ended: so before moving the
    clock on, a retry waits until no handler is running."""

    def __init__(self, injector: FaultInjector, env: EmbeddedAWS):
        import threading

        self._injector, self._env = injector, env
        self._idle = threading.Condition()
        self._running = 0

    def track(self, handler: Any) -> Any:
        def tracked(event: Any, context: Any) -> Any:
            with self._idle:
                self._running += 1
            try:
                return handler(event, context)
            finally:
                with self._idle:
                    self._running -= 1
                    self._idle.notify_all()

        return tracked

    def retry(self, handler_name: str, attempt: int) -> None:
        with self._idle:
            self._idle.wait_for(lambda: self._running == 0, timeout=60)
        stream = handler_name == self._env.stream_handler
        self._injector.advance(STREAM_RETRY_DELAY_S if stream else ASYNC_RETRY_DELAYS_S.get(attempt, 60.0))


def _redrive(env: EmbeddedAWS, injector: FaultInjector) -> None:
    """Send every dead-lettered asynchronous event again, as an operator redriving the DLQ would
    once the markers' leases have run out."""
    from chalicelib.config import get_settings

    dead = [d for d in env.deliveries if d.dead_lettered and d.handler != env.stream_handler]
    injector.advance(float(get_settings().marker_lease_seconds))
    for delivery in dead:
        if env._invoke(delivery.handler, delivery.event).error is None:
            delivery.dead_lettered = False  # the redrive finished it
            delivery.errors.append("redriven from the DLQ: succeeded")
    env.run_until_idle()


def _stream_attempts() -> int:
    from infra.resources import DEFAULTS

    return 1 + int(DEFAULTS["stream_maximum_retry_attempts"])


# -- the scenarios ------------------------------------------------------------------------------
def probe_steps(files: list[CorpusCase]) -> list[str]:
    """The steps a clean run takes, in order of first use (so every boundary gets its faults)."""
    injector = FaultInjector()
    saved = os.environ.get("MAX_INPUT_MB")
    os.environ["MAX_INPUT_MB"] = CHAOS_MAX_INPUT_MB
    try:
        with EmbeddedAWS() as env, injector.installed(env):
            for case in files:
                env.upload(case.key, case.body)
                env.run_until_idle()
    finally:
        if saved is None:
            os.environ.pop("MAX_INPUT_MB", None)
        else:
            os.environ["MAX_INPUT_MB"] = saved
    return list(dict.fromkeys(injector.calls))


def boundary_scenarios() -> list[Scenario]:
    standard = standard_file()
    bad = CorpusCase("inputs/broken.json", b'{"meta": {"symbol": "AAPL"}, "values": [', Expect("quarantined"))
    scenarios = []
    for files, tag in (([standard], "file"), ([bad], "quarantine")):
        steps = probe_steps(files)
        if tag == "quarantine":
            steps = [s for s in steps if s.startswith("ingest.")]
        for step in steps:
            for when in (BEFORE, AFTER):
                for kind in (DEATH, ERROR):
                    fault = Fault(step, when, kind)
                    scenarios.append(Scenario(f"{tag}: {fault.label}", "boundary", files, (fault,)))
    # Faults on the recovery paths: a second delivery that fails while taking over.
    recovery = [
        (Fault("ingest.get_input", BEFORE, DEATH), Fault("ingest.takeover_marker", AFTER, DEATH)),
        (Fault("notify.send", BEFORE, ERROR), Fault("notify.claim", AFTER, DEATH, occurrence=2)),
    ]
    for first, second in recovery:
        # Two deaths in a row use up Lambda's three asynchronous attempts (the second attempt falls
        # inside the first one's lease): the event is in the DLQ, and a redrive finishes it.
        name = f"file: {_label((first, second))}, DLQ redriven"
        scenarios.append(Scenario(name, "boundary", [standard], (first, second), redrive=True))
    return scenarios


def concurrent_scenarios() -> list[Scenario]:
    standard = standard_file()
    faults = [(), (Fault("ingest.publish", AFTER, DEATH),), (Fault("notify.claim", AFTER, DEATH),)]
    return [
        Scenario(f"x{CONCURRENT_COPIES} threads: {_label(f)}", "concurrent", [standard], f, copies=CONCURRENT_COPIES)
        for f in faults
    ]


def _label(faults: tuple[Fault, ...]) -> str:
    return ", then ".join(f.label for f in faults) or "no fault"


def corpus_scenarios() -> list[Scenario]:
    return [Scenario(f"corpus: {group.name}", "corpus", group.files, pending=group.pending) for group in corpus_cases()]


def big_scenarios() -> list[Scenario]:
    return [Scenario(name, "big", [case], pending=gap) for name, case, gap in big_cases()]


def all_scenarios() -> list[Scenario]:
    return boundary_scenarios() + concurrent_scenarios() + corpus_scenarios() + big_scenarios()


# -- the report -----------------------------------------------------------------------------------
def summary_line(outcomes: list[Outcome]) -> str:
    counted = [o for o in outcomes if not o.scenario.pending]
    return (
        f"chaos: {len(outcomes)} scenarios, {sum(o.deliveries for o in outcomes)} deliveries, "
        f"{sum(o.bars_lost for o in counted)} bars lost, "
        f"{sum(o.duplicate_analyses for o in counted)} duplicate analyses, "
        f"{sum(o.duplicate_emails for o in counted)} duplicate emails, "
        f"{sum(o.stuck_markers for o in counted)} stuck markers"
    )


def table(outcomes: list[Outcome]) -> str:
    header = (
        "scenario",
        "deliv",
        "retried",
        "lost",
        "dupA",
        "missA",
        "dupE",
        "missE",
        "unknown",
        "stuck",
        "dlq",
        "result",
    )
    rows = [header]
    for o in outcomes:
        verdict = _verdict(o)
        rows.append(
            (
                o.scenario.name[:64],
                o.deliveries,
                o.retried,
                o.bars_lost,
                o.duplicate_analyses,
                o.missing_analyses,
                o.duplicate_emails,
                o.missing_emails,
                o.unknown_emails,
                o.stuck_markers,
                o.dead_letters,
                verdict,
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    lines = []
    for row in rows:
        cells = [
            str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def _verdict(outcome: Outcome) -> str:
    pending = outcome.scenario.pending
    if pending:
        return "xfail" if not outcome.ok else "XPASS"
    return "ok" if outcome.ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--group", choices=("boundary", "concurrent", "corpus", "big"), action="append")
    parser.add_argument("-k", dest="match", help="only scenarios whose name contains this text")
    args = parser.parse_args(argv)
    import logging

    logging.disable(logging.CRITICAL)  # the handlers' JSON logs; the table says what happened
    started = time.perf_counter()
    outcomes = []
    with _quiet():
        scenarios = [
            s
            for s in all_scenarios()
            if (not args.group or s.group in args.group) and (not args.match or args.match in s.name)
        ]
        for scenario in scenarios:
            outcomes.append(run_scenario(scenario))
    print(table(outcomes))
    failures = [o for o in outcomes if _verdict(o) in ("FAIL", "XPASS")]
    for o in outcomes:
        if _verdict(o) != "ok":
            why = "; ".join(o.problems) or "passes now: remove its pending mark"
            print(
                f"{_verdict(o)}: {o.scenario.name}: {why}"
                + (f" [pending {o.scenario.pending}]" if o.scenario.pending else "")
            )
    files = sum(len(s.files) for s in scenarios if s.group == "corpus")
    groups = ", ".join(f"{group} {n}" for group, n in Counter(s.group for s in scenarios).items())
    print(
        f"{len(scenarios)} scenarios ({groups}), {files} corpus files, "
        f"{sum(o.scenario.pending is not None for o in outcomes)} expected to fail (pending), "
        f"{time.perf_counter() - started:.0f} s"
    )
    print(summary_line(outcomes))
    return 1 if failures else 0


class _quiet:
    """Powertools prints every log line and EMF blob to stdout: keep the table readable."""

    def __enter__(self) -> None:
        import io

        self._stdout = sys.stdout
        sys.stdout = io.StringIO()

    def __exit__(self, *exc: Any) -> None:
        sys.stdout = self._stdout


if __name__ == "__main__":
    sys.exit(main())
