"""The archive's reads from DynamoDB and S3 (the edge adapter; read-only).

Only GetItem and Query on the analyses table's `kind-created_at` index, and GetObject of
`analyses/<id>.json`: never a Scan. Email markers share the table but are another kind, so the
index partition `kind = "analysis"` holds analyses only; GetItem checks the kind too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chalicelib.analysis_store import ANALYSIS_KIND, from_dynamo_value
from chalicelib.api.query import INDEX_NAME
from chalicelib.storage import ObjectStore


class Archive:
    def __init__(self, dynamodb_client: Any, table: str, s3_client: Any, default_bucket: str):
        self._ddb = dynamodb_client
        self._table = table
        self._s3 = s3_client
        self._bucket = default_bucket

    def latest(self, limit: int, start: dict | None) -> tuple[list[dict], dict | None]:
        """Up to `limit` analysis items, newest first, from `start` (a key `latest` returned) on;
        and the key to continue from (None: there are no more)."""
        items: list[dict] = []
        key = start
        while True:
            args: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": INDEX_NAME,
                "KeyConditionExpression": "#k = :kind",
                "ExpressionAttributeNames": {"#k": "kind"},
                "ExpressionAttributeValues": {":kind": {"S": ANALYSIS_KIND}},
                "ScanIndexForward": False,
                "Limit": limit - len(items),
            }
            if key:
                args["ExclusiveStartKey"] = {name: {"S": value} for name, value in key.items()}
            response = self._ddb.query(**args)
            items.extend(_plain(item) for item in response.get("Items") or [])
            last = response.get("LastEvaluatedKey")
            key = {name: value["S"] for name, value in last.items()} if last else None
            if key is None or len(items) >= limit:
                break
        # A full page may be the last one: DynamoDB still returns a key; the caller then sees an empty page.
        return items, key

    def each_latest(self, start: dict | None, at_most: int) -> Iterator[tuple[dict, dict | None]]:
        """Items newest first from `start`, at most `at_most`, each with the key that continues after it."""
        seen = 0
        key = start
        while seen < at_most:
            items, next_key = self.latest(min(at_most - seen, 25), key)
            for position, item in enumerate(items):
                seen += 1
                after = _key_of(item) if position < len(items) - 1 or next_key else None
                yield item, after
            if not next_key or not items:
                return
            key = next_key

    def item(self, analysis_id: str) -> dict | None:
        response = self._ddb.get_item(TableName=self._table, Key={"analysis_id": {"S": analysis_id}})
        found = response.get("Item")
        if not found or found.get("kind", {}).get("S") != ANALYSIS_KIND:
            return None
        return _plain(found)

    def record(self, item: dict) -> dict | None:
        """The whole analysis record: the item when it holds it, else its S3 copy (None: gone)."""
        if item.get("complete") and "symbols" in item:
            return _record_of(item)
        objects = ObjectStore(self._s3, str(item.get("record_bucket") or self._bucket))
        found = objects.read_json(str(item.get("record_key")))
        return found[0] if found else None


def _key_of(item: dict) -> dict:
    return {"analysis_id": item["analysis_id"], "kind": ANALYSIS_KIND, "created_at": item["created_at"]}


# What the store adds to the record for the table (chalicelib.analysis_store.AnalysisStore.save).
_STORE_FIELDS = ("kind", "record_key", "record_bucket", "symbols_count", "complete")


def _record_of(item: dict) -> dict:
    return {k: v for k, v in item.items() if k not in _STORE_FIELDS}


def _plain(item: dict) -> dict:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return from_dynamo_value({k: deserializer.deserialize(v) for k, v in item.items()})
