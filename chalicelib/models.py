"""Records that cross a boundary between stages: one definition used on both sides."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

RejectRule = Literal[
    "bad_symbol",
    "missing_field",
    "bad_number",
    "bad_datetime",
    "non_positive_price",
    "negative_volume",
    "ohlc_inconsistent",
    "duplicate_timestamp",
    "future_timestamp",
    "symbol_error",
]

# The fixed vocabulary, in the order a bar is checked: the first rule it breaks is its rule.
BAR_RULES: tuple[RejectRule, ...] = (
    "bad_symbol",
    "missing_field",
    "bad_datetime",
    "bad_number",
    "non_positive_price",
    "negative_volume",
    "ohlc_inconsistent",
    "future_timestamp",
    "duplicate_timestamp",
)


class RejectRecord(TypedDict):
    """One line of `rejects/…jsonl`: a bar (or a per-symbol error) and why it was refused."""

    symbol: str | None
    rule: RejectRule
    field: str | None
    message: str
    index: int | None  # position of the bar in its series as delivered
    bar: Any  # the original bar (or error object), untouched


class ProcessedBar(TypedDict, total=False):
    """One line of `processed/…jsonl`: symbol and interval, then the bar's fields as delivered."""

    symbol: str
    interval: str | None
    datetime: str
    open: Any
    high: Any
    low: Any
    close: Any
    volume: Any


class IngestCounts(TypedDict):
    input: int
    valid: int
    rejected: int
    symbol_errors: int


class IngestorCompletedDetail(TypedDict):
    """The `detail` of the `IngestorCompleted` EventBridge event (docs/formats.md, "The event")."""

    bucket: str
    input_key: str
    etag: str
    processed_key: str
    rejects_key: str
    counts: IngestCounts
    correlation_id: str
    reject_rules: dict[str, int]  # rule -> rejected count, for the report
    # The S3 key as uploaded, present only when it differs from `input_key` (the key without the
    # control, bidi and zero-width characters a name may not show): the analysis id is its.
    object_key: NotRequired[str]
    # symbol -> IANA time zone of its exchange, where the file's meta names one (the report's date)
    exchange_timezones: NotRequired[dict[str, str]]


IngestStatus = Literal["processed", "duplicate", "quarantined"]

INGESTOR_SOURCE = "stock-insights.ingestor"
INGESTOR_COMPLETED = "IngestorCompleted"


class FailureNotice(TypedDict):
    """A failure the readers must hear of (a quarantined file): an item of the analyses table,
    `kind = "failure_notice"`, that notify emails like a report (the table's stream)."""

    analysis_id: str  # `notice-<the analysis id the file would have had>`: one notice per file
    kind: str
    created_at: str
    correlation_id: str
    bucket: str
    input_key: str  # the name as people see it
    etag: str
    reason: str  # the quarantine reason (`bad_json`, `too_large`, …)
    message: str
    quarantine_key: str | None  # where the file's copy is (None: not copied, too large)
