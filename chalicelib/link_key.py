"""The stage's archive link key, read from its SSM SecureString (chalicelib.aws), and the token a
link made now carries: one reading for notify (which signs) and the API handler (which checks)."""

from __future__ import annotations

from chalicelib import archive_access, aws
from chalicelib.config import Settings
from chalicelib.observability import logger


def read_link_key(settings: Settings, now: float, consequence: str) -> bytes | None:
    """The key, or None (logged with `consequence`) when it is not configured or cannot be read."""
    parameter = settings.archive_link_key_parameter
    if not parameter:
        logger.error(f"ARCHIVE_LINK_KEY_PARAMETER is not set: {consequence}")
        return None
    try:
        return aws.secure_parameter(parameter, now).encode("utf-8") or None
    except Exception as exc:
        logger.error(
            f"cannot read the archive link key: {consequence}",
            extra={"parameter": parameter, "error_type": type(exc).__name__},
        )
        return None


def link_token(settings: Settings, key: bytes, now: float) -> str:
    """A token good for ARCHIVE_LINK_DAYS from `now`."""
    return archive_access.sign(key, int(now) + settings.archive_link_days * 86400)
