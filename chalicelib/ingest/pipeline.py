"""The pure ingest core: bytes in, processed and reject JSON Lines out. No AWS here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec
import orjson

from chalicelib.ingest.columnar import ColumnarBars
from chalicelib.ingest.decoders import TypedBar, bar_dict
from chalicelib.ingest.formats import ParsedInput, Series, decode_input
from chalicelib.ingest.rules import FIELDS, validate_series
from chalicelib.models import IngestCounts, RejectRecord


class LineSink(Protocol):
    """Where JSON Lines go as they are written: a `bytearray`, or an object uploaded in parts."""

    def __iadd__(self, data: Any) -> Any: ...

    def __len__(self) -> int: ...


@dataclass
class IngestOutcome:
    """What one input file became; `processed` and `rejects` are JSON Lines bodies.

    Each body is written line by line as the series are validated, into the sink the caller gave
    (the handler's uploads each part as it fills, so a file's output never sits whole in memory)
    or one `bytearray`: no list of per-line objects (each carries kilobytes of allocator slack).
    """

    shape: str
    processed: LineSink
    rejects: LineSink
    counts: IngestCounts
    reject_rules: Counter = field(default_factory=Counter)
    symbols: list[str] = field(default_factory=list)
    # symbol -> the IANA zone its `meta.exchange_timezone` names (Twelve Data's bar times are in it)
    exchange_timezones: dict[str, str] = field(default_factory=dict)


def ingest_document(
    raw: bytes,
    key: str,
    now_epoch_s: int,
    *,
    max_bytes: int,
    future_slack_s: int,
    processed: LineSink | None = None,
    rejects: LineSink | None = None,
) -> IngestOutcome:
    """Decode and validate a whole input file; raises `InputRejected` for whole-file failures
    (before a line is written). The lines go to `processed` and `rejects`, new buffers if None."""
    parsed = decode_input(raw, key, max_bytes)
    processed = bytearray() if processed is None else processed
    rejects = bytearray() if rejects is None else rejects
    rules: Counter = Counter()
    total = valid = 0
    for symbol, interval, bars in _bars_by_symbol(parsed):
        verdict = validate_series(symbol, bars, now_epoch_s, future_slack_s)
        total += len(bars)
        valid += len(verdict.valid)
        for reject in verdict.iter_rejects(release=True):
            rejects += _reject_line(reject)
            bars[reject["index"]] = None  # written: the decoded bar can go
        rules.update(verdict.rule_counts)
        if isinstance(verdict.valid, ColumnarBars):  # written from the file's bytes: no copies to bound
            write_processed_lines(processed, symbol, interval, verdict.valid)
        else:
            for start in range(0, len(verdict.valid), _PROCESSED_CHUNK):
                write_processed_lines(processed, symbol, interval, verdict.valid[start : start + _PROCESSED_CHUNK])
        del verdict, bars
    for error in parsed.errors:
        rejects += _reject_line(
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
        processed=processed,
        rejects=rejects,
        counts=counts,
        reject_rules=rules,
        symbols=sorted({s.symbol for s in parsed.series}),
        exchange_timezones=exchange_timezones(parsed.series),
    )


def exchange_timezones(series: list[Series]) -> dict[str, str]:
    """`{symbol: zone}` for the series whose meta names an exchange time zone (short plain text)."""
    zones = {}
    for s in series:
        zone = s.meta.get("exchange_timezone") if isinstance(s.meta, dict) else None
        if isinstance(zone, str) and 0 < len(zone) <= 64 and zone.isascii() and zone.isprintable() and s.symbol:
            zones.setdefault(s.symbol, zone)
    return dict(sorted(zones.items()))


# Accepted bars are serialised this many at a time: the same lines, without a whole series' worth of
# intermediate copies alive at once.
_PROCESSED_CHUNK = 1 << 16


def _bars_by_symbol(parsed: ParsedInput) -> Iterator[tuple[str, Any, list]]:
    """One bar list per series, a series being a symbol and an interval: the same symbol and
    interval delivered twice in one file is validated as one series; the same symbol at two
    intervals (a `/batch` asking for `1day` and `1h`) is two, each written with its own interval.

    Each series lets go of its bars when handed out, so a file's decoded bars are freed series by
    series while its output grows, instead of all staying alive to the end.
    """
    grouped: dict[tuple[str, Any], list[Series]] = {}
    for series in parsed.series:
        grouped.setdefault((series.symbol, series.interval), []).append(series)
    for key in list(grouped):
        members = grouped.pop(key)
        bars = members[0].values if len(members) == 1 else [bar for s in members for bar in s.values]
        for series in members:
            series.values = []
        yield key[0], key[1], bars
        del bars


def processed_lines(symbol: str, interval: Any, bars: list) -> bytes:
    """JSON Lines for accepted bars: `{"symbol", "interval", …the bar's own fields}`."""
    out = bytearray()
    write_processed_lines(out, symbol, interval, bars)
    return bytes(out)


def write_processed_lines(out: LineSink, symbol: str, interval: Any, bars: list) -> None:
    """Append the JSON Lines of accepted bars to `out` (no intermediate copy of the lines).

    One orjson call serialises the whole list; the separators between bars are then rewritten
    into line breaks plus the symbol prefix. That is safe when every bar holds only the bar
    fields, whose values the rules have validated (no `},{` can hide in a datetime or a number).
    Otherwise the rewrite must find exactly one separator per bar gap and no bar may carry its
    own `symbol`/`interval`; failing that, or with nesting too deep to write, each bar is written
    on its own.
    """
    prefix = orjson.dumps({"symbol": symbol, "interval": interval})[:-1] + b","
    if isinstance(bars, ColumnarBars):  # the bars' own bytes: compact, ASCII, nothing to escape
        bars.write_lines(out, prefix)
        return
    typed = isinstance(bars[0], TypedBar)  # a typed list holds one struct type: bar fields only
    try:
        body = msgspec.json.encode(bars) if typed else orjson.dumps(bars, default=_jsonable)
    except (orjson.JSONEncodeError, msgspec.EncodeError):
        body = b""
    if body.startswith(b"[{") and body.endswith(b"}]"):
        separator = b"}\n" + prefix
        lines = body.replace(b"},{", separator)
        # Each replacement grows the text by len(separator) - 3: an exact count, with no extra pass.
        replaced = (len(lines) - len(body)) // (len(separator) - 3)
        # Only bar fields: valid bars hold all of them (volume where the series has any), so a bar
        # with no more keys than that holds nothing else (a dict cannot repeat a key).
        plain = typed or max(map(len, bars)) <= (len(FIELDS) if "volume" in bars[0] else len(FIELDS) - 1)
        if replaced == len(bars) - 1 and (plain or (b'"symbol":' not in body and b'"interval":' not in body)):
            out += prefix
            out += memoryview(lines)[2:-2]  # without "[{" and "}]", and without copying
            out += b"}\n"
            return
    head = {"symbol": symbol, "interval": interval}
    for bar in bars:
        out += _bar_line(head, bar)


def _bar_line(head: dict, bar: dict) -> bytes:
    """One processed line; the bar's own `symbol`/`interval` (if any) kept as `source_…`."""
    line = dict(head)
    for key, value in bar_dict(bar).items():
        line[f"source_{key}" if key in head else key] = value
    return _safe_line(line)


def _reject_line(reject: RejectRecord) -> bytes:
    return _safe_line(dict(reject))


_UNWRITABLE = "<not written: nested deeper than JSON output allows; see the input file>"


def _safe_line(record: dict) -> bytes:
    """A JSON line; a value nested deeper than orjson can write is replaced by a note."""
    try:
        return orjson.dumps(record, default=_jsonable, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return orjson.dumps(
            {key: value if _writable(value) else _UNWRITABLE for key, value in record.items()},
            default=_jsonable,
            option=orjson.OPT_APPEND_NEWLINE,
        )


def _writable(value: Any) -> bool:
    try:
        orjson.dumps(value, default=_jsonable)
    except orjson.JSONEncodeError:
        return False
    return True


def _jsonable(value: Any) -> Any:
    return repr(value)
