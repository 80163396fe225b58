"""The report as one raw MIME message, the bytes SES `SendRawEmail` takes (pure).

Structure (RFC 2046 / RFC 2387), the layout mail clients expect:

    multipart/alternative
    ├── text/plain; charset=utf-8
    └── multipart/related            (only when there are pictures; else text/html sits here)
        ├── text/html; charset=utf-8
        └── image/png  Content-ID: <chart-N@stock-insights>  (one per chart)
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Sequence
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from chalicelib.notify.formatting import clean_line
from chalicelib.notify.render import Report

SENDER_NAME = "Stock Insights"
# Quoted-printable lines may be at most 76 characters (RFC 2045); the encoder follows the policy.
_BODY_POLICY = policy.SMTP.clone(max_line_length=76)
# The bytes written out: headers set with `set_raw` (the text ones) go out exactly as built here
# (`refold_source="none"`), and the generator refuses any header line that would start a new
# header (`verify_generated_headers`, on by default since Python 3.13). SES takes the message as
# given: a header and a body separated by a blank line, no line over 1,000 characters (RFC 5321),
# content outside 7-bit ASCII encoded (SES API v2 Reference, "RawMessage",
# docs.aws.amazon.com/ses/latest/APIReference-V2/API_RawMessage.html, read 2026-12-04).
_WIRE_POLICY = policy.SMTP.clone(max_line_length=998, refold_source="none", verify_generated_headers=True)


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
    message.set_raw("Subject", header_text("Subject", clean_line(report.subject, 200)))
    message["Date"] = format_datetime(now or dt.datetime.now(dt.UTC))
    message["Message-ID"] = message_id(analysis_id, sender)
    message.set_raw("X-Correlation-Id", header_text("X-Correlation-Id", clean_line(correlation_id, 100)))
    message.set_raw("X-Analysis-Id", header_text("X-Analysis-Id", clean_line(analysis_id, 100)))
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
    # Bodies were encoded above with 76-character lines; the text headers are already folded.
    return message.as_bytes(policy=_WIRE_POLICY)


# Printable ASCII that no reader can take for anything but itself: no encoded-word opener `=?`.
_LITERAL = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")
_LINE_MAX = 76  # RFC 2047 section 2: a header line holding an encoded word is at most 76 characters


def header_text(name: str, text: str) -> str:
    """`text` (one line, from data) as the value of header `name`, read back by any reader as
    exactly `text` and never as another header.

    The email package would decode RFC 2047 encoded words found in a value it is given (so a
    file named `=?utf-8?q?=0D=0AReply-To=3A…?=` becomes a line break and a header once a client
    decodes it), and writes printable ASCII out as it stands, `=?…?=` included. So text that is
    plain printable ASCII without `=?` is written as it is, on one line (a folded Subject reads
    back with a leading space in some parsers); any other is written whole as UTF-8 base64
    encoded words, which a reader decodes once, to the literal text. Each word holds whole
    characters and each line stays within 76 characters, the first counting `name: `.
    """
    if not text or (_LITERAL.fullmatch(text) and "=?" not in text):
        return text
    words: list[str] = []
    budget = _LINE_MAX - len(name) - 2  # the first line also holds `Name: `
    chunk = b""
    for char in text:
        encoded = char.encode("utf-8", "replace")  # a lone surrogate becomes "?"
        if chunk and len(_word(chunk + encoded)) > budget:
            words.append(_word(chunk))
            chunk, budget = b"", _LINE_MAX - 1  # a continuation line starts with one space
        chunk += encoded
    words.append(_word(chunk))
    return "\n ".join(words)  # folded; the policy writes each line break as CRLF


def _word(data: bytes) -> str:
    return f"=?utf-8?b?{base64.b64encode(data).decode('ascii')}?="


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
