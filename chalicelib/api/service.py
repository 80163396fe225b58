"""The archive routes' work: parameters in, (status, content type, body, headers) out.

`app.py` hands each request here; clients and settings are made on the first request, not at
import. Pages answer HTML, or JSON at `.json` or with `Accept: application/json`; every refusal
is a JSON error. Every route reads a bounded number of small items, whatever the size of the
reports: only `GET /reports/{id}` reads a record, and above RESPONSE_MAX_BYTES its JSON is
handed over as a short-lived S3 URL instead.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from chalicelib.analysis_store import ANALYSIS_KIND
from chalicelib.api.query import (
    BAD_TOKEN,
    ApiError,
    check_report_id,
    decode_token,
    history_entry,
    page_body,
    parse_limit,
    parse_symbol,
    report_row,
    wants_json,
)
from chalicelib.readings import DIRECTORY_KIND, reading_kind

JSON, HTML = "application/json", "text/html; charset=utf-8"
INDEX_REPORTS = 12  # reports on the index page (their items' movers give the symbol rows)
# Lambda answers API Gateway with at most 6 MB (Lambda quotas, "Invocation payload (request and
# response)", read 2026-12-05); the body travels JSON-escaped inside the proxy response, so a
# record is returned inline only up to 4 MiB of its stored (indented, larger) copy.
RESPONSE_MAX_BYTES = 4 * 1024 * 1024
URL_EXPIRES_S = 300  # a presigned record URL's life


class Reply(NamedTuple):
    status: int
    content_type: str
    body: str
    headers: dict | None = None


def reply(work: Any, *args: Any) -> Reply:
    """Run one route's work; an ApiError becomes its JSON error."""
    try:
        return work(*args)
    except ApiError as error:
        return _json(error.status, error.body())


def _start(archive: Any, params: dict, kind: str, id_kind: str) -> dict | None:
    """The query's start from the `next` parameter: 400 unless it names a stored item of `kind`."""
    key = decode_token(params.get("next"), kind, id_kind)
    if key is not None and not archive.position_exists(key):
        raise ApiError(400, "bad_token", BAD_TOKEN)
    return key


def list_reports(params: dict[str, str] | None, archive: Any = None) -> Reply:
    params = params or {}
    limit = parse_limit(params.get("limit"))
    archive = archive or _archive()
    start = _start(archive, params, ANALYSIS_KIND, "report")
    items, last = archive.latest(limit, start)
    return _json(200, page_body([report_row(item) for item in items], last))


def get_report(raw_id: str, headers: dict | None = None, archive: Any = None) -> Reply:
    from chalicelib.api.pages import report_page, with_links

    analysis_id, as_json = check_report_id(raw_id)
    as_json = as_json or wants_json(headers)
    archive = archive or _archive()
    item = archive.item(analysis_id)
    if item is None:
        raise ApiError(404, "not_found", f"no report {analysis_id}")
    if as_json:
        size = archive.record_size(item)
        if size is not None and size > RESPONSE_MAX_BYTES:
            url = archive.record_url(item, URL_EXPIRES_S)
            body = {"url": url, "expires_in": URL_EXPIRES_S, "bytes": size}
            return Reply(303, JSON, json.dumps(body), {"Location": url})
    elif not item.get("complete"):
        # A big file: the page notify kept when it emailed the report, not a record of megabytes.
        page = archive.report_page(item)
        if page is not None:
            return Reply(200, HTML, with_links(page, analysis_id, *archive.neighbours(item)))
    record = archive.record(item)
    if record is None:
        raise ApiError(404, "not_found", f"no report {analysis_id}")
    if as_json:
        return _json(200, record)
    older, newer = archive.neighbours(item)
    return Reply(200, HTML, report_page(record, older, newer))


def _resolve(archive: Any, symbol: str) -> tuple[str, list[str]]:
    """The stored symbol `symbol` names, case aside, and every symbol folding like it."""
    names = [str(entry.get("symbol")) for entry in archive.variants(symbol)]
    if symbol in names:
        return symbol, names
    if len(names) == 1:
        return names[0], names
    if not names:
        raise ApiError(404, "unknown_symbol", "no stored analysis has this symbol")
    raise ApiError(404, "ambiguous_symbol", "more than one symbol has this name in another case", candidates=names)


def symbol_history(
    raw_symbol: str, params: dict[str, str] | None, headers: dict | None = None, archive: Any = None
) -> Reply:
    """The symbol's readings, newest first (`limit`, `next`): its page, or JSON."""
    from chalicelib.api.pages import symbol_page

    params = params or {}
    requested, as_json = parse_symbol(raw_symbol)
    limit = parse_limit(params.get("limit"))
    archive = archive or _archive()
    symbol, variants = _resolve(archive, requested)
    start = _start(archive, params, reading_kind(symbol), "reading")
    items, last = archive.readings(symbol, limit, start, exact=len(variants) > 1)
    if not items and start is None:
        raise ApiError(404, "unknown_symbol", "no stored analysis has this symbol")
    body = page_body([history_entry(item) for item in items], last, symbol=symbol)
    if as_json or wants_json(headers):
        return _json(200, body)
    return Reply(200, HTML, symbol_page(symbol, items, body["next"], first_page=start is None))


def symbol_search(params: dict[str, str] | None, headers: dict | None = None, archive: Any = None) -> Reply:
    """Symbols whose name begins with `q` (any case), by name (`limit`, `next`)."""
    from chalicelib.api.pages import directory_row, search_page

    params = params or {}
    query = " ".join(str(params.get("q") or "").split())[:64]
    limit = parse_limit(params.get("limit"), default=50)
    archive = archive or _archive()
    start = _start(archive, params, DIRECTORY_KIND, "symbol")
    items, last = archive.directory(query, limit, start)
    body = page_body([directory_row(item) for item in items], last, q=query)
    if wants_json(headers):
        return _json(200, body)
    return Reply(200, HTML, search_page(query, body["items"], body["next"]))


def index(headers: dict | None = None, archive: Any = None) -> Reply:
    from chalicelib.api.pages import index_page, index_symbols

    archive = archive or _archive()
    items, last = archive.latest(INDEX_REPORTS, None)
    total, counted_all = archive.count_symbols()
    body = page_body([report_row(item) for item in items], last)
    symbols = index_symbols(items)
    if wants_json(headers):
        document = {
            "reports": body["items"],
            "next": body["next"],
            "symbols_total": total,
            "symbols_total_exact": counted_all,
            "symbols": [{k: v for k, v in row.items() if k not in ("chart",)} for row in symbols],
        }
        return _json(200, document)
    return Reply(200, HTML, index_page(body["items"], items, symbols, total, counted_all, body["next"]))


def _json(status: int, document: Any) -> Reply:
    return Reply(status, JSON, json.dumps(document, ensure_ascii=False, allow_nan=False, default=str))


def _archive() -> Any:
    from chalicelib import aws
    from chalicelib.api.archive import Archive
    from chalicelib.config import get_settings

    settings = get_settings()
    return Archive(aws.client("dynamodb"), settings.table_name, aws.client("s3"), settings.bucket)
