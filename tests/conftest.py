"""Shared fixtures: the real Twelve Data samples and an isolated embedded AWS per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures" / "twelvedata"
SAMPLES = REPO / "sandbox" / "samples"


def fixture_bytes(name: str) -> bytes:
    """A real Twelve Data sample, with the `# SOURCE` comment lines some of them carry removed."""
    raw = (FIXTURES / name).read_bytes()
    return b"\n".join(line for line in raw.splitlines() if not line.lstrip().startswith(b"#"))


@pytest.fixture
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    return FIXTURES


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
