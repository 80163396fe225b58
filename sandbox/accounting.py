"""The chaos suite's accounting: what one scenario left behind, counted against what must hold.

After each scenario: every input bar is in exactly one of processed/ and rejects/, or its file is
in quarantine/; exactly one analysis per distinct input; at most one email per analysis (and per
quarantined file's failure notice) and exactly one when the run completed (or, where at-least-once delivery cannot know, a surfaced
EmailOutcomeUnknown); no marker still held; no event that ended in a DLQ.
"""

from __future__ import annotations

import email
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from sandbox.corpus import CorpusCase, Expect
from sandbox.embedded import BUCKET, TABLE, EmbeddedAWS
from sandbox.faults import AFTER, BEFORE, DEATH, Fault, FaultInjector


@dataclass
class Scenario:
    name: str
    group: str  # boundary | concurrent | corpus | big
    files: list[CorpusCase]
    faults: tuple[Fault, ...] = ()
    copies: int = 1
    redrive: bool = False  # an operator redrives the DLQ once the leases have passed
    pending: str | None = None  # a known gap not fixed yet (why): expected to fail, strictly


@dataclass
class Outcome:
    scenario: Scenario
    deliveries: int = 0
    bars_lost: int = 0
    duplicate_analyses: int = 0
    missing_analyses: int = 0
    duplicate_emails: int = 0
    missing_emails: int = 0
    unknown_emails: int = 0  # surfaced EmailOutcomeUnknown (allowed only where a send may have happened)
    stuck_markers: int = 0
    dead_letters: int = 0
    retried: int = 0  # failed invocations that Lambda retried
    contract: list[str] = field(default_factory=list)  # what differs from the file's expected result
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def check(self) -> None:
        s = self.scenario
        for name in ("bars_lost", "duplicate_analyses", "missing_analyses", "duplicate_emails", "missing_emails"):
            if getattr(self, name):
                self.problems.append(f"{name}={getattr(self, name)}")
        if self.stuck_markers:
            self.problems.append(f"stuck_markers={self.stuck_markers}")
        if self.dead_letters:
            self.problems.append(f"dead_letters={self.dead_letters}")
        if self.unknown_emails and not any(_may_leave_outcome_unknown(f) for f in s.faults):
            self.problems.append(f"unexpected EmailOutcomeUnknown x{self.unknown_emails}")
        self.problems += self.contract


def _may_leave_outcome_unknown(fault: Fault) -> bool:
    """Where at-least-once delivery cannot tell whether SES has the message (docs/reliability.md, "Limits"):
    the process died between writing `sending` and recording SES's answer, or SES's answer was
    lost. (A lost answer to `mark_sending` itself is read back, so it is not one of them.)"""
    died = fault.kind == DEATH
    return (
        (fault.step == "notify.mark_sending" and fault.when == AFTER and died)
        or (fault.step == "notify.send" and (fault.when == AFTER or died))
        or (fault.step == "notify.mark_sent" and fault.when == BEFORE and died)
    )


def account(env: EmbeddedAWS, scenario: Scenario, etags: list[str], injector: FaultInjector) -> Outcome:
    outcome = Outcome(scenario)
    outcome.deliveries = sum(d.attempts for d in env.deliveries)
    outcome.retried = sum(len(d.errors) for d in env.deliveries if not d.dead_lettered) + sum(
        max(0, len(d.errors) - 1) for d in env.deliveries if d.dead_lettered
    )
    outcome.dead_letters = sum(1 for d in env.deliveries if d.dead_lettered)
    results = _ingest_results(env)
    s3 = env.client("s3")
    distinct: dict[tuple[str, str], CorpusCase] = {}
    for case, etag in zip(scenario.files, etags, strict=True):
        distinct.setdefault((case.key, etag), case)
    from chalicelib.ingest.service import OutputKeys

    notices = []  # a quarantined input's failure notice: emailed once, like an analysis
    for (key, etag), case in distinct.items():
        keys = OutputKeys.for_input(key, etag, "inputs/")  # where docs/formats.md says the outputs go
        quarantined = _exists(s3, keys.quarantine_error)
        if quarantined:
            from sandbox.runner import notice_id

            notices.append(notice_id(key, etag))
        processed = _line_count(s3, keys.processed)
        rules = _reject_rules(s3, keys.rejects)
        rules.pop("symbol_error", None)
        rejects = rules.total()
        result = results.get((key, etag))
        if not quarantined:
            expected = case.expect.bars
            if expected is None and result is not None:
                expected = result["records"]["input"]
            if expected is not None:
                outcome.bars_lost += max(0, expected - processed - rejects)
                if processed + rejects > expected:
                    outcome.contract.append(f"{key}: {processed + rejects} bars out of {expected} in")
            elif result is None:
                outcome.problems.append(f"{key}: never ingested, not quarantined")
        outcome.contract += _contract_differences(case, quarantined, processed, rules)
    analyses = _analyses(env)
    expected_inputs = {(key, etag) for (key, etag), case in distinct.items() if case.expect.analysis}
    per_input = Counter((a["source"]["input_key"], a["source"]["etag"]) for a in analyses)
    outcome.duplicate_analyses = sum(n - 1 for n in per_input.values() if n > 1)
    outcome.missing_analyses = len(expected_inputs - set(per_input))
    sent = Counter(_analysis_of(raw) for raw in env.sent_emails())
    outcome.duplicate_emails = sum(n - 1 for n in sent.values() if n > 1)
    markers = _email_markers(env)
    for analysis_id in [a["analysis_id"] for a in analyses] + notices:
        state = markers.get(analysis_id, {}).get("state")
        if state == "unknown":
            outcome.unknown_emails += 1
        elif not sent.get(analysis_id):
            outcome.missing_emails += 1
        if state in ("preparing", "retry") or (state == "sending" and not sent.get(analysis_id)):
            outcome.stuck_markers += 1
    outcome.stuck_markers += sum(1 for m in _ingest_markers(s3) if m.get("state") != "done")
    outcome.check()
    return outcome


def _contract_differences(case: CorpusCase, quarantined: bool, processed: int, rules: Counter) -> list[str]:
    """`processed`: the processed lines; `rules`: the reject lines by rule (symbol errors left out)."""
    expect: Expect = case.expect
    found = []
    if expect.status == "quarantined" and not quarantined:
        found.append(f"{case.key}: expected quarantine, got {processed} valid / {rules.total()} rejected")
    if expect.status == "processed" and quarantined:
        found.append(f"{case.key}: expected processed, got quarantined")
    if quarantined:
        return found
    if expect.valid is not None and processed != expect.valid:
        found.append(f"{case.key}: {processed} valid, expected {expect.valid}")
    for rule, n in (expect.rules or {}).items():
        if rules.get(rule, 0) != n:
            found.append(f"{case.key}: {rules.get(rule, 0)} x {rule}, expected {n} ({dict(rules)})")
    return found


def _ingest_results(env: EmbeddedAWS) -> dict[tuple[str, str], dict]:
    found = {}
    for delivery in env.deliveries:
        if isinstance(delivery.result, dict):
            for result in delivery.result.get("files", []):
                if result.get("status") in ("processed", "quarantined"):
                    found[(result["key"], result["etag"])] = result
    return found


def _exists(s3: Any, key: str) -> bool:
    return bool(s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount"))


def _bodies(s3: Any, prefix: str) -> list[bytes]:
    return [
        s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    ]


def _line_count(s3: Any, prefix: str) -> int:
    """The JSON lines under `prefix` (millions, for the big inputs: counted, not decoded)."""
    return sum(sum(1 for line in body.splitlines() if line.strip()) for body in _bodies(s3, prefix))


def _reject_rules(s3: Any, prefix: str) -> Counter:
    """The reject lines under `prefix` by rule; each line decoded and let go."""
    rules: Counter = Counter()
    for body in _bodies(s3, prefix):
        rules.update(orjson.loads(line).get("rule") for line in body.splitlines() if line.strip())
    return rules


def _ingest_markers(s3: Any) -> list[dict]:
    found = []
    for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="processed/hashes/").get("Contents", []):
        found.append(orjson.loads(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()))
    return found


def _scan(env: EmbeddedAWS) -> list[dict]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    items, kwargs = [], {}
    while True:
        page = env.client("dynamodb").scan(
            TableName=TABLE,
            ConsistentRead=True,
            ProjectionExpression="#a, #k, #s, #f, #t",
            ExpressionAttributeNames={
                "#a": "analysis_id",
                "#k": "kind",
                "#s": "source",
                "#f": "for_analysis",
                "#t": "state",
            },
            **kwargs,
        )
        items += [{k: deserializer.deserialize(v) for k, v in item.items()} for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def _analyses(env: EmbeddedAWS) -> list[dict]:
    return [item for item in _scan(env) if item.get("kind") == "analysis"]


def _email_markers(env: EmbeddedAWS) -> dict[str, dict]:
    return {item["for_analysis"]: item for item in _scan(env) if item.get("kind") == "email_marker"}


def _analysis_of(raw: bytes) -> str:
    return str(email.message_from_bytes(raw)["X-Analysis-Id"])
