"""The report archive's routes through `chalice.test.Client`, against moto's DynamoDB (with the
index) and S3: listing and paging, reports as HTML and JSON, symbol history, refusals."""

from __future__ import annotations

import base64
import datetime as dt
import json

import boto3
import pytest
from moto import mock_aws

from chalicelib.analysis_store import AnalysisStore, record_key
from chalicelib.api import query
from chalicelib.notify.render import render_report, standalone_html
from chalicelib.readings import archive_items, movers
from chalicelib.storage import ObjectStore
from infra.resources import resource_specs
from infra.table import table_definition
from tests.conftest import REPO
from tests.report_records import closes_walk, make_record

BUCKET = "test-bucket"
# chalice.test.Client applies the dev stage's environment, so the table is the one it names.
TABLE = json.loads((REPO / ".chalice" / "config.json").read_text())["stages"]["dev"]["environment_variables"][
    "TABLE_NAME"
]


def _record(n: int, *symbols: str) -> tuple[dict, dict]:
    """Day n's analysis (12 daily bars per symbol, starting 10 days after day n-1's: the last two
    bars of one day are the first two of the next) and its bars' datetimes."""
    times: dict = {}
    record = make_record(
        {s: closes_walk(10 * n + i, n=12, start=50.0 + n) for i, s in enumerate(symbols)},
        input_key=f"inputs/day-{n}.json",
        etag=f"{n:032x}",
        day0=dt.date(2024, 1, 1) + dt.timedelta(days=10 * (n - 1)),
        bar_times=times,
    )
    record["created_at"] = f"2026-11-{n:02d}T12:00:00Z"
    return record, times


def store(ddb, objects, record: dict, times: dict, item_max_bytes: int = 300_000) -> None:
    """Store a record the way analyze does: its readings and directory entries, then the item."""
    AnalysisStore(ddb, TABLE, objects, item_max_bytes).save(record, archive_items(record, times), movers(record))


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
            record, times = _record(n, *symbols)
            store(ddb, objects, record, times, 300 if n == 3 else 300_000)
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


def _get(client, path: str, headers: dict | None = None):
    response = client.http.get(path, headers=headers or {})
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
    summary = body["items"][2]  # the item does not hold its symbols: their names come from its movers
    assert summary["symbols"] == ["AAA", "CCC"] and summary["symbols_count"] == 2
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
def test_a_report_is_the_email_with_its_charts_inline_and_links_around_it(client, archive, day):
    records, s3, _ = archive
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=record_key(records[day]["analysis_id"]))["Body"].read())
    status, html = _get(client, f"/reports/{records[day]['analysis_id']}")
    assert status == 200
    email = standalone_html(render_report(stored))
    nav_start, nav_end = html.index("<nav"), html.index("</nav>") + len("</nav>")
    assert html[:nav_start] + html[nav_end:] == email  # the email, and a bar of links
    nav = html[nav_start:nav_end]
    assert 'href="../"' in nav and f'href="{records[day]["analysis_id"]}.json"' in nav
    assert f'href="{records[day - 1]["analysis_id"]}"' in nav  # the older report
    assert day == 5 or f'href="{records[day + 1]["analysis_id"]}"' in nav  # the newer one
    assert "cid:" not in html and html.count('src="data:image/png;base64,') == len(records[day]["symbols"])


def test_a_big_files_report_page_is_the_page_notify_kept(client, archive):
    """Day 3 is a summary item: with its page in S3 (notify keeps it), the record is not read."""
    from chalicelib.analysis_store import report_page_key

    records, s3, _ = archive
    kept = "<!DOCTYPE html><html><body><p>the email as sent</p></body></html>"
    s3.put_object(Bucket=BUCKET, Key=report_page_key(records[3]["analysis_id"]), Body=kept.encode())
    reads = []
    from chalicelib import aws

    aws.client("s3").meta.events.register(
        "before-parameter-build.s3.GetObject", lambda params, **_: reads.append(params["Key"]), unique_id="kept-page"
    )
    status, html = _get(client, f"/reports/{records[3]['analysis_id']}")
    assert status == 200 and "<p>the email as sent</p>" in html and 'href="../"' in html
    assert f'href="{records[2]["analysis_id"]}"' in html and f'href="{records[4]["analysis_id"]}"' in html
    assert reads == [report_page_key(records[3]["analysis_id"])]  # not analyses/<id>.json


def test_the_oldest_and_newest_reports_link_one_way(client, archive):
    records, _, _ = archive
    newest = _get(client, f"/reports/{records[5]['analysis_id']}")[1]
    oldest = _get(client, f"/reports/{records[1]['analysis_id']}")[1]
    assert "Older report" in newest and "Newer report" not in newest
    assert "Newer report" in oldest and "Older report" not in oldest


def test_a_report_asked_for_json_by_accept_is_the_record(client, archive):
    records, _, _ = archive
    status, body = _get(client, f"/reports/{records[5]['analysis_id']}", {"Accept": "application/json"})
    assert status == 200 and body["analysis_id"] == records[5]["analysis_id"] and "movers" not in body


def test_a_record_too_big_for_a_lambda_response_is_a_short_lived_s3_url(client, archive, monkeypatch):
    import requests

    from chalicelib.api import service

    records, s3, _ = archive
    monkeypatch.setattr(service, "RESPONSE_MAX_BYTES", 1000)  # day 3's S3 copy is larger
    response = client.http.get(f"/reports/{records[3]['analysis_id']}.json")
    assert response.status_code == 303
    body = json.loads(response.body)
    assert response.headers["Location"] == body["url"] and body["expires_in"] == service.URL_EXPIRES_S
    assert "X-Amz-Expires=300" in body["url"] and "X-Amz-Signature=" in body["url"]
    stored = s3.get_object(Bucket=BUCKET, Key=record_key(records[3]["analysis_id"]))["Body"].read()
    assert body["bytes"] == len(stored)
    assert requests.get(body["url"], timeout=10).content == stored  # the URL reads the record
    # A record the item holds whole (day 5, under the item's size) is answered inline.
    assert client.http.get(f"/reports/{records[5]['analysis_id']}.json").status_code == 200


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
    status, body = _get(client, "/symbols/AAA.json")
    assert status == 200 and body["symbol"] == "AAA" and body["next"] is None
    assert [e["analysis_id"] for e in body["items"]] == [records[n]["analysis_id"] for n in (5, 3, 2, 1)]
    for entry, n in zip(body["items"], (5, 3, 2, 1), strict=True):
        metrics = records[n]["symbols"]["AAA"]
        assert entry["last_close"] == pytest.approx(metrics["last_close"]) and entry["trend"] == metrics["trend"]
        assert [c for _, c in entry["points"]] == pytest.approx(metrics["recent_closes"])
        assert entry["points"][-1][0] == metrics["last_datetime"] and entry["interval"] == "1day"
        assert entry["time"] == records[n]["created_at"] and entry["input_file"] == f"inputs/day-{n}.json"
    assert _get(client, "/symbols/AAA", {"Accept": "application/json"})[1] == body


def test_a_symbol_history_pages(client, archive):
    records, _, _ = archive
    seen, token = [], None
    for _ in range(10):
        status, body = _get(client, "/symbols/BBB.json?limit=1" + (f"&next={token}" if token else ""))
        assert status == 200 and len(body["items"]) <= 1
        seen += [e["analysis_id"] for e in body["items"]]
        token = body["next"]
        if token is None:
            break
    assert seen == [records[n]["analysis_id"] for n in (5, 4, 1)]


def test_a_symbol_page_shows_its_latest_reading_a_joined_chart_and_its_readings(client, archive):
    records, _, _ = archive
    status, html = _get(client, "/symbols/AAA")
    assert status == 200 and "<title>AAA · Stock Insights report archive</title>" in html
    assert html.count('<svg class="price-chart"') == 1
    # Days 1, 2, 3 and 5 have 12 bars each; consecutive days share 2 bars: 12 + 10 + 10 + 12 bars.
    assert "44 bars at 1day" in html
    for n in (5, 3, 2, 1):
        assert f'href="../reports/{records[n]["analysis_id"]}"' in html
    assert 'href="../"' in html and 'href="AAA.json"' in html
    assert records[5]["symbols"]["AAA"]["insight"]["summary"].split()[0] in html


@pytest.mark.parametrize("symbol", ["ZZZ", "A" * 30, "A" * 65, "%3Cscript%3E", "~ZZ"])
def test_an_unknown_symbol_is_404(client, symbol):
    status, body = _get(client, f"/symbols/{symbol}")
    assert status == 404 and body["error"]["code"] == "unknown_symbol"


def test_the_index_lists_the_reports_and_the_symbols_moving_in_them(client, archive):
    records, _, _ = archive
    status, html = _get(client, "/")
    assert status == 200 and "<title>Stock Insights report archive</title>" in html
    for n in range(1, 6):
        assert f'href="reports/{records[n]["analysis_id"]}"' in html
    for symbol in ("AAA", "BBB", "CCC"):
        assert f'href="symbols/{symbol}"' in html
    assert html.count('src="data:image/png;base64,') == 3 and "last 12 bars" in html
    assert "3 symbols in the archive" in html and "3 of 3 symbols" in html
    assert html.count(">1day<") == 3  # each symbol's interval
    # Newest report first: day 5's symbols (AAA, BBB), then day 3's CCC.
    assert html.index('href="symbols/CCC"') > max(html.index('href="symbols/AAA"'), html.index('href="symbols/BBB"'))
    status, body = _get(client, "/", {"Accept": "application/json"})
    assert status == 200 and body["symbols_total"] == 3 and len(body["reports"]) == 5
    assert [(s["symbol"], s["interval"]) for s in body["symbols"][2:]] == [("CCC", "1day")]


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
            assert _get(chalice_client, "/symbols", {"Accept": "application/json"}) == (
                200,
                {"items": [], "next": None, "q": ""},
            )


def test_the_routes_and_their_access_are_chosen_at_deploy_time():
    """link (the default): no authorizer at API Gateway, the app's door checks the signed link;
    iam: every route AWS_IAM; api_key: every route needs a key; anything else: the app refuses to load."""
    import subprocess
    import sys

    script = (
        "import app, json\n"
        "entries = {(p, m): e for p, ms in app.app.routes.items() for m, e in ms.items()}\n"
        "print(json.dumps({'routes': sorted(map(list, entries)), 'access': sorted({(type(e.authorizer).__name__, "
        "bool(e.api_key_required)) for e in entries.values()})}))\n"
    )
    routes = [["/", "GET"], ["/reports", "GET"], ["/reports/{report_id}", "GET"], ["/symbols", "GET"]]
    routes += [["/symbols/{symbol}", "GET"]]
    for auth, access in ((None, [["NoneType", False]]), ("iam", [["IAMAuthorizer", False]]),
                         ("api_key", [["NoneType", True]]), ("link", [["NoneType", False]])):  # fmt: skip
        env = {**_env(), **({"API_AUTH": auth} if auth else {})}
        out = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True)
        assert json.loads(out.stdout) == {"routes": routes, "access": access}, out.stderr
    refused = subprocess.run([sys.executable, "-c", "import app"], cwd=REPO, env={**_env(), "API_AUTH": "public"})
    assert refused.returncode != 0


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k != "API_AUTH"}


def test_the_index_name_is_the_tables():
    assert [i["name"] for i in resource_specs()["table"]["indexes"]] == [query.INDEX_NAME]


def test_the_api_auth_setting_reaches_the_stage_environment():
    from infra import chalice_config

    assert "API_AUTH" not in resource_specs()["environment"]  # link: the app's default
    specs = resource_specs(api_auth="api_key")
    assert specs["environment"]["API_AUTH"] == "api_key"
    config, _ = chalice_config.render({"app_name": "stock-insights"}, {"dev": specs})
    assert config["stages"]["dev"]["environment_variables"]["API_AUTH"] == "api_key"
    with pytest.raises(ValueError, match="api_auth"):
        resource_specs(api_auth="none")
