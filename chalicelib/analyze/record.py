"""The analysis record (CONTRACT section 3): one definition, built here, stored and emailed later."""

from __future__ import annotations

import hashlib
import time
from typing import Any, TypedDict

from chalicelib.analyze.insights import Insights


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
    reject_rules: dict
    aggregates: dict
    symbols: dict
    executive_summary: str
    insights: dict
    created_at: str


def analysis_id_for(bucket: str, key: str, etag: str) -> str:
    """Deterministic: the same input always maps to the same analysis (replays collide)."""
    return hashlib.sha256(f"s3://{bucket}/{key}#{etag}".encode()).hexdigest()[:32]


def build_record(
    detail: dict,
    symbols: dict[str, dict],
    aggregates: dict[str, Any],
    insights: Insights,
    created_at: str | None = None,
) -> AnalysisRecord:
    """Join metrics, aggregates and insights into the record the table and the email use."""
    with_insight = {
        symbol: {**metrics, "insight": insights.per_symbol.get(symbol, {})}
        for symbol, metrics in sorted(symbols.items())
    }
    counts = detail.get("counts") or {}
    return AnalysisRecord(
        analysis_id=analysis_id_for(detail["bucket"], detail["input_key"], detail["etag"]),
        correlation_id=detail.get("correlation_id", ""),
        source=AnalysisSource(
            bucket=detail["bucket"],
            input_key=detail["input_key"],
            etag=detail["etag"],
            processed_key=detail["processed_key"],
        ),
        row_counts={k: int(counts.get(k, 0)) for k in ("input", "valid", "rejected")},
        symbol_errors=int(counts.get("symbol_errors", 0)),
        reject_rules={str(k): int(v) for k, v in (detail.get("reject_rules") or {}).items()},
        aggregates=aggregates,
        symbols=with_insight,
        executive_summary=insights.executive_summary,
        insights=insights.meta(),
        created_at=created_at or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
