"""Run files through the embedded pipeline and describe the outcome (CONTRACT section 5)."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import Any

from sandbox.embedded import BUCKET, EmbeddedAWS

_MIRRORED_PREFIXES = ("processed/bars/", "rejects/", "quarantine/")


def run_files(paths: list[str], out_dir: Path, on_file: Any | None = None, bedrock: bool = False) -> dict:
    """Upload each file to `inputs/<basename>` in order, run to idle after each, and report."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, list] = {"files": [], "analyses": [], "emails": []}
    failures: list[str] = []
    with EmbeddedAWS(bedrock_client=real_bedrock_client() if bedrock else None) as env:
        for path in paths:
            key = f"inputs/{posixpath.basename(str(path))}"
            etag = env.upload(key, Path(path).read_bytes())
            deliveries = env.run_until_idle()
            failures += [f"{d.handler}: {d.error}" for d in deliveries if d.error]
            entry = _file_entry(str(path), key, etag, deliveries)
            report["files"].append(entry)
            report["analyses"] += _analyses(env, deliveries, out_dir)
            if on_file:
                on_file(entry)
        report["emails"] = _emails(env, out_dir)
        _mirror_outputs(env, out_dir / "s3")
    report["failures"] = failures
    return report


def real_bedrock_client() -> Any:
    """A bedrock-runtime client from the caller's own AWS configuration, built before the
    embedded account replaces the environment (credentials, region and endpoint are read now)."""

    import boto3

    from chalicelib.aws import bedrock_config
    from chalicelib.config import load_settings

    config = bedrock_config(load_settings(os.environ))
    return boto3.session.Session().client("bedrock-runtime", config=config)


def _file_entry(path: str, key: str, etag: str, deliveries: list) -> dict:
    for delivery in deliveries:
        results = (delivery.result or {}).get("files", []) if isinstance(delivery.result, dict) else []
        for result in results:
            if result.get("key") == key and result.get("etag") == etag:
                return {
                    "file": path,
                    "key": key,
                    "etag": etag,
                    "status": result["status"],
                    "records": result["records"],
                    "symbol_errors": result["symbol_errors"],
                    "reject_rules": result["reject_rules"],
                    "processed_key": result["processed_key"],
                    "rejects_key": result["rejects_key"],
                    "error": result["error"],
                    "correlation_id": result["correlation_id"],
                }
    errors = [d.error for d in deliveries if d.error]
    return {
        "file": path,
        "key": key,
        "etag": etag,
        "status": "failed",
        "records": {"input": 0, "valid": 0, "rejected": 0},
        "symbol_errors": 0,
        "reject_rules": {},
        "processed_key": None,
        "rejects_key": None,
        "error": "; ".join(errors) or "the ingest handler never reported this file",
    }


def _analyses(env: EmbeddedAWS, deliveries: list, out_dir: Path) -> list[dict]:
    """Write `analysis-<id>.json` for every analysis stored in this round."""
    found = []
    s3 = env.client("s3")
    for delivery in deliveries:
        result = delivery.result if isinstance(delivery.result, dict) else {}
        if result.get("status") != "stored":
            continue
        body = s3.get_object(Bucket=BUCKET, Key=result["record_key"])["Body"].read()
        path = out_dir / f"analysis-{result['analysis_id']}.json"
        path.write_bytes(body)
        found.append({"analysis_id": result["analysis_id"], "path": str(path), "symbols": result["symbols"]})
    return found


def _emails(env: EmbeddedAWS, out_dir: Path) -> list[dict]:
    """Write `report-<id>.eml` (as SES received it) and `report-<id>.html` for every email sent."""
    import email
    import email.policy

    from chalicelib.notify.mime import browser_html

    found = []
    for raw in env.sent_emails():
        message = email.message_from_bytes(raw, policy=email.policy.default)
        analysis_id = str(message["X-Analysis-Id"])
        eml, html = out_dir / f"report-{analysis_id}.eml", out_dir / f"report-{analysis_id}.html"
        eml.write_bytes(raw)
        html.write_text(browser_html(raw), encoding="utf-8")
        found.append(
            {
                "analysis_id": analysis_id,
                "subject": str(message["Subject"]),
                "to": [address.addr_spec for address in message["To"].addresses],
                "html_path": str(html),
                "eml_path": str(eml),
            }
        )
    return found


def _mirror_outputs(env: EmbeddedAWS, target: Path) -> None:
    """Copy what the pipeline wrote to S3 into the output folder, so it can be read locally."""
    s3 = env.client("s3")
    for prefix in _MIRRORED_PREFIXES:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            for item in page.get("Contents", []):
                local = target / item["Key"]
                local.parent.mkdir(parents=True, exist_ok=True)
                local.write_bytes(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())
