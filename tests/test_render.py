"""The report's content, escaping and HTML, from records the real analyze core builds."""

from __future__ import annotations

import io
import re

import html5lib
import pytest
from PIL import Image

from chalicelib.notify.render import Report, render_report, standalone_html
from tests.report_records import IMG, SCRIPT, closes_walk, hostile_record, make_record, market_record

_NS = "{http://www.w3.org/1999/xhtml}"


def parse_strict(html: str):
    """The HTML5 parser in strict mode: any parse error (bad nesting, stray tag, ...) raises."""
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=True).parse(html)


def visible_text(html: str) -> str:
    """The text a reader sees, whitespace collapsed (what the HTML says, without markup)."""
    tree = parse_strict(html)
    body = tree.find(f"{_NS}body")
    return " ".join("".join(body.itertext()).split())


def plain(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def market() -> tuple[dict, Report]:
    record = market_record()
    return record, render_report(record)


def test_subject_names_the_session_the_sentiment_and_the_headline_movers(market):
    _, report = market
    # 40 daily bars from 1 Jan 2024: the last is Friday 9 Feb.
    assert report.subject == "Stock Insights · Fri 9 Feb 2024 · Bullish, 2 of 3 up · UPCO +7.50%, DOWNCO −3.00%"
    assert "prices.json" not in report.subject


def test_subject_without_any_change_says_so():
    record = make_record({"ONE": [100.0]})
    assert render_report(record).subject == "Stock Insights · Mon 1 Jan 2024 · no market reading"


def test_subject_without_any_bar_names_the_file():
    record = make_record({}, empty_symbols=("GONE",))
    assert render_report(record).subject == "Stock Insights · prices.json · no market reading"


def test_the_strict_parser_does_reject_broken_html():
    with pytest.raises(html5lib.html5parser.ParseError):
        parse_strict("<!DOCTYPE html><html><head><title>t</title></head><body><p>a</div></body></html>")


@pytest.mark.parametrize("make", [market_record, hostile_record, lambda: make_record({"ONE": [100.0]})])
def test_the_template_itself_parses_cleanly(make):
    # The inliner re-serialises the document and would hide a stray tag: check the template's own output.
    parse_strict(render_report(make(), inline_css=False).html)


def test_html_parses_cleanly_and_is_a_complete_document(market):
    _, report = market
    assert report.html.startswith("<!DOCTYPE html>")
    tree = parse_strict(report.html)
    assert tree.find(f"{_NS}head/{_NS}title").text == report.subject
    assert tree.find(f"{_NS}head/{_NS}meta[@charset='utf-8']") is not None


def test_every_section_is_in_both_parts(market):
    record, report = market
    html, text = visible_text(report.html), plain(report.text)
    facts = [
        # processing summary: counts, rates, top reject rules by count
        "129",
        "120",
        "93.0%",
        "7.0%",
        "bad_number",
        "5 (55.6%)",
        "ohlc_inconsistent",
        "3 (33.3%)",
        "Symbol errors",
        # market overview
        "Bullish",
        "breadth 67%",
        "2 up",
        "1 down",
        "moderate",
        "UPCO +7.50%",
        "DOWNCO -3.00%",
        "FLATCO 0.87%",
        # anomalies
        "Price move",
        "Volume spike",
        "4.0× avg volume",
        # executive summary (the model's or the offline text, verbatim)
        plain(record["executive_summary"]),
        # per symbol: numbers and all four insights
        "83.86",
        "-16.14%",
        "-2.97%",
        "1.05%",
        "volume 4.00× its 20-bar average",
        "trend down over 20 bars",
        plain(record["symbols"]["UPCO"]["insight"]["opportunities"]),
        plain(record["symbols"]["DOWNCO"]["insight"]["risks"]),
        plain(record["symbols"]["FLATCO"]["insight"]["key_anomaly"]),
        plain(record["symbols"]["GONE"]["insight"]["summary"]),
        "no valid bars",
        # insight source, tokens, cost; ids
        "offline",
        "0 in / 0 out",
        "$0.0000",
        "corr-1234-abcd",
        record["analysis_id"],
        "s3://test-bucket/inputs/prices.json",
    ]
    assert [f for f in facts if f not in html] == []
    assert [f for f in facts if f not in text] == []


def test_symbols_rows_are_in_order_and_colour_their_moves(market):
    _, report = market
    html = report.html
    assert [m for m in re.findall(r">(DOWNCO|FLATCO|GONE|UPCO)</div>", html)] == ["DOWNCO", "FLATCO", "GONE", "UPCO"]
    # CSS is inlined: the up/down classes carry their colours in style attributes.
    assert re.search(r'<span class="up" style="[^"]*color:#1a7f37[^"]*">▲ \+7\.50%</span>', html)
    assert re.search(r'<span class="down" style="[^"]*color:#cf222e[^"]*">▼ -3\.00%</span>', html)


def test_css_is_inlined_and_the_page_is_phone_width(market):
    _, report = market
    tree = parse_strict(report.html)
    styles = [s.text for s in tree.iter(f"{_NS}style")]
    # Only the @media block (which cannot be inlined) stays in a <style>; the rest is in attributes.
    assert len(styles) == 1 and styles[0].strip().startswith("@media (max-width: 480px)")
    sheet = next(t for t in tree.iter(f"{_NS}table") if "sheet" in t.get("class", "").split())
    assert "max-width:600px" in sheet.get("style")
    assert "width:100%" in sheet.get("style")
    assert tree.find(f".//{_NS}meta[@name='viewport']") is not None
    # Layout is tables (email clients ignore flex/grid): no div carries layout of its own.
    assert "display: flex" not in report.html and "display: grid" not in report.html


def test_a_chart_per_symbol_with_closes_attached_by_content_id(market):
    record, report = market
    tree = parse_strict(report.html)
    imgs = list(tree.iter(f"{_NS}img"))
    with_closes = [s for s, m in record["symbols"].items() if len(m["recent_closes"]) >= 2]
    assert len(imgs) == len(report.images) == len(with_closes) == 3
    assert [i.get("src") for i in imgs] == [f"cid:{image.content_id}" for image in report.images]
    for img in imgs:
        # readable with images blocked: alt text, a fixed box, and the numbers beside it as text
        assert img.get("alt").endswith("price chart")
        assert (img.get("width"), img.get("height")) == ("120", "32")
    text = visible_text(report.html)
    # The chart spans the trend's 20 bars: its change is over their 19 moves, and each label says so.
    assert "-12.54% over 19 moves" in text and "20-bar range 83.86–95.89" in text
    assert "trend down over 20 bars" in text


def test_chart_pictures_are_pngs_coloured_by_direction(market):
    _, report = market
    down, flat, up = (Image.open(io.BytesIO(image.png)).convert("RGB") for image in report.images)
    for picture in (down, flat, up):
        assert picture.size == (240, 64)
    assert (207, 34, 46) in {c for _, c in down.getcolors(4096)}  # DOWNCO fell over the window: red
    assert (26, 127, 55) in {c for _, c in up.getcolors(4096)}  # UPCO rose: green
    assert "▁" in report.text and "█" in report.text  # the text part's sparkline


@pytest.mark.parametrize("payload", [SCRIPT, IMG])
def test_markup_in_data_and_model_text_is_shown_as_text_never_run(payload):
    report = render_report(hostile_record())
    tree = parse_strict(report.html)
    elements = list(tree.iter())
    assert not [e for e in elements if e.tag == f"{_NS}script"]
    assert not [e for e in elements for name in e.attrib if name.lower().startswith("on")]
    assert {e.get("src", "")[:4] for e in elements if e.tag == f"{_NS}img"} == {"cid:"}
    text = visible_text(report.html)
    assert f"Model says {SCRIPT} and {IMG}" in text  # executive summary (model)
    assert f"summary: {SCRIPT} {IMG}" in text  # per-symbol insight (model)
    assert payload in text.split("Top gainers")[1]  # symbol names (data)
    assert f"Note: {SCRIPT}" in text and f"model {IMG}" in text  # model metadata
    # The escaped forms are what the HTML source carries in text.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report.html
    assert payload in report.text  # the text part shows the same words, unescaped


def test_header_values_from_data_cannot_break_lines():
    report = render_report(hostile_record())
    assert "\n" not in report.subject and "\r" not in report.subject
    assert "corr Bcc: victim@example.com" in visible_text(report.html)
    assert "\nBcc:" not in report.text


def test_large_analysis_shows_the_notable_symbols_and_counts_the_rest():
    series = {f"S{i:03d}": closes_walk(i, n=30) for i in range(120)}
    series["ZBIG"] = closes_walk(999, n=30, last_move_pct=9.0)
    record = make_record(series)
    report = render_report(record, max_symbols=40, max_anomalies=5)
    tree = parse_strict(report.html)
    assert len(report.images) == len(list(tree.iter(f"{_NS}img"))) == 40
    text = visible_text(report.html)
    assert "Showing 40 of 121 symbols" in text and f"analyses/{record['analysis_id']}.json" in text
    assert "ZBIG" in text  # the headline mover is always among those shown
    assert "Showing 40 of 121 symbols" in plain(report.text)
    assert len(report.html.encode()) + sum(len(i.png) for i in report.images) < 400_000


def test_bedrock_insight_costs_are_reported():
    record = market_record()
    record["insights"] = {
        "source": "bedrock",
        "model": "amazon.nova-lite-v1:0",
        "input_tokens": 12345,
        "output_tokens": 678,
        "cost_usd": 0.00090342,
    }
    report = render_report(record)
    for part in (visible_text(report.html), plain(report.text)):
        assert "Amazon Bedrock" in part and "amazon.nova-lite-v1:0" in part
        assert "12,345 in / 678 out" in part and "$0.0009" in part


def test_missing_reject_rules_are_not_mistaken_for_no_rejects():
    record = market_record()
    del record["reject_rules"]
    report = render_report(record)
    assert "Reject rules were not recorded" in visible_text(report.html)
    assert "No bar was rejected" not in report.text


def test_standalone_html_embeds_the_charts(market):
    _, report = market
    page = standalone_html(report)
    assert "cid:" not in page
    assert page.count('src="data:image/png;base64,') == len(report.images)
    parse_strict(page)


def test_with_an_archive_the_email_links_to_the_report_and_each_symbol():
    from chalicelib.links import absolute, report_path, symbol_path

    record = market_record()
    base = "https://abc123.execute-api.us-east-1.amazonaws.com/api/"
    report = render_report(record, archive_url=base)
    page = absolute(base, report_path(record["analysis_id"]))
    assert page == f"https://abc123.execute-api.us-east-1.amazonaws.com/api/reports/{record['analysis_id']}"
    tree = parse_strict(report.html)
    hrefs = [a.get("href") for a in tree.iter(f"{_NS}a")]
    assert page in hrefs
    for symbol in ("UPCO", "DOWNCO", "FLATCO", "GONE"):
        assert absolute(base, symbol_path(symbol)) in hrefs
        assert absolute(base, symbol_path(symbol)) in report.text
    assert f"Report page:    {page}" in report.text


def test_without_an_archive_the_email_stands_alone():
    report = render_report(market_record())
    assert "<a " not in report.html and "https://" not in report.text
    assert "s3://test-bucket/analyses/" in report.text  # the full record is named instead
