"""The Terraform package: each post-processing fix on its own, then the generated directory as a
whole (references resolve, fixes present, versions, checkov, and `terraform validate` when a
Terraform and an AWS provider are at hand)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra import terraform_fixes as fixes
from infra.policies import bedrock_model_arns, function_policies, literal_arns
from infra.resources import DEFAULTS, resource_specs
from infra.terraform_resources import (
    terraform_references,
    terraform_resources,
    terraform_variable_values,
    terraform_variables,
)
from tests.conftest import REPO, copy_project, terraform_plugin_dir, tool_venv

SPECS = resource_specs("stock-insights", "dev")
FNS = ("ingest", "analyze", "notify")
ALL_FNS = (*FNS, "api_handler")  # Chalice's one function for the archive's routes, named stock-insights-dev
REFS = terraform_references(SPECS)
CHECKOV_REQUIREMENTS = REPO / "requirements-checkov.txt"
CHECKOV_CONFIG = REPO / ".checkov.yaml"


def _chalice_like() -> dict:
    """A trimmed `chalice.tf.json` as Chalice 1.34 writes it for this app."""
    env = {"LOG_LEVEL": "INFO", "BUCKET_NAME": "stock-insights-dev-data", "TABLE_NAME": "stock-insights-dev-analyses"}
    functions = {
        fn: {
            "function_name": "stock-insights-dev" if fn == "api_handler" else f"stock-insights-dev-{fn}",
            "role": f"${{aws_iam_role.{fn}_role.arn}}",
            "runtime": "python3.13",
            "environment": {"variables": dict(env)},
        }
        for fn in ALL_FNS
    }
    return {
        "resource": {
            "aws_iam_role": {f"{fn}_role": {"name": f"stock-insights-dev-{fn}"} for fn in ALL_FNS},
            "aws_iam_role_policy": {
                f"{fn}_role": {"role": f"${{aws_iam_role.{fn}_role.id}}", "policy": "{}"} for fn in ALL_FNS
            },
            "aws_api_gateway_rest_api": {
                "rest_api": {"body": "${local.chalice_api_swagger}", "name": "stock-insights"}
            },
            "aws_api_gateway_deployment": {
                "rest_api": {"rest_api_id": "${aws_api_gateway_rest_api.rest_api.id}", "stage_name": "api"}
            },
            "aws_lambda_function": functions,
            "aws_s3_bucket_notification": {
                "stock-insights-dev-data_notify": {
                    "bucket": "stock-insights-dev-data",
                    "lambda_function": [{"lambda_function_arn": "${aws_lambda_function.ingest.arn}"}],
                }
            },
            "aws_lambda_permission": {
                "ingest-s3event": {
                    "principal": "s3.amazonaws.com",
                    "function_name": "${aws_lambda_function.ingest.arn}",
                    "source_arn": "arn:${data.aws_partition.chalice.partition}:s3:::stock-insights-dev-data",
                },
                "analyze-event": {
                    "principal": "events.amazonaws.com",
                    "source_arn": "${aws_cloudwatch_event_rule.analyze-event.arn}",
                },
            },
            "aws_cloudwatch_event_rule": {"analyze-event": {"name": "analyze-event"}},
            "aws_lambda_event_source_mapping": {
                "notify-dynamodb-event-source": {
                    "event_source_arn": "arn:aws:dynamodb:us-east-1:123456789012:table/x/stream/1970",
                    "batch_size": 10,
                    "starting_position": "TRIM_HORIZON",
                    "function_name": "${aws_lambda_function.notify.arn}",
                }
            },
        },
        "terraform": {"required_version": ">= 0.12.26, < 1.4.0", "required_providers": {"aws": {"version": "< 5"}}},
        "data": {
            "aws_partition": {"chalice": {}},
            "null_data_source": {"chalice": {"inputs": {"app": "stock-insights", "stage": "dev"}}},
        },
    }


# --- a small Terraform version-constraint checker ------------------------------------------------


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def satisfies(version: str, constraints: str) -> bool:
    """Whether `version` meets a Terraform constraint string (`>= 1.5.0, < 2.0.0`, `~> 5.0`)."""
    v = _version(version)
    for clause in constraints.split(","):
        op, bound = re.fullmatch(r"\s*(>=|<=|!=|~>|>|<|=)?\s*([\d.]+)\s*", clause).groups()
        b = _version(bound)
        width = max(len(v), len(b))
        vv, bb = v + (0,) * (width - len(v)), b + (0,) * (width - len(b))
        if op == "~>":
            ok = vv >= bb and v[: len(b) - 1] == b[:-1]
        else:
            ok = {
                ">=": vv >= bb,
                "<=": vv <= bb,
                ">": vv > bb,
                "<": vv < bb,
                "!=": vv != bb,
                "=": vv == bb,
                None: vv == bb,
            }[op]
        if not ok:
            return False
    return True


def test_constraint_checker_reads_constraints_as_terraform_does():
    assert satisfies("1.3.9", ">= 0.12.26, < 1.4.0") and not satisfies("1.13.0", ">= 0.12.26, < 1.4.0")
    assert satisfies("5.4.1", "~> 5.0") and not satisfies("6.0.0", "~> 5.0")
    assert satisfies("4.67.0", ">= 3.61.0, < 5") and not satisfies("5.0.0", ">= 3.61.0, < 5")


# --- resource_specs -----------------------------------------------------------------------------


def test_resource_specs_names_follow_app_and_stage():
    specs = resource_specs("stock-insights", "prod", "123456789012", "eu-west-1")
    # Bucket names are global to S3: the default carries the account and the region.
    assert specs["bucket"]["name"] == "stock-insights-prod-data-123456789012-eu-west-1"
    assert resource_specs("stock-insights", "prod")["bucket"]["name"] is None  # until an account is known
    assert resource_specs("stock-insights", "prod", "1", "x", bucket_name="my-bucket")["bucket"]["name"] == "my-bucket"
    assert specs["table"]["name"] == "stock-insights-prod-analyses"
    assert {q["name"] for q in specs["dead_letter_queues"].values()} == {
        f"stock-insights-prod-{fn}-dlq" for fn in ("ingest", "analyze", "notify")
    }
    assert specs["alarm_topic"]["name"] == "stock-insights-prod-alarms"
    assert specs["table"]["deletion_protection"] is True
    assert resource_specs()["table"]["deletion_protection"] is False


def test_resource_specs_lifecycle_and_alarm_settings_are_overridable():
    specs = resource_specs(hash_marker_expiration_days=7, reject_expiration_days=180, rejected_percent_threshold=2.5)
    rules = {r["id"]: r for r in specs["bucket"]["lifecycle_rules"]}
    assert rules["expire-hash-markers"] == {
        "id": "expire-hash-markers",
        "prefix": "processed/hashes/",
        "expiration_days": 7,
    }
    assert rules["expire-rejects"]["expiration_days"] == 180
    assert rules["processed-to-standard-ia"]["transition_days"] == 30
    assert rules["processed-to-standard-ia"]["storage_class"] == "STANDARD_IA"
    rejected = next(a for a in specs["alarms"] if a["metric_name"] == "RejectedPercent")
    assert rejected["threshold"] == 2.5
    assert rejected["namespace"] == "StockInsights" and rejected["dimensions"] == {
        "service": "stock-insights",
        "stage": "dev",
    }


def test_resource_specs_defaults_and_refusals():
    rules = {r["id"]: r for r in SPECS["bucket"]["lifecycle_rules"]}
    assert rules["expire-hash-markers"]["expiration_days"] == 30
    assert rules["expire-rejects"]["expiration_days"] == 90
    assert next(a for a in SPECS["alarms"] if a["metric_name"] == "RejectedPercent")["threshold"] == 5.0
    with pytest.raises(TypeError, match="unknown resource settings"):
        resource_specs(reject_days=3)
    with pytest.raises(ValueError, match="at least 30"):
        resource_specs(processed_ia_transition_days=10)
    with pytest.raises(ValueError, match="positive integer"):
        resource_specs(reject_expiration_days=0)
    with pytest.raises(ValueError, match="lowercase"):
        resource_specs("Stock_Insights", "dev")
    with pytest.raises(ValueError, match="not an e-mail address"):
        resource_specs(sender_email="reports")
    with pytest.raises(ValueError, match="not an e-mail address"):
        resource_specs(recipient_emails="a@x.org,nobody")
    with pytest.raises(ValueError, match="at least one address"):
        resource_specs(recipient_emails="")
    with pytest.raises(ValueError, match="log_retention_days must be one of"):
        resource_specs(log_retention_days=31)
    with pytest.raises(ValueError, match="insights_provider"):
        resource_specs(insights_provider="gpt")
    with pytest.raises(ValueError, match="not a valid S3 bucket name"):
        resource_specs(bucket_name="Has_Capitals")


def test_resource_specs_carry_the_deploy_settings_to_the_functions_environment():
    specs = resource_specs(
        sender_email="me@mydomain.org",
        recipient_emails="a@x.org, b@y.org",
        insights_provider="bedrock",
        log_retention_days=90,
        alarm_email="ops@mydomain.org",
    )
    assert specs["environment"]["SENDER_EMAIL"] == "me@mydomain.org"
    assert specs["environment"]["RECIPIENT_EMAILS"] == "a@x.org,b@y.org"
    assert specs["environment"]["INSIGHTS_PROVIDER"] == "bedrock"
    assert {g["retention_days"] for g in specs["log_groups"].values()} == {90}
    assert specs["alarm_topic"]["email"] == "ops@mydomain.org"
    assert specs["settings"]["recipient_emails"] == ["a@x.org", "b@y.org"]


def test_resource_specs_alarm_dimension_is_the_apps_metric_service():
    from chalicelib.observability import SERVICE

    app_alarms = [a for a in SPECS["alarms"] if a["namespace"] == "StockInsights"]
    assert {a["metric_name"] for a in app_alarms} == {
        "RejectedPercent",
        "EmailRejected",
        "InsightsOffline",
        "EmailOutcomeUnknown",
        "FilesQuarantined",
    }
    assert all(a["dimensions"] == {"service": SERVICE, "stage": "dev"} for a in app_alarms)
    errors = {a["dimensions"]["FunctionName"] for a in SPECS["alarms"] if a["metric_name"] == "Errors"}
    assert errors == {f"stock-insights-dev-{fn}" for fn in ("ingest", "analyze", "notify")} | {"stock-insights-dev"}
    assert DEFAULTS["metric_namespace"] == "StockInsights"


def test_resource_specs_is_plain_data():
    assert json.loads(json.dumps(SPECS)) == SPECS
    source = (REPO / "infra" / "resources.py").read_text()
    assert not re.search(r"^\s*(import|from)\s+boto", source, re.M)


# --- each post-processing fix -------------------------------------------------------------------


def test_drop_chalice_version_pins_removes_the_terraform_block():
    tf = fixes.drop_chalice_version_pins(_chalice_like())
    assert "terraform" not in tf
    assert "terraform" in _chalice_like()  # input untouched


def test_drop_null_data_source_removes_only_an_unused_one():
    tf = fixes.drop_null_data_source(_chalice_like())
    assert "null_data_source" not in tf["data"] and "aws_partition" in tf["data"]
    used = _chalice_like()
    used["resource"]["aws_iam_role"]["ingest_role"]["name"] = "${data.null_data_source.chalice.outputs.app}"
    with pytest.raises(fixes.PackageDrift):
        fixes.drop_null_data_source(used)


def test_prefix_event_rule_names_adds_app_and_stage_once():
    tf = fixes.prefix_event_rule_names(_chalice_like(), "stock-insights-dev")
    assert tf["resource"]["aws_cloudwatch_event_rule"]["analyze-event"]["name"] == "stock-insights-dev-analyze-event"
    again = fixes.prefix_event_rule_names(tf, "stock-insights-dev")
    assert again["resource"]["aws_cloudwatch_event_rule"]["analyze-event"]["name"] == "stock-insights-dev-analyze-event"
    with pytest.raises(fixes.PackageDrift, match="longer than 64"):
        fixes.prefix_event_rule_names(_chalice_like(), "x" * 60)


def test_scope_ingest_rules_to_bucket_filters_on_this_stages_bucket():
    tf = _chalice_like()
    rule = tf["resource"]["aws_cloudwatch_event_rule"]["analyze-event"]
    rule["event_pattern"] = json.dumps({"source": ["stock-insights.ingestor"], "detail-type": ["IngestorCompleted"]})
    tf["resource"]["aws_cloudwatch_event_rule"]["nightly"] = {"schedule_expression": "rate(1 day)"}
    scoped = fixes.scope_ingest_rules_to_bucket(tf, "stock-insights.ingestor", "${aws_s3_bucket.data.bucket}")
    pattern = json.loads(scoped["resource"]["aws_cloudwatch_event_rule"]["analyze-event"]["event_pattern"])
    assert pattern == {
        "source": ["stock-insights.ingestor"],
        "detail-type": ["IngestorCompleted"],
        "detail": {"bucket": ["${aws_s3_bucket.data.bucket}"]},
    }
    assert scoped["resource"]["aws_cloudwatch_event_rule"]["nightly"] == {"schedule_expression": "rate(1 day)"}
    other = fixes.scope_ingest_rules_to_bucket(tf, "another.source", "${aws_s3_bucket.data.bucket}")
    assert other == tf
    # app.py's own filter names the bucket chalice package was given: the reference replaces it.
    rule["event_pattern"] = json.dumps({"source": ["stock-insights.ingestor"], "detail": {"bucket": ["literal-b"]}})
    scoped = fixes.scope_ingest_rules_to_bucket(tf, "stock-insights.ingestor", "${aws_s3_bucket.data.bucket}")
    pattern = json.loads(scoped["resource"]["aws_cloudwatch_event_rule"]["analyze-event"]["event_pattern"])
    assert pattern["detail"] == {"bucket": ["${aws_s3_bucket.data.bucket}"]}


def test_wire_bucket_notification_references_the_bucket_and_waits_for_the_permission():
    tf = fixes.wire_bucket_notification(_chalice_like(), REFS)
    notification = tf["resource"]["aws_s3_bucket_notification"]["data"]
    assert notification["bucket"] == "${aws_s3_bucket.data.bucket}"
    assert notification["depends_on"] == ["aws_lambda_permission.ingest-s3event"]
    permission = tf["resource"]["aws_lambda_permission"]["ingest-s3event"]
    assert permission["source_arn"] == "${aws_s3_bucket.data.arn}"
    assert (
        tf["resource"]["aws_lambda_permission"]["analyze-event"]
        == _chalice_like()["resource"]["aws_lambda_permission"]["analyze-event"]
    )
    elsewhere = _chalice_like()
    elsewhere["resource"]["aws_lambda_permission"]["ingest-s3event"]["source_arn"] = "arn:aws:s3:::another-bucket"
    with pytest.raises(fixes.PackageDrift, match="not the notified bucket"):
        fixes.wire_bucket_notification(elsewhere, REFS)


def test_wire_stream_mapping_sets_failure_handling_and_the_stream_reference():
    tf = fixes.wire_stream_mapping(_chalice_like(), SPECS["stream_mapping"], REFS)
    esm = tf["resource"]["aws_lambda_event_source_mapping"]["notify-dynamodb-event-source"]
    assert esm["event_source_arn"] == "${aws_dynamodb_table.analyses.stream_arn}"
    assert esm["function_response_types"] == ["ReportBatchItemFailures"]
    assert esm["bisect_batch_on_function_error"] is True
    assert esm["maximum_retry_attempts"] == DEFAULTS["stream_maximum_retry_attempts"]
    assert esm["destination_config"] == {"on_failure": {"destination_arn": "${aws_sqs_queue.notify_dlq.arn}"}}
    [stream_filter] = esm["filter_criteria"]["filter"]
    assert json.loads(stream_filter["pattern"]) == {
        "dynamodb": {"NewImage": {"kind": {"S": ["analysis", "failure_notice"]}}}
    }
    assert esm["depends_on"] == sorted(f"aws_iam_role_policy.{fn}_role" for fn in ALL_FNS)
    assert esm["batch_size"] == 10 and esm["starting_position"] == "TRIM_HORIZON"
    without = _chalice_like()
    del without["resource"]["aws_lambda_event_source_mapping"]
    with pytest.raises(fixes.PackageDrift):
        fixes.wire_stream_mapping(without, SPECS["stream_mapping"], REFS)


def test_reference_environment_replaces_literals_and_refuses_drift():
    bootstrapped = _chalice_like()  # what the bootstrap wrote for chalice deploy, from one account
    for function in bootstrapped["resource"]["aws_lambda_function"].values():
        function["environment"]["variables"].update(
            BUCKET_NAME="stock-insights-dev-data-111111111111-us-east-1",
            ANALYSES_STREAM_ARN="arn:aws:dynamodb:us-east-1:111111111111:table/t/stream/2026",
            SENDER_EMAIL=SPECS["environment"]["SENDER_EMAIL"],
        )
    tf = fixes.reference_environment(bootstrapped, SPECS["environment"], REFS["environment"])
    for function in tf["resource"]["aws_lambda_function"].values():
        variables = function["environment"]["variables"]
        assert variables["BUCKET_NAME"] == "${aws_s3_bucket.data.bucket}"
        assert variables["TABLE_NAME"] == "${aws_dynamodb_table.analyses.name}"
        assert variables["SENDER_EMAIL"] == "${var.sender_email}"
        assert variables["RECIPIENT_EMAILS"] == '${join(",", var.recipient_emails)}'
        assert variables["INSIGHTS_PROVIDER"] == "${var.insights_provider}"
        assert variables["ANALYSES_STREAM_ARN"] == "${aws_dynamodb_table.analyses.stream_arn}"
        assert variables["LOG_LEVEL"] == "INFO"
    environments = [{"resource": {"env": f["environment"]}} for f in tf["resource"]["aws_lambda_function"].values()]
    assert fixes.account_literals(environments) == []
    assert fixes.account_literals([bootstrapped]) != []
    for name in ("TABLE_NAME", "SENDER_EMAIL", "RECIPIENT_EMAILS"):
        drifted = _chalice_like()
        drifted["resource"]["aws_lambda_function"]["notify"]["environment"]["variables"][name] = "other@x.org"
        with pytest.raises(fixes.PackageDrift, match=name):
            fixes.reference_environment(drifted, SPECS["environment"], REFS["environment"])


def test_create_log_groups_first_orders_each_function_after_its_group():
    tf = fixes.create_log_groups_first(_chalice_like(), SPECS["log_groups"])
    for fn, function in tf["resource"]["aws_lambda_function"].items():
        assert f"aws_cloudwatch_log_group.{fn}" in function["depends_on"]
    with pytest.raises(fixes.PackageDrift, match="no log group"):
        fixes.create_log_groups_first(_chalice_like(), {"ingest": SPECS["log_groups"]["ingest"]})


def test_variables_are_the_deploy_settings_and_only_the_sender_and_recipients_are_required():
    variables = terraform_variables()["variable"]
    assert set(variables) == {
        "sender_email",
        "recipient_emails",
        "bucket_name",
        "alarm_email",
        "insights_provider",
        "log_retention_days",
        "bedrock_model_id",
        "notice_to",
        "operations_emails",
        "archive_url",
        "monthly_budget_usd",
    }
    assert variables["operations_emails"]["type"] == "list(string)"
    assert {name for name, v in variables.items() if "default" not in v} == {"sender_email", "recipient_emails"}
    assert variables["recipient_emails"]["type"] == "list(string)"
    assert variables["log_retention_days"]["default"] == 30
    stated = {"sender_email": "me@mydomain.org", "recipient_emails": ["a@x.org"], "alarm_email": None}
    assert terraform_variable_values({**stated, "reject_expiration_days": 180}) == {
        "sender_email": "me@mydomain.org",
        "recipient_emails": ["a@x.org"],
        "alarm_email": "",
    }


def test_check_function_names_matches_the_alarmed_functions():
    fixes.check_function_names(_chalice_like(), SPECS["functions"])
    renamed = _chalice_like()
    renamed["resource"]["aws_lambda_function"]["ingest"]["function_name"] = "elsewhere"
    with pytest.raises(fixes.PackageDrift):
        fixes.check_function_names(renamed, SPECS["functions"])


def test_a_package_made_under_another_python_is_refused():
    fixes.check_runtime(_chalice_like())
    older = _chalice_like()
    older["resource"]["aws_lambda_function"]["notify"]["runtime"] = "python3.11"
    with pytest.raises(fixes.PackageDrift, match=r"notify.*python3\.11.*python3\.13"):
        fixes.check_runtime(older)


def test_add_dead_letter_queues_gives_each_function_its_own_queue():
    tf = fixes.add_dead_letter_queues(_chalice_like(), SPECS["functions"], REFS)
    functions = tf["resource"]["aws_lambda_function"]
    targets = {fn: f["dead_letter_config"]["target_arn"] for fn, f in functions.items() if "dead_letter_config" in f}
    assert targets == {fn: f"${{aws_sqs_queue.{fn}_dlq.arn}}" for fn in ("ingest", "analyze", "notify")}
    assert "dead_letter_config" not in functions["api_handler"]  # invoked synchronously by API Gateway


def test_encrypt_environment_and_tracing():
    tf = fixes.enable_active_tracing(fixes.encrypt_environment(_chalice_like(), REFS))
    for function in tf["resource"]["aws_lambda_function"].values():
        assert function["kms_key_arn"] == "${aws_kms_key.app.arn}"
        assert function["tracing_config"] == {"mode": "Active"}


def test_grant_app_access_gives_each_function_its_own_policy_and_orders_it_after_them():
    tf = fixes.grant_app_access(_chalice_like(), REFS)
    policies = function_policies(REFS)
    for fn in ("ingest", "analyze", "notify"):
        policy = tf["resource"]["aws_iam_role_policy"][f"{fn}_role"]
        assert policy["role"] == f"${{aws_iam_role.{fn}_role.id}}"
        assert json.loads(policy["policy"]) == policies[fn]
        statements = {s["Sid"]: s for s in policies[fn]["Statement"]}
        assert statements["OwnDeadLetterQueue"]["Resource"] == REFS["dlq_arns"][fn]
    notify = {s["Sid"]: s for s in policies["notify"]["Statement"]}
    # Any identity of the account and region SES checks (the sender's; in the sandbox the recipients'
    # too), From the configured sender only.
    send = notify["SendReportFromTheSenderOnly"]
    assert send["Resource"] == (
        "arn:${data.aws_partition.infra.partition}:ses:${data.aws_region.infra.name}:"
        "${data.aws_caller_identity.infra.account_id}:identity/*"
    )
    assert send["Condition"] == {"StringEquals": {"ses:FromAddress": "${var.sender_email}"}}
    assert "PublishIngestorCompleted" not in notify and "Insights" not in notify
    for function in tf["resource"]["aws_lambda_function"].values():
        assert set(function["depends_on"]) >= {
            f"aws_iam_role_policy.{fn}_role" for fn in ("ingest", "analyze", "notify")
        }


def test_unresolved_references_finds_dangling_expressions_and_depends_on():
    doc = {
        "resource": {
            "aws_sqs_queue": {"q": {"name": "x"}},
            "aws_lambda_function": {
                "f": {
                    "dead_letter_config": {"target_arn": "${aws_sqs_queue.q.arn}"},
                    "role": "${aws_iam_role.missing.arn}",
                    "filename": '${filebase64sha256("${path.module}/deployment.zip")}',
                    "description": "aws_not.a_reference outside an expression",
                    "depends_on": ["aws_iam_role_policy.gone"],
                    "environment": {"variables": {"P": "${data.aws_partition.none.partition}"}},
                }
            },
        }
    }
    assert fixes.unresolved_references([doc]) == [
        "aws_iam_role.missing",
        "aws_iam_role_policy.gone",
        "data.aws_partition.none",
    ]


def test_postprocess_keeps_chalices_own_settings():
    tf = fixes.postprocess_chalice(_chalice_like(), SPECS)
    assert tf["resource"]["aws_lambda_event_source_mapping"]["notify-dynamodb-event-source"]["batch_size"] == 10
    assert fixes.account_literals([tf]) == []
    assert set(tf["resource"]["aws_lambda_function"]) == set(ALL_FNS)
    assert tf["resource"]["aws_api_gateway_rest_api"]["rest_api"]["lifecycle"] == {"create_before_destroy": True}
    # api_auth=link (the default): the emails link to the API's own URL unless archive_url states one,
    # on notify only (the API handler's environment naming its own API would be a cycle).
    functions = tf["resource"]["aws_lambda_function"]
    assert functions["notify"]["environment"]["variables"]["ARCHIVE_URL"] == (
        '${var.archive_url != "" ? var.archive_url : aws_api_gateway_deployment.rest_api.invoke_url}'
    )
    assert "aws_api_gateway" not in json.dumps(functions["api_handler"]["environment"])
    iam = fixes.postprocess_chalice(_chalice_like(), resource_specs(api_auth="iam"))
    assert iam["resource"]["aws_lambda_function"]["notify"]["environment"]["variables"]["ARCHIVE_URL"] == (
        "${var.archive_url}"
    )


# --- the generated package ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def package(terraform_package) -> Path:
    """What `python -m infra.terraform` writes, built once per session (tests/conftest.py)."""
    return terraform_package


@pytest.fixture(scope="module")
def documents(package) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(package.glob("*.tf.json"))}


def _resources(documents, rtype) -> dict:
    found = {}
    for document in documents.values():
        found.update(document.get("resource", {}).get(rtype, {}))
    return found


@pytest.mark.slow
def test_package_has_the_expected_files(package):
    names = sorted(p.name for p in package.iterdir())
    assert names == [
        ".terraform.lock.hcl",
        "chalice.tf.json",
        "deployment.zip",
        "infra.tf.json",
        "teardown.tf.json",
        "variables.tf.json",
        "versions.tf",
    ]  # no terraform.tfvars.json: the repository states no stage settings
    assert fixes.account_literals(json.loads(p.read_text()) for p in package.glob("*.tf.json")) == []


@pytest.mark.slow
def test_every_reference_resolves(documents):
    assert fixes.unresolved_references(documents.values()) == []
    # and the cross-file ones are really there (infra <-> chalice)
    text = json.dumps(documents["chalice.tf.json"])
    for expression in ("${aws_s3_bucket.data.bucket}", "${aws_dynamodb_table.analyses.stream_arn}"):
        assert expression in text


@pytest.mark.slow
def test_no_chalice_version_pins_remain_and_versions_accept_current_terraform(package, documents):
    assert all("terraform" not in d for d in documents.values())
    text = (package / "versions.tf").read_text()
    (required,) = re.findall(r'required_version\s*=\s*"([^"]+)"', text)
    (aws,) = re.findall(r'aws\s*=\s*\{[^}]*version\s*=\s*"([^"]+)"', text, re.S)
    assert 'source  = "hashicorp/aws"' in text
    for ok in ("1.5.0", "1.11.4", "1.13.0", "1.13.5"):
        assert satisfies(ok, required), ok
    assert not satisfies("1.4.7", required) and not satisfies("2.0.0", required)
    for ok in ("5.0.0", "5.100.0"):
        assert satisfies(ok, aws), ok
    # 6.0 removed aws_api_gateway_deployment's stage_name and invoke_url, which the package uses.
    assert not satisfies("4.67.0", aws) and not satisfies("6.0.0", aws)
    assert "stage_name" in json.dumps(_resources(documents, "aws_api_gateway_deployment"))
    assert re.search(r'backend "s3" \{\s*key = "stock-insights/dev/terraform.tfstate"\s*\}', text)
    assert "null_data_source" not in json.dumps(documents["chalice.tf.json"])


@pytest.mark.slow
def test_event_rules_carry_app_and_stage_and_match_only_this_stage(documents):
    rules = _resources(documents, "aws_cloudwatch_event_rule")
    assert rules and all(r["name"].startswith("stock-insights-dev-") for r in rules.values())
    (pattern,) = [json.loads(r["event_pattern"]) for r in rules.values()]
    assert pattern["source"] == ["stock-insights.ingestor"]
    assert pattern["detail"] == {"bucket": ["${aws_s3_bucket.data.bucket}"]}


@pytest.mark.slow
def test_bucket_notification_waits_for_the_permission(documents):
    (notification,) = _resources(documents, "aws_s3_bucket_notification").values()
    permissions = _resources(documents, "aws_lambda_permission")
    s3 = [f"aws_lambda_permission.{n}" for n, p in permissions.items() if p["principal"] == "s3.amazonaws.com"]
    assert s3 and set(s3) <= set(notification["depends_on"])
    assert notification["bucket"] == "${aws_s3_bucket.data.bucket}"


@pytest.mark.slow
def test_stream_mapping_handles_failures(documents):
    (esm,) = _resources(documents, "aws_lambda_event_source_mapping").values()
    assert esm["event_source_arn"] == "${aws_dynamodb_table.analyses.stream_arn}"
    assert esm["bisect_batch_on_function_error"] is True
    assert esm["maximum_retry_attempts"] == 5
    assert esm["function_response_types"] == ["ReportBatchItemFailures"]
    destination = esm["destination_config"]["on_failure"]["destination_arn"]
    assert re.fullmatch(r"\$\{aws_sqs_queue\.(\w+)\.arn\}", destination)
    queue = destination.split(".")[1]
    assert _resources(documents, "aws_sqs_queue")[queue]["name"] == "stock-insights-dev-notify-dlq"


@pytest.mark.slow
def test_functions_have_dead_letter_queues_references_and_encryption(documents):
    functions = _resources(documents, "aws_lambda_function")
    queues = _resources(documents, "aws_sqs_queue")
    assert set(functions) == set(ALL_FNS)
    assert "dead_letter_config" not in functions["api_handler"]
    for fn, function in functions.items():
        assert function["tracing_config"] == {"mode": "Active"}
        assert f"aws_iam_role_policy.{fn}_role" in function["depends_on"]
        if fn == "api_handler":
            continue
        queue = function["dead_letter_config"]["target_arn"].split(".")[1]
        assert queues[queue]["name"] == f"stock-insights-dev-{fn}-dlq"
        assert queues[queue]["kms_master_key_id"] == "${aws_kms_key.app.arn}"
        variables = function["environment"]["variables"]
        assert variables["BUCKET_NAME"] == "${aws_s3_bucket.data.bucket}"
        assert variables["TABLE_NAME"] == "${aws_dynamodb_table.analyses.name}"
        assert function["tracing_config"] == {"mode": "Active"}
        assert f"aws_iam_role_policy.{fn}_role" in function["depends_on"]


@pytest.mark.slow
def test_infra_resources_match_the_specs(documents):
    infra = documents["infra.tf.json"]["resource"]
    bucket = infra["aws_s3_bucket"]["data"]["bucket"]
    assert bucket.startswith('${var.bucket_name != "" ? var.bucket_name : join("-", ["stock-insights-dev-data", ')
    assert "data.aws_caller_identity.infra.account_id, data.aws_region.infra.name" in bucket
    flags = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    assert all(infra["aws_s3_bucket_public_access_block"]["data"][flag] is True for flag in flags)
    rules = {r["id"]: r for r in infra["aws_s3_bucket_lifecycle_configuration"]["data"]["rule"]}
    assert rules["expire-hash-markers"]["filter"] == {"prefix": "processed/hashes/"}
    assert rules["expire-hash-markers"]["expiration"] == {"days": 30}
    assert rules["expire-rejects"]["expiration"] == {"days": 90}
    assert rules["processed-to-standard-ia"]["transition"] == [{"days": 30, "storage_class": "STANDARD_IA"}]
    table = infra["aws_dynamodb_table"]["analyses"]
    assert table["hash_key"] == "analysis_id"
    assert table["attribute"] == [
        {"name": "analysis_id", "type": "S"},
        {"name": "kind", "type": "S"},
        {"name": "created_at", "type": "S"},
    ]
    assert table["global_secondary_index"] == [
        {"name": "kind-created_at", "hash_key": "kind", "range_key": "created_at", "projection_type": "ALL"}
    ]
    assert table["billing_mode"] == "PAY_PER_REQUEST" and table["stream_view_type"] == "NEW_IMAGE"
    assert table["point_in_time_recovery"] == {"enabled": True} and table["server_side_encryption"]["enabled"]
    alarms = infra["aws_cloudwatch_metric_alarm"]
    assert {a["alarm_name"] for a in alarms.values()} == {a["name"] for a in SPECS["alarms"]}
    assert all(a["alarm_actions"] == ["${aws_sns_topic.alarms.arn}"] for a in alarms.values())
    (unknown,) = [a for a in alarms.values() if a["metric_name"] == "EmailOutcomeUnknown"]
    assert unknown["namespace"] == "StockInsights" and unknown["threshold"] == 0
    # The sender's identity may be shared by stages: no stage's Terraform owns (and destroys) it.
    assert not [rtype for d in documents.values() for rtype in d.get("resource", {}) if "_ses" in rtype]
    groups = infra["aws_cloudwatch_log_group"]
    assert {g["name"] for g in groups.values()} == {f"/aws/lambda/stock-insights-dev-{fn}" for fn in FNS} | {
        "/aws/lambda/stock-insights-dev"
    }
    assert all(g["retention_in_days"] == "${var.log_retention_days}" for g in groups.values())
    assert infra["aws_sns_topic_subscription"]["alarm_email"]["endpoint"] == "${var.alarm_email}"


# --- checkov --------------------------------------------------------------------------------------


def accepted_checks() -> dict[str, str]:
    """`skip-check` entries of .checkov.yaml with the reason written after each one's `#`."""
    import yaml

    listed = yaml.safe_load(CHECKOV_CONFIG.read_text()).get("skip-check") or []
    reasons = dict(re.findall(r"^\s*-\s*(CKV2?_[A-Z0-9_]+)\s*#\s*(.*\S)\s*$", CHECKOV_CONFIG.read_text(), re.M))
    return {check: reasons.get(check, "") for check in listed}


def test_every_accepted_check_has_a_reason():
    accepted = accepted_checks()
    assert accepted, ".checkov.yaml lists no accepted checks"
    for check, reason in accepted.items():
        assert len(reason) > 30, f"{check}: give the reason after '#' on its line"
    # Accepted for the API handler alone (synchronous); the asynchronous functions' queues are checked
    # by test_functions_have_dead_letter_queues_references_and_encryption.
    assert "API handler" in accepted.get("CKV_AWS_116", "API handler")


def _checkov() -> Path:
    """checkov from its own venv (its pins clash with requirements-dev.txt), created on first use."""
    override = os.environ.get("CHECKOV")
    if override:
        return Path(override)
    return tool_venv("checkov", CHECKOV_REQUIREMENTS) / "checkov"


def _run_checkov(package: Path, *options: str) -> dict:
    proc = subprocess.run(
        [str(_checkov()), "-d", str(package), "-o", "json", *options],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=package.parent,  # not REPO: checkov reads a .checkov.yaml in its working directory by itself
    )
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    assert reports and all("results" in r for r in reports), f"checkov scanned nothing: {report}"
    failed = [c for r in reports for c in r["results"]["failed_checks"]]
    parsing_errors = [e for r in reports for e in r["results"].get("parsing_errors", [])]
    passed = sum(r["summary"]["passed"] for r in reports)
    return {"failed": failed, "parsing_errors": parsing_errors, "passed": passed}


@pytest.mark.slow
def test_checkov_passes_with_the_accepted_checks(package):
    result = _run_checkov(package, "--config-file", str(CHECKOV_CONFIG))
    assert result["parsing_errors"] == []
    assert [f"{c['check_id']} {c['resource']}" for c in result["failed"]] == []
    assert result["passed"] > 50


@pytest.mark.slow
def test_checkov_accepted_checks_still_fail_without_the_list(package):
    """Without the skip list exactly the accepted checks fail: none is stale, none is missing."""
    result = _run_checkov(package, "--framework", "terraform_json", "--skip-download")
    assert result["parsing_errors"] == []
    assert {c["check_id"] for c in result["failed"]} == set(accepted_checks())


# --- terraform itself ------------------------------------------------------------------------------


@pytest.mark.slow
def test_terraform_fmt_and_validate(package, tmp_path):
    terraform = shutil.which("terraform")
    if not terraform:
        pytest.skip("terraform is not installed here; buildspec_ci.yml and the GitHub workflow run fmt and validate")
    work = tmp_path / "tf"
    shutil.copytree(package, work)
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([terraform, *args], cwd=work, env=env, capture_output=True, text=True, timeout=600)

    fmt = run("fmt", "-check", "-diff")
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    plugins = terraform_plugin_dir()
    # -lockfile=readonly: the committed lock (version, constraints, checksums) is accepted as it is.
    init = run(
        "init",
        "-backend=false",
        "-input=false",
        "-no-color",
        "-lockfile=readonly",
        *([f"-plugin-dir={plugins}"] if plugins else []),
    )
    if init.returncode != 0:
        if not plugins and re.search(r"registry|provider packages|could not connect", init.stderr, re.I):
            pytest.skip("no AWS provider offline (set TF_PLUGIN_DIR); CI's buildspec runs terraform validate")
        pytest.fail(init.stdout + init.stderr)
    validate = run("validate", "-no-color")
    assert validate.returncode == 0, validate.stdout + validate.stderr


@pytest.mark.slow
def test_the_archive_api_is_in_the_package_behind_the_link_door_with_its_url_as_output(documents):
    chalice = documents["chalice.tf.json"]
    assert chalice["output"]["EndpointURL"] == {"value": "${aws_api_gateway_deployment.rest_api.invoke_url}"}
    rest_api = chalice["resource"]["aws_api_gateway_rest_api"]["rest_api"]
    assert rest_api["lifecycle"] == {"create_before_destroy": True}
    swagger = json.loads(chalice["locals"]["chalice_api_swagger"])
    assert set(swagger["paths"]) == {"/", "/reports", "/reports/{report_id}", "/symbols", "/symbols/{symbol}"}
    for path, methods in swagger["paths"].items():
        assert set(methods) == {"get"}, path
        # api_auth=link (the default): no authorizer at API Gateway; the app checks the signed link.
        assert "security" not in methods["get"], path
        assert (
            methods["get"]["x-amazon-apigateway-integration"]["uri"] == "${aws_lambda_function.api_handler.invoke_arn}"
        )
    assert not swagger.get("securityDefinitions")
    variables = chalice["resource"]["aws_lambda_function"]["api_handler"]["environment"]["variables"]
    assert variables["ARCHIVE_LINK_KEY_PARAMETER"] == "/stock-insights/dev/archive-link-key"
    key = documents["infra.tf.json"]["resource"]["aws_ssm_parameter"]["archive_link_key"]
    assert key["name"] == "/stock-insights/dev/archive-link-key" and key["type"] == "SecureString"
    assert key["key_id"] == "${aws_kms_key.app.arn}" and "value" not in key  # value_wo: never in the state
    assert key["value_wo"] == "${ephemeral.aws_secretsmanager_random_password.archive_link_key.random_password}"
    api_handler = chalice["resource"]["aws_lambda_function"]["api_handler"]
    assert api_handler["function_name"] == "stock-insights-dev" and "dead_letter_config" not in api_handler
    policy = json.loads(chalice["resource"]["aws_iam_role_policy"]["api_handler_role"]["policy"])
    assert policy == function_policies(REFS)["api_handler"]


def test_the_lock_file_pins_5_100_0_with_checksums_for_every_platform():
    """`h1:` is ours (linux_amd64, what `terraform init` computed from the offline mirror); the `zh:`
    are the SHA-256 of each platform's zip in the provider's SHA256SUMS (darwin_arm64 among them),
    so `terraform init` on a Mac verifies its download without a `providers lock` of its own."""
    lock = (REPO / "infra" / ".terraform.lock.hcl").read_text()
    assert 'version     = "5.100.0"' in lock and 'constraints = ">= 5.0.0, < 6.0.0"' in lock
    assert "h1:edXOJWE4ORX8Fm+dpVpICzMZJat4AX0VRCAy/xkcOc0=" in lock
    zh = re.findall(r'"zh:([0-9a-f]{64})"', lock)
    assert len(zh) >= 14 and len(set(zh)) == len(zh)


def _ci_artifact_files() -> tuple[list[str], list[str]]:
    import yaml

    buildspec = yaml.safe_load((REPO / "buildspec_ci.yml").read_text())["artifacts"]
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    (upload,) = [s for job in workflow["jobs"].values() for s in job["steps"] if "upload-artifact" in s.get("uses", "")]
    return buildspec["files"], upload["with"]["path"].split()


def test_the_lock_file_travels_with_the_ci_artifact():
    buildspec_files, workflow_paths = _ci_artifact_files()
    assert ".terraform.lock.hcl" in buildspec_files
    assert "build/terraform/dev/.terraform.lock.hcl" in workflow_paths


@pytest.mark.slow
def test_two_stages_package_side_by_side_each_with_its_own_state(package, tmp_path):
    """`make package STAGE=uat` beside dev's package: its own directory and state key, dev's untouched."""
    project = copy_project(tmp_path / "stock-insights")
    dev = project / "build" / "terraform" / "dev"
    shutil.copytree(package, dev)
    before = {p.name: p.read_bytes() for p in dev.iterdir()}
    proc = subprocess.run(
        [sys.executable, "-m", "infra.terraform", "--stage", "uat"],  # the Makefile's default --out
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    uat = project / "build" / "terraform" / "uat"
    assert {p.name: p.read_bytes() for p in dev.iterdir()} == before
    keys = {
        stage: re.findall(r'key = "([^"]+)"', (d / "versions.tf").read_text())
        for stage, d in (("dev", dev), ("uat", uat))
    }
    assert keys == {"dev": ["stock-insights/dev/terraform.tfstate"], "uat": ["stock-insights/uat/terraform.tfstate"]}
    names = json.dumps(json.loads((uat / "infra.tf.json").read_text()))
    assert "stock-insights-uat-analyses" in names and "stock-insights-dev-" not in names


@pytest.mark.parametrize(
    ("model_id", "foundation_model_arn"),
    [
        ("amazon.nova-lite-v1:0", "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0"),
        ("us.amazon.nova-lite-v1:0", "arn:aws:bedrock:us-*::foundation-model/amazon.nova-lite-v1:0"),
        ("eu.amazon.nova-pro-v1:0", "arn:aws:bedrock:eu-*::foundation-model/amazon.nova-pro-v1:0"),
        ("global.amazon.nova-2-lite-v1:0", "arn:aws:bedrock:*::foundation-model/amazon.nova-2-lite-v1:0"),
    ],
)
def test_analyze_may_invoke_the_configured_model_exactly(model_id, foundation_model_arn):
    specs = resource_specs("stock-insights", "dev", "123456789012", "eu-west-1", bedrock_model_id=model_id)
    assert specs["environment"]["BEDROCK_MODEL_ID"] == model_id
    policy = function_policies(literal_arns(specs, "123456789012", "eu-west-1"))["analyze"]
    (insights,) = [s for s in policy["Statement"] if s["Sid"] == "Insights"]
    assert insights["Resource"] == [
        foundation_model_arn,
        f"arn:aws:bedrock:eu-west-1:123456789012:inference-profile/{model_id}",
    ]
    with pytest.raises(ValueError, match="bedrock_model_id"):
        resource_specs(bedrock_model_id="Nova Lite")


@pytest.mark.slow
def test_terraform_computes_the_same_bedrock_grant_as_the_policy_files(tmp_path):
    """The package's locals, evaluated by Terraform, give infra.policies.bedrock_model_arns' ARNs."""
    terraform = shutil.which("terraform")
    if not terraform:
        pytest.skip("terraform is not installed here")
    document = terraform_resources(resource_specs())
    # Harness only: the region data source replaced by a literal, so no provider is needed.
    local_values = {
        name: value.replace("data.aws_region.infra.name", '"eu-west-1"') for name, value in document["locals"].items()
    }
    config = json.dumps({"locals": local_values, "variable": {"bedrock_model_id": {"type": "string"}}})
    for model_id in (
        "amazon.nova-lite-v1:0",
        "us.amazon.nova-lite-v1:0",
        "apac.amazon.nova-micro-v1:0",
        "global.x.y-v1:0",
    ):
        work = tmp_path / model_id.replace(":", "_")
        work.mkdir()
        (work / "main.tf.json").write_text(config)
        expression = (
            'jsonencode(["arn:aws:bedrock:${local.bedrock_model_regions}::foundation-model/'
            '${local.bedrock_foundation_model}"])'
        )
        proc = subprocess.run(
            [terraform, "console", f"-var=bedrock_model_id={model_id}"],
            cwd=work,
            input=expression,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        (expected, _) = bedrock_model_arns(model_id, "aws", "eu-west-1", "1")
        assert json.loads(json.loads(proc.stdout)) == [expected]


def test_role_names_carry_the_region():
    """IAM names are global: the same stage in two regions of one account gets two sets of roles."""
    tf = fixes.name_roles_by_region(_chalice_like(), "${data.aws_region.infra.name}")
    names = {r["name"] for r in tf["resource"]["aws_iam_role"].values()}
    assert names == {f"stock-insights-dev-{fn}-${{data.aws_region.infra.name}}" for fn in ALL_FNS}
    assert fixes.name_roles_by_region(tf, "${data.aws_region.infra.name}") == tf  # once
    long = _chalice_like()
    long["resource"]["aws_iam_role"]["ingest_role"]["name"] = "x" * 50
    with pytest.raises(fixes.PackageDrift, match="no room for the region"):
        fixes.name_roles_by_region(long, "${data.aws_region.infra.name}")


@pytest.mark.slow
def test_the_packages_roles_are_named_per_region(documents):
    roles = _resources(documents, "aws_iam_role")
    assert roles and all(r["name"].endswith("-${data.aws_region.infra.name}") for r in roles.values())


def test_the_deploy_paths_roles_stay_out_of_what_chalice_package_reads(tmp_path):
    """The bootstrap's per-region roles are for `chalice deploy`; the package makes its own."""
    from infra.terraform import packaging_copy

    project = tmp_path / "project"
    shutil.copytree(REPO / "chalicelib", project / "chalicelib")
    for name in ("app.py", "requirements.txt"):
        shutil.copyfile(REPO / name, project / name)
    shutil.copytree(REPO / ".chalice", project / ".chalice", ignore=shutil.ignore_patterns("deploy*"))
    config = json.loads((project / ".chalice" / "config.json").read_text())
    arn = "arn:aws:iam::111111111111:role/stock-insights-dev-ingest-eu-west-1"
    config["stages"]["dev"]["lambda_functions"]["ingest"].update(manage_iam_role=False, iam_role_arn=arn)
    (project / ".chalice" / "config.json").write_text(json.dumps(config))

    copy = packaging_copy(project, tmp_path / "copy")

    packaged = json.loads((copy / ".chalice" / "config.json").read_text())
    ingest = packaged["stages"]["dev"]["lambda_functions"]["ingest"]
    assert "iam_role_arn" not in ingest and "manage_iam_role" not in ingest
    assert ingest["iam_policy_file"] == "policy-dev-ingest.json"  # the rest of the config is as it was
    assert (copy / "app.py").read_text() == (REPO / "app.py").read_text()
    assert (copy / ".chalice" / "policy-dev-ingest.json").exists() and (copy / "chalicelib" / "config.py").exists()
    assert json.loads((project / ".chalice" / "config.json").read_text()) == config  # the checkout's own is untouched
