"""Settings come from the environment with defaults, are validated, and are never read at import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from chalicelib.config import SETTINGS_TABLE, ConfigError, Settings, load_settings
from tests.conftest import REPO


def test_defaults_when_the_environment_is_empty():
    assert load_settings({}) == Settings()


def test_values_are_parsed_by_type():
    settings = load_settings(
        {
            "BUCKET_NAME": "b",
            "MAX_INPUT_MB": "12.5",
            "MARKER_LEASE_SECONDS": "60",
            "RECIPIENT_EMAILS": "a@x.io, b@x.io,",
        }
    )
    assert settings.bucket == "b"
    assert settings.max_input_bytes == int(12.5 * 1024 * 1024)
    assert settings.marker_lease_seconds == 60
    assert settings.recipients == ("a@x.io", "b@x.io")


@pytest.mark.parametrize(
    ("name", "value"), [("MAX_INPUT_MB", "lots"), ("MARKER_LEASE_SECONDS", "-5"), ("MAX_INPUT_MB", "0")]
)
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value})


def test_every_setting_has_an_environment_variable():
    assert set(SETTINGS_TABLE) == set(Settings.__dataclass_fields__)


def test_importing_the_app_reads_no_settings_and_creates_no_clients():
    code = (
        "import sys, app\n"
        "from chalicelib.config import get_settings\n"
        "from chalicelib import aws\n"
        "assert get_settings.cache_info().currsize == 0, 'settings read at import'\n"
        "assert aws.client.cache_info().currsize == 0, 'client created at import'\n"
        "assert 'numpy' not in sys.modules and 'boto3' not in sys.modules, 'heavy import at cold start'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_the_settings_page_documents_every_setting():
    page = (REPO / "docs" / "settings.md").read_text()
    missing = [env for env, _ in SETTINGS_TABLE.values() if f"| `{env}` |" not in page]
    assert missing == []


def test_the_deploy_guide_documents_every_deploy_setting():
    from infra.resources import DEPLOY_SETTINGS

    deploying = (REPO / "docs" / "deploying.md").read_text()
    missing = [name for name in DEPLOY_SETTINGS if f"| `{name}` |" not in deploying]
    assert missing == []


def test_the_tests_never_read_a_checkouts_stage_settings(tmp_path):
    """A deployer commits `.chalice/settings-<stage>.json`; every copy the tests work in leaves it out,
    so the tests' own settings (and the package's expected files) hold in such a checkout too."""
    import json

    from infra.settings import load_stage_settings
    from tests.conftest import copy_chalice_dir, copy_project

    checkout = tmp_path / "checkout"
    (checkout / ".chalice").mkdir(parents=True)
    (checkout / "app.py").write_text("")
    (checkout / ".chalice" / "config.json").write_text('{"app_name": "stock-insights"}')
    stated = {
        "sender_email": "desk@acme.example",
        "recipient_emails": ["a@acme.example"],
        "alarm_email": "o@acme.example",
    }
    (checkout / ".chalice" / "settings-dev.json").write_text(json.dumps(stated))
    assert load_stage_settings(checkout / ".chalice", "dev") == stated
    project = copy_project(tmp_path / "project", source=checkout)
    chalice_dir = copy_chalice_dir(tmp_path / "chalice", source=checkout / ".chalice")
    for copied in (project / ".chalice", chalice_dir):
        assert (copied / "config.json").exists()
        assert load_stage_settings(copied, "dev") == {}
