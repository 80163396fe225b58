"""`python -m sandbox fetch` against a stand-in Twelve Data on loopback, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO
from tests.twelvedata_standin import Answer

KEY = "sandbox-user-key-42"


def _fetch(tmp_path, *args: str, key: str | None = KEY) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWELVEDATA_", "FETCH_"))}
    if key:
        env["TWELVEDATA_API_KEY"] = key
    command = [sys.executable, "-m", "sandbox", "fetch", "--out", str(tmp_path / "out"), *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_fetch_runs_the_pipeline_and_the_report_lists_the_failing_symbol(stand_in, tmp_path):
    stand_in.then(Answer(200, b'{"code":429,"message":"You have run out of API credits","status":"error"}'))
    stand_in.then(Answer(200))  # after the wait

    proc = _fetch(tmp_path, "--symbols", "aapl,NOTFOUND,msft", "--base-url", stand_in.url, "--json")

    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["fetch"]["key"].startswith("inputs/scheduled/") and report["fetch"]["errors"] == ["NOTFOUND"]
    (entry,) = report["files"]
    assert entry["status"] == "processed" and entry["symbol_errors"] == 1
    assert entry["records"]["valid"] == 60 and entry["records"]["rejected"] == 0
    assert len(report["analyses"]) == 1 and len(report["emails"]) == 1
    assert [r.symbols for r in stand_in.requests] == [["AAPL", "NOTFOUND", "MSFT"]] * 2
    assert all(r.headers["authorization"] == f"apikey {KEY}" for r in stand_in.requests)
    html = open(report["emails"][0]["html_path"], encoding="utf-8").read()
    assert "NOTFOUND" in html
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert not [p for p in written if KEY in p.read_text(errors="replace")]  # the key went nowhere


def test_fetch_without_symbols_or_key_says_what_to_do(stand_in, tmp_path):
    proc = _fetch(tmp_path, "--base-url", stand_in.url)
    assert proc.returncode == 2 and "no symbols: pass --symbols" in proc.stderr
    proc = _fetch(tmp_path, "--symbols", "AAPL", "--base-url", stand_in.url, key=None)
    assert proc.returncode == 0, proc.stderr
    assert "using Twelve Data's public demo key" in proc.stderr
    assert stand_in.requests[-1].headers["authorization"] == "apikey demo"
