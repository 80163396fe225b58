"""The chaos suite (sandbox/chaos.py) under pytest.

The scenarios themselves are marked `chaos` and left out of the default run (`make chaos` and
CI run them all; `pytest -m chaos` runs them here, one test per corpus case, a pending
case as a strict xfail). The tests without the mark check the harness itself: that a simulated
death skips `except Exception`, that faults fire where they are named, and that the accounting
does notice a lost bar, a second email or a stuck marker.
"""

from __future__ import annotations

import functools
import logging
import re

import pytest

from sandbox import chaos
from sandbox.corpus import corpus_cases, standard_file
from sandbox.faults import AFTER, BEFORE, DEATH, ERROR, Fault, SimulatedDeath


@pytest.fixture(autouse=True)
def _quiet_handlers():
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def test_a_simulated_death_is_not_an_exception():
    assert not issubclass(SimulatedDeath, Exception)
    with pytest.raises(SimulatedDeath):
        try:
            raise SimulatedDeath("oom")
        except Exception:  # pragma: no cover - the point: this must not catch it
            pytest.fail("except Exception caught a simulated death")


def test_the_probe_lists_every_step_the_issue_names():
    steps = chaos.probe_steps([standard_file()])

    required = [
        "ingest.claim_marker",
        "ingest.put_processed",
        "ingest.put_rejects",
        "ingest.publish",
        "ingest.finish_marker",
        "analyze.save",
        "notify.claim",
        "notify.mark_sending",
        "notify.send",
    ]
    assert [s for s in steps if s in required] == required  # all there, in pipeline order


def test_a_death_mid_ingest_is_recovered_by_lambdas_retries():
    fault = Fault("ingest.put_rejects", AFTER, DEATH)
    outcome = chaos.run_scenario(chaos.Scenario("t", "boundary", [standard_file()], (fault,)))

    assert outcome.ok, outcome.problems
    assert outcome.retried == 2  # the death, then IngestInProgress inside its lease, then a takeover
    assert outcome.deliveries >= 5


def test_the_accounting_sees_a_lost_bar(monkeypatch):
    from chalicelib.ingest import pipeline

    real = pipeline.write_processed_lines

    def drop_first(out, symbol, interval, bars):
        return real(out, symbol, interval, bars[1:])

    monkeypatch.setattr(pipeline, "write_processed_lines", drop_first)
    outcome = chaos.run_scenario(chaos.Scenario("t", "corpus", [standard_file()]))

    assert outcome.bars_lost == 3  # one per symbol
    assert not outcome.ok


def test_the_accounting_sees_a_second_email(monkeypatch):
    from chalicelib.notify import markers

    # Markers that never refuse: each of two concurrent deliveries sends its own email.
    monkeypatch.setattr(markers.EmailMarkers, "claim", lambda self, *a: markers.Claim(markers.CLAIMED, "t", 1))
    monkeypatch.setattr(markers.EmailMarkers, "mark_sending", lambda self, *a: True)
    outcome = chaos.run_scenario(chaos.Scenario("t", "concurrent", [standard_file()], copies=2))

    assert outcome.duplicate_emails >= 1 and not outcome.ok


def test_the_accounting_sees_a_stuck_marker(monkeypatch):
    from chalicelib.notify import markers

    # A claim that is never given back and never reaches SES: the record's retries all find it.
    monkeypatch.setattr(markers.EmailMarkers, "mark_sending", lambda self, *a: False)
    outcome = chaos.run_scenario(chaos.Scenario("t", "corpus", [standard_file()]))

    assert outcome.stuck_markers == 1 and outcome.missing_emails == 1 and not outcome.ok


def test_the_accounting_sees_an_unexpected_outcome_unknown():
    outcome = chaos.run_scenario(
        chaos.Scenario("t", "boundary", [standard_file()], (Fault("notify.send", BEFORE, DEATH),))
    )
    assert outcome.ok and outcome.unknown_emails == 1  # the documented limit (docs/reliability.md, "Limits")

    outcome.scenario.faults = (Fault("notify.claim", BEFORE, ERROR),)
    outcome.problems = []
    outcome.check()
    assert not outcome.ok  # the same result where no send could have happened is a failure


def test_the_summary_line_has_the_issues_shape():
    outcome = chaos.Outcome(chaos.Scenario("t", "corpus", []), deliveries=4)
    line = chaos.summary_line([outcome, outcome])
    assert line == (
        "chaos: 2 scenarios, 8 deliveries, 0 bars lost, 0 duplicate analyses, 0 duplicate emails, 0 stuck markers"
    )


def test_the_corpus_is_big_enough_and_covers_every_kind_of_hostile_input():
    groups = corpus_cases()
    assert sum(len(g.files) for g in groups) >= 60
    items = {g.item for g in groups}
    assert {
        "huge-numbers",
        "strict-numbers",
        "reject-heavy",
        "gzip-members",
        "deep-nesting",
        "symbol-from-name",
        "symbol-characters",
        "repeated-keys",
        "csv-rows",
        "wide-files",
        "name-identity",
    } <= items
    # notify and quarantine faults are the boundary scenarios'
    assert len({g.name for g in groups}) == len(groups)


# -- the suite itself (pytest -m chaos) -------------------------------------------------------------
def _corpus_params():
    params = []
    for group in corpus_cases():
        marks = [pytest.mark.xfail(reason=group.pending, strict=True)] if group.pending else []
        params.append(pytest.param(group.name, marks=marks, id=re.sub(r"\W+", "-", group.name).strip("-")))
    return params


@functools.cache
def _corpus_scenarios() -> dict:
    return {s.name: s for s in chaos.corpus_scenarios()}


@pytest.mark.chaos
@pytest.mark.parametrize("name", _corpus_params())
def test_corpus(name):
    scenario = _corpus_scenarios()[f"corpus: {name}"]
    outcome = chaos.run_scenario(scenario)
    assert outcome.ok, outcome.problems


@pytest.mark.chaos
@pytest.mark.parametrize("group", ["boundary", "concurrent"])
def test_every_fault_settles(group):
    scenarios = chaos.boundary_scenarios() if group == "boundary" else chaos.concurrent_scenarios()
    outcomes = [chaos.run_scenario(s) for s in scenarios]
    failed = {o.scenario.name: o.problems for o in outcomes if not o.ok}
    assert not failed
    assert chaos.summary_line(outcomes).endswith(
        "0 bars lost, 0 duplicate analyses, 0 duplicate emails, 0 stuck markers"
    )
