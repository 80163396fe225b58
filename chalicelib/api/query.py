"""The archive's requests and answers, without AWS (pure).

Paging tokens are opaque to callers: URL-safe base64 of the last analysis a page returned (its
time and id), which is all DynamoDB needs to continue the index query. A token that does not
decode to exactly that is a 400, never passed on to DynamoDB.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from chalicelib.analysis_store import ANALYSIS_KIND

# The analyses table's index for "latest first" (infra.resources names it; a test holds the two equal).
INDEX_NAME = "kind-created_at"
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
# GET /symbols/{symbol} examines at most this many analyses per request (each may cost an S3 read
# when its item is a summary); the answer's `next` continues where it stopped.
SYMBOL_EXAMINE_MAX = 50
_ID = re.compile(r"^[0-9a-f]{32}$")  # chalicelib.analyze.record.analysis_id_for
_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-/:^_=]{0,23}$")
_TIME = re.compile(r"^[0-9T:.Z+-]{1,40}$")
# What a history entry carries of a symbol's metrics (the record's fields, docs/analysis.md).
HISTORY_FIELDS = (
    "last_close",
    "percent_change",
    "period_change_pct",
    "momentum_pct",
    "trend",
    "volatility_pct",
    "volume_ratio",
    "bars",
    "first_datetime",
    "last_datetime",
    "recent_closes",
)


class ApiError(Exception):
    """An answer other than 200: `status` and a message for the caller."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict:
        return {"error": {"status": self.status, "code": self.code, "message": self.message}}


def parse_limit(raw: str | None, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= maximum:
        raise ApiError(400, "bad_limit", f"limit must be a whole number from 1 to {maximum}, got {raw[:20]!r}")
    return int(raw)


def encode_token(last_key: dict[str, Any]) -> str:
    """The `next` token for an index query's LastEvaluatedKey (deserialised: plain strings)."""
    data = json.dumps({"t": last_key["created_at"], "i": last_key["analysis_id"]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def decode_token(token: str | None) -> dict[str, str] | None:
    """The ExclusiveStartKey (deserialised) for a `next` token; None for no token; 400 for a bad one."""
    if token is None or token == "":
        return None
    bad = ApiError(400, "bad_token", "the paging token is not one this API gave out")
    if len(token) > 200:
        raise bad
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(data, dict) or set(data) != {"t", "i"}:
        raise bad
    created_at, analysis_id = data["t"], data["i"]
    if not (isinstance(created_at, str) and _TIME.match(created_at)) or not (
        isinstance(analysis_id, str) and _ID.match(analysis_id)
    ):
        raise bad
    return {"analysis_id": analysis_id, "kind": ANALYSIS_KIND, "created_at": created_at}


def check_report_id(raw: str) -> tuple[str, bool]:
    """(analysis id, whether `.json` was asked for); 404 for anything that cannot be an id."""
    as_json = raw.endswith(".json")
    analysis_id = raw[: -len(".json")] if as_json else raw
    if not _ID.match(analysis_id):
        raise ApiError(404, "not_found", "no such report (an id is 32 lowercase hex digits)")
    return analysis_id, as_json


def check_symbol(raw: str) -> str:
    if not _SYMBOL.match(raw):
        raise ApiError(404, "unknown_symbol", "no such symbol")
    return raw


def report_row(item: dict) -> dict:
    """One report in the listing, from its table item (a whole record or a summary)."""
    symbols = item.get("symbols")
    source = item.get("source") or {}
    return {
        "id": item.get("analysis_id"),
        "time": item.get("created_at"),
        "input_file": source.get("input_key"),
        "symbols": sorted(symbols) if isinstance(symbols, dict) else None,  # None: too many for the item
        "symbols_count": item.get("symbols_count", len(symbols) if isinstance(symbols, dict) else 0),
        "sentiment": (item.get("aggregates") or {}).get("sentiment"),
        "insight_source": (item.get("insights") or {}).get("source"),
    }


def history_entry(record: dict, metrics: dict) -> dict:
    """One point of a symbol's history: the analysis it comes from and the symbol's metrics there."""
    return {
        "analysis_id": record.get("analysis_id"),
        "time": record.get("created_at"),
        "input_file": (record.get("source") or {}).get("input_key"),
        **{name: metrics.get(name) for name in HISTORY_FIELDS},
        "anomalies": len(metrics.get("anomalies") or []),
    }


def page_body(items: list[dict], last_key: dict | None, **extra: Any) -> dict:
    return {"items": items, "next": encode_token(last_key) if last_key else None, **extra}
