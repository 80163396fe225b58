"""`python -m infra.bootstrap`: what `chalice deploy` needs and does not create, from `infra.resources`.

    python -m infra.bootstrap resources --stage dev --sender you@example.com --recipients a@x.com,b@y.com
    python -m infra.bootstrap wire --stage dev                                 # after chalice deploy

`resources` records the stage's settings in `.chalice/settings-<stage>.json` (what the command
line states, merged into what the file already holds: every deploy path reads that file), then
creates (or brings back to its definition) the app's KMS key, the bucket (public access blocked,
default encryption, versioning, lifecycle rules; named after the account and region unless
`--bucket` names it), the analyses table (stream NEW_IMAGE, point-in-time recovery), the SES
sender identity, a dead-letter queue per function, each function's log group with its retention,
the alarm topic (with `--alarm-email` subscribed) and the alarms, and finally writes the stage's
policy files and environment (names, stream ARN, sender, recipients, insights provider) into
`.chalice/`. `wire` attaches each deployed function's dead-letter queue and gives the stream
mapping its bisect/retry/partial-batch/on-failure settings. Both print what they did per resource
(`created`, `updated` or `unchanged`); a second run changes nothing. AWS settings come from the
usual places (profile, region, `AWS_ENDPOINT_URL` for a test server).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalicelib.aws import error_code
from infra import chalice_config
from infra.policies import key_policy
from infra.resources import (
    INSIGHTS_PROVIDERS,
    add_settings_option,
    email_list,
    index_definition,
    resource_specs,
    table_attributes,
    table_definition,
)
from infra.settings import load_stage_settings, save_stage_settings

CHALICE_DIR = Path(__file__).resolve().parent.parent / ".chalice"
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


class Bootstrap:
    """Each step makes one resource match `specs` and says what it had to do."""

    def __init__(
        self,
        specs: dict[str, Any],
        client: Callable[[str], Any],
        report: Callable[[str, str, str], None],
        account: str = "",
        partition: str = "aws",
    ):
        self.specs = specs
        self.client = client
        self.report = report
        self.account = account
        self.partition = partition

    # -- before deploy -----------------------------------------------------------------------
    def resources(self, api_key: str | None = None) -> str:
        """Every resource to its definition; returns the table's stream ARN. `api_key`: the
        Twelve Data key to keep in the fetch's SecureString parameter (None: leave it as it is)."""
        self.key_arn = self.kms_key()
        self.bucket()
        stream_arn = self.table()
        self.email_identity()
        self.dead_letter_queues()
        self.log_groups()
        topic_arn = self.alarm_topic()
        self.alarm_subscription(topic_arn)
        self.alarms(topic_arn)
        if self.specs["fetch"]:
            self.api_key_parameter(api_key)
        return stream_arn

    def api_key_parameter(self, api_key: str | None) -> None:
        """The fetch's Twelve Data key as an SSM SecureString (never printed): written from the
        value given, or checked for and explained when none is given."""
        ssm, name = self.client("ssm"), self.specs["fetch"]["api_key_parameter"]
        try:
            current = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
        except Exception as exc:
            if error_code(exc) != "ParameterNotFound":
                raise
            current = None
        if api_key is None:
            if current is None:
                self.report(
                    "api key parameter",
                    name,
                    "MISSING: the fetch cannot run until you store the key "
                    f"(aws ssm put-parameter --name {name} --type SecureString --value YOUR_KEY, "
                    "or --twelvedata-key-env VAR)",
                )
            else:
                self.report("api key parameter", name, UNCHANGED)
            return
        if current is not None and current.get("Type") == "SecureString" and current.get("Value") == api_key:
            self.report("api key parameter", name, UNCHANGED)
            return
        ssm.put_parameter(Name=name, Value=api_key, Type="SecureString", Overwrite=True)
        self.report("api key parameter", name, CREATED if current is None else UPDATED)

    def kms_key(self) -> str:
        kms, spec = self.client("kms"), self.specs["kms_key"]
        aliases = {a["AliasName"]: a.get("TargetKeyId") for a in _pages(kms, "list_aliases", "Aliases")}
        policy = json.dumps(key_policy(spec["service_principals"], f"arn:{self.partition}:iam::{self.account}:root"))
        if spec["alias"] in aliases:
            key_id, outcome = aliases[spec["alias"]], UNCHANGED
        else:
            key_id = kms.create_key(Description=spec["description"], Policy=policy)["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName=spec["alias"], TargetKeyId=key_id)
            outcome = CREATED
        if not kms.get_key_rotation_status(KeyId=key_id).get("KeyRotationEnabled"):
            kms.enable_key_rotation(KeyId=key_id)
            outcome = outcome if outcome == CREATED else UPDATED
        self.report("kms key", spec["alias"], outcome)
        return kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]

    def bucket(self) -> None:
        s3, spec = self.client("s3"), self.specs["bucket"]
        name = spec["name"]
        outcome = UNCHANGED
        try:
            s3.head_bucket(Bucket=name)
        except Exception as exc:
            if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise
            region = s3.meta.region_name
            extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            s3.create_bucket(Bucket=name, ObjectOwnership=spec["object_ownership"], **extra)
            outcome = CREATED
        wanted_block = {
            k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
        }
        try:
            current_block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        except Exception:
            current_block = {}
        if current_block != wanted_block:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=wanted_block)
            outcome = outcome if outcome == CREATED else UPDATED
        wanted_sse = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": spec["sse_algorithm"]}}]}
        try:
            rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
            current_sse = [r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in rules]
        except Exception:
            current_sse = []
        if current_sse != [spec["sse_algorithm"]]:
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=wanted_sse)
            outcome = outcome if outcome == CREATED else UPDATED
        if spec["versioning"] and s3.get_bucket_versioning(Bucket=name).get("Status") != "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            outcome = outcome if outcome == CREATED else UPDATED
        wanted_rules = [_s3_lifecycle_rule(rule) for rule in spec["lifecycle_rules"]]
        try:
            current_rules = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
        except Exception:
            current_rules = []
        if _canonical(current_rules) != _canonical(wanted_rules):
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": wanted_rules})
            outcome = outcome if outcome == CREATED else UPDATED
        self.report("bucket", name, outcome)
        self.notification_prerequisites(name, spec["input_prefix"])

    def notification_prerequisites(self, bucket: str, prefix: str) -> None:
        """S3 refuses two notifications whose prefixes overlap for the same events: find any that
        would make Chalice's `inputs/` notification fail at deploy time (its own is fine)."""
        config = self.client("s3").get_bucket_notification_configuration(Bucket=bucket)
        ours = self.specs["functions"]["ingest"]["function_name"]
        clashes = []
        for kind in ("LambdaFunctionConfigurations", "QueueConfigurations", "TopicConfigurations"):
            for entry in config.get(kind, []):
                target = entry.get("LambdaFunctionArn") or entry.get("QueueArn") or entry.get("TopicArn") or ""
                rules = entry.get("Filter", {}).get("Key", {}).get("FilterRules", [])
                other = next((r["Value"] for r in rules if r.get("Name", "").lower() == "prefix"), "")
                created = any(e.startswith("s3:ObjectCreated") for e in entry.get("Events", []))
                overlaps = prefix.startswith(other) or other.startswith(prefix)
                if created and overlaps and not target.endswith(f":function:{ours}"):
                    clashes.append(f"{target} on prefix {other!r}")
        if clashes:
            self.report("s3 notification", bucket, "CONFLICT: " + "; ".join(clashes))
            raise SystemExit(
                f"bucket {bucket} already sends ObjectCreated events under {prefix!r} elsewhere "
                f"({'; '.join(clashes)}); S3 refuses overlapping notifications, so chalice deploy "
                "would fail: remove them or give them a prefix outside the input prefix"
            )
        self.report("s3 notification", bucket, "ready for chalice deploy")

    def table(self) -> str:
        ddb, spec = self.client("dynamodb"), self.specs["table"]
        outcome = UNCHANGED
        try:
            table = ddb.describe_table(TableName=spec["name"])["Table"]
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            ddb.create_table(
                **table_definition(spec),
                SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": self.key_arn},
                DeletionProtectionEnabled=spec["deletion_protection"],
                Tags=[{"Key": k, "Value": v} for k, v in self.specs["tags"].items()],
            )
            ddb.get_waiter("table_exists").wait(TableName=spec["name"], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
            table = ddb.describe_table(TableName=spec["name"])["Table"]
            outcome = CREATED
        stream = table.get("StreamSpecification") or {}
        if not stream.get("StreamEnabled") or stream.get("StreamViewType") != spec["stream_view_type"]:
            raise SystemExit(
                f"table {spec['name']} exists without a {spec['stream_view_type']} stream; "
                "enable it (update-table --stream-specification) and run again"
            )
        if spec["point_in_time_recovery"]:
            backups = ddb.describe_continuous_backups(TableName=spec["name"])["ContinuousBackupsDescription"]
            status = (backups.get("PointInTimeRecoveryDescription") or {}).get("PointInTimeRecoveryStatus")
            if status != "ENABLED":
                ddb.update_continuous_backups(
                    TableName=spec["name"], PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
                )
                outcome = outcome if outcome == CREATED else UPDATED
        if self._add_missing_indexes(ddb, spec, table):
            outcome = outcome if outcome == CREATED else UPDATED
        self.report("table", spec["name"], outcome)
        return table["LatestStreamArn"]

    def _add_missing_indexes(self, ddb: Any, spec: dict[str, Any], table: dict[str, Any]) -> bool:
        """Add the indexes a table made before them lacks (one UpdateTable each: DynamoDB takes one
        index creation per call); True if any was added. The index backfills in the background:
        the API's listing is complete once it is ACTIVE."""
        present = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes") or []}
        added = False
        for index in spec.get("indexes") or []:
            if index["name"] in present:
                continue
            ddb.update_table(
                TableName=spec["name"],
                AttributeDefinitions=[{"AttributeName": n, "AttributeType": k} for n, k in table_attributes(spec)],
                GlobalSecondaryIndexUpdates=[{"Create": index_definition(index)}],
            )
            added = True
        return added

    def email_identity(self) -> None:
        ses, email = self.client("ses"), self.specs["email_identity"]["email"]
        known = set(_pages(ses, "list_identities", "Identities", IdentityType="EmailAddress"))
        if email in known:
            self.report("ses identity", email, UNCHANGED)
            return
        ses.verify_email_identity(EmailAddress=email)
        self.report("ses identity", email, f"{CREATED} (check the inbox of {email} for the verification link)")

    def dead_letter_queues(self) -> None:
        sqs = self.client("sqs")
        for spec in self.specs["dead_letter_queues"].values():
            wanted = {
                "MessageRetentionPeriod": str(spec["message_retention_seconds"]),
                "KmsMasterKeyId": spec["kms_key_alias"],
            }
            try:
                url = sqs.get_queue_url(QueueName=spec["name"])["QueueUrl"]
            except Exception as exc:
                if "NonExistentQueue" not in error_code(exc) and "QueueDoesNotExist" not in error_code(exc):
                    raise
                sqs.create_queue(QueueName=spec["name"], Attributes=wanted, tags=dict(self.specs["tags"]))
                self.report("dead-letter queue", spec["name"], CREATED)
                continue
            current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(wanted)).get("Attributes", {})
            if {k: current.get(k) for k in wanted} != wanted:
                sqs.set_queue_attributes(QueueUrl=url, Attributes=wanted)
                self.report("dead-letter queue", spec["name"], UPDATED)
            else:
                self.report("dead-letter queue", spec["name"], UNCHANGED)

    def alarm_topic(self) -> str:
        sns, spec = self.client("sns"), self.specs["alarm_topic"]
        existing = {t["TopicArn"].rsplit(":", 1)[1]: t["TopicArn"] for t in _pages(sns, "list_topics", "Topics")}
        if spec["name"] in existing:
            arn = existing[spec["name"]]
            if sns.get_topic_attributes(TopicArn=arn)["Attributes"].get("KmsMasterKeyId") != spec["kms_key_alias"]:
                sns.set_topic_attributes(
                    TopicArn=arn, AttributeName="KmsMasterKeyId", AttributeValue=spec["kms_key_alias"]
                )
                self.report("alarm topic", spec["name"], UPDATED)
            else:
                self.report("alarm topic", spec["name"], UNCHANGED)
            return arn
        arn = sns.create_topic(Name=spec["name"], Attributes={"KmsMasterKeyId": spec["kms_key_alias"]})["TopicArn"]
        self.report("alarm topic", spec["name"], CREATED)
        return arn

    def log_groups(self) -> None:
        """Each function's log group with its retention, before the function first logs (Lambda
        would otherwise create it, keeping logs forever)."""
        logs = self.client("logs")
        for group in self.specs["log_groups"].values():
            found = [
                g
                for g in _pages(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=group["name"])
                if g["logGroupName"] == group["name"]
            ]
            outcome = UNCHANGED
            if not found:
                logs.create_log_group(logGroupName=group["name"], tags=dict(self.specs["tags"]))
                outcome = CREATED
            if not found or found[0].get("retentionInDays") != group["retention_days"]:
                logs.put_retention_policy(logGroupName=group["name"], retentionInDays=group["retention_days"])
                outcome = outcome if outcome == CREATED else UPDATED
            self.report("log group", group["name"], outcome)

    def alarm_subscription(self, topic_arn: str) -> None:
        email = self.specs["alarm_topic"]["email"]
        if not email:
            return
        sns = self.client("sns")
        subscribed = {
            s["Endpoint"]
            for s in _pages(sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=topic_arn)
            if s.get("Protocol") == "email"
        }
        if email in subscribed:
            self.report("alarm e-mail", email, UNCHANGED)
            return
        sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=email)
        self.report("alarm e-mail", email, f"{CREATED} (confirm the subscription in the inbox of {email})")

    def alarms(self, topic_arn: str) -> None:
        cloudwatch = self.client("cloudwatch")
        names = [a["name"] for a in self.specs["alarms"]]
        current = {a["AlarmName"]: a for a in cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]}
        for alarm in self.specs["alarms"]:
            wanted = _alarm_request(alarm, topic_arn)
            found = current.get(alarm["name"])
            if found is not None and all(_same(found.get(k), v) for k, v in wanted.items()):
                self.report("alarm", alarm["name"], UNCHANGED)
                continue
            cloudwatch.put_metric_alarm(**wanted)
            self.report("alarm", alarm["name"], CREATED if found is None else UPDATED)

    # -- after deploy ------------------------------------------------------------------------
    def wire(self) -> None:
        lam, sqs = self.client("lambda"), self.client("sqs")
        queue_arns = {
            fn: sqs.get_queue_attributes(
                QueueUrl=sqs.get_queue_url(QueueName=q["name"])["QueueUrl"], AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
            for fn, q in self.specs["dead_letter_queues"].items()
        }
        for function in self.specs["functions"].values():
            if function["dead_letter_queue"] is None:
                continue  # the API handler: invoked synchronously, no queue
            name = function["function_name"]
            config = lam.get_function_configuration(FunctionName=name)
            target = queue_arns[function["dead_letter_queue"]]
            if (config.get("DeadLetterConfig") or {}).get("TargetArn") == target:
                self.report("dead-letter config", name, UNCHANGED)
            else:
                lam.update_function_configuration(FunctionName=name, DeadLetterConfig={"TargetArn": target})
                self.report("dead-letter config", name, UPDATED)
        mapping_spec = self.specs["stream_mapping"]
        function_name = self.specs["functions"][mapping_spec["function"]]["function_name"]
        mappings = lam.list_event_source_mappings(FunctionName=function_name)["EventSourceMappings"]
        if not mappings:
            raise SystemExit(f"{function_name} has no stream mapping: run chalice deploy first")
        wanted = {
            "BisectBatchOnFunctionError": mapping_spec["bisect_batch_on_function_error"],
            "MaximumRetryAttempts": mapping_spec["maximum_retry_attempts"],
            "FunctionResponseTypes": mapping_spec["function_response_types"],
            "DestinationConfig": {"OnFailure": {"Destination": queue_arns[mapping_spec["on_failure_queue"]]}},
        }
        for mapping in mappings:
            if all(_same(mapping.get(k), v) for k, v in wanted.items()):
                self.report("stream mapping", mapping["UUID"], UNCHANGED)
            else:
                lam.update_event_source_mapping(UUID=mapping["UUID"], **wanted)
                self.report("stream mapping", mapping["UUID"], UPDATED)


def _s3_lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"ID": rule["id"], "Status": "Enabled", "Filter": {"Prefix": rule["prefix"]}}
    if "expiration_days" in rule:
        body["Expiration"] = {"Days": rule["expiration_days"]}
    if rule.get("expired_object_delete_marker"):
        body["Expiration"] = {"ExpiredObjectDeleteMarker": True}
    if "transition_days" in rule:
        body["Transitions"] = [{"Days": rule["transition_days"], "StorageClass": rule["storage_class"]}]
    if "noncurrent_version_expiration_days" in rule:
        body["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule["noncurrent_version_expiration_days"]}
    if "abort_incomplete_upload_days" in rule:
        body["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": rule["abort_incomplete_upload_days"]}
    return body


def _alarm_request(alarm: dict[str, Any], topic_arn: str) -> dict[str, Any]:
    return {
        "AlarmName": alarm["name"],
        "AlarmDescription": alarm["description"],
        "Namespace": alarm["namespace"],
        "MetricName": alarm["metric_name"],
        "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(alarm["dimensions"].items())],
        "Statistic": alarm["statistic"],
        "Period": alarm["period"],
        "EvaluationPeriods": alarm["evaluation_periods"],
        "Threshold": float(alarm["threshold"]),
        "ComparisonOperator": alarm["comparison_operator"],
        "TreatMissingData": alarm["treat_missing_data"],
        "AlarmActions": [topic_arn],
        "OKActions": [topic_arn],
    }


def _canonical(value: Any) -> str:
    """Order-insensitive text of a rule list (AWS may return keys and rules in another order)."""
    return json.dumps(
        sorted((json.loads(json.dumps(v, sort_keys=True, default=str)) for v in value), key=json.dumps), sort_keys=True
    )


def _same(current: Any, wanted: Any) -> bool:
    if isinstance(wanted, list) and isinstance(current, list) and wanted and isinstance(wanted[0], dict):
        return _canonical(current) == _canonical(wanted)
    if isinstance(wanted, float) and current is not None:
        return float(current) == wanted
    return current == wanted


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list:
    items: list = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items


def write_chalice_files(chalice_dir: Path, specs: dict[str, Any], stream_arn: str) -> list[str]:
    """The stage's policy files and environment (with the stream ARN) in `chalice_dir`; the names written."""
    config = json.loads((chalice_dir / "config.json").read_text())
    config, files = chalice_config.render(config, {specs["stage"]: specs})
    config["stages"][specs["stage"]]["environment_variables"]["ANALYSES_STREAM_ARN"] = stream_arn
    stale = chalice_config.stale_files(chalice_dir, config, files)
    for name, text in stale.items():
        (chalice_dir / name).write_text(text)
    return sorted(stale)


def stated_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line states (flags and `--set`)."""
    stated: dict[str, Any] = dict(args.settings)
    flags = {
        "sender_email": args.sender,
        "recipient_emails": email_list(args.recipients) if args.recipients is not None else None,
        "alarm_email": args.alarm_email,
        "bucket_name": args.bucket,
        "insights_provider": args.insights_provider,
        "fetch_symbols": args.fetch_symbols,
    }
    stated.update({key: value for key, value in flags.items() if value is not None})
    return stated


def main(argv: list[str] | None = None, client: Callable[[str], Any] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.bootstrap", description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=("resources", "wire"), help="resources: before chalice deploy; wire: after it")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--sender", help="the verified SES address reports come from (required once)")
    parser.add_argument("--recipients", help="comma-separated addresses the report goes to (required once)")
    parser.add_argument("--alarm-email", help="an address to subscribe to the alarm topic ('' for none)")
    parser.add_argument("--bucket", help="the data bucket's name (default: <app>-<stage>-data-<account>-<region>)")
    parser.add_argument("--insights-provider", choices=INSIGHTS_PROVIDERS, help="offline (default) or bedrock")
    parser.add_argument(
        "--fetch-symbols",
        help="symbols to fetch from Twelve Data on the schedule (AAPL,MSFT or s3://bucket/key or ssm:/name)",
    )
    parser.add_argument(
        "--twelvedata-key-env",
        metavar="VAR",
        help="the environment variable holding your Twelve Data API key: stored as an SSM SecureString",
    )
    add_settings_option(parser)
    parser.add_argument("--chalice-dir", type=Path, default=CHALICE_DIR)
    args = parser.parse_args(argv)
    try:
        stated = {**load_stage_settings(args.chalice_dir, args.stage), **stated_settings(args)}
        missing = [flag for key, flag in (("sender_email", "--sender"), ("recipient_emails", "--recipients"))
                   if key not in stated]  # fmt: skip
        if args.step == "resources" and missing:
            raise ValueError(
                f"stage {args.stage} has no {' and no '.join(missing)} yet: state them once, e.g. "
                "--sender reports@your-domain.com --recipients you@your-domain.com "
                f"(kept in {args.chalice_dir / f'settings-{args.stage}.json'})"
            )
        app_name = json.loads((args.chalice_dir / "config.json").read_text())["app_name"]
        resource_specs(app_name, args.stage, **stated)  # refuse a bad setting before touching AWS
        api_key = None
        if args.twelvedata_key_env:
            api_key = os.environ.get(args.twelvedata_key_env, "").strip()
            if not api_key:
                raise ValueError(f"--twelvedata-key-env {args.twelvedata_key_env}: that variable is not set")
    except (TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if client is None:
        import boto3

        client = boto3.session.Session().client
    sts = client("sts")
    identity = sts.get_caller_identity()
    account, partition, region = identity["Account"], identity["Arn"].split(":")[1], sts.meta.region_name
    specs = resource_specs(app_name, args.stage, account, region, **stated)

    def report(kind: str, name: str, outcome: str) -> None:
        print(f"  {kind:<18} {name:<45} {outcome}")

    bootstrap = Bootstrap(specs, client, report, account, partition)
    print(f"{args.step} for stage {args.stage} (account {account}, {region}):")
    if args.step == "wire":
        bootstrap.wire()
        return 0
    settings_changed = save_stage_settings(args.chalice_dir, args.stage, stated)
    report("settings", f"settings-{args.stage}.json", UPDATED if settings_changed else UNCHANGED)
    stream_arn = bootstrap.resources(api_key)
    written = write_chalice_files(args.chalice_dir, specs, stream_arn)
    report("chalice config", str(args.chalice_dir), f"{UPDATED} ({', '.join(written)})" if written else UNCHANGED)
    return 0


if __name__ == "__main__":
    sys.exit(main())
