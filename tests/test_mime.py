"""The raw MIME message: structure, headers, encodings, and what a mail client decodes from it."""

from __future__ import annotations

import datetime as dt
import email
from email import policy

import pytest

from chalicelib.notify.formatting import clean_line
from chalicelib.notify.mime import browser_html, build_message, message_id
from chalicelib.notify.render import InlineImage, Report, render_report, standalone_html
from tests.report_records import hostile_record, market_record

SENDER = "reports@example.com"
RECIPIENTS = ["analyst@example.com", "desk@example.com"]
NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def build(report: Report, correlation_id: str = "corr-1", analysis_id: str = "abc123") -> bytes:
    return build_message(report, SENDER, RECIPIENTS, analysis_id=analysis_id, correlation_id=correlation_id, now=NOW)


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def shape(part) -> object:
    """The MIME tree as nested (type, [children]) / type."""
    if part.is_multipart():
        return (part.get_content_type(), [shape(p) for p in part.iter_parts()])
    return part.get_content_type()


@pytest.fixture(scope="module")
def report() -> Report:
    return render_report(market_record())


def test_alternative_text_and_html_with_related_charts(report):
    message = parse(build(report))
    assert shape(message) == (
        "multipart/alternative",
        ["text/plain", ("multipart/related", ["text/html", "image/png", "image/png", "image/png"])],
    )
    related = message.get_payload()[1]
    assert related.get_param("type") is None or related.get_param("type") == "text/html"
    html = message.get_body(("html",)).get_content()
    for image, part in zip(report.images, related.get_payload()[1:], strict=True):
        assert part["Content-ID"] == f"<{image.content_id}>"
        assert part.get_content_disposition() == "inline"
        assert part.get_content() == image.png
        assert f'src="cid:{image.content_id}"' in html


def test_without_pictures_the_html_is_the_second_alternative():
    plain_report = Report(subject="s", html="<!DOCTYPE html><p>h</p>", text="t", images=[])
    message = parse(build(plain_report))
    assert shape(message) == ("multipart/alternative", ["text/plain", "text/html"])


def test_headers(report):
    message = parse(build(report, correlation_id="corr-42", analysis_id="a1b2c3"))
    assert message["From"] == f"Stock Insights <{SENDER}>"
    assert [a.addr_spec for a in message["To"].addresses] == RECIPIENTS
    assert message["Subject"] == report.subject
    assert message["Date"].datetime == NOW
    assert message["Message-ID"] == "<report.a1b2c3@example.com>"
    assert message["X-Correlation-Id"] == "corr-42"
    assert message["X-Analysis-Id"] == "a1b2c3"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["MIME-Version"] == "1.0"


def test_both_parts_decode_to_exactly_what_was_rendered(report):
    message = parse(build(report))

    # MIME text is CRLF on the wire and ends with a line break; otherwise it is the same text.
    def decoded(kind: str) -> str:
        return message.get_body((kind,)).get_content().replace("\r\n", "\n").rstrip("\n")

    assert decoded("plain") == report.text.rstrip("\n")
    assert decoded("html") == report.html.rstrip("\n")
    for kind in ("plain", "html"):
        assert message.get_body((kind,)).get_content_charset() == "utf-8"


def test_the_bytes_are_seven_bit_with_crlf_and_short_lines(report):
    raw = build(report)
    assert max(raw) < 128  # quoted-printable / base64 / RFC 2047: safe for any relay
    assert b"\n" not in b"".join(raw.split(b"\r\n"))  # every line ends CRLF
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998  # RFC 5322's hard limit
    for part in parse(raw).walk():
        if not part.is_multipart():  # encoded bodies keep RFC 2045's 76 characters a line
            assert max(len(line) for line in part.get_payload().splitlines()) <= 76


@pytest.mark.parametrize("length", [60, 70, 75, 80, 150])
def test_the_subject_reads_back_exactly_whatever_its_length(length):
    subject = ("Stock Insights | " + "x" * 200)[:length]
    message = parse(build(Report(subject=subject, html="<p>h</p>", text="t")))
    assert message["Subject"] == subject


def test_a_non_ascii_subject_is_encoded_and_reads_back():
    subject = "Stock Insights | prices.json | Bullish, 2 of 3 up | ÄPFEL +1.00% " + "y" * 40
    raw = build(Report(subject=subject, html="<p>h</p>", text="t"))
    assert max(raw) < 128 and b"=?utf-8?" in raw
    assert parse(raw)["Subject"].replace("  ", " ") == subject.replace("  ", " ")


def test_values_from_data_cannot_add_headers():
    report = render_report(hostile_record())
    message = parse(build(report, correlation_id="corr\r\nBcc: victim@example.com"))
    assert message["Bcc"] is None
    assert message["X-Correlation-Id"] == "corr Bcc: victim@example.com"
    assert "\n" not in message["Subject"]
    assert message["Subject"] == report.subject


def test_at_least_one_recipient_is_required(report):
    with pytest.raises(ValueError):
        build_message(report, SENDER, [], analysis_id="a", correlation_id="c", now=NOW)


def test_message_id_is_stable_per_analysis_and_safe():
    assert message_id("abc", "Reports <r@mail.example.com>") == "<report.abc@mail.example.com>"
    assert message_id("a b<c>", "r@example.com") == "<report.abc@example.com>"
    assert message_id("abc", "") == "<report.abc@stock-insights.invalid>"


def test_a_picture_is_attached_once_per_content_id():
    images = [InlineImage("chart-0@stock-insights", b"\x89PNG0"), InlineImage("chart-1@stock-insights", b"\x89PNG1")]
    html = '<!DOCTYPE html><img src="cid:chart-0@stock-insights"><img src="cid:chart-1@stock-insights">'
    message = parse(build(Report(subject="s", html=html, text="t", images=images)))
    ids = [p["Content-ID"] for p in message.walk() if p.get_content_type() == "image/png"]
    assert ids == ["<chart-0@stock-insights>", "<chart-1@stock-insights>"]


def test_browser_html_puts_the_pictures_back_in_place(report):
    page = browser_html(build(report))
    assert "cid:" not in page
    assert page.replace("\r\n", "\n").rstrip("\n") == standalone_html(report)
    plain_report = Report(subject="s", html="<!DOCTYPE html><p>h</p>", text="t", images=[])
    assert browser_html(build(plain_report)).strip() == "<!DOCTYPE html><p>h</p>"


@pytest.mark.parametrize(
    "text",
    [
        "Stock Insights | =?utf-8?q?Q3=0D=0AReply-To=3A_x=40evil=2Eio=0D=0AX-Tail=3A?=.json | Bullish",
        "Top: =?l1?q?=0D=0ACc:x@e.i?= +12.00%",
        "=?utf-8?b?DQpCY2M6IHhAZXZpbC5pbw==?=",
        "ÄPFEL " + "€" * 90 + " 😀 end",
        "=?" * 100,
        "plain ascii " * 16,
    ],
)
def test_text_from_data_reads_back_as_itself_in_every_header_it_reaches(text):
    raw = build(Report(subject=text, html="<p>h</p>", text="t"), correlation_id=text, analysis_id="a1")
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert max(raw) < 128
    for reader in (policy.default, policy.SMTP, policy.compat32):
        message = email.message_from_bytes(raw, policy=reader)
        assert message.keys() == list(parse(build(Report(subject="s", html="<p>h</p>", text="t"))).keys())
    message = parse(raw)
    # exactly the one line the subject and the id were cut to, nothing decoded out of it
    assert message["Subject"] == clean_line(text, 200)
    assert message["X-Correlation-Id"] == clean_line(text, 100)
    for line in head.split(b"\r\n"):
        assert len(line) <= (76 if b"=?utf-8?b?" in line else 998)
