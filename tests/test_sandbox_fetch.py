"""`python -m sandbox fetch` against a stand-in Twelve Data on loopback, as a user runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.twelvedata_standin import Answer

KEY = "sandbox-user-key-42"


def _fetch(tmp_path, *args: str, key: str | None = KEY, **extra_env: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWELVEDATA_", "FETCH_"))}
    if key:
        env["TWELVEDATA_API_KEY"] = key
    env.update(extra_env)
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
    # The wait for the next minute's credits is told as it happens (stderr: stdout holds the JSON).
    progress = proc.stderr.splitlines()
    assert progress[0] == f"  fetching 3 symbol(s) at 1day from {stand_in.url}"
    assert progress[1] == "  request 1 (AAPL, NOTFOUND, MSFT): You have run out of API credits"
    assert re.fullmatch(
        r"  waiting \d+ s for the next minute's credits, then AAPL, NOTFOUND, MSFT again \(attempt 2 of 4\)",
        progress[2],
    )
    assert progress[3] == "  request 2 (AAPL, NOTFOUND, MSFT): 2 series, 1 error(s)"
    html = open(report["emails"][0]["html_path"], encoding="utf-8").read()
    assert "NOTFOUND" in html
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert not [p for p in written if KEY in p.read_text(errors="replace")]  # the key went nowhere


def test_a_fetch_that_fetched_nothing_sends_a_failure_notice(stand_in, tmp_path):
    proc = _fetch(tmp_path, "--symbols", "NOTFOUND1,NOTFOUND2", "--base-url", stand_in.url, "--json")

    assert proc.returncode == 1 and "No symbol was fetched" in proc.stderr  # the command says so too
    report = json.loads(proc.stdout)
    assert report["fetch"]["errors"] == ["NOTFOUND1", "NOTFOUND2"]
    ((mail,),) = [report["emails"]]
    # Not a report reading "no market reading": a notice whose Subject says the data failed.
    assert mail["subject"].startswith("Stock Insights · Data failed: every symbol failed (2 symbol errors) · ")
    text = open(mail["html_path"], encoding="utf-8").read()
    assert "NOTFOUND1" in text and "NOTFOUND2" in text and "What to do" in text


def test_fetch_without_symbols_or_key_says_what_to_do(stand_in, tmp_path):
    proc = _fetch(tmp_path, "--base-url", stand_in.url)
    assert proc.returncode == 2 and "no symbols: pass --symbols" in proc.stderr
    proc = _fetch(tmp_path, "--symbols", "AAPL", "--base-url", stand_in.url, key=None)
    assert proc.returncode == 0, proc.stderr
    assert "using Twelve Data's public demo key" in proc.stderr
    assert stand_in.requests[-1].headers["authorization"] == "apikey demo"


def test_an_unreachable_endpoint_is_named_each_retry_told_and_the_exit_status_is_1(tmp_path):
    proc = _fetch(tmp_path, "--symbols", "AAPL,MSFT", "--base-url", "http://127.0.0.1:1", FETCH_MAX_ATTEMPTS="2")

    assert proc.returncode == 1
    assert proc.stdout.splitlines()[:4] == [
        "  fetching 2 symbol(s) at 1day from http://127.0.0.1:1",
        "  request 1 (AAPL, MSFT): Twelve Data could not be reached: connection refused (127.0.0.1:1)",
        "  waiting 2 s before retrying, then AAPL, MSFT again (attempt 2 of 2)",
        "  request 2 (AAPL, MSFT): Twelve Data could not be reached: connection refused (127.0.0.1:1)"
        " (gave up on AAPL, MSFT)",
    ]
    assert "0 of 2 symbols fetched" in proc.stdout
    assert "No symbol was fetched from http://127.0.0.1:1" in proc.stderr
    assert "504" not in proc.stdout + proc.stderr and "HTTP" not in proc.stdout + proc.stderr


def test_a_host_that_does_not_exist_is_named_so(tmp_path):
    proc = _fetch(tmp_path, "--symbols", "AAPL", "--base-url", "http://no-such-host.invalid", FETCH_MAX_ATTEMPTS="1")

    assert proc.returncode == 1
    assert "request 1 (AAPL): Twelve Data could not be reached: host not found (no-such-host.invalid" in proc.stdout


@pytest.mark.parametrize(
    ("args", "env", "complaint"),
    [
        (["--base-url", "ftp://example.com"], {}, "is not an http:// or https:// URL"),
        (["--base-url", "http://"], {}, "names no host"),
        (["--base-url", "http://127.0.0.1:99999"], {}, "is not a URL"),
        (["--base-url", "http://127.0.0.1:8080/?apikey=x"], {}, "no query"),
        (["--interval", "1d"], {}, "'1d' is not a Twelve Data interval"),
        ([], {"FETCH_INTERVAL": "daily"}, "'daily' is not a Twelve Data interval"),
    ],
)
def test_base_url_and_interval_are_checked_before_any_request(stand_in, tmp_path, args, env, complaint):
    base = [] if "--base-url" in args else ["--base-url", stand_in.url]
    proc = _fetch(tmp_path, "--symbols", "AAPL", *base, *args, **env)

    assert proc.returncode == 2 and complaint in proc.stderr
    assert stand_in.requests == []
    assert not (tmp_path / "out").exists()


def test_help_describes_every_option():
    from sandbox.fetch import fetch

    proc = subprocess.run(
        [sys.executable, "-m", "sandbox", "fetch", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    for param in fetch.params:
        assert param.help, param.name
        assert param.opts[0] in proc.stdout
    assert "Exit status" in proc.stdout


def test_a_key_the_endpoint_echoes_reaches_no_output_of_the_run(stand_in, tmp_path):
    long_key = "0123456789abcdef0123456789abcdef"
    refused = {"code": 401, "message": f"**apikey** {long_key} is not valid", "status": "error"}
    stand_in.then(Answer(200, json.dumps(refused).encode()))

    proc = _fetch(tmp_path, "--symbols", "AAPL,MSFT", "--base-url", stand_in.url, key=long_key + "\n")

    assert proc.returncode == 1  # nothing fetched: the key was refused
    assert stand_in.requests[0].headers["authorization"] == f"apikey {long_key}"
    assert long_key not in proc.stdout + proc.stderr
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert written and not [p for p in written if long_key in p.read_text(errors="replace")]
    assert any("[redacted]" in p.read_text(errors="replace") for p in written if p.suffix == ".html")
