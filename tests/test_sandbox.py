"""End to end: `python -m sandbox run … --json` as a user runs it, in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.conftest import FIXTURES, REPO, SAMPLES


def run_sandbox(tmp_path: Path, *files: Path) -> tuple[int, dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "sandbox", "run", *map(str, files), "--out", str(tmp_path / "out"), "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.stdout.strip(), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_good_bad_and_duplicate_files(tmp_path):
    good = SAMPLES / "twelvedata_5_stocks_1day.json"
    messy = SAMPLES / "AAPL_1day_messy.csv"
    broken = tmp_path / "broken.json"
    broken.write_bytes(b'{"meta": {"symbol": "AAPL"}, "values": [')

    code, report = run_sandbox(tmp_path, good, messy, broken, good)

    assert code == 0
    assert set(report) == {"files", "analyses", "emails"}
    first, csv, bad, again = report["files"]
    assert first["status"] == "processed" and first["key"] == "inputs/twelvedata_5_stocks_1day.json"
    assert first["records"] == {"input": 1196, "valid": 1196, "rejected": 0}
    assert csv["records"] == {"input": 24, "valid": 16, "rejected": 8}
    assert csv["reject_rules"] == {
        rule: 1
        for rule in (
            "bad_datetime",
            "bad_number",
            "duplicate_timestamp",
            "future_timestamp",
            "missing_field",
            "negative_volume",
            "non_positive_price",
            "ohlc_inconsistent",
        )
    }
    assert bad["status"] == "quarantined" and bad["error"].startswith("bad_json")
    assert again["status"] == "duplicate" and again["etag"] == first["etag"]
    assert again["processed_key"] == first["processed_key"]
    for entry in (first, csv):
        assert (tmp_path / "out" / "s3" / entry["processed_key"]).is_file()
    # One email per analysis, and a failure notice for the quarantined file, each written as SES
    # received it and as a page to open, named after its input.
    notices = [e for e in report["emails"] if e["analysis_id"].startswith("notice-")]
    assert [e["analysis_id"] for e in report["emails"] if e not in notices] == [
        a["analysis_id"] for a in report["analyses"]
    ]
    [notice] = notices
    assert notice["subject"] == "Stock Insights · Data failed: the file is not valid JSON · broken.json"
    assert sorted(Path(e["html_path"]).name for e in report["emails"]) == [
        "report-AAPL_1day_messy.html",
        "report-broken.html",
        "report-twelvedata_5_stocks_1day.html",
    ]
    assert sorted(Path(e["eml_path"]).name for e in report["emails"]) == [
        "report-AAPL_1day_messy.eml",
        "report-broken.eml",
        "report-twelvedata_5_stocks_1day.eml",
    ]
    for mail in report["emails"]:
        assert mail["to"] == ["analyst@example.com"] and mail["subject"]
        assert Path(mail["html_path"]).stat().st_size > 1000
        assert mail["analysis_id"] in Path(mail["eml_path"]).read_text()
    # One analysis per processed file; none for the quarantine or the duplicate.
    assert [a["symbols"] for a in report["analyses"]] == [5, 1]
    for item in report["analyses"]:
        record = json.loads(Path(item["path"]).read_text())
        assert record["analysis_id"] == item["analysis_id"]
        assert Path(item["path"]).name == f"analysis-{item['analysis_id']}.json"
    # Every bar is accounted for: processed + rejects lines equal the input count.
    out = tmp_path / "out" / "s3"
    lines = sum(len((out / csv[k]).read_text().splitlines()) for k in ("processed_key", "rejects_key"))
    assert lines == csv["records"]["input"]


def test_real_fixture_with_symbol_errors(tmp_path, fixtures_dir):
    code, report = run_sandbox(tmp_path, FIXTURES / "soulgarden_quote_batch_two_symbols_not_found.json")

    assert code == 0
    [entry] = report["files"]
    assert entry["status"] == "processed"
    assert entry["symbol_errors"] == 2 and entry["reject_rules"] == {"symbol_error": 2}
    [analysis] = report["analyses"]
    assert analysis["symbols"] == 0
    record = json.loads(Path(analysis["path"]).read_text())
    assert record["row_counts"] == {"input": 0, "valid": 0, "rejected": 0}


def test_analysis_numbers_match_talib_and_pandas(tmp_path):
    from tests.test_metrics import _close_to, _reference

    sample = SAMPLES / "twelvedata_5_stocks_1day.json"
    code, report = run_sandbox(tmp_path, sample)

    assert code == 0
    [item] = report["analyses"]
    record = json.loads(Path(item["path"]).read_text())
    assert record["source"]["input_key"] == "inputs/twelvedata_5_stocks_1day.json"
    assert record["correlation_id"] == report["files"][0]["correlation_id"]
    document = json.loads(sample.read_text())
    for symbol, response in document.items():
        bars = sorted(response["values"], key=lambda b: b["datetime"])
        ref = _reference(
            np.array([float(b["close"]) for b in bars]),
            np.array([float(b["volume"]) for b in bars]),
            [b["datetime"] for b in bars],
        )
        mine = record["symbols"][symbol]
        for name in ("momentum", "momentum_pct", "slope_pct_per_bar", "percent_change", "volatility_pct", "avg_volume"):
            assert _close_to(mine[name], ref[name]), (symbol, name)


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", "run", *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )


def test_a_run_replaces_only_what_the_previous_run_wrote_and_says_where_it_went(tmp_path):
    out = tmp_path / "out"
    (out / "s3" / "processed").mkdir(parents=True)
    mine = {  # the user's own files, even ones named like the run's
        out / "notes.txt": "mine",
        out / "report-mine.html": "<p>mine</p>",
        out / "analysis-mine.json": "{}",
        out / "s3" / "notes.txt": "mine",
        out / "s3" / "processed" / "keep.jsonl": "mine",
    }
    for path, text in mine.items():
        path.write_text(text)
    first = _run_cli(str(SAMPLES / "AAPL_1day_messy.csv"), "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert {p.name for p in out.glob("report-AAPL*")} == {"report-AAPL_1day_messy.html", "report-AAPL_1day_messy.eml"}
    first_run = {p for p in out.rglob("*") if p.is_file()} - set(mine)

    again = _run_cli(str(SAMPLES / "twelvedata_5_stocks_1day.json"), "--out", str(out))
    assert again.returncode == 0, again.stderr
    html = out / "report-twelvedata_5_stocks_1day.html"
    [analysis] = set(out.glob("analysis-*.json")) - {out / "analysis-mine.json"}
    assert not (out / "report-AAPL_1day_messy.html").exists()  # the first run's report is gone
    assert all(path.read_text() == text for path, text in mine.items())  # the user's files stay
    # Without --json the run says where the report went.
    assert f"report:   {html}" in again.stdout and f"analysis: {analysis}" in again.stdout
    # out/s3 is the bucket as the pipeline left it: analyses and markers too; not the first run's.
    s3 = out / "s3"
    assert (s3 / "analyses" / analysis.name.removeprefix("analysis-")).is_file()
    assert list((s3 / "processed" / "hashes").iterdir())
    assert not list(s3.rglob("AAPL_1day_messy*")) and not (s3 / "inputs").exists()
    assert (
        not {p for p in first_run if p.exists()}
        - {out / "sandbox.log", out / ".sandbox-run.json"}
        - {p for p in out.rglob("*") if p.is_file() and "processed/hashes" in p.as_posix()}
    )


def test_an_output_folder_it_cannot_create_is_one_line_and_exit_2(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for bad in (blocker, blocker / "out"):
        proc = _run_cli(str(SAMPLES / "AAPL_1day_messy.csv"), "--out", str(bad))
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert str(bad) in proc.stderr and "output folder" in proc.stderr
        assert proc.stdout == ""


def test_the_embedded_account_sends_plain_bodies_and_real_clients_keep_checksums(aws_env):
    from chalicelib import aws
    from sandbox.embedded import EmbeddedAWS

    assert aws.client("s3").meta.config.request_checksum_calculation == "when_supported"
    aws.reset_clients()
    with EmbeddedAWS() as env:
        for client in (env.client("s3"), aws.client("s3")):  # the sandbox's and the handlers' clients
            assert client.meta.config.request_checksum_calculation == "when_required"
            assert client.meta.config.response_checksum_validation == "when_required"
    aws.reset_clients()
    assert aws.client("s3").meta.config.request_checksum_calculation == "when_supported"


def test_demo_lists_only_rejects_that_hold_something_and_ends_with_the_reports(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sandbox", "demo", "--out", str(tmp_path / "out")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    listed = [line.strip() for line in proc.stdout.splitlines()]
    rejects = [line for line in listed if "/s3/rejects/" in line]
    # The clean file's rejects object exists (empty, so the event's rejects_key always names one),
    # but only the messy CSV's is worth listing.
    assert len(rejects) == 1 and "AAPL_1day_messy.csv" in rejects[0]
    assert len(list((tmp_path / "out" / "s3" / "rejects").rglob("*.jsonl"))) == 2
    reports = [line for line in listed if line.startswith("Report: ")]
    assert len(reports) == 2 and listed[-2:] == reports  # one per analysed file, last
