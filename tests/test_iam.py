"""Each function's IAM policy covers every AWS call its handler makes, and nothing is `*` lightly.

The handlers run against moto server with IAM enforcement on, signed with the keys of a user
whose only policy is that function's policy file. moto evaluates the Action of every call; it
evaluates the Resource for S3 and SQS only (other services present the resource as `*`), so in
the moto copy the non-S3 statements have their Resource widened to `*`, and the static tests
below check those ARNs name this stage's resources.
"""

from __future__ import annotations

import email
import email.policy
import functools
import json
import re
import tempfile
import time
from pathlib import Path

import boto3
import pytest

from chalicelib import archive_access
from infra import chalice_config
from infra.resources import API_HANDLER, resource_specs
from infra.resources import FUNCTIONS as ASYNC_FUNCTIONS
from infra.table import table_definition
from tests.conftest import REPO, copy_chalice_dir, moto_server

FUNCTIONS = (*ASYNC_FUNCTIONS, API_HANDLER)  # the archive's routes run in Chalice's one API handler

CHALICE = REPO / ".chalice"
REGION = "us-east-1"
SPECS = resource_specs(stage="dev", account="123456789012", region=REGION)


@functools.cache
def _clean_chalice_dir() -> Path:
    """`.chalice/` as rendered without a checkout's stage settings (the tests state their own)."""
    return copy_chalice_dir(Path(tempfile.mkdtemp(prefix="chalice-")) / ".chalice")


def _policy(stage: str, function: str) -> dict:
    return json.loads((_clean_chalice_dir() / chalice_config.policy_file_name(stage, function)).read_text())


def test_chalice_config_and_policy_files_are_generated_from_infra_resources():
    assert chalice_config.main(["--check"]) == 0
    config = json.loads((CHALICE / "config.json").read_text())
    for stage in chalice_config.STAGES:
        for function in FUNCTIONS:
            entry = config["stages"][stage]["lambda_functions"][function]
            assert entry["autogen_policy"] is False
            assert entry["iam_policy_file"] == chalice_config.policy_file_name(stage, function)


@pytest.mark.parametrize("stage", chalice_config.STAGES)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_wildcard_action_and_every_wildcard_resource_says_why(stage, function):
    for statement in _policy(stage, function)["Statement"]:
        assert all("*" not in action for action in statement["Action"]), statement
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if "*" in resources:
            assert statement["Sid"].endswith("NoResourceLevelPermission"), statement
        if statement["Sid"] == "AppKey":  # any key id, narrowed to the app's key by its alias
            assert statement["Condition"] == {
                "ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/stock-insights-{stage}"}
            }
            continue
        for resource in resources:
            if resource.endswith((f":log-group:/aws/lambda/stock-insights-{stage}", f"/stock-insights-{stage}:*")):
                continue  # the API handler's own log group (Chalice names the function <app>-<stage>)
            if resource != "*" and ":s3:::" not in resource and ":bedrock:" not in resource:
                assert (
                    f"stock-insights-{stage}-" in resource
                    or ":event-bus/" in resource
                    or ":ses:" in resource
                    or resource.endswith(f":parameter/stock-insights/{stage}/archive-link-key")
                ), resource


@pytest.mark.parametrize("stage", chalice_config.STAGES)
def test_each_function_gets_only_its_own_services(stage):
    services = {
        fn: {action.split(":")[0] for s in _policy(stage, fn)["Statement"] for action in s["Action"]}
        for fn in FUNCTIONS
    }
    common = {"logs", "sqs", "kms", "xray"}
    assert services["ingest"] == common | {"s3", "events", "dynamodb"}
    # ingest writes only a quarantined file's failure notice into the table: one PutItem, no reads
    ingest_ddb = {a for s in _policy(stage, "ingest")["Statement"] for a in s["Action"] if a.startswith("dynamodb:")}
    assert ingest_ddb == {"dynamodb:PutItem"}
    assert services["analyze"] == common | {"s3", "dynamodb", "bedrock"}
    # ssm: the archive link key (api_auth=link, the default): notify signs the links, the API checks them.
    assert services["notify"] == common | {"s3", "dynamodb", "ses", "ssm"}
    # The archive's API reads, and only reads: no queue, no writes, no Scan.
    assert services[API_HANDLER] == {"logs", "kms", "xray", "s3", "dynamodb", "ssm"}
    api_actions = {a for s in _policy(stage, API_HANDLER)["Statement"] for a in s["Action"]}
    assert {a for a in api_actions if a.split(":")[0] in ("s3", "dynamodb", "kms")} == {
        "s3:GetObject",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "kms:Decrypt",
    }
    (reads,) = [s for s in _policy(stage, API_HANDLER)["Statement"] if "dynamodb:Query" in s["Action"]]
    table = f"table/stock-insights-{stage}-analyses"
    assert [r.split(":")[-1] for r in reads["Resource"]] == [table, f"{table}/index/kind-created_at"]
    ingest_s3 = {a for s in _policy(stage, "ingest")["Statement"] for a in s["Action"] if a.startswith("s3:")}
    assert "s3:DeleteObject" in ingest_s3
    assert not any(
        "DeleteObject" in a
        for fn in ("analyze", "notify")
        for s in _policy(stage, fn)["Statement"]
        for a in s["Action"]
    )


# --- running the handlers under enforced IAM ---------------------------------------------------


def _moto_copy(policy: dict) -> dict:
    statements = []
    for statement in policy["Statement"]:
        statement = dict(statement)
        statement.pop("Condition", None)
        if not any(action.startswith(("s3:", "sqs:")) for action in statement["Action"]):
            statement["Resource"] = "*"
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


@pytest.fixture
def enforced_aws(monkeypatch):
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    saved = (settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count)
    settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
    try:
        with moto_server(monkeypatch) as endpoint:
            yield _Account(endpoint, monkeypatch)
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved
        from chalicelib import aws
        from chalicelib.config import get_settings

        aws.reset_clients()
        get_settings.cache_clear()


class _Account:
    def __init__(self, endpoint: str, monkeypatch):
        self.endpoint = endpoint
        self.monkeypatch = monkeypatch
        self.keys: dict[str, tuple[str, str]] = {}

    def client(self, service: str, who: str = "admin"):
        key, secret = self.keys.get(who, ("testing", "testing"))
        return boto3.client(
            service, region_name=REGION, endpoint_url=self.endpoint, aws_access_key_id=key, aws_secret_access_key=secret
        )

    def create_user(self, name: str, policy: dict) -> None:
        iam = self.client("iam")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        self.keys[name] = (key["AccessKeyId"], key["SecretAccessKey"])

    def enforce(self) -> None:
        from moto import settings
        from moto.core.authorization import ActionAuthenticatorMixin

        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        ActionAuthenticatorMixin.request_count = 0

    def act_as(self, who: str, **environment: str) -> None:
        """The handlers' own clients (chalicelib.aws) sign with `who`'s keys from now on, with the
        stage's environment (and `environment`)."""
        from chalicelib import aws
        from chalicelib.config import get_settings

        key, secret = self.keys[who]
        self.monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
        self.monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        for name, value in {**SPECS["environment"], "SENDER_EMAIL": "reports@example.com", **environment}.items():
            self.monkeypatch.setenv(name, value)
        aws.reset_clients()
        get_settings.cache_clear()
        boto3.DEFAULT_SESSION = None  # botocore caches resolved credentials per session


class _Context:
    aws_request_id = "iam-test"
    function_name = "iam-test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:iam-test"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def _s3_event(bucket: str, key: str, etag: str) -> dict:
    return {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": key, "eTag": etag, "size": 10}},
            }
        ]
    }


def test_each_policy_covers_every_call_of_its_handler(enforced_aws):
    import app

    aws_ = enforced_aws
    bucket = SPECS["bucket"]["name"]
    s3 = aws_.client("s3")
    s3.create_bucket(Bucket=bucket)
    ddb = aws_.client("dynamodb")
    stream_arn = ddb.create_table(**table_definition(SPECS["table"]))["TableDescription"]["LatestStreamArn"]
    aws_.client("ses").verify_email_identity(EmailAddress="reports@example.com")
    sqs = aws_.client("sqs")
    queue = sqs.create_queue(QueueName="captured-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = aws_.client("events")
    events.put_rule(Name="capture", EventPattern=json.dumps({"source": ["stock-insights.ingestor"]}))
    events.put_targets(Rule="capture", Targets=[{"Id": "q", "Arn": queue_arn}])
    aws_.create_user(
        "admin", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    for function in FUNCTIONS:
        aws_.create_user(function, _moto_copy(_policy("dev", function)))
    good = (REPO / "sandbox" / "samples" / "AAPL_1day_messy.csv").read_bytes()
    etag = s3.put_object(Bucket=bucket, Key="inputs/AAPL_1day.csv", Body=good)["ETag"].strip('"')
    bad_etag = s3.put_object(Bucket=bucket, Key="inputs/broken.json", Body=b"{nope")["ETag"].strip('"')
    link_key = "k" * 48  # the archive link key (api_auth=link): notify and the API read it with their own keys
    aws_.client("ssm").put_parameter(Name=SPECS["archive_link_key"]["parameter"], Value=link_key, Type="SecureString")
    aws_.enforce()
    admin_sqs, admin_streams = aws_.client("sqs"), aws_.client("dynamodbstreams")

    # A function's keys cannot do another's work: the enforcement is real.
    aws_.act_as("notify")
    with pytest.raises(Exception, match="AccessDenied|not authorized"):
        app.ingest(_s3_event(bucket, "inputs/AAPL_1day.csv", etag), _Context())

    aws_.act_as("ingest")
    first = app.ingest(_s3_event(bucket, "inputs/AAPL_1day.csv", etag), _Context())["files"][0]
    again = app.ingest(_s3_event(bucket, "inputs/AAPL_1day.csv", etag), _Context())["files"][0]
    broken = app.ingest(_s3_event(bucket, "inputs/broken.json", bad_etag), _Context())["files"][0]
    assert (first["status"], again["status"], broken["status"]) == ("processed", "duplicate", "quarantined")

    messages = admin_sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    event = {**json.loads(messages[0]["Body"]), "account": "123456789012"}
    aws_.act_as("analyze")
    analysis = app.analyze(event, _Context())
    assert analysis["status"] == "stored"
    assert app.analyze(event, _Context())["status"] == "duplicate"

    shard = admin_streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = admin_streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = admin_streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    from sandbox.lambda_runtime import jsonable

    batch = {"Records": [{**jsonable(r), "eventSourceARN": stream_arn} for r in records]}
    aws_.act_as("notify", ARCHIVE_URL="https://archive.example/api")
    assert app.notify(batch, _Context()) == {"batchItemFailures": []}
    assert app.notify(batch, _Context()) == {"batchItemFailures": []}  # redelivered: no second email
    from moto.ses.models import ses_backends

    # The report, and the broken file's failure notice (ingest's PutItem, notify's stream): one each.
    sent = ses_backends["123456789012"][REGION].sent_messages
    subjects = sorted(str(email.message_from_string(m.raw_data, policy=email.policy.default)["Subject"]) for m in sent)
    assert len(subjects) == 2 and subjects[0].startswith("Stock Insights · Data failed: the file is not valid JSON")
    # The report's archive links carry a token signed with the key notify read.
    (report,) = [m.raw_data for m in sent if "Data failed" not in m.raw_data]
    html = email.message_from_string(report, policy=email.policy.default).get_body(("html",)).get_content()
    token = re.search(r"\?access=(v1\.[0-9]+\.[A-Za-z0-9_-]+)", html).group(1)
    assert archive_access.verify(link_key.encode(), token, time.time()) is not None

    # The archive's routes, with the API handler's read-only policy: every read it makes is allowed.
    from chalice.test import Client

    aws_.act_as(API_HANDLER)
    analysis_id = analysis["analysis_id"]
    with Client(app.app) as api:
        assert api.http.get("/reports").status_code == 401  # the door: no link, no archive
        listing = api.http.get(f"/reports?access={token}")
        assert listing.status_code == 200, listing.body
        assert [r["id"] for r in json.loads(listing.body)["items"]] == [analysis_id]
        cookie = {"Cookie": listing.headers["Set-Cookie"].split(";")[0]}
        for path in ("/", f"/reports/{analysis_id}", f"/reports/{analysis_id}.json", "/symbols/AAPL"):
            assert api.http.get(path, headers=cookie).status_code == 200, path
    # ... and it may not write: its keys cannot put an item.
    with pytest.raises(Exception, match="AccessDenied|not authorized"):
        aws_.client("dynamodb", API_HANDLER).put_item(
            TableName=SPECS["table"]["name"], Item={"analysis_id": {"S": "x"}}
        )


def test_a_stages_settings_file_reaches_its_policy_files_and_environment(tmp_path):
    chalice_dir = tmp_path / ".chalice"
    copy_chalice_dir(chalice_dir)
    settings = {"sender_email": "desk@news.acme.example", "recipient_emails": ["a@acme.example", "b@acme.example"]}
    (chalice_dir / "settings-uat.json").write_text(json.dumps(settings))

    assert chalice_config.main(["--check", "--chalice-dir", str(chalice_dir)]) == 1  # drift until rendered
    assert chalice_config.main(["--chalice-dir", str(chalice_dir)]) == 0

    notify = json.loads((chalice_dir / "policy-uat-notify.json").read_text())
    (send,) = [s for s in notify["Statement"] if s["Sid"] == "SendReportFromTheSenderOnly"]
    assert send["Condition"] == {"StringEquals": {"ses:FromAddress": "desk@news.acme.example"}}
    environment = json.loads((chalice_dir / "config.json").read_text())["stages"]["uat"]["environment_variables"]
    assert environment["SENDER_EMAIL"] == "desk@news.acme.example"
    assert environment["RECIPIENT_EMAILS"] == "a@acme.example,b@acme.example"
    # The other stages keep the defaults.
    clean = _clean_chalice_dir() / "policy-dev-notify.json"
    assert (chalice_dir / "policy-dev-notify.json").read_text() == clean.read_text()
    (chalice_dir / "settings-uat.json").write_text(json.dumps({**settings, "sender_email": "not-an-address"}))
    assert chalice_config.main(["--chalice-dir", str(chalice_dir)]) == 1
