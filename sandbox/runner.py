"""Run files through the embedded pipeline and describe the outcome (docs/sandbox.md)."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import Any

from sandbox import outputs
from sandbox.embedded import BUCKET, EmbeddedAWS

_NOT_MIRRORED = "inputs/"


def run_files(
    paths: list[str], out_dir: Path, on_file: Any | None = None, bedrock: bool = False, bedrock_client: Any = None
) -> dict:
    """Upload each file to `inputs/<basename>` in order, run to idle after each, and report.

    With `bedrock` (or a `bedrock_client` already built), insights come from the real Bedrock."""
    outputs.prepare(out_dir)
    outputs.clear_previous(out_dir)  # what the previous run wrote, and nothing else
    report: dict[str, list] = {"files": [], "analyses": [], "emails": []}
    failures: list[str] = []
    written: list[Path] = []
    inputs: dict[str, str] = {}  # analysis id -> the input key it came from
    if bedrock and bedrock_client is None:
        bedrock_client = real_bedrock_client()
    try:
        with EmbeddedAWS(bedrock_client=bedrock_client) as env:
            for path in paths:
                key = f"inputs/{posixpath.basename(str(path))}"
                etag = env.upload(key, Path(path).read_bytes())
                deliveries = env.run_until_idle()
                failures += [f"{d.handler}: {d.error}" for d in deliveries if d.error]
                entry = _file_entry(str(path), key, etag, deliveries)
                report["files"].append(entry)
                inputs.update(analysed_inputs(deliveries))
                inputs.setdefault(notice_id(key, etag), key)  # a quarantined file's failure notice
                analyses = _analyses(env, deliveries, out_dir)
                written += [Path(item["path"]) for item in analyses]
                report["analyses"] += analyses
                if on_file:
                    on_file(entry)
            report["emails"] = _emails(env, out_dir, inputs)
            written += [Path(e[k]) for e in report["emails"] for k in ("html_path", "eml_path")]
            written += _mirror_outputs(env, out_dir / "s3")
    finally:
        outputs.record(out_dir, written)
    report["failures"] = failures
    return report


def analysed_inputs(deliveries: list) -> dict[str, str]:
    """analysis id -> the key of the input it analysed, from the analyze deliveries."""
    found = {}
    for delivery in deliveries:
        result = delivery.result if isinstance(delivery.result, dict) else {}
        if delivery.handler == "analyze" and result.get("analysis_id"):
            detail = delivery.event.get("detail") or {}
            found[result["analysis_id"]] = str(detail.get("object_key") or detail.get("input_key") or "")
    return found


def notice_id(key: str, etag: str) -> str:
    """The id of the failure notice ingest stores for a quarantined file."""
    from chalicelib.analysis_store import NOTICE_PREFIX
    from chalicelib.analyze.record import analysis_id_for

    return NOTICE_PREFIX + analysis_id_for(BUCKET, key, etag)


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


def _emails(env: EmbeddedAWS, out_dir: Path, inputs: dict[str, str] | None = None) -> list[dict]:
    """Write `report-<input>.eml` (as SES received it) and `report-<input>.html` for every email
    sent, each named after the input it reports on (`inputs`: analysis id -> input key)."""
    import email
    import email.policy

    from chalicelib.notify.mime import browser_html

    raws = env.sent_emails()
    messages = [email.message_from_bytes(raw, policy=email.policy.default) for raw in raws]
    ids = [str(message["X-Analysis-Id"]) for message in messages]
    names = outputs.report_names([(i, (inputs or {}).get(i) or i) for i in ids])
    found = []
    for raw, message, analysis_id in zip(raws, messages, ids, strict=True):
        eml, html = out_dir / f"{names[analysis_id]}.eml", out_dir / f"{names[analysis_id]}.html"
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


def _mirror_outputs(env: EmbeddedAWS, target: Path) -> list[Path]:
    """Copy what the pipeline wrote to the bucket (all but the uploads under `inputs/`: outputs,
    markers, quarantine, analyses) into the output folder, so it can be read locally; returns the
    files written. Each object is written straight from the bytes moto holds (no GetObject: that
    made two more copies of the 150 MiB processed file of a million bars, 0.3 s)."""
    written = []
    for key, data in env.stored_objects():
        if key.startswith(_NOT_MIRRORED):
            continue
        local = target / key
        local.parent.mkdir(parents=True, exist_ok=True)
        with local.open("wb") as copy, data as view:
            copy.write(view)
        written.append(local)
    return written
