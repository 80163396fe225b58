"""The archive's requests and answers, without AWS (pure).

Paging tokens are opaque to callers: URL-safe base64 of the last item a page returned (its id
and its time in the index), which is all DynamoDB needs to continue the index query. A token
that does not decode to that shape is a 400, never passed on to DynamoDB; one that does is
checked against the table (`Archive.position_exists`) before use, so a forged but well-formed
token is a 400 as well.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from typing import Any

from chalicelib.links import symbol_from_slug
from chalicelib.readings import MOVERS, READING_FIELDS, READING_PREFIX, reading_points

# The analyses table's index for "latest first" (infra.resources names it; a test holds the two equal).
INDEX_NAME = "kind-created_at"
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
SYMBOL_MAX_CHARS = 64  # as ingest (chalicelib.ingest.rules)
_ID = re.compile(r"^[0-9a-f]{32}$")  # chalicelib.analyze.record.analysis_id_for
_READING_ID = re.compile(r"^" + READING_PREFIX + r"[0-9a-f]{32}#.{1,200}$", re.S)
_DIRECTORY_ID = re.compile(r"^symbol#.{1,200}$", re.S)
ID_PATTERNS = {"report": _ID, "reading": _READING_ID, "symbol": _DIRECTORY_ID}
_TOKEN_MAX = 1200
# What an entry of a symbol's readings carries (chalicelib.readings; the record's metric names).
HISTORY_FIELDS = ("symbol", "interval", *READING_FIELDS, "anomalies", "insight")


class ApiError(Exception):
    """An answer other than 200: `status` and a message for the caller."""

    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def body(self) -> dict:
        return {"error": {"status": self.status, "code": self.code, "message": self.message, **self.extra}}


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


BAD_TOKEN = "the paging token is not one this API gave out"


def decode_token(token: str | None, kind: str, id_kind: str = "report") -> dict[str, str] | None:
    """The ExclusiveStartKey (deserialised) of a `next` token in the index partition `kind`;
    None for no token; 400 for one of another shape (its existence is the caller's check)."""
    if token is None or token == "":
        return None
    bad = ApiError(400, "bad_token", BAD_TOKEN)
    if len(token) > _TOKEN_MAX:
        raise bad
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(data, dict) or set(data) != {"t", "i"}:
        raise bad
    created_at, item_id = data["t"], data["i"]
    if not (isinstance(created_at, str) and 0 < len(created_at) <= 300) or not (
        isinstance(item_id, str) and ID_PATTERNS[id_kind].match(item_id)
    ):
        raise bad
    return {"analysis_id": item_id, "kind": kind, "created_at": created_at}


def check_report_id(raw: str) -> tuple[str, bool]:
    """(analysis id, whether `.json` was asked for); 404 for anything that cannot be an id."""
    as_json = raw.endswith(".json")
    analysis_id = raw[: -len(".json")] if as_json else raw
    if not _ID.match(analysis_id):
        raise ApiError(404, "not_found", "no such report (an id is 32 lowercase hex digits)")
    return analysis_id, as_json


def parse_symbol(raw: str) -> tuple[str, bool]:
    """(symbol, whether `.json` was asked for) of a `/symbols/{symbol}` path segment: the slug
    `chalicelib.links.symbol_path` writes (`XAU~2FUSD`), or a symbol as such where it is not a
    slug (`BRK A`, after the hop that decoded `BRK%20A`); 404 for what cannot be a symbol."""
    from urllib.parse import unquote

    from chalicelib.ingest.rules import valid_symbol_problem

    as_json = raw.endswith(".json") and len(raw) > len(".json")
    segment = raw[: -len(".json")] if as_json else raw
    if "%" in segment:  # a server that passed the segment on undecoded
        with contextlib.suppress(UnicodeDecodeError):
            segment = unquote(segment, errors="strict")
    try:
        symbol = symbol_from_slug(segment)
    except ValueError:
        symbol = segment
    if valid_symbol_problem(symbol) is not None or len(symbol) > SYMBOL_MAX_CHARS:
        raise ApiError(404, "unknown_symbol", "no such symbol")
    return symbol, as_json


def wants_json(headers: dict[str, str] | None) -> bool:
    """Whether the request's Accept names JSON and not HTML (a browser asks for HTML)."""
    accept = ""
    for name, value in (headers or {}).items():
        if name.lower() == "accept":
            accept = str(value).lower()
    return "application/json" in accept and "text/html" not in accept


def report_row(item: dict) -> dict:
    """One report in the listing, from its table item (projected: no per-symbol data)."""
    source = item.get("source") or {}
    count = int(item.get("symbols_count") or 0)
    movers = item.get("movers")
    names = sorted({m.get("symbol") for m in movers}) if isinstance(movers, list) and count <= MOVERS else None
    return {
        "id": item.get("analysis_id"),
        "time": item.get("created_at"),
        "input_file": source.get("input_key"),
        "symbols": names,  # None: more than the item summarises
        "symbols_count": count,
        "sentiment": (item.get("aggregates") or {}).get("sentiment"),
        "insight_source": (item.get("insights") or {}).get("source"),
    }


def history_entry(item: dict) -> dict:
    """One reading of a symbol: the analysis it comes from and the symbol's metrics there."""
    return {
        "analysis_id": item.get("report_id"),
        "time": item.get("created_at"),
        "input_file": item.get("input_file"),
        **{name: item.get(name) for name in HISTORY_FIELDS},
        "points": reading_points(item),
    }


def page_body(items: list[dict], last_key: dict | None, **extra: Any) -> dict:
    return {"items": items, "next": encode_token(last_key) if last_key else None, **extra}
