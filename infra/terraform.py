"""`python -m infra.terraform --stage dev [--out build/terraform/dev]`: a ready Terraform directory.

Runs `chalice package --pkg-format terraform`, fixes what its output gets wrong (each fix is one
function in `infra/terraform_fixes.py`), and writes beside it the app's other resources, from `infra.resources`:

    chalice.tf.json        functions, role, triggers (post-processed)
    deployment.zip         the Lambda package
    infra.tf.json          bucket, table, queues, log groups, alarm topic and alarms, key (not the SES identity)
    variables.tf.json      the stage's deploy settings as input variables (sender_email, recipient_emails, …)
    terraform.tfvars.json  their values, as `.chalice/settings-<stage>.json` states them (if it does)
    versions.tf            Terraform and provider versions, the S3 backend with the stage's state key
    .terraform.lock.hcl    the provider's pinned version and checksums (infra/.terraform.lock.hcl)

The files refer to each other by Terraform expressions (bucket, stream ARN, queue ARNs), so
each setting has one definition, and nothing read from an AWS account is literal: whatever the
bootstrap wrote into `.chalice/config.json` for `chalice deploy` (stream ARN, bucket) is replaced
by references. Chalice refuses `--merge-template` for Terraform, hence the post-processing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from infra.resources import add_settings_option, resource_specs
from infra.settings import load_stage_settings
from infra.terraform_fixes import PackageDrift, account_literals, postprocess_chalice, unresolved_references
from infra.terraform_resources import (
    teardown_variables,
    terraform_resources,
    terraform_variable_values,
    terraform_variables,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOCK_FILE = Path(__file__).resolve().parent / ".terraform.lock.hcl"
# Terraform 1.5+ (CI and CD pin 1.13) and AWS provider 5.x: 6.0 removed aws_api_gateway_deployment's
# stage_name and invoke_url, which Chalice's API resources use. Chalice pins < 1.4.0 and < 5.
REQUIRED_TERRAFORM = ">= 1.5.0, < 2.0.0"
REQUIRED_AWS_PROVIDER = ">= 5.0, < 6.0"


def state_key(app_name: str, stage: str) -> str:
    """The stage's Terraform state key: stages never share, so packaging one never plans over another."""
    return f"{app_name}/{stage}/terraform.tfstate"


def default_out(stage: str) -> Path:
    """`build/terraform/<stage>`: each stage's package in a directory of its own."""
    return Path("build") / "terraform" / stage


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

  # Each stage its own state: the key is this stage's; bucket and region are given at init
  # (terraform init -backend-config=bucket=... -backend-config=region=...).
  backend "s3" {{
    key = "{state_key(specs["app_name"], specs["stage"])}"
  }}
}}

provider "aws" {{
  default_tags {{
    tags = {{
{tags}
    }}
  }}
}}
"""


# --- the package ------------------------------------------------------------------------------


def chalice_executable() -> str:
    """The `chalice` beside this Python (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("chalice")
    return str(beside) if beside.exists() else shutil.which("chalice") or "chalice"


# What `chalice package` reads of a project: the app, its library, its requirements, its config.
_PACKAGED = ("app.py", "chalicelib", "vendor", "requirements.txt")
# The bootstrap's roles (`infra.roles`) belong to the `chalice deploy` path, in one account and
# region: the Terraform package makes its own (named per region by `terraform_fixes`).
_DEPLOY_PATH_ROLE_KEYS = ("manage_iam_role", "iam_role_arn")


def without_deploy_path_roles(config: dict[str, Any]) -> dict[str, Any]:
    """`config` without the role ARNs the bootstrap wrote for `chalice deploy`."""
    config = json.loads(json.dumps(config))
    scopes = [config, *config.get("stages", {}).values()]
    for scope in list(scopes):
        scopes.extend(scope.get("lambda_functions", {}).values())
    for scope in scopes:
        for key in _DEPLOY_PATH_ROLE_KEYS:
            scope.pop(key, None)
    return config


def packaging_copy(project_dir: Path, dest: Path) -> Path:
    """What `chalice package` reads of `project_dir`, in `dest`, with the config's deploy-path roles
    left out. Chalice's cache of built dependencies (`.chalice/deployments`) is shared, not copied."""
    dest.mkdir(parents=True)
    for name in _PACKAGED:
        source = project_dir / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copyfile(source, dest / name)
    chalice_dir = dest / ".chalice"
    chalice_dir.mkdir()
    for path in (project_dir / ".chalice").glob("*.json"):
        shutil.copyfile(path, chalice_dir / path.name)
    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    write_json(chalice_dir / "config.json", without_deploy_path_roles(config))
    cache = project_dir / ".chalice" / "deployments"
    cache.mkdir(exist_ok=True)
    (chalice_dir / "deployments").symlink_to(cache, target_is_directory=True)
    return dest


def run_chalice_package(project_dir: Path, stage: str, out_dir: Path) -> None:
    """`chalice package --pkg-format terraform` into `out_dir` (Chalice wants a region, not credentials)."""
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"}
    cmd = [chalice_executable(), "package", "--pkg-format", "terraform", "--stage", stage, str(out_dir)]
    with tempfile.TemporaryDirectory(prefix="chalice-project-") as tmp:
        copy = packaging_copy(project_dir, Path(tmp) / project_dir.name)
        proc = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True)
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
            "teardown.tf.json": teardown_variables(),
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
    parser.add_argument("--out", type=Path, help="output directory (default: build/terraform/<stage>)")
    add_settings_option(parser)
    args = parser.parse_args(argv)
    try:
        out = args.out or default_out(args.stage)
        written = build_package(args.stage, out.resolve(), **dict(args.settings))
    except (PackageDrift, TypeError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in written.values():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
