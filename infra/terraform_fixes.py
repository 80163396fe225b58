"""The fixes `infra.terraform` makes to Chalice's `chalice.tf.json`, one function each, in order
(`postprocess_chalice`). Each fix says what Chalice's output gets wrong; `PackageDrift` is raised
when the output no longer looks the way a fix expects, rather than patching it blindly."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from chalicelib.models import INGESTOR_SOURCE
from infra.policies import function_policies
from infra.terraform_resources import terraform_references

# An ARN naming an account: nothing read from one account may reach the package.
_ACCOUNT_ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:")
# `aws_x.name` or `data.aws_x.name` in an expression; the look-behind keeps `data.aws_x.name`
# from also counting as a resource and `x.attr.more` from counting twice.
_REFERENCE = re.compile(r"(?<![\w.-])(data\.|ephemeral\.)?([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][A-Za-z0-9_-]*)")
_RULE_NAME_MAX = 64


class PackageDrift(ValueError):
    """Chalice's output disagrees with `infra.resources` (a name or value defined twice)."""


# --- the post-processing fixes ----------------------------------------------------------------


def drop_chalice_version_pins(tf: dict[str, Any]) -> dict[str, Any]:
    """Remove Chalice's `terraform` block (Terraform < 1.4.0, AWS provider < 5, the null provider).

    Terraform requires every block's constraints at once, so they cannot be overridden, only
    removed; `versions_tf()` states the ones that hold.
    """
    tf = copy.deepcopy(tf)
    tf.pop("terraform", None)
    return tf


def drop_null_data_source(tf: dict[str, Any]) -> dict[str, Any]:
    """Remove Chalice's unused `data.null_data_source` (deprecated; it alone needs the null provider)."""
    tf = copy.deepcopy(tf)
    data = tf.get("data", {})
    if "null_data_source" in data:
        rest = {k: v for k, v in tf.items() if k != "data"}
        rest["data"] = {k: v for k, v in data.items() if k != "null_data_source"}
        used = [ref for ref in _references(rest) if ref.startswith("data.null_data_source.")]
        if used:
            raise PackageDrift(f"data.null_data_source is referenced ({used}); cannot drop it")
        del data["null_data_source"]
    return tf


def prefix_event_rule_names(tf: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Give each EventBridge rule the `{app}-{stage}-` prefix (Chalice names them `analyze-event`,
    so two stages in one account would fight over one rule)."""
    tf = copy.deepcopy(tf)
    for local_name, rule in tf.get("resource", {}).get("aws_cloudwatch_event_rule", {}).items():
        name = rule.get("name", local_name)
        if not name.startswith(f"{prefix}-"):
            name = f"{prefix}-{name}"
        if len(name) > _RULE_NAME_MAX:
            raise PackageDrift(f"event rule name {name!r} is longer than {_RULE_NAME_MAX} characters")
        rule["name"] = name
    return tf


def scope_ingest_rules_to_bucket(tf: dict[str, Any], source: str, bucket_ref: str) -> dict[str, Any]:
    """Match only this stage's IngestorCompleted events: both stages publish the same source on
    the account's default bus, so without a `detail.bucket` filter each stage's analyze would
    also take the other stage's files. `app.py` filters on the bucket `chalice package` was given
    (a literal); the filter names the bucket Terraform creates instead."""
    tf = copy.deepcopy(tf)
    for local_name, rule in tf.get("resource", {}).get("aws_cloudwatch_event_rule", {}).items():
        if "event_pattern" not in rule:
            continue
        pattern = json.loads(rule["event_pattern"])
        if source not in pattern.get("source", []):
            continue
        detail = pattern.setdefault("detail", {})
        if len(detail.get("bucket", [bucket_ref])) != 1:
            raise PackageDrift(f"rule {local_name} filters more than one bucket: {detail['bucket']}")
        detail["bucket"] = [bucket_ref]
        rule["event_pattern"] = json.dumps(pattern)
    return tf


def wire_bucket_notification(tf: dict[str, Any], refs: dict[str, Any]) -> dict[str, Any]:
    """Point the S3 notification and its permission at the infra bucket (instead of the name
    `chalice package` was given), and make the notification wait for the permission (S3 checks it
    when the notification is created: the first apply otherwise races and fails)."""
    tf = copy.deepcopy(tf)
    resources = tf.get("resource", {})
    notifications = resources.get("aws_s3_bucket_notification", {})
    buckets = {n["bucket"] for n in notifications.values()} - {refs["bucket_name"]}
    if len(buckets) > 1:
        raise PackageDrift(f"Chalice wired more than one bucket: {sorted(buckets)}")
    literal_arns = {rf"^arn:[^:]*:s3:::{re.escape(bucket)}$" for bucket in buckets}
    s3_permissions = []
    for local_name, permission in resources.get("aws_lambda_permission", {}).items():
        if permission.get("principal") != "s3.amazonaws.com":
            continue
        source = permission.get("source_arn", "")
        if source != refs["bucket_arn"] and not any(re.match(arn, source) for arn in literal_arns):
            raise PackageDrift(f"permission {local_name} is for {source}, not the notified bucket {sorted(buckets)}")
        permission["source_arn"] = refs["bucket_arn"]
        s3_permissions.append(f"aws_lambda_permission.{local_name}")
    for local_name, notification in notifications.items():
        if not s3_permissions:
            raise PackageDrift(f"bucket notification {local_name} has no S3 Lambda permission to wait for")
        notification["bucket"] = refs["bucket_name"]
        notification["depends_on"] = sorted(set(notification.get("depends_on", [])) | set(s3_permissions))
    if notifications:
        # Chalice names the resource after the bucket it was given (an account's, after a
        # bootstrap): a stable name keeps the address, and the state, the same for every account.
        (notification,) = notifications.values()
        resources["aws_s3_bucket_notification"] = {"data": notification}
    return tf


def wire_stream_mapping(tf: dict[str, Any], mapping: dict[str, Any], refs: dict[str, Any]) -> dict[str, Any]:
    """The notify stream mapping: the infra table's stream, partial-batch failures, bisecting,
    bounded retries and an on-failure SQS destination (Chalice sets none of them)."""
    tf = copy.deepcopy(tf)
    resources = tf.get("resource", {})
    function_ref = f"${{aws_lambda_function.{mapping['function']}.arn}}"
    found = False
    for esm in resources.get("aws_lambda_event_source_mapping", {}).values():
        if esm.get("function_name") != function_ref or "starting_position" not in esm:
            continue  # an SQS/Kinesis mapping of another function: not the analyses stream
        found = True
        esm["event_source_arn"] = refs["stream_arn"]
        esm["function_response_types"] = list(mapping["function_response_types"])
        esm["bisect_batch_on_function_error"] = mapping["bisect_batch_on_function_error"]
        esm["maximum_retry_attempts"] = mapping["maximum_retry_attempts"]
        esm["filter_criteria"] = {"filter": [{"pattern": json.dumps(mapping["filter_pattern"], sort_keys=True)}]}
        esm["destination_config"] = {"on_failure": {"destination_arn": refs["dlq_arns"][mapping["on_failure_queue"]]}}
        # Lambda checks the role can read the stream and write the destination when it creates
        # the mapping, so the mapping waits for the policies.
        esm["depends_on"] = sorted(set(esm.get("depends_on", [])) | set(_role_policy_addresses(tf)))
    if not found:
        raise PackageDrift(f"no stream mapping for aws_lambda_function.{mapping['function']}")
    return tf


def reference_environment(tf: dict[str, Any], environment: dict[str, Any], refs: dict[str, str]) -> dict[str, Any]:
    """Replace the functions' environment variables that name resources or deploy settings with
    references to the resources and variables that define them. A literal that disagrees with the
    stage's settings is drift (`.chalice/config.json` not rendered from them); literals read from an
    account (bucket, stream ARN, written by the bootstrap) are replaced whatever they say."""
    tf = copy.deepcopy(tf)
    for local_name, function in _functions(tf):
        variables = function.setdefault("environment", {}).setdefault("variables", {})
        for name, ref in refs.items():
            current, expected = variables.get(name), environment.get(name)
            if expected is not None and current not in (None, expected, ref):
                raise PackageDrift(
                    f"{local_name}: {name}={current!r} in .chalice/config.json, but the stage's settings say "
                    f"{expected!r}; run python -m infra.chalice_config"
                )
            variables[name] = ref
    return tf


def link_emails_to_the_archive(tf: dict[str, Any], link: dict[str, Any] | None) -> dict[str, Any]:
    """api_auth=link: notify's ARCHIVE_URL is the `archive_url` variable, else the deployed API's
    own URL. Notify's only: the API handler's environment naming its own API would be a cycle."""
    if not link:
        return tf
    tf = copy.deepcopy(tf)
    functions = dict(_functions(tf))
    if "notify" not in functions or "rest_api" not in tf["resource"].get("aws_api_gateway_deployment", {}):
        raise PackageDrift("no notify function or no aws_api_gateway_deployment.rest_api to link the emails to")
    variables = functions["notify"].setdefault("environment", {}).setdefault("variables", {})
    variables["ARCHIVE_URL"] = (
        '${var.archive_url != "" ? var.archive_url : aws_api_gateway_deployment.rest_api.invoke_url}'
    )
    return tf


def create_log_groups_first(tf: dict[str, Any], log_groups: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each function waits for its log group (`infra.tf.json`, with the retention), so Lambda
    never creates one that keeps logs forever."""
    tf = copy.deepcopy(tf)
    for local_name, function in _functions(tf):
        if local_name not in log_groups:
            raise PackageDrift(f"no log group for function {local_name!r} in infra.resources")
        function["depends_on"] = sorted(
            set(function.get("depends_on", [])) | {f"aws_cloudwatch_log_group.{local_name}"}
        )
    return tf


def check_function_names(tf: dict[str, Any], functions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Chalice's function names must be the ones the alarms watch (`infra.resources`)."""
    chalice = {local_name: function.get("function_name") for local_name, function in _functions(tf)}
    expected = {fn: spec["function_name"] for fn, spec in functions.items()}
    if chalice != expected:
        raise PackageDrift(f"Chalice's functions {chalice} are not the ones infra.resources describes {expected}")
    return copy.deepcopy(tf)


# Lambda's python3.11 runtime was deprecated on 2026-06-30: creating such a function is blocked since
# 2026-07-31 and updating one since 2026-08-31; python3.13 is supported until 2029-06-30 (AWS Lambda
# developer guide, "Lambda runtimes", read 2026-12-04). Chalice takes the runtime from the Python
# it runs under, so a package made from another virtualenv would quietly carry another runtime.
LAMBDA_RUNTIME = "python3.13"


def check_runtime(tf: dict[str, Any]) -> dict[str, Any]:
    """Every function runs on `LAMBDA_RUNTIME`; a package built under another Python is refused."""
    wrong = {local_name: function.get("runtime") for local_name, function in _functions(tf)}
    wrong = {name: runtime for name, runtime in wrong.items() if runtime != LAMBDA_RUNTIME}
    if wrong:
        raise PackageDrift(
            f"functions {wrong} would run on another runtime than {LAMBDA_RUNTIME}: "
            "package from the project's Python 3.13 virtualenv (make package)"
        )
    return copy.deepcopy(tf)


def add_dead_letter_queues(
    tf: dict[str, Any], functions: dict[str, dict[str, Any]], refs: dict[str, Any]
) -> dict[str, Any]:
    """Send each function's failed asynchronous invocations (S3, EventBridge) to its own SQS queue
    (every function but the API handler, which has none)."""
    tf = copy.deepcopy(tf)
    for local_name, function in _functions(tf):
        queue = functions[local_name]["dead_letter_queue"]
        if queue is None:
            # The API handler: API Gateway invokes it synchronously, so a failure is answered to its
            # caller and never queued (checkov's CKV_AWS_116 is accepted for it in .checkov.yaml).
            continue
        function["dead_letter_config"] = {"target_arn": refs["dlq_arns"][queue]}
    return tf


def encrypt_environment(tf: dict[str, Any], refs: dict[str, Any]) -> dict[str, Any]:
    """Encrypt the functions' environment variables with the app's key (the role may decrypt with it)."""
    tf = copy.deepcopy(tf)
    for _, function in _functions(tf):
        function["kms_key_arn"] = refs["kms_key_arn"]
    return tf


def enable_active_tracing(tf: dict[str, Any]) -> dict[str, Any]:
    """X-Ray active tracing on every function (the role gets the write permission in `grant_app_access`)."""
    tf = copy.deepcopy(tf)
    for _, function in _functions(tf):
        function["tracing_config"] = {"mode": "Active"}
    return tf


def grant_app_access(tf: dict[str, Any], refs: dict[str, Any]) -> dict[str, Any]:
    """Give each function's own role its own policy (`function_policies`), with references instead
    of the policy file's literal ARNs, and make the functions wait for it (Lambda checks the DLQ
    permission when it creates a function)."""
    tf = copy.deepcopy(tf)
    policies = function_policies(refs)
    role_policies = tf.setdefault("resource", {}).setdefault("aws_iam_role_policy", {})
    for local_name, function in _functions(tf):
        if local_name not in policies:
            raise PackageDrift(f"no policy for function {local_name!r} in infra.resources.function_policies")
        role = _role_of(local_name, function)
        attached = [
            name for name, policy in role_policies.items() if policy.get("role") == f"${{aws_iam_role.{role}.id}}"
        ]
        if len(attached) != 1:
            raise PackageDrift(f"{local_name}: expected Chalice's one policy on role {role}, found {attached}")
        role_policies[attached[0]]["policy"] = json.dumps(policies[local_name])
    for _, function in _functions(tf):
        function["depends_on"] = sorted(set(function.get("depends_on", [])) | set(_role_policy_addresses(tf)))
    return tf


_ROLE_NAME_MAX = 64
_LONGEST_REGION = len("ap-southeast-2")


def name_roles_by_region(tf: dict[str, Any], region_ref: str) -> dict[str, Any]:
    """Add the region to each IAM role's name: IAM names are global to the account, Chalice names a
    role `<app>-<stage>[-<function>]`, so the same stage in two regions of one account would share
    (and overwrite) its roles."""
    tf = copy.deepcopy(tf)
    for local_name, role in tf.get("resource", {}).get("aws_iam_role", {}).items():
        name = role.get("name")
        if not name:
            raise PackageDrift(f"role {local_name} has no name")
        if not name.endswith(f"-{region_ref}"):
            if len(name) + 1 + _LONGEST_REGION > _ROLE_NAME_MAX:
                raise PackageDrift(f"role name {name!r} leaves no room for the region ({_ROLE_NAME_MAX} characters)")
            role["name"] = f"{name}-{region_ref}"
    return tf


def replace_rest_api_before_destroying_it(tf: dict[str, Any]) -> dict[str, Any]:
    """The archive's REST API: a replacement (a renamed API) is created before the old one goes,
    as Chalice already does for its deployment, so the endpoint is never missing mid-apply."""
    tf = copy.deepcopy(tf)
    for rest_api in tf.get("resource", {}).get("aws_api_gateway_rest_api", {}).values():
        rest_api["lifecycle"] = {**rest_api.get("lifecycle", {}), "create_before_destroy": True}
    return tf


def postprocess_chalice(tf: dict[str, Any], specs: dict[str, Any]) -> dict[str, Any]:
    """All the fixes, in order, to Chalice's `chalice.tf.json`."""
    refs = terraform_references(specs)
    tf = check_function_names(tf, specs["functions"])
    tf = check_runtime(tf)
    tf = drop_chalice_version_pins(tf)
    tf = drop_null_data_source(tf)
    tf = prefix_event_rule_names(tf, specs["prefix"])
    tf = scope_ingest_rules_to_bucket(tf, INGESTOR_SOURCE, refs["bucket_name"])
    tf = wire_bucket_notification(tf, refs)
    tf = reference_environment(tf, specs["environment"], refs["environment"])
    tf = link_emails_to_the_archive(tf, specs["archive_link_key"])
    tf = create_log_groups_first(tf, specs["log_groups"])
    tf = add_dead_letter_queues(tf, specs["functions"], refs)
    tf = encrypt_environment(tf, refs)
    tf = enable_active_tracing(tf)
    tf = grant_app_access(tf, refs)
    tf = wire_stream_mapping(tf, specs["stream_mapping"], refs)
    tf = replace_rest_api_before_destroying_it(tf)
    tf = name_roles_by_region(tf, refs["region"])
    return tf


def _functions(tf: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from tf.get("resource", {}).get("aws_lambda_function", {}).items()


def _role_of(local_name: str, function: dict[str, Any]) -> str:
    match = re.fullmatch(r"\$\{aws_iam_role\.([A-Za-z0-9_-]+)\.arn\}", function.get("role", ""))
    if not match:
        raise PackageDrift(
            f"{local_name} uses a role Chalice does not manage ({function.get('role')}); grant it yourself"
        )
    return match.group(1)


def _role_policy_addresses(tf: dict[str, Any]) -> list[str]:
    resources = tf.get("resource", {})
    return [
        f"{rtype}.{name}"
        for rtype in ("aws_iam_role_policy", "aws_iam_role_policy_attachment")
        for name in resources.get(rtype, {})
    ]


# --- references ---------------------------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _references(document: dict[str, Any]) -> set[str]:
    """Addresses (`aws_x.name`, `data.aws_x.name`) used in expressions and `depends_on`."""
    found = set()
    for section in ("resource", "data", "ephemeral", "output", "locals", "provider"):
        for text in _strings(document.get(section, {})):
            if "${" not in text and not _REFERENCE.fullmatch(text):
                continue  # a literal, unless it is a bare depends_on address
            for match in _REFERENCE.finditer(text):
                data, rtype, name = match.groups()
                found.add(f"{data or ''}{rtype}.{name}")
    return found


def defined_addresses(documents: Iterable[dict[str, Any]]) -> set[str]:
    """Every resource and data source the documents define, as Terraform addresses."""
    found = set()
    for document in documents:
        for rtype, items in document.get("resource", {}).items():
            found.update(f"{rtype}.{name}" for name in items)
        for section in ("data", "ephemeral"):
            for rtype, items in document.get(section, {}).items():
                found.update(f"{section}.{rtype}.{name}" for name in items)
    return found


def account_literals(documents: Iterable[dict[str, Any]]) -> list[str]:
    """ARNs naming an account, literally, in any document (the package must deploy to any account)."""
    return sorted({text for document in documents for text in _strings(document) if _ACCOUNT_ARN.search(text)})


def unresolved_references(documents: Iterable[dict[str, Any]]) -> list[str]:
    """References in any document to a resource or data source that none of them defines."""
    documents = list(documents)
    used = set().union(*(_references(d) for d in documents))
    return sorted(used - defined_addresses(documents))
