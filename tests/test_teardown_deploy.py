"""Removing a stage the way docs/deploying.md says, on the Terraform path, against moto server.

Apply a stage, put data in its bucket and table, then destroy it: by default the bucket, table,
key and SES identity stay (with their data) and everything else goes; with `delete_data` all of
it goes, the key pending deletion. One fresh emulated account; two stages in it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra.settings import save_stage_settings
from tests.conftest import REPO, copy_project, terraform_plugin_dir
from tests.test_deploy import _provider_override, aws, emulator, run, user_environment

ACCOUNT = "333333333333"
SENDER = "reports@mail.acme-analytics.example"  # both stages send from it: one identity, owned by neither
RECIPIENTS = ["ana@acme-analytics.example"]
DOCS = (REPO / "docs" / "deploying.md").read_text()
# The documented keep-data step, as docs/deploying.md gives it.
pytestmark = pytest.mark.slow
KEEP_DATA = re.search(r"^(terraform state list \| grep .*\| xargs -r terraform state rm)$", DOCS, re.M)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    terraform = shutil.which("terraform")
    plugins = terraform_plugin_dir()
    if not terraform or plugins is None:
        pytest.skip("terraform or an offline AWS provider (TF_PLUGIN_DIR) is missing here")
    project = tmp_path_factory.mktemp("teardown") / "stock-insights"
    copy_project(project)
    for stage in ("dev", "uat"):
        stated = {"sender_email": SENDER, "recipient_emails": RECIPIENTS, "alarm_email": "ops@acme-analytics.example"}
        save_stage_settings(project / ".chalice", stage, stated)
    run([sys.executable, "-m", "infra.chalice_config"], project, dict(os.environ))
    with emulator(ACCOUNT) as endpoint:
        env = {**user_environment(endpoint), "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
        client = aws(endpoint)
        dirs = {}
        for stage in ("dev", "uat"):
            out = project / "build" / "terraform" / stage
            run(
                [sys.executable, "-m", "infra.terraform", "--stage", stage, "--out", str(out)],
                project,
                dict(os.environ),
            )
            run([sys.executable, "-m", "infra.bootstrap", "sender", "--stage", stage], project, env)  # as section 3b
            (out / "emulator_override.tf").write_text(_provider_override(endpoint))  # harness only, as in test_deploy
            run(
                [terraform, f"-chdir={out}", "init", "-input=false", "-no-color", f"-plugin-dir={plugins}"],
                project,
                env,
            )
            run([terraform, f"-chdir={out}", "apply", "-input=false", "-no-color", "-auto-approve"], project, env, 1200)
            state = json.loads((out / "terraform.tfstate").read_text())
            bucket = next(r for r in state["resources"] if r["type"] == "aws_s3_bucket")["instances"][0]["attributes"]
            table = f"stock-insights-{stage}-analyses"
            s3 = client("s3")
            s3.put_object(Bucket=bucket["bucket"], Key="inputs/a.json", Body=b"1")
            s3.put_object(Bucket=bucket["bucket"], Key="inputs/a.json", Body=b"2")
            client("dynamodb").put_item(TableName=table, Item={"analysis_id": {"S": "kept"}})
            key_arn = client("kms").describe_key(KeyId=f"alias/stock-insights-{stage}")["KeyMetadata"]["Arn"]
            dirs[stage] = {"dir": out, "bucket": bucket["bucket"], "table": table, "key": key_arn}
        yield client, env, terraform, dirs


def _in(out, args: list[str], env, terraform) -> subprocess.CompletedProcess:
    return run([terraform, f"-chdir={out}", *args], out, env, 1200)


def _assert_stage_gone_but(client, stage: str) -> None:
    prefix = f"stock-insights-{stage}"
    functions = [f["FunctionName"] for f in client("lambda").list_functions()["Functions"]]
    assert not [f for f in functions if f.startswith(prefix)]
    assert client("cloudwatch").describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"] == []
    assert not client("sqs").list_queues(QueueNamePrefix=prefix).get("QueueUrls")
    assert client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{prefix}")["logGroups"] == []
    assert not [t for t in client("sns").list_topics()["Topics"] if prefix in t["TopicArn"]]
    # The archive link key goes with the stage (the links already sent stop opening the archive).
    parameters = client("ssm").describe_parameters()["Parameters"]
    assert not [p["Name"] for p in parameters if p["Name"].startswith(f"/stock-insights/{stage}/")]


def test_terraform_destroy_keeps_the_data_by_default(deployed):
    client, env, terraform, dirs = deployed
    stage = dirs["dev"]
    assert KEEP_DATA, "docs/deploying.md lost its keep-data step"
    subprocess.run(["bash", "-c", KEEP_DATA.group(1)], cwd=stage["dir"], env=env, check=True, capture_output=True)
    _in(stage["dir"], ["destroy", "-input=false", "-no-color", "-auto-approve"], env, terraform)

    _assert_stage_gone_but(client, "dev")
    versions = client("s3").list_object_versions(Bucket=stage["bucket"])["Versions"]
    assert len(versions) == 2
    assert client("dynamodb").get_item(TableName=stage["table"], Key={"analysis_id": {"S": "kept"}})["Item"]
    assert client("kms").describe_key(KeyId=stage["key"])["KeyMetadata"]["KeyState"] == "Enabled"
    assert SENDER in [i["IdentityName"] for i in client("sesv2").list_email_identities()["EmailIdentities"]]


def test_terraform_destroy_with_delete_data_removes_bucket_table_and_key(deployed):
    client, env, terraform, dirs = deployed
    stage = dirs["uat"]
    _in(
        stage["dir"],
        ["apply", "-input=false", "-no-color", "-auto-approve", "-var", "delete_data=true"],
        env,
        terraform,
    )
    _in(
        stage["dir"],
        ["destroy", "-input=false", "-no-color", "-auto-approve", "-var", "delete_data=true"],
        env,
        terraform,
    )

    _assert_stage_gone_but(client, "uat")
    assert stage["bucket"] not in [b["Name"] for b in client("s3").list_buckets()["Buckets"]]
    assert stage["table"] not in client("dynamodb").list_tables()["TableNames"]
    assert client("kms").describe_key(KeyId=stage["key"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert SENDER in [i["IdentityName"] for i in client("sesv2").list_email_identities()["EmailIdentities"]]


def test_chalice_path_delete_then_bootstrap_destroy_keeps_only_the_data(tmp_path_factory):
    """resources → chalice deploy → wire → chalice delete → bootstrap destroy, in a fresh account."""
    project = tmp_path_factory.mktemp("teardown-chalice") / "stock-insights"
    copy_project(project)
    python, chalice = sys.executable, str(Path(sys.executable).with_name("chalice"))
    bootstrap = [python, "-m", "infra.bootstrap"]
    resources = [*bootstrap, "resources", "--stage", "dev", "--sender", SENDER, "--recipients", RECIPIENTS[0]]
    with emulator("444444444444") as endpoint:
        env, client = user_environment(endpoint), aws(endpoint)
        run([*resources, "--alarm-email", "ops@acme-analytics.example"], project, env)
        run([chalice, "deploy", "--stage", "dev"], project, env)
        run([*bootstrap, "wire", "--stage", "dev"], project, env)
        bucket = json.loads((project / ".chalice" / "config.json").read_text())["stages"]["dev"]
        bucket = bucket["environment_variables"]["BUCKET_NAME"]
        client("s3").put_object(Bucket=bucket, Key="inputs/a.json", Body=b"1")
        client("dynamodb").put_item(TableName="stock-insights-dev-analyses", Item={"analysis_id": {"S": "kept"}})
        roles_before = {r["RoleName"] for r in client("iam").list_roles()["Roles"]}

        run([chalice, "delete", "--stage", "dev"], project, env)
        output = run([*bootstrap, "destroy", "--stage", "dev"], project, env)

        _assert_stage_gone_but(client, "dev")
        roles_after = {r["RoleName"] for r in client("iam").list_roles()["Roles"]}
        assert [r for r in roles_before if r.startswith("stock-insights-dev")]
        assert not [r for r in roles_after if r.startswith("stock-insights-dev")]
        assert "deleted" in output and "kept" in output
        assert client("s3").list_object_versions(Bucket=bucket)["Versions"]
        assert client("dynamodb").get_item(TableName="stock-insights-dev-analyses", Key={"analysis_id": {"S": "kept"}})[
            "Item"
        ]
        key = client("kms").describe_key(KeyId="alias/stock-insights-dev")["KeyMetadata"]
        assert key["KeyState"] == "Enabled"
        assert SENDER in client("ses").list_identities()["Identities"]
