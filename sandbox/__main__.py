"""`python -m sandbox run FILE… [--out DIR] [--json]` and `python -m sandbox demo [--out DIR]`."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click
import orjson

SAMPLES = Path(__file__).parent / "samples"
DEMO_FILES = (
    SAMPLES / "twelvedata_5_stocks_1day.json",
    SAMPLES / "AAPL_1day_messy.csv",
    SAMPLES / "twelvedata_5_stocks_1day.json",  # the same content again: a duplicate
)


@click.group()
def cli() -> None:
    """Run Stock Insights end to end on an embedded AWS (moto): no AWS account needed."""


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out",
    "out_dir",
    default="out",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where reports and outputs go.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (CONTRACT section 5) on stdout.")
def run(files: tuple[str, ...], out_dir: str, as_json: bool) -> None:
    """Upload each FILE to inputs/<basename>, in order, and run the pipeline to idle."""
    report = _run(list(files), Path(out_dir), quiet=as_json)
    if as_json:
        body = {k: report[k] for k in ("files", "analyses", "emails")}
        click.echo(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
    sys.exit(1 if report["failures"] else 0)


@cli.command()
@click.option("--out", "out_dir", default="out", show_default=True, type=click.Path(file_okay=False))
def demo(out_dir: str) -> None:
    """The bundled sample: five real stocks, a messy CSV, and a duplicate upload."""
    out = Path(out_dir)
    click.echo(f"Stock Insights demo: {len(DEMO_FILES)} uploads into an embedded AWS account")
    report = _run([str(p) for p in DEMO_FILES], out, quiet=False)
    click.echo("")
    click.echo("Outputs:")
    for entry in report["files"]:
        for name in ("processed_key", "rejects_key"):
            if entry.get(name) and entry["status"] == "processed":
                click.echo(f"  {out / 's3' / entry[name]}")
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


def _run(files: list[str], out: Path, quiet: bool) -> dict:
    from sandbox.runner import run_files

    out.mkdir(parents=True, exist_ok=True)
    console = sys.stdout

    def progress(entry: dict) -> None:
        if quiet:
            return
        records = entry["records"]
        line = f"  {entry['file']} -> {entry['key']}: {entry['status']}"
        if entry["status"] == "processed":
            line += f" ({records['input']} bars: {records['valid']} valid, {records['rejected']} rejected"
            line += f", {entry['symbol_errors']} symbol errors)" if entry["symbol_errors"] else ")"
            if entry["reject_rules"]:
                line += " rules: " + ", ".join(f"{k}={v}" for k, v in entry["reject_rules"].items())
        elif entry.get("error"):
            line += f" ({entry['error']})"
        print(line, file=console, flush=True)

    # Handlers log JSON to stdout as they do in Lambda; keep that out of the user's terminal.
    with open(out / "sandbox.log", "w") as log, contextlib.redirect_stdout(log):
        return run_files(files, out, on_file=progress)


if __name__ == "__main__":
    cli(prog_name="python -m sandbox")
