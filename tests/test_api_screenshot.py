"""The archive's pages as a reader sees them (headless Chromium), served by the routes: the index
page and a report page, checked like the email (tests/test_report_screenshot.py), at 400 px too."""

from __future__ import annotations

import pytest
from PIL import ImageStat

from tests.test_api import archive, client  # noqa: F401 (fixtures)
from tests.test_report_screenshot import (
    CHROMIUM,
    DOWN,
    MASTHEAD,
    UP,
    colours,
    layout_check,
    masthead_width,
    screenshot,
)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: apt-get install chromium")


@pytest.fixture
def pages(client, archive):  # noqa: F811
    records, _, _ = archive
    index = client.http.get("/")
    report = client.http.get(f"/reports/{records[5]['analysis_id']}")
    assert index.status_code == report.status_code == 200
    return {"index": index.body.decode(), "report": report.body.decode()}


def test_the_index_page_renders_its_reports_and_charts_on_a_phone(pages, tmp_path):
    picture = screenshot(pages["index"], tmp_path, width=400, height=1400)
    picture.save(tmp_path / "index-400.png")
    found = colours(picture)
    assert len(found) > 200 and ImageStat.Stat(picture.convert("L")).stddev[0] > 20
    assert MASTHEAD in found and (UP in found or DOWN in found)  # the masthead and the charts' lines
    assert masthead_width(picture) >= 390  # the whole width on a phone, no side-scrolling


def test_the_index_page_stays_a_column_on_a_wide_screen(pages, tmp_path):
    picture = screenshot(pages["index"], tmp_path, width=1200, height=900)
    assert 560 <= masthead_width(picture) <= 602


def test_a_report_page_is_the_email_with_its_charts(pages, tmp_path):
    picture = screenshot(pages["report"], tmp_path, width=480)
    assert {MASTHEAD} <= colours(picture) and len(colours(picture)) > 200
    assert masthead_width(picture) >= 470


@pytest.mark.parametrize("width", [800, 400])
@pytest.mark.parametrize("page", ["index", "report"])
def test_no_word_is_broken_and_nothing_overflows(pages, tmp_path, page, width):
    verdict = layout_check(pages[page], tmp_path, width)
    assert verdict["width"] == width
    assert verdict["broken"] == [], verdict["broken"]
    assert verdict["overflow"] == [] and verdict["scrollWidth"] <= width, verdict
