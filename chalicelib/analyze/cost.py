"""What insights cost: a price table, the cost of one analysis, and a monthly estimate (pure).

Prices are on-demand list prices in USD per 1,000 tokens for us-east-1 (and the US cross-region
inference profiles), as published on the Amazon Bedrock pricing page in 2025. They change, and
other regions differ: the analyzer's own prices are settings (`BEDROCK_PRICE_INPUT_PER_1K`,
`BEDROCK_PRICE_OUTPUT_PER_1K`); this table is the default and the comparison.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from chalicelib.config import Settings

DEFAULT_MODEL_ID = Settings.bedrock_model_id  # the settings' defaults are Nova Lite's list prices
RUNS_PER_DAY = (5, 20, 100)
DAYS_PER_MONTH = 30


@dataclass(frozen=True)
class Prices:
    """USD per 1,000 input and output tokens."""

    input_per_1k: float
    output_per_1k: float


NOVA_LITE = Prices(Settings.bedrock_price_input_per_1k, Settings.bedrock_price_output_per_1k)

# model id -> (display name, prices); list prices, 2025, may change.
PRICE_TABLE: dict[str, tuple[str, Prices]] = {
    "amazon.nova-micro-v1:0": ("Amazon Nova Micro", Prices(0.000035, 0.00014)),
    DEFAULT_MODEL_ID: ("Amazon Nova Lite", NOVA_LITE),
    "amazon.nova-pro-v1:0": ("Amazon Nova Pro", Prices(0.0008, 0.0032)),
    "anthropic.claude-3-haiku-20240307-v1:0": ("Anthropic Claude 3 Haiku", Prices(0.00025, 0.00125)),
    "anthropic.claude-3-5-haiku-20241022-v1:0": ("Anthropic Claude 3.5 Haiku", Prices(0.0008, 0.004)),
    "anthropic.claude-3-5-sonnet-20240620-v1:0": ("Anthropic Claude 3.5 Sonnet", Prices(0.003, 0.015)),
}

# Cross-region inference profiles prefix the model id with a geography: us.amazon.nova-lite-v1:0.
_PROFILE_PREFIX = re.compile(r"^(us|us-gov|eu|apac|ca|jp|au|global)\.(?=[a-z0-9-]+\.)")


def base_model_id(model_id: str) -> str:
    """`us.amazon.nova-lite-v1:0` -> `amazon.nova-lite-v1:0`; a plain model id is returned as is."""
    return _PROFILE_PREFIX.sub("", model_id, count=1)


def prices_for(model_id: str) -> Prices | None:
    """The list price of a model id or inference profile id, if the table has it."""
    entry = PRICE_TABLE.get(base_model_id(model_id))
    return entry[1] if entry else None


def cost_usd(input_tokens: int, output_tokens: int, prices: Prices) -> float:
    """The price of one request (or a sum of them), rounded to 1e-10 USD to drop float noise."""
    return round(input_tokens / 1000 * prices.input_per_1k + output_tokens / 1000 * prices.output_per_1k, 10)


@dataclass(frozen=True)
class TokenProfile:
    """Tokens of one analysis as a function of its symbol count.

    `*_per_symbol` is what each symbol adds; `*_per_call` the fixed part of each batch call
    (system prompt, tool schema, scaffolding), with `batch_size` symbols per call; `*_per_run`
    the executive-summary call, once per analysis.
    """

    input_per_symbol: float
    output_per_symbol: float
    input_per_call: float = 0.0
    output_per_call: float = 0.0
    batch_size: int = 1
    input_per_run: float = 0.0
    output_per_run: float = 0.0

    def run_tokens(self, symbols: int) -> tuple[int, int]:
        """(input, output) tokens of one analysis of `symbols` symbols."""
        calls = math.ceil(symbols / self.batch_size) if symbols else 0
        tokens_in = symbols * self.input_per_symbol + calls * self.input_per_call + self.input_per_run
        tokens_out = symbols * self.output_per_symbol + calls * self.output_per_call + self.output_per_run
        return math.ceil(tokens_in), math.ceil(tokens_out)

    def amortized_input_per_symbol(self) -> float:
        """Input tokens per symbol with the per-call overhead shared across a full batch."""
        return self.input_per_symbol + self.input_per_call / self.batch_size


def monthly_cost(
    profile: TokenProfile, symbols: int, runs_per_day: int, prices: Prices, days: int = DAYS_PER_MONTH
) -> float:
    """USD per month for `runs_per_day` analyses of `symbols` symbols each."""
    tokens_in, tokens_out = profile.run_tokens(symbols)
    return round(cost_usd(tokens_in, tokens_out, prices) * runs_per_day * days, 6)


def monthly_table(
    profile: TokenProfile,
    symbols: int,
    models: dict[str, tuple[str, Prices]] | None = None,
    runs_per_day: tuple[int, ...] = RUNS_PER_DAY,
    days: int = DAYS_PER_MONTH,
) -> list[dict]:
    """One row per model: its name, prices, cost per run and per month at each runs-per-day."""
    rows = []
    tokens_in, tokens_out = profile.run_tokens(symbols)
    for model_id, (name, prices) in (models or PRICE_TABLE).items():
        rows.append(
            {
                "model_id": model_id,
                "name": name,
                "prices": prices,
                "per_run": cost_usd(tokens_in, tokens_out, prices),
                "monthly": {n: monthly_cost(profile, symbols, n, prices, days) for n in runs_per_day},
            }
        )
    return rows
