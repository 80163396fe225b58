"""Each alarm on the app's own metrics watches what the code really prints.

The table below ties every such alarm (infra.alarms) to a driver: the real code path that should
page (SES refusing, Bedrock failing, a quarantined file, a fetch that got nothing, ...). The test
runs it, parses the EMF lines Powertools printed, and checks the alarm's namespace, metric and
dimensions are among them with a value over the threshold. An alarm without a driver fails.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ReadTimeoutError

from chalicelib.config import get_settings
from chalicelib.observability import flush_metrics, metrics
from infra.alarms import APP_METRIC_ALARMS, FETCH_METRIC_ALARMS
from infra.resources import resource_specs
from tests.test_bedrock import _market, _provider
from tests.test_ingest_handler import aws  # noqa: F401  (a fixture)
from tests.test_ingest_hardening import bar, response
from tests.test_notify_handler import _deliver, _fail_ses_once, _record, env  # noqa: F401  (env: a fixture)


def _email_rejected(request, monkeypatch):
    harness = request.getfixturevalue("env")
    monkeypatch.setenv("SENDER_EMAIL", "unverified@example.org")  # SES answers MessageRejected
    get_settings.cache_clear()
    harness.save(_record(1))
    assert _deliver(*harness.inserts()) == {"batchItemFailures": []}
    assert harness.sent() == []


def _email_outcome_unknown(request, monkeypatch):
    harness = request.getfixturevalue("env")
    harness.save(_record(1))
    (record,) = harness.inserts()
    _fail_ses_once(monkeypatch, ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com"))
    assert _deliver(record) == {"batchItemFailures": []}


def _insights_offline(request, monkeypatch):
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    symbols, aggregates = _market("AAPL")
    with Stubber(client) as stub:
        for _ in range(2 * 5):  # the summary call and AAPL's, five attempts each
            stub.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429)
        insights = _provider(client).generate(symbols, aggregates)
    assert insights.source == "offline"


def _ingest(request, body: bytes) -> dict:
    harness = request.getfixturevalue("aws")
    harness.upload("inputs/AAPL_1day.json", body)
    [file] = harness.invoke("inputs/AAPL_1day.json")["files"]  # chalice's middleware flushes the EMF
    return file


def _files_quarantined(request, monkeypatch):
    assert _ingest(request, b"{not json")["status"] == "quarantined"


def _rejected_percent(request, monkeypatch):
    bad = bar("2023-01-04", high="1.00000")  # high below low: rejected, 1 bar of 2 is 50 %
    file = _ingest(request, json.dumps(response("AAPL", [bad, bar("2023-01-03")])).encode())
    assert file["status"] != "quarantined"


def _fetched_nothing(request, monkeypatch):
    from moto import mock_aws

    from chalicelib.fetch import service

    stand_in = request.getfixturevalue("stand_in")
    monkeypatch.setenv("TWELVEDATA_BASE_URL", stand_in.url)
    monkeypatch.setenv("FETCH_SYMBOLS", "NOTFOUND")  # the stand-in knows no such symbol
    monkeypatch.setenv("TWELVEDATA_API_KEY_PARAMETER", "/stock-insights/test/twelvedata-api-key")
    get_settings.cache_clear()
    with mock_aws():
        import boto3

        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="test-bucket")
        boto3.client("ssm", region_name="us-east-1").put_parameter(
            Name="/stock-insights/test/twelvedata-api-key", Value="k" * 24, Type="SecureString"
        )
        result = service.handle_schedule({"time": "2026-11-27T21:30:00Z"})
    assert result["fetched"] == 0


DRIVERS = {
    "email_rejected": _email_rejected,
    "email_outcome_unknown": _email_outcome_unknown,
    "insights_offline": _insights_offline,
    "files_quarantined": _files_quarantined,
    "rejected_percent": _rejected_percent,
    "fetched_nothing": _fetched_nothing,
}


def _emitted(out: str) -> list[tuple[str, str, dict, float]]:
    """(namespace, metric, dimensions, value) of every metric in the EMF lines of `out`."""
    found = []
    for line in out.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for names in directive["Dimensions"]:
                dims = {name: blob[name] for name in names}
                for metric in directive["Metrics"]:
                    values = blob[metric["Name"]]
                    for value in values if isinstance(values, list) else [values]:
                        found.append((directive["Namespace"], metric["Name"], dims, float(value)))
    return found


def test_every_app_metric_alarm_has_a_driver():
    keys = {a[0] for a in APP_METRIC_ALARMS + FETCH_METRIC_ALARMS}
    assert keys == set(DRIVERS)
    specs = resource_specs("stock-insights", "dev", fetch_symbols="AAPL")
    assert keys <= {a["key"] for a in specs["alarms"]}


@pytest.mark.parametrize("key", sorted(DRIVERS))
def test_the_alarm_watches_what_the_code_emits(key, request, monkeypatch, capsys, aws_env):
    metrics.clear_metrics()
    get_settings.cache_clear()
    capsys.readouterr()
    DRIVERS[key](request, monkeypatch)
    flush_metrics()  # what app.py's middleware does after each invocation
    emitted = _emitted(capsys.readouterr().out)

    settings = get_settings()
    specs = resource_specs("stock-insights", settings.stage, fetch_symbols="AAPL")
    (alarm,) = [a for a in specs["alarms"] if a["key"] == key]
    values = [
        v
        for ns, name, dims, v in emitted
        if (ns, name, dims) == (alarm["namespace"], alarm["metric_name"], alarm["dimensions"])
    ]
    assert values, (
        f"{alarm['metric_name']} {alarm['dimensions']} not in {sorted({(n, str(d)) for _, n, d, _ in emitted})}"
    )
    assert max(values) > alarm["threshold"]
    assert alarm["treat_missing_data"] == "notBreaching"


# CloudWatch, standard-resolution alarm: $0.10 per alarm metric a month (aws.amazon.com/cloudwatch/pricing,
# read 2026-12-04).
ALARM_MONTH_USD = 0.10


def test_the_docs_count_and_price_the_alarms_a_deployment_has():
    import re

    from tests.conftest import REPO

    plain = len(resource_specs("stock-insights", "prod")["alarms"])
    with_fetch = len(resource_specs("stock-insights", "prod", fetch_symbols="AAPL")["alarms"])
    readme = " ".join((REPO / "README.md").read_text().split())
    cost = " ".join((REPO / "docs" / "cost.md").read_text().split())
    deploying = " ".join((REPO / "docs" / "deploying.md").read_text().split())

    assert f"{plain} alarms ${plain * ALARM_MONTH_USD:.2f} ({with_fetch} with the scheduled fetch, " in cost
    assert f"${with_fetch * ALARM_MONTH_USD:.2f}" in cost
    assert f"**{plain} alarms**, **{with_fetch} with the scheduled fetch**" in deploying
    assert f"${plain * ALARM_MONTH_USD:.2f} a month, ${with_fetch * ALARM_MONTH_USD:.2f} with fetch" in deploying
    # No other count of alarms anywhere in the docs.
    for text in (readme, cost, deploying):
        counts = {int(n) for n in re.findall(r"\b(\d+) alarms\b", text)}
        assert counts <= {plain}
    # Every alarm of the deployment has its runbook line (named by its suffix after <app>-<stage>-).
    table = deploying.split("## Alarms", 1)[1].split("## ", 1)[0]
    for alarm in resource_specs("stock-insights", "prod", fetch_symbols="AAPL")["alarms"]:
        suffix = alarm["name"].removeprefix("stock-insights-prod-").removeprefix("stock-insights-prod")
        kind = suffix.split("-", 1)[-1] if alarm["namespace"] in ("AWS/Lambda", "AWS/SQS") else suffix
        assert f"`{kind}`" in table or f"-{kind}`" in table, alarm["name"]
