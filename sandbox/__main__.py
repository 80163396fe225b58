"""`python -m sandbox run FILE… [--out DIR] [--json]` and `python -m sandbox demo [--out DIR]`."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from pathlib import Path

import click
import orjson

from chalicelib.analyze.insights import plural
from sandbox.cost import cost
from sandbox.fetch import fetch
from sandbox.outputs import out_option
from sandbox.serve import serve

SAMPLES = Path(__file__).parent / "samples"
DEMO_FILES = (
    SAMPLES / "twelvedata_5_stocks_1day.json",
    SAMPLES / "AAPL_1day_messy.csv",
    SAMPLES / "twelvedata_5_stocks_1day.json",  # the same content again: a duplicate
)


_BEDROCK_HELP = (
    "Write insights with Amazon Bedrock (Nova Lite) using your own AWS configuration for "
    "bedrock-runtime (credentials, region, AWS_ENDPOINT_URL_BEDROCK_RUNTIME); everything else stays embedded."
)


@click.group()
def cli() -> None:
    """Run Stock Insights end to end on an embedded AWS (moto): no AWS account needed."""


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@out_option(
    "Folder for this run's reports (named after each input), analyses, sandbox.log and s3/ (the bucket's "
    "copy); created if missing. What the previous run wrote there is replaced; nothing else is touched."
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object on stdout instead of progress lines (its fields: docs/sandbox.md).",
)
@click.option("--bedrock", is_flag=True, help=_BEDROCK_HELP)
def run(files: tuple[str, ...], out_dir: str, as_json: bool, bedrock: bool) -> None:
    """Upload each FILE to inputs/<basename>, in order, and run the pipeline to idle."""
    report = _run(list(files), Path(out_dir), quiet=as_json, bedrock=bedrock)
    if as_json:
        body = {k: report[k] for k in ("files", "analyses", "emails")}
        click.echo(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
    else:
        _print_outputs(report, Path(out_dir))
    if report["failures"]:
        click.echo("The pipeline failed: " + "; ".join(report["failures"]), err=True)
    sys.exit(1 if report["failures"] else 0)


def _print_outputs(report: dict, out: Path) -> None:
    """Where this run's files went (everything under `out`)."""
    click.echo("")
    click.echo(f"Outputs in {out}/ (the bucket's copy in {out / 's3'}/, handler logs in {out / 'sandbox.log'}):")
    for item in report["analyses"]:
        click.echo(f"  analysis: {item['path']}")
    for item in report["emails"]:
        click.echo(f"  report:   {item['html_path']}  (as sent: {Path(item['eml_path']).name})")
    if not report["emails"]:
        click.echo("  no report: no file was analysed")


@cli.command()
@out_option("Folder for the reports, analyses, sandbox.log and s3/, as for run.")
@click.option("--bedrock", is_flag=True, help=_BEDROCK_HELP)
def demo(out_dir: str, bedrock: bool) -> None:
    """The bundled sample: five real stocks, a messy CSV, and a duplicate upload."""
    out = Path(out_dir)
    source = "Amazon Bedrock" if bedrock else "offline insights"
    click.echo(f"Stock Insights demo: {len(DEMO_FILES)} uploads into an embedded AWS account ({source})")
    report = _run([str(p) for p in DEMO_FILES], out, quiet=False, bedrock=bedrock)
    click.echo("")
    click.echo("Outputs:")
    for entry in report["files"]:
        if entry["status"] != "processed":
            continue
        click.echo(f"  {out / 's3' / entry['processed_key']}")
        if entry["records"]["rejected"] or entry["symbol_errors"]:  # a clean file's rejects object is empty
            click.echo(f"  {out / 's3' / entry['rejects_key']}")
    for item in report["analyses"]:
        click.echo(f"  analysis: {item['path']}")
    for item in report["emails"]:
        click.echo(f"  email:    {item['eml_path']}  ({item['subject']})")
    click.echo(f"  logs:     {out / 'sandbox.log'}")
    if report["failures"]:
        click.echo("The pipeline failed: " + "; ".join(report["failures"]), err=True)
        sys.exit(1)
    click.echo("")
    for item in report["emails"]:
        click.echo(f"Report: {item['html_path']}")


def _run(files: list[str], out: Path, quiet: bool, bedrock: bool = False) -> dict:
    from sandbox.outputs import OutputFolderError, prepare
    from sandbox.runner import BedrockSetupError, real_bedrock_client, run_files

    try:
        prepare(out)
    except OutputFolderError as exc:  # one line, before any work: not a traceback
        click.echo(f"sandbox: {exc}", err=True)
        sys.exit(2)
    try:
        bedrock_client = real_bedrock_client() if bedrock else None
    except BedrockSetupError as exc:
        raise click.UsageError(str(exc)) from None

    console = sys.stdout
    _settle_imports()

    def progress(entry: dict) -> None:
        if quiet:
            return
        records = entry["records"]
        line = f"  {entry['file']} -> {entry['key']}: {entry['status']}"
        if entry["status"] == "processed":
            line += f" ({plural(records['input'], 'bar')}: {records['valid']:,} valid, {records['rejected']:,} rejected"
            line += f", {plural(entry['symbol_errors'], 'symbol error')})" if entry["symbol_errors"] else ")"
            if entry["reject_rules"]:
                line += " rules: " + ", ".join(f"{k}={v}" for k, v in entry["reject_rules"].items())
        elif entry.get("error"):
            line += f" ({entry['error']})"
        print(line, file=console, flush=True)

    # Handlers log JSON to stdout as they do in Lambda; keep that out of the user's terminal.
    # The cyclic GC stays off for the rest of the command (as ingest turns it off around its
    # work): the run makes little cyclic garbage, and the collections cost 0.3 s of CPU in a
    # 1,000,000-bar run, another 0.25 s when turned back on just before the process ends.
    gc.disable()
    with open(out / "sandbox.log", "w") as log, contextlib.redirect_stdout(log):
        return run_files(files, out, on_file=progress, bedrock_client=bedrock_client)


def _settle_imports() -> None:
    """Import what a run needs, then move those objects out of the cyclic GC's sight: the GC
    otherwise walks the modules of moto, boto3 and numpy again and again (0.3 s of CPU in a
    1,000,000-bar run), here and in the commands that keep it on."""
    import sandbox.embedded  # noqa: F401 - moto, boto3
    import sandbox.runner  # noqa: F401

    gc.collect()
    gc.freeze()


def main() -> None:
    """Run the command line, then leave without tearing the interpreter down: the files are
    written and closed, and freeing moto's in-memory account object by object took 0.25 to 0.5 s
    of a 1,000,000-bar run. Exit codes are click's."""
    try:
        cli(prog_name="python -m sandbox")
        code: object = 0
    except SystemExit as done:
        code = done.code
    if isinstance(code, str):  # sys.exit("message"): Python prints it and exits 1
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0)


cli.add_command(cost)
cli.add_command(fetch)
cli.add_command(serve)

if __name__ == "__main__":
    main()
