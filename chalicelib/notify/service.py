"""The notify edge: DynamoDB stream records in; one SES email per new analysis out.

Only INSERTs of analysis items and failure notices send mail. Each analysis is emailed once however often its record
is delivered (see `markers`). The handler answers with Lambda's partial batch response, so a
record that failed for a passing reason is retried alone and the others are not sent again.
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib import aws
from chalicelib.analysis_store import EMAILED_KINDS, NOTICE_KIND, AnalysisStore, from_dynamo_value, report_page_key
from chalicelib.config import Settings, get_settings, lease_seconds, notice_recipients
from chalicelib.notify.markers import ALREADY_SENDING, BUSY, CLAIMED, EXHAUSTED, Claim, EmailMarkers
from chalicelib.observability import count, logger
from chalicelib.storage import ObjectStore

# outcomes of one stream record
SENT, SKIPPED, DUPLICATE, REJECTED, GAVE_UP, UNKNOWN = "sent", "skipped", "duplicate", "rejected", "gave_up", "unknown"

# SES answers that no retry can fix: what to change, for the log line an operator reads.
_REFUSALS = {
    "MessageRejected": (
        "SES refused the message. If it names an unverified address: verify the sender {sender} in SES, "
        "and while the account is in the SES sandbox verify every recipient too, or request production access."
    ),
    "MailFromDomainNotVerifiedException": (
        "The custom MAIL FROM domain of {sender} is not verified: publish its MX and SPF records, "
        "or remove the custom MAIL FROM domain from the identity."
    ),
    "ConfigurationSetDoesNotExist": (
        "The configuration set the identity {sender} uses does not exist: create it or remove it from the identity."
    ),
    "ConfigurationSetSendingPausedException": "Sending is paused for the configuration set: resume it in SES.",
    "AccountSendingPausedException": (
        "Sending is paused for the whole SES account in this region: check the account's reputation and resume it."
    ),
    "InvalidParameterValue": "An address is malformed: check SENDER_EMAIL ({sender}) and RECIPIENT_EMAILS.",
    "AccessDenied": "The function's role may not send: grant ses:SendRawEmail on the identity {sender}.",
    "AccessDeniedException": "The function's role may not send: grant ses:SendRawEmail on the identity {sender}.",
}


class MarkerBusy(RuntimeError):
    """Another live attempt holds this analysis's marker; the record is retried later."""


def handle_stream_batch(event: dict, context: Any = None) -> dict:
    """Email every analysis INSERTed in a stream batch; `{"batchItemFailures": [...]}` for Lambda."""
    settings = get_settings()
    failures = []
    for record in event.get("Records") or []:
        sequence_number = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
        try:
            notify_record(record, settings, context)
        except Exception:
            logger.exception("report email failed; the record will be retried", extra={"sequence": sequence_number})
            failures.append({"itemIdentifier": sequence_number})
        finally:
            logger.remove_keys(["analysis_id"])
    return {"batchItemFailures": failures}


def notify_record(record: dict, settings: Settings, context: Any = None) -> str:
    """Send the email one stream record calls for; returns what happened (SENT, SKIPPED, ...)."""
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    kind = (image.get("kind") or {}).get("S")
    if record.get("eventName") != "INSERT" or kind not in EMAILED_KINDS:
        logger.debug("stream record skipped", extra={"event_name": record.get("eventName"), "kind": kind})
        count("EmailsSkipped")
        return SKIPPED
    item = _deserialize(image)
    analysis_id = str(item["analysis_id"])
    correlation_id = str(item.get("correlation_id") or "")
    logger.set_correlation_id(correlation_id or None)
    logger.append_keys(analysis_id=analysis_id)
    if not settings.recipients:
        logger.error("no report recipients configured: set RECIPIENT_EMAILS", extra={"fix": "set RECIPIENT_EMAILS"})
        count("EmailRejected")
        return REJECTED

    markers = EmailMarkers(aws.client("dynamodb"), settings.table_name)
    claim = markers.claim(analysis_id, correlation_id, lease_seconds(settings, context))
    if claim.outcome == ALREADY_SENDING:
        return _left_sending(markers, analysis_id, claim)
    if claim.outcome != CLAIMED:
        return _not_claimed(claim)
    token = claim.token or ""
    try:
        report, recipients = _compose(kind, item, settings)
        from chalicelib.notify.mime import build_message

        raw = build_message(report, settings.sender, recipients, analysis_id=analysis_id, correlation_id=correlation_id)
    except Exception as exc:
        _release(markers, analysis_id, token, exc)
        raise
    if not _mark_sending(markers, analysis_id, token, settings):
        logger.warning("lost the email marker to another delivery; not sending")
        count("EmailDuplicates")
        return DUPLICATE
    return _send(markers, analysis_id, token, raw, report.subject, settings, recipients)


def _compose(kind: str | None, item: dict, settings: Settings) -> tuple[Any, tuple[str, ...]]:
    """The email an item calls for, and who gets it: the report, or a failure notice (a
    quarantined file, or an analysis without a single valid bar) for NOTICE_TO's addresses."""
    from chalicelib.notify import notice

    if kind == NOTICE_KIND:
        return notice.render_notice(notice.notice_from_quarantine(item)), notice_recipients(settings)
    full = _load_full(item, settings)
    if notice.needs_notice(full):
        return notice.render_notice(notice.notice_from_record(full)), notice_recipients(settings)
    from chalicelib.notify.render import render_report

    archive_url, access = archive_links(settings, time.time())
    report = render_report(full, archive_url=archive_url, access=access)
    _keep_page(item, report, settings)
    return report, settings.recipients


def archive_links(settings: Settings, now: float) -> tuple[str, str]:
    """(the archive's base URL, the token its links carry) for this email. Under API_AUTH=link a
    link opens the archive only with a token signed by the stage's link key; when that key cannot
    be read the email goes without links rather than with links that would not open."""
    if not settings.archive_url or settings.api_auth != "link":
        return settings.archive_url, ""
    from chalicelib.link_key import link_token, read_link_key

    key = read_link_key(settings, now, "this email goes without archive links")
    if key is None:
        count("ArchiveLinksLeftOut")
        return "", ""
    return settings.archive_url, link_token(settings, key, now)


def _mark_sending(markers: EmailMarkers, analysis_id: str, token: str, settings: Settings) -> bool:
    """`preparing` -> `sending`; False if another delivery has taken the marker over.

    If the write's answer is lost (a timeout), the marker is read back: still ours and at
    `sending` means the write landed and SES has not been called (only this invocation calls it
    with this token), so sending is safe; still ours at `preparing` means it did not land.
    """
    try:
        return markers.mark_sending(analysis_id, token)
    except Exception as exc:
        marker = markers.get(analysis_id) or {}  # if this fails too, the retry finds `sending`: unknown
        if marker.get("claim_token") != token:
            return False
        if marker.get("state") == "sending":
            logger.warning(
                "marking the email as sending had no answer, but it landed; sending", extra={"error": str(exc)}
            )
            return True
        _release(markers, analysis_id, token, exc)
        raise


def _send(
    markers: EmailMarkers,
    analysis_id: str,
    token: str,
    raw: bytes,
    subject: str,
    settings: Settings,
    recipients: tuple[str, ...],
) -> str:
    from botocore.exceptions import ClientError

    try:
        response = aws.client("ses").send_raw_email(
            Source=settings.sender, Destinations=list(recipients), RawMessage={"Data": raw}
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code", "")), str(error.get("Message", ""))
        if code in _REFUSALS:
            fix = _REFUSALS[code].format(sender=settings.sender)
            markers.mark_failed(analysis_id, token, code, message)
            logger.error(
                "SES refused the report email; not retrying",
                extra={"error_code": code, "error": message, "fix": fix, "sender": settings.sender},
            )
            count("EmailRejected")
            return REJECTED
        # SES answered with an error (throttling, a 5xx): nothing was sent; the record is retried.
        _release(markers, analysis_id, token, exc)
        raise
    except Exception as exc:
        # No answer (timeout, dropped connection): SES may have the message. The marker leaves
        # `sending` only for `unknown`, so no delivery of this record sends it again.
        try:
            markers.mark_unknown(analysis_id, token, f"no answer from SES: {type(exc).__name__}: {exc}")
        except Exception:  # still `sending`: the next delivery reports it the same way
            logger.exception("could not record the unknown email outcome")
        _report_unknown(analysis_id, "the SES call ended without an answer", exc_info=True)
        return UNKNOWN
    message_id = str(response.get("MessageId", ""))
    try:
        markers.mark_sent(analysis_id, token, message_id)
    except Exception:  # the email is out; the `sending` marker already stops a resend
        logger.exception("could not record the sent email", extra={"ses_message_id": message_id})
    logger.info(
        "report emailed",
        extra={"ses_message_id": message_id, "recipients": len(recipients), "subject": subject},
    )
    count("EmailsSent")
    return SENT


def _left_sending(markers: EmailMarkers, analysis_id: str, claim: Claim) -> str:
    """A marker still at `sending`: its claimant died between `mark_sending` and SES's answer
    (or, rarely, is inside the SES call right now). Reported once, by the delivery that moves it
    to `unknown`; never sent again, since SES may hold the message."""
    marker = claim.marker or {}
    if markers.mark_unknown(
        analysis_id, str(marker.get("claim_token", "")), "left at `sending`: the attempt ended before SES answered"
    ):
        _report_unknown(analysis_id, "a previous attempt ended between marking the email as sending and SES's answer")
        return UNKNOWN
    return _not_claimed(Claim(str(marker.get("state", ALREADY_SENDING)), marker=marker))


def _report_unknown(analysis_id: str, why: str, exc_info: bool = False) -> None:
    """EmailOutcomeUnknown: the one case at-least-once delivery cannot settle by itself."""
    logger.error(
        f"email outcome unknown for analysis {analysis_id}: {why}; it may or may not have gone out and is not resent",
        extra={
            "email_outcome": "unknown",
            "fix": f"check SES sending activity; delete the marker item email#{analysis_id} to allow a resend",
        },
        exc_info=exc_info,
    )
    count("EmailOutcomeUnknown")


def _not_claimed(claim: Claim) -> str:
    marker = claim.marker or {}
    if claim.outcome == BUSY:
        raise MarkerBusy("another delivery is preparing this analysis's email; retry later")
    if claim.outcome == EXHAUSTED:
        logger.error(
            "giving up on the report email",
            extra={"error": marker.get("error"), "fix": "fix the cause; delete marker email#<analysis_id> to resend"},
        )
        count("EmailFailed")
        return GAVE_UP
    logger.info(
        "report email already handled; redelivery ignored",
        extra={"marker_state": claim.outcome, "ses_message_id": marker.get("ses_message_id")},
    )
    count("EmailDuplicates")
    return DUPLICATE


def _keep_page(item: dict, report: Any, settings: Settings) -> None:
    """For a big file's report, its page for the archive (`analyses/<id>.html`): the archive's
    `GET /reports/{id}` then serves it instead of reading a record of many megabytes. Best
    effort: without it the archive renders the record itself."""
    if item.get("complete"):
        return  # the item holds the record: the archive renders it cheaply
    from chalicelib.notify.render import standalone_html

    try:
        objects = ObjectStore(aws.client("s3"), str(item.get("record_bucket") or settings.bucket))
        objects.put(
            report_page_key(str(item["analysis_id"])), standalone_html(report).encode(), "text/html; charset=utf-8"
        )
    except Exception:
        logger.exception("the report page for the archive was not stored; the archive renders the record")
        count("ReportPagesNotStored")


def _load_full(item: dict, settings: Settings) -> dict:
    """The whole record: the item itself, or (a summary item) its JSON in S3."""
    objects = ObjectStore(aws.client("s3"), str(item.get("record_bucket") or settings.bucket))
    store = AnalysisStore(aws.client("dynamodb"), settings.table_name, objects, settings.analysis_item_max_kb * 1024)
    full = store.load_full(item)
    if full is None:
        raise LookupError(f"analysis record {item.get('record_key')} not found in s3://{objects.bucket}")
    return full


def _deserialize(image: dict) -> dict:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return from_dynamo_value({k: deserializer.deserialize(v) for k, v in image.items()})


def _release(markers: EmailMarkers, analysis_id: str, token: str, exc: Exception) -> None:
    try:
        markers.release(analysis_id, token, f"{type(exc).__name__}: {exc}")
    except Exception:  # the lease still bounds how long the marker blocks a retry
        logger.exception("could not release the email marker")
