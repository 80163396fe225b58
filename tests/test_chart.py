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


def _reference_png(closes: list[float], width: int = 240, height: int = 64) -> bytes:
    """The chart as first written, one pixel at a time: the vectorised drawing must match it byte for byte."""
    from chalicelib.notify import chart

    rgb = line_rgb(closes)
    palette = [chart._BACKGROUND, chart._mix(chart._BACKGROUND, rgb, 0.10), chart._BASELINE]
    palette += [chart._mix(chart._BACKGROUND, rgb, (i + 1) / chart._SHADES) for i in range(chart._SHADES)]
    pad, half_thickness = 3.0, 1.6
    low, high = min(closes), max(closes)
    span = (high - low) or 1.0

    def y_of(value: float) -> float:
        return pad + (high - value) / span * (height - 2 * pad)

    def value_at(x: float) -> float:
        position = x / (width - 1) * (len(closes) - 1)
        i = min(int(position), len(closes) - 2)
        t = position - i
        return closes[i] + (closes[i + 1] - closes[i]) * t

    baseline = round(y_of(closes[0]))
    rows = [bytearray(width) for _ in range(height)]
    for x in range(width):
        ys = (y_of(value_at(max(0.0, x - 0.5))), y_of(value_at(x)), y_of(value_at(min(width - 1.0, x + 0.5))))
        top, bottom = min(ys) - half_thickness, max(ys) + half_thickness
        if x % 6 < 3 and 0 <= baseline < height:
            rows[baseline][x] = 2
        for y in range(max(0, int(top)), height):
            level = round((min(y + 1.0, bottom) - max(float(y), top)) * chart._SHADES)
            if level >= 1:
                rows[y][x] = 2 + min(chart._SHADES, level)
            elif y + 0.5 >= bottom and rows[y][x] != 2:
                rows[y][x] = 1
    return chart._encode_png(width, height, palette, rows)


@pytest.mark.parametrize("seed", range(40))
def test_the_vectorised_drawing_matches_the_pixel_by_pixel_one(seed):
    import random

    rng = random.Random(seed)
    n = rng.choice([2, 3, 5, 20, 30, 31, 300])
    closes = [rng.choice([100.0, 100.5, rng.uniform(1, 1e4)]) for _ in range(n)]
    if seed % 5 == 0:
        closes = [round(c) for c in closes]  # exact halves and ties on the pixel grid
    width, height = rng.choice([(240, 64), (120, 40), (7, 5), (31, 17)])
    assert sparkline_png(closes, width, height) == _reference_png(closes, width, height)
