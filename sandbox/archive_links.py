"""The sandbox's archive link key: the embedded account gets one, as a deployed stage does, so the
local archive checks the email's signed links (API_AUTH=link, chalicelib.archive_access) and
`serve` can print a link a browser opens."""

from __future__ import annotations

import os
import secrets
import time
from typing import Any

ARCHIVE_LINK_KEY = "/stock-insights/sandbox/archive-link-key"


def use_link_key(env: Any) -> str:
    """A fresh key in an SSM SecureString of the embedded account `env`, named in this process's
    ARCHIVE_LINK_KEY_PARAMETER; its name."""
    from chalicelib.config import get_settings

    env.client("ssm").put_parameter(
        Name=ARCHIVE_LINK_KEY, Type="SecureString", Value=secrets.token_urlsafe(36), Overwrite=True
    )
    os.environ["ARCHIVE_LINK_KEY_PARAMETER"] = ARCHIVE_LINK_KEY
    get_settings.cache_clear()
    return ARCHIVE_LINK_KEY


def access_token() -> str:
    """A token the archive admits, signed as notify signs the email's links (ARCHIVE_LINK_DAYS long)."""
    from chalicelib.config import get_settings
    from chalicelib.link_key import link_token, read_link_key

    settings, now = get_settings(), time.time()
    key = read_link_key(settings, now, "the sandbox cannot sign a link to its archive")
    if key is None:
        raise RuntimeError("the sandbox's archive link key is missing (use_link_key makes it)")
    return link_token(settings, key, now)
