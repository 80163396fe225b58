"""The archive's URLs, one definition for the pages that write links and the routes that read them.

A symbol travels in one path segment as a slug: ASCII letters, digits, `-`, `.` and `_` stay as
they are; every other UTF-8 byte (including `/`, space and `~` itself) becomes `~XX` (two
uppercase hex digits). A plain `%2F` is not usable: API Gateway decodes the path before it
matches a route, so `symbols/XAU%2FUSD` reaches no `{symbol}` route (behaviour users report for
REST and HTTP APIs, read 2026-12-05; AWS does not document it either way). `~` is unreserved
(RFC 3986 section 2.3): no hop decodes or re-encodes it, so the slug relies on no such behaviour.
"""

from __future__ import annotations

import re

_KEEP = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._")
_ESCAPE = re.compile(r"~([0-9A-F]{2})")
_SLUG = re.compile(r"(?:[A-Za-z0-9._-]|~[0-9A-F]{2})+")


def symbol_slug(symbol: str) -> str:
    """The path segment that names `symbol` (`XAU/USD` -> `XAU~2FUSD`).

    A trailing `.json` asks the route for JSON, so a symbol ending in `.json` has that dot
    escaped (`X.json` -> `X~2Ejson`): its page and its JSON (`X~2Ejson.json`) stay apart."""
    slug = "".join(chr(b) if b in _KEEP else f"~{b:02X}" for b in symbol.encode("utf-8"))
    return slug[: -len(".json")] + "~2Ejson" if slug.endswith(".json") else slug


def symbol_from_slug(slug: str) -> str:
    """The symbol a slug names; ValueError when `slug` is not one `symbol_slug` could write."""
    if not _SLUG.fullmatch(slug):
        raise ValueError("not a symbol slug")
    raw = _ESCAPE.sub(lambda m: "\\x" + m.group(1), slug)
    data = bytes(raw, "ascii").decode("unicode_escape").encode("latin-1")
    return data.decode("utf-8")  # UnicodeDecodeError is a ValueError


def symbol_path(symbol: str) -> str:
    """Path of a symbol's page, relative to the archive's base URL."""
    return f"symbols/{symbol_slug(symbol)}"


def symbol_json_path(symbol: str) -> str:
    """Path of a symbol's readings as JSON, relative to the archive's base URL."""
    return f"{symbol_path(symbol)}.json"


def report_path(analysis_id: str, as_json: bool = False) -> str:
    """Path of a report's page (or its JSON), relative to the archive's base URL."""
    return f"reports/{analysis_id}{'.json' if as_json else ''}"


def absolute(base_url: str, path: str) -> str:
    """`path` under the archive's base URL (with or without its trailing slash)."""
    return f"{base_url.rstrip('/')}/{path}"
