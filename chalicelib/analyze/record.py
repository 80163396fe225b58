"""The analysis record (docs/analysis.md, "The record"): one definition, built here, stored and emailed later."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from typing import Any, TypedDict

from chalicelib.analyze.insights import Insights
from chalicelib.config import MetricSettings


class AnalysisSource(TypedDict):
    bucket: str
    input_key: str
    etag: str
    processed_key: str


class AnalysisRecord(TypedDict):
    analysis_id: str
    correlation_id: str
    source: AnalysisSource
    row_counts: dict
    symbol_errors: int
    symbol_error_details: list  # [SymbolErrorEntry]: each failing symbol, its code and message
    reject_rules: dict
    aggregates: dict
    symbols: dict
    executive_summary: str
    insights: dict
    created_at: str
    metric_settings: dict  # the windows and thresholds the metrics used (MetricSettings)
    exchange_timezones: dict  # symbol -> IANA zone of its exchange, where the input named one


class SymbolErrorEntry(TypedDict):
    symbol: str | None  # None: the error body names no symbol (a 429, say)
    code: int | str | None
    message: str


def symbol_error_entry(reject: dict) -> SymbolErrorEntry:
    """A `symbol_error` reject line as the report lists it: the error's own code and message."""
    payload = reject.get("bar")
    code = payload.get("code") if isinstance(payload, dict) else None
    message = payload.get("message") if isinstance(payload, dict) else None
    if not isinstance(message, str) or not message.strip():
        message = str(reject.get("message") or "error response")
    symbol = reject.get("symbol")
    return SymbolErrorEntry(
        symbol=None if symbol in (None, "") else str(symbol),
        code=code if isinstance(code, (int, str)) and not isinstance(code, bool) else None,
        message=message,
    )


def object_key(detail: dict) -> str:
    """The input's S3 key as uploaded: `object_key` where ingest cleaned the name shown as `input_key`."""
    return str(detail.get("object_key") or detail["input_key"])


def analysis_id_for(bucket: str, key: str, etag: str) -> str:
    """Deterministic: the same input always maps to the same analysis (replays collide)."""
    return hashlib.sha256(f"s3://{bucket}/{key}#{etag}".encode()).hexdigest()[:32]


def build_record(
    detail: dict,
    symbols: dict[str, dict],
    aggregates: dict[str, Any],
    insights: Insights,
    metric_settings: MetricSettings | None = None,
    symbol_errors: list[SymbolErrorEntry] | None = None,
    created_at: str | None = None,
) -> AnalysisRecord:
    """Join metrics, aggregates and insights into the record the table and the email use."""
    with_insight = {
        symbol: {**metrics, "insight": insights.per_symbol.get(symbol, {})}
        for symbol, metrics in sorted(symbols.items())
    }
    counts = detail.get("counts") or {}
    return AnalysisRecord(
        analysis_id=analysis_id_for(detail["bucket"], object_key(detail), detail["etag"]),
        correlation_id=detail.get("correlation_id", ""),
        source=AnalysisSource(
            bucket=detail["bucket"],
            input_key=detail["input_key"],
            etag=detail["etag"],
            processed_key=detail["processed_key"],
        ),
        row_counts={k: int(counts.get(k, 0)) for k in ("input", "valid", "rejected")},
        symbol_errors=int(counts.get("symbol_errors", 0)),
        symbol_error_details=list(symbol_errors or []),
        reject_rules={str(k): int(v) for k, v in (detail.get("reject_rules") or {}).items()},
        aggregates=aggregates,
        symbols=with_insight,
        executive_summary=insights.executive_summary,
        insights=insights.meta(),
        created_at=created_at or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        metric_settings=dataclasses.asdict(metric_settings or MetricSettings()),
        exchange_timezones={
            str(k): str(v) for k, v in (detail.get("exchange_timezones") or {}).items() if isinstance(v, str)
        },
    )
