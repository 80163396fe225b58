"""The email's signed archive links (API_AUTH=link, the default): made by notify, checked by the
archive's door (chalicelib.archive_access, chalicelib.api.gate, app.py's middleware)."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from moto import mock_aws

from chalicelib import archive_access
from chalicelib.notify.render import render_report
from infra.resources import resource_specs
from infra.table import table_definition

KEY = b"a-link-key-of-the-stage-0123456789abcdef"
NOW = 1_800_000_000
PARAMETER = "/stock-insights/dev/archive-link-key"
# chalice.test.Client applies the dev stage's environment, so the table is the one it names.
TABLE = resource_specs(stage="dev")["table"]["name"]


# --- the token --------------------------------------------------------------------------------


def test_a_token_verifies_until_it_expires_and_only_under_its_key():
    token = archive_access.sign(KEY, NOW + 60)
    assert archive_access.verify(KEY, token, NOW) == NOW + 60
    assert archive_access.verify(KEY, token, NOW + 59.9) == NOW + 60
    assert archive_access.verify(KEY, token, NOW + 60) is None  # expired
    assert archive_access.verify(b"another key", token, NOW) is None
    version, expires, mac = token.split(".")
    assert archive_access.verify(KEY, f"{version}.{int(expires) + 86400}.{mac}", NOW) is None  # a longer life
    tampered = mac[:-1] + ("B" if mac.endswith("A") else "A")
    assert archive_access.verify(KEY, f"{version}.{expires}.{tampered}", NOW) is None
    assert token.startswith("v1.") and len(token) < 80


@pytest.mark.parametrize(
    "token",
    ["", "v1", "v1.", "v1.123", "v1.abc.def", "v2.1800000060.x", "v1.-5.x", "v1.1800000060.é", "v1." + "9" * 300],
)
def test_anything_else_is_no_token(token):
    assert archive_access.verify(KEY, token, NOW) is None


def test_a_token_needs_a_key():
    with pytest.raises(ValueError, match="empty"):
        archive_access.sign(b"", NOW)
    assert archive_access.verify(b"", archive_access.sign(KEY, NOW + 60), NOW) is None


def test_the_token_is_found_in_the_query_or_the_cookie():
    assert archive_access.presented({"access": "A"}, {"Cookie": "x=1; si_archive=B"}) == ("A", "B")
    assert archive_access.presented(None, {"cookie": "si_archive=B"}) == (None, "B")
    assert archive_access.presented({}, {"Cookie": "bad\x00cookie;;="}) == (None, None)
    assert archive_access.presented({}, {}) == (None, None)


def test_the_cookie_is_https_only_out_of_scripts_and_lives_as_long_as_the_token():
    cookie = archive_access.set_cookie("v1.1.x", NOW + 3600, NOW)
    parts = [p.strip() for p in cookie.split(";")]
    assert parts[0] == "si_archive=v1.1.x"
    assert {"Secure", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=3600"} == set(parts[1:])


def test_a_link_carries_the_token_as_its_access_parameter():
    assert archive_access.with_access("https://x/api/reports/1", "T") == "https://x/api/reports/1?access=T"
    assert archive_access.with_access("https://x/api/?q=a", "T") == "https://x/api/?q=a&access=T"
    assert archive_access.with_access("https://x/api/", "") == "https://x/api/"
    assert archive_access.with_access("", "T") == ""


# --- notify signs the links -------------------------------------------------------------------


def _settings(**values):
    from chalicelib.config import load_settings

    return load_settings({k: v for k, v in values.items() if v is not None})


@pytest.fixture
def link_key(aws_env):
    with mock_aws():
        boto3.client("ssm", region_name="us-east-1").put_parameter(
            Name=PARAMETER, Value=KEY.decode(), Type="SecureString"
        )
        yield PARAMETER


def test_notify_signs_the_links_under_link_and_leaves_them_out_when_it_cannot(link_key):
    from chalicelib.notify.service import archive_links

    url = "https://abc.execute-api.us-east-1.amazonaws.com/api"
    linked = _settings(API_AUTH="link", ARCHIVE_URL=url, ARCHIVE_LINK_KEY_PARAMETER=link_key, ARCHIVE_LINK_DAYS="7")
    base, token = archive_links(linked, NOW)
    assert base == url and archive_access.verify(KEY, token, NOW + 7 * 86400 - 1) == NOW + 7 * 86400
    # iam and api_key: API Gateway checks the reader, the links carry nothing.
    assert archive_links(_settings(API_AUTH="iam", ARCHIVE_URL=url), NOW) == (url, "")
    # link, but no key to sign with: no links rather than links that would not open.
    assert archive_links(_settings(API_AUTH="link", ARCHIVE_URL=url), NOW) == ("", "")
    gone = _settings(API_AUTH="link", ARCHIVE_URL=url, ARCHIVE_LINK_KEY_PARAMETER="/no/such/parameter")
    assert archive_links(gone, NOW) == ("", "")
    assert archive_links(_settings(API_AUTH="link"), NOW) == ("", "")  # no archive: nothing to link


def test_every_archive_link_of_the_email_carries_the_token():
    from tests.report_records import market_record

    report = render_report(market_record(), archive_url="https://x.example/api", access="v1.9.TOKEN")
    hrefs = [h for h in _hrefs(report.html) if h.startswith("https://x.example/api")]
    assert len(hrefs) >= 2 and all(h.endswith("?access=v1.9.TOKEN") for h in hrefs)
    assert "https://x.example/api/reports/" in report.text and "?access=v1.9.TOKEN" in report.text


def _hrefs(html: str) -> list[str]:
    import re

    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', html)]


# --- the door ---------------------------------------------------------------------------------


@pytest.fixture
def door(link_key, monkeypatch):
    """The archive in link mode (decided per request, so the in-process app serves it), empty."""
    from chalice.test import Client

    import app
    from chalicelib.config import get_settings

    monkeypatch.setenv("API_AUTH", "link")
    monkeypatch.setenv("ARCHIVE_LINK_KEY_PARAMETER", link_key)
    get_settings.cache_clear()
    boto3.client("dynamodb", region_name="us-east-1").create_table(
        **table_definition({**resource_specs()["table"], "name": TABLE})
    )
    with Client(app.app) as client:
        yield client
    get_settings.cache_clear()


def test_without_a_link_the_archive_says_how_to_open_it(door):
    page = door.http.get("/")
    assert page.status_code == 401 and page.headers["Content-Type"].startswith("text/html")
    assert "opens from a link in a Stock Insights email" in page.body.decode() and "30 days" in page.body.decode()
    answer = door.http.get("/reports", headers={"Accept": "application/json"})
    assert answer.status_code == 401 and json.loads(answer.body)["error"]["code"] == "link_required"
    assert door.http.get("/reports/x.json").headers["Content-Type"] == "application/json"
    for bad in ("v1.1.x", archive_access.sign(b"another key", int(time.time()) + 60)):
        assert door.http.get(f"/?access={bad}").status_code == 401
        assert door.http.get("/", headers={"Cookie": f"si_archive={bad}"}).status_code == 401
    expired = archive_access.sign(KEY, int(time.time()) - 1)
    assert door.http.get(f"/?access={expired}").status_code == 401


def test_a_signed_link_opens_the_archive_and_its_cookie_keeps_it_open(door):
    token = archive_access.sign(KEY, int(time.time()) + 3600)
    first = door.http.get(f"/reports?access={token}")
    assert first.status_code == 200, first.body
    assert first.headers["Set-Cookie"].startswith(f"si_archive={token};")
    assert first.headers["Referrer-Policy"] == "no-referrer"  # the token never leaves as a Referer
    cookie = first.headers["Set-Cookie"].split(";")[0]
    following = door.http.get("/", headers={"Cookie": cookie})
    assert following.status_code == 200 and "Set-Cookie" not in following.headers
    assert door.http.get("/symbols/NOPE", headers={"Cookie": cookie}).status_code == 404  # the route answers


def test_without_its_key_the_archive_stays_closed(door, monkeypatch):
    from chalicelib import aws
    from chalicelib.config import get_settings

    token = archive_access.sign(KEY, int(time.time()) + 3600)
    boto3.client("ssm", region_name="us-east-1").delete_parameter(Name=PARAMETER)  # the key is gone
    aws.reset_clients()  # and no warm container remembers it
    refused = door.http.get(f"/?access={token}")
    assert refused.status_code == 503 and "cannot check links" in refused.body.decode()
    from chalicelib.api.gate import admit

    monkeypatch.setenv("ARCHIVE_LINK_KEY_PARAMETER", "")  # not configured at all
    get_settings.cache_clear()
    assert admit({"access": token}, {}).status == 503


def test_under_iam_the_app_lets_api_gateways_callers_through(door, monkeypatch):
    from chalicelib.config import get_settings

    monkeypatch.setenv("API_AUTH", "iam")
    get_settings.cache_clear()
    assert door.http.get("/reports").status_code == 200
