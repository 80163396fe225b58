"""The CI/CD definitions parse and contain the steps the pipeline depends on (they cannot run here)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

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
        _index(commands, r"terraform -chdir=build/terraform/dev fmt -check"),
        _index(commands, r"terraform -chdir=build/terraform/dev init -backend=false"),
        _index(commands, r"terraform -chdir=build/terraform/dev validate"),
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
    assert "-m infra.terraform --stage $(STAGE) --out build/terraform/$(STAGE)" in package
    assert re.search(r"^STAGE \?= dev$", makefile, re.M)  # make package STAGE=prod


def test_cd_buildspec_plans_to_a_file_keeps_it_and_applies_that_plan():
    spec = _load("buildspec_cd.yml")
    assert str(spec["version"]) == "0.2"
    commands = _phase_commands(spec, "install", "pre_build", "build")
    init = _index(
        commands,
        r"terraform -chdir=build/terraform/\$\{STAGE\} init .*-backend-config=\"bucket=\$\{TF_STATE_BUCKET\}\"",
    )
    plan = _index(commands, r"terraform -chdir=build/terraform/\$\{STAGE\} plan .*-out=tfplan")
    upload = _index(commands, r'aws s3 cp build/terraform/\$\{STAGE\}/tfplan "\$\{PLAN_PREFIX\}/tfplan"')
    apply = _index(commands, r"terraform -chdir=build/terraform/\$\{STAGE\} apply .*\btfplan$")
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
        _index(runs, r"terraform -chdir=build/terraform/dev fmt -check"),
        _index(runs, r"terraform -chdir=build/terraform/dev validate"),
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
    ahead = script.index("bash .github/scripts/uat-changes.sh origin/dev origin/uat")
    existing = script.index("gh pr list --base dev --head uat --state open")
    create = script.index("gh pr create --base dev --head uat")
    assert ahead < existing < create
    assert re.search(r"if ! changes=.*uat-changes\.sh.*; then\s+echo [^\n]*\n\s+exit 0", script)
    assert re.search(r'if \[ "\$open" -gt 0 \]; then.*?exit 0', script, re.S)
    env = next(s["env"] for s in steps if "run" in s)
    assert "GH_TOKEN" in env


def _git(repo, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@x"
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def _uat_changes(repo) -> tuple[int, str]:
    script = REPO / ".github" / "scripts" / "uat-changes.sh"
    proc = subprocess.run(["bash", str(script), "dev", "uat"], cwd=repo, capture_output=True, text=True)
    return proc.returncode, proc.stdout


def test_back_sync_counts_changes_not_merge_commits(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "dev")
    (repo / "app.py").write_text("one\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "start")
    _git(repo, "branch", "uat")
    assert _uat_changes(repo)[0] == 1

    # A promotion merged with a merge commit: uat is a commit "ahead", and holds nothing new.
    (repo / "app.py").write_text("two\n")
    _git(repo, "commit", "-qam", "feature")
    _git(repo, "checkout", "-q", "uat")
    _git(repo, "merge", "-q", "--no-ff", "-m", "promote dev", "dev")
    assert _git(repo, "rev-list", "--count", "dev..uat").strip() == "1"
    assert _uat_changes(repo)[0] == 1

    # A hotfix on uat: a pull request, naming the commit.
    (repo / "fix.txt").write_text("fix\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "hotfix on uat")
    code, body = _uat_changes(repo)
    assert code == 0 and "hotfix on uat" in body and "promote dev" not in body

    # Once dev has it (here cherry-picked, so uat keeps its own commit), nothing is owed again.
    _git(repo, "checkout", "-q", "dev")
    _git(repo, "cherry-pick", "uat")
    assert _uat_changes(repo)[0] == 1


def test_readme_docs_and_cd_use_one_terraform_state_key():
    cd = _phase_commands(_load("buildspec_cd.yml"), "pre_build")
    (key,) = re.findall(r'-backend-config="key=([^"]+)"', " ".join(cd))
    assert key == "stock-insights/${STAGE}/terraform.tfstate"
    for page in ("README.md", "docs/deploying.md"):
        keys = set(re.findall(r"-backend-config=key=(\S+)", (REPO / page).read_text()))
        assert keys == {key.replace("${STAGE}", "dev")}, page


def _requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\[=<>]", line)[0].lower())
    return names


def test_make_demo_installs_only_what_the_sandbox_needs_and_make_test_adds_the_rest():
    makefile = (REPO / "Makefile").read_text()
    demo_deps = re.search(r"^demo:(.*)$", makefile, re.M).group(1).split()
    assert demo_deps == ["$(DEMO_STAMP)"]
    demo_recipe = re.search(r"^\$\(DEMO_STAMP\):.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "-r requirements-demo.txt" in demo_recipe and "requirements-dev.txt" not in demo_recipe
    assert "--no-compile" in demo_recipe  # pip's byte-compiling of every module is most of a first demo's wait
    assert "$(STAMP)" in re.search(r"^test:(.*)$", makefile, re.M).group(1)
    assert re.search(r"^\$\(STAMP\): \$\(DEMO_STAMP\) requirements-dev.txt", makefile, re.M)
    assert re.search(r"^VENV \?=", makefile, re.M)  # a throwaway venv can be tried: make demo VENV=/tmp/v

    demo = _requirement_names(REPO / "requirements-demo.txt")
    assert {"chalice", "moto", "boto3"} <= demo
    assert not demo & {"pytest", "hypothesis", "ruff", "ta-lib", "pandas", "html5lib", "pillow"}
    assert "moto[server]" not in (REPO / "requirements-demo.txt").read_text()  # cfn-lint, sympy: tests only
    assert "-r requirements.txt" in (REPO / "requirements-demo.txt").read_text()
    assert "-r requirements-demo.txt" in (REPO / "requirements-dev.txt").read_text()
    assert "make test" in (REPO / ".ci" / "run").read_text()


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
