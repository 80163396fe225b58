"""Every symbol ingest accepts reaches its page: the link a page writes answers 200, through
`chalice.test.Client` and through Chalice's local HTTP server (what `sandbox serve` runs); any
case where unambiguous; the symbol search; forged paging tokens."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
import urllib.request
import warnings

import boto3
import pytest
from moto import mock_aws

from chalicelib.ingest.rules import valid_symbol_problem
from chalicelib.links import symbol_path, symbol_slug
from chalicelib.storage import ObjectStore
from infra.resources import resource_specs
from infra.table import table_definition
from tests.report_records import closes_walk, make_record
from tests.test_api import BUCKET, TABLE, _get, store

SHAPES = [
    "AAPL",
    "XAU/USD",
    "EUR/USD",
    "BRK A",
    "BRK.A",
    "Ünïcödé",
    "株式会社",
    "S" * 64,  # ingest's longest
    "X.json",
    "a~b",
    "100%",
    "<b>&amp;",
    "Abc",
    "ABC",  # Abc and ABC differ only in case
]


@pytest.fixture
def shapes(aws_env):
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(**table_definition({**resource_specs()["table"], "name": TABLE}))
        times: dict = {}
        record = make_record(
            {s: closes_walk(i, n=15) for i, s in enumerate(SHAPES)}, input_key="inputs/shapes.json", bar_times=times
        )
        store(ddb, ObjectStore(s3, BUCKET), record, times)
        yield record


@pytest.fixture
def client(shapes):
    from chalice.test import Client

    import app

    with Client(app.app) as chalice_client:
        yield chalice_client


def test_every_shape_is_a_symbol_ingest_accepts_and_a_one_segment_unreserved_slug():
    for symbol in SHAPES:
        assert valid_symbol_problem(symbol) is None
        slug = symbol_slug(symbol)
        # RFC 3986 unreserved characters only: no hop (API Gateway included) decodes or re-encodes them.
        assert urllib.parse.quote(slug, safe="~") == slug and "/" not in slug


def test_the_index_links_every_symbol_to_its_page(client, shapes):
    status, html = _get(client, "/")
    assert status == 200
    for symbol in SHAPES:
        href = symbol_path(symbol)
        assert f'href="{href}"' in html
        status, page = _get(client, "/" + href)
        assert status == 200, (symbol, page)
        status, body = _get(client, f"/{href}.json")
        assert status == 200 and body["symbol"] == symbol and len(body["items"]) == 1


def test_every_symbol_link_answers_through_chalices_local_http_server(shapes, monkeypatch):
    from chalice.config import Config
    from chalice.local import create_local_server

    import app
    from chalicelib.config import get_settings

    monkeypatch.setenv("TABLE_NAME", TABLE)  # chalice.test.Client sets the stage's; this server does not
    monkeypatch.setenv("BUCKET_NAME", BUCKET)
    get_settings.cache_clear()

    warnings.filterwarnings("ignore", message=".*is not a supported in local mode.*")
    local = create_local_server(app.app, Config.create(chalice_app=app.app, app_name=app.app.app_name), "127.0.0.1", 0)
    thread = threading.Thread(target=local.server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{local.server.server_address[1]}/"
    try:
        index = urllib.request.urlopen(base, timeout=30).read().decode()
        for symbol in SHAPES:
            href = symbol_path(symbol)
            assert f'href="{href}"' in index
            url = urllib.parse.urljoin(base, href)  # as a browser resolves the page's relative link
            with urllib.request.urlopen(url, timeout=30) as response:
                assert response.status == 200
                page = response.read().decode()
            assert "Stock Insights report archive" in page
            with urllib.request.urlopen(url + ".json", timeout=30) as response:
                assert json.loads(response.read())["symbol"] == symbol
            # The page's own links: back to the index, its JSON.
            assert 'href="../"' in page and f'href="{symbol_slug(symbol)}.json"' in page
    finally:
        local.server.shutdown()
        thread.join(timeout=10)
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("path", "symbol"),
    [
        ("/symbols/aapl", "AAPL"),
        ("/symbols/Aapl", "AAPL"),
        ("/symbols/xau~2Fusd", "XAU/USD"),
        ("/symbols/brk.a", "BRK.A"),
        ("/symbols/ABC", "ABC"),
        ("/symbols/Abc", "Abc"),
        ("/symbols/BRK%20A", "BRK A"),  # a symbol as such, where it is no slug
    ],
)
def test_a_symbol_is_found_whatever_its_case_where_unambiguous(client, path, symbol):
    status, body = _get(client, path, {"Accept": "application/json"})
    assert status == 200 and body["symbol"] == symbol
    assert {item["symbol"] for item in body["items"]} == {symbol}  # never another case's readings


def test_a_name_two_symbols_share_but_for_case_is_404_naming_both(client):
    status, body = _get(client, "/symbols/abc")
    assert status == 404 and body["error"]["code"] == "ambiguous_symbol"
    assert sorted(body["error"]["candidates"]) == ["ABC", "Abc"]


def test_the_symbol_search_is_by_prefix_in_any_case(client):
    status, body = _get(client, "/symbols?q=x", {"Accept": "application/json"})
    assert status == 200 and [row["symbol"] for row in body["items"]] == ["X.json", "XAU/USD"]
    assert body["items"][1]["href"] == "symbols/XAU~2FUSD" and body["items"][1]["interval"] == "1day"
    status, html = _get(client, "/symbols?q=brk")
    assert status == 200 and 'href="symbols/BRK~20A"' in html and 'href="symbols/BRK.A"' in html
    status, everything = _get(client, "/symbols?limit=5", {"Accept": "application/json"})
    seen, token = [row["symbol"] for row in everything["items"]], everything["next"]
    while token:
        page = _get(client, f"/symbols?limit=5&next={token}", {"Accept": "application/json"})[1]
        seen, token = seen + [row["symbol"] for row in page["items"]], page["next"]
    assert sorted(seen) == sorted(SHAPES) and len(seen) == len(SHAPES)


def _token(created_at: str, item_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"t": created_at, "i": item_id}).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "path_and_token",
    [
        ("/reports", _token("2026-11-01T12:00:00Z", "a" * 32)),  # no such report
        ("/symbols/AAPL.json", _token("2026-11-01T12:00:00Z", "reading#" + "a" * 32 + "#AAPL")),
        ("/symbols", _token("zzz\tZZZ", "symbol#ZZZ")),
    ],
)
def test_a_forged_but_well_formed_token_is_400(client, shapes, path_and_token):
    path, token = path_and_token
    status, body = _get(client, f"{path}?next={token}")
    assert status == 400 and body["error"]["code"] == "bad_token"


def test_a_real_position_in_another_partition_is_400(client, shapes):
    """A reading of AAPL is a position in AAPL's readings, not in another symbol's."""
    token = _token(shapes["created_at"], f"reading#{shapes['analysis_id']}#AAPL")
    assert _get(client, f"/symbols/AAPL.json?next={token}")[0] == 200
    status, body = _get(client, f"/symbols/ABC.json?next={token}")
    assert status == 400 and body["error"]["code"] == "bad_token"
