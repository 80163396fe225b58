"""The one place AWS clients are created: lazily, once per container, with explicit retries."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.config import Settings

# Standard mode retries throttling and transient errors with backoff; timeouts stay well under
# the functions' own timeouts so a hung call fails while there is time to report it.
# (`total_max_attempts` counts the first try; botocore's `max_attempts` would count retries only.)
_ATTEMPTS = 5
_CONNECT_TIMEOUT_S = 5
_READ_TIMEOUT_S = 30
# Calls whose retry could repeat a side effect the caller cannot see: SES may have accepted a
# message whose answer timed out, so the notifier's own marker decides, not the SDK.
_SINGLE_ATTEMPT = frozenset({"ses"})


@functools.cache
def client(service: str) -> Any:
    """A boto3 client for `service`, created on first use (boto3 is imported only then)."""
    import boto3
    from botocore.config import Config

    attempts = 1 if service in _SINGLE_ATTEMPT else _ATTEMPTS
    config = Config(
        retries={"total_max_attempts": attempts, "mode": "standard"},
        connect_timeout=_CONNECT_TIMEOUT_S,
        read_timeout=_READ_TIMEOUT_S,
        # S3: presigned URLs (the archive's large records) signed with SigV4 as every request is;
        # objects under SSE-KMS are refused to any other signature (S3 user guide, "Specifying
        # server-side encryption with AWS KMS", read 2026-12-05).
        **({"signature_version": "s3v4"} if service == "s3" else {}),
    )
    return boto3.client(service, config=config)


_PARAMETER_MAX_AGE_S = 300.0
_parameters: dict[str, tuple[float, str]] = {}


def secure_parameter(name: str, now: float) -> str:
    """An SSM SecureString's value, decrypted; read again at most every 5 minutes per container
    (so a rotated value reaches warm functions soon, and a busy API does not call SSM per request)."""
    cached = _parameters.get(name)
    if cached is not None and now - cached[0] < _PARAMETER_MAX_AGE_S:
        return cached[1]
    value = client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    _parameters[name] = (now, value)
    return value


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError ("" for any other exception)."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def is_conditional_check_failure(exc: Exception) -> bool:
    """DynamoDB's answer to a write whose ConditionExpression did not hold."""
    return error_code(exc) == "ConditionalCheckFailedException"


_bedrock_runtime: Any = None


def bedrock_config(settings: Settings) -> Any:
    """The botocore Config of a bedrock-runtime client: no SDK retries (the provider retries, with
    the Lambda's deadline in view), a read timeout below the function's own timeout, a connection
    per concurrent call (and one to spare)."""
    from botocore.config import Config

    return Config(
        retries={"total_max_attempts": 1, "mode": "standard"},  # one attempt, no SDK retry
        connect_timeout=_CONNECT_TIMEOUT_S,
        read_timeout=settings.bedrock_read_timeout_s,
        max_pool_connections=settings.bedrock_max_concurrency + 1,
    )


def bedrock_runtime() -> Any:
    """The bedrock-runtime client, created on first use from the settings (or the one installed)."""
    global _bedrock_runtime
    if _bedrock_runtime is None:
        import boto3

        from chalicelib.config import get_settings

        _bedrock_runtime = boto3.client("bedrock-runtime", config=bedrock_config(get_settings()))
    return _bedrock_runtime


def set_bedrock_runtime(bedrock_client: Any) -> None:
    """Install a bedrock-runtime client built elsewhere (a runner whose own AWS setup differs)."""
    global _bedrock_runtime
    _bedrock_runtime = bedrock_client


def reset_clients() -> None:
    """Forget cached clients (tests and the sandbox switch AWS endpoints between runs)."""
    global _bedrock_runtime
    client.cache_clear()
    _parameters.clear()
    _bedrock_runtime = None
