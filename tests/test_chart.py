"""The sparkline PNG encoder and its text twin."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from chalicelib.notify.chart import DOWN_RGB, UP_RGB, line_rgb, sparkline_png, sparkline_text


def test_png_is_valid_and_draws_a_rising_line_from_low_left_to_high_right():
    closes = [float(c) for c in range(1, 31)]
    picture = Image.open(io.BytesIO(sparkline_png(closes, width=120, height=40)))
    picture.verify()  # CRCs and structure
    picture = Image.open(io.BytesIO(sparkline_png(closes, width=120, height=40))).convert("RGB")
    assert picture.size == (120, 40)

    def line_rows(x: int) -> list[int]:
        return [y for y in range(40) if picture.getpixel((x, y)) == UP_RGB]

    left, right = line_rows(2), line_rows(117)
    assert left and right and min(left) > max(right)  # y grows downwards: the right end is higher


def test_falling_closes_are_red_and_level_ones_grey():
    assert line_rgb([3.0, 2.0, 1.0]) == DOWN_RGB
    assert line_rgb([1.0, 2.0, 3.0]) == UP_RGB
    assert line_rgb([1.0, 5.0, 1.0]) not in (UP_RGB, DOWN_RGB)
    colours = {c for _, c in Image.open(io.BytesIO(sparkline_png([3.0, 2.0, 1.0]))).convert("RGB").getcolors(256)}
    assert DOWN_RGB in colours and UP_RGB not in colours


def test_a_flat_series_still_draws():
    picture = Image.open(io.BytesIO(sparkline_png([5.0] * 10))).convert("RGB")
    assert len(picture.getcolors(256)) > 2


def test_charts_are_small():
    assert len(sparkline_png([100 + (i % 7) * 1.5 for i in range(30)])) < 3000


def test_one_close_is_not_a_chart():
    with pytest.raises(ValueError):
        sparkline_png([1.0])


def test_text_sparkline_spans_the_blocks():
    assert sparkline_text([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]) == "▁▂▃▄▅▆▇█"
    assert sparkline_text([2.0, 1.0]) == "█▁"
    assert sparkline_text([1.0]) == ""
