"""A clone of this repository alone is enough: cloned into an empty folder, with nothing beside it,
the tests that read sample data (tests/fixtures/, sandbox/samples/) pass there.

It clones the committed state (HEAD), so commit before running it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

# A test module reads sample data when it names one of these.
READS_SAMPLES = re.compile(r"\b(fixture_bytes|fixtures_dir|FIXTURES|SAMPLES)\b|sandbox/samples|\"samples\"")
# Left out: this one, and those that drive a browser or a whole deploy (they read the same samples).
HEAVY = {
    "test_clone.py",
    "test_report_screenshot.py",
    "test_api_screenshot.py",
    "test_lambda_package.py",
    "test_iam.py",
}


def sample_reading_modules(root) -> list[str]:
    tests = root / "tests"
    return sorted(
        f"tests/{path.name}"
        for path in tests.glob("test_*.py")
        if path.name not in HEAVY and READS_SAMPLES.search(path.read_text())
    )


@pytest.mark.slow
def test_a_clone_alone_runs_the_tests_that_read_samples(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    clone = empty / "stock-insights"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)], check=True, timeout=120)
    assert [p.name for p in empty.iterdir()] == ["stock-insights"]  # nothing beside the clone

    modules = sample_reading_modules(clone)
    assert "tests/test_fetch.py" in modules and "tests/test_formats.py" in modules
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "AWS_"))}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            "-m",
            "not slow and not chaos",
            *modules,
        ],
        cwd=clone,
        env={**env, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=1500,
    )
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    assert " passed" in proc.stdout and "skipped" not in proc.stdout.rsplit("\n", 2)[-2], tail
    assert str(REPO) not in proc.stdout  # every path a failure or skip names is the clone's
