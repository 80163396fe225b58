"""The report as a reader sees it: headless Chromium renders it and the screenshot is checked.

Needs Debian's `chromium` (`.ci/run` installs it); skipped, with the reason shown, where it is absent.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from chalicelib.notify.render import render_report, standalone_html
from tests.report_records import market_record

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: apt-get install chromium")

MASTHEAD = (11, 37, 64)  # #0b2540
UP, DOWN = (26, 127, 55), (207, 34, 46)


def screenshot(html: str, tmp_path: Path, width: int, height: int = 2000) -> Image.Image:
    page, png = tmp_path / f"report-{width}.html", tmp_path / f"report-{width}.png"
    page.write_text(html, encoding="utf-8")
    proc = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={tmp_path / f'profile-{width}'}",
            f"--screenshot={png}",
            f"--window-size={width},{height}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert png.is_file(), proc.stderr[-2000:]
    return Image.open(png).convert("RGB")


def colours(picture: Image.Image) -> set[tuple[int, int, int]]:
    return {c for _, c in picture.getcolors(picture.width * picture.height)}


def masthead_width(picture: Image.Image) -> int:
    """Pixels across the dark masthead band, on a row through it."""
    row = next(y for y in range(picture.height) if picture.getpixel((picture.width // 2, y)) == MASTHEAD)
    return sum(1 for x in range(picture.width) if picture.getpixel((x, row + 4)) == MASTHEAD)


@pytest.fixture(scope="module")
def report():
    return render_report(market_record())


def test_the_report_renders_on_a_phone_screen(report, tmp_path):
    picture = screenshot(standalone_html(report), tmp_path, width=480)

    assert picture.size == (480, 2000)
    # Not blank: many colours (anti-aliased text, charts) and real contrast across the page.
    assert len(colours(picture)) > 200
    assert ImageStat.Stat(picture.convert("L")).stddev[0] > 20
    # The masthead, and the up/down colours of the moves and charts, are drawn.
    found = colours(picture)
    assert {MASTHEAD, UP, DOWN} <= found
    # On a phone the sheet takes the whole width (no side-scrolling).
    assert masthead_width(picture) >= 470
    # Content reaches far down the page (sections, symbols), not just a header.
    lower = picture.crop((0, 1200, 480, 1400))
    assert ImageStat.Stat(lower.convert("L")).stddev[0] > 10


def test_on_a_wide_screen_the_report_stays_a_readable_column(report, tmp_path):
    picture = screenshot(standalone_html(report), tmp_path, width=1200, height=900)
    assert 560 <= masthead_width(picture) <= 602


def test_with_images_blocked_the_report_still_reads(report, tmp_path):
    # `cid:` pictures cannot load in a browser: this is what a client that blocks images shows.
    picture = screenshot(report.html, tmp_path, width=480)
    assert len(colours(picture)) > 200 and {MASTHEAD, UP, DOWN} <= colours(picture)


# Run in the report after layout: every word (outside `code`, where identifiers may wrap
# anywhere) must sit on one line, and nothing may reach past the viewport. A word may break after
# a hyphen between letters ("Range-|bound"), never inside a number or a date. The report is laid
# out in an iframe of the exact width (headless Chromium's window is at least 500 px wide), and
# the verdict is written into the outer page, which `--dump-dom` prints.
_LAYOUT_CHECK = """<script>
window.addEventListener("load", function () {
  var width = document.documentElement.clientWidth, broken = [], overflow = [];
  var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT), node;
  while ((node = walker.nextNode())) {
    if (node.parentElement.closest("code, style, script, title")) continue;
    var pattern = /\\S+/g, match;
    while ((match = pattern.exec(node.textContent))) {
      var range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      var rects = Array.prototype.filter.call(range.getClientRects(), function (r) { return r.width > 0; });
      var lines = {};
      rects.forEach(function (r) {
        lines[Math.round(r.bottom)] = true;
        if (r.right > width + 1) overflow.push(match[0]);
      });
      if (Object.keys(lines).length > 1 && !/^[^0-9]*[A-Za-z]-[A-Za-z]/.test(match[0])) broken.push(match[0]);
    }
  }
  document.querySelectorAll("body *").forEach(function (el) {
    var box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1) overflow.push(el.tagName + "." + el.className);
  });
  var out = parent.document.createElement("pre");
  out.id = "layout-check";
  out.textContent = JSON.stringify({width: width, scrollWidth: document.documentElement.scrollWidth,
                                    broken: broken, overflow: overflow});
  parent.document.body.appendChild(out);
});
</script>"""


def framed(html: str, width: int) -> str:
    """`html` in an iframe exactly `width` px wide (its media queries see that width)."""
    import html as markup

    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body style='margin:0'>"
        f"<iframe style='border:0;width:{width}px;height:4000px' srcdoc=\"{markup.escape(html, quote=True)}\"></iframe>"
        "</body></html>"
    )


def layout_check(html: str, tmp_path: Path, width: int) -> dict:
    """Chromium's verdict on the laid-out page at `width` px: broken words and overflow."""
    import html as markup
    import json
    import re

    page = tmp_path / f"check-{width}.html"
    page.write_text(framed(html.replace("</body>", _LAYOUT_CHECK + "</body>"), width), encoding="utf-8")
    proc = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={tmp_path / f'check-profile-{width}'}",
            "--window-size=1200,2000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = re.search(r'<pre id="layout-check">(.*?)</pre>', proc.stdout, re.S)
    assert found, proc.stderr[-2000:]
    return json.loads(markup.unescape(found.group(1)))


def _reports():
    """The emails a reader sees, rendered: the demo's report, a 3-bar file, a 429 file as a report
    (the archive shows it) and as the failure notice the email sends, a quarantined file's
    notice, and a 200-symbol report (the largest)."""
    from chalicelib.notify.notice import notice_from_quarantine, notice_from_record, render_notice
    from tests.conftest import SAMPLES, fixture_bytes
    from tests.report_records import bars_file, record_from_file
    from tests.test_report_size import many_symbols

    credits = record_from_file(
        fixture_bytes("soulgarden_time_series_error_429.json"), key="inputs/soulgarden_time_series_error_429.json"
    )
    short = record_from_file(bars_file({"TRI": [(100.0, 1000), (101.0, 1000), (102.0, 2400)], "ONE": [(50.0, 10)]}))
    demo = record_from_file(
        (SAMPLES / "twelvedata_5_stocks_1day.json").read_bytes(), key="inputs/twelvedata_5_stocks_1day.json"
    )
    quarantined = {
        "analysis_id": "notice-" + "0" * 32,
        "created_at": "2026-12-04T14:08:31Z",
        "correlation_id": "8a1c1f0e-3f7b-5b9e-9d43-5f6b0c1d2e3f",
        "bucket": "stock-insights-prod-data-123456789012-us-east-1",
        "input_key": "inputs/scheduled/2026-12-04/1417Z-1day.json",
        "reason": "bad_json",
        "message": "not valid JSON: unexpected end of data: line 1 column 40 (char 39)",
        "quarantine_key": "quarantine/scheduled/2026-12-04/1417Z-1day.json/0123456789abcdef0123456789abcdef/1417Z-1day.json",
    }
    return {
        "demo": render_report(demo, archive_url="https://abc123defg.execute-api.us-east-1.amazonaws.com/api"),
        "market": render_report(market_record()),
        "429": render_report(credits),
        "3-bar": render_report(short),
        "notice-429": render_notice(notice_from_record(credits)),
        "notice-quarantine": render_notice(notice_from_quarantine(quarantined)),
        "200-symbols": render_report(record_from_file(many_symbols(200))),
    }


@pytest.mark.parametrize("width", [800, 400])
def test_no_word_is_broken_and_nothing_overflows(tmp_path, width):
    for name, report in _reports().items():
        verdict = layout_check(standalone_html(report), tmp_path, width)
        assert verdict["width"] == width, name
        assert verdict["broken"] == [], (name, width, verdict["broken"])
        assert verdict["overflow"] == [] and verdict["scrollWidth"] <= width, (name, width, verdict)


def test_the_check_does_see_a_broken_word_and_an_overflow(tmp_path):
    # The old footer style: `word-break: break-all` splits prose at the edge of the line.
    prose = "not investment advice " * 30
    html = (
        "<!DOCTYPE html><html><body style='margin:0'>"
        f"<p style='word-break: break-all; width: 203px'>{prose}</p>"
        "<div style='width: 900px'>wide</div></body></html>"
    )
    verdict = layout_check(html, tmp_path, 400)
    assert verdict["broken"] and verdict["overflow"]
