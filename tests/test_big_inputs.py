"""The chaos suite's big inputs (sandbox/big_inputs.py): the generators make what they say, and
the hostile ones, at full size, are quarantined with the sandbox's Lambda limits on (slow)."""

from __future__ import annotations

import logging
import time

import orjson
import pytest

from chalicelib.ingest.formats import InputRejected, decode_input
from chalicelib.ingest.pipeline import ingest_document
from sandbox import big_inputs, chaos

NOW = int(time.time())


@pytest.fixture(autouse=True)
def _quiet_handlers():
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def _ingest(raw: bytes, key: str):
    return ingest_document(raw, key, NOW, max_bytes=2**31, future_slack_s=86_400)


def test_the_valid_csv_is_every_row_a_valid_minute_bar():
    raw = big_inputs.valid_csv(2)
    outcome = _ingest(raw, "inputs/BIG_1min.csv")
    rows = big_inputs.valid_csv_rows(2)
    assert outcome.counts == {"input": rows, "valid": rows, "rejected": 0, "symbol_errors": 0}
    assert len(raw) <= 2 * big_inputs.MIB + 64  # the header beside the rows


def test_the_all_duplicate_csv_rejects_every_row_but_the_first():
    outcome = _ingest(big_inputs.all_duplicate_csv(1), "inputs/DUP_1min.csv")
    rows = big_inputs.all_duplicate_csv_rows(1)
    assert outcome.counts["valid"] == 1 and outcome.reject_rules == {"duplicate_timestamp": rows - 1}


def test_the_json_generators_write_valid_json_of_the_shape_named():
    assert len(orjson.loads(big_inputs.many_symbols(5, 2))) == 5
    assert orjson.loads(big_inputs.empty_lists(4)) == {"DATA": {"values": [[], [], [], []]}}
    deep = orjson.loads(big_inputs.deep_extra_field(bars=2, depth=3))
    assert deep["values"][0]["x"] == [[[]]] and len(deep["values"]) == 2


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (big_inputs.deep_extra_field, "too_complex"),
        (big_inputs.empty_lists, "too_complex"),
        (lambda: big_inputs.many_symbols(450_000, 3), "too_many_symbols"),
    ],
)
@pytest.mark.slow
def test_the_full_size_hostile_files_are_refused_for_their_reason(make, reason):
    with pytest.raises(InputRejected) as refused:
        decode_input(make(), "inputs/big.json", 200 * big_inputs.MIB)
    assert refused.value.reason == reason


@pytest.mark.slow
def test_the_big_groups_hostile_scenarios_are_quarantined_within_lambdas_limits():
    # The two CSVs (processed, analysed and emailed: over a minute each) run in `make chaos`.
    scenarios = [s for s in chaos.big_scenarios() if s.files[0].expect.status == "quarantined"]
    assert len(scenarios) == 4
    for scenario in scenarios:
        outcome = chaos.run_scenario(scenario)
        assert outcome.ok, (scenario.name, outcome.problems)
        assert outcome.retried == 0 and outcome.dead_letters == 0  # ingest, then the quarantine notice
