"""The one definition of the resources Stock Insights needs besides its Lambda functions.

`resource_specs()` returns plain data: names and settings. Everything that creates these
resources derives from it and from nothing else: `terraform_resources()` below (the `infra.tf.json`
that `infra.terraform` writes) and the boto3 bootstrap. Change a name or a setting here, never
in one of its readers. No AWS SDK here: this module only describes.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from chalicelib.config import Settings

APP_NAME = "stock-insights"
FUNCTIONS = ("ingest", "analyze", "notify")

# The EMF dimension every metric carries (chalicelib.observability.SERVICE); the app's own
# constant, not derived from the app name, so it stays the same in every stage.
_METRIC_SERVICE = "stock-insights"
# S3 refuses a transition to STANDARD_IA earlier than 30 days after creation.
_MIN_IA_DAYS = 30
_NAME = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")

_APP_DEFAULTS = Settings()

# Every setting a caller may override, with its default.
DEFAULTS: dict[str, Any] = {
    "hash_marker_expiration_days": 30,  # processed/hashes/<etag>: the exactly-once markers
    "reject_expiration_days": 90,  # rejects/
    "processed_ia_transition_days": 30,  # processed/ to STANDARD_IA
    "noncurrent_version_expiration_days": 30,  # versions left behind by overwrites and expiries
    "abort_incomplete_upload_days": 7,
    "dlq_message_retention_seconds": 14 * 24 * 3600,  # SQS maximum
    "stream_maximum_retry_attempts": 5,  # then the batch goes to the on-failure queue
    "rejected_percent_threshold": 5.0,  # RejectedPercent of one file, in percent
    "alarm_period_seconds": 300,
    "kms_key_deletion_window_days": 30,
    "deletion_protection": None,  # None: on in prod only
    "sender_email": _APP_DEFAULTS.sender,
    "event_bus": _APP_DEFAULTS.event_bus,
    "metric_namespace": _APP_DEFAULTS.metric_namespace,
}


def add_settings_option(parser: argparse.ArgumentParser) -> None:
    """`--set NAME=VALUE` (repeatable) of both infra commands; `args.settings` is a list of pairs."""
    parser.add_argument(
        "--set",
        dest="settings",
        type=_parse_setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override an infra.resources setting, e.g. --set reject_expiration_days=180",
    )


def _parse_setting(text: str) -> tuple[str, Any]:
    """An int, a float, true/false, else the text."""
    name, sep, raw = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=VALUE")
    for kind in (int, float):
        try:
            return name, kind(raw)
        except ValueError:
            pass
    return name, {"true": True, "false": False}.get(raw.lower(), raw)


def resource_specs(app_name: str = APP_NAME, stage: str = "dev", **overrides: Any) -> dict[str, Any]:
    """Names and settings of the bucket, table, queues, topic, alarms, key and email identity."""
    unknown = sorted(set(overrides) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"unknown resource settings: {', '.join(unknown)} (known: {', '.join(DEFAULTS)})")
    opts = {**DEFAULTS, **overrides}
    for name in (app_name, stage):
        if not _NAME.match(name):
            raise ValueError(f"{name!r}: app and stage names are lowercase letters, digits and hyphens")
    for key, value in opts.items():
        if key.endswith(("_days", "_seconds", "_attempts")) and (not isinstance(value, int) or value <= 0):
            raise ValueError(f"{key} must be a positive integer, got {value!r}")
    if opts["processed_ia_transition_days"] < _MIN_IA_DAYS:
        raise ValueError(f"processed_ia_transition_days must be at least {_MIN_IA_DAYS} (an S3 rule)")
    if not 7 <= opts["kms_key_deletion_window_days"] <= 30:
        raise ValueError("kms_key_deletion_window_days must be between 7 and 30")
    if opts["rejected_percent_threshold"] <= 0:
        raise ValueError("rejected_percent_threshold must be positive")

    prefix = f"{app_name}-{stage}"
    bucket_name = f"{prefix}-data"
    if len(bucket_name) > 63:
        raise ValueError(f"bucket name {bucket_name!r} is longer than 63 characters")
    key_alias = f"alias/{prefix}"
    deletion_protection = opts["deletion_protection"]
    if deletion_protection is None:
        deletion_protection = stage == "prod"
    functions = {fn: {"function_name": f"{prefix}-{fn}", "dead_letter_queue": fn} for fn in FUNCTIONS}

    return {
        "app_name": app_name,
        "stage": stage,
        "prefix": prefix,
        "tags": {"app": app_name, "stage": stage},
        "kms_key": {
            "alias": key_alias,
            "description": f"{prefix}: analyses table, queues and alarm topic",
            "enable_key_rotation": True,
            "deletion_window_days": opts["kms_key_deletion_window_days"],
            # CloudWatch alarms publish to the encrypted topic with this key.
            "service_principals": ["cloudwatch.amazonaws.com"],
        },
        "bucket": {
            "name": bucket_name,
            "block_public_access": True,
            "object_ownership": "BucketOwnerEnforced",
            # SSE-S3, not the key: whoever uploads to inputs/ then needs no KMS permission.
            "sse_algorithm": "AES256",
            "versioning": True,
            "input_prefix": _APP_DEFAULTS.input_prefix,
            "lifecycle_rules": [
                {
                    "id": "expire-hash-markers",
                    "prefix": "processed/hashes/",
                    "expiration_days": opts["hash_marker_expiration_days"],
                },
                {"id": "expire-rejects", "prefix": "rejects/", "expiration_days": opts["reject_expiration_days"]},
                {
                    "id": "processed-to-standard-ia",
                    "prefix": "processed/",
                    "transition_days": opts["processed_ia_transition_days"],
                    "storage_class": "STANDARD_IA",
                },
                {
                    "id": "clean-up-versions-and-uploads",
                    "prefix": "",
                    "noncurrent_version_expiration_days": opts["noncurrent_version_expiration_days"],
                    "abort_incomplete_upload_days": opts["abort_incomplete_upload_days"],
                    "expired_object_delete_marker": True,
                },
            ],
        },
        "table": {
            "name": f"{prefix}-analyses",
            "hash_key": "analysis_id",
            "hash_key_type": "S",
            "billing_mode": "PAY_PER_REQUEST",
            "stream_view_type": "NEW_IMAGE",
            "point_in_time_recovery": True,
            "kms_key_alias": key_alias,
            "deletion_protection": deletion_protection,
        },
        "dead_letter_queues": {
            fn: {
                "name": f"{prefix}-{fn}-dlq",
                "message_retention_seconds": opts["dlq_message_retention_seconds"],
                "kms_key_alias": key_alias,
            }
            for fn in FUNCTIONS
        },
        "functions": functions,
        "stream_mapping": {
            "function": "notify",
            "on_failure_queue": "notify",  # notify's DLQ holds the records the stream gave up on
            "bisect_batch_on_function_error": True,
            "maximum_retry_attempts": opts["stream_maximum_retry_attempts"],
            "function_response_types": ["ReportBatchItemFailures"],
        },
        "event_bus": opts["event_bus"],
        "email_identity": {"email": opts["sender_email"]},
        "alarm_topic": {"name": f"{prefix}-alarms", "kms_key_alias": key_alias},
        "alarms": _alarm_specs(prefix, stage, functions, opts),
        # What the functions must be told about these resources (chalicelib.config names).
        "environment": {
            "BUCKET_NAME": bucket_name,
            "TABLE_NAME": f"{prefix}-analyses",
            "SENDER_EMAIL": opts["sender_email"],
            "STAGE": stage,
        },
    }


def _alarm_specs(prefix: str, stage: str, functions: dict[str, dict], opts: dict[str, Any]) -> list[dict[str, Any]]:
    common = {
        "period": opts["alarm_period_seconds"],
        "evaluation_periods": 1,
        "comparison_operator": "GreaterThanThreshold",
        "treat_missing_data": "notBreaching",
    }
    # The app's metrics carry service and stage (chalicelib.observability), so stages sharing an
    # account never trip each other's alarms.
    app_metric = {"namespace": opts["metric_namespace"], "dimensions": {"service": _METRIC_SERVICE, "stage": stage}}
    alarms = [
        {
            "key": f"{fn}_errors",
            "name": f"{prefix}-{fn}-errors",
            "description": f"{spec['function_name']} raised an error",
            "namespace": "AWS/Lambda",
            "metric_name": "Errors",
            "dimensions": {"FunctionName": spec["function_name"]},
            "statistic": "Sum",
            "threshold": 0,
            **common,
        }
        for fn, spec in functions.items()
    ]
    alarms.append(
        {
            "key": "rejected_percent",
            "name": f"{prefix}-rejected-percent",
            "description": "an ingested file had more rejected bars than the threshold (percent)",
            "metric_name": "RejectedPercent",
            "statistic": "Maximum",
            "threshold": opts["rejected_percent_threshold"],
            **app_metric,
            **common,
        }
    )
    alarms.append(
        {
            "key": "bedrock_retry_exceeded",
            "name": f"{prefix}-bedrock-retry-exceeded",
            "description": "a Bedrock call used up its attempts; the offline insights were used",
            "metric_name": "BedrockRetryExceeded",
            "statistic": "Sum",
            "threshold": 0,
            **app_metric,
            **common,
        }
    )
    alarms.append(
        {
            "key": "email_outcome_unknown",
            "name": f"{prefix}-email-outcome-unknown",
            "description": (
                "a report email may or may not have gone out (an attempt ended between marking it as sending "
                "and SES's answer); check SES sending activity, delete the email# marker to resend"
            ),
            "metric_name": "EmailOutcomeUnknown",
            "statistic": "Sum",
            "threshold": 0,
            **app_metric,
            **common,
        }
    )
    return alarms


# --- Terraform -------------------------------------------------------------------------------

_ACCOUNT = "${data.aws_caller_identity.infra.account_id}"
_PARTITION = "${data.aws_partition.infra.partition}"


def terraform_references(specs: dict[str, Any]) -> dict[str, Any]:
    """Terraform expressions for the attributes other resources need (names, ARNs)."""
    return {
        "bucket_name": "${aws_s3_bucket.data.bucket}",
        "bucket_arn": "${aws_s3_bucket.data.arn}",
        "table_name": "${aws_dynamodb_table.analyses.name}",
        "table_arn": "${aws_dynamodb_table.analyses.arn}",
        "stream_arn": "${aws_dynamodb_table.analyses.stream_arn}",
        "kms_key_arn": "${aws_kms_key.app.arn}",
        "event_bus_arn": "${data.aws_cloudwatch_event_bus.app.arn}",
        "sender_email": "${aws_sesv2_email_identity.sender.email_identity}",
        "sender_identity_arn": "${aws_sesv2_email_identity.sender.arn}",
        "sender_identity_arns": ["${aws_sesv2_email_identity.sender.arn}"],
        "log_group_arns": {
            fn: f"arn:{_PARTITION}:logs:*:{_ACCOUNT}:log-group:/aws/lambda/{function['function_name']}"
            for fn, function in specs["functions"].items()
        },
        "alarm_topic_arn": "${aws_sns_topic.alarms.arn}",
        "dlq_arns": {fn: f"${{aws_sqs_queue.{fn}_dlq.arn}}" for fn in specs["dead_letter_queues"]},
        "bedrock_model_arns": _bedrock_model_arns(_PARTITION, "*", _ACCOUNT),
        # The variables chalicelib.config reads, by the resource that defines their value.
        "environment": {
            "BUCKET_NAME": "${aws_s3_bucket.data.bucket}",
            "TABLE_NAME": "${aws_dynamodb_table.analyses.name}",
            "SENDER_EMAIL": "${aws_sesv2_email_identity.sender.email_identity}",
            "STAGE": specs["stage"],
        },
    }


def table_definition(specs_table: dict[str, Any]) -> dict[str, Any]:
    """`create_table` arguments for the analyses table (key, billing, NEW_IMAGE stream)."""
    return {
        "TableName": specs_table["name"],
        "KeySchema": [{"AttributeName": specs_table["hash_key"], "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": specs_table["hash_key"], "AttributeType": specs_table["hash_key_type"]}
        ],
        "BillingMode": specs_table["billing_mode"],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": specs_table["stream_view_type"]},
    }


def literal_arns(
    specs: dict[str, Any], account: str = "*", region: str = "*", partition: str = "aws"
) -> dict[str, Any]:
    """The ARNs of `specs`' resources as literals (account/region may be `*`), for the policy files
    `chalice deploy` uses; the same keys as `terraform_references`, plus log groups."""
    table_arn = f"arn:{partition}:dynamodb:{region}:{account}:table/{specs['table']['name']}"
    sender = specs["email_identity"]["email"]
    return {
        "bucket_arn": f"arn:{partition}:s3:::{specs['bucket']['name']}",
        "table_arn": table_arn,
        "stream_arn": f"{table_arn}/stream/*",
        "event_bus_arn": f"arn:{partition}:events:{region}:{account}:event-bus/{specs['event_bus']}",
        # The address, or its domain when the domain is the verified identity.
        "sender_identity_arns": [
            f"arn:{partition}:ses:{region}:{account}:identity/{sender}",
            f"arn:{partition}:ses:{region}:{account}:identity/{sender.rpartition('@')[2]}",
        ],
        "dlq_arns": {
            fn: f"arn:{partition}:sqs:{region}:{account}:{queue['name']}"
            for fn, queue in specs["dead_letter_queues"].items()
        },
        # The key's id is only known once it exists: any key, as long as it carries the app's alias.
        "kms_key_arn": f"arn:{partition}:kms:{region}:{account}:key/*",
        "kms_key_condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": specs["kms_key"]["alias"]}},
        "log_group_arns": {
            fn: f"arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{function['function_name']}"
            for fn, function in specs["functions"].items()
        },
        "bedrock_model_arns": _bedrock_model_arns(partition, region, account),
    }


def _bedrock_model_arns(partition: str, region: str, account: str) -> list[str]:
    # Amazon Nova models, called directly or through a cross-region inference profile (us., eu., …).
    return [
        f"arn:{partition}:bedrock:*::foundation-model/amazon.nova-*",
        f"arn:{partition}:bedrock:{region}:{account}:inference-profile/*.amazon.nova-*",
    ]


def function_policies(arns: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One IAM policy document per function: only the actions its code calls, on what it touches.

    `arns` is `literal_arns(...)` or `terraform_references(...)`. A `*` resource appears only where
    AWS has no resource-level permission for the action; the statement's Sid says so.
    """
    bucket = arns["bucket_arn"]

    def allow(sid: str, actions: list[str], resource: Any, condition: dict | None = None) -> dict[str, Any]:
        statement = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource}
        if condition:
            statement["Condition"] = condition
        return statement

    own = {
        "ingest": [
            allow("ReadInputsAndMarkers", ["s3:GetObject"], [f"{bucket}/inputs/*", f"{bucket}/processed/hashes/*"]),
            allow(
                "WriteOutputsMarkersAndQuarantine",
                ["s3:PutObject"],
                [f"{bucket}/processed/*", f"{bucket}/rejects/*", f"{bucket}/quarantine/*"],
            ),
            allow("ReleaseMarkers", ["s3:DeleteObject"], f"{bucket}/processed/hashes/*"),
            # Without ListBucket a missing marker reads as 403 instead of 404.
            allow("MissingKeysReadAsNotFound", ["s3:ListBucket"], bucket),
            allow("PublishIngestorCompleted", ["events:PutEvents"], arns["event_bus_arn"]),
        ],
        "analyze": [
            allow("ReadProcessedAndRejects", ["s3:GetObject"], [f"{bucket}/processed/bars/*", f"{bucket}/rejects/*"]),
            allow("WriteFullAnalyses", ["s3:PutObject"], f"{bucket}/analyses/*"),
            allow("StoreAnalyses", ["dynamodb:GetItem", "dynamodb:PutItem"], arns["table_arn"]),
            allow("Insights", ["bedrock:InvokeModel"], list(arns["bedrock_model_arns"])),
        ],
        "notify": [
            allow("ReadFullAnalyses", ["s3:GetObject"], f"{bucket}/analyses/*"),
            allow("EmailMarkers", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], arns["table_arn"]),
            allow(
                "ReadAnalysesStream",
                ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                arns["stream_arn"],
            ),
            allow("ListStreamsHasNoResourceLevelPermission", ["dynamodb:ListStreams"], "*"),
            allow("SendReport", ["ses:SendRawEmail"], list(arns["sender_identity_arns"])),
        ],
    }
    policies = {}
    for fn, statements in own.items():
        log_group = arns["log_group_arns"][fn]
        policies[fn] = {
            "Version": "2012-10-17",
            "Statement": [
                *statements,
                allow(
                    "OwnLogs",
                    ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    [log_group, f"{log_group}:*"],
                ),
                # Failed asynchronous invocations (and, for notify, the stream's gave-up batches).
                allow("OwnDeadLetterQueue", ["sqs:SendMessage"], arns["dlq_arns"][fn]),
                # Environment variables, the table and the queues are encrypted with the app's key.
                allow(
                    "AppKey", ["kms:Decrypt", "kms:GenerateDataKey"], arns["kms_key_arn"], arns.get("kms_key_condition")
                ),
                allow("XRayHasNoResourceLevelPermission", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"),
            ],
        }
    return policies


def terraform_resources(specs: dict[str, Any]) -> dict[str, Any]:
    """The Terraform JSON document (`infra.tf.json`) for everything in `specs`."""
    refs = terraform_references(specs)
    resources: dict[str, dict[str, Any]] = {}

    # Tags come from the provider's default_tags (versions.tf), for Chalice's resources too.
    def add(rtype: str, name: str, body: dict[str, Any]) -> None:
        resources.setdefault(rtype, {})[name] = body

    key = specs["kms_key"]
    add(
        "aws_kms_key",
        "app",
        {
            "description": key["description"],
            "enable_key_rotation": key["enable_key_rotation"],
            "deletion_window_in_days": key["deletion_window_days"],
            "policy": json.dumps(key_policy(key["service_principals"])),
        },
    )
    add("aws_kms_alias", "app", {"name": key["alias"], "target_key_id": "${aws_kms_key.app.key_id}"})

    bucket = specs["bucket"]
    bucket_id = "${aws_s3_bucket.data.id}"
    add("aws_s3_bucket", "data", {"bucket": bucket["name"]})
    add(
        "aws_s3_bucket_public_access_block",
        "data",
        {"bucket": bucket_id, **dict.fromkeys(_PUBLIC_ACCESS_FLAGS, bucket["block_public_access"])},
    )
    add(
        "aws_s3_bucket_ownership_controls",
        "data",
        {"bucket": bucket_id, "rule": {"object_ownership": bucket["object_ownership"]}},
    )
    add(
        "aws_s3_bucket_server_side_encryption_configuration",
        "data",
        {
            "bucket": bucket_id,
            "rule": [{"apply_server_side_encryption_by_default": {"sse_algorithm": bucket["sse_algorithm"]}}],
        },
    )
    add(
        "aws_s3_bucket_versioning",
        "data",
        {
            "bucket": bucket_id,
            "versioning_configuration": {"status": "Enabled" if bucket["versioning"] else "Suspended"},
        },
    )
    add(
        "aws_s3_bucket_lifecycle_configuration",
        "data",
        {
            "bucket": bucket_id,
            "rule": [_lifecycle_rule(rule) for rule in bucket["lifecycle_rules"]],
            # Rules on a versioned bucket apply only once versioning is on.
            "depends_on": ["aws_s3_bucket_versioning.data"],
        },
    )

    table = specs["table"]
    add(
        "aws_dynamodb_table",
        "analyses",
        {
            "name": table["name"],
            "billing_mode": table["billing_mode"],
            "hash_key": table["hash_key"],
            "attribute": [{"name": table["hash_key"], "type": table["hash_key_type"]}],
            "stream_enabled": True,
            "stream_view_type": table["stream_view_type"],
            "point_in_time_recovery": {"enabled": table["point_in_time_recovery"]},
            "server_side_encryption": {"enabled": True, "kms_key_arn": refs["kms_key_arn"]},
            "deletion_protection_enabled": table["deletion_protection"],
        },
    )

    for fn, queue in specs["dead_letter_queues"].items():
        add(
            "aws_sqs_queue",
            f"{fn}_dlq",
            {
                "name": queue["name"],
                "message_retention_seconds": queue["message_retention_seconds"],
                "kms_master_key_id": refs["kms_key_arn"],
            },
        )

    add("aws_sesv2_email_identity", "sender", {"email_identity": specs["email_identity"]["email"]})
    add("aws_sns_topic", "alarms", {"name": specs["alarm_topic"]["name"], "kms_master_key_id": refs["kms_key_arn"]})
    for alarm in specs["alarms"]:
        add("aws_cloudwatch_metric_alarm", alarm["key"], _alarm(alarm, refs["alarm_topic_arn"]))

    data = {
        "aws_caller_identity": {"infra": {}},
        "aws_partition": {"infra": {}},
        "aws_cloudwatch_event_bus": {"app": {"name": specs["event_bus"]}},
    }
    return {"resource": resources, "data": data}


_PUBLIC_ACCESS_FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")


def key_policy(
    service_principals: list[str], account_root_arn: str = f"arn:{_PARTITION}:iam::{_ACCOUNT}:root"
) -> dict[str, Any]:
    """The app key's policy: the account's IAM decides who uses it; the listed services may too."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            # Key administration and use through IAM policies in this account (the role's AppKey).
            {
                "Sid": "AccountIam",
                "Effect": "Allow",
                "Principal": {"AWS": account_root_arn},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "Services",
                "Effect": "Allow",
                "Principal": {"Service": sorted(service_principals)},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            },
        ],
    }


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"id": rule["id"], "status": "Enabled", "filter": {"prefix": rule["prefix"]}}
    if "expiration_days" in rule:
        body["expiration"] = {"days": rule["expiration_days"]}
    if rule.get("expired_object_delete_marker"):
        body["expiration"] = {"expired_object_delete_marker": True}
    if "transition_days" in rule:
        body["transition"] = [{"days": rule["transition_days"], "storage_class": rule["storage_class"]}]
    if "noncurrent_version_expiration_days" in rule:
        body["noncurrent_version_expiration"] = {"noncurrent_days": rule["noncurrent_version_expiration_days"]}
    if "abort_incomplete_upload_days" in rule:
        body["abort_incomplete_multipart_upload"] = {"days_after_initiation": rule["abort_incomplete_upload_days"]}
    return body


def _alarm(alarm: dict[str, Any], topic_arn: str) -> dict[str, Any]:
    return {
        "alarm_name": alarm["name"],
        "alarm_description": alarm["description"],
        "namespace": alarm["namespace"],
        "metric_name": alarm["metric_name"],
        "dimensions": dict(alarm["dimensions"]),
        "statistic": alarm["statistic"],
        "period": alarm["period"],
        "evaluation_periods": alarm["evaluation_periods"],
        "threshold": alarm["threshold"],
        "comparison_operator": alarm["comparison_operator"],
        "treat_missing_data": alarm["treat_missing_data"],
        "alarm_actions": [topic_arn],
        "ok_actions": [topic_arn],
    }
