"""`python -m sandbox fetch`: the scheduled fetch's own code against any Twelve Data-compatible
endpoint, writing into the embedded bucket, then the pipeline to idle.

    python -m sandbox fetch --symbols AAPL,MSFT                          # the real API, your key
    python -m sandbox fetch --symbols AAPL --base-url http://127.0.0.1:8080   # a stand-in

The key comes from `TWELVEDATA_API_KEY` and goes into the embedded account's SecureString
parameter, from where the handler reads it, as deployed; without one, Twelve Data's public
`demo` key is used (it serves a few symbols, AAPL among them). `--out` and `--json` are `run`'s.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
from pathlib import Path

import click
import orjson

_PARAMETER = "/stock-insights/sandbox/twelvedata-api-key"
_DEMO_KEY = "demo"


@click.command()
@click.option("--symbols", help="Comma-separated symbols (default: FETCH_SYMBOLS).")
@click.option("--base-url", help="A Twelve Data-compatible API (default: TWELVEDATA_BASE_URL, else Twelve Data's).")
@click.option("--interval", default=None, help="Twelve Data interval (default: FETCH_INTERVAL, else 1day).")
@click.option("--out", "out_dir", default="out", show_default=True, type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (as `run --json`) on stdout.")
def fetch(symbols: str | None, base_url: str | None, interval: str | None, out_dir: str, as_json: bool) -> None:
    """Fetch SYMBOLS from Twelve Data into inputs/scheduled/ and run the pipeline on the file."""
    from chalicelib.fetch.twelvedata import parse_symbols

    wanted = parse_symbols(symbols or os.environ.get("FETCH_SYMBOLS", ""))
    if not wanted:
        raise click.UsageError("no symbols: pass --symbols AAPL,MSFT (or set FETCH_SYMBOLS)")
    key = os.environ.get("TWELVEDATA_API_KEY", "").strip()
    if not key:
        click.echo("TWELVEDATA_API_KEY is not set: using Twelve Data's public demo key", err=True)
        key = _DEMO_KEY
    settings = {"TWELVEDATA_API_KEY_PARAMETER": _PARAMETER}
    if base_url:
        settings["TWELVEDATA_BASE_URL"] = base_url
    if interval:
        settings["FETCH_INTERVAL"] = interval
    os.environ.update(settings)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not as_json:
        click.echo(f"Fetching {len(wanted)} symbol(s) from {os.environ.get('TWELVEDATA_BASE_URL') or 'Twelve Data'}")
    with open(out / "sandbox.log", "w") as log, contextlib.redirect_stdout(log):
        report = run_fetch(wanted, key, out)
    if as_json:
        body = {k: report[k] for k in ("fetch", "files", "analyses", "emails")}
        click.echo(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
    else:
        result = report["fetch"]
        click.echo(f"  wrote {result['key']}: {result['fetched']} of {result['symbols']} symbols fetched")
        if result["errors"]:
            click.echo(f"  per-symbol errors (listed in the report): {', '.join(result['errors'])}")
        for item in report["emails"]:
            click.echo(f"Report: {item['html_path']}")
    if report["failures"]:
        click.echo("The pipeline failed: " + "; ".join(report["failures"]), err=True)
    sys.exit(1 if report["failures"] else 0)


def run_fetch(symbols: list[str], api_key: str, out_dir: Path) -> dict:
    """In a fresh embedded account: the key in SSM, one scheduled fetch, the pipeline to idle."""
    from chalicelib.fetch.service import handle_schedule
    from sandbox.embedded import BUCKET, EmbeddedAWS
    from sandbox.runner import _analyses, _emails, _file_entry, _mirror_outputs

    report: dict = {"files": [], "analyses": [], "emails": [], "failures": []}
    with EmbeddedAWS() as env:
        env.client("ssm").put_parameter(Name=_PARAMETER, Value=api_key, Type="SecureString", Overwrite=True)
        event = {"source": "aws.events", "detail-type": "Scheduled Event", "time": f"{dt.datetime.now(dt.UTC):%FT%TZ}"}
        try:
            result = handle_schedule(event, env._context("fetch"), symbols=symbols)
        except Exception as exc:  # the handler failed as it would in Lambda: say so, no pipeline
            report["failures"].append(f"fetch: {type(exc).__name__}: {exc}")
            report["fetch"] = {"key": None, "symbols": len(symbols), "fetched": 0, "errors": symbols}
            return report
        report["fetch"] = result
        # The handler's put reached the bucket's notification, as in AWS: the pipeline takes over.
        etag = env.client("s3").head_object(Bucket=BUCKET, Key=result["key"])["ETag"].strip('"')
        deliveries = env.run_until_idle()
        report["failures"] += [f"{d.handler}: {d.error}" for d in deliveries if d.error]
        report["files"].append(_file_entry(f"s3://{BUCKET}/{result['key']}", result["key"], etag, deliveries))
        report["analyses"] += _analyses(env, deliveries, out_dir)
        report["emails"] = _emails(env, out_dir)
        _mirror_outputs(env, out_dir / "s3")
    return report
