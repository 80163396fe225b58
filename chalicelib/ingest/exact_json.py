"""The exact reading of a JSON file, for the rare file orjson's reading would get wrong.

orjson (like every fast decoder) keeps only the last value of a repeated key, and refuses a number
no double holds (`1e400`). A repeated symbol key would silently lose a series; a single `1e400`
bar would quarantine a whole file. `repeats_keys` finds a repeat cheaply (a msgspec skim, no
values built); `exact_document` reads such a file with Python's `json`, keeping every member of a
repeating object and an out-of-range number as its text.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import msgspec
import orjson


class NotJson(ValueError):
    """The exact reading refuses the file, as orjson would have."""


class RepeatedKeys(dict):
    """A JSON object that repeats a key: a dict as every decoder gives it (the last value wins),
    with `pairs` holding every member in order, for the shapes where a repeat must not lose data
    (symbols of a multi-symbol file, requests of a `/batch` envelope)."""

    pairs: list


class OutOfRangeNumber(str):
    """A JSON number no double can hold (`1e400`), kept as its text; the rules make it `bad_number`."""


_INT64_MIN, _UINT64_MAX = -(2**63), 2**64 - 1


def _exact_int(text: str) -> Any:
    # As orjson reads integers: exact up to 64 bits, a float beyond (digits are never counted by int()).
    if len(text) <= 20 and _INT64_MIN <= int(text) <= _UINT64_MAX:
        return int(text)
    return _exact_float(text)


def _exact_float(text: str) -> Any:
    value = float(text)
    return value if value not in (math.inf, -math.inf) else OutOfRangeNumber(text)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _pairs_hook(pairs: list) -> dict:
    document = dict(pairs)
    if len(document) == len(pairs):
        return document
    repeated = RepeatedKeys(document)
    repeated.pairs = pairs
    return repeated


_LONE_SURROGATE_HINT = re.compile(rb"\\u[dD][89a-fA-F]")


def exact_document(data: bytes, orjson_error: Exception | None = None) -> Any:
    """The file read with Python's json, keeping what orjson cannot: repeated keys and huge numbers.

    Only for the rare file that needs it. Numbers are read as orjson reads them, NaN and Infinity
    are refused, and a lone surrogate escape (which Python's json would let through) makes the file
    `bad_json` as orjson would.
    """

    def refuse(detail: str) -> NotJson:
        return NotJson(str(orjson_error or detail))

    try:
        document = json.loads(
            data.decode("utf-8"),
            parse_int=_exact_int,
            parse_float=_exact_float,
            parse_constant=_refuse_constant,
            object_pairs_hook=_pairs_hook,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        if orjson_error is None:  # orjson read the file: keep its reading rather than refuse it
            return orjson.loads(data)
        raise refuse(str(exc)) from None
    if _LONE_SURROGATE_HINT.search(data):
        try:
            orjson.dumps(document)  # refuses a str holding a lone surrogate
        except orjson.JSONEncodeError as exc:
            if "surrogates" in str(exc) or orjson_error is not None:
                raise refuse("lone surrogate escape") from None
    return document


_MEMBERS = msgspec.json.Decoder(dict[str, msgspec.Raw])
_MEMBER_KEY = re.compile(rb'\s*"(?:[^"\\]|\\.)*"\s*:\s*')
_AFTER_MEMBER = re.compile(rb"\s*([,}])")


def repeats_keys(data: bytes, start: int, nested: bool = True) -> bool:
    """True when the object at `start` repeats a key (decoders keep only the last value), or might.

    msgspec skims the object into raw members (fast: no values are built), then the members are
    walked in file order: each must sit where the skim says, and the object must end after the
    last. A repeated key leaves a member the skim does not hold, so the walk fails. A failure for
    any other reason only sends the file to the exact (slower) reading. With `nested`, the `data`
    object of a `/batch` envelope is checked the same way.
    """
    if data[start : start + 1] != b"{":
        return False
    try:
        members = _MEMBERS.decode(memoryview(data)[start:])
    except (msgspec.DecodeError, RecursionError):
        return True
    position = start + 1
    if not members:
        return False
    separator = b","
    for name, raw in members.items():
        key = _MEMBER_KEY.match(data, position)
        if key is None or separator != b"," or not data.startswith(raw, key.end()):
            return True
        position = key.end() + len(raw)
        after = _AFTER_MEMBER.match(data, position)
        if after is None:
            return True
        separator, position = after.group(1), after.end()
        if nested and name == "data" and repeats_keys(bytes(raw), 0, nested=False):
            return True
    return separator != b"}"
