"""The archive's reads from DynamoDB and S3 (the edge adapter; read-only).

Only GetItem and Query on the analyses table and its `kind-created_at` index, HeadObject and
GetObject of `analyses/<id>.json`, and a presigned GET of it: never a Scan. Each Query is of one
partition of the index (chalicelib.readings): `analysis` (the reports), `reading#<folded
symbol>` (one symbol's readings), `symbol` (the directory of symbols). The report listing and
the index project what they show, so a report item's per-symbol data is never read for them.
"""

from __future__ import annotations

from typing import Any

from chalicelib.analysis_store import ANALYSIS_KIND, from_dynamo_value, report_page_key
from chalicelib.api.query import INDEX_NAME
from chalicelib.readings import DIRECTORY_KIND, SEPARATOR, fold
from chalicelib.storage import ObjectStore, is_not_found

# What the listing and the index read of a report item (never `symbols`: up to 300 KB each).
_SUMMARY_FIELDS = (
    "analysis_id",
    "kind",
    "created_at",
    "source",
    "symbols_count",
    "aggregates.sentiment",
    "aggregates.breadth_pct",
    "insights.source",
    "movers",
)
_COUNT_PAGES = 20  # COUNT pages of the directory (each up to 1 MB read by DynamoDB, a few bytes returned)


class Archive:
    def __init__(self, dynamodb_client: Any, table: str, s3_client: Any, default_bucket: str):
        self._ddb = dynamodb_client
        self._table = table
        self._s3 = s3_client
        self._bucket = default_bucket
        self.bytes_read = 0  # response bytes of every read, for tests and logs

    # --- Queries of one index partition -------------------------------------------------------

    def _query(
        self,
        kind: str,
        limit: int,
        start: dict | None,
        *,
        newest_first: bool = True,
        prefix: str | None = None,
        projection: tuple[str, ...] = (),
        only: dict[str, str] | None = None,
        max_calls: int = 10,
    ) -> tuple[list[dict], dict | None]:
        """Up to `limit` items of the index partition `kind` from `start` on, and the key to
        continue from (None: no more). `prefix`: sort keys beginning with it; `only`: attribute
        equalities DynamoDB filters on. At most `max_calls` requests."""
        names = {"#k": "kind"}
        values: dict[str, Any] = {":kind": {"S": kind}}
        condition = "#k = :kind"
        if prefix:
            names["#c"] = "created_at"
            values[":prefix"] = {"S": prefix}
            condition += " AND begins_with(#c, :prefix)"
        args: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": INDEX_NAME,
            "KeyConditionExpression": condition,
            "ScanIndexForward": not newest_first,
        }
        if only:
            filters = []
            for position, (attribute, value) in enumerate(sorted(only.items())):
                names[f"#f{position}"] = attribute
                values[f":f{position}"] = {"S": value}
                filters.append(f"#f{position} = :f{position}")
            args["FilterExpression"] = " AND ".join(filters)
        if projection:
            paths = []
            for position, path in enumerate(projection):
                parts = []
                for depth, part in enumerate(path.split(".")):
                    names[f"#p{position}_{depth}"] = part
                    parts.append(f"#p{position}_{depth}")
                paths.append(".".join(parts))
            args["ProjectionExpression"] = ", ".join(paths)
        args["ExpressionAttributeNames"] = names
        args["ExpressionAttributeValues"] = values
        items: list[dict] = []
        key = start
        for _ in range(max_calls):
            call = {**args, "Limit": limit - len(items)}
            if key:
                call["ExclusiveStartKey"] = {name: {"S": value} for name, value in key.items()}
            response = self._ddb.query(**call)
            self.bytes_read += _size(response)
            items.extend(_plain(item) for item in response.get("Items") or [])
            last = response.get("LastEvaluatedKey")
            key = {name: value["S"] for name, value in last.items()} if last else None
            if key is None or len(items) >= limit:
                break
        # A full page may be the last one: DynamoDB still returns a key; the caller then sees an empty page.
        return items, key

    def latest(self, limit: int, start: dict | None) -> tuple[list[dict], dict | None]:
        """Report summaries (no per-symbol data), newest first."""
        return self.analyses(limit, start)

    def analyses(
        self, limit: int, start: dict | None, newest_first: bool = True, projection: tuple[str, ...] = _SUMMARY_FIELDS
    ) -> tuple[list[dict], dict | None]:
        """Analysis items with the `projection` attributes, in time order."""
        return self._query(ANALYSIS_KIND, limit, start, newest_first=newest_first, projection=projection)

    def neighbours(self, item: dict) -> tuple[str | None, str | None]:
        """The ids of the reports just older and just newer than `item`, by the index's order."""
        key = {"analysis_id": item["analysis_id"], "kind": ANALYSIS_KIND, "created_at": item["created_at"]}
        found = []
        for newest_first in (True, False):
            items, _ = self._query(
                ANALYSIS_KIND, 1, key, newest_first=newest_first, projection=("analysis_id",), max_calls=2
            )
            found.append(items[0]["analysis_id"] if items else None)
        return found[0], found[1]

    def readings(self, symbol: str, limit: int, start: dict | None, exact: bool) -> tuple[list[dict], dict | None]:
        """The symbol's readings, newest first; `exact`: filter out other-case symbols of its partition."""
        return self._query(
            "reading#" + fold(symbol), limit, start, only={"symbol": symbol} if exact else None, max_calls=20
        )

    def directory(self, prefix: str, limit: int, start: dict | None) -> tuple[list[dict], dict | None]:
        """Symbols whose folded name begins with `prefix` (folded), by folded name."""
        return self._query(DIRECTORY_KIND, limit, start, newest_first=False, prefix=fold(prefix))

    def variants(self, symbol: str, at_most: int = 20) -> list[dict]:
        """The directory entries of the symbols that fold like `symbol` (`AAPL`, `aapl`...)."""
        items, _ = self._query(
            DIRECTORY_KIND, at_most, None, newest_first=False, prefix=fold(symbol) + SEPARATOR, max_calls=2
        )
        return items

    def count_symbols(self) -> tuple[int, bool]:
        """(symbols in the directory, whether that is all of them): COUNT Queries return no items."""
        total, key = 0, None
        for _ in range(_COUNT_PAGES):
            args: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": INDEX_NAME,
                "KeyConditionExpression": "#k = :kind",
                "ExpressionAttributeNames": {"#k": "kind"},
                "ExpressionAttributeValues": {":kind": {"S": DIRECTORY_KIND}},
                "Select": "COUNT",
            }
            if key:
                args["ExclusiveStartKey"] = key
            response = self._ddb.query(**args)
            self.bytes_read += _size(response)
            total += int(response.get("Count") or 0)
            key = response.get("LastEvaluatedKey")
            if not key:
                return total, True
        return total, False

    # --- Single items and records ----------------------------------------------------------------

    def get(self, key: str) -> dict | None:
        response = self._ddb.get_item(TableName=self._table, Key={"analysis_id": {"S": key}})
        self.bytes_read += _size(response)
        found = response.get("Item")
        return _plain(found) if found else None

    def item(self, analysis_id: str) -> dict | None:
        found = self.get(analysis_id)
        return found if found and found.get("kind") == ANALYSIS_KIND else None

    def position_exists(self, key: dict) -> bool:
        """Whether a paging key names a stored item of that kind and time (a token we gave out)."""
        response = self._ddb.get_item(
            TableName=self._table,
            Key={"analysis_id": {"S": key["analysis_id"]}},
            ProjectionExpression="#k, created_at",
            ExpressionAttributeNames={"#k": "kind"},
        )
        found = response.get("Item") or {}
        return (
            found.get("kind", {}).get("S") == key["kind"] and found.get("created_at", {}).get("S") == key["created_at"]
        )

    def record_size(self, item: dict) -> int | None:
        """Bytes of the S3 copy of an item's record (None: gone)."""
        if item.get("complete") and "symbols" in item:
            return None
        try:
            head = self._s3.head_object(Bucket=self._record_bucket(item), Key=str(item.get("record_key")))
        except Exception as exc:
            if is_not_found(exc) or _status(exc) == 404:  # HeadObject's 404 has no error code
                return None
            raise
        return int(head["ContentLength"])

    def record_url(self, item: dict, expires_s: int) -> str:
        """A presigned GET of the item's S3 record, valid `expires_s` seconds."""
        return self._s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self._record_bucket(item), "Key": str(item.get("record_key"))},
            ExpiresIn=expires_s,
        )

    def report_page(self, item: dict) -> str | None:
        """The report page notify kept for a big file (`analyses/<id>.html`); None: there is none."""
        try:
            stored = ObjectStore(self._s3, self._record_bucket(item)).get(report_page_key(str(item["analysis_id"])))
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        self.bytes_read += len(stored.body)
        return stored.body.decode("utf-8")

    def record(self, item: dict) -> dict | None:
        """The whole analysis record: the item when it holds it, else its S3 copy (None: gone)."""
        if item.get("complete") and "symbols" in item:
            return _record_of(item)
        import orjson

        try:
            stored = ObjectStore(self._s3, self._record_bucket(item)).get(str(item.get("record_key")))
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        self.bytes_read += len(stored.body)
        return orjson.loads(stored.body)

    def _record_bucket(self, item: dict) -> str:
        return str(item.get("record_bucket") or self._bucket)


# What the store adds to the record for the table (chalicelib.analysis_store.AnalysisStore.save).
_STORE_FIELDS = ("kind", "record_key", "record_bucket", "symbols_count", "complete", "movers")


def _record_of(item: dict) -> dict:
    return {k: v for k, v in item.items() if k not in _STORE_FIELDS}


def _size(response: dict) -> int:
    headers = (response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    return int(headers.get("content-length") or 0)


def _status(exc: Exception) -> int | None:
    return (getattr(exc, "response", None) or {}).get("ResponseMetadata", {}).get("HTTPStatusCode")


def _plain(item: dict) -> dict:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return from_dynamo_value({k: deserializer.deserialize(v) for k, v in item.items()})
