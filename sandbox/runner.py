"""Run files through the embedded pipeline and describe the outcome (docs/sandbox.md)."""

from __future__ import annotations

import os
import posixpath
import shutil
from pathlib import Path
from typing import Any

from sandbox.embedded import BUCKET, EmbeddedAWS

# The output folder's own files: a run replaces them (the user's other files are left alone).
_OWN_OUTPUTS = ("analysis-*.json", "report-*.html", "report-*.eml")
_NOT_MIRRORED = "inputs/"
_COPY_PIECE = 1 << 20  # the user's own uploads; everything the pipeline wrote is copied


def run_files(
    paths: list[str], out_dir: Path, on_file: Any | None = None, bedrock: bool = False, bedrock_client: Any = None
) -> dict:
    """Upload each file to `inputs/<basename>` in order, run to idle after each, and report.

    With `bedrock` (or a `bedrock_client` already built), insights come from the real Bedrock."""
    out_dir.mkdir(parents=True, exist_ok=True)
    clear_previous_outputs(out_dir)
    report: dict[str, list] = {"files": [], "analyses": [], "emails": []}
    failures: list[str] = []
    if bedrock and bedrock_client is None:
        bedrock_client = real_bedrock_client()
    with EmbeddedAWS(bedrock_client=bedrock_client) as env:
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


class BedrockSetupError(Exception):
    """`--bedrock` cannot work with the caller's AWS configuration (no region, say)."""


def real_bedrock_client() -> Any:
    """A bedrock-runtime client from the caller's own AWS configuration, built before the
    embedded account replaces the environment (credentials, region and endpoint are read now).

    The region is `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the profile's, as the AWS CLI
    reads them (boto3 alone ignores `AWS_REGION`)."""

    import boto3

    from chalicelib.aws import bedrock_config
    from chalicelib.config import load_settings

    config = bedrock_config(load_settings(os.environ))
    session = boto3.session.Session()
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or session.region_name
    if not region:
        raise BedrockSetupError(
            "--bedrock needs an AWS region for Bedrock: set AWS_REGION (or AWS_DEFAULT_REGION), "
            "or `region` in your AWS profile, e.g. AWS_REGION=us-east-1"
        )
    return session.client("bedrock-runtime", region_name=region, config=config)


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


def clear_previous_outputs(out_dir: Path) -> None:
    """Remove a previous run's reports, analyses and bucket copy, so the folder shows this run only."""
    import shutil

    for pattern in _OWN_OUTPUTS:
        for path in out_dir.glob(pattern):
            path.unlink()
    if (out_dir / "s3").is_dir():
        shutil.rmtree(out_dir / "s3")


def _mirror_outputs(env: EmbeddedAWS, target: Path) -> None:
    """Copy what the pipeline wrote to the bucket (all but the uploads under `inputs/`: outputs,
    markers, quarantine, analyses) into the output folder, so it can be read locally."""
    s3 = env.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            if item["Key"].startswith(_NOT_MIRRORED):
                continue
            local = target / item["Key"]
            local.parent.mkdir(parents=True, exist_ok=True)
            with local.open("wb") as copy:  # in pieces: no second copy of a big object in memory
                shutil.copyfileobj(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"], copy, _COPY_PIECE)
