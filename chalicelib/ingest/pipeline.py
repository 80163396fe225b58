"""The pure ingest core: bytes in, processed and reject JSON Lines out. No AWS here."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from chalicelib.ingest.formats import ParsedInput, Series, decode_input
from chalicelib.ingest.rules import validate_series
from chalicelib.models import IngestCounts, RejectRecord


@dataclass
class IngestOutcome:
    """What one input file became; `processed` and `rejects` are JSON Lines bodies."""

    shape: str
    processed: bytes
    rejects: bytes
    counts: IngestCounts
    reject_rules: Counter = field(default_factory=Counter)
    symbols: list[str] = field(default_factory=list)


def ingest_document(raw: bytes, key: str, now_epoch_s: int, *, max_bytes: int, future_slack_s: int) -> IngestOutcome:
    """Decode and validate a whole input file; raises `InputRejected` for whole-file failures."""
    parsed = decode_input(raw, key, max_bytes)
    processed: list[bytes] = []
    rejects: list[RejectRecord] = []
    rules: Counter = Counter()
    total = valid = 0
    for symbol, interval, bars in _bars_by_symbol(parsed):
        verdict = validate_series(symbol, bars, now_epoch_s, future_slack_s)
        total += len(bars)
        valid += len(verdict.valid)
        rejects.extend(verdict.rejects)
        rules.update(verdict.rule_counts)
        if verdict.valid:
            processed.append(processed_lines(symbol, interval, verdict.valid))
    for error in parsed.errors:
        rejects.append(
            RejectRecord(
                symbol=error.symbol,
                rule="symbol_error",
                field=None,
                message=error.message,
                index=None,
                bar=error.payload,
            )
        )
    if parsed.errors:
        rules["symbol_error"] = len(parsed.errors)
    counts = IngestCounts(input=total, valid=valid, rejected=total - valid, symbol_errors=len(parsed.errors))
    return IngestOutcome(
        shape=parsed.shape,
        processed=b"".join(processed),
        rejects=b"".join(orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE, default=_jsonable) for r in rejects),
        counts=counts,
        reject_rules=rules,
        symbols=sorted({s.symbol for s in parsed.series}),
    )


def _bars_by_symbol(parsed: ParsedInput) -> list[tuple[str, Any, list]]:
    """One bar list per symbol: a symbol delivered twice in one file is validated as one series."""
    grouped: dict[str, tuple[Series, list]] = {}
    for series in parsed.series:
        if series.symbol in grouped:
            grouped[series.symbol][1].extend(series.values)
        else:
            grouped[series.symbol] = (series, series.values)
    return [(symbol, s.interval, bars) for symbol, (s, bars) in grouped.items()]


def processed_lines(symbol: str, interval: Any, bars: list) -> bytes:
    """JSON Lines for accepted bars: `{"symbol", "interval", …the bar's own fields}`.

    One orjson call serialises the whole list; the separators between bars are then rewritten
    into line breaks plus the symbol prefix. If a bar's own text contains that separator the
    count no longer matches and each bar is serialised on its own instead.
    """
    prefix = orjson.dumps({"symbol": symbol, "interval": interval})[:-1] + b","
    body = orjson.dumps(bars, default=_jsonable)
    if body.count(b"},{") == len(bars) - 1 and body.startswith(b"[{") and body.endswith(b"}]"):
        return prefix + body[2:-2].replace(b"},{", b"}\n" + prefix) + b"}\n"
    # Valid bars always have fields, so each serialises as `{…}` and the prefix can replace `{`.
    return b"".join(prefix + orjson.dumps(bar, default=_jsonable)[1:] + b"\n" for bar in bars)


def _jsonable(value: Any) -> Any:
    return repr(value)
