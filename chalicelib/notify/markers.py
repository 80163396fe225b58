"""The "emailed" marker: one DynamoDB item per analysis that makes its email go out once.

The marker lives in the analyses table as `analysis_id = "email#<id>"`, `kind = "email_marker"`
(the stream handler ignores it, as it ignores every item that is not an analysis). Its `state`:

    preparing  claimed; loading and rendering. Nothing has reached SES, so a later delivery takes
               it over at once (no need to wait for the lease): the claimant either died, or is
               alive and will find its token gone at `mark_sending` and stand down.
    sending    written just before the SES call. SES may hold the message: never sent again.
    unknown    a delivery found `sending` left behind (the claimant died between `mark_sending`
               and SES's answer), or SES never answered: the email may or may not have gone out.
               Reported once as EmailOutcomeUnknown; an operator decides (delete to resend).
    sent       SES accepted it (`ses_message_id`).
    retry      an attempt failed before SES accepted anything; the next delivery takes over.
    failed     SES refused it (a configuration problem), or every attempt failed: not retried.

Every transition is a conditional write on the claimant's `claim_token`, so two deliveries of
the same stream record can never both reach `sending`: a takeover changes the token, and
`mark_sending` requires the claimant's own token and the state `preparing`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.aws import is_conditional_check_failure

MARKER_KIND = "email_marker"
MARKER_PREFIX = "email#"
MAX_ATTEMPTS = 3  # then `failed`: a record that keeps failing must not hold its shard forever

# claim outcomes
CLAIMED = "claimed"
ALREADY_SENT = "sent"
ALREADY_SENDING = "sending"
ALREADY_UNKNOWN = "unknown"
ALREADY_FAILED = "failed"
BUSY = "busy"
EXHAUSTED = "exhausted"


def marker_key(analysis_id: str) -> str:
    return f"{MARKER_PREFIX}{analysis_id}"


@dataclass
class Claim:
    outcome: str
    token: str | None = None
    attempts: int = 0
    marker: dict | None = None


class EmailMarkers:
    """Conditional writes on the marker items, through an injected boto3 DynamoDB client."""

    def __init__(self, dynamodb_client: Any, table: str, clock: Callable[[], float] = time.time):
        self._ddb = dynamodb_client
        self._table = table
        self._clock = clock

    def claim(self, analysis_id: str, correlation_id: str, lease_s: float) -> Claim:
        """Take the marker for a new attempt, or say why this delivery must not send."""
        now = self._clock()
        token = uuid.uuid4().hex
        item = {
            "analysis_id": {"S": marker_key(analysis_id)},
            "kind": {"S": MARKER_KIND},
            "for_analysis": {"S": analysis_id},
            "correlation_id": {"S": correlation_id or "-"},
            "state": {"S": "preparing"},
            "attempts": {"N": "1"},
            "claim_token": {"S": token},
            "lease_expires_at": {"N": _num(now + lease_s)},
            "updated_at": {"S": _iso(now)},
        }
        try:
            self._ddb.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(analysis_id)"
            )
            return Claim(CLAIMED, token, 1)
        except Exception as exc:
            if not is_conditional_check_failure(exc):
                raise
        marker = self.get(analysis_id)
        if marker is None:  # deleted by hand between the two calls: the caller's retry claims it
            return Claim(BUSY)
        state = marker.get("state")
        if state in (ALREADY_SENT, ALREADY_SENDING, ALREADY_UNKNOWN, ALREADY_FAILED):
            return Claim(state, marker=marker)
        # `preparing` or `retry`: nothing has reached SES, so the marker is taken over at once,
        # whether its lease is live or not. Stream records of one shard are delivered one batch
        # at a time, so a later delivery finding `preparing` almost always means the claimant
        # died; if it is in fact alive, it loses at `mark_sending` (its token is gone).
        attempts = int(marker.get("attempts", 0))
        # Only a recorded failure (`retry`) counts toward giving up: a `preparing` marker may be a
        # live concurrent claimant, and marking it `failed` would lose its email. Deliveries that
        # die again and again are bounded by the stream's own retry limit (then its DLQ).
        if attempts >= MAX_ATTEMPTS and state != "preparing":
            reason = f"gave up after {attempts} attempts; last error: {marker.get('error', 'unknown')}"
            self._transition(
                analysis_id, marker.get("claim_token", ""), "failed", {"error": reason}, expect_state=state
            )
            return Claim(EXHAUSTED, marker={**marker, "error": reason})
        taken = self._transition(
            analysis_id,
            marker.get("claim_token", ""),
            "preparing",
            {"claim_token": token, "lease_expires_at": now + lease_s, "attempts": attempts + 1},
            expect_state=state,
        )
        return Claim(CLAIMED, token, attempts + 1) if taken else Claim(BUSY, marker=marker)

    def mark_sending(self, analysis_id: str, token: str) -> bool:
        """Last step before SES; False if the claim was lost (the lease ran out and was taken)."""
        return self._transition(analysis_id, token, "sending", {}, expect_state="preparing")

    def mark_unknown(self, analysis_id: str, token: str, error: str) -> bool:
        """`sending` -> `unknown`: the email may or may not have left. True for the one delivery
        that made the change (it reports it); False if another did, or it became `sent`."""
        return self._transition(analysis_id, token, "unknown", {"error": error}, expect_state="sending")

    def mark_sent(self, analysis_id: str, token: str, ses_message_id: str) -> bool:
        return self._transition(analysis_id, token, "sent", {"ses_message_id": ses_message_id})

    def mark_failed(self, analysis_id: str, token: str, error_code: str, error: str) -> bool:
        return self._transition(analysis_id, token, "failed", {"error_code": error_code, "error": error})

    def release(self, analysis_id: str, token: str, error: str) -> bool:
        """Give the marker back after a failure before SES accepted anything."""
        return self._transition(analysis_id, token, "retry", {"error": error, "lease_expires_at": 0})

    def get(self, analysis_id: str) -> dict | None:
        response = self._ddb.get_item(
            TableName=self._table, Key={"analysis_id": {"S": marker_key(analysis_id)}}, ConsistentRead=True
        )
        if "Item" not in response:
            return None
        return {k: _plain(v) for k, v in response["Item"].items()}

    def _transition(
        self, analysis_id: str, token: str, state: str, values: dict[str, Any], expect_state: str | None = None
    ) -> bool:
        """Set `state` (and `values`) only while the marker still carries `token`."""
        values = {**values, "state": state, "updated_at": _iso(self._clock())}
        names = {f"#f{i}": name for i, name in enumerate(values)}
        attrs = {f":v{i}": _typed(value) for i, value in enumerate(values.values())}
        attrs[":token"] = {"S": token}
        condition = "claim_token = :token"
        if expect_state is not None:
            names["#state"] = "state"
            attrs[":expected"] = {"S": expect_state}
            condition += " AND #state = :expected"
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"analysis_id": {"S": marker_key(analysis_id)}},
                UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(values))),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=attrs,
            )
        except Exception as exc:
            if is_conditional_check_failure(exc):
                return False
            raise
        return True


def _typed(value: Any) -> dict:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": _num(value)}
    return {"S": str(value)[:2000]}


def _plain(value: dict) -> Any:
    if "N" in value:
        number = float(value["N"])
        return int(number) if number.is_integer() else number
    if "BOOL" in value:
        return value["BOOL"]
    return value.get("S")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
