"""The CI/CD definitions parse and contain the steps the pipeline depends on (they cannot run here)."""

from __future__ import annotations

import os
import re
import shutil
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
    assert spec["phases"]["install"]["runtime-versions"]["python"] == "3.13"
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


CD_IMAGE = "aws/codebuild/amazonlinux-x86_64-standard:5.0"


def test_cd_plan_buildspec_plans_to_a_file_and_keeps_it_without_applying():
    spec = _load("buildspec_cd_plan.yml")
    assert str(spec["version"]) == "0.2"
    assert spec["phases"]["install"]["runtime-versions"]["python"] == "3.13"
    assert CD_IMAGE in (REPO / "buildspec_cd_plan.yml").read_text()
    commands = _phase_commands(spec, "install", "pre_build", "build")
    package = _index(commands, r'-m infra\.terraform --stage "\$\{STAGE\}" --out "\$\{PKG_DIR\}/\$\{STAGE\}"')
    init = _index(
        commands, r'terraform -chdir="\$\{PKG_DIR\}/\$\{STAGE\}" init .*-backend-config="bucket=\$\{TF_STATE_BUCKET\}"'
    )
    plan = _index(commands, r'terraform -chdir="\$\{PKG_DIR\}/\$\{STAGE\}" plan .*-out=tfplan')
    bundle = _index(commands, r"tar -C .*-czf /tmp/tfplan\.tgz")
    digest = _index(commands, r"^PLAN_SHA256=.*sha256sum /tmp/tfplan\.tgz")
    upload = _index(commands, r'aws s3 cp /tmp/tfplan\.tgz "\$\{PLAN_URI\}"')
    assert package < init < plan < bundle < digest < upload
    assert "encrypt=true" in commands[init] and "use_lockfile=true" in commands[init]
    assert not [c for c in commands if re.search(r"terraform .*\bapply\b", c)]  # approval comes first
    assert set(spec["env"]["exported-variables"]) == {"PLAN_URI", "PLAN_SHA256"}
    assert spec["env"]["variables"]["PKG_DIR"] == "build/terraform"
    assert spec["phases"]["build"].get("on-failure") == "ABORT"


def test_cd_apply_buildspec_applies_only_the_reviewed_plan():
    spec = _load("buildspec_cd_apply.yml")
    assert spec["phases"]["install"]["runtime-versions"]["python"] == "3.13"
    commands = _phase_commands(spec, "install", "pre_build", "build")
    download = _index(commands, r'aws s3 cp "\$\{PLAN_URI\}" /tmp/tfplan\.tgz')
    check = _index(commands, r'echo "\$\{EXPECTED_PLAN_SHA256\} /tmp/tfplan\.tgz" \| sha256sum -c -')
    extract = _index(commands, r"tar -C .* -xzf /tmp/tfplan\.tgz")
    init = _index(commands, r'terraform -chdir="\$\{PKG_DIR\}/\$\{STAGE\}" init .*use_lockfile=true')
    apply = _index(commands, r'terraform -chdir="\$\{PKG_DIR\}/\$\{STAGE\}" apply -input=false tfplan$')
    assert download < check < extract < init < apply
    assert not [c for c in commands if re.search(r"terraform .* plan ", c)]  # never a fresh plan
    assert "-auto-approve" not in commands[apply]
    assert spec["phases"]["pre_build"].get("on-failure") == "ABORT"


@pytest.mark.parametrize("tampered", [False, True])
def test_cd_apply_refuses_a_bundle_other_than_the_reviewed_one(tmp_path, tampered):
    """The plan's digest command and the apply's check, run as the buildspecs write them."""
    plan_cmds = _phase_commands(_load("buildspec_cd_plan.yml"), "build")
    apply_cmds = _phase_commands(_load("buildspec_cd_apply.yml"), "pre_build")
    digest = plan_cmds[_index(plan_cmds, r"^PLAN_SHA256=")]
    check = apply_cmds[_index(apply_cmds, r"sha256sum -c -")]
    bundle = tmp_path / "tfplan.tgz"
    bundle.write_bytes(b"reviewed plan")
    script = f"set -e\n{digest}\n"
    if tampered:
        script += f"printf 'another plan' > {bundle}\n"
    script += f"EXPECTED_PLAN_SHA256=$PLAN_SHA256\n{check}\necho CHECKED\n"
    script = script.replace("/tmp/tfplan.tgz", str(bundle))
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert (result.returncode != 0) is tampered
    assert ("CHECKED" in result.stdout) is not tampered


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


def test_the_docs_and_cd_use_one_terraform_state_key():
    keys = set()
    for buildspec in ("buildspec_cd_plan.yml", "buildspec_cd_apply.yml"):
        keys.update(
            re.findall(r'-backend-config="key=([^"]+)"', " ".join(_phase_commands(_load(buildspec), "pre_build")))
        )
    (key,) = keys
    assert key == "stock-insights/${STAGE}/terraform.tfstate"
    for page in ("README.md", *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md"))):
        keys = set(re.findall(r"-backend-config=key=(\S+)", (REPO / page).read_text()))
        assert keys <= {key.replace("${STAGE}", "dev")}, page
    assert "-backend-config=key=stock-insights/dev/terraform.tfstate" in (REPO / "docs" / "deploying.md").read_text()


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


def test_cd_bundle_made_at_plan_time_applies_in_a_fresh_directory(tmp_path):
    """The plan buildspec's bundle command and the apply buildspec's unpacking, as written, on a
    provider-free configuration: the reviewed plan applies elsewhere, once; a stale one is refused."""
    terraform = shutil.which("terraform")
    if not terraform:
        pytest.skip("terraform is not installed here")
    plan_cmds = _phase_commands(_load("buildspec_cd_plan.yml"), "build")
    apply_cmds = _phase_commands(_load("buildspec_cd_apply.yml"), "pre_build")
    bundle_cmd = plan_cmds[_index(plan_cmds, r"tar -C .*-czf /tmp/tfplan\.tgz")]
    unpack_cmd = apply_cmds[_index(apply_cmds, r"tar -C .* -xzf /tmp/tfplan\.tgz")]
    planned, applied, bundle = tmp_path / "planned", tmp_path / "applied", tmp_path / "tfplan.tgz"
    planned.mkdir()
    (planned / "main.tf").write_text(
        f'terraform {{\n  backend "local" {{\n    path = "{tmp_path / "state.tfstate"}"\n  }}\n}}\n'
        'resource "terraform_data" "x" {\n  input = "reviewed"\n}\n'
    )
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}

    def sh(command: str, pkg_dir: Path) -> subprocess.CompletedProcess:
        command = command.replace("/tmp/tfplan.tgz", str(bundle))
        return subprocess.run(
            ["bash", "-c", command],
            env={**env, "PKG_DIR": str(pkg_dir.parent), "STAGE": pkg_dir.name},
            capture_output=True,
        )

    for args in (["init", "-input=false"], ["plan", "-input=false", "-out=tfplan"]):
        subprocess.run([terraform, f"-chdir={planned}", *args], env=env, check=True, capture_output=True)
    assert sh(bundle_cmd, planned).returncode == 0
    assert sh(unpack_cmd, applied).returncode == 0
    subprocess.run([terraform, f"-chdir={applied}", "init", "-input=false"], env=env, check=True, capture_output=True)
    apply = [terraform, f"-chdir={applied}", "apply", "-input=false", "-no-color", "tfplan"]
    assert subprocess.run(apply, env=env, capture_output=True).returncode == 0
    assert '"reviewed"' in (tmp_path / "state.tfstate").read_text()
    stale = subprocess.run(apply, env=env, capture_output=True, text=True)
    assert stale.returncode != 0 and "can no longer be applied" in stale.stdout + stale.stderr
