"""Configuration: every setting comes from the environment, with a default, read on first use."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class MetricSettings:
    """The analyzer's windows and thresholds; the defaults are docs/analysis.md's (one definition)."""

    momentum_period: int = 5
    window: int = 20
    trend_threshold_pct: float = 0.1
    anomaly_lookback: int = 5
    volume_spike_ratio: float = 1.5
    price_move_pct: float = 5.0

    def __post_init__(self) -> None:
        if self.momentum_period < 1 or self.window < 3 or self.anomaly_lookback < 1:
            raise ValueError("momentum_period >= 1, window >= 3 and anomaly_lookback >= 1 are required")


class ConfigError(ValueError):
    """A setting in the environment has a value the app cannot use."""


@dataclass(frozen=True)
class Settings:
    """The app's settings; `ENV` names and defaults are listed in `SETTINGS_TABLE`."""

    stage: str = "dev"
    bucket: str = "stock-insights-data"
    table_name: str = "stock-insights-analyses"
    event_bus: str = "default"
    metric_namespace: str = "StockInsights"
    input_prefix: str = "inputs/"
    max_input_mb: float = 200.0
    future_slack_hours: float = 24.0
    marker_lease_seconds: int = 900
    marker_wait_seconds: float = 20.0
    sender: str = "reports@example.com"
    recipients: tuple[str, ...] = ("team@example.com",)
    notice_to: str = "recipients"
    operations_emails: tuple[str, ...] = ()
    archive_url: str = ""
    api_auth: str = "link"
    archive_link_key_parameter: str = ""
    archive_link_days: int = 30
    momentum_period: int = MetricSettings.momentum_period
    metric_window: int = MetricSettings.window
    trend_threshold_pct: float = MetricSettings.trend_threshold_pct
    anomaly_lookback: int = MetricSettings.anomaly_lookback
    volume_spike_ratio: float = MetricSettings.volume_spike_ratio
    price_move_pct: float = MetricSettings.price_move_pct
    insights_provider: str = "offline"
    analysis_item_max_kb: int = 300
    bedrock_model_id: str = "amazon.nova-lite-v1:0"
    bedrock_max_attempts: int = 5
    bedrock_batch_size: int = 10
    bedrock_max_concurrency: int = 10
    bedrock_read_timeout_s: int = 60
    bedrock_price_input_per_1k: float = 0.00006
    bedrock_price_output_per_1k: float = 0.00024
    fetch_symbols: str = ""
    fetch_interval: str = "1day"
    fetch_outputsize: int = 30
    fetch_schedule: str = "cron(30 21 ? * MON-FRI *)"
    fetch_credits_per_minute: int = 8
    fetch_max_attempts: int = 4
    fetch_timeout_s: float = 20.0
    twelvedata_base_url: str = "https://api.twelvedata.com"
    twelvedata_api_key_parameter: str = "/stock-insights/twelvedata-api-key"

    @property
    def max_input_bytes(self) -> int:
        return int(self.max_input_mb * 1024 * 1024)

    def metric_settings(self) -> MetricSettings:
        """The analyzer's windows and thresholds."""
        return MetricSettings(
            momentum_period=self.momentum_period,
            window=self.metric_window,
            trend_threshold_pct=self.trend_threshold_pct,
            anomaly_lookback=self.anomaly_lookback,
            volume_spike_ratio=self.volume_spike_ratio,
            price_move_pct=self.price_move_pct,
        )


# field name -> (environment variable, meaning); the table in docs/settings.md mirrors this.
SETTINGS_TABLE: dict[str, tuple[str, str]] = {
    "stage": ("STAGE", "deployment stage; a dimension of every metric, so stages sharing an account stay apart"),
    "bucket": ("BUCKET_NAME", "S3 bucket holding inputs/, processed/, rejects/, quarantine/"),
    "table_name": ("TABLE_NAME", "DynamoDB table for analyses"),
    "event_bus": ("EVENT_BUS_NAME", "EventBridge bus for IngestorCompleted"),
    "metric_namespace": ("METRICS_NAMESPACE", "CloudWatch namespace of the EMF metrics"),
    "input_prefix": ("INPUT_PREFIX", "only keys under this prefix are ingested"),
    "max_input_mb": ("MAX_INPUT_MB", "largest input accepted (object and decompressed), MiB"),
    "future_slack_hours": ("FUTURE_SLACK_HOURS", "slack before a bar counts as future_timestamp"),
    "marker_lease_seconds": (
        "MARKER_LEASE_SECONDS",
        "upper bound on how long an in-progress ETag marker blocks a retry",
    ),
    "marker_wait_seconds": (
        "MARKER_WAIT_SECONDS",
        "how long a delivery that finds its file in progress waits for that invocation to finish",
    ),
    "sender": ("SENDER_EMAIL", "verified SES identity the report is sent from"),
    "recipients": ("RECIPIENT_EMAILS", "comma-separated report recipients"),
    "notice_to": (
        "NOTICE_TO",
        "who gets a failure notice (a quarantined file, a file with no valid bars, a fetch that fetched nothing): "
        "`recipients`, `operations` or `both`",
    ),
    "operations_emails": (
        "OPERATIONS_EMAILS",
        "comma-separated operations addresses for failure notices (NOTICE_TO=operations or both); "
        "empty: the report recipients",
    ),
    "archive_url": (
        "ARCHIVE_URL",
        "base URL of the report archive API (`https://…/api`); the email links each report and symbol to "
        "its page there; empty: no links, the email stays self-contained",
    ),
    "api_auth": (
        "API_AUTH",
        "how the archive API is entered: `link` (the email's signed links), `iam` (SigV4) or `api_key` "
        "(x-api-key); read when Chalice deploys or packages, and by the API handler",
    ),
    "archive_link_key_parameter": (
        "ARCHIVE_LINK_KEY_PARAMETER",
        "SSM SecureString holding the key that signs the email's archive links (API_AUTH=link, the "
        "default: deploys set `/stock-insights/<stage>/archive-link-key`); empty: links carry no access",
    ),
    "archive_link_days": (
        "ARCHIVE_LINK_DAYS",
        "days an email's archive links open the archive (API_AUTH=link)",
    ),
    "momentum_period": ("MOMENTUM_PERIOD", "bars back for momentum and momentum_pct"),
    "metric_window": ("METRIC_WINDOW", "bars in the slope, volatility and average-volume windows"),
    "trend_threshold_pct": ("TREND_THRESHOLD_PCT", "slope (% per bar) beyond which the trend is up/down"),
    "anomaly_lookback": ("ANOMALY_LOOKBACK", "last bars checked for anomalies"),
    "volume_spike_ratio": ("VOLUME_SPIKE_RATIO", "volume over this multiple of its average is a spike"),
    "price_move_pct": ("PRICE_MOVE_PCT", "a bar-to-bar move over this percent is an anomaly"),
    "insights_provider": ("INSIGHTS_PROVIDER", "`offline` (from the numbers) or `bedrock`"),
    "analysis_item_max_kb": (
        "ANALYSIS_ITEM_MAX_KB",
        "larger analyses keep only a summary in DynamoDB; the full record is in S3",
    ),
    "bedrock_model_id": (
        "BEDROCK_MODEL_ID",
        "Bedrock model or inference profile id (`us.amazon.nova-lite-v1:0`, `eu.…`) for INSIGHTS_PROVIDER=bedrock",
    ),
    "bedrock_max_attempts": ("BEDROCK_MAX_ATTEMPTS", "attempts per Bedrock call before the offline fallback"),
    "bedrock_batch_size": (
        "BEDROCK_BATCH_SIZE",
        "symbols per Bedrock call (capped so a reply stays well inside Nova Lite's 5,000 output tokens)",
    ),
    "bedrock_max_concurrency": ("BEDROCK_MAX_CONCURRENCY", "Bedrock calls in flight at once"),
    "bedrock_read_timeout_s": (
        "BEDROCK_READ_TIMEOUT_S",
        "read timeout of one Bedrock call, seconds; keep it well below the analyze function's 900 s",
    ),
    "bedrock_price_input_per_1k": (
        "BEDROCK_PRICE_INPUT_PER_1K",
        "USD per 1,000 input tokens of BEDROCK_MODEL_ID (default: Nova Lite)",
    ),
    "bedrock_price_output_per_1k": (
        "BEDROCK_PRICE_OUTPUT_PER_1K",
        "USD per 1,000 output tokens of BEDROCK_MODEL_ID (default: Nova Lite)",
    ),
    "fetch_symbols": (
        "FETCH_SYMBOLS",
        "symbols the scheduled fetch asks Twelve Data for: `AAPL,MSFT`, or `s3://bucket/key` or "
        "`ssm:/parameter` holding the list; empty: no scheduled fetch",
    ),
    "fetch_interval": ("FETCH_INTERVAL", "Twelve Data interval of the scheduled fetch"),
    "fetch_outputsize": ("FETCH_OUTPUTSIZE", "bars per symbol the fetch asks for (30 covers every metric)"),
    "fetch_schedule": ("FETCH_SCHEDULE", "when the fetch runs (EventBridge; read at deploy time)"),
    "fetch_credits_per_minute": (
        "FETCH_CREDITS_PER_MINUTE",
        "Twelve Data credits a minute (symbols per request batch; the free plan has 8)",
    ),
    "fetch_max_attempts": ("FETCH_MAX_ATTEMPTS", "attempts per symbol on a 429, a 5xx, a timeout or a bad body"),
    "fetch_timeout_s": ("FETCH_TIMEOUT_S", "timeout of one Twelve Data request, seconds"),
    "twelvedata_base_url": ("TWELVEDATA_BASE_URL", "Twelve Data's API (a stand-in's address in tests)"),
    "twelvedata_api_key_parameter": (
        "TWELVEDATA_API_KEY_PARAMETER",
        "SSM Parameter Store SecureString holding the Twelve Data API key",
    ),
}


NOTICE_TO = ("recipients", "operations", "both")
API_AUTH_MODES = ("link", "iam", "api_key")
_CHOICES = {"notice_to": NOTICE_TO, "api_auth": API_AUTH_MODES}


def notice_recipients(settings: Settings) -> tuple[str, ...]:
    """Who gets a failure notice: the report's recipients, the operations addresses, or both (the
    recipients when no operations address is set, so a notice always reaches someone)."""
    operations = settings.operations_emails or settings.recipients
    chosen = {
        "recipients": settings.recipients,
        "operations": operations,
        "both": settings.recipients + operations,
    }.get(settings.notice_to, settings.recipients)
    return tuple(dict.fromkeys(chosen))


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build `Settings` from an environment mapping, raising `ConfigError` on a bad value."""
    defaults = Settings()
    values = {}
    for f in fields(Settings):
        env_name = SETTINGS_TABLE[f.name][0]
        raw = environ.get(env_name)
        if raw is None or raw.strip() == "":
            continue
        default = getattr(defaults, f.name)
        try:
            if isinstance(default, tuple):
                value = tuple(p.strip() for p in raw.split(",") if p.strip())
            else:
                value = type(default)(raw.strip())
        except ValueError:
            raise ConfigError(f"{env_name}={raw!r} is not a valid {type(default).__name__}") from None
        if isinstance(value, (int, float)) and value <= 0:
            raise ConfigError(f"{env_name} must be positive, got {raw!r}")
        if f.name in _CHOICES and value not in _CHOICES[f.name]:
            raise ConfigError(f"{env_name} must be one of {', '.join(_CHOICES[f.name])}, got {raw!r}")
        values[f.name] = value
    return Settings(**values)


def lease_seconds(settings: Settings, context: Any) -> float:
    """A marker's lease: MARKER_LEASE_SECONDS, but never past this invocation's own deadline, so a
    crashed claimant's marker is soon taken over."""
    lease = float(settings.marker_lease_seconds)
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining_ms):
        lease = min(lease, remaining_ms() / 1000.0)
    return lease


def holder_wait_seconds(settings: Settings, context: Any) -> float:
    """How long a delivery waits for another invocation's in-progress marker: MARKER_WAIT_SECONDS,
    but at most half of this invocation's remaining time (the rest is for a takeover's work)."""
    wait = float(settings.marker_wait_seconds)
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining_ms):
        wait = min(wait, remaining_ms() / 2000.0)
    return max(wait, 0.0)


@functools.cache
def get_settings() -> Settings:
    """The settings of this process, read from `os.environ` the first time they are needed."""
    return load_settings(os.environ)
