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
