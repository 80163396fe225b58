"""Signed archive links: how a reader of the email opens the archive in a browser (API_AUTH=link).

notify puts `?access=TOKEN` on every archive link of an email; the token says until when it is
good and carries an HMAC-SHA256 of that time under the stage's link key (an SSM SecureString that
only notify and the API handler may read). The API handler admits a request whose `access` query
or `si_archive` cookie holds a token that verifies and has not expired, and hands the browser the
cookie, so the pages the reader goes on to (relative links) open too. A token grants reading the
archive, nothing else, until it expires (ARCHIVE_LINK_DAYS after the email was sent); a new key
ends every token made with the old one. Pure computation: the key comes from the caller.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie

QUERY = "access"
COOKIE = "si_archive"
_VERSION = "v1"
_MAX_TOKEN = 200  # far above a real token's 56 characters: anything longer is refused unread


def _mac(key: bytes, expires: int) -> str:
    digest = hmac.new(key, f"stock-insights archive {_VERSION} {expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def sign(key: bytes, expires: int) -> str:
    """A token good until `expires` (Unix seconds): `v1.<expires>.<mac>`, URL- and cookie-safe."""
    if not key:
        raise ValueError("the archive link key is empty")
    return f"{_VERSION}.{int(expires)}.{_mac(key, int(expires))}"


def verify(key: bytes, token: str, now: float) -> int | None:
    """The time `token` is good until, if `key` made it and that time has not passed; else None."""
    if not key or not token or len(token) > _MAX_TOKEN:
        return None
    version, _, rest = token.partition(".")
    expires_text, _, mac = rest.partition(".")
    if version != _VERSION or not expires_text.isdigit() or not mac:
        return None
    expires = int(expires_text)
    if not hmac.compare_digest(mac.encode("ascii", "replace"), _mac(key, expires).encode("ascii")):
        return None
    return expires if expires > now else None


def presented(query: Mapping[str, str] | None, headers: Mapping[str, str] | None) -> tuple[str | None, str | None]:
    """(the token in the `access` query parameter, the token in the `si_archive` cookie)."""
    from_query = (query or {}).get(QUERY)
    cookie_header = next((v for k, v in (headers or {}).items() if k.lower() == "cookie"), "")
    from_cookie = None
    if cookie_header:
        try:
            jar = SimpleCookie()
            jar.load(cookie_header)
            from_cookie = jar[COOKIE].value if COOKIE in jar else None
        except CookieError:
            from_cookie = None
    return from_query, from_cookie


def set_cookie(token: str, expires: int, now: float) -> str:
    """The Set-Cookie value that keeps `token` in the browser until it expires: HTTPS only, out of
    scripts' reach, sent on a link followed from a mail client (SameSite=Lax)."""
    max_age = max(int(expires - now), 0)
    return f"{COOKIE}={token}; Max-Age={max_age}; Path=/; Secure; HttpOnly; SameSite=Lax"


def with_access(url: str, token: str) -> str:
    """`url` carrying `token` as its `access` query parameter (no token or no url: `url` as it is)."""
    if not token or not url:
        return url
    return f"{url}{'&' if '?' in url else '?'}{QUERY}={token}"
