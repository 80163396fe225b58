"""`python -m infra.chalice_config [--check]`: `.chalice/` from `infra.resources`, never by hand.

For each stage it writes one IAM policy file per function (`policy-<stage>-<function>.json`,
from `function_policies`) and sets, in `.chalice/config.json`, each function's
`iam_policy_file` with `autogen_policy: false` (Chalice's own analysis reads only `app.py` and
misses what the handlers call) and the stage's resource names in its environment. `--check`
fails if the files on disk differ from what would be written (drift).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from infra.resources import FUNCTIONS, function_policies, literal_arns, resource_specs

CHALICE_DIR = Path(__file__).resolve().parent.parent / ".chalice"
STAGES = ("dev", "uat", "prod")


def policy_file_name(stage: str, function: str) -> str:
    return f"policy-{stage}-{function}.json"


def render(config: dict[str, Any], specs_by_stage: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, str]]:
    """(the new config.json, {policy file name: its text}) for these stages."""
    config = json.loads(json.dumps(config))
    files: dict[str, str] = {}
    for stage, specs in specs_by_stage.items():
        stage_config = config.setdefault("stages", {}).setdefault(stage, {"api_gateway_stage": "api"})
        environment = stage_config.setdefault("environment_variables", {})
        environment.update({k: specs["environment"][k] for k in ("BUCKET_NAME", "TABLE_NAME", "STAGE")})
        policies = function_policies(literal_arns(specs))
        functions = stage_config.setdefault("lambda_functions", {})
        for function in FUNCTIONS:
            name = policy_file_name(stage, function)
            files[name] = json.dumps(policies[function], indent=2) + "\n"
            entry = functions.setdefault(function, {})
            entry.update({"iam_policy_file": name, "autogen_policy": False})
    return config, files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.chalice_config", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if .chalice/ differs from infra.resources")
    args = parser.parse_args(argv)
    config_path = CHALICE_DIR / "config.json"
    current = json.loads(config_path.read_text())
    config, files = render(current, {stage: resource_specs(stage=stage) for stage in STAGES})
    wanted = {"config.json": json.dumps(config, indent=2) + "\n", **files}
    stale = [
        name
        for name, text in wanted.items()
        if not (CHALICE_DIR / name).exists() or (CHALICE_DIR / name).read_text() != text
    ]
    if args.check:
        if stale:
            print(f"out of date: {', '.join(stale)}; run python -m infra.chalice_config", file=sys.stderr)
            return 1
        return 0
    for name in stale:
        (CHALICE_DIR / name).write_text(wanted[name])
        print(f"wrote .chalice/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
