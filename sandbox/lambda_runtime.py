"""What Lambda does around a handler, as the sandbox plays it: the context object, a delivery's
record, the functions' settings from `.chalice/config.json`, EventBridge's matching of simple
patterns and the JSON form of stream records."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson


class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, function_name: str, timeout_s: int = 300, memory_mb: int = 1024, *, region: str, account: str):
        import time

        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:stock-insights-sandbox-{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/stock-insights-sandbox-{function_name}"
        self.log_stream_name = "sandbox"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        import time

        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Delivery:
    """One handler invocation: what it got, what it returned or raised."""

    handler: str
    event: dict
    result: Any = None
    error: str | None = None
    attempts: int = 0
    errors: list[str] = field(default_factory=list)  # every failed attempt's error, retried or not
    dead_lettered: bool = False  # every attempt failed: Lambda's DLQ (or the stream's on-failure queue)


@functools.cache
def function_config(name: str, stage: str = "dev") -> dict:
    """Chalice's settings for one function: top level, then the stage's (as Chalice merges them)."""
    from pathlib import Path

    config = orjson.loads((Path(__file__).resolve().parent.parent / ".chalice" / "config.json").read_bytes())
    stage_config = config.get("stages", {}).get(stage, {})
    return {
        **config.get("lambda_functions", {}).get(name, {}),
        **stage_config.get("lambda_functions", {}).get(name, {}),
    }


def matches(pattern: dict, event: dict) -> bool:
    """EventBridge matching for the simple patterns Chalice handlers use (lists of values)."""
    for key, expected in pattern.items():
        value = event.get(key)
        if isinstance(expected, dict):
            if not isinstance(value, dict) or not matches(expected, value):
                return False
        elif isinstance(expected, list) and value not in expected:
            return False
    return True


def jsonable(value: Any) -> Any:
    """Stream records as Lambda delivers them: JSON, so datetimes become epoch numbers."""
    import datetime as dt
    from decimal import Decimal

    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode()
    return value


def stream_record(record: dict, stream_arn: str) -> dict:
    """A DynamoDB stream record (as moto's stream backend keeps it) as Lambda delivers it: JSON,
    with its `eventSourceARN`, the creation time in epoch seconds (moto's is naive UTC)."""
    import datetime as dt

    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, dt.datetime) and created.tzinfo is None:
        change["ApproximateCreationDateTime"] = created.replace(tzinfo=dt.UTC)
    return jsonable({**record, "dynamodb": change, "eventSourceARN": stream_arn})


def matches_filter(pattern: dict, value: object) -> bool:
    """Whether `value` matches a Lambda event filter pattern of nested keys and lists of allowed
    values (the stream mapping's FilterCriteria: Lambda drops the other records before invoking)."""
    if not isinstance(value, dict):
        return False
    for key, wanted in pattern.items():
        if isinstance(wanted, dict):
            if not matches_filter(wanted, value.get(key)):
                return False
        elif value.get(key) not in wanted:
            return False
    return True
