"""DynamoDB + S3 adapter for analysis records.

The full record always goes to S3 (`analyses/<id>.json`). The table item holds the record too
when it fits under the configured size; otherwise a summary (everything but `symbols` and
`symbol_error_details`) with `record_key` pointing at S3, so 2,000 symbols never meet
DynamoDB's 400 KB item limit. The
item is written with `attribute_not_exists`, so a replayed event never makes a second INSERT.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import orjson

from chalicelib.aws import is_conditional_check_failure
from chalicelib.storage import ObjectStore

RECORD_PREFIX = "analyses/"
_BATCH, _BATCH_ATTEMPTS = 25, 8  # BatchWriteItem's maximum items per call; tries per batch
ANALYSIS_KIND = "analysis"  # the table may hold other items (e.g. email markers); streams check this
NOTICE_KIND = "failure_notice"  # a failure notify emails too (a quarantined file)
EMAILED_KINDS = (ANALYSIS_KIND, NOTICE_KIND)  # the items notify's stream mapping lets through
NOTICE_PREFIX = "notice-"  # never a 32-hex analysis id


def record_key(analysis_id: str) -> str:
    return f"{RECORD_PREFIX}{analysis_id}.json"


def report_page_key(analysis_id: str) -> str:
    """The report as emailed, as one HTML page (charts inline), kept by notify for the archive."""
    return f"{RECORD_PREFIX}{analysis_id}.html"


# What a DynamoDB number can be: nonzero magnitudes in [1e-130, 1e126), 38 significant digits.
_DYNAMO_MIN, _DYNAMO_MAX = Decimal("1e-130"), Decimal("1e126")
_DYNAMO_INT_MAX = 10**38


def to_dynamo_value(document: Any) -> Any:
    """JSON-compatible data with every float as an exact `Decimal` (DynamoDB refuses floats)."""
    return _to_dynamo(document)[0]


def _to_dynamo(document: Any) -> tuple[Any, int]:
    """(`document` for DynamoDB, how many numbers it cannot hold and were stored as null).

    Ingest refuses prices and volumes outside DynamoDB's range, but a metric derived from them
    (a ratio, a percent change) can still leave it; such a number must not make the put raise.
    """
    unstorable = 0

    def number(text: str) -> Decimal | None:
        nonlocal unstorable
        value = Decimal(text)
        if value and not _DYNAMO_MIN <= abs(value) < _DYNAMO_MAX:
            unstorable += 1
            return None
        return value

    def integer(text: str) -> int | None:
        nonlocal unstorable
        value = int(text)
        if abs(value) >= _DYNAMO_INT_MAX:
            unstorable += 1
            return None
        return value

    # orjson writes floats in at most 17 significant digits, and NaN or infinity as null.
    return json.loads(orjson.dumps(document), parse_float=number, parse_int=integer), unstorable


def from_dynamo_value(document: Any) -> Any:
    """Decimals back to int/float."""
    if isinstance(document, dict):
        return {k: from_dynamo_value(v) for k, v in document.items()}
    if isinstance(document, list):
        return [from_dynamo_value(v) for v in document]
    if isinstance(document, Decimal):
        return int(document) if document == document.to_integral_value() else float(document)
    return document


def summary_within(item: dict, max_bytes: int) -> dict:
    """The summary item cut to `max_bytes` of JSON: the one list that grows with the symbol count,
    `aggregates.anomaly_symbols`, keeps as many names as fit (its full length stays in
    `anomaly_symbols_count`); the full record is in S3 whatever the item holds."""
    aggregates = item.get("aggregates")
    names = aggregates.get("anomaly_symbols") if isinstance(aggregates, dict) else None
    if not isinstance(names, list) or len(_json(item)) <= max_bytes:
        return item
    trimmed = {
        **item,
        "aggregates": {
            **aggregates,
            "anomaly_symbols": [],
            "anomaly_symbols_count": len(names),
            "anomaly_symbols_truncated": True,
        },
    }
    room = max_bytes - len(_json(trimmed))
    kept = 0
    for name in names:
        room -= len(_json(name)) + 10  # a comma, and room for the `{"S": …}` of DynamoDB's wire form
        if room < 0:
            break
        kept += 1
    trimmed["aggregates"]["anomaly_symbols"] = names[:kept]
    return trimmed


def _json(value: Any) -> bytes:
    return orjson.dumps(value, default=str)


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

    def save(self, record: dict, archive_items: Iterable[dict] = (), movers: list | None = None) -> bool:
        """Store `record`; False if an analysis with its id already exists (nothing overwritten).

        `archive_items` (the per-symbol readings and directory entries, chalicelib.readings) are
        written first, so the analysis item, whose INSERT notify emails and whose existence makes
        a replay a duplicate, is only there once they are: a retry after a failure rewrites them
        (same keys, same values). `movers` is kept on the analysis item for the archive's index.
        """

        self.put_many(archive_items)
        key = record_key(record["analysis_id"])
        body = orjson.dumps(record, option=orjson.OPT_INDENT_2)
        self._objects.put(key, body, "application/json")
        item: dict[str, Any] = dict(record)
        item["kind"] = ANALYSIS_KIND
        item["record_key"] = key
        item["record_bucket"] = self._objects.bucket
        item["symbols_count"] = len(record.get("symbols") or {})
        item["complete"] = len(body) <= self._item_max_bytes
        if movers is not None:
            item["movers"] = movers
        if not item["complete"]:
            item.pop("symbols", None)
            item.pop("symbol_error_details", None)  # thousands of failing symbols would not fit either
        value, unstorable = _to_dynamo(item)
        if unstorable and item["complete"]:
            # A number DynamoDB cannot hold: the item is a summary, and readers take the S3 copy.
            item["complete"] = False
            item.pop("symbols", None)
            item.pop("symbol_error_details", None)
            value, unstorable = _to_dynamo(item)
        value = summary_within(value, self._item_max_bytes) if not item["complete"] else value
        return _put_once(self._ddb, self._table, value)

    def put_many(self, items: Iterable[dict]) -> int:
        """Put plain `items` (unconditionally) 25 to a BatchWriteItem call; how many were written."""
        from boto3.dynamodb.types import TypeSerializer

        serializer = TypeSerializer()
        written = 0
        batch: list[dict] = []
        for item in items:
            value = to_dynamo_value(item)
            batch.append({"PutRequest": {"Item": {k: serializer.serialize(v) for k, v in value.items()}}})
            if len(batch) == _BATCH:
                written += self._write_batch(batch)
                batch = []
        if batch:
            written += self._write_batch(batch)
        return written

    def _write_batch(self, batch: list[dict]) -> int:
        # BatchWriteItem may leave items unprocessed under throttling: send those again, backing off
        # (DynamoDB developer guide, "BatchWriteItem", read 2026-12-05).
        pending = {self._table: batch}
        for attempt in range(_BATCH_ATTEMPTS):
            response = self._ddb.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending.get(self._table):
                return len(batch)
            time.sleep(min(2.0, 0.05 * 2**attempt))
        raise RuntimeError(f"{len(pending[self._table])} archive items still unprocessed after {_BATCH_ATTEMPTS} tries")

    def load_full(self, item: dict) -> dict | None:
        """The full record for a (deserialised) item: the item itself, or its S3 copy."""
        if item.get("complete") and "symbols" in item:
            return item
        found = self._objects.read_json(item["record_key"])
        return found[0] if found else None


def save_notice(dynamodb_client: Any, table: str, notice: dict) -> bool:
    """Store a failure notice once (False: this file's notice is already stored); its INSERT on the
    table's stream is what makes notify send it."""
    return _put_once(dynamodb_client, table, to_dynamo_value(dict(notice)))


def _put_once(dynamodb_client: Any, table: str, value: dict) -> bool:
    """Put `value` unless an item with its `analysis_id` is there already (then False)."""
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    try:
        dynamodb_client.put_item(
            TableName=table,
            Item={k: serializer.serialize(v) for k, v in value.items()},
            ConditionExpression="attribute_not_exists(analysis_id)",
        )
    except Exception as exc:
        if is_conditional_check_failure(exc):
            return False
        raise
    return True
