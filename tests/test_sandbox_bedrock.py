"""`sandbox run --bedrock` reaches Bedrock through the caller's own AWS configuration.

A stand-in Converse endpoint runs on loopback and the sandbox is pointed at it the way a user
points any boto3 program elsewhere (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`). If the embedded AWS
intercepted the call, or the sandbox's fake credentials were used, the stand-in would see nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.conftest import REPO, SAMPLES


class _Converse(BaseHTTPRequestHandler):
    calls: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Converse.calls.append(
            {"path": self.path, "authorization": self.headers.get("Authorization", ""), "body": body}
        )
        tool = body["toolConfig"]["toolChoice"]["tool"]["name"]
        text = body["messages"][0]["content"][0]["text"]
        lines = re.search(r"<data>\n(.*)\n</data>", text, re.S).group(1).splitlines()
        if "executive" in json.dumps(body["toolConfig"]).lower() and len(lines) == 1:
            payload = {"executive_summary": "Model view: a calm, mixed tape across the five names."}
        else:
            symbols = [json.loads(line)[0] for line in lines[1:]]
            payload = {
                "insights": [
                    {
                        "symbol": s,
                        "summary": f"{s} model summary.",
                        "opportunities": f"{s} model opportunities.",
                        "risks": f"{s} model risks.",
                        "key_anomaly": f"{s} model anomaly note.",
                    }
                    for s in symbols
                ]
            }
        answer = {
            "output": {
                "message": {
                    "role": "assistant",
                    "content": [{"toolUse": {"toolUseId": "t1", "name": tool, "input": payload}}],
                }
            },
            "stopReason": "tool_use",
            "usage": {"inputTokens": 500, "outputTokens": 300, "totalTokens": 800},
            "metrics": {"latencyMs": 5},
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_bedrock_flag_uses_the_callers_endpoint_and_credentials(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Converse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Converse.calls = []
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": f"http://127.0.0.1:{server.server_address[1]}",
        "AWS_ACCESS_KEY_ID": "AKIACALLERSOWNKEY",
        "AWS_SECRET_ACCESS_KEY": "callers-secret",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    env.pop("AWS_SESSION_TOKEN", None)
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "sandbox",
                "run",
                str(SAMPLES / "twelvedata_5_stocks_1day.json"),
                "--out",
                str(tmp_path),
                "--json",
                "--bedrock",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        server.shutdown()

    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    record = json.loads(Path(report["analyses"][0]["path"]).read_text())
    assert record["insights"]["source"] == "bedrock"
    assert record["insights"]["model"] == "amazon.nova-lite-v1:0"
    assert record["insights"]["input_tokens"] == 500 * len(_Converse.calls)
    assert record["executive_summary"].startswith("Model view")
    assert record["symbols"]["AAPL"]["insight"]["summary"] == "AAPL model summary."
    assert _Converse.calls and all(c["path"].endswith("/converse") for c in _Converse.calls)
    # Signed with the caller's key for the caller's region, not the sandbox's fake "testing" key.
    assert all(
        "AKIACALLERSOWNKEY" in c["authorization"] and "/eu-west-1/bedrock/" in c["authorization"]
        for c in _Converse.calls
    )
    assert report["emails"], "the report still goes out"


def _no_region_env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE")}
    env.update(
        HOME=str(tmp_path), AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none")
    )
    return env


def test_bedrock_without_a_region_says_so_in_one_line(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox",
            "run",
            str(SAMPLES / "AAPL_1day_messy.csv"),
            "--out",
            str(tmp_path / "o"),
            "--bedrock",
        ],
        cwd=REPO,
        env=_no_region_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "NoRegionError" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "AWS_REGION" in errors[0] and "AWS_DEFAULT_REGION" in errors[0]


def test_bedrock_honours_aws_region_before_aws_default_region(tmp_path, monkeypatch):
    from sandbox.runner import real_bedrock_client

    for name, value in _no_region_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert real_bedrock_client().meta.region_name == "eu-central-1"  # as the AWS CLI reads it
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert real_bedrock_client().meta.region_name == "eu-central-1"
    monkeypatch.delenv("AWS_REGION")
    assert real_bedrock_client().meta.region_name == "us-west-2"
