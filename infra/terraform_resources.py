"""The Terraform side of `infra.resources`: the `infra.tf.json` document and its input variables.

A stage's deploy settings (`infra.resources.DEPLOY_SETTINGS`: sender, recipients, bucket name,
alarm e-mail, insights provider, log retention) are Terraform input variables of the same names,
declared in `variables.tf.json`; `make package` writes the values the stage's settings file states
into `terraform.tfvars.json`, and CD may set the rest as `TF_VAR_<name>`. Everything else is
literal here, from `resource_specs`. Nothing account-specific is literal: names and ARNs that
depend on the account come from data sources and references.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.config import NOTICE_TO
from infra.policies import BEDROCK_PROFILE_REGIONS, fetch_arns, key_policy, link_key_arns
from infra.resources import (
    BEDROCK_MODEL_ID,
    BUDGET_NOTIFICATIONS,
    DEPLOY_SETTINGS,
    INSIGHTS_PROVIDERS,
    LOG_RETENTION_DAYS,
)
from infra.table import table_attributes

_ACCOUNT = "${data.aws_caller_identity.infra.account_id}"
_PARTITION = "${data.aws_partition.infra.partition}"
_REGION = "${data.aws_region.infra.name}"
# Address syntax, as infra.resources checks it, written as an HCL string literal (RE2, backslashes doubled).
_EMAIL_RE = r"^[^@\\s,]+@[^@\\s,]+\\.[^@\\s,]+$"


def terraform_references(specs: dict[str, Any]) -> dict[str, Any]:
    """Terraform expressions for the attributes other resources need (names, ARNs)."""
    return {
        "region": _REGION,
        "bucket_name": "${aws_s3_bucket.data.bucket}",
        "bucket_arn": "${aws_s3_bucket.data.arn}",
        "table_arn": "${aws_dynamodb_table.analyses.arn}",
        "index_arns": [
            f"${{aws_dynamodb_table.analyses.arn}}/index/{index['name']}"
            for index in specs["table"].get("indexes") or []
        ],
        "stream_arn": "${aws_dynamodb_table.analyses.stream_arn}",
        "kms_key_arn": "${aws_kms_key.app.arn}",
        "event_bus_arn": "${data.aws_cloudwatch_event_bus.app.arn}",
        # Any identity of this account and region, From the configured sender only (infra.policies).
        "ses_identities_arn": f"arn:{_PARTITION}:ses:{_REGION}:{_ACCOUNT}:identity/*",
        "sender_email": "${var.sender_email}",
        "log_group_arns": {fn: f"${{aws_cloudwatch_log_group.{fn}.arn}}" for fn in specs["log_groups"]},
        "alarm_topic_arn": "${aws_sns_topic.alarms.arn}",
        "dlq_arns": {fn: f"${{aws_sqs_queue.{fn}_dlq.arn}}" for fn in specs["dead_letter_queues"]},
        # infra.policies.bedrock_model_arns, computed by Terraform from the variable (locals below).
        "bedrock_model_arns": [
            f"arn:{_PARTITION}:bedrock:${{local.bedrock_model_regions}}::foundation-model/${{local.bedrock_foundation_model}}",
            f"arn:{_PARTITION}:bedrock:{_REGION}:{_ACCOUNT}:inference-profile/${{var.bedrock_model_id}}",
        ],
        "fetch": fetch_arns(specs, _PARTITION, _REGION, _ACCOUNT, f"ssm.{_REGION}.amazonaws.com"),
        "archive_link_key": link_key_arns(specs, _PARTITION, _REGION, _ACCOUNT),
        # The variables chalicelib.config reads, by the resource or variable that defines their value.
        "environment": {
            "BUCKET_NAME": "${aws_s3_bucket.data.bucket}",
            "TABLE_NAME": "${aws_dynamodb_table.analyses.name}",
            "SENDER_EMAIL": "${var.sender_email}",
            "RECIPIENT_EMAILS": '${join(",", var.recipient_emails)}',
            "NOTICE_TO": "${var.notice_to}",
            "OPERATIONS_EMAILS": '${join(",", var.operations_emails)}',
            "ARCHIVE_URL": "${var.archive_url}",
            "INSIGHTS_PROVIDER": "${var.insights_provider}",
            "BEDROCK_MODEL_ID": "${var.bedrock_model_id}",
            "STAGE": specs["stage"],
            "ANALYSES_STREAM_ARN": "${aws_dynamodb_table.analyses.stream_arn}",
        },
    }


def terraform_variables() -> dict[str, Any]:
    """`variables.tf.json`: the deploy settings as input variables. The sender and the recipients
    have no default: a plan without them stops and names them."""
    defaults = {key: "" if value is None else value for key, value in DEPLOY_SETTINGS.items()}
    retention = ", ".join(map(str, LOG_RETENTION_DAYS))
    providers = ", ".join(json.dumps(p) for p in INSIGHTS_PROVIDERS)
    notice_to = ", ".join(json.dumps(p) for p in NOTICE_TO)
    variables = {
        "sender_email": {
            "type": "string",
            "description": "The verified SES identity (an address) reports are sent from",
            "validation": {
                "condition": f'${{can(regex("{_EMAIL_RE}", var.sender_email))}}',
                "error_message": "sender_email must be an e-mail address.",
            },
        },
        "recipient_emails": {
            "type": "list(string)",
            "description": "The addresses the report is sent to",
            "validation": {
                "condition": (
                    f"${{length(var.recipient_emails) > 0 && alltrue([for a in var.recipient_emails : "
                    f'can(regex("{_EMAIL_RE}", a))])}}'
                ),
                "error_message": "recipient_emails must be a non-empty list of e-mail addresses.",
            },
        },
        "notice_to": {
            "type": "string",
            "default": defaults["notice_to"],
            "description": "Who gets failure notices: recipients, operations or both",
            "validation": {
                "condition": f"${{contains([{notice_to}], var.notice_to)}}",
                "error_message": "notice_to must be recipients, operations or both.",
            },
        },
        "operations_emails": {
            "type": "list(string)",
            "default": defaults["operations_emails"],
            "description": "Operations addresses for failure notices; empty: the recipients",
            "validation": {
                "condition": f'${{alltrue([for a in var.operations_emails : can(regex("{_EMAIL_RE}", a))])}}',
                "error_message": "operations_emails must be a list of e-mail addresses.",
            },
        },
        "archive_url": {
            "type": "string",
            "default": defaults["archive_url"],
            "description": "The report archive API's base URL (https://…/api); the email links to it. Empty: no links",
            "validation": {
                "condition": '${var.archive_url == "" || can(regex("^https://[^ \\"<>]+$", var.archive_url))}',
                "error_message": "archive_url must be empty or an https:// URL.",
            },
        },
        "bucket_name": {
            "type": "string",
            "default": defaults["bucket_name"],
            "description": "The data bucket; empty: <app>-<stage>-data-<account>-<region>",
        },
        "alarm_email": {
            "type": "string",
            "default": defaults["alarm_email"],
            "description": "An address subscribed to the alarm topic; empty: none",
            "validation": {
                "condition": f'${{var.alarm_email == "" || can(regex("{_EMAIL_RE}", var.alarm_email))}}',
                "error_message": "alarm_email must be empty or an e-mail address.",
            },
        },
        "insights_provider": {
            "type": "string",
            "default": defaults["insights_provider"],
            "description": "offline (from the numbers) or bedrock (Amazon Nova Lite)",
            "validation": {
                "condition": f"${{contains([{providers}], var.insights_provider)}}",
                "error_message": "insights_provider must be offline or bedrock.",
            },
        },
        "bedrock_model_id": {
            "type": "string",
            "default": defaults["bedrock_model_id"],
            "description": "Bedrock model or cross-region inference profile id (us.amazon.nova-lite-v1:0); analyze may invoke it only",
            "validation": {
                "condition": f'${{can(regex("^{_hcl(BEDROCK_MODEL_ID)}$", var.bedrock_model_id))}}',
                "error_message": "bedrock_model_id must be a Bedrock model or inference profile id.",
            },
        },
        "log_retention_days": {
            "type": "number",
            "default": defaults["log_retention_days"],
            "description": "Days the functions' CloudWatch logs are kept",
            "validation": {
                "condition": f"${{contains([{retention}], var.log_retention_days)}}",
                "error_message": f"log_retention_days must be one of {retention}.",
            },
        },
        "monthly_budget_usd": {
            "type": "number",
            "default": defaults["monthly_budget_usd"],
            "description": "A monthly AWS Budgets cost budget, USD, that e-mails alarm_email; 0: none",
            "validation": {
                "condition": "${var.monthly_budget_usd >= 0}",
                "error_message": "monthly_budget_usd must be 0 (no budget) or a positive number of USD.",
            },
        },
    }
    missing = set(DEPLOY_SETTINGS) ^ set(variables)
    if missing:
        raise AssertionError(f"deploy settings and Terraform variables differ: {sorted(missing)}")
    return {"variable": variables}


def teardown_variables() -> dict[str, Any]:
    """`teardown.tf.json`: `delete_data`, false unless a deployer means to destroy the data too
    (docs/deploying.md, "Removing a stage")."""
    return {
        "variable": {
            "delete_data": {
                "type": "bool",
                "default": False,
                "description": (
                    "true: the bucket may be destroyed with every object version and the table's deletion "
                    "protection is off. Apply it, then destroy with it"
                ),
            }
        }
    }


def _hcl(pattern: str) -> str:
    """A regular expression as an HCL string literal's content (backslashes doubled)."""
    return pattern.replace("\\", "\\\\")


def terraform_variable_values(stated: dict[str, Any]) -> dict[str, Any]:
    """`terraform.tfvars.json`: the deploy settings a stage's settings file states (None: empty)."""
    return {key: "" if stated[key] is None else stated[key] for key in DEPLOY_SETTINGS if key in stated}


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
            "policy": json.dumps(key_policy(key["service_principals"], f"arn:{_PARTITION}:iam::{_ACCOUNT}:root")),
        },
    )
    add("aws_kms_alias", "app", {"name": key["alias"], "target_key_id": "${aws_kms_key.app.key_id}"})

    bucket = specs["bucket"]
    bucket_id = "${aws_s3_bucket.data.id}"
    # The bucket variable, else the default name (infra.resources.default_bucket_name) from the
    # account and region deployed to.
    default_name = (
        f'join("-", ["{specs["prefix"]}-data", data.aws_caller_identity.infra.account_id, data.aws_region.infra.name])'
    )
    add(
        "aws_s3_bucket",
        "data",
        {
            "bucket": f'${{var.bucket_name != "" ? var.bucket_name : {default_name}}}',
            # Destroy empties the bucket (every version) only once delete_data was applied.
            "force_destroy": "${var.delete_data}",
        },
    )
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
            "attribute": [{"name": name, "type": kind} for name, kind in table_attributes(table)],
            "global_secondary_index": [
                {
                    "name": index["name"],
                    "hash_key": index["hash_key"],
                    "range_key": index["range_key"],
                    "projection_type": index["projection"],
                }
                for index in table.get("indexes") or []
            ],
            "stream_enabled": True,
            "stream_view_type": table["stream_view_type"],
            "point_in_time_recovery": {"enabled": table["point_in_time_recovery"]},
            "server_side_encryption": {"enabled": True, "kms_key_arn": refs["kms_key_arn"]},
            "deletion_protection_enabled": f"${{var.delete_data ? false : {json.dumps(table['deletion_protection'])}}}",
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

    # No SES identity here: it may exist already (verified earlier, for another stage or app) and
    # be shared, so no stage's apply creates it and no stage's destroy deletes it. `python -m
    # infra.bootstrap sender` creates it if missing (docs/deploying.md, section 2).
    add("aws_sns_topic", "alarms", {"name": specs["alarm_topic"]["name"], "kms_master_key_id": refs["kms_key_arn"]})
    add(
        "aws_sns_topic_subscription",
        "alarm_email",
        {
            "count": '${var.alarm_email == "" ? 0 : 1}',
            "topic_arn": refs["alarm_topic_arn"],
            "protocol": "email",
            "endpoint": "${var.alarm_email}",
        },
    )
    for fn, group in specs["log_groups"].items():
        add("aws_cloudwatch_log_group", fn, {"name": group["name"], "retention_in_days": "${var.log_retention_days}"})
    for alarm in specs["alarms"]:
        add("aws_cloudwatch_metric_alarm", alarm["key"], _alarm(alarm, refs["alarm_topic_arn"]))
    add("aws_budgets_budget", "monthly", _budget(specs["budget_name"]))
    ephemeral = {}
    link = specs["archive_link_key"]
    if link:
        # The archive link key: a random value that never enters the state (an ephemeral resource
        # written to a write-only attribute; Terraform >= 1.11, AWS provider >= 5.87: "aws_ssm_parameter",
        # value_wo, and "ephemeral aws_secretsmanager_random_password", provider docs read 2026-12-05).
        # It is written once: a new value_wo_version writes a new key, which ends every link sent.
        ephemeral["aws_secretsmanager_random_password"] = {
            "archive_link_key": {"password_length": 48, "exclude_punctuation": True}
        }
        add(
            "aws_ssm_parameter",
            "archive_link_key",
            {
                "name": link["parameter"],
                "description": "Signs the report emails' archive links (chalicelib.archive_access)",
                "type": "SecureString",
                "key_id": "${aws_kms_key.app.arn}",
                "value_wo": "${ephemeral.aws_secretsmanager_random_password.archive_link_key.random_password}",
                "value_wo_version": 1,
            },
        )

    data = {
        "aws_caller_identity": {"infra": {}},
        "aws_partition": {"infra": {}},
        "aws_region": {"infra": {}},
        "aws_cloudwatch_event_bus": {"app": {"name": specs["event_bus"]}},
    }
    # Locals, not inline expressions: policies are JSON text, where their quotes would be escaped.
    geographies = "|".join(sorted(BEDROCK_PROFILE_REGIONS, key=len, reverse=True))
    regions = ", ".join(f'"{geo}" = "{pattern}"' for geo, pattern in BEDROCK_PROFILE_REGIONS.items())
    local_values = {
        "bedrock_geography": f'${{try(regex("^({geographies})\\\\.", var.bedrock_model_id)[0], "")}}',
        "bedrock_foundation_model": (
            '${local.bedrock_geography == "" ? var.bedrock_model_id : '
            'trimprefix(var.bedrock_model_id, "${local.bedrock_geography}.")}'
        ),
        "bedrock_model_regions": f"${{lookup({{{regions}}}, local.bedrock_geography, data.aws_region.infra.name)}}",
    }
    document = {"resource": resources, "data": data, "locals": local_values}
    return {**document, "ephemeral": ephemeral} if ephemeral else document


_PUBLIC_ACCESS_FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")


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


def _budget(name: str) -> dict[str, Any]:
    """The monthly budget alarm (infra.budget says what it watches), only when the variable is above 0."""
    return {
        "count": "${var.monthly_budget_usd > 0 ? 1 : 0}",
        "name": name,
        "budget_type": "COST",
        "limit_amount": '${format("%.2f", var.monthly_budget_usd)}',
        "limit_unit": "USD",
        "time_unit": "MONTHLY",
        "notification": [
            {
                "comparison_operator": "GREATER_THAN",
                "threshold": percent,
                "threshold_type": "PERCENTAGE",
                "notification_type": kind,
                "subscriber_email_addresses": ["${var.alarm_email}"],
            }
            for kind, percent in BUDGET_NOTIFICATIONS
        ],
        "lifecycle": {
            "precondition": [
                {
                    "condition": '${var.alarm_email != ""}',
                    "error_message": "monthly_budget_usd needs alarm_email: the address the budget alarm e-mails.",
                }
            ]
        },
    }


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
