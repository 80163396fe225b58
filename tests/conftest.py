"""Shared fixtures: the real Twelve Data samples and an isolated embedded AWS per test."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Real Twelve Data responses, kept in the repository (tests/fixtures/twelvedata/README.md says where
# each came from).
FIXTURES = REPO / "tests" / "fixtures" / "twelvedata"
SAMPLES = REPO / "sandbox" / "samples"


def fixture_bytes(name: str) -> bytes:
    """A real Twelve Data sample, with the `# SOURCE` comment lines some of them carry removed."""
    if not (FIXTURES / name).is_file():  # part of the repository: a missing one is a failure, not a skip
        pytest.fail(f"fixture {name} is missing from {FIXTURES}")
    raw = (FIXTURES / name).read_bytes()
    return b"\n".join(line for line in raw.splitlines() if not line.lstrip().startswith(b"#"))


# A deployer commits `.chalice/settings-<stage>.json` (docs/deploying.md); the tests state their own
# settings, so every copy of the project or of `.chalice/` a test works in leaves those files out.
STAGE_SETTINGS = "settings-*.json"
_NOT_COPIED = (".venv", ".git", "build", "out", "bench-out", ".pytest_cache", ".ruff_cache", ".hypothesis")


def copy_chalice_dir(dest: Path, source: Path = REPO / ".chalice") -> Path:
    """`.chalice/` as a checkout without stage settings files has it: those files left out, and the
    environment and policy files rendered from them (and from a bootstrap) rendered anew."""
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(STAGE_SETTINGS, "deployed", "deployments"))
    _render_without_stage_settings(dest)
    return dest


def _render_without_stage_settings(chalice_dir: Path) -> None:
    import json

    from infra import chalice_config
    from infra.resources import resource_specs

    # Every variable the settings or a bootstrap may have written into a stage's environment.
    every = resource_specs(fetch_symbols="X", api_auth="api_key", bucket_name="any-bucket")["environment"]
    written = {*every, "ANALYSES_STREAM_ARN"}
    config = json.loads((chalice_dir / "config.json").read_text())
    for stage in config.get("stages", {}).values():
        environment = stage.get("environment_variables", {})
        for name in written & set(environment):
            del environment[name]
    (chalice_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    assert chalice_config.main(["--chalice-dir", str(chalice_dir)]) == 0


def copy_project(dest: Path, source: Path = REPO) -> Path:
    """The project without its virtualenv, build output, caches or stage settings files."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = set(shutil.ignore_patterns(*_NOT_COPIED, "__pycache__")(directory, names))
        if Path(directory).name == ".chalice":
            skipped |= set(shutil.ignore_patterns(STAGE_SETTINGS, "deployed", "deployments")(directory, names))
        return skipped

    shutil.copytree(source, dest, ignore=ignore)
    _render_without_stage_settings(dest / ".chalice")
    return dest


@pytest.fixture
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.fail(f"the fixtures are missing from {FIXTURES}")
    return FIXTURES


@pytest.fixture
def stand_in():
    """A Twelve Data stand-in on loopback (tests/twelvedata_standin.py), stopped after the test."""
    from tests.twelvedata_standin import StandIn, start

    fake = StandIn()
    server = start(fake)
    yield fake
    server.shutdown()


@pytest.fixture
def aws_env(monkeypatch):
    """Fake credentials and a fresh settings/client cache, so nothing can reach real AWS."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    values = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "BUCKET_NAME": "test-bucket",
        "TABLE_NAME": "test-table",
        "EVENT_BUS_NAME": "default",
        # Harness: the archive's routes are tested as API_AUTH=iam serves them (API Gateway has
        # checked the caller; the app lets every request through). The deployed default, link,
        # puts the signed-link door in front of them: tests/test_archive_links.py tests it.
        "API_AUTH": "iam",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    from chalicelib import aws
    from chalicelib.config import get_settings

    aws.reset_clients()
    get_settings.cache_clear()
    yield os.environ
    aws.reset_clients()
    get_settings.cache_clear()


def tool_venv(name: str, requirements: Path) -> Path:
    """The bin/ of a venv under build/ holding a tool whose pins clash with requirements-dev.txt
    (checkov, the AWS CLI); created on first use, again when its requirements change."""
    import subprocess
    import sys

    venv = REPO / "build" / f".venv-{name}"

    def install() -> None:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        proc = subprocess.run([*pip, "-r", str(requirements)], capture_output=True, text=True, timeout=1200)
        assert proc.returncode == 0, f"installing {name} failed:\n{proc.stderr[-3000:]}"

    _installed_once(venv, requirements, install)
    return venv / "bin"


def _installed_once(directory: Path, requirements: Path, install) -> None:
    """Run `install` (which fills `directory`) unless the directory's stamp holds these requirements."""
    stamp = directory / ".requirements"
    wanted = requirements.read_text()
    if not stamp.exists() or stamp.read_text() != wanted:
        install()
        stamp.write_text(wanted)


def terraform_plugin_dir() -> Path | None:
    """An offline mirror of the Terraform AWS provider (TF_PLUGIN_DIR, else /opt/tf-plugins), if any."""
    for candidate in (os.environ.get("TF_PLUGIN_DIR"), "/opt/tf-plugins"):
        if candidate and (Path(candidate) / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return Path(candidate)
    return None


@contextlib.contextmanager
def moto_server(monkeypatch):
    """moto server on a free loopback port; AWS_ENDPOINT_URL points every new client at it."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # The server shares moto's in-process state: start from an empty account every time.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30).close()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture(scope="session")
def terraform_package(tmp_path_factory) -> Path:
    """`python -m infra.terraform` (what `make package` runs) once per session: the Terraform
    directory with its deployment.zip, shared by the tests that read it (chalice package takes
    10-60 s)."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("terraform")
    project = copy_project(tmp_path_factory.mktemp("project") / "stock-insights")  # no stage settings
    proc = subprocess.run(
        [sys.executable, "-m", "infra.terraform", "--stage", "dev", "--out", str(out)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def lambda_runtime_sdk() -> Path:
    """A directory holding only the AWS SDK as Lambda's Python runtime provides it beside the task
    root (requirements-lambda-runtime.txt), under build/; made on first use, again when the file
    changes."""
    import subprocess
    import sys

    requirements = REPO / "requirements-lambda-runtime.txt"
    target = REPO / "build" / ".lambda-runtime-sdk"

    def install() -> None:
        shutil.rmtree(target, ignore_errors=True)
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
        proc = subprocess.run(
            [*pip, "--no-deps", "--target", str(target), "-r", str(requirements)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, f"installing the runtime's SDK failed:\n{proc.stderr[-3000:]}"
        shutil.rmtree(target / "bin", ignore_errors=True)

    _installed_once(target, requirements, install)
    return target
