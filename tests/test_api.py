"""The report archive's routes through `chalice.test.Client`, against moto's DynamoDB (with the
index) and S3: listing and paging, reports as HTML and JSON, symbol history, refusals."""

from __future__ import annotations

import base64
import json

import boto3
import pytest
from moto import mock_aws

from chalicelib.analysis_store import AnalysisStore, record_key
from chalicelib.api import query
from chalicelib.notify.render import render_report, standalone_html
from chalicelib.storage import ObjectStore
from infra.resources import resource_specs, table_definition
from tests.conftest import REPO
from tests.report_records import closes_walk, make_record

BUCKET = "test-bucket"
# chalice.test.Client applies the dev stage's environment, so the table is the one it names.
TABLE = json.loads((REPO / ".chalice" / "config.json").read_text())["stages"]["dev"]["environment_variables"][
    "TABLE_NAME"
]


def _record(n: int, *symbols: str) -> dict:
    record = make_record(
        {s: closes_walk(10 * n + i, n=12, start=50.0 + n) for i, s in enumerate(symbols)},
        input_key=f"inputs/day-{n}.json",
        etag=f"{n:032x}",
    )
    record["created_at"] = f"2026-11-{n:02d}T12:00:00Z"
    return record


@pytest.fixture
def archive(aws_env):
    """Five analyses (day 1..5; day 3 stored as a summary item, its symbols only in S3) and an
    email marker in the same table."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(**table_definition({**resource_specs()["table"], "name": TABLE}))
        objects = ObjectStore(s3, BUCKET)
        records = {}
        for n, symbols in enumerate([("AAA", "BBB"), ("AAA",), ("AAA", "CCC"), ("BBB",), ("AAA", "BBB")], start=1):
            record = _record(n, *symbols)
            AnalysisStore(ddb, TABLE, objects, 300 if n == 3 else 300_000).save(record)
            records[n] = record
        ddb.put_item(
            TableName=TABLE,
            Item={
                "analysis_id": {"S": f"email#{records[5]['analysis_id']}"},
                "kind": {"S": "email_marker"},
                "created_at": {"S": "2030-01-01T00:00:00Z"},
            },
        )
        item = ddb.get_item(TableName=TABLE, Key={"analysis_id": {"S": records[3]["analysis_id"]}})["Item"]
        assert item["complete"] == {"BOOL": False} and "symbols" not in item  # day 3 is a summary
        yield records, s3, ddb


@pytest.fixture
def client(archive):
    from chalice.test import Client

    import app

    with Client(app.app) as chalice_client:
        yield chalice_client


def _get(client, path: str):
    response = client.http.get(path)
    kind = response.headers["Content-Type"]
    return response.status_code, (json.loads(response.body) if kind == "application/json" else response.body.decode())


def _ddb_operations():
    """Record the DynamoDB operations the app's client makes."""
    from chalicelib import aws

    seen: list[str] = []
    aws.client("dynamodb").meta.events.register(
        "before-call.dynamodb", lambda model, **kwargs: seen.append(model.name), unique_id="api-ops"
    )
    return seen


def test_reports_newest_first_without_markers_with_the_listed_fields(client, archive):
    records, _, _ = archive
    operations = _ddb_operations()
    status, body = _get(client, "/reports")
    assert status == 200
    assert [row["id"] for row in body["items"]] == [records[n]["analysis_id"] for n in (5, 4, 3, 2, 1)]
    assert body["next"] is None
    first = body["items"][0]
    assert first == {
        "id": records[5]["analysis_id"],
        "time": "2026-11-05T12:00:00Z",
        "input_file": "inputs/day-5.json",
        "symbols": ["AAA", "BBB"],
        "symbols_count": 2,
        "sentiment": records[5]["aggregates"]["sentiment"],
        "insight_source": "offline",
    }
    summary = body["items"][2]
    assert summary["symbols"] is None and summary["symbols_count"] == 2  # the item does not hold them
    assert set(operations) == {"Query"}  # never a Scan


def test_paging_visits_every_report_once_in_order(client, archive):
    records, _, _ = archive
    seen, token, pages = [], None, 0
    while True:
        status, body = _get(client, "/reports?limit=2" + (f"&next={token}" if token else ""))
        assert status == 200 and len(body["items"]) <= 2
        seen += [row["id"] for row in body["items"]]
        pages += 1
        token = body["next"]
        if token is None:
            break
    assert seen == [records[n]["analysis_id"] for n in (5, 4, 3, 2, 1)]
    assert pages in (3, 4)  # a full last page may be followed by an empty one


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "2.5"])
def test_a_bad_limit_is_400(client, limit):
    status, body = _get(client, f"/reports?limit={limit}")
    assert status == 400 and body["error"]["code"] == "bad_limit"


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        base64.urlsafe_b64encode(b'{"t":"2026","i":"nothex"}').decode(),
        base64.urlsafe_b64encode(b'{"t":"2026","i":"' + b"a" * 32 + b'","x":1}').decode(),
        base64.urlsafe_b64encode(b"[1,2]").decode(),
        "A" * 300,
    ],
)
def test_a_bad_token_is_400(client, token):
    for path in ("/reports", "/symbols/AAA"):
        status, body = _get(client, f"{path}?next={token}")
        assert status == 400 and body["error"]["code"] == "bad_token"


@pytest.mark.parametrize("day", [5, 3])  # a whole item, and a summary whose record is in S3
def test_a_report_is_the_email_with_its_charts_inline(client, archive, day):
    records, s3, _ = archive
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=record_key(records[day]["analysis_id"]))["Body"].read())
    status, html = _get(client, f"/reports/{records[day]['analysis_id']}")
    assert status == 200
    assert html == standalone_html(render_report(stored))
    assert "cid:" not in html and html.count('src="data:image/png;base64,') == len(records[day]["symbols"])


@pytest.mark.parametrize("day", [5, 3])
def test_a_report_as_json_is_the_analysis_record(client, archive, day):
    records, s3, _ = archive
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=record_key(records[day]["analysis_id"]))["Body"].read())
    status, body = _get(client, f"/reports/{records[day]['analysis_id']}.json")
    assert status == 200 and body == stored


@pytest.mark.parametrize(
    "report_id",
    ["nothex", "f" * 32, "F" * 32, "f" * 32 + ".json", "email%23" + "0" * 32, "0" * 31 + ".json", ".json"],
)
def test_an_unknown_or_malformed_report_id_is_404_json(client, report_id):
    status, body = _get(client, f"/reports/{report_id}")
    assert status == 404 and body["error"]["status"] == 404


def test_a_symbol_history_is_newest_first_across_whole_and_summary_items(client, archive):
    records, _, _ = archive
    status, body = _get(client, "/symbols/AAA")
    assert status == 200 and body["symbol"] == "AAA" and body["next"] is None
    assert [e["analysis_id"] for e in body["items"]] == [records[n]["analysis_id"] for n in (5, 3, 2, 1)]
    for entry, n in zip(body["items"], (5, 3, 2, 1), strict=True):
        metrics = records[n]["symbols"]["AAA"]
        assert entry["last_close"] == pytest.approx(metrics["last_close"]) and entry["trend"] == metrics["trend"]
        assert entry["recent_closes"] == pytest.approx(metrics["recent_closes"])
        assert entry["time"] == records[n]["created_at"] and entry["input_file"] == f"inputs/day-{n}.json"


def test_a_symbol_history_pages(client, archive):
    records, _, _ = archive
    seen, token = [], None
    for _ in range(10):
        status, body = _get(client, "/symbols/BBB?limit=1" + (f"&next={token}" if token else ""))
        assert status == 200 and len(body["items"]) <= 1
        seen += [e["analysis_id"] for e in body["items"]]
        token = body["next"]
        if token is None:
            break
    assert seen == [records[n]["analysis_id"] for n in (5, 4, 1)]


@pytest.mark.parametrize("symbol", ["ZZZ", "aaa", "A" * 30, "%3Cscript%3E"])
def test_an_unknown_symbol_is_404(client, symbol):
    status, body = _get(client, f"/symbols/{symbol}")
    assert status == 404 and body["error"]["code"] == "unknown_symbol"


def test_the_index_lists_the_reports_with_a_chart_per_symbol(client, archive):
    records, _, _ = archive
    status, html = _get(client, "/")
    assert status == 200 and "<title>Stock Insights report archive</title>" in html
    for n in range(1, 6):
        assert f'href="reports/{records[n]["analysis_id"]}"' in html
    for symbol in ("AAA", "BBB", "CCC"):
        assert f'href="symbols/{symbol}"' in html
    assert html.count('src="data:image/png;base64,') == 3
    assert "last 4 analyses" in html  # AAA's chart spans the analyses it is in
    assert "last 12 bars" in html  # CCC is in one: its recent closes


def test_an_empty_archive_answers(aws_env):
    from chalice.test import Client

    import app

    with mock_aws():
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            **table_definition({**resource_specs()["table"], "name": TABLE})
        )
        with Client(app.app) as chalice_client:
            assert _get(chalice_client, "/reports") == (200, {"items": [], "next": None})
            status, html = _get(chalice_client, "/")
            assert status == 200 and "No reports yet" in html
            assert _get(chalice_client, "/symbols/AAA")[0] == 404


def test_every_route_is_iam_authorized_by_default():
    import app

    routes = {(path, method): entry for path, methods in app.app.routes.items() for method, entry in methods.items()}
    assert set(routes) == {
        ("/", "GET"),
        ("/reports", "GET"),
        ("/reports/{report_id}", "GET"),
        ("/symbols/{symbol}", "GET"),
    }
    for entry in routes.values():
        assert type(entry.authorizer).__name__ == "IAMAuthorizer" and not entry.api_key_required


def test_api_key_access_is_a_deploy_time_setting(monkeypatch):
    import subprocess
    import sys

    script = (
        "import app\n"
        "entries = [e for m in app.app.routes.values() for e in m.values()]\n"
        "print(all(e.api_key_required and e.authorizer is None for e in entries))\n"
    )
    for auth, expected in (("api_key", "True"), ("iam", "False")):
        out = subprocess.run(
            [sys.executable, "-c", script], cwd=REPO, env={**_env(), "API_AUTH": auth}, capture_output=True, text=True
        )
        assert out.stdout.strip() == expected, out.stderr
    refused = subprocess.run([sys.executable, "-c", "import app"], cwd=REPO, env={**_env(), "API_AUTH": "public"})
    assert refused.returncode != 0


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k != "API_AUTH"}


def test_the_index_name_is_the_tables():
    assert [i["name"] for i in resource_specs()["table"]["indexes"]] == [query.INDEX_NAME]


def test_the_api_auth_setting_reaches_the_stage_environment():
    from infra import chalice_config

    assert "API_AUTH" not in resource_specs()["environment"]  # iam: the app's default
    specs = resource_specs(api_auth="api_key")
    assert specs["environment"]["API_AUTH"] == "api_key"
    config, _ = chalice_config.render({"app_name": "stock-insights"}, {"dev": specs})
    assert config["stages"]["dev"]["environment_variables"]["API_AUTH"] == "api_key"
    with pytest.raises(ValueError, match="api_auth"):
        resource_specs(api_auth="none")


def test_a_symbol_request_examines_a_bounded_number_of_analyses(client, archive, monkeypatch):
    from chalicelib.api import service

    records, _, _ = archive
    monkeypatch.setattr(service, "SYMBOL_EXAMINE_MAX", 2)
    status, first = _get(client, "/symbols/CCC")  # CCC is only in day 3; days 5 and 4 come first
    assert status == 200 and first["items"] == [] and first["examined"] == 2 and first["next"]
    status, second = _get(client, f"/symbols/CCC?next={first['next']}")
    assert status == 200 and [e["analysis_id"] for e in second["items"]] == [records[3]["analysis_id"]]
    # Day 1 is left and holds no CCC: examining it finds nothing with nothing after it, a 404.
    assert second["next"]
    status, third = _get(client, f"/symbols/CCC?next={second['next']}")
    assert status == 404 and third["error"]["code"] == "unknown_symbol"
