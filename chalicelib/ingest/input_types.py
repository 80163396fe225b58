"""What decoding an input file gives: series, per-symbol errors, or the whole file refused.

Shared by the JSON reading (`formats`) and the CSV reading (`csv_input`).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

_KNOWN_EXTENSIONS = (".csv", ".txt", ".json", ".jsonl", ".tsv")
_INTERVAL_RE = re.compile(r"[0-9]+(min|h|day|week|month)")


class InputRejected(Exception):
    """The whole file is unusable; `reason` is a short machine id, the message says why."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class Series:
    """The bars of one symbol as delivered (`values` untouched), with its meta."""

    symbol: str
    interval: str | None
    meta: dict
    values: list


@dataclass
class SymbolError:
    """A per-symbol error object (or a response that is not a time series) inside a file."""

    symbol: str | None
    message: str
    payload: Any


@dataclass
class ParsedInput:
    shape: str  # time_series | multi_symbol | batch | csv | error
    series: list[Series] = field(default_factory=list)
    errors: list[SymbolError] = field(default_factory=list)


def symbol_from_key(key: str) -> tuple[str, str | None]:
    """`inputs/AAPL_1day.csv.gz` -> (`AAPL`, `1day`); `inputs/MSFT.csv` -> (`MSFT`, None).

    The symbol is the name up to the first `_`; the interval is the first later `_` part that
    looks like a Twelve Data interval (`1min`, `4h`, `1day`, `1week`, `1month`).
    """
    name = posixpath.basename(key)
    if name.lower().endswith(".gz"):
        name = name[:-3]
    for ext in _KNOWN_EXTENSIONS:
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    symbol, *rest = name.split("_")
    interval = next((part for part in rest if _INTERVAL_RE.fullmatch(part)), None)
    return symbol, interval


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, marked when cut (a message quotes data, not all of it)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
