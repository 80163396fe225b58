"""The bill as `python -m sandbox cost` prints it, and the deployment it is priced for."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from sandbox.bill import MODES, Bill, Deployment, Measured
from sandbox.prices import PRICES, READ, REGION

DEPLOYED_FUNCTIONS = ("ingest", "analyze", "notify", "api_handler")
# A bill quoted in docs/cost.md: the command's arguments, then its output in a text block.
BLOCK = re.compile(r"<!-- sandbox cost (?P<args>[^>]*) -->\n```text\n(?P<text>.*?)\n```", re.S)


def deployment(stage: str = "dev", fetch: bool = False, budget: bool = False) -> Deployment:
    """What a stage's deployment creates: each function at the memory `.chalice/config.json` gives it
    (both deploy paths read it), the alarms of `infra.resources`, the key, a budget if asked."""
    from infra.resources import resource_specs
    from sandbox.lambda_runtime import function_config

    functions = (*DEPLOYED_FUNCTIONS, "fetch") if fetch else DEPLOYED_FUNCTIONS
    specs = resource_specs("stock-insights", stage, fetch_symbols="AAPL" if fetch else None)
    return Deployment(
        memory_mb={fn: int(function_config(fn, stage).get("lambda_memory_size", 128)) for fn in functions},
        alarms=len(specs["alarms"]),
        kms_keys=1,
        budgets=1 if budget else 0,
    )


def _money(usd: float) -> str:
    """Cents, or four decimals under ten cents: the small lines still show what moves them."""
    if usd == 0 or usd >= 0.1:
        return f"${usd:,.2f}"
    return f"${usd:.4f}"


def _quantity(value: float) -> str:
    if value == 0 or value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.4g}"


def bill_text(bill: Bill, measured: Measured, deployment: Deployment, source: str) -> str:
    """The bill, a line per item, its totals and where each figure came from."""
    w = bill.workload
    out = [
        f"Monthly AWS bill, {REGION} list prices read {READ} (sandbox/prices.py), {w.days_per_month}-day month",
        f"  workload: {w.symbols} symbols x {w.bars_per_symbol} bars a file, {w.runs_per_day} files a day "
        f"({w.runs:,} runs), {w.recipients} recipient{'' if w.recipients == 1 else 's'}, "
        f"{w.page_views_per_day} archive page views a day, "
        f"logs kept {w.retention_days} days, storage after {w.months} months",
        f"  measured: {source} ({measured.file_bytes:,}-byte file)",
        "  memory:   " + ", ".join(f"{fn} {mb:,} MB" for fn, mb in sorted(deployment.memory_mb.items())),
        "",
    ]
    header = f"  {'service':<12}{'item':<36}{'quantity':>12}  {'unit':<28}{'offline':>10}{'bedrock':>10}  basis"
    out += [header, "  " + "-" * (len(header) - 2)]
    for line in bill.lines:
        unit = line.unit if len(line.unit) <= 27 else line.unit[:26] + "…"
        out.append(
            f"  {line.service:<12}{line.item:<36}{_quantity(line.quantity):>12}  {unit:<28}"
            f"{_money(line.usd['offline']):>10}{_money(line.usd['bedrock']):>10}  {line.basis}"
            + (f": {line.note}" if line.note else "")
        )
    out.append("  " + "-" * (len(header) - 2))
    totals = "".join(f"{'$' + format(bill.total(mode), ',.2f'):>10}" for mode in MODES)
    free = "".join(f"{'$' + format(bill.total(mode, free_tier=True), ',.2f'):>10}" for mode in MODES)
    out.append(f"  {'Total a month (list prices)':<88}{totals}")
    out.append(f"  {'Total after the always-free tiers (if nothing else in the account uses them)':<88}{free}")
    out.append("")
    out.append(
        "  measured: durations (wall clock in the sandbox, with the embedded AWS's own work: they err high), "
        "S3 requests and bytes, DynamoDB units from item sizes, events, emails, log bytes, EMF metrics, "
        "input tokens. assumed: output tokens, Bedrock latency, KMS requests, Lambda's own log lines, "
        "no failures (DLQs, alarm notifications). deployed: counted from infra.resources."
    )
    checked = Counter(price.checked.split(":")[0] for price in PRICES.values())
    out.append(
        f"  prices: {checked['page']} read on AWS pages, {checked['copy']} on dated copies of them, "
        f"{checked['not re-read']} not re-read (each named in sandbox/prices.py)"
    )
    return "\n".join(out)


def refresh_blocks(text: str, run: Callable[[list[str]], str]) -> str:
    """`text` (docs/cost.md) with each `<!-- sandbox cost ARGS -->` block replaced by `run(ARGS)`."""
    import shlex

    def replace(match: re.Match) -> str:
        return f"<!-- sandbox cost {match['args']} -->\n```text\n{run(shlex.split(match['args']))}\n```"

    return BLOCK.sub(replace, text)


def main(argv: list[str] | None = None) -> int:
    """`python -m sandbox.cost_report docs/cost.md`: rewrite the page's bills from the command."""
    import sys
    from pathlib import Path

    from click.testing import CliRunner

    from sandbox.cost import cost

    def run(args: list[str]) -> str:
        result = CliRunner().invoke(cost, args)
        if result.exit_code != 0:
            raise SystemExit(result.output)
        return result.output.rstrip("\n")

    path = Path((argv if argv is not None else sys.argv[1:])[0])
    path.write_text(refresh_blocks(path.read_text(), run))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
