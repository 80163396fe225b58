"""The archive routes' work: parameters in, (status, content type, body) out.

`app.py` hands each request here; clients and settings are made on the first request, not at
import. Every answer is JSON except the two HTML pages; every refusal is a JSON error.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from chalicelib.api.query import (
    SYMBOL_EXAMINE_MAX,
    ApiError,
    check_report_id,
    check_symbol,
    decode_token,
    history_entry,
    page_body,
    parse_limit,
    report_row,
)

JSON, HTML = "application/json", "text/html; charset=utf-8"
INDEX_REPORTS = 12  # reports on the index page (their records give the symbol charts)


class Reply(NamedTuple):
    status: int
    content_type: str
    body: str


def reply(work: Any, *args: Any) -> Reply:
    """Run one route's work; an ApiError becomes its JSON error."""
    try:
        return work(*args)
    except ApiError as error:
        return _json(error.status, error.body())


def list_reports(params: dict[str, str] | None, archive: Any = None) -> Reply:
    params = params or {}
    limit = parse_limit(params.get("limit"))
    start = decode_token(params.get("next"))
    items, last = (archive or _archive()).latest(limit, start)
    return _json(200, page_body([report_row(item) for item in items], last))


def get_report(raw_id: str, archive: Any = None) -> Reply:
    from chalicelib.api.pages import report_page

    analysis_id, as_json = check_report_id(raw_id)
    archive = archive or _archive()
    item = archive.item(analysis_id)
    record = archive.record(item) if item else None
    if record is None:
        raise ApiError(404, "not_found", f"no report {analysis_id}")
    if as_json:
        return _json(200, record)
    return Reply(200, HTML, report_page(record))


def symbol_history(raw_symbol: str, params: dict[str, str] | None, archive: Any = None) -> Reply:
    """The symbol's metrics in the stored analyses, newest first: up to `limit` entries found in at
    most SYMBOL_EXAMINE_MAX analyses; `next` continues after the last analysis examined."""
    params = params or {}
    symbol = check_symbol(raw_symbol)
    limit = parse_limit(params.get("limit"))
    start = decode_token(params.get("next"))
    archive = archive or _archive()
    entries: list[dict] = []
    after: dict | None = None
    examined = 0
    for item, key in archive.each_latest(start, SYMBOL_EXAMINE_MAX):
        examined, after = examined + 1, key
        symbols = item.get("symbols") if item.get("complete") else None
        if symbols is None and item.get("symbols_count"):
            symbols = (archive.record(item) or {}).get("symbols")
        metrics = (symbols or {}).get(symbol)
        if metrics is not None:
            entries.append(history_entry(item, metrics))
            if len(entries) >= limit:
                break
    if not entries and after is None:
        raise ApiError(
            404, "unknown_symbol", f"{symbol} is in no stored analysis" + (" after this point" if start else "")
        )
    return _json(200, page_body(entries, after, symbol=symbol, examined=examined))


def index(archive: Any = None) -> Reply:
    from chalicelib.api.pages import index_page

    archive = archive or _archive()
    items, last = archive.latest(INDEX_REPORTS, None)
    records = [r for r in (archive.record(item) for item in items) if r is not None]
    body = page_body([report_row(item) for item in items], last)
    return Reply(200, HTML, index_page(body["items"], records, body["next"]))


def _json(status: int, document: Any) -> Reply:
    return Reply(status, JSON, json.dumps(document, ensure_ascii=False, allow_nan=False, default=str))


def _archive() -> Any:
    from chalicelib import aws
    from chalicelib.api.archive import Archive
    from chalicelib.config import get_settings

    settings = get_settings()
    return Archive(aws.client("dynamodb"), settings.table_name, aws.client("s3"), settings.bucket)
