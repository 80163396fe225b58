"""`python -m infra.terraform --stage dev --out build/terraform`: a ready Terraform directory.

Runs `chalice package --pkg-format terraform`, fixes what its output gets wrong (each fix is one
function below), and writes beside it the app's other resources, from `infra.resources`:

    chalice.tf.json        functions, role, triggers (post-processed)
    deployment.zip         the Lambda package
    infra.tf.json          bucket, table, queues, log groups, alarm topic and alarms, key, SES identity
    variables.tf.json      the stage's deploy settings as input variables (sender_email, recipient_emails, …)
    terraform.tfvars.json  their values, as `.chalice/settings-<stage>.json` states them (if it does)
    versions.tf            Terraform and provider versions, the S3 backend (configured at init)
    .terraform.lock.hcl    the provider's pinned version and checksums (infra/.terraform.lock.hcl)

The files refer to each other by Terraform expressions (bucket, stream ARN, queue ARNs), so
each setting has one definition, and nothing read from an AWS account is literal: whatever the
bootstrap wrote into `.chalice/config.json` for `chalice deploy` (stream ARN, bucket) is replaced
by references. Chalice refuses `--merge-template` for Terraform, hence the post-processing.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from chalicelib.models import INGESTOR_SOURCE
from infra.policies import function_policies
from infra.resources import add_settings_option, resource_specs
from infra.settings import load_stage_settings
from infra.terraform_resources import (
    terraform_references,
    terraform_resources,
    terraform_variable_values,
    terraform_variables,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOCK_FILE = Path(__file__).resolve().parent / ".terraform.lock.hcl"
# Terraform 1.5+ (CI and CD pin 1.13) and AWS provider 5.x or 6.x. Chalice pins < 1.4.0 and < 5.
REQUIRED_TERRAFORM = ">= 1.5.0, < 2.0.0"
REQUIRED_AWS_PROVIDER = ">= 5.0, < 7.0"
_RULE_NAME_MAX = 64
# An ARN naming an account: nothing read from one account may reach the package.
_ACCOUNT_ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:")
# `aws_x.name` or `data.aws_x.name` in an expression; the look-behind keeps `data.aws_x.name`
# from also counting as a resource and `x.attr.more` from counting twice.
_REFERENCE = re.compile(r"(?<![\w.-])(data\.)?([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][A-Za-z0-9_-]*)")


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
    tf = drop_chalice_version_pins(tf)
    tf = drop_null_data_source(tf)
    tf = prefix_event_rule_names(tf, specs["prefix"])
    tf = scope_ingest_rules_to_bucket(tf, INGESTOR_SOURCE, refs["bucket_name"])
    tf = wire_bucket_notification(tf, refs)
    tf = reference_environment(tf, specs["environment"], refs["environment"])
    tf = create_log_groups_first(tf, specs["log_groups"])
    tf = add_dead_letter_queues(tf, specs["functions"], refs)
    tf = encrypt_environment(tf, refs)
    tf = enable_active_tracing(tf)
    tf = grant_app_access(tf, refs)
    tf = wire_stream_mapping(tf, specs["stream_mapping"], refs)
    tf = replace_rest_api_before_destroying_it(tf)
    return tf


def versions_tf(specs: dict[str, Any]) -> str:
    """`versions.tf`: the version constraints, the S3 backend and the app/stage tags on every resource.

    HCL, not JSON: checkov's terraform_json parser cannot read a `terraform` block, and
    `terraform fmt -check` then has a file to check.
    """
    width = max(len(key) for key in specs["tags"])
    tags = "\n".join(f"      {key.ljust(width)} = {json.dumps(value)}" for key, value in specs["tags"].items())
    return f"""# Written by infra/terraform.py. Chalice's own block (Terraform < 1.4.0, AWS provider < 5) is removed.
terraform {{
  required_version = "{REQUIRED_TERRAFORM}"

  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = "{REQUIRED_AWS_PROVIDER}"
    }}
  }}

  # Partial configuration, as buildspec_cd.yml and the README give it: terraform init
  #   -backend-config=bucket=... -backend-config=key={specs["app_name"]}/{specs["stage"]}/terraform.tfstate -backend-config=region=...
  backend "s3" {{}}
}}

provider "aws" {{
  default_tags {{
    tags = {{
{tags}
    }}
  }}
}}
"""


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
    for section in ("resource", "data", "output", "locals", "provider"):
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
        for rtype, items in document.get("data", {}).items():
            found.update(f"data.{rtype}.{name}" for name in items)
    return found


def account_literals(documents: Iterable[dict[str, Any]]) -> list[str]:
    """ARNs naming an account, literally, in any document (the package must deploy to any account)."""
    return sorted({text for document in documents for text in _strings(document) if _ACCOUNT_ARN.search(text)})


def unresolved_references(documents: Iterable[dict[str, Any]]) -> list[str]:
    """References in any document to a resource or data source that none of them defines."""
    documents = list(documents)
    used = set().union(*(_references(d) for d in documents))
    return sorted(used - defined_addresses(documents))


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


# --- the package ------------------------------------------------------------------------------


def chalice_executable() -> str:
    """The `chalice` beside this Python (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("chalice")
    return str(beside) if beside.exists() else shutil.which("chalice") or "chalice"


def run_chalice_package(project_dir: Path, stage: str, out_dir: Path) -> None:
    """`chalice package --pkg-format terraform` into `out_dir` (Chalice wants a region, not credentials)."""
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"}
    cmd = [chalice_executable(), "package", "--pkg-format", "terraform", "--stage", stage, str(out_dir)]
    proc = subprocess.run(cmd, cwd=project_dir, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def app_name(project_dir: Path) -> str:
    """The app name from `.chalice/config.json`."""
    return json.loads((project_dir / ".chalice" / "config.json").read_text())["app_name"]


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n")


def build_package(stage: str, out_dir: Path, project_dir: Path = PROJECT_DIR, **overrides: Any) -> dict[str, Path]:
    """Write the Terraform directory for `stage` to `out_dir`; returns the files written.

    Settings: the stage's settings file, then `overrides` (`--set`) on top."""
    stated = {**load_stage_settings(project_dir / ".chalice", stage), **overrides}
    specs = resource_specs(app_name(project_dir), stage, **stated)
    with tempfile.TemporaryDirectory(prefix="chalice-package-") as tmp:
        raw_dir = Path(tmp) / "package"
        run_chalice_package(project_dir, stage, raw_dir)
        chalice_doc = postprocess_chalice(json.loads((raw_dir / "chalice.tf.json").read_text()), specs)
        documents = {
            "chalice.tf.json": chalice_doc,
            "infra.tf.json": terraform_resources(specs),
            "variables.tf.json": terraform_variables(),
        }
        missing = unresolved_references(documents.values())
        if missing:
            raise PackageDrift(f"references to undefined resources: {missing}")
        leaked = account_literals(documents.values())
        if leaked:
            raise PackageDrift(f"literal ARNs of an account would reach the package: {leaked}")
        values = terraform_variable_values(stated)
        if values:
            documents["terraform.tfvars.json"] = values
        out_dir.mkdir(parents=True, exist_ok=True)
        generated = ("deployment.zip", "terraform.tfvars.json", LOCK_FILE.name)
        for stale in [*out_dir.glob("*.tf.json"), *out_dir.glob("*.tf"), *(out_dir / name for name in generated)]:
            stale.unlink(missing_ok=True)
        written = {}
        for name, document in documents.items():
            write_json(out_dir / name, document)
            written[name] = out_dir / name
        (out_dir / "versions.tf").write_text(versions_tf(specs))
        written["versions.tf"] = out_dir / "versions.tf"
        shutil.copyfile(LOCK_FILE, out_dir / LOCK_FILE.name)
        written[LOCK_FILE.name] = out_dir / LOCK_FILE.name
        shutil.copyfile(raw_dir / "deployment.zip", out_dir / "deployment.zip")
        written["deployment.zip"] = out_dir / "deployment.zip"
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.terraform", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="dev", help="Chalice stage (default: dev)")
    parser.add_argument("--out", type=Path, default=Path("build/terraform"), help="output directory")
    add_settings_option(parser)
    args = parser.parse_args(argv)
    try:
        written = build_package(args.stage, args.out.resolve(), **dict(args.settings))
    except (PackageDrift, TypeError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in written.values():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
