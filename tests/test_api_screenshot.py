"""The archive's pages as a reader sees them (headless Chromium), with data the pipeline made: the
demo's five stocks (sandbox/samples), a 200-symbol file and two overlapping XAU/USD hourly files
(generated here, shaped like tests/fixtures/twelvedata's XAU/USD sample: no volume), run through
the embedded pipeline; then the index, a symbol page, the symbol search and a report page, at
1200 and 400 px. `ARCHIVE_SHOTS=DIR` keeps the pictures."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import orjson
import pytest
from PIL import ImageStat

from tests.conftest import REPO
from tests.test_report_screenshot import CHROMIUM, MASTHEAD, colours, layout_check, masthead_width, screenshot

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: apt-get install chromium")


def _walk(seed: int, n: int, start: float, step: float = 0.012) -> list[float]:
    rng = random.Random(seed)
    closes = [start]
    for _ in range(n - 1):
        closes.append(round(closes[-1] * (1 + rng.uniform(-step, step)), 4))
    return closes


def _series(symbol: str, closes: list[float], times: list[str], interval: str, volume: bool = True) -> dict:
    values = [
        {
            "datetime": t,
            "open": f"{c:.4f}",
            "high": f"{c * 1.004:.4f}",
            "low": f"{c * 0.996:.4f}",
            "close": f"{c:.4f}",
            **({"volume": str(100_000 + 37 * i)} if volume else {}),
        }
        for i, (t, c) in enumerate(zip(times, closes, strict=True))
    ]
    meta = {"symbol": symbol, "interval": interval}
    if not volume:
        meta.update(currency_base="Gold Spot", currency_quote="US Dollar", type="Precious Metal")
    return {"meta": meta, "values": list(reversed(values)), "status": "ok"}  # newest first, as Twelve Data


def _two_hundred() -> bytes:
    days = [f"2024-{1 + d // 28:02d}-{1 + d % 28:02d}" for d in range(40)]
    names = [f"{a}{b}{c}" for a in "KLMNP" for b in "AEIOU" for c in "BCDFGHJR"][:200]
    return orjson.dumps({n: _series(n, _walk(i, 40, 20 + i), days, "1day") for i, n in enumerate(names)})


def _gold(first_hour: int, hours: int) -> bytes:
    times = [f"2026-01-{5 + h // 24:02d} {h % 24:02d}:00:00" for h in range(first_hour, first_hour + hours)]
    closes = _walk(7, first_hour + hours, 4330.47, 0.003)[first_hour:]
    return orjson.dumps(_series("XAU/USD", closes, times, "1h", volume=False))


@pytest.fixture(scope="module")
def pages():
    from sandbox.embedded import EmbeddedAWS

    with EmbeddedAWS() as env:
        from chalicelib.api import service

        env.upload(
            "inputs/twelvedata_5_stocks_1day.json",
            (REPO / "sandbox/samples/twelvedata_5_stocks_1day.json").read_bytes(),
        )
        env.run_until_idle()
        env.upload("inputs/universe_200_1day.json", _two_hundred())
        env.run_until_idle()
        env.upload("inputs/XAUUSD_1h_week1.json", _gold(0, 60))
        env.run_until_idle()
        env.upload("inputs/XAUUSD_1h_week1b.json", _gold(20, 60))  # hours 20-79: 40 overlap the first file
        env.run_until_idle()
        index = service.index(None)
        reports = orjson.loads(service.list_reports({}).body)["items"]
        five = next(r for r in reports if r["input_file"].endswith("5_stocks_1day.json"))
        found = {
            "index": index,
            "gold": service.symbol_history("XAU~2FUSD", {}, None),
            "aapl": service.symbol_history("aapl", {}, None),
            "search": service.symbol_search({"q": "ka"}, None),
            "report": service.get_report(five["id"], None),
        }
    assert all(reply.status == 200 for reply in found.values()), {k: v.status for k, v in found.items()}
    return {name: reply.body for name, reply in found.items()}


def test_the_pages_show_the_data(pages):
    assert "205 symbols in the archive" in pages["index"] or "206 symbols in the archive" in pages["index"]
    assert 'href="symbols/XAU~2FUSD"' in pages["index"] and ">1h<" in pages["index"] and ">1day<" in pages["index"]
    # Each reading keeps its file's last 30 bars (hours 30-59 and 50-79): joined, 50 hourly bars.
    assert "50 bars at 1h" in pages["gold"] and pages["gold"].count("<tr>") >= 3
    assert "<title>AAPL · Stock Insights report archive</title>" in pages["aapl"]


@pytest.mark.parametrize("width", [1200, 400])
@pytest.mark.parametrize("page", ["index", "gold", "aapl", "search", "report"])
def test_each_page_at_each_width(pages, tmp_path, page, width):
    picture = screenshot(pages[page], tmp_path, width=width, height=2400 if width == 400 else 1600)
    keep = os.environ.get("ARCHIVE_SHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / f"report-{width}.png", Path(keep) / f"{page}-{width}.png")
    found = colours(picture)
    assert MASTHEAD in found and len(found) > 40 and ImageStat.Stat(picture.convert("L")).stddev[0] > 20
    if width == 400:
        assert masthead_width(picture) >= 390  # the whole width on a phone, no side-scrolling
    else:
        assert 560 <= masthead_width(picture) <= 602  # a readable column on a wide screen
    verdict = layout_check(pages[page], tmp_path, width)
    assert verdict["broken"] == [], verdict["broken"]
    assert verdict["overflow"] == [] and verdict["scrollWidth"] <= width, verdict
