"""What every bootstrap step shares: its outcomes, comparing what AWS holds with what is wanted,
reading every page of a list call, and "get it, or None when AWS says it does not exist"."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib.aws import error_code

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


def canonical(value: Any) -> str:
    """Order-insensitive text of a rule list (AWS may return keys and rules in another order)."""
    return json.dumps(
        sorted((json.loads(json.dumps(v, sort_keys=True, default=str)) for v in value), key=json.dumps), sort_keys=True
    )


def same(current: Any, wanted: Any) -> bool:
    if isinstance(wanted, list) and isinstance(current, list) and wanted and isinstance(wanted[0], dict):
        return canonical(current) == canonical(wanted)
    if isinstance(wanted, float) and current is not None:
        return float(current) == wanted
    return current == wanted


def unless_missing(missing_code: str, call: Callable[[], Any]) -> Any:
    """`call()`'s answer, or None when AWS answers that the resource does not exist (`missing_code`)."""
    try:
        return call()
    except Exception as exc:
        if error_code(exc) != missing_code:
            raise
        return None


def pages(client: Any, operation: str, key: str, **kwargs: Any) -> list:
    """Every item under `key` of every page of a paginated call."""
    items: list = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items
