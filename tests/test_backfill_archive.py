"""`python -m infra.backfill_archive`: analyses stored before analyze wrote the archive's items get
them, once; the archive's symbol pages then reach their symbols."""

from __future__ import annotations

import boto3
from moto import mock_aws

from chalicelib.analysis_store import AnalysisStore
from chalicelib.storage import ObjectStore
from infra.backfill_archive import DONE, MISSING, SKIPPED, backfill, main
from infra.resources import resource_specs
from infra.table import table_definition
from tests.report_records import closes_walk, make_record
from tests.test_api import BUCKET, TABLE, _get


def _old_archive(ddb, s3, table: str, bucket: str) -> list[dict]:
    """Two analyses stored as before: the analysis items and records only."""
    s3.create_bucket(Bucket=bucket)
    ddb.create_table(**table_definition({**resource_specs()["table"], "name": table}))
    records = []
    for n, symbols in enumerate([("AAA", "XAU/USD"), ("AAA",)], start=1):
        record = make_record({s: closes_walk(n + i, n=12) for i, s in enumerate(symbols)}, etag=f"{n:032x}")
        record["created_at"] = f"2026-11-0{n}T00:00:00Z"
        AnalysisStore(ddb, table, ObjectStore(s3, bucket), 300 if n == 1 else 300_000).save(record)
        records.append(record)
    return records


def test_old_analyses_get_their_readings_once_and_the_pages_reach_them(aws_env):
    from chalice.test import Client

    import app

    with mock_aws():
        ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
        records = _old_archive(ddb, s3, TABLE, BUCKET)
        with Client(app.app) as client:
            assert _get(client, "/symbols/AAA")[0] == 404  # no readings yet
            lines: list[tuple] = []
            counts = backfill(ddb, s3, TABLE, BUCKET, lambda *line: lines.append(line))
            assert counts == {DONE: 2, SKIPPED: 0, MISSING: 0}
            assert [line[1] for line in lines] == [r["analysis_id"] for r in records]  # oldest first
            status, body = _get(client, "/symbols/aaa.json")
            assert status == 200 and [e["analysis_id"] for e in body["items"]] == [
                r["analysis_id"] for r in reversed(records)
            ]
            assert body["items"][0]["points"] == []  # the record keeps no bar datetimes
            status, html = _get(client, "/symbols/XAU~2FUSD")
            assert status == 200 and "12 bars" in html  # the chart falls back to the closes
            status, index = _get(client, "/", {"Accept": "application/json"})
            assert index["symbols_total"] == 2 and {s["symbol"] for s in index["symbols"]} == {"AAA", "XAU/USD"}
        assert backfill(ddb, s3, TABLE, BUCKET, lambda *line: None) == {DONE: 0, SKIPPED: 2, MISSING: 0}


def test_the_command_finds_the_stages_table_and_a_dry_run_writes_nothing(aws_env, capsys):
    with mock_aws():
        ddb, s3, sts = boto3.client("dynamodb"), boto3.client("s3"), boto3.client("sts")
        specs = resource_specs("stock-insights", "dev", sts.get_caller_identity()["Account"], sts.meta.region_name)
        table, bucket = specs["table"]["name"], specs["environment"]["BUCKET_NAME"]
        _old_archive(ddb, s3, table, bucket)
        before = ddb.scan(TableName=table)["Count"]
        assert main(["--stage", "dev", "--dry-run"], client=boto3.client) == 0
        assert ddb.scan(TableName=table)["Count"] == before
        assert "2 backfilled" in capsys.readouterr().out
        assert main(["--stage", "dev"], client=boto3.client) == 0
        assert ddb.scan(TableName=table)["Count"] == before + 3 + 2  # 3 readings, 2 directory entries


def test_an_analysis_whose_record_is_gone_is_reported(aws_env):
    with mock_aws():
        ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
        records = _old_archive(ddb, s3, TABLE, BUCKET)
        s3.delete_object(Bucket=BUCKET, Key=f"analyses/{records[0]['analysis_id']}.json")  # day 1 is a summary
        counts = backfill(ddb, s3, TABLE, BUCKET, lambda *line: None)
        assert counts == {DONE: 1, SKIPPED: 0, MISSING: 1}
