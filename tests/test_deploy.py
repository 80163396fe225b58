"""Deploying as docs/deploying.md says, to an emulated AWS, and checking with boto3 what was deployed.

Two paths, each against a fresh emulator (`tests/emulator.py`: moto server in its own process,
on loopback, with the named workarounds for where moto differs from AWS), each a different
account:

- `chalice deploy`: `infra.bootstrap resources` (a real-looking sender, two recipients, an alarm
  e-mail) → `chalice deploy` → `infra.bootstrap wire`, then all three again.
- Terraform: `python -m infra.terraform` (what `make package` runs) in the same bootstrapped
  project, then `terraform init`, `plan -out` and `apply` of that plan, with the variables the
  stage's settings file gives.

Both must deliver the same thing: the functions with the right environment, each role's policy
as defined (notify's naming the configured sender), the bucket notification, the analyze rule
filtered on its own bucket, the stream mapping's failure handling, lifecycle rules, log groups
with retention and the alarm subscription.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from infra.policies import function_policies
from infra.resources import FUNCTIONS
from tests.conftest import REPO, copy_project, terraform_plugin_dir

pytestmark = pytest.mark.slow

REGION = "us-east-1"
CHALICE_ACCOUNT, TERRAFORM_ACCOUNT = "111111111111", "222222222222"
SENDER = "reports@mail.acme-analytics.example"
RECIPIENTS = ["ana@acme-analytics.example", "ben@partner.example"]
ALARM_EMAIL = "oncall@acme-analytics.example"
OPERATIONS = ["ops@acme-analytics.example", "oncall@acme-analytics.example"]
LINK_KEY = "/stock-insights/dev/archive-link-key"
FETCH_SYMBOLS = "AAPL,MSFT"
API_KEY = "td-live-key-5f0e1d2c3b4a"  # what a deployer keeps in TD_API_KEY; must never be written anywhere
STAGE = "dev"
PREFIX = f"stock-insights-{STAGE}"
ALL_FUNCTIONS = (*FUNCTIONS, "fetch")  # each with its dead-letter queue
API_ROUTES = ("/", "/reports", "/reports/{report_id}", "/symbols", "/symbols/{symbol}")


# --- the emulator and the commands a user runs -------------------------------------------------


@contextlib.contextmanager
def emulator(account: str):
    """A fresh emulated AWS account on a free loopback port, in a process of its own."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(os.devnull, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulator", "--port", str(port), "--account", account],
        cwd=REPO,
        stdout=log,
        stderr=log,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the emulator did not start (exit {proc.poll()})") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def user_environment(endpoint: str) -> dict[str, str]:
    """A deployer's shell: credentials and region as usual, every AWS call sent to the emulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_VAR_"))}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 900) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def report_outcomes(output: str) -> dict[str, str]:
    """`kind name` → outcome from a bootstrap report."""
    rows = {}
    for line in output.splitlines()[1:]:
        kind, name, outcome = line[2:20].strip(), *line[21:].split(None, 1)
        rows[f"{kind} {name}"] = outcome.split()[0]
    return rows


def aws(endpoint: str):
    def client(service: str):
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return client


# --- deploying ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A clone of the project, so the bootstrap's writes to `.chalice/` stay out of the repository."""
    path = tmp_path_factory.mktemp("deploy") / "stock-insights"
    return copy_project(path)


@pytest.fixture(scope="module")
def chalice_path(project):
    """The `chalice deploy` steps of docs/deploying.md, twice; yields (client factory, the commands' outputs)."""
    python, chalice = sys.executable, str(Path(sys.executable).with_name("chalice"))
    resources = [python, "-m", "infra.bootstrap", "resources", "--stage", STAGE, "--sender", SENDER]
    resources += ["--recipients", ",".join(RECIPIENTS), "--alarm-email", ALARM_EMAIL]
    resources += ["--fetch-symbols", FETCH_SYMBOLS, "--twelvedata-key-env", "TD_API_KEY"]
    resources += ["--set", "notice_to=both", "--set", f"operations_emails={','.join(OPERATIONS)}"]
    steps = [
        resources,
        [chalice, "deploy", "--stage", STAGE],
        [python, "-m", "infra.bootstrap", "wire", "--stage", STAGE],
    ]
    with emulator(CHALICE_ACCOUNT) as endpoint:
        env = {**user_environment(endpoint), "TD_API_KEY": API_KEY}
        first = [run(step, project, env) for step in steps]
        second = [run(step, project, env) for step in steps]
        yield aws(endpoint), first, second


@pytest.fixture(scope="module")
def terraform_path(project, chalice_path):
    """`make package` in the bootstrapped project, then init, plan and apply against a fresh account."""
    terraform = shutil.which("terraform")
    if not terraform:
        pytest.skip("terraform is not installed here; the chalice deploy path is still tested")
    plugins = terraform_plugin_dir()
    if plugins is None:
        pytest.skip("no AWS provider for Terraform offline (set TF_PLUGIN_DIR to a provider mirror)")
    out = project / "build" / "terraform" / STAGE
    run([sys.executable, "-m", "infra.terraform", "--stage", STAGE], project, dict(os.environ))  # make package
    package = {p.name: p.read_text() for p in out.iterdir() if p.name != "deployment.zip"}
    with emulator(TERRAFORM_ACCOUNT) as endpoint:
        # Harness only: the provider talks to the emulator and keeps its state locally (the
        # package's S3 backend is configured at init in real use); an override file leaves the
        # package's own files as they are.
        (out / "emulator_override.tf").write_text(_provider_override(endpoint))
        env = {
            **user_environment(endpoint),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }
        # The sender's SES identity, the step docs/deploying.md gives before the first apply: it
        # exists when Terraform applies (as one verified earlier, or another stage's, would).
        run([sys.executable, "-m", "infra.bootstrap", "sender", "--stage", STAGE], project, env)
        tf = [terraform, f"-chdir={out}"]
        run([*tf, "init", "-input=false", "-no-color", f"-plugin-dir={plugins}"], project, env)
        run([*tf, "plan", "-input=false", "-no-color", "-out=tfplan"], project, env)
        run([*tf, "apply", "-input=false", "-no-color", "tfplan"], project, env, timeout=1200)
        package["terraform.tfstate"] = (out / "terraform.tfstate").read_text()
        yield aws(endpoint), package


_SERVICES = (
    "apigateway",
    "cloudwatch",
    "dynamodb",
    "events",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "secretsmanager",  # the archive link key's random value (an ephemeral resource)
    "ses",
    "sesv2",
    "sns",
    "sqs",
    "ssm",  # the archive link key
    "sts",
)


def _provider_override(endpoint: str) -> str:
    endpoints = "\n".join(f'    {service} = "{endpoint}"' for service in _SERVICES)
    return f"""terraform {{
  backend "local" {{}}
}}

provider "aws" {{
  region                      = "{REGION}"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  endpoints {{
{endpoints}
  }}
}}
"""


# --- what was deployed -------------------------------------------------------------------------


def _chalice_config(project: Path) -> dict:
    return json.loads((project / ".chalice" / "config.json").read_text())


def _function_settings(project: Path, fn: str) -> dict:
    config = _chalice_config(project)
    return {**config["lambda_functions"][fn], **config["stages"][STAGE]["lambda_functions"][fn]}


def _deployed(client, account: str) -> dict:
    """The ARNs and names the deployment in `account` has, read back from the emulator."""
    bucket = f"{PREFIX}-data-{account}-{REGION}"
    table = client("dynamodb").describe_table(TableName=f"{PREFIX}-analyses")["Table"]
    sqs = client("sqs")
    dlqs = {
        fn: sqs.get_queue_attributes(
            QueueUrl=sqs.get_queue_url(QueueName=f"{PREFIX}-{fn}-dlq")["QueueUrl"], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        for fn in ALL_FUNCTIONS
    }
    (rest_api,) = [a for a in client("apigateway").get_rest_apis()["items"] if a["name"] == "stock-insights"]
    api_url = f"https://{rest_api['id']}.execute-api.{REGION}.amazonaws.com/api"
    return {"bucket": bucket, "table": table, "stream_arn": table["LatestStreamArn"], "dlqs": dlqs, "api_url": api_url}


def check_deployment(client, account: str, project: Path) -> dict:
    """Everything both paths must deliver; returns what was read, for path-specific checks."""
    deployed = _deployed(client, account)
    bucket, stream_arn = deployed["bucket"], deployed["stream_arn"]
    lam = client("lambda")
    functions = {}
    for fn in ALL_FUNCTIONS:
        config = lam.get_function_configuration(FunctionName=f"{PREFIX}-{fn}")
        settings = _function_settings(project, fn)
        assert (config["Handler"], config["Runtime"]) == (f"app.{fn}", "python3.13")
        assert (config["MemorySize"], config["Timeout"]) == (settings["lambda_memory_size"], settings["lambda_timeout"])
        variables = config["Environment"]["Variables"]
        assert variables["ANALYSES_STREAM_ARN"] == stream_arn  # the real stream, not a placeholder
        assert variables["BUCKET_NAME"] == bucket
        assert variables["TABLE_NAME"] == f"{PREFIX}-analyses"
        assert variables["SENDER_EMAIL"] == SENDER
        assert variables["RECIPIENT_EMAILS"] == ",".join(RECIPIENTS)
        # Who gets failure notices, and the archive the email links to: stated once, on both paths.
        assert (variables["NOTICE_TO"], variables["OPERATIONS_EMAILS"]) == ("both", ",".join(OPERATIONS))
        # api_auth=link (the default) and no archive_url stated: the emails link to the API's own
        # URL, which each path fills in on notify (the API handler naming its own API: a cycle).
        assert variables.get("ARCHIVE_URL", "").rstrip("/") == (deployed["api_url"] if fn == "notify" else "")
        assert variables["ARCHIVE_LINK_KEY_PARAMETER"] == LINK_KEY
        # Left at its default: Terraform passes its variable's default, chalice deploy no variable.
        assert variables.get("INSIGHTS_PROVIDER", "offline") == "offline" and variables["STAGE"] == STAGE
        assert variables["FETCH_SYMBOLS"] == FETCH_SYMBOLS
        assert variables["TWELVEDATA_API_KEY_PARAMETER"] == f"/stock-insights/{STAGE}/twelvedata-api-key"
        assert API_KEY not in json.dumps(variables)
        assert config["DeadLetterConfig"]["TargetArn"] == deployed["dlqs"][fn]
        functions[fn] = config
    # Both paths: X-Ray active tracing and the environment encrypted with the app's key, every function.
    key = client("kms").describe_key(KeyId=f"alias/{PREFIX}")["KeyMetadata"]["Arn"]
    for name in (*(f"{PREFIX}-{fn}" for fn in ALL_FUNCTIONS), PREFIX):
        config = lam.get_function_configuration(FunctionName=name)
        assert (config["TracingConfig"]["Mode"], config.get("KMSKeyArn")) == ("Active", key), name

    # ingest on inputs/ only
    notification = client("s3").get_bucket_notification_configuration(Bucket=bucket)
    (lambda_config,) = notification["LambdaFunctionConfigurations"]
    assert lambda_config["LambdaFunctionArn"] == functions["ingest"]["FunctionArn"]
    assert lambda_config["Events"] == ["s3:ObjectCreated:*"]
    rules = lambda_config["Filter"]["Key"]["FilterRules"]
    assert [(r["Name"].lower(), r["Value"]) for r in rules] == [("prefix", "inputs/")]

    # analyze on this stage's bucket only; fetch on its schedule
    events = client("events")
    rules = events.list_rules(NamePrefix=PREFIX)["Rules"]
    (rule,) = [r for r in rules if r.get("EventPattern")]
    (schedule,) = [r for r in rules if r.get("ScheduleExpression")]
    assert schedule["ScheduleExpression"] == "cron(30 21 ? * MON-FRI *)"
    (fetch_target,) = events.list_targets_by_rule(Rule=schedule["Name"])["Targets"]
    assert fetch_target["Arn"] == functions["fetch"]["FunctionArn"]
    assert json.loads(rule["EventPattern"]) == {
        "source": ["stock-insights.ingestor"],
        "detail-type": ["IngestorCompleted"],
        "detail": {"bucket": [bucket]},
    }
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == functions["analyze"]["FunctionArn"]

    # notify on the analyses stream, failures bisected, retried, then parked
    (mapping,) = lam.list_event_source_mappings(FunctionName=f"{PREFIX}-notify")["EventSourceMappings"]
    assert mapping["EventSourceArn"] == stream_arn
    assert (mapping["BatchSize"], mapping["StartingPosition"]) == (10, "TRIM_HORIZON")
    assert mapping["BisectBatchOnFunctionError"] is True and mapping["MaximumRetryAttempts"] == 5
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == deployed["dlqs"]["notify"]

    lifecycle = {r["ID"]: r for r in client("s3").get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert lifecycle["expire-hash-markers"]["Expiration"]["Days"] == 30
    assert lifecycle["expire-rejects"]["Expiration"]["Days"] == 90
    assert lifecycle["processed-to-standard-ia"]["Transitions"][0]["Days"] == 30

    groups = {g["logGroupName"]: g.get("retentionInDays") for g in client("logs").describe_log_groups()["logGroups"]}
    assert {name: days for name, days in groups.items() if name.startswith("/aws/lambda/")} == {
        **{f"/aws/lambda/{PREFIX}-{fn}": 30 for fn in ALL_FUNCTIONS},
        f"/aws/lambda/{PREFIX}": 30,  # the API handler's
    }

    sns = client("sns")
    (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(f":{PREFIX}-alarms")]
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", ALARM_EMAIL)]

    functions["api_handler"] = check_api(client, project, deployed)
    deployed["functions"] = functions
    deployed["policies"] = {fn: _role_policy(client, functions[fn]["Role"]) for fn in functions}
    api = deployed["policies"]["api_handler"]
    read_actions = sorted(a for st in api["Statement"] for a in _as_list(st["Action"]) if a.split(":")[0] != "xray")
    assert read_actions == sorted(
        ["dynamodb:GetItem", "dynamodb:Query", "s3:GetObject", "kms:Decrypt"]
        + ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
        + ["ssm:GetParameter"]  # the archive link key (encrypted with the app's key: AppKey decrypts)
    )
    # The archive link key: a SecureString of a random value, which notify and the API handler read.
    key = client("ssm").get_parameter(Name=LINK_KEY, WithDecryption=True)["Parameter"]
    assert key["Type"] == "SecureString" and len(key["Value"]) >= 32
    (described,) = client("ssm").describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [LINK_KEY]}])[
        "Parameters"
    ]
    app_key = client("kms").describe_key(KeyId=f"alias/{PREFIX}")["KeyMetadata"]
    assert described["KeyId"] in (app_key["Arn"], app_key["KeyId"], f"alias/{PREFIX}")  # the app's key
    for fn in ("notify", "api_handler"):
        assert _statement(deployed["policies"][fn], "ReadArchiveLinkKey")["Resource"].endswith(f":parameter{LINK_KEY}")
    deployed["link_key"] = key["Value"]
    assert _statement(api, "ReadFullAnalyses")["Resource"] == f"arn:aws:s3:::{bucket}/analyses/*"
    # The table and its index (the chalice path's policy file names any account and region).
    table = f"table/{PREFIX}-analyses"
    reads = _statement(api, "ReadAnalysesAndLatestIndex")["Resource"]
    assert [arn.split(":")[-1] for arn in reads] == [table, f"{table}/index/kind-created_at"]
    fetch = deployed["policies"]["fetch"]
    assert _statement(fetch, "ReadTwelveDataKey")["Resource"].endswith(
        f":parameter/stock-insights/{STAGE}/twelvedata-api-key"
    )
    assert _statement(fetch, "WriteScheduledInputs")["Resource"] == f"arn:aws:s3:::{bucket}/inputs/scheduled/*"
    assert _statement(fetch, "DecryptKeyThroughSsmOnly")["Condition"]["StringLike"]["kms:ViaService"].startswith("ssm.")
    send = _statement(deployed["policies"]["notify"], "SendReportFromTheSenderOnly")
    assert send["Action"] == ["ses:SendRawEmail"]
    # Any identity SES checks (the sandbox checks the recipients' too), From the configured sender only.
    assert send["Resource"].endswith(":identity/*")
    assert send["Condition"] == {"StringEquals": {"ses:FromAddress": SENDER}}
    # The sender's identity exists (a step of each path) and no deployment owns it alone.
    assert SENDER in client("ses").list_identities(IdentityType="EmailAddress")["Identities"]
    return deployed


def check_api(client, project: Path, deployed: dict) -> dict:
    """The report archive's API: Chalice's API handler, a REST API whose every route is a GET that
    calls it (no API Gateway authorizer: under api_auth=link, the default, the app checks the email's
    signed links), and the table's index its queries use."""
    config = client("lambda").get_function_configuration(FunctionName=PREFIX)
    settings = _function_settings(project, "api_handler")
    assert (config["Handler"], config["Runtime"]) == ("app.app", "python3.13")
    assert (config["MemorySize"], config["Timeout"]) == (settings["lambda_memory_size"], settings["lambda_timeout"])
    assert not (config.get("DeadLetterConfig") or {}).get("TargetArn")  # invoked synchronously
    variables = config["Environment"]["Variables"]
    assert variables["TABLE_NAME"] == f"{PREFIX}-analyses" and variables["BUCKET_NAME"] == deployed["bucket"]
    assert "API_AUTH" not in variables  # link, the default
    (index,) = deployed["table"]["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "kind-created_at"
    apigateway = client("apigateway")
    (rest_api,) = [a for a in apigateway.get_rest_apis()["items"] if a["name"] == "stock-insights"]
    resources = apigateway.get_resources(restApiId=rest_api["id"], embed=["methods"])["items"]
    methods = {r["path"]: r.get("resourceMethods") or {} for r in resources if r.get("resourceMethods")}
    assert set(methods) == set(API_ROUTES)
    by_path = {r["path"]: r["id"] for r in resources}
    for path in API_ROUTES:
        assert set(methods[path]) == {"GET"}, path
        method = apigateway.get_method(restApiId=rest_api["id"], resourceId=by_path[path], httpMethod="GET")
        # api_auth=link: no authorizer, the app checks the signed link. AWS answers "NONE"; moto
        # leaves the key out of a method imported without `security` (emulator difference).
        assert method.get("authorizationType", "NONE") == "NONE", path
        assert not method.get("apiKeyRequired"), path
        integration = method["methodIntegration"]
        assert integration["type"] == "AWS_PROXY" and config["FunctionArn"] in integration["uri"], path
    return config


def _role_policy(client, role_arn: str) -> dict:
    iam = client("iam")
    role = role_arn.rsplit("/", 1)[1]
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    return json.loads(document) if isinstance(document, str) else document


def _statement(policy: dict, sid: str) -> dict:
    (statement,) = [s for s in policy["Statement"] if s["Sid"] == sid]
    return statement


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


# --- the chalice deploy path ----------------------------------------------------------------------


def test_chalice_path_delivers_every_setting(chalice_path, project):
    client, _, _ = chalice_path
    deployed = check_deployment(client, CHALICE_ACCOUNT, project)
    for fn in (*ALL_FUNCTIONS, "api_handler"):  # each role's policy is its file, as infra.chalice_config wrote it
        written = json.loads((project / ".chalice" / f"policy-{STAGE}-{fn}.json").read_text())
        assert deployed["policies"][fn] == written
    assert "arn:aws:s3:::" + deployed["bucket"] in json.dumps(deployed["policies"]["ingest"])
    # Each function runs with the role the bootstrap made for it in this region (infra.roles).
    for fn, function in deployed["functions"].items():
        assert function["Role"] == f"arn:aws:iam::{CHALICE_ACCOUNT}:role/{PREFIX}-{fn}-{REGION}"
        assert _function_settings(project, fn)["iam_role_arn"] == function["Role"]
    # The key went from the deployer's environment to a SecureString, and nowhere else.
    parameter = client("ssm").get_parameter(Name=f"/stock-insights/{STAGE}/twelvedata-api-key", WithDecryption=True)
    assert (parameter["Parameter"]["Type"], parameter["Parameter"]["Value"]) == ("SecureString", API_KEY)
    written = [p for p in (project / ".chalice").rglob("*") if p.is_file()]
    assert written and not [p for p in written if API_KEY in p.read_text(errors="replace")]


def test_chalice_path_run_twice_changes_nothing(chalice_path):
    _, first, second = chalice_path
    assert not any(API_KEY in output for output in first + second)
    resources, wire = report_outcomes(second[0]), report_outcomes(second[2])
    assert set(resources.values()) <= {"unchanged", "ready"}, resources
    assert set(wire.values()) == {"unchanged"}, wire
    assert "updated" in report_outcomes(first[2]).values()  # the first wire had work to do


OTHER_REGION = "eu-west-1"


@pytest.fixture(scope="module")
def second_region(chalice_path, tmp_path_factory):
    """The same stage deployed by the same steps to another region of the same account, from a
    checkout of its own (its `.chalice/` holds that region's bucket, stream and roles)."""
    client, _, _ = chalice_path
    endpoint = client("sts").meta.endpoint_url
    project = copy_project(tmp_path_factory.mktemp("other-region") / "stock-insights")
    python, chalice = sys.executable, str(Path(sys.executable).with_name("chalice"))
    env = {**user_environment(endpoint), "AWS_DEFAULT_REGION": OTHER_REGION}
    resources = [python, "-m", "infra.bootstrap", "resources", "--stage", STAGE, "--sender", SENDER]
    run([*resources, "--recipients", ",".join(RECIPIENTS)], project, env)
    run([chalice, "deploy", "--stage", STAGE], project, env)
    run([python, "-m", "infra.bootstrap", "wire", "--stage", STAGE], project, env)

    def other(service: str):
        return boto3.client(service, region_name=OTHER_REGION, endpoint_url=endpoint,
                            aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip

    return other, project


def test_the_same_stage_in_two_regions_of_one_account_keeps_its_own_roles(chalice_path, second_region, project):
    client, _, _ = chalice_path
    other, other_project = second_region
    buckets = {REGION: f"{PREFIX}-data-{CHALICE_ACCOUNT}-{REGION}",
               OTHER_REGION: f"{PREFIX}-data-{CHALICE_ACCOUNT}-{OTHER_REGION}"}  # fmt: skip
    for region, factory, checkout in ((REGION, client, project), (OTHER_REGION, other, other_project)):
        for fn in ALL_FUNCTIONS if region == REGION else FUNCTIONS:
            role = factory("lambda").get_function_configuration(FunctionName=f"{PREFIX}-{fn}")["Role"]
            assert role.endswith(f"/{PREFIX}-{fn}-{region}"), (region, fn, role)
            policy = json.dumps(_role_policy(factory, role))
            # Each region's role still reads its own region's bucket after the other was deployed.
            assert f"arn:aws:s3:::{buckets[region]}" in policy or fn != "ingest"
            assert f"arn:aws:s3:::{buckets[REGION if region == OTHER_REGION else OTHER_REGION]}" not in policy
            assert json.loads(policy) == json.loads((checkout / ".chalice" / f"policy-{STAGE}-{fn}.json").read_text())


def test_the_settings_file_holds_what_the_deployer_stated_and_nothing_from_the_account(chalice_path, project):
    stated = json.loads((project / ".chalice" / f"settings-{STAGE}.json").read_text())
    assert stated == {
        "alarm_email": ALARM_EMAIL,
        "fetch_symbols": FETCH_SYMBOLS,
        "notice_to": "both",
        "operations_emails": OPERATIONS,  # `a,b` on the command line, a list in the file
        "recipient_emails": RECIPIENTS,
        "sender_email": SENDER,
    }


# --- the Terraform path ---------------------------------------------------------------------------


def test_terraform_package_after_a_bootstrap_holds_nothing_from_that_account(terraform_path):
    _, package = terraform_path
    text = "\n".join(package.values())
    assert CHALICE_ACCOUNT not in text  # the bootstrap's stream ARN and bucket never reach the package
    assert API_KEY not in text  # nor the API key, in the package or in Terraform's state
    # No stage's state owns the SES identity others may share: a destroy of this stage leaves it.
    assert "aws_ses" not in package["terraform.tfstate"] and "identity/" + SENDER not in package["terraform.tfstate"]
    assert json.loads(package["terraform.tfvars.json"]) == {
        "alarm_email": ALARM_EMAIL,
        "notice_to": "both",
        "operations_emails": OPERATIONS,  # the variable is a list(string)
        "recipient_emails": RECIPIENTS,
        "sender_email": SENDER,
    }


def test_terraform_path_delivers_every_setting(terraform_path, project):
    client, _ = terraform_path
    deployed = check_deployment(client, TERRAFORM_ACCOUNT, project)
    # Each role's policy is infra.policies' definition with the references resolved.
    kms = client("kms").describe_key(KeyId=f"alias/{PREFIX}")["KeyMetadata"]["Arn"]
    groups = {g["logGroupName"]: g["arn"].removesuffix(":*") for g in client("logs").describe_log_groups()["logGroups"]}
    bus = client("events").describe_event_bus(Name="default")["Arn"]
    resolved = {
        "bucket_arn": f"arn:aws:s3:::{deployed['bucket']}",
        "table_arn": deployed["table"]["TableArn"],
        "stream_arn": deployed["stream_arn"],
        "kms_key_arn": kms,
        "event_bus_arn": bus,
        "ses_identities_arn": f"arn:aws:ses:{REGION}:{TERRAFORM_ACCOUNT}:identity/*",
        "sender_email": SENDER,
        "index_arns": [f"{deployed['table']['TableArn']}/index/kind-created_at"],
        "log_group_arns": {
            **{fn: groups[f"/aws/lambda/{PREFIX}-{fn}"] for fn in ALL_FUNCTIONS},
            "api_handler": groups[f"/aws/lambda/{PREFIX}"],
        },
        "dlq_arns": deployed["dlqs"],
        "bedrock_model_arns": [  # the default model, no profile: in the calling region only
            f"arn:aws:bedrock:{REGION}::foundation-model/amazon.nova-lite-v1:0",
            f"arn:aws:bedrock:{REGION}:{TERRAFORM_ACCOUNT}:inference-profile/amazon.nova-lite-v1:0",
        ],
        "fetch": {
            "api_key_parameter_arn": (
                f"arn:aws:ssm:{REGION}:{TERRAFORM_ACCOUNT}:parameter/stock-insights/{STAGE}/twelvedata-api-key"
            ),
            "kms_key_arn": f"arn:aws:kms:{REGION}:{TERRAFORM_ACCOUNT}:key/*",
            "kms_via_ssm_condition": {"StringLike": {"kms:ViaService": f"ssm.{REGION}.amazonaws.com"}},
            "write_prefix": "inputs/scheduled/",
            "symbols_read": None,
        },
        "archive_link_key": {"parameter_arn": f"arn:aws:ssm:{REGION}:{TERRAFORM_ACCOUNT}:parameter{LINK_KEY}"},
    }
    assert deployed["policies"] == function_policies(resolved)
    # The key was written from an ephemeral value: it is in SSM, never in Terraform's state.
    _, package = terraform_path
    assert deployed["link_key"] not in package["terraform.tfstate"]
    # Role names carry the region (IAM names are global: another region's stage gets its own roles).
    roles = {fn: f["Role"].rsplit("/", 1)[1] for fn, f in deployed["functions"].items()}
    assert all(name.endswith(f"-{REGION}") for name in roles.values()), roles
    assert CHALICE_ACCOUNT not in json.dumps(deployed["functions"], default=str)


@pytest.mark.parametrize("path", ["chalice_path", "terraform_path"])
def test_every_alarm_is_deployed_as_defined_and_pages_the_alarm_topic(path, request):
    """Each alarm of infra.alarms (functions, dead-letter queues, the app's metrics, SES), on both paths."""
    from infra.resources import resource_specs

    client = request.getfixturevalue(path)[0]
    specs = resource_specs("stock-insights", STAGE, fetch_symbols=FETCH_SYMBOLS)
    (topic,) = [
        t["TopicArn"] for t in client("sns").list_topics()["Topics"] if t["TopicArn"].endswith(f":{PREFIX}-alarms")
    ]
    deployed = {a["AlarmName"]: a for a in client("cloudwatch").describe_alarms()["MetricAlarms"]}
    assert set(deployed) == {a["name"] for a in specs["alarms"]}
    for alarm in specs["alarms"]:
        found = deployed[alarm["name"]]
        assert (found["Namespace"], found["MetricName"], found["Statistic"]) == (
            alarm["namespace"],
            alarm["metric_name"],
            alarm["statistic"],
        )
        assert {d["Name"]: d["Value"] for d in found["Dimensions"]} == alarm["dimensions"]
        assert found["Threshold"] == pytest.approx(alarm["threshold"])
        assert (found["ComparisonOperator"], found["TreatMissingData"]) == ("GreaterThanThreshold", "notBreaching")
        assert found["AlarmActions"] == [topic]
    # Every queue the deployment made (each function's dead-letter queue; notify's is the stream's
    # on-failure queue; fetch's too) has its alarm.
    queues = {url.rsplit("/", 1)[1] for url in client("sqs").list_queues()["QueueUrls"] if url.endswith("-dlq")}
    watched = {a["dimensions"]["QueueName"] for a in specs["alarms"] if a["namespace"] == "AWS/SQS"}
    assert queues == watched and f"{PREFIX}-fetch-dlq" in queues
    functions = {f["FunctionName"] for f in client("lambda").list_functions()["Functions"]}
    for metric in ("Errors", "Throttles"):
        alarmed = {a["dimensions"]["FunctionName"] for a in specs["alarms"] if a["metric_name"] == metric}
        assert alarmed == functions
