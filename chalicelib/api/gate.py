"""The archive's door under API_AUTH=link: a request passes with a signed link's token
(chalicelib.archive_access), in the `access` query parameter or the cookie a first visit left.

Closed unless proven open: without a configured key, or when the key cannot be read, every
request is refused (503), never let through.
"""

from __future__ import annotations

import html
import json
import time
from typing import NamedTuple

from chalicelib import archive_access
from chalicelib.config import get_settings
from chalicelib.link_key import read_link_key

REFUSED = (
    "This archive opens from a link in a Stock Insights email. The link is missing, not valid, or "
    "older than its {days} days: open the archive from a newer report's email."
)
UNAVAILABLE = "The archive cannot check links right now (its link key is not configured or not readable)."


class Admission(NamedTuple):
    status: int  # 200: let the request through
    message: str = ""
    set_cookie: str = ""  # a Set-Cookie value for the answer, when the token came in the query


def admit(query: dict | None, headers: dict | None, now: float | None = None, key: bytes | None = None) -> Admission:
    """Whether a request may read the archive, and the cookie to give it."""
    now = time.time() if now is None else now
    settings = get_settings()
    if key is None:
        key = read_link_key(settings, now, "every request to the archive is refused")
        if key is None:
            return Admission(503, UNAVAILABLE)
    from_query, from_cookie = archive_access.presented(query, headers)
    if from_query:
        expires = archive_access.verify(key, from_query, now)
        if expires is not None:
            return Admission(200, set_cookie=archive_access.set_cookie(from_query, expires, now))
    if from_cookie and archive_access.verify(key, from_cookie, now) is not None:
        return Admission(200)
    return Admission(401, REFUSED.format(days=settings.archive_link_days))


def refusal(admission: Admission, headers: dict | None, path: str = ""):
    """The answer to a refused request: JSON for JSON clients, a short page for a browser."""
    from chalicelib.api.query import wants_json
    from chalicelib.api.service import HTML, JSON, Reply

    code = "link_required" if admission.status == 401 else "link_key_unavailable"
    extra = {"Cache-Control": "no-store"}
    if wants_json(headers) or path.endswith(".json"):
        body = {"error": {"status": admission.status, "code": code, "message": admission.message}}
        return Reply(admission.status, JSON, json.dumps(body), extra)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Stock Insights archive</title></head>"
        '<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem">'
        f"<h1>Stock Insights archive</h1><p>{html.escape(admission.message)}</p></body></html>"
    )
    return Reply(admission.status, HTML, page, extra)
