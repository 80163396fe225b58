"""`python -m infra.bootstrap destroy` against moto server: removes what `resources` made, keeps data."""

from __future__ import annotations

import shutil

from infra import bootstrap
from tests.conftest import REPO
from tests.test_bootstrap import BUCKET, REGION, _resources_args, _run, moto_server  # noqa: F401

TABLE = "stock-insights-dev-analyses"


def _destroy(chalice_dir, *extra: str):
    return _run("destroy", "--stage", "dev", "--chalice-dir", str(chalice_dir), *extra)


def test_destroy_removes_bootstrap_resources_keeps_data_then_delete_data(moto_server, tmp_path):  # noqa: F811
    client = moto_server
    chalice_dir = tmp_path / ".chalice"
    shutil.copytree(REPO / ".chalice", chalice_dir)
    _run(*_resources_args(chalice_dir, "--alarm-email", "ops@example.org"))
    s3, ddb = client("s3"), client("dynamodb")
    s3.put_object(Bucket=BUCKET, Key="inputs/a.json", Body=b"1")
    s3.put_object(Bucket=BUCKET, Key="inputs/a.json", Body=b"2")
    s3.delete_object(Bucket=BUCKET, Key="inputs/a.json")  # a delete marker over two versions
    s3.put_object(Bucket=BUCKET, Key="processed/b.json", Body=b"3")
    ddb.put_item(TableName=TABLE, Item={"analysis_id": {"S": "x"}})
    key_id = client("kms").describe_key(KeyId="alias/stock-insights-dev")["KeyMetadata"]["KeyId"]

    first = _destroy(chalice_dir)
    outcomes = {(kind, outcome) for kind, outcome, _ in first}
    assert ("alarm topic", "deleted") in outcomes and ("alarm subscription", "deleted") in outcomes
    assert {o for k, o, _ in first if k in ("alarm", "dead-letter queue", "log group")} == {"deleted"}
    # The functions' roles the bootstrap made (chalice delete leaves roles it did not make).
    assert sorted(line.split()[2] for k, o, line in first if k == "iam role" and o == "deleted") == [
        f"stock-insights-dev-{fn}-{REGION}" for fn in ("analyze", "api_handler", "ingest", "notify")
    ]
    assert not [r for r in client("iam").list_roles()["Roles"] if r["RoleName"].startswith("stock-insights-dev")]
    assert [o for k, o, _ in first if k in ("bucket", "table", "ses identity", "kms key")] == ["kept"] * 4

    assert client("cloudwatch").describe_alarms(AlarmNamePrefix="stock-insights-dev")["MetricAlarms"] == []
    assert not client("sqs").list_queues(QueueNamePrefix="stock-insights-dev").get("QueueUrls")
    groups = client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/stock-insights-dev")["logGroups"]
    assert groups == []
    assert not [t for t in client("sns").list_topics()["Topics"] if "stock-insights-dev" in t["TopicArn"]]
    assert client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert client("ses").list_identities()["Identities"] == ["reports@example.org"]
    versions = s3.list_object_versions(Bucket=BUCKET)
    assert len(versions["Versions"]) == 3 and len(versions["DeleteMarkers"]) == 1
    assert ddb.get_item(TableName=TABLE, Key={"analysis_id": {"S": "x"}})["Item"]

    second = _destroy(chalice_dir)
    assert {o for k, o, _ in second if k not in ("bucket", "table", "ses identity", "kms key")} == {"absent"}

    third = _destroy(chalice_dir, "--delete-data")
    assert [o for k, o, _ in third if k in ("bucket", "table", "kms key")] == ["deleted", "deleted", "scheduled"]
    assert client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert TABLE not in ddb.list_tables()["TableNames"]
    assert [o for k, o, _ in _destroy(chalice_dir, "--delete-data") if k in ("bucket", "table")] == ["absent"] * 2


def test_delete_data_refuses_a_protected_table_unless_forced(moto_server, tmp_path, capsys):  # noqa: F811
    client = moto_server
    chalice_dir = tmp_path / ".chalice"
    shutil.copytree(REPO / ".chalice", chalice_dir)
    _run(*_resources_args(chalice_dir, "--set", "deletion_protection=true"))
    assert client("dynamodb").describe_table(TableName=TABLE)["Table"]["DeletionProtectionEnabled"]

    argv = ["destroy", "--stage", "dev", "--chalice-dir", str(chalice_dir), "--delete-data"]
    assert bootstrap.main(argv) == 2
    assert "deletion protection" in capsys.readouterr().err
    # Refused before anything was deleted.
    assert client("cloudwatch").describe_alarms(AlarmNamePrefix="stock-insights-dev")["MetricAlarms"]
    assert TABLE in client("dynamodb").list_tables()["TableNames"]

    rows = _destroy(chalice_dir, "--delete-data", "--force")
    assert [o for k, o, _ in rows if k in ("bucket", "table")] == ["deleted", "deleted"]
    assert TABLE not in client("dynamodb").list_tables()["TableNames"]
