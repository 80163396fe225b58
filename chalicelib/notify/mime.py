"""The report as one raw MIME message, the bytes SES `SendRawEmail` takes (pure).

Structure (RFC 2046 / RFC 2387), the layout mail clients expect:

    multipart/alternative
    ├── text/plain; charset=utf-8
    └── multipart/related            (only when there are pictures; else text/html sits here)
        ├── text/html; charset=utf-8
        └── image/png  Content-ID: <chart-N@stock-insights>  (one per chart)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from chalicelib.notify.formatting import clean_line
from chalicelib.notify.render import Report

SENDER_NAME = "Stock Insights"
# Quoted-printable lines may be at most 76 characters (RFC 2045); the encoder follows the policy.
_BODY_POLICY = policy.SMTP.clone(max_line_length=76)


def build_message(
    report: Report,
    sender: str,
    recipients: Sequence[str],
    *,
    analysis_id: str,
    correlation_id: str,
    now: dt.datetime | None = None,
) -> bytes:
    """The report as RFC 5322 bytes (CRLF line ends, 7-bit transfer encodings)."""
    if not recipients:
        raise ValueError("at least one recipient is required")
    message = EmailMessage(policy=_BODY_POLICY)
    message["From"] = formataddr((SENDER_NAME, sender))
    message["To"] = ", ".join(recipients)
    message["Subject"] = clean_line(report.subject, 200)
    message["Date"] = format_datetime(now or dt.datetime.now(dt.UTC))
    message["Message-ID"] = message_id(analysis_id, sender)
    message["X-Correlation-Id"] = clean_line(correlation_id, 100)
    message["X-Analysis-Id"] = clean_line(analysis_id, 100)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a report
    message.set_content(report.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(report.html, subtype="html", charset="utf-8", cte="quoted-printable")
    if report.images:
        html_part = message.get_payload()[1]
        for image in report.images:
            html_part.add_related(
                image.png,
                maintype="image",
                subtype="png",
                cid=f"<{image.content_id}>",
                disposition="inline",
                filename=f"{image.content_id.split('@', 1)[0]}.png",
            )
    # An ASCII header is never folded (a folded Subject reads back with a leading space in some
    # parsers); bodies were encoded above with 76-character lines either way. Non-ASCII headers
    # keep the short folding that RFC 2047 encoded words need.
    headers_ascii = all(str(value).isascii() for value in message.values())
    return message.as_bytes(policy=policy.SMTP.clone(max_line_length=998) if headers_ascii else _BODY_POLICY)


def message_id(analysis_id: str, sender: str) -> str:
    """Deterministic per analysis: should a copy ever slip through twice, clients thread it as one."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "stock-insights.invalid"
    safe_id = "".join(ch for ch in analysis_id if ch.isalnum() or ch in "-_.") or "unknown"
    return f"<report.{safe_id}@{domain}>"


def browser_html(raw: bytes) -> str:
    """The HTML part of a raw report message, its `cid:` pictures embedded as data URIs.

    For opening a sent (or received) report in a browser, where `cid:` links cannot resolve.
    """
    import base64
    import email

    message = email.message_from_bytes(raw, policy=policy.default)
    body = message.get_body(("related", "html"))
    if body is None:
        raise ValueError("the message has no HTML part")
    html_part = body.get_body(("html",)) if body.get_content_type() == "multipart/related" else body
    html = html_part.get_content()
    for part in message.walk():
        content_id = part.get("Content-ID")
        if content_id and part.get_content_maintype() == "image":
            data = base64.b64encode(part.get_content()).decode("ascii")
            uri = f"data:{part.get_content_type()};base64,{data}"
            html = html.replace(f'src="cid:{content_id.strip("<>")}"', f'src="{uri}"')
    return html
