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
    # One email per analysis, written as SES received it and as a page to open.
    assert [e["analysis_id"] for e in report["emails"]] == [a["analysis_id"] for a in report["analyses"]]
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
