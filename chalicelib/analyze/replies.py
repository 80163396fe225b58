"""The model's replies checked: the forced tool's input, each requested symbol once, texts in bounds.

A reply that fails a check raises `InvalidOutput`, whose message names what is wrong without
quoting the reply (it goes back to the model in a retry note, and into logs).
"""

from __future__ import annotations

from typing import Any

from chalicelib.analyze.insights import INSIGHT_FIELDS, plural
from chalicelib.analyze.prompts import EXECUTIVE_SUMMARY_VALIDATION_LIMIT, VALIDATION_LIMITS


class InvalidOutput(ValueError):
    """The model's reply is not a valid call of the forced tool; the message never quotes data."""


def tool_input(response: dict, tool_name: str) -> dict:
    """The input of the `toolUse` block for `tool_name` (text blocks before it are ignored)."""
    if response.get("stopReason") == "max_tokens":
        raise InvalidOutput("the reply was cut off at maxTokens")
    content = ((response.get("output") or {}).get("message") or {}).get("content") or []
    for block in content:
        use = block.get("toolUse") if isinstance(block, dict) else None
        if use and use.get("name") == tool_name:
            if not isinstance(use.get("input"), dict):
                raise InvalidOutput("the tool input is not a JSON object")
            return use["input"]
    raise InvalidOutput(f"no {tool_name} tool call in the reply")


def _text(value: Any, limit: int, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidOutput(f"{what} is not a non-empty string")
    value = value.strip()
    if len(value) > limit:
        raise InvalidOutput(f"{what} is longer than {limit} characters")
    return value


def validate_symbol_insights(tool_input: dict, requested: list[str]) -> dict[str, dict[str, str]]:
    """`{symbol: {summary, opportunities, risks, key_anomaly}}`: each requested symbol once, no others."""
    entries = tool_input.get("insights")
    if not isinstance(entries, list):
        raise InvalidOutput("insights is not a list")
    wanted = set(requested)
    out: dict[str, dict[str, str]] = {}
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InvalidOutput(f"entry {position} is not an object")
        symbol = entry.get("symbol")
        if symbol not in wanted:
            raise InvalidOutput(f"entry {position} names a symbol that was not requested")
        if symbol in out:
            raise InvalidOutput(f"entry {position} repeats a symbol")
        out[symbol] = {
            name: _text(entry.get(name), VALIDATION_LIMITS[name], f"entry {position} {name}") for name in INSIGHT_FIELDS
        }
    missing = len(wanted) - len(out)
    if missing:
        raise InvalidOutput(f"{plural(missing, 'requested symbol')} missing")
    return out


def validate_summary(tool_input: dict) -> str:
    """The executive summary: a non-empty string within its length bound."""
    return _text(tool_input.get("executive_summary"), EXECUTIVE_SUMMARY_VALIDATION_LIMIT, "executive_summary")
