"""`python -m sandbox cost [WORKLOAD OPTIONS] [--measured FILE]`: the whole monthly AWS bill.

The bill (`sandbox.bill`, priced with `sandbox.prices`) is computed from a sandbox run of a
generated file of the stated workload (`sandbox.measure`), or from a saved measurement
(`--measured`; `--save-measurement` writes one). Then what Bedrock insights would cost with other
models, at 5, 20 and 100 runs a day (`--bedrock-only` prints only that table, without a sandbox run).

Input tokens are measured, not guessed: the bundled sample goes through the ingest and analyze
cores, the real prompts are built from its metrics (`chalicelib.analyze.prompts`), and the
project's token estimator counts them: the tokens each symbol's line adds, the fixed part of each
batch call (system prompt, tool schema, header) shared by `BEDROCK_BATCH_SIZE` symbols, and the
executive-summary call once per run. Output tokens are an assumption, derived from the lengths
the tool schema asks for (`prompts.EXPECTED_OUTPUT_TOKENS_PER_SYMBOL`: 60 % of the asked length
at 4 characters a token, plus the entry's JSON). The estimator errs high; an analysis record's
`input_tokens` and `output_tokens` (from Bedrock's `usage`) are the real figures, and can be given
back here with `--tokens-per-symbol-in/--out`.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from chalicelib.analyze.cost import DEFAULT_MODEL_ID

SAMPLE = Path(__file__).parent / "samples" / "twelvedata_5_stocks_1day.json"


def measure_profile(sample: Path = SAMPLE, model_id: str | None = None):
    """A `TokenProfile` measured on `sample` with the prompts the analyzer would send."""
    from chalicelib.analyze import prompts
    from chalicelib.analyze.cost import TokenProfile
    from chalicelib.analyze.insights import OfflineInsights
    from chalicelib.analyze.service import analyze
    from chalicelib.config import Settings
    from chalicelib.ingest.pipeline import ingest_document

    settings = Settings()
    model_id = model_id or DEFAULT_MODEL_ID
    outcome = ingest_document(
        sample.read_bytes(),
        f"inputs/{sample.name}",
        int(time.time()),
        max_bytes=settings.max_input_bytes,
        future_slack_s=int(settings.future_slack_hours * 3600),
    )
    detail = {"bucket": "sandbox", "input_key": f"inputs/{sample.name}", "etag": "sample", "processed_key": "-"}
    record = analyze(outcome.processed, detail, settings, OfflineInsights())
    symbols = {s: {k: v for k, v in m.items() if k != "insight"} for s, m in record["symbols"].items()}
    rows = {s: prompts.symbol_row_tokens(s, m) for s, m in symbols.items()}
    one_call = prompts.request_input_tokens(prompts.symbol_request(model_id, symbols))
    return TokenProfile(
        input_per_symbol=sum(rows.values()) / len(rows),
        output_per_symbol=prompts.EXPECTED_OUTPUT_TOKENS_PER_SYMBOL,
        input_per_call=one_call - sum(rows.values()),
        output_per_call=prompts.EXPECTED_OUTPUT_TOKENS_PER_CALL,
        batch_size=min(settings.bedrock_batch_size, prompts.MAX_BATCH_SIZE),
        input_per_run=prompts.request_input_tokens(prompts.summary_request(model_id, symbols, record["aggregates"])),
        output_per_run=prompts.EXPECTED_OUTPUT_TOKENS_SUMMARY,
    )


DEFAULT_MEASUREMENT = Path(__file__).parent / "measurements" / "workload-default.json"


@click.command()
@click.option(
    "--symbols",
    "symbol_count",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="Symbols in each file of the workload.",
)
@click.option(
    "--bars-per-symbol", default=30, show_default=True, type=click.IntRange(min=1), help="Bars per symbol in each file."
)
@click.option(
    "--runs-per-day",
    default=5,
    show_default=True,
    type=click.IntRange(min=1),
    help="Files uploaded or fetched a day (a run, one report each).",
)
@click.option(
    "--recipients", default=3, show_default=True, type=click.IntRange(min=1), help="Addresses each report goes to."
)
@click.option("--page-views", default=20, show_default=True, type=click.IntRange(min=0), help="Archive pages a day.")
@click.option("--retention-days", default=30, show_default=True, type=click.IntRange(min=1), help="Log retention.")
@click.option("--months", default=12, show_default=True, type=click.IntRange(min=1), help="Age of the stored data.")
@click.option("--budget", is_flag=True, help="Include the monthly budget alarm (monthly_budget_usd).")
@click.option("--fetch", is_flag=True, help="Include the scheduled Twelve Data fetch (fetch_symbols).")
@click.option(
    "--measured",
    "measured_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Price this saved measurement instead of running the sandbox (its symbols and bars apply).",
)
@click.option("--save-measurement", type=click.Path(dir_okay=False, path_type=Path), help="Write the measurement here.")
@click.option("--bedrock-only", is_flag=True, help="Only the Bedrock models table (no sandbox run).")
@click.option(
    "--model",
    "model_id",
    default=DEFAULT_MODEL_ID,
    show_default=True,
    help="Model or inference profile id to price (marked * in the table).",
)
@click.option(
    "--tokens-per-symbol-in",
    type=click.FloatRange(min=0),
    help="Input tokens per symbol, overheads included (e.g. a record's input_tokens / symbols).",
)
@click.option(
    "--tokens-per-symbol-out",
    type=click.FloatRange(min=0),
    help="Output tokens per symbol, overheads included (e.g. a record's output_tokens / symbols).",
)
def cost(
    symbol_count: int,
    bars_per_symbol: int,
    runs_per_day: int,
    recipients: int,
    page_views: int,
    retention_days: int,
    months: int,
    budget: bool,
    fetch: bool,
    measured_path: Path | None,
    save_measurement: Path | None,
    bedrock_only: bool,
    model_id: str,
    tokens_per_symbol_in: float | None,
    tokens_per_symbol_out: float | None,
) -> None:
    """The monthly AWS bill of a workload, line by line, then Bedrock's cost with other models."""
    from chalicelib.analyze.cost import PRICE_TABLE, base_model_id

    if base_model_id(model_id) not in PRICE_TABLE:
        known = ", ".join(PRICE_TABLE)
        raise click.BadParameter(f"no list price for {model_id!r}; known: {known}", param_hint="--model")
    if not bedrock_only:
        from sandbox import measure as measuring
        from sandbox.bill import Workload, monthly_bill
        from sandbox.cost_report import bill_text, deployment

        if measured_path is not None:
            stated, measured = measuring.load(measured_path)
            symbol_count, bars_per_symbol = stated["symbols"], stated["bars_per_symbol"]
            source = str(measured_path)
        else:
            click.echo(f"measuring {symbol_count} x {bars_per_symbol} bars in the sandbox …", err=True)
            measured = measuring.measure(symbol_count, bars_per_symbol)
            source = f"a sandbox run of a generated {symbol_count} x {bars_per_symbol}-bar file"
        if save_measurement is not None:
            measuring.save(measured, save_measurement, {"symbols": symbol_count, "bars_per_symbol": bars_per_symbol})
        workload = Workload(symbol_count, bars_per_symbol, runs_per_day, recipients, page_views, retention_days, months)
        setup = deployment(fetch=fetch, budget=budget)
        click.echo(bill_text(monthly_bill(workload, measured, setup), measured, setup, source))
        click.echo("")
    _bedrock_table(symbol_count, model_id, tokens_per_symbol_in, tokens_per_symbol_out)


def _bedrock_table(
    symbol_count: int, model_id: str, tokens_per_symbol_in: float | None, tokens_per_symbol_out: float | None
) -> None:
    """Monthly cost of Bedrock insights at 5, 20 and 100 runs a day, beside other models' prices."""
    from dataclasses import replace

    from chalicelib.analyze.cost import DAYS_PER_MONTH, RUNS_PER_DAY, base_model_id, monthly_table

    chosen = base_model_id(model_id)
    profile = measure_profile(model_id=model_id)
    if tokens_per_symbol_in is not None:
        profile = replace(profile, input_per_symbol=tokens_per_symbol_in, input_per_call=0.0, input_per_run=0.0)
    if tokens_per_symbol_out is not None:
        profile = replace(profile, output_per_symbol=tokens_per_symbol_out, output_per_call=0.0, output_per_run=0.0)

    tokens_in, tokens_out = profile.run_tokens(symbol_count)
    click.echo(f"Bedrock insights: {symbol_count} symbols a run, {DAYS_PER_MONTH}-day month")
    if tokens_per_symbol_in is None:
        click.echo(
            f"  input  {profile.amortized_input_per_symbol():6.1f} tokens/symbol, measured on {SAMPLE.name}: "
            f"{profile.input_per_symbol:.1f} per data line + {profile.input_per_call:.0f} per call "
            f"/ {profile.batch_size} symbols a call; + {profile.input_per_run:.0f} a run (executive summary)"
        )
    else:
        click.echo(f"  input  {tokens_per_symbol_in:6.1f} tokens/symbol (given)")
    if tokens_per_symbol_out is None:
        click.echo(
            f"  output {profile.output_per_symbol:6.1f} tokens/symbol, assumed: 60% of the asked text lengths; "
            f"+ {profile.output_per_call:.0f} per call, + {profile.output_per_run:.0f} a run"
        )
    else:
        click.echo(f"  output {tokens_per_symbol_out:6.1f} tokens/symbol (given)")
    click.echo(f"  one run: {tokens_in:,} input + {tokens_out:,} output tokens")
    click.echo("")

    rows = monthly_table(profile, symbol_count)
    rows.sort(key=lambda row: (row["model_id"] != chosen, row["per_run"]))
    runs = [f"{n}/day" for n in RUNS_PER_DAY]
    header = f"  {'model':<30}{'$/1K in':>10}{'$/1K out':>10}{'per run':>11}" + "".join(f"{r:>12}" for r in runs)
    click.echo(header)
    click.echo("  " + "-" * (len(header) - 2))
    for row in rows:
        mark = " *" if row["model_id"] == chosen else ""
        prices = row["prices"]
        line = (
            f"  {row['name'] + mark:<30}{prices.input_per_1k:>10.6f}{prices.output_per_1k:>10.5f}"
            f"{'$' + format(row['per_run'], '.4f'):>11}"
        )
        line += "".join(f"{'$' + format(row['monthly'][n], ',.2f'):>12}" for n in RUNS_PER_DAY)
        click.echo(line)
    click.echo("")
    click.echo(
        "  Prices: on-demand list prices in USD, us-east-1, 2025 (chalicelib/analyze/cost.py); they change "
        "and other regions differ."
    )
