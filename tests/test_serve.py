"""`python -m sandbox serve` as a user drives it: the real AWS CLI and boto3 against the endpoint."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
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


def _banner(served: Served) -> list[str]:
    served.wait_for("an AWS endpoint at")
    served.wait_for("dynamodb scan")  # the banner's last line
    return list(served.seen)


def _shell_lines(banner: list[str]) -> list[str]:
    """The banner's lines for another shell: the export, then the aws commands."""
    start = next(i for i, line in enumerate(banner) if line.startswith("In another shell"))
    return [line.strip() for line in banner[start + 1 :] if line.startswith("  ")]


def test_the_banners_lines_work_with_the_aws_cli_from_a_clean_environment(served, aws_cli, tmp_path):
    banner = _banner(served)
    assert f"http://127.0.0.1:{served.port}" in banner[0]  # loopback unless --host says otherwise
    export, copy, listing, scan = _shell_lines(banner)
    assert export.startswith("export AWS_ACCESS_KEY_ID=") and "AWS_SECRET_ACCESS_KEY=" in export
    assert "AWS_DEFAULT_REGION=" in export
    assert copy.startswith(f"aws --endpoint-url {served.endpoint} s3 cp ")

    # A clean environment: no AWS variable, an empty home (no ~/.aws), only the CLI on the PATH.
    home = tmp_path / "home"
    home.mkdir()
    clean = {"PATH": f"{Path(aws_cli).parent}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}

    def shell(*lines: str) -> str:
        script = "set -eu\n" + "\n".join(lines)
        proc = subprocess.run(["bash", "-c", script], cwd=REPO, env=clean, capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stdout

    shell(export, copy)
    ingest = served.wait_for("ingest ")
    assert "inputs/AAPL_1day.csv: processed: " in ingest and "rejected (" in ingest  # the sample's rejects, by rule
    assert "inputs/AAPL_1day.csv: 1 symbol analysed" in served.wait_for("analyze ")
    report_line = served.wait_for("report ")
    html = Path(report_line.split()[3])
    assert html.exists() and html.parent == tmp_path / "out" and "<html" in html.read_text(encoding="utf-8")

    listed = shell(export, listing)
    assert "processed/bars/AAPL_1day.csv/" in listed and "rejects/AAPL_1day.csv/" in listed
    scanned = shell(export, scan)
    assert '"analysis_id"' in scanned and "AAPL_1day.csv" in scanned

    # The report archive, on its own port (PORT + 1 by default).
    # It runs as deployed (API_AUTH=link): the banner's link is signed, and nothing opens without one.
    archive = f"http://127.0.0.1:{served.port + 1}/"
    link = re.search(rf"the report archive at ({re.escape(archive)}\?access=v1\.\d+\.[\w-]+) ", banner[1]).group(1)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{archive}reports", timeout=30)
    assert refused.value.code == 401
    with urllib.request.urlopen(link, timeout=30) as response:
        assert response.status == 200 and "AAPL_1day.csv" in response.read().decode("utf-8")
        cookie = response.headers["Set-Cookie"].split(";")[0]
    request = urllib.request.Request(f"{archive}reports", headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=30) as response:
        (item,) = json.loads(response.read())["items"]
    assert item["input_file"] == "inputs/AAPL_1day.csv" and item["symbols_count"] == 1

    # Any SDK works the same way; a second file gets its own report.
    s3 = boto3.client("s3", endpoint_url=served.endpoint, region_name="us-east-1", aws_access_key_id="l",
                      aws_secret_access_key="l")  # fmt: skip
    s3.upload_file(str(SAMPLES / "twelvedata_5_stocks_1day.json"), BUCKET, "inputs/five.json")
    assert "inputs/five.json: processed: 1196 valid, 0 rejected" in served.wait_for("inputs/five.json")
    assert "inputs/five.json: 5 symbols analysed" in served.wait_for("analyze ")
    served.wait_for("report ")
    assert len(list((tmp_path / "out").glob("report-*.html"))) == 2

    served.proc.send_signal(signal.SIGTERM)
    served.wait_for("stopped")
    assert served.proc.wait(timeout=30) == 0


def test_the_docs_show_the_banners_lines():
    from sandbox.serve import banner

    page = (REPO / "docs" / "sandbox.md").read_text()
    lines = banner("http://127.0.0.1:4566", "http://127.0.0.1:4567/", Path("out"), cwd=REPO)
    for line in _shell_lines(lines):
        assert f"\n{line}\n" in page, line


def test_each_upload_tells_one_story_and_http_lines_stay_apart(served, aws_cli, tmp_path):
    """A multipart upload (the CLI splits files over 8 MiB), a quarantined file and a file with a
    symbol error: one ingest line each, with the reason and the errors; requests in http.log."""
    _banner(served)
    env = {
        "PATH": f"{Path(aws_cli).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AWS_DEFAULT_REGION": "us-east-1",
    }

    def cp(path: Path, key: str) -> None:
        proc = subprocess.run(
            [aws_cli, "--endpoint-url", served.endpoint, "s3", "cp", str(path), f"s3://{BUCKET}/{key}"],
            env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr

    # Over 8 MiB: many copies of the five stocks, each under a symbol of its own, and one error object.
    five = json.loads((SAMPLES / "twelvedata_5_stocks_1day.json").read_text())
    big: dict = {}
    for n in range(60):
        for symbol, series in five.items():
            big[f"{symbol}{n}"] = {**series, "meta": {**series["meta"], "symbol": f"{symbol}{n}"}}
    big["NOPE"] = {"code": 404, "message": "symbol not found", "status": "error"}
    (tmp_path / "big.json").write_text(json.dumps(big))
    assert (tmp_path / "big.json").stat().st_size > 8 * 2**20
    cp(tmp_path / "big.json", "inputs/big.json")
    big_line = served.wait_for("ingest ")
    assert "inputs/big.json: processed: " in big_line and "1 symbol error" in big_line
    report_line = served.wait_for("report ")
    # The email links to the local archive, as a deployed stage's links to its API.
    html_path = report_line.split(": ", 1)[1].split("  (", 1)[0]
    # ... with a signed link a browser opens (API_AUTH=link, as deployed).
    page = Path(html_path).read_text()
    assert re.search(r'href="http://127\.0\.0\.1:\d+/reports/[0-9a-f]{32}\?access=v1\.\d+\.[\w-]+"', page)

    (tmp_path / "junk.json").write_text("not json at all")
    cp(tmp_path / "junk.json", "inputs/junk.json")
    junk = served.wait_for("inputs/junk.json")
    assert (
        junk.split(" ", 1)[1].startswith("ingest   inputs/junk.json: quarantined: ")
        and ": " in junk.split("quarantined: ")[1]
    )
    # the quarantined file's failure notice, named after it
    notice = served.wait_for("report ")
    assert "inputs/junk.json" in notice and "Data failed: the file is neither JSON nor a bar CSV" in notice

    served.proc.send_signal(signal.SIGTERM)
    served.wait_for("stopped")
    assert served.proc.wait(timeout=30) == 0
    story = [line for line in served.seen if line[:2].isdigit()]
    assert (
        sum("inputs/big.json" in line and " ingest " in line for line in story) == 1
    )  # one multipart upload, one line
    assert [line.split()[1] for line in story] == ["ingest", "analyze", "report", "ingest", "report"]
    assert not any('" 200 ' in line or "HTTP/1.1" in line for line in served.seen)  # no access lines on the console
    http = (tmp_path / "out" / "http.log").read_text()
    assert "PUT /stock-insights-sandbox/inputs/big.json" in http and "uploadId=" in http


def test_ctrl_c_stops_it_cleanly(served):
    served.wait_for("an AWS endpoint at")
    served.proc.send_signal(signal.SIGINT)
    served.wait_for("stopped")
    assert served.proc.wait(timeout=30) == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", served.port), timeout=2).close()
