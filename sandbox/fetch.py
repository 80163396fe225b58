"""`python -m sandbox fetch`: the scheduled fetch's own code against any Twelve Data-compatible
endpoint, writing into the embedded bucket, then the pipeline to idle.

    python -m sandbox fetch --symbols AAPL,MSFT                          # the real API, your key
    python -m sandbox fetch --symbols AAPL --base-url http://127.0.0.1:8080   # a stand-in

The key comes from `TWELVEDATA_API_KEY` and goes into the embedded account's SecureString
parameter, from where the handler reads it, as deployed; without one, Twelve Data's public
`demo` key is used (it serves a few symbols, AAPL among them). `--out` and `--json` are `run`'s.
Each request, wait and retry is printed as it happens; `--base-url` and `--interval` are checked
before any request.
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


def _check_base_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from chalicelib.fetch.http import check_base_url

    value = value or os.environ.get("TWELVEDATA_BASE_URL") or None
    if value is None:
        return None
    try:
        return check_base_url(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _check_interval(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    from chalicelib.fetch.twelvedata import INTERVALS

    value = value or os.environ.get("FETCH_INTERVAL") or "1day"
    if value not in INTERVALS:
        raise click.BadParameter(f"{value!r} is not a Twelve Data interval; one of {', '.join(INTERVALS)}")
    return value


@click.command()
@click.option("--symbols", help="Comma-separated symbols, e.g. AAPL,MSFT (default: FETCH_SYMBOLS).")
@click.option(
    "--base-url",
    callback=_check_base_url,
    help="A Twelve Data-compatible API, http(s)://host[:port][/path] (default: TWELVEDATA_BASE_URL, "
    "else https://api.twelvedata.com). Checked before any request; redirects are not followed.",
)
@click.option(
    "--interval",
    callback=_check_interval,
    help="Twelve Data interval: 1min, 5min, 15min, 30min, 45min, 1h, 2h, 4h, 8h, 1day, 1week or 1month "
    "(default: FETCH_INTERVAL, else 1day). Checked before any request.",
)
@click.option(
    "--out",
    "out_dir",
    default="out",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the reports, analyses, the bucket's copy (s3/) and sandbox.log (the handlers' log) go.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object (as `run --json`, plus a `fetch` entry) on stdout; progress goes to stderr.",
)
def fetch(symbols: str | None, base_url: str | None, interval: str, out_dir: str, as_json: bool) -> None:
    """Fetch SYMBOLS from Twelve Data into inputs/scheduled/ and run the pipeline on the file.

    Prints a line per request, wait and retry. Exit status: 0 when at least one symbol was
    fetched and the pipeline ran, 1 when no symbol was fetched or the pipeline failed, 2 for a
    wrong option. The key comes from TWELVEDATA_API_KEY (else Twelve Data's public demo key)."""
    from chalicelib.fetch.twelvedata import parse_symbols

    wanted = parse_symbols(symbols or os.environ.get("FETCH_SYMBOLS", ""))
    if not wanted:
        raise click.UsageError("no symbols: pass --symbols AAPL,MSFT (or set FETCH_SYMBOLS)")
    key = os.environ.get("TWELVEDATA_API_KEY", "").strip()
    if not key:
        click.echo("TWELVEDATA_API_KEY is not set: using Twelve Data's public demo key", err=True)
        key = _DEMO_KEY
    settings = {"TWELVEDATA_API_KEY_PARAMETER": _PARAMETER, "FETCH_INTERVAL": interval}
    if base_url:
        settings["TWELVEDATA_BASE_URL"] = base_url
    os.environ.update(settings)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Progress is printed as it happens, on the terminal (stderr with --json: stdout holds the JSON),
    # while the handlers' own output goes to sandbox.log.
    stream = sys.stderr if as_json else sys.stdout

    def progress(line: str) -> None:
        print(f"  {line}", file=stream, flush=True)

    where = base_url or "https://api.twelvedata.com"
    progress(f"fetching {len(wanted)} symbol(s) at {interval} from {where}")
    with open(out / "sandbox.log", "w") as log, contextlib.redirect_stdout(log):
        report = run_fetch(wanted, key, out, progress)
    result = report["fetch"]
    if as_json:
        body = {k: report[k] for k in ("fetch", "files", "analyses", "emails")}
        click.echo(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
    else:
        if result["key"]:
            click.echo(f"  wrote {result['key']}: {result['fetched']} of {result['symbols']} symbols fetched")
        if result["errors"]:
            click.echo(f"  per-symbol errors (listed in the report): {', '.join(result['errors'])}")
        for item in report["emails"]:
            click.echo(f"Report: {item['html_path']}")
    if report["failures"]:
        click.echo("The pipeline failed: " + "; ".join(report["failures"]), err=True)
    if not result["fetched"]:
        click.echo(f"No symbol was fetched from {where}: see the lines above.", err=True)
    sys.exit(1 if report["failures"] or not result["fetched"] else 0)


def run_fetch(symbols: list[str], api_key: str, out_dir: Path, progress=None) -> dict:
    """In a fresh embedded account: the key in SSM, one scheduled fetch, the pipeline to idle."""
    from chalicelib.fetch.service import handle_schedule
    from sandbox.embedded import BUCKET, EmbeddedAWS
    from sandbox.runner import _analyses, _emails, _file_entry, _mirror_outputs, analysed_inputs

    report: dict = {"files": [], "analyses": [], "emails": [], "failures": []}
    with EmbeddedAWS() as env:
        env.client("ssm").put_parameter(Name=_PARAMETER, Value=api_key, Type="SecureString", Overwrite=True)
        event = {"source": "aws.events", "detail-type": "Scheduled Event", "time": f"{dt.datetime.now(dt.UTC):%FT%TZ}"}
        try:
            result = handle_schedule(event, env._context("fetch"), symbols=symbols, progress=progress)
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
        report["emails"] = _emails(env, out_dir, analysed_inputs(deliveries))
        _mirror_outputs(env, out_dir / "s3")
    return report
