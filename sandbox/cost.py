"""`python -m sandbox cost [--symbols N] [--model ID]`: what Bedrock insights would cost a month.

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


@click.command()
@click.option("--symbols", "symbol_count", default=50, show_default=True, type=click.IntRange(min=1))
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
    symbol_count: int, model_id: str, tokens_per_symbol_in: float | None, tokens_per_symbol_out: float | None
) -> None:
    """Monthly cost of Bedrock insights at 5, 20 and 100 runs a day, beside other models' prices."""
    from dataclasses import replace

    from chalicelib.analyze.cost import DAYS_PER_MONTH, PRICE_TABLE, RUNS_PER_DAY, base_model_id, monthly_table

    chosen = base_model_id(model_id)
    if chosen not in PRICE_TABLE:
        known = ", ".join(PRICE_TABLE)
        raise click.BadParameter(f"no list price for {model_id!r}; known: {known}", param_hint="--model")
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
