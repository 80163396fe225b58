"""The scheduled fetch's edge: the symbols and the API key from where the settings say, the
answer written to `inputs/scheduled/`, from where the existing pipeline takes over."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from chalicelib import aws
from chalicelib.config import Settings, get_settings
from chalicelib.fetch.twelvedata import (
    BadApiKey,
    Fetcher,
    FetchSettings,
    Progress,
    Transport,
    normalize_api_key,
    parse_symbols,
)
from chalicelib.observability import count, logger

FETCH_FAILED = "fetch_failed"  # a failure notice's reason: the scheduled run could not fetch at all

SCHEDULED_PREFIX = "scheduled/"


def scheduled_key(settings: Settings, scheduled: dt.datetime) -> str:
    """One key per scheduled time: a retried invocation overwrites its own file (and ingest's ETag
    dedupe then sees identical content), never adds one."""
    stamp = scheduled.astimezone(dt.UTC)
    return f"{settings.input_prefix}{SCHEDULED_PREFIX}{stamp:%Y-%m-%d}/{stamp:%H%M}Z-{settings.fetch_interval}.json"


def scheduled_time(event: dict) -> dt.datetime:
    """The rule's scheduled time (EventBridge's `time`), else now."""
    try:
        return dt.datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return dt.datetime.now(dt.UTC)


def load_symbols(source: str) -> list[str]:
    """FETCH_SYMBOLS: a comma list, or `s3://bucket/key` / `ssm:/name` holding one (comma or line separated)."""
    source = source.strip()
    if source.startswith("s3://"):
        bucket, _, key = source[len("s3://") :].partition("/")
        text = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    elif source.startswith("ssm:"):
        text = aws.client("ssm").get_parameter(Name=source[len("ssm:") :])["Parameter"]["Value"]
    else:
        text = source
    return parse_symbols(text)


class ApiKeyProblem(RuntimeError):
    """The key is missing or malformed; the message says what to fix and never holds the key."""


def api_key(settings: Settings) -> str:
    """The key from its SecureString parameter; it is never logged, stored or put in a URL.

    Whitespace around it is dropped: `aws ssm put-parameter --value file://key.txt` stores the
    file's contents as they are, final line break included (AWS CLI User Guide, "Loading a
    parameter from a file", docs.aws.amazon.com/cli/latest/userguide/cli-usage-parameters-file.html,
    read 2026-12-04), and a header value with a line break is refused by the HTTP client.
    """
    name = settings.twelvedata_api_key_parameter
    try:
        value = aws.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except Exception as exc:
        if aws.error_code(exc) == "ParameterNotFound":
            raise ApiKeyProblem(
                f"no Twelve Data API key: put it in the SecureString parameter {name} "
                "(aws ssm put-parameter --type SecureString, see docs/deploying.md)"
            ) from None
        raise
    try:
        return normalize_api_key(value)
    except BadApiKey as exc:  # the message names the position, never the key
        raise ApiKeyProblem(f"{exc} (parameter {name})") from None


def fetch_settings(settings: Settings) -> FetchSettings:
    return FetchSettings(
        base_url=settings.twelvedata_base_url,
        interval=settings.fetch_interval,
        outputsize=settings.fetch_outputsize,
        credits_per_minute=settings.fetch_credits_per_minute,
        max_attempts=settings.fetch_max_attempts,
        timeout_s=settings.fetch_timeout_s,
    )


def _notice_fetch_failed(settings: Settings, key: str, message: str) -> None:
    """A run that cannot fetch at all writes no file; its readers get a failure notice instead
    (once per scheduled run: a retried invocation finds it stored)."""
    from chalicelib.analysis_store import NOTICE_KIND, NOTICE_PREFIX, save_notice
    from chalicelib.analyze.record import analysis_id_for
    from chalicelib.models import FailureNotice

    notice = FailureNotice(
        analysis_id=NOTICE_PREFIX + analysis_id_for(settings.bucket, key, ""),
        kind=NOTICE_KIND,
        created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        correlation_id="",
        bucket=settings.bucket,
        input_key=key,
        etag="",
        reason=FETCH_FAILED,
        message=message[:1000],
        quarantine_key=None,
    )
    try:
        save_notice(aws.client("dynamodb"), settings.table_name, dict(notice))
    except Exception:  # the run's own error is what Lambda reports; the alarm still fires
        logger.exception("could not store the failure notice")


def _remaining_s(context: Any):
    """The function's time left (the Lambda context's `get_remaining_time_in_millis`; Lambda
    Developer Guide, "Using the Lambda context object to retrieve Python function information",
    docs.aws.amazon.com/lambda/latest/dg/python-context.html, read 2026-12-04); without a
    context, no limit here (the fetcher's own run deadline applies)."""
    get = getattr(context, "get_remaining_time_in_millis", None)
    return (lambda: get() / 1000.0) if callable(get) else (lambda: float("inf"))


def handle_schedule(
    event: dict,
    context: Any = None,
    symbols: list[str] | None = None,
    transport: Transport | None = None,
    progress: Progress | None = None,
) -> dict:
    """Fetch the configured symbols (or `symbols`) and write them as one input file.

    Each request, wait and retry is logged (or handed to `progress`, the command line's printer)."""
    settings = get_settings()
    key = scheduled_key(settings, scheduled_time(event))
    logger.append_keys(fetch_key=key)
    try:
        return _run(settings, key, context, symbols, transport, progress)
    except ApiKeyProblem as exc:
        _notice_fetch_failed(settings, key, str(exc))
        raise
    except Exception as exc:
        # Anything else stops the run with nothing written: the readers are told all the same (once
        # per scheduled run), naming the error's type only, since its text could carry a request.
        _notice_fetch_failed(
            settings,
            key,
            f"The scheduled fetch stopped on an unexpected {type(exc).__name__} before it wrote its file. "
            "Lambda retries the run twice; the fetch function's log has the details.",
        )
        raise


def _run(
    settings: Settings,
    key: str,
    context: Any,
    symbols: list[str] | None,
    transport: Transport | None,
    progress: Progress | None,
) -> dict:
    symbols = symbols if symbols is not None else load_symbols(settings.fetch_symbols)
    if not symbols:
        logger.warning("no symbols to fetch: set FETCH_SYMBOLS", extra={"fix": "set FETCH_SYMBOLS"})
        count("FetchedNothing")
        _notice_fetch_failed(
            settings, key, f"The list of symbols to fetch is empty (FETCH_SYMBOLS={settings.fetch_symbols[:300]})."
        )
        return {"status": "no_symbols"}
    key_value = api_key(settings)
    fetcher = Fetcher(
        key_value, fetch_settings(settings), transport, _remaining_s(context), progress=progress or logger.info
    )
    document = fetcher.fetch(symbols)
    report = fetcher.report
    aws.client("s3").put_object(
        Bucket=settings.bucket, Key=key, Body=orjson.dumps(document), ContentType="application/json"
    )
    failed = sorted(symbol for symbol, entry in document.items() if entry.get("status") == "error")
    fetched = len(symbols) - len(failed)
    count("SymbolsFetched", fetched)
    count("SymbolFetchErrors", len(failed))
    count("TwelveDataRequests", report.requests)
    if not fetched:
        count("FetchedNothing")  # the alarm's metric: this run wrote no symbol's bars
    if report.out_of_time:
        count("FetchOutOfTime")
    log = logger.warning if failed else logger.info
    log(
        "fetched from Twelve Data",
        extra={
            "symbols": len(symbols),
            "fetched": fetched,
            # Twelve Data's own per-symbol errors, and what this run gave up on (with why).
            "failed": failed,
            "gave_up": report.errors,
            "requests": report.requests,
            "waited_s": round(report.waited_s, 1),
        },
    )
    return {
        "status": "written",
        "bucket": settings.bucket,
        "key": key,
        "symbols": len(symbols),
        "fetched": fetched,
        "errors": failed,
        "requests": report.requests,
    }
