"""The bootstrap against moto server: everything `chalice deploy` needs, idempotent, as defined."""

from __future__ import annotations

import io
import json
import re
import zipfile
from contextlib import redirect_stdout

import boto3
import pytest

from infra import bootstrap
from infra.resources import resource_specs
from infra.table import table_definition
from tests.conftest import copy_chalice_dir
from tests.conftest import moto_server as start_moto_server

REGION = "us-east-1"
SENDER = "reports@example.org"
RECIPIENTS = "a@example.org,b@example.net"
ACCOUNT = "123456789012"  # moto's
BUCKET = f"stock-insights-dev-data-{ACCOUNT}-{REGION}"


@pytest.fixture
def moto_server(monkeypatch):
    with start_moto_server(monkeypatch):
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        boto3.DEFAULT_SESSION = None
        yield lambda service: boto3.client(service, region_name=REGION)


def _run(*argv: str, client=None) -> list[tuple[str, str, str]]:
    """(kind, outcome, line) per resource line of the command's report."""
    out = io.StringIO()
    with redirect_stdout(out):
        assert bootstrap.main(list(argv), client=client) == 0
    rows = []
    for line in out.getvalue().splitlines()[1:]:
        kind, _, outcome = re.match(r"^  (.{18}) (\S+)\s+(\S+)", line).groups()
        rows.append((kind.strip(), outcome, line))
    return rows


def _resources_args(chalice_dir, *extra: str) -> tuple[str, ...]:
    return ("resources", "--stage", "dev", "--sender", SENDER, "--recipients", RECIPIENTS,
            "--chalice-dir", str(chalice_dir), *extra)  # fmt: skip


def test_resources_twice_creates_then_changes_nothing(moto_server, tmp_path):
    chalice_dir = tmp_path / ".chalice"
    copy_chalice_dir(chalice_dir)
    args = _resources_args(chalice_dir, "--alarm-email", "ops@example.org")

    first = _run(*args)
    second = _run(*args)

    checks = [line for kind, _, line in first if kind == "s3 notification"]
    assert len(checks) == 1 and checks[0].endswith("ready for chalice deploy")  # no clashing notification
    first, second = ([row for row in rows if row[0] != "s3 notification"] for rows in (first, second))
    # The settings file and the chalice files are written ("updated"); every resource is created.
    assert [kind for kind, outcome, _ in first if outcome == "updated"] == ["settings", "chalice config"], first
    assert {outcome for kind, outcome, _ in first if kind not in ("settings", "chalice config")} == {"created"}
    assert [outcome for _, outcome, _ in second] == ["unchanged"] * len(second), second
    assert [kind for kind, _, _ in first].count("log group") == 4  # the three functions and the API handler
    specs = resource_specs(stage="dev", account=ACCOUNT, region=REGION, sender_email=SENDER)
    s3 = moto_server("s3")
    bucket = specs["bucket"]["name"]
    assert bucket == BUCKET
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    sse = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert rules["expire-hash-markers"]["Expiration"]["Days"] == 30
    assert rules["expire-hash-markers"]["Filter"]["Prefix"] == "processed/hashes/"
    assert rules["expire-rejects"]["Expiration"]["Days"] == 90
    assert rules["processed-to-standard-ia"]["Transitions"] == [{"Days": 30, "StorageClass": "STANDARD_IA"}]
    ddb = moto_server("dynamodb")
    table = ddb.describe_table(TableName=specs["table"]["name"])["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "kind-created_at"
    assert [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]] == [
        ("kind", "HASH"),
        ("created_at", "RANGE"),
    ]
    backups = ddb.describe_continuous_backups(TableName=specs["table"]["name"])["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert SENDER in moto_server("ses").list_identities()["Identities"]
    queues = moto_server("sqs").list_queues()["QueueUrls"]
    assert sorted(q.rsplit("/", 1)[1] for q in queues) == sorted(
        q["name"] for q in specs["dead_letter_queues"].values()
    )
    alarms = moto_server("cloudwatch").describe_alarms()["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in alarms) == sorted(a["name"] for a in specs["alarms"])
    rejected = next(a for a in alarms if a["MetricName"] == "RejectedPercent")
    assert rejected["Threshold"] == 5.0 and rejected["AlarmActions"][0].endswith(":stock-insights-dev-alarms")
    topic = next(t["TopicArn"] for t in moto_server("sns").list_topics()["Topics"])
    subscriptions = moto_server("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", "ops@example.org")]
    groups = {g["logGroupName"]: g for g in moto_server("logs").describe_log_groups()["logGroups"]}
    assert {name: g["retentionInDays"] for name, g in groups.items()} == {
        f"/aws/lambda/stock-insights-dev{suffix}": 30 for suffix in ("-ingest", "-analyze", "-notify", "")
    }
    unknown = next(a for a in alarms if a["MetricName"] == "EmailOutcomeUnknown")  # docs/reliability.md, "Limits"
    assert unknown["Namespace"] == "StockInsights" and unknown["Threshold"] == 0
    environment = json.loads((chalice_dir / "config.json").read_text())["stages"]["dev"]["environment_variables"]
    assert environment["BUCKET_NAME"] == bucket and environment["SENDER_EMAIL"] == SENDER
    assert environment["RECIPIENT_EMAILS"] == RECIPIENTS
    assert environment["ANALYSES_STREAM_ARN"] == table["LatestStreamArn"]
    # The stated settings are kept for every path; nothing read from the account is.
    assert json.loads((chalice_dir / "settings-dev.json").read_text()) == {
        "alarm_email": "ops@example.org",
        "recipient_emails": RECIPIENTS.split(","),
        "sender_email": SENDER,
    }
    # notify may send From the configured sender and from nobody else (any identity SES checks).
    notify = json.loads((chalice_dir / "policy-dev-notify.json").read_text())
    (send,) = [s for s in notify["Statement"] if s["Sid"] == "SendReportFromTheSenderOnly"]
    assert send["Resource"] == "arn:aws:ses:*:*:identity/*"
    assert send["Condition"] == {"StringEquals": {"ses:FromAddress": SENDER}}
    ingest = json.loads((chalice_dir / "policy-dev-ingest.json").read_text())
    assert f"arn:aws:s3:::{bucket}/inputs/*" in ingest["Statement"][0]["Resource"]
    assert bootstrap.chalice_config.main(["--check", "--chalice-dir", str(chalice_dir)]) == 0


def test_a_sender_identity_that_exists_already_is_shared_never_recreated(moto_server, tmp_path):
    """Verified earlier (another app, another stage): every stage's bootstrap and the Terraform
    path's `sender` step use it as it is; nothing deletes it."""
    ses = moto_server("ses")
    ses.verify_email_identity(EmailAddress=SENDER)
    chalice_dir = tmp_path / ".chalice"
    copy_chalice_dir(chalice_dir)
    for stage in ("dev", "uat"):
        args = ["resources", "--stage", stage, "--sender", SENDER, "--recipients", RECIPIENTS]
        rows = _run(*args, "--chalice-dir", str(chalice_dir))
        assert [outcome for kind, outcome, _ in rows if kind == "ses identity"] == ["unchanged"]
        rows = _run("sender", "--stage", stage, "--chalice-dir", str(chalice_dir))
        assert [(kind, outcome) for kind, outcome, _ in rows] == [("ses identity", "unchanged")]
    assert ses.list_identities()["Identities"] == [SENDER]


def test_the_sender_step_creates_only_the_identity(moto_server, tmp_path):
    chalice_dir = tmp_path / ".chalice"
    copy_chalice_dir(chalice_dir)
    rows = _run(
        "sender", "--stage", "uat", "--sender", SENDER, "--recipients", RECIPIENTS, "--chalice-dir", str(chalice_dir)
    )
    assert [(kind, outcome) for kind, outcome, _ in rows] == [("ses identity", "created")]
    assert moto_server("ses").list_identities()["Identities"] == [SENDER]
    assert moto_server("s3").list_buckets()["Buckets"] == []


def test_a_table_made_before_the_index_gets_it_once(moto_server, tmp_path):
    """A stage bootstrapped before the report archive: the next run adds the index (UpdateTable)."""
    chalice_dir = tmp_path / ".chalice"
    copy_chalice_dir(chalice_dir)
    specs = resource_specs(stage="dev", account=ACCOUNT, region=REGION, sender_email=SENDER)
    ddb = moto_server("dynamodb")
    old = {k: v for k, v in table_definition(specs["table"]).items() if k != "GlobalSecondaryIndexes"}
    old["AttributeDefinitions"] = [{"AttributeName": "analysis_id", "AttributeType": "S"}]
    ddb.create_table(**old)
    assert not ddb.describe_table(TableName=specs["table"]["name"])["Table"].get("GlobalSecondaryIndexes")

    first = {kind: outcome for kind, outcome, _ in _run(*_resources_args(chalice_dir))}
    second = {kind: outcome for kind, outcome, _ in _run(*_resources_args(chalice_dir))}

    assert first["table"] == "updated" and second["table"] == "unchanged"
    table = ddb.describe_table(TableName=specs["table"]["name"])["Table"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["kind-created_at"]


def test_a_changed_setting_is_applied_on_the_next_run(moto_server, tmp_path):
    chalice_dir = tmp_path / ".chalice"
    copy_chalice_dir(chalice_dir)
    _run(*_resources_args(chalice_dir))

    # Sender and recipients are in the settings file now: the next run need not repeat them.
    rows = _run("resources", "--stage", "dev", "--chalice-dir", str(chalice_dir), "--set", "reject_expiration_days=180")

    outcomes = {line.split()[1]: outcome for kind, outcome, line in rows if kind == "bucket"}
    assert outcomes == {BUCKET: "updated"}
    rules = {r["ID"]: r for r in moto_server("s3").get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}
    assert rules["expire-rejects"]["Expiration"]["Days"] == 180
    assert json.loads((chalice_dir / "settings-dev.json").read_text())["reject_expiration_days"] == 180

    _run(*_resources_args(chalice_dir, "--set", "log_retention_days=90"))
    groups = moto_server("logs").describe_log_groups()["logGroups"]
    assert {g["retentionInDays"] for g in groups} == {90}


def test_sender_and_recipients_are_required_once_and_bad_values_touch_nothing(moto_server, tmp_path, capsys):
    chalice_dir = tmp_path / ".chalice"
    copy_chalice_dir(chalice_dir)

    assert bootstrap.main(["resources", "--stage", "dev", "--chalice-dir", str(chalice_dir)]) == 2
    assert "no --sender and no --recipients" in capsys.readouterr().err
    bad = _resources_args(chalice_dir)[:-2] + (
        "--recipients",
        "a@example.org,nobody",
        "--chalice-dir",
        str(chalice_dir),
    )
    assert bootstrap.main(list(bad)) == 2
    assert "'nobody' is not an e-mail address" in capsys.readouterr().err
    assert not (chalice_dir / "settings-dev.json").exists()
    assert moto_server("s3").list_buckets()["Buckets"] == []


def test_settings_are_typed_like_the_terraform_commands(moto_server, tmp_path):
    chalice_dir = tmp_path / ".chalice"
    copy_chalice_dir(chalice_dir)
    base = _resources_args(chalice_dir)

    _run(*base, "--set", "rejected_percent_threshold=2.5")  # a float: the text "2.5" used to crash

    alarms = moto_server("cloudwatch").describe_alarms()["MetricAlarms"]
    thresholds = {a["MetricName"]: a["Threshold"] for a in alarms}
    assert thresholds["RejectedPercent"] == 2.5
    with pytest.raises(SystemExit):
        bootstrap.main([*base, "--set", "no-equals-sign"], client=moto_server)


def test_wire_attaches_dead_letter_queues_and_stream_mapping_settings(moto_server, tmp_path):
    chalice_dir = tmp_path / ".chalice"
    copy_chalice_dir(chalice_dir)
    _run(*_resources_args(chalice_dir))
    specs = resource_specs(stage="dev")
    # What chalice deploy would have made: the three functions and the stream mapping.
    role = moto_server("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return None\n")
    lam = moto_server("lambda")
    for function in specs["functions"].values():
        lam.create_function(
            FunctionName=function["function_name"],
            Runtime="python3.13",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": code.getvalue()},
        )
    stream = moto_server("dynamodb").describe_table(TableName=specs["table"]["name"])["Table"]["LatestStreamArn"]
    lam.create_event_source_mapping(
        EventSourceArn=stream, FunctionName="stock-insights-dev-notify", StartingPosition="TRIM_HORIZON"
    )

    # moto's Lambda accepts DeadLetterConfig but does not keep it; this client remembers what was
    # set and reports it back, as Lambda does, so the second run can see it is already in place.
    dead_letter: dict[str, dict] = {}

    # Likewise the environment's key (KMSKeyArn), which moto keeps only from CreateFunction.
    def remember(params, **kwargs):
        kept = {k: params[k] for k in ("DeadLetterConfig", "KMSKeyArn") if k in params}
        dead_letter.setdefault(params["FunctionName"], {}).update(kept)

    def report(parsed, model, **kwargs):
        parsed.update(dead_letter.get(parsed.get("FunctionName"), {}))

    def client(service):
        made = boto3.client(service, region_name=REGION)
        if service == "lambda":
            made.meta.events.register("provide-client-params.lambda.UpdateFunctionConfiguration", remember)
            made.meta.events.register("after-call.lambda.GetFunctionConfiguration", report)
        return made

    first = _run("wire", "--stage", "dev", "--chalice-dir", str(chalice_dir), client=client)
    second = _run("wire", "--stage", "dev", "--chalice-dir", str(chalice_dir), client=client)

    # Three queues, four environment keys, the mapping.
    assert [o for _, o, _ in first] == ["updated"] * 8 and [o for _, o, _ in second] == ["unchanged"] * 8
    key = moto_server("kms").describe_key(KeyId="alias/stock-insights-dev")["KeyMetadata"]["Arn"]
    for fn, function in specs["functions"].items():
        assert dead_letter[function["function_name"]]["KMSKeyArn"] == key
        if fn == "api_handler":  # invoked synchronously by API Gateway: no queue is attached
            assert "DeadLetterConfig" not in dead_letter[function["function_name"]]
            continue
        target = dead_letter[function["function_name"]]["DeadLetterConfig"]["TargetArn"]
        assert target.endswith(f":stock-insights-dev-{fn}-dlq")
    [mapping] = lam.list_event_source_mappings(FunctionName="stock-insights-dev-notify")["EventSourceMappings"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True and mapping["MaximumRetryAttempts"] == 5
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"].endswith(":stock-insights-dev-notify-dlq")
    # Only analyses and failure notices wake notify (not the archive's readings, directory entries, markers).
    [stream_filter] = mapping["FilterCriteria"]["Filters"]
    assert json.loads(stream_filter["Pattern"]) == {
        "dynamodb": {"NewImage": {"kind": {"S": ["analysis", "failure_notice"]}}}
    }


def test_a_notification_that_would_clash_with_chalices_stops_the_bootstrap(moto_server, tmp_path):
    chalice_dir = tmp_path / ".chalice"
    copy_chalice_dir(chalice_dir)
    args = list(_resources_args(chalice_dir))
    _run(*args)
    sqs = moto_server("sqs")
    queue = sqs.get_queue_attributes(
        QueueUrl=sqs.create_queue(QueueName="someone-elses")["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    moto_server("s3").put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "inputs/daily/"}]}},
                }
            ]
        },
    )

    with pytest.raises(SystemExit, match="overlapping notifications"):
        with redirect_stdout(io.StringIO()):
            bootstrap.main(args)


def test_the_same_stage_in_two_regions_gets_roles_of_its_own(moto_server, tmp_path):
    """IAM names are global to the account: each region's bootstrap makes its own roles, and the
    stage's config tells `chalice deploy` to use them (Chalice's own would be shared)."""
    dirs = {}
    for region in (REGION, "eu-west-1"):
        dirs[region] = tmp_path / region / ".chalice"
        copy_chalice_dir(dirs[region])
        rows = _run(
            *_resources_args(dirs[region]), client=lambda service, r=region: boto3.client(service, region_name=r)
        )
        assert sorted(
            line.split()[2] for kind, outcome, line in rows if kind == "iam role" and outcome == "created"
        ) == [f"stock-insights-dev-{fn}-{region}" for fn in ("analyze", "api_handler", "ingest", "notify")]
    iam = moto_server("iam")
    for region, chalice_dir in dirs.items():
        config = json.loads((chalice_dir / "config.json").read_text())
        for fn, entry in config["stages"]["dev"]["lambda_functions"].items():
            role = f"stock-insights-dev-{fn}-{region}"
            assert (entry["manage_iam_role"], entry["iam_role_arn"]) == (False, f"arn:aws:iam::{ACCOUNT}:role/{role}")
            # The role's one policy is the policy file, naming this region's bucket only.
            written = json.loads((chalice_dir / f"policy-dev-{fn}.json").read_text())
            assert iam.get_role_policy(RoleName=role, PolicyName=role)["PolicyDocument"] == written
            assert iam.list_role_policies(RoleName=role)["PolicyNames"] == [role]
            trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]["Statement"]
            assert [(s["Principal"], s["Action"]) for s in trust] == [
                ({"Service": "lambda.amazonaws.com"}, "sts:AssumeRole")
            ]
        ingest = (chalice_dir / "policy-dev-ingest.json").read_text()
        assert f"-{region}" in ingest and ingest.count("stock-insights-dev-data-") == ingest.count(f"-{region}")
    # A role changed by hand is brought back to its definition on the next run.
    role = f"stock-insights-dev-ingest-{REGION}"
    iam.put_role_policy(RoleName=role, PolicyName=role, PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))  # fmt: skip
    rows = _run(*_resources_args(dirs[REGION]))
    assert [outcome for kind, outcome, line in rows if kind == "iam role" and role in line] == ["updated"]
    assert iam.get_role_policy(RoleName=role, PolicyName=role)["PolicyDocument"] == json.loads(
        (dirs[REGION] / "policy-dev-ingest.json").read_text()
    )


def test_a_role_name_that_cannot_fit_is_refused_before_anything_is_made():
    with pytest.raises(ValueError, match="longer than 64 characters"):
        resource_specs(
            "a-very-long-application-name-for-stock", "staging", "1" * 12, "ap-southeast-2", bucket_name="data"
        )
