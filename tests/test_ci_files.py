"""The CI/CD definitions parse and contain the steps the pipeline depends on (they cannot run here)."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import REPO


def _load(relative: str) -> dict:
    return yaml.safe_load((REPO / relative).read_text())


def _phase_commands(buildspec: dict, *phases: str) -> list[str]:
    return [" ".join(str(c).split()) for phase in phases for c in buildspec["phases"][phase].get("commands", [])]


def _index(commands: list[str], pattern: str) -> int:
    for i, command in enumerate(commands):
        if re.search(pattern, command):
            return i
    pytest.fail(f"no command matches {pattern!r} in {commands}")


def _workflow_steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def _triggers(workflow: dict) -> dict:
    # YAML 1.1 reads a bare `on` key as True.
    return workflow.get("on", workflow.get(True)) or {}


def test_ci_buildspec_runs_lint_tests_package_and_terraform_checks():
    spec = _load("buildspec_ci.yml")
    assert str(spec["version"]) == "0.2"
    assert spec["phases"]["install"]["runtime-versions"]["python"] == "3.11"
    commands = _phase_commands(spec, "install", "pre_build", "build")
    order = [
        _index(commands, r"releases\.hashicorp\.com/terraform/\$\{TF_VERSION\}/.*linux_amd64\.zip"),
        _index(commands, r"sha256sum -c"),
        _index(commands, r"make lint|ruff check"),
        _index(commands, r"pytest .*--junitxml=reports/junit\.xml"),
        _index(commands, r"^make package$"),
        _index(commands, r"terraform -chdir=build/terraform fmt -check"),
        _index(commands, r"terraform -chdir=build/terraform init -backend=false"),
        _index(commands, r"terraform -chdir=build/terraform validate"),
    ]
    assert order == sorted(order)
    assert re.fullmatch(r"1\.13\.\d+", spec["env"]["variables"]["TF_VERSION"])
    (report,) = spec["reports"].values()
    assert report["files"] == ["reports/junit.xml"] and report["file-format"] == "JUNITXML"


def test_make_lint_runs_ruff():
    makefile = (REPO / "Makefile").read_text()
    lint = re.search(r"^lint:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "ruff check" in lint


def test_makefile_package_runs_the_terraform_generator():
    makefile = (REPO / "Makefile").read_text()
    package = re.search(r"^package:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "-m infra.terraform --stage dev --out build/terraform" in package


def test_cd_buildspec_plans_to_a_file_keeps_it_and_applies_that_plan():
    spec = _load("buildspec_cd.yml")
    assert str(spec["version"]) == "0.2"
    commands = _phase_commands(spec, "install", "pre_build", "build")
    init = _index(commands, r"terraform -chdir=build/terraform init .*-backend-config=\"bucket=\$\{TF_STATE_BUCKET\}\"")
    plan = _index(commands, r"terraform -chdir=build/terraform plan .*-out=tfplan")
    upload = _index(commands, r'aws s3 cp build/terraform/tfplan "\$\{PLAN_PREFIX\}/tfplan"')
    apply = _index(commands, r"terraform -chdir=build/terraform apply .*\btfplan$")
    assert _index(commands, r"-m infra\.terraform --stage \"\$\{STAGE\}\"") < init < plan < upload < apply
    assert plan < _index(commands, r'^PLAN_PREFIX="s3://\$\{ARTIFACTS_BUCKET\}/') < upload
    assert "-auto-approve" not in commands[apply]  # a saved plan needs no approval; never a fresh plan
    assert spec["phases"]["build"].get("on-failure") == "ABORT"


def test_github_ci_runs_the_same_checks_on_push_and_pull_request():
    workflow = _load(".github/workflows/ci.yml")
    assert {"push", "pull_request"} <= set(_triggers(workflow))
    steps = _workflow_steps(workflow)
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("hashicorp/setup-terraform@") for u in uses)
    setup = next(s for s in steps if s.get("uses", "").startswith("hashicorp/setup-terraform@"))
    assert str(setup["with"]["terraform_version"]).startswith("1.13")
    runs = [" ".join(s.get("run", "").split()) for s in steps]
    order = [
        _index(runs, r"make test"),
        _index(runs, r"make package"),
        _index(runs, r"terraform -chdir=build/terraform fmt -check"),
        _index(runs, r"terraform -chdir=build/terraform validate"),
    ]
    assert order == sorted(order)
    assert workflow["permissions"] == {"contents": "read"}


def test_back_sync_opens_a_pull_request_from_uat_to_dev_only_when_needed():
    workflow = _load(".github/workflows/back-sync.yml")
    triggers = _triggers(workflow)
    assert triggers["push"]["branches"] == ["uat"]
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
    steps = _workflow_steps(workflow)
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    script = "\n".join(s.get("run", "") for s in steps)
    ahead = script.index("git rev-list --count origin/dev..origin/uat")
    existing = script.index("gh pr list --base dev --head uat --state open")
    create = script.index("gh pr create --base dev --head uat")
    assert ahead < existing < create
    assert re.search(r'if \[ "\$ahead" -eq 0 \]; then.*?exit 0', script, re.S)
    assert re.search(r'if \[ "\$open" -gt 0 \]; then.*?exit 0', script, re.S)
    env = next(s["env"] for s in steps if "run" in s)
    assert "GH_TOKEN" in env


def test_every_ci_runs_the_chaos_suite_after_the_tests():
    makefile = (REPO / "Makefile").read_text()
    chaos = re.search(r"^chaos:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "-m sandbox.chaos" in chaos
    script = (REPO / ".ci" / "run").read_text()
    assert script.index("make test") < script.index("make chaos")
    runs = [" ".join(s.get("run", "").split()) for s in _workflow_steps(_load(".github/workflows/ci.yml"))]
    assert _index(runs, r"make test") < _index(runs, r"make chaos")
    build = _phase_commands(_load("buildspec_ci.yml"), "build")
    assert _index(build, r"pytest") < _index(build, r"make chaos")
