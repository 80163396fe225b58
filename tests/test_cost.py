"""Token and cost arithmetic, the price table, and the `cost` command."""

from __future__ import annotations

import math

import pytest
from click.testing import CliRunner

from chalicelib.analyze import prompts
from chalicelib.analyze.cost import (
    NOVA_LITE,
    PRICE_TABLE,
    Prices,
    TokenProfile,
    base_model_id,
    cost_usd,
    monthly_cost,
    monthly_table,
    prices_for,
)
from chalicelib.config import Settings


def test_nova_lite_is_the_default_price_and_matches_the_settings():
    assert NOVA_LITE == Prices(0.00006, 0.00024)
    settings = Settings()
    assert Prices(settings.bedrock_price_input_per_1k, settings.bedrock_price_output_per_1k) == NOVA_LITE
    assert prices_for(settings.bedrock_model_id) == NOVA_LITE


@pytest.mark.parametrize(
    ("tokens_in", "tokens_out", "usd"),
    [(0, 0, 0.0), (1000, 0, 0.00006), (0, 1000, 0.00024), (1_000_000, 100_000, 0.084), (1, 1, 0.0000003)],
)
def test_cost_is_tokens_times_the_price_per_thousand(tokens_in, tokens_out, usd):
    assert cost_usd(tokens_in, tokens_out, NOVA_LITE) == pytest.approx(usd, abs=1e-12)


def test_inference_profiles_are_priced_as_their_model():
    assert base_model_id("us.amazon.nova-lite-v1:0") == "amazon.nova-lite-v1:0"
    assert base_model_id("eu.amazon.nova-lite-v1:0") == "amazon.nova-lite-v1:0"
    assert base_model_id("apac.anthropic.claude-3-haiku-20240307-v1:0") == "anthropic.claude-3-haiku-20240307-v1:0"
    assert base_model_id("amazon.nova-lite-v1:0") == "amazon.nova-lite-v1:0"
    assert prices_for("us.amazon.nova-lite-v1:0") == NOVA_LITE
    assert prices_for("mistral.unknown-v1:0") is None


def test_the_comparison_table_has_the_other_models_at_their_list_prices():
    names = {name for name, _ in PRICE_TABLE.values()}
    assert {"Amazon Nova Micro", "Amazon Nova Lite", "Amazon Nova Pro", "Anthropic Claude 3 Haiku"} <= names
    assert PRICE_TABLE["amazon.nova-micro-v1:0"][1] == Prices(0.000035, 0.00014)
    assert PRICE_TABLE["amazon.nova-pro-v1:0"][1] == Prices(0.0008, 0.0032)
    assert PRICE_TABLE["anthropic.claude-3-haiku-20240307-v1:0"][1] == Prices(0.00025, 0.00125)


def test_run_tokens_count_symbols_calls_and_the_summary():
    profile = TokenProfile(
        input_per_symbol=50, output_per_symbol=150, input_per_call=800, output_per_call=20, batch_size=10,
        input_per_run=600, output_per_run=150,
    )  # fmt: skip
    assert profile.run_tokens(0) == (600, 150)
    assert profile.run_tokens(10) == (50 * 10 + 800 + 600, 150 * 10 + 20 + 150)
    assert profile.run_tokens(11) == (50 * 11 + 2 * 800 + 600, 150 * 11 + 2 * 20 + 150)  # a second call
    assert profile.run_tokens(2000) == (50 * 2000 + 200 * 800 + 600, 150 * 2000 + 200 * 20 + 150)
    assert profile.amortized_input_per_symbol() == 130


def test_monthly_cost_is_the_run_cost_times_runs_a_day_times_30_days():
    profile = TokenProfile(input_per_symbol=100, output_per_symbol=50)
    per_run = cost_usd(100 * 1000, 50 * 1000, NOVA_LITE)
    assert per_run == pytest.approx(0.018)
    assert monthly_cost(profile, 1000, 5, NOVA_LITE) == pytest.approx(per_run * 5 * 30) == pytest.approx(2.7)
    assert monthly_cost(profile, 1000, 100, NOVA_LITE, days=31) == pytest.approx(per_run * 100 * 31)


def test_monthly_table_has_every_model_at_5_20_and_100_runs_a_day():
    profile = TokenProfile(input_per_symbol=100, output_per_symbol=50)
    rows = monthly_table(profile, 1000)
    assert [row["model_id"] for row in rows] == list(PRICE_TABLE)
    for row in rows:
        assert set(row["monthly"]) == {5, 20, 100}
        assert row["monthly"][20] == pytest.approx(4 * row["monthly"][5])
        assert row["monthly"][100] == pytest.approx(row["per_run"] * 3000)
    lite = next(row for row in rows if row["model_id"] == "amazon.nova-lite-v1:0")
    assert lite["monthly"] == {5: pytest.approx(2.7), 20: pytest.approx(10.8), 100: pytest.approx(54.0)}


def test_measured_profile_comes_from_the_real_prompts_on_the_sample():
    from sandbox.cost import measure_profile

    profile = measure_profile()
    assert 20 < profile.input_per_symbol < 100  # one compact row, not 250 raw bars
    assert profile.amortized_input_per_symbol() <= 150
    assert profile.batch_size == min(Settings().bedrock_batch_size, prompts.MAX_BATCH_SIZE)
    assert profile.output_per_symbol == prompts.EXPECTED_OUTPUT_TOKENS_PER_SYMBOL
    assert profile.input_per_run > 0 and profile.output_per_run == prompts.EXPECTED_OUTPUT_TOKENS_SUMMARY
    # The output assumption stays below what the validator would accept for each symbol.
    assert prompts.EXPECTED_OUTPUT_TOKENS_PER_SYMBOL < prompts.MAX_OUTPUT_TOKENS_PER_SYMBOL


def _line(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if line.strip().startswith(name))


def test_the_cost_command_prints_monthly_cost_beside_other_models():
    from sandbox.cost import cost

    result = CliRunner().invoke(cost, ["--symbols", "20", "--bedrock-only"])

    assert result.exit_code == 0, result.output
    assert "20 symbols a run" in result.output
    assert all(f"{n}/day" in result.output for n in (5, 20, 100))
    for name, _ in PRICE_TABLE.values():
        assert name in result.output
    assert "Amazon Nova Lite *" in result.output
    assert "measured on twelvedata_5_stocks_1day.json" in result.output
    assert "list prices" in result.output


def test_the_cost_command_uses_given_tokens_exactly():
    from sandbox.cost import cost

    result = CliRunner().invoke(
        cost, ["--symbols", "1000", "--tokens-per-symbol-in", "100", "--tokens-per-symbol-out", "50", "--bedrock-only"]
    )

    assert result.exit_code == 0, result.output
    assert "one run: 100,000 input + 50,000 output tokens" in result.output
    lite = _line(result.output, "Amazon Nova Lite")
    assert lite.split()[-4:] == ["$0.0180", "$2.70", "$10.80", "$54.00"]
    micro = _line(result.output, "Amazon Nova Micro")
    per_run = cost_usd(100_000, 50_000, PRICE_TABLE["amazon.nova-micro-v1:0"][1])
    assert micro.split()[-1] == f"${per_run * 3000:,.2f}"


def test_the_cost_command_accepts_an_inference_profile_and_refuses_an_unknown_model():
    from sandbox.cost import cost

    chosen = CliRunner().invoke(cost, ["--model", "us.anthropic.claude-3-haiku-20240307-v1:0", "--bedrock-only"])
    assert chosen.exit_code == 0 and "Anthropic Claude 3 Haiku *" in chosen.output
    unknown = CliRunner().invoke(cost, ["--model", "acme.oracle-v1", "--bedrock-only"])
    assert unknown.exit_code == 2 and "no list price" in unknown.output
    assert math.isclose(prices_for("us.anthropic.claude-3-haiku-20240307-v1:0").input_per_1k, 0.00025)


def test_the_cost_command_measures_a_workload_saves_it_and_prices_it_again(tmp_path):
    from sandbox.cost import cost
    from sandbox.measure import load

    saved = tmp_path / "measured.json"
    args = ["--symbols", "3", "--bars-per-symbol", "40", "--runs-per-day", "2", "--recipients", "1"]
    fresh = CliRunner().invoke(cost, [*args, "--save-measurement", str(saved)])

    assert fresh.exit_code == 0, fresh.output
    workload, measured = load(saved)
    assert workload == {"symbols": 3, "bars_per_symbol": 40} and measured.functions["ingest"].invocations == 1
    assert "3 symbols x 40 bars a file, 2 files a day (60 runs), 1 recipient," in fresh.output
    for service in ("Lambda", "S3", "DynamoDB", "EventBridge", "SES", "KMS", "API Gateway", "CloudWatch", "Bedrock"):
        assert f"\n  {service}" in fresh.output, service
    again = CliRunner().invoke(cost, [*args[4:], "--measured", str(saved)])
    assert again.exit_code == 0, again.output

    def bill(output):
        return output.split("  service", 1)[1].split("Bedrock insights:")[0]

    assert bill(again.output) == bill(fresh.output)
