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
