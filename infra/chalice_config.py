"""`python -m infra.chalice_config [--check]`: `.chalice/` from `infra.resources`, never by hand.

For each stage it reads the stage's settings (`.chalice/settings-<stage>.json`, `infra.settings`)
and writes one IAM policy file per function (`policy-<stage>-<function>.json`, from
`function_policies`: notify may send only as the configured sender) and, in `.chalice/config.json`,
each function's `iam_policy_file` with `autogen_policy: false` (Chalice's own analysis reads only
`app.py` and misses what the handlers call), once the bootstrap has made the roles (`infra.roles`,
named per region) `manage_iam_role: false` with each role's ARN, the stage's environment: resource names, sender,
recipients, insights provider, and each function's memory (`FUNCTION_MEMORY_MB`, chosen by
measurement: docs/cost.md). `--check` fails if the files on disk differ from what would be
written (drift). The bootstrap runs the same rendering for its stage once it knows the account.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.config import SETTINGS_TABLE, Settings
from infra.policies import function_policies, literal_arns
from infra.resources import FUNCTION_MEMORY_MB, resource_specs
from infra.settings import load_stage_settings

CHALICE_DIR = Path(__file__).resolve().parent.parent / ".chalice"
STAGES = ("dev", "uat", "prod")
# A setting left at the app's own default (chalicelib.config) needs no environment variable.
_APP_DEFAULTS = {
    env: ",".join(value) if isinstance(value, tuple) else str(value)
    for env, value in ((env, getattr(Settings(), name)) for name, (env, _) in SETTINGS_TABLE.items())
    if env not in ("BUCKET_NAME", "TABLE_NAME", "STAGE")  # names the deploy always states
}


def policy_file_name(stage: str, function: str) -> str:
    return f"policy-{stage}-{function}.json"


def stage_environment(config: dict[str, Any], stage: str) -> dict[str, str]:
    return config.get("stages", {}).get(stage, {}).get("environment_variables", {})


def stage_specs(
    chalice_dir: Path, config: dict[str, Any], stage: str, account: str | None = None, region: str | None = None
) -> dict[str, Any]:
    """The stage's specs from its settings file. Without an account (offline), the bucket is the
    one the settings name, else the one the bootstrap wrote into the stage's environment, else
    unknown (the policies then name the stage's buckets by prefix)."""
    stated = load_stage_settings(chalice_dir, stage)
    if account is None and not stated.get("bucket_name"):
        bootstrapped = stage_environment(config, stage).get("BUCKET_NAME")
        if bootstrapped:
            stated = {**stated, "bucket_name": bootstrapped}
    return resource_specs(config["app_name"], stage, account, region, **stated)


def stage_policies(specs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{function: its IAM policy} as the policy files hold it (any account and region of the stage)."""
    return function_policies(literal_arns(specs))


def deployed_api_url(chalice_dir: Path, stage: str) -> str | None:
    """The archive API's URL as `chalice deploy` recorded it (`.chalice/deployed/<stage>.json`),
    if the stage has been deployed from this checkout."""
    try:
        deployed = json.loads((chalice_dir / "deployed" / f"{stage}.json").read_text())
    except (OSError, ValueError):
        return None
    urls = [r.get("rest_api_url") for r in deployed.get("resources", []) if r.get("resource_type") == "rest_api"]
    return next((url for url in urls if url), None)


def render(
    config: dict[str, Any],
    specs_by_stage: dict[str, dict[str, Any]],
    role_arns: dict[str, dict[str, str]] | None = None,
    api_urls: dict[str, str | None] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """(the new config.json, {policy file name: its text}) for these stages. `role_arns`
    ({stage: {function: ARN}}, from the bootstrap): the roles `chalice deploy` is to use instead of
    making its own (`infra.roles`); a stage without them keeps what its config says. `api_urls`
    ({stage: the deployed API's URL}, `deployed_api_url`): under api_auth=link without a stated
    archive_url, notify's ARCHIVE_URL (notify's alone, like the Terraform package's)."""
    config = json.loads(json.dumps(config))
    role_arns = role_arns or {}
    api_urls = api_urls or {}
    # Each function's memory, for every stage (chosen by measurement: docs/cost.md).
    for function, memory in FUNCTION_MEMORY_MB.items():
        config.setdefault("lambda_functions", {}).setdefault(function, {})["lambda_memory_size"] = memory
    files: dict[str, str] = {}
    for stage, specs in specs_by_stage.items():
        stage_config = config.setdefault("stages", {}).setdefault(stage, {"api_gateway_stage": "api"})
        stage_config["xray"] = True  # active tracing, as the Terraform package has (the roles may write)
        environment = stage_config.setdefault("environment_variables", {})
        for name, value in specs["environment"].items():
            if value is None or _APP_DEFAULTS.get(name) == value:
                environment.pop(name, None)  # the app's own default applies
            else:
                environment[name] = value
        policies = stage_policies(specs)
        functions = stage_config.setdefault("lambda_functions", {})
        if "fetch" not in specs["functions"]:
            functions.pop("fetch", None)  # no symbols: no fetch function to configure
        for function in specs["functions"]:
            name = policy_file_name(stage, function)
            files[name] = json.dumps(policies[function], indent=2) + "\n"
            entry = functions.setdefault(function, {})
            entry.pop("lambda_memory_size", None)  # one size for every stage, set above
            entry.update({"iam_policy_file": name, "autogen_policy": False})
            if function in role_arns.get(stage, {}):
                entry.update({"manage_iam_role": False, "iam_role_arn": role_arns[stage][function]})
        link, url = specs.get("archive_link_key"), api_urls.get(stage)
        notify_environment = functions.setdefault("notify", {}).setdefault("environment_variables", {})
        if link and link["url_from_api"] and url:
            notify_environment["ARCHIVE_URL"] = url
        else:
            notify_environment.pop("ARCHIVE_URL", None)
        if not notify_environment:
            functions["notify"].pop("environment_variables")
    return config, files


def stale_files(chalice_dir: Path, config: dict[str, Any], files: dict[str, str]) -> dict[str, str]:
    """{name: wanted text} of the files under `chalice_dir` that differ from the rendering."""
    wanted = {"config.json": json.dumps(config, indent=2) + "\n", **files}
    return {
        name: text
        for name, text in wanted.items()
        if not (chalice_dir / name).exists() or (chalice_dir / name).read_text() != text
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.chalice_config", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if .chalice/ differs from infra.resources")
    parser.add_argument("--chalice-dir", type=Path, default=CHALICE_DIR)
    args = parser.parse_args(argv)
    current = json.loads((args.chalice_dir / "config.json").read_text())
    try:
        specs = {stage: stage_specs(args.chalice_dir, current, stage) for stage in STAGES}
    except (TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    api_urls = {stage: deployed_api_url(args.chalice_dir, stage) for stage in STAGES}
    stale = stale_files(args.chalice_dir, *render(current, specs, api_urls=api_urls))
    if args.check:
        if stale:
            print(f"out of date: {', '.join(stale)}; run python -m infra.chalice_config", file=sys.stderr)
            return 1
        return 0
    for name, text in stale.items():
        (args.chalice_dir / name).write_text(text)
        print(f"wrote .chalice/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
