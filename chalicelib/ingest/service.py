"""The ingest edge: S3 notification records in; S3 objects, an event and metrics out."""

from __future__ import annotations

import gc
import hashlib
import posixpath
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from chalicelib import aws
from chalicelib.analysis_store import NOTICE_KIND, NOTICE_PREFIX, save_notice
from chalicelib.analyze.record import analysis_id_for
from chalicelib.config import Settings, get_settings, holder_wait_seconds, lease_seconds
from chalicelib.events import EventPublisher
from chalicelib.ingest.formats import InputRejected, symbol_from_key
from chalicelib.ingest.pipeline import IngestOutcome, ingest_document
from chalicelib.models import INGESTOR_COMPLETED, INGESTOR_SOURCE, FailureNotice, IngestCounts, IngestorCompletedDetail
from chalicelib.names import display_key
from chalicelib.observability import MetricUnit, count, count_with_dimension, logger
from chalicelib.storage import ObjectStore, is_changed_or_gone

MARKER_PREFIX = "processed/hashes/"
COPY_LIMIT_BYTES = 5 * 1024**3  # CopyObject's largest source object


class IngestInProgress(RuntimeError):
    """Another live invocation holds this file's marker; raising lets Lambda retry later."""


@dataclass
class FileResult:
    """What happened to one input object (the sandbox's `files[]` entry is built from this)."""

    status: str  # processed | duplicate | quarantined | skipped
    bucket: str
    key: str
    etag: str
    correlation_id: str
    records: dict = field(default_factory=lambda: {"input": 0, "valid": 0, "rejected": 0})
    symbol_errors: int = 0
    reject_rules: dict = field(default_factory=dict)
    processed_key: str | None = None
    rejects_key: str | None = None
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class OutputKeys:
    """Every key derives from the input key and ETag, so a retry overwrites instead of adding."""

    processed: str
    rejects: str
    quarantine: str
    quarantine_error: str
    marker: str

    @classmethod
    def for_input(cls, key: str, etag: str, input_prefix: str) -> OutputKeys:
        relative = key[len(input_prefix) :] if key.startswith(input_prefix) else key
        name = posixpath.basename(key)
        keys = cls._derive(key, etag, relative, name)
        if max(len(k.encode("utf-8", "surrogatepass")) for k in (keys.processed, keys.quarantine)) > S3_MAX_KEY_BYTES:
            # S3 refuses keys over 1,024 bytes, and an input key may be that long already: every
            # write would fail on every retry. Long parts keep a readable head and a hash instead.
            keys = cls._derive(key, etag, _shorten(relative, 400), _shorten(name, 200))
        return keys

    @classmethod
    def _derive(cls, key: str, etag: str, relative: str, name: str) -> OutputKeys:
        return cls(
            processed=f"processed/bars/{relative}/{etag}.jsonl",
            rejects=f"rejects/{relative}/{etag}.jsonl",
            quarantine=f"quarantine/{relative}/{etag}/{name}",
            quarantine_error=f"quarantine/{relative}/{etag}/error.json",
            marker=marker_key(key, etag),
        )


S3_MAX_KEY_BYTES = 1024


def _shorten(text: str, max_bytes: int) -> str:
    """`text` if it fits in `max_bytes` (UTF-8), else its head and a hash of the whole."""
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) <= max_bytes:
        return text
    digest = hashlib.sha256(raw).hexdigest()[:16]
    head = raw[: max_bytes - len(digest) - 1].decode("utf-8", "ignore")
    return f"{head}~{digest}"


def marker_key(key: str, etag: str) -> str:
    """`processed/hashes/<etag>-<name>`: the file's identity is its content and what its name says.

    A CSV's symbol and interval (and a JSON file's fallback symbol) come from the key, so the same
    bytes as `AAPL_1day.csv` and `MSFT_1day.csv` are two files. `<name>` is a short hash of the
    symbol and interval the name gives (`formats.symbol_from_key`), so the same content under
    another key that gives the same symbol and interval is still a duplicate.
    """
    symbol, interval = symbol_from_key(key)
    facts = hashlib.sha256(f"{symbol}\x00{interval or ''}".encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{MARKER_PREFIX}{etag}-{facts}"


def correlation_id_for(bucket: str, key: str, etag: str) -> str:
    """Deterministic per file: a redelivery or retry logs under the same id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"s3://{bucket}/{key}#{etag}"))


def handle_s3_event(event: dict, context: Any = None) -> dict:
    """Ingest every object-created record of an S3 notification; returns one result per record."""
    settings = get_settings()
    results = []
    for record in event.get("Records") or []:
        result = ingest_record(record, settings, context)
        if result is not None:
            results.append(result.to_dict())
    return {"files": results}


def ingest_record(record: dict, settings: Settings, context: Any = None) -> FileResult | None:
    """Ingest the object one S3 record names; None for records that are not ours."""
    s3 = record.get("s3") or {}
    if not str(record.get("eventName", "")).startswith("ObjectCreated"):
        logger.info("ignoring S3 event", extra={"event_name": record.get("eventName")})
        return None
    bucket = s3.get("bucket", {}).get("name", settings.bucket)
    key = unquote_plus(s3.get("object", {}).get("key", ""))
    if not key.startswith(settings.input_prefix) or key.endswith("/"):
        logger.info("ignoring key outside the input prefix", extra={"key": key, "prefix": settings.input_prefix})
        return None
    store = ObjectStore(aws.client("s3"), bucket)
    etag = str(s3.get("object", {}).get("eTag") or store.head_etag(key)).strip('"')
    size = s3.get("object", {}).get("size")
    keys = OutputKeys.for_input(key, etag, settings.input_prefix)
    correlation_id = correlation_id_for(bucket, key, etag)
    logger.set_correlation_id(correlation_id)
    logger.append_keys(input_key=key, etag=etag)
    result = FileResult(status="processed", bucket=bucket, key=key, etag=etag, correlation_id=correlation_id)

    marker = _claim_marker(store, keys.marker, key, correlation_id, settings, context)
    if marker is not None:
        result.status = "duplicate"
        result.processed_key = marker.get("processed_key")
        result.rejects_key = marker.get("rejects_key")
        logger.info("duplicate file: already ingested", extra={"first_key": marker.get("input_key")})
        count("DuplicateFiles")
        return result
    try:
        if isinstance(size, int) and size > settings.max_input_bytes:
            raise InputRejected("too_large", f"object is {size} bytes, over the {settings.max_input_bytes}-byte limit")
        try:
            raw = store.get(key, if_match=etag).body
        except Exception as exc:
            if is_changed_or_gone(exc):
                # Overwritten or deleted since the event: the newer object has its own event.
                logger.warning("object changed since the event; skipping", extra={"error": str(exc)})
                store.delete(keys.marker)
                result.status = "skipped"
                return result
            raise
        outcome = _run_core(raw, key, settings, store, keys)
        del raw  # the outputs are written: the input's memory can go before the event is sent
        reject_rules = dict(sorted(outcome.reject_rules.items()))
        detail = IngestorCompletedDetail(
            bucket=bucket,
            input_key=display_key(key),  # the name as people see it; S3 operations use `key`
            etag=etag,
            processed_key=keys.processed,
            rejects_key=keys.rejects,
            counts=outcome.counts,
            correlation_id=correlation_id,
            reject_rules=reject_rules,
        )
        if outcome.exchange_timezones:
            detail["exchange_timezones"] = outcome.exchange_timezones
        if detail["input_key"] != key:  # the identity (analysis id) stays that of the real object
            detail["object_key"] = key
        EventPublisher(aws.client("events"), settings.event_bus, INGESTOR_SOURCE).publish(
            INGESTOR_COMPLETED, dict(detail)
        )
        result.records = {k: outcome.counts[k] for k in ("input", "valid", "rejected")}
        result.symbol_errors = outcome.counts["symbol_errors"]
        result.reject_rules = dict(reject_rules)
        result.processed_key, result.rejects_key = keys.processed, keys.rejects
        _emit_ingest_metrics(outcome.counts, reject_rules)
        logger.info(
            "file ingested", extra={"counts": outcome.counts, "shape": outcome.shape, "symbols": len(outcome.symbols)}
        )
    except InputRejected as rejected:
        try:
            _quarantine(store, keys, key, etag, rejected, correlation_id, settings, size)
        except Exception as exc:
            # An S3 error while quarantining: the retry must find the marker free, not in progress.
            _release_marker(store, keys.marker)
            if is_changed_or_gone(exc):  # overwritten or deleted since the event: its own event follows
                logger.warning("object changed since the event; not quarantined", extra={"error": str(exc)})
                result.status = "skipped"
                return result
            logger.exception("quarantine failed; released the marker for a retry")
            raise
        result.status, result.error = "quarantined", f"{rejected.reason}: {rejected.message}"
    except Exception:
        # Give the marker back so Lambda's retry of this delivery can do the work.
        logger.exception("ingest failed; releasing the marker for a retry")
        _release_marker(store, keys.marker)
        raise
    _finish_marker(store, keys.marker, key, correlation_id, result)
    return result


def _run_core(raw: bytes, key: str, settings: Settings, store: ObjectStore, keys: OutputKeys) -> IngestOutcome:
    """Ingest `raw`, its processed and reject lines uploaded in parts as they are written (a
    reject-heavy file writes several times its size in reject lines); both objects are complete
    when this returns, and neither is left half-written when it raises."""
    processed = store.writer(keys.processed, "application/x-ndjson")
    rejects = store.writer(keys.rejects, "application/x-ndjson")
    # The parsed file is millions of small acyclic objects; the cyclic GC only re-walks them.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        outcome = ingest_document(
            raw,
            key,
            int(time.time()),
            max_bytes=settings.max_input_bytes,
            future_slack_s=int(settings.future_slack_hours * 3600),
            processed=processed,
            rejects=rejects,
        )
        processed.close()
        rejects.close()
    except BaseException:
        processed.abort()
        rejects.abort()
        raise
    finally:
        if gc_was_enabled:
            gc.enable()
    return outcome


def _quarantine(
    store: ObjectStore,
    keys: OutputKeys,
    key: str,
    etag: str,
    rejected: InputRejected,
    correlation_id: str,
    settings: Settings,
    size: Any = None,
) -> None:
    """Copy the file to quarantine/ with error.json beside it.

    CopyObject cannot copy more than 5 GiB. A file that large is not copied (a multipart copy of
    many GiB could outlast the function's timeout, and would double the storage of a file that
    is useless anyway): error.json alone goes to quarantine/, naming the original key and ETag,
    which stays under inputs/ untouched.
    """
    if not isinstance(size, int):
        size = store.head_size(key)
    copied = size <= COPY_LIMIT_BYTES
    if copied:
        store.copy(key, keys.quarantine, if_match=etag)
    store.put_json(
        keys.quarantine_error,
        {
            "input_key": key,
            "etag": etag,
            "size": size,
            "reason": rejected.reason,
            "error": rejected.message,
            "quarantined_at": _utc_now(),
            "correlation_id": correlation_id,
            "copy_key": keys.quarantine if copied else None,
            "original_key": key,
            "note": None
            if copied
            else f"over CopyObject's {COPY_LIMIT_BYTES}-byte limit: not copied; see original_key",
        },
    )
    count("FilesQuarantined")
    logger.warning(
        "file quarantined",
        extra={"reason": rejected.reason, "error": rejected.message, "quarantine_key": keys.quarantine},
    )
    # The readers expect a report: they get a notice that the data failed instead (notify sends it).
    notice = FailureNotice(
        analysis_id=NOTICE_PREFIX + analysis_id_for(store.bucket, key, etag),
        kind=NOTICE_KIND,
        created_at=_utc_now(),
        correlation_id=correlation_id,
        bucket=store.bucket,
        input_key=display_key(key),
        etag=etag,
        reason=rejected.reason,
        message=rejected.message[:1000],
        quarantine_key=keys.quarantine if copied else None,
    )
    if not save_notice(aws.client("dynamodb"), settings.table_name, dict(notice)):
        logger.info("failure notice already stored")


def _emit_ingest_metrics(counts: IngestCounts, reject_rules: dict[str, int]) -> None:
    count("FilesProcessed")
    count("BarsInput", counts["input"])
    count("BarsIngested", counts["valid"])
    count("BarsRejected", counts["rejected"])
    count("SymbolErrors", counts["symbol_errors"])
    if counts["input"]:
        count("RejectedPercent", round(100.0 * counts["rejected"] / counts["input"], 4), MetricUnit.Percent)
    for rule, n in reject_rules.items():
        count_with_dimension("RejectedByRule", "Rule", rule, n)


def _claim_marker(
    store: ObjectStore, marker_key: str, key: str, correlation_id: str, settings: Settings, context: Any
) -> dict | None:
    """Claim the file's ETag marker. None when claimed; the marker when the file is already done.

    A marker left `in_progress` by an invocation that died (timeout, out of memory) is taken over
    once its lease has passed; the lease never outlives the claimant's own Lambda deadline. A
    marker another invocation holds is most often a duplicate delivery of the same event running
    at this moment: the delivery waits a little (`holder_wait_seconds`) for it to finish, and only
    then fails for Lambda to retry it. Failing at once sent a duplicate whose retries all met a
    live holder to the DLQ, for a file that was ingested.
    """
    now = time.time()
    lease = lease_seconds(settings, context)
    claim = {
        "state": "in_progress",
        "input_key": key,
        "correlation_id": correlation_id,
        "claimed_at": now,
        "lease_expires_at": now + lease,
        "request_id": getattr(context, "aws_request_id", None),
    }
    give_up = time.monotonic() + holder_wait_seconds(settings, context)
    while True:
        if store.put_if_absent(marker_key, claim) is not None:
            return None
        found = store.read_json(marker_key)
        if found is not None:  # else released between our attempt and the read: try again
            marker, marker_etag = found
            if marker.get("state") == "done":
                return marker
            if float(marker.get("lease_expires_at", 0)) < time.time() and store.replace_if_match(
                marker_key, claim, marker_etag
            ):
                logger.warning("took over an expired in-progress marker", extra={"previous": marker})
                return None
        if time.monotonic() >= give_up:
            raise IngestInProgress(f"{key} is being ingested by another invocation (marker {marker_key}); retry later")
        time.sleep(_HOLDER_POLL_S)


_HOLDER_POLL_S = 0.25


def _finish_marker(store: ObjectStore, marker_key: str, key: str, correlation_id: str, result: FileResult) -> None:
    store.put_json(
        marker_key,
        {
            "state": "done",
            "status": result.status,
            "input_key": key,
            "correlation_id": correlation_id,
            "processed_key": result.processed_key,
            "rejects_key": result.rejects_key,
            "finished_at": _utc_now(),
        },
    )


def _release_marker(store: ObjectStore, marker_key: str) -> None:
    try:
        store.delete(marker_key)
    except Exception:  # the lease still bounds how long a stuck marker blocks retries
        logger.exception("could not release marker", extra={"marker": marker_key})


def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
