"""The archive's routes at 20,000 symbols: each answers within Lambda's response limit, with a peak
memory and a read volume that do not grow with the report (the same routes over a 20-symbol
archive are the yardstick). AWS is the emulator in a process of its own (tests/emulator.py), so
tracemalloc sees the route's own memory, not moto's. Slow: storing 40,000 archive items."""

from __future__ import annotations

import json
import time
import tracemalloc

import boto3
import pytest

from chalicelib.analysis_store import report_page_key
from chalicelib.api import service
from chalicelib.api.archive import Archive
from chalicelib.notify.render import render_report, standalone_html
from chalicelib.storage import ObjectStore
from infra.resources import resource_specs
from infra.table import table_definition
from tests.report_records import make_record
from tests.test_api import BUCKET, TABLE, store
from tests.test_deploy import emulator

pytestmark = pytest.mark.slow

LAMBDA_RESPONSE_MAX = 6 * 1024 * 1024


def _archive_of(endpoint: str, symbols: int) -> tuple[Archive, dict]:
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET)
    ddb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint)
    ddb.create_table(**table_definition({**resource_specs()["table"], "name": TABLE}))
    times: dict = {}
    series = {f"S{i:05d}": [100.0 + (i % 7) + 0.1 * k * ((i % 3) - 1) for k in range(12)] for i in range(symbols)}
    series["XAU/USD"] = [2000.0 + k for k in range(12)]
    record = make_record(series, input_key=f"inputs/{symbols}.json", bar_times=times)
    store(ddb, ObjectStore(s3, BUCKET), record, times, 300 * 1024)
    # What notify keeps for a big file's report (the email's HTML), as it does when it sends it.
    item = Archive(ddb, TABLE, s3, BUCKET).item(record["analysis_id"])
    if not item["complete"]:
        page = standalone_html(render_report(record)).encode()
        ObjectStore(s3, BUCKET).put(report_page_key(record["analysis_id"]), page, "text/html; charset=utf-8")
    return Archive(ddb, TABLE, s3, BUCKET), record


def _measure(archive: Archive, work, *args) -> dict:
    archive.bytes_read = 0
    started = time.perf_counter()
    tracemalloc.start()
    try:
        reply = work(*args, archive=archive)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # What Lambda returns to API Gateway: the body JSON-escaped inside the proxy response.
    envelope = len(json.dumps({"statusCode": reply.status, "headers": reply.headers or {}, "body": reply.body}))
    seconds = round(time.perf_counter() - started, 2)
    return {"status": reply.status, "response": envelope, "peak": peak, "read": archive.bytes_read, "s": seconds}


def _routes(archive: Archive, record: dict) -> dict:
    report_id = record["analysis_id"]
    return {
        "index": _measure(archive, service.index, None),
        "index_json": _measure(archive, service.index, {"Accept": "application/json"}),
        "reports": _measure(archive, service.list_reports, {"limit": "100"}),
        "symbol": _measure(archive, service.symbol_history, "XAU~2FUSD", {}, None),
        "symbol_json": _measure(archive, service.symbol_history, "S00007.json", {"limit": "100"}, None),
        "search": _measure(archive, service.symbol_search, {"q": "s0", "limit": "100"}, None),
        "report_json": _measure(archive, service.get_report, f"{report_id}.json", None),
        "report": _measure(archive, service.get_report, report_id, None),
    }


def test_every_route_is_bounded_at_twenty_thousand_symbols(aws_env, capsys):
    with emulator("111111111111") as endpoint:
        small = _routes(*_archive_of(endpoint, 20))
    with emulator("222222222222") as endpoint:
        archive, record = _archive_of(endpoint, 20_000)
        large = _routes(archive, record)
        stored = archive.record_size(archive.item(record["analysis_id"]))
    with capsys.disabled():
        print()
        for name in large:
            print(f"{name:12} 20 symbols: {small[name]}  20,000 symbols: {large[name]}")
    assert stored > service.RESPONSE_MAX_BYTES  # the record itself is far over Lambda's limit
    assert (
        large["report_json"]["status"] == 303 and large["report_json"]["read"] < 400_000
    )  # the item (at most 300 KB), not the record
    for name, measured in large.items():
        assert measured["status"] in (200, 303), name
        assert measured["response"] < LAMBDA_RESPONSE_MAX, name
        # Independent of the report's size: within a margin of the 20-symbol archive's figures
        # (the index's rows, the pages' lengths and the emailed report's symbols are capped).
        assert measured["read"] <= 3 * small[name]["read"] + 200_000, name
        assert measured["peak"] <= 3 * small[name]["peak"] + 2_000_000, name
