"""The functions' IAM roles on the `chalice deploy` path, named per region.

IAM names are global to an account, and Chalice names the role it manages `<app>-<stage>-<function>`
(chalice/deploy/appgraph.py, `_create_role_reference`): the same stage deployed to a second region
of one account would take over the first region's roles and overwrite their policies with the
second region's. So the bootstrap makes each function's role itself, as
`<app>-<stage>-<function>-<region>` (the names the Terraform package gives its roles), with the
stage's policy file as its one inline policy and Lambda's trust policy, and writes
`manage_iam_role: false` with the role's ARN into the stage's `.chalice/config.json`
(`infra.chalice_config.render`). `chalice delete` then leaves the roles alone: `infra.teardown`
removes them.

IAM role names are at most 64 characters (IAM quotas, read 2026-12-04:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html);
`infra.resources.resource_specs` refuses a stage whose names would not fit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib.aws import error_code
from infra.steps import unless_missing

# Chalice's own trust policy for the roles it manages (chalice.constants.LAMBDA_TRUST_POLICY).
LAMBDA_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
CREATED, UPDATED, UNCHANGED, DELETED, ABSENT = "created", "updated", "unchanged", "deleted", "absent"


def role_arn(partition: str, account: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{role_name}"


def ensure_roles(
    specs: dict[str, Any],
    client: Callable[[str], Any],
    report: Callable[[str, str, str], None],
    policies: dict[str, dict[str, Any]],
    account: str,
    partition: str = "aws",
) -> dict[str, str]:
    """Each function's role to its definition (trust policy, `policies[function]` inline, the
    stage's tags); returns {function: role ARN}."""
    iam = client("iam")
    arns = {}
    for function, spec in specs["functions"].items():
        name = spec["role_name"]
        arns[function] = role_arn(partition, account, name)
        found = unless_missing("NoSuchEntity", lambda name=name: iam.get_role(RoleName=name))
        if found is None:
            tags = [{"Key": key, "Value": value} for key, value in specs["tags"].items()]
            iam.create_role(
                RoleName=name,
                AssumeRolePolicyDocument=_json(LAMBDA_TRUST_POLICY),
                Description=f"{spec['function_name']} in this region ({specs['prefix']})",
                Tags=tags,
            )
            iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=_json(policies[function]))
            report("iam role", name, CREATED)
            continue
        changed = False
        if found["Role"].get("AssumeRolePolicyDocument") != LAMBDA_TRUST_POLICY:
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=_json(LAMBDA_TRUST_POLICY))
            changed = True
        current = unless_missing("NoSuchEntity", lambda name=name: iam.get_role_policy(RoleName=name, PolicyName=name))
        if (current or {}).get("PolicyDocument") != policies[function]:
            iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=_json(policies[function]))
            changed = True
        report("iam role", name, UPDATED if changed else UNCHANGED)
    return arns


def delete_roles(specs: dict[str, Any], client: Callable[[str], Any], report: Callable[[str, str, str], None]) -> None:
    """Delete each function's role with its inline policies (IAM refuses a role that still has
    any); a role already gone is reported `absent`."""
    iam = client("iam")
    for spec in specs["functions"].values():
        name = spec["role_name"]
        try:
            for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                iam.delete_role_policy(RoleName=name, PolicyName=policy)
            for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
                iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
            iam.delete_role(RoleName=name)
        except Exception as exc:
            if error_code(exc) != "NoSuchEntity":
                raise
            report("iam role", name, ABSENT)
            continue
        report("iam role", name, DELETED)


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document)
