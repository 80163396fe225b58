"""The one place AWS clients are created: lazily, once per container, with explicit retries."""

from __future__ import annotations

import functools
from typing import Any

# Standard mode retries throttling and transient errors with backoff; timeouts stay well under
# the functions' own timeouts so a hung call fails while there is time to report it.
_RETRIES = {"max_attempts": 5, "mode": "standard"}
_CONNECT_TIMEOUT_S = 5
_READ_TIMEOUT_S = 30


@functools.cache
def client(service: str) -> Any:
    """A boto3 client for `service`, created on first use (boto3 is imported only then)."""
    import boto3
    from botocore.config import Config

    config = Config(retries=_RETRIES, connect_timeout=_CONNECT_TIMEOUT_S, read_timeout=_READ_TIMEOUT_S)
    return boto3.client(service, config=config)


def reset_clients() -> None:
    """Forget cached clients (tests and the sandbox switch AWS endpoints between runs)."""
    client.cache_clear()
