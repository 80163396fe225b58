"""`python -m sandbox serve` as a user drives it: the real AWS CLI and boto3 against the endpoint."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from tests.conftest import REPO, SAMPLES, tool_venv

pytestmark = pytest.mark.slow
BUCKET = "stock-insights-sandbox"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _in_use(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class Served:
    """A running `sandbox serve`, its output read line by line as it comes."""

    def __init__(self, out: Path):
        self.port = _free_port()
        while _in_use(self.port + 1):  # the archive's port, PORT + 1 by default
            self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        command = [sys.executable, "-m", "sandbox", "serve", "--port", str(self.port), "--out", str(out)]
        self.proc = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    pytest.fail(f"serve exited {self.proc.returncode}: {self.proc.stderr.read()}\n{self.seen}")
                continue
            self.seen.append(line)
            if text in line:
                return line
        pytest.fail(f"no line with {text!r} in {timeout} s: {self.seen}")


@pytest.fixture
def served(tmp_path):
    server = Served(tmp_path / "out")
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            server.proc.kill()


@pytest.fixture(scope="module")
def aws_cli() -> str:
    return str(tool_venv("awscli", REPO / "requirements-awscli.txt") / "aws")


def test_the_real_aws_cli_runs_the_pipeline_and_reads_its_state(served, aws_cli, tmp_path):
    banner = served.wait_for("an AWS endpoint at")
    assert f"http://127.0.0.1:{served.port}" in banner  # loopback unless --host says otherwise
    example = served.wait_for("s3 cp FILE")
    assert f"--endpoint-url {served.endpoint}" in example and f"s3://{BUCKET}/inputs/" in example
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    env.pop("AWS_ENDPOINT_URL", None)

    def aws(*args: str) -> str:
        proc = subprocess.run(
            [aws_cli, "--endpoint-url", served.endpoint, *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    aws("s3", "cp", str(SAMPLES / "twelvedata_5_stocks_1day.json"), f"s3://{BUCKET}/inputs/five.json")

    assert "inputs/five.json: processed (1196 valid, 0 rejected)" in served.wait_for("ingest ")
    assert ": stored (5 symbols)" in served.wait_for("analyze ")
    report_line = served.wait_for("report ")
    html = Path(report_line.split()[2])
    assert html.exists() and html.parent == tmp_path / "out" and "<html" in html.read_text(encoding="utf-8")

    # The report archive, on its own port (PORT + 1 by default).
    archive = served.seen[1]
    assert f"the report archive at http://127.0.0.1:{served.port + 1}/" in archive
    with urllib.request.urlopen(f"http://127.0.0.1:{served.port + 1}/reports", timeout=30) as response:
        (item,) = json.loads(response.read())["items"]
    assert item["input_file"] == "inputs/five.json" and item["symbols_count"] == 5
    with urllib.request.urlopen(f"http://127.0.0.1:{served.port + 1}/", timeout=30) as response:
        assert response.status == 200 and "five.json" in response.read().decode("utf-8")

    listing = aws("s3", "ls", f"s3://{BUCKET}/processed/bars/", "--recursive")
    assert "processed/bars/five.json/" in listing
    scan = aws("dynamodb", "scan", "--table-name", "stock-insights-sandbox-analyses", "--output", "json")
    assert '"analysis_id"' in scan and "five.json" in scan

    # Any SDK works the same way; a second file gets its own report.
    s3 = boto3.client("s3", endpoint_url=served.endpoint, region_name="us-east-1", aws_access_key_id="l",
                      aws_secret_access_key="l")  # fmt: skip
    s3.upload_file(str(SAMPLES / "AAPL_1day_messy.csv"), BUCKET, "inputs/AAPL_1day.csv")
    assert "inputs/AAPL_1day.csv: processed" in served.wait_for("inputs/AAPL_1day.csv")
    served.wait_for("report ")
    assert len(list((tmp_path / "out").glob("report-*.html"))) == 2

    served.proc.send_signal(signal.SIGTERM)
    served.wait_for("stopped")
    assert served.proc.wait(timeout=30) == 0


def test_ctrl_c_stops_it_cleanly(served):
    served.wait_for("an AWS endpoint at")
    served.proc.send_signal(signal.SIGINT)
    served.wait_for("stopped")
    assert served.proc.wait(timeout=30) == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", served.port), timeout=2).close()
