"""DynamoDB + S3 adapter for analysis records.

The full record always goes to S3 (`analyses/<id>.json`). The table item holds the record too
when it fits under the configured size; otherwise a summary (everything but `symbols` and
`symbol_error_details`) with `record_key` pointing at S3, so 2,000 symbols never meet
DynamoDB's 400 KB item limit. The
item is written with `attribute_not_exists`, so a replayed event never makes a second INSERT.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson

from chalicelib.aws import is_conditional_check_failure
from chalicelib.storage import ObjectStore

RECORD_PREFIX = "analyses/"
ANALYSIS_KIND = "analysis"  # the table may hold other items (e.g. email markers); streams check this


def record_key(analysis_id: str) -> str:
    return f"{RECORD_PREFIX}{analysis_id}.json"


def to_dynamo_value(document: Any) -> Any:
    """JSON-compatible data with every float as an exact `Decimal` (DynamoDB refuses floats)."""
    return json.loads(orjson.dumps(document), parse_float=Decimal)


def from_dynamo_value(document: Any) -> Any:
    """Decimals back to int/float."""
    if isinstance(document, dict):
        return {k: from_dynamo_value(v) for k, v in document.items()}
    if isinstance(document, list):
        return [from_dynamo_value(v) for v in document]
    if isinstance(document, Decimal):
        return int(document) if document == document.to_integral_value() else float(document)
    return document


class AnalysisStore:
    def __init__(self, dynamodb_client: Any, table: str, objects: ObjectStore, item_max_bytes: int):
        self._ddb = dynamodb_client
        self._table = table
        self._objects = objects
        self._item_max_bytes = item_max_bytes

    def exists(self, analysis_id: str) -> bool:
        response = self._ddb.get_item(
            TableName=self._table,
            Key={"analysis_id": {"S": analysis_id}},
            ProjectionExpression="analysis_id",
            ConsistentRead=True,
        )
        return "Item" in response

    def save(self, record: dict) -> bool:
        """Store `record`; False if an analysis with its id already exists (nothing overwritten)."""
        from boto3.dynamodb.types import TypeSerializer

        key = record_key(record["analysis_id"])
        body = orjson.dumps(record, option=orjson.OPT_INDENT_2)
        self._objects.put(key, body, "application/json")
        item: dict[str, Any] = dict(record)
        item["kind"] = ANALYSIS_KIND
        item["record_key"] = key
        item["record_bucket"] = self._objects.bucket
        item["symbols_count"] = len(record.get("symbols") or {})
        item["complete"] = len(body) <= self._item_max_bytes
        if not item["complete"]:
            item.pop("symbols", None)
            item.pop("symbol_error_details", None)  # thousands of failing symbols would not fit either
        serializer = TypeSerializer()
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={k: serializer.serialize(v) for k, v in to_dynamo_value(item).items()},
                ConditionExpression="attribute_not_exists(analysis_id)",
            )
        except Exception as exc:
            if is_conditional_check_failure(exc):
                return False
            raise
        return True

    def load_full(self, item: dict) -> dict | None:
        """The full record for a (deserialised) item: the item itself, or its S3 copy."""
        if item.get("complete") and "symbols" in item:
            return item
        found = self._objects.read_json(item["record_key"])
        return found[0] if found else None
