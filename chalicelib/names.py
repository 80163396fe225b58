"""File names are data: the text of an uploaded object's key as the report and the archive show it.

A key may hold the characters no symbol may (controls, bidi controls, zero-width characters),
which would reorder or hide text where people read it. The key itself stays as it is for every
S3 operation; what travels on to analysis, the record, the email and the archive is the key
without them (`display_key`), removed by the same character list that `bad_symbol` applies.
"""

from __future__ import annotations

from chalicelib.ingest.rules import _FORBIDDEN_IN_SYMBOL


def display_key(key: str) -> str:
    """`key` without control, bidi-control or zero-width characters."""
    return _FORBIDDEN_IN_SYMBOL.sub("", key)
