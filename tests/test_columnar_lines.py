"""The columnar reading of processed JSON Lines: for any body, exactly the columns of the line-by-line
reading (or the same error), and which bodies it leaves to that reading."""

from __future__ import annotations

import datetime as dt
import json
from unittest import mock

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chalicelib.analyze import bars, columnar_lines
from chalicelib.ingest.pipeline import ingest_document

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=300)
NOW = 1_767_225_600  # 2026-01-01
DAY = 86_400
FIELDS = ("symbol", "interval", "datetime", "open", "high", "low", "close", "volume")


def outcome(read, body: bytes):
    try:
        return read(body)
    except Exception as error:  # the reference's own error is part of its behaviour
        return type(error)


def assert_same_columns(got, want) -> None:
    assert not isinstance(want, type), want
    for name in ("symbols", "starts", "counts", "datetimes", "close", "volume"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype, (name, a.dtype, b.dtype)
        assert a.shape == b.shape, name
        if a.dtype.kind == "f":
            assert np.array_equal(a, b, equal_nan=True), name
            assert np.array_equal(np.signbit(a), np.signbit(b)), name  # bit for bit: -0.0 is not 0.0
        else:
            assert np.array_equal(a, b), name
    assert got.intervals == want.intervals
    assert [type(x) for x in got.intervals] == [type(x) for x in want.intervals]


def check(body: bytes, record: bool = False) -> bool:
    """The fast reading, where it takes the body, equals the reference; load_processed always does."""
    want = outcome(bars._reference_columns, body)
    fast = bars._columnar_columns(body)  # never raises: None for what it does not take
    if record:
        event("columnar" if fast is not None else "refused")
    if fast is not None:
        assert_same_columns(fast, want)
    got = outcome(bars.load_processed, body)
    if isinstance(want, type):
        assert got is want
    else:
        assert_same_columns(got, want)
    return fast is not None


def small_steps(data):
    """Small blocks, pieces and chunks, so that every edge between them is crossed."""
    block = data.draw(st.sampled_from([64, 300, 1 << 12, columnar_lines._BLOCK]), label="block")
    piece = data.draw(st.sampled_from([3, 17, 256, columnar_lines._PIECE]), label="piece")
    chunk = data.draw(st.sampled_from([200, 1 << 12, bars._CHUNK_BYTES]), label="chunk")
    return (
        mock.patch.object(columnar_lines, "_BLOCK", block),
        mock.patch.object(columnar_lines, "_PIECE", piece),
        mock.patch.object(bars, "_CHUNK_BYTES", chunk),
    )


# --- bodies as ingest writes them -------------------------------------------------------------------

plain_symbols = st.sampled_from(["AAPL", "MSFT", "BRK.B", "EUR/USD", "X", "A" * 20, "SYM0001", "3988.HK", "A" * 32])
odd_symbols = st.sampled_from(["Ünï", 'a"b', "a\\b", "A" * 40]) | st.text(max_size=10)
symbols = st.integers(0, 15).flatmap(lambda i: odd_symbols if i == 0 else plain_symbols)  # mostly plain
FORMATS = ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]


@st.composite
def series(draw, with_volume: bool | None = None) -> dict:
    count = draw(st.integers(1, 40) | st.integers(0, 3))
    fmt = draw(st.sampled_from(FORMATS))
    step = dt.timedelta(days=1) if fmt == FORMATS[0] else dt.timedelta(minutes=draw(st.sampled_from([1, 30, 60])))
    start = dt.datetime(2025, 12, 31, 16, 0) - step * count
    moments = [(start + step * i).strftime(fmt) for i in range(count)]
    order = draw(st.sampled_from(["newest first", "oldest first", "shuffled"]))
    if order == "newest first":
        moments.reverse()
    elif order == "shuffled":
        moments = draw(st.permutations(moments))
    decimals = draw(st.integers(0, 11))
    volume = draw(st.booleans()) if with_volume is None else with_volume

    def text(units: int) -> str:
        return f"{units / 10**decimals:.{decimals}f}"

    values = []
    for moment in moments:
        o, c = draw(st.integers(10**3, 10**12)), draw(st.integers(10**3, 10**12))
        low, high = min(o, c) - draw(st.integers(0, 999)), max(o, c) + draw(st.integers(0, 999))
        bar = {"datetime": moment, "open": text(o), "high": text(high), "low": text(low), "close": text(c)}
        if volume:
            bar["volume"] = str(draw(st.integers(0, 10**10)))
        values.append(bar)
    return {"values": values}


@st.composite
def ingested_bodies(draw) -> bytes:
    document = {}
    interval = draw(st.sampled_from(["1day", "1h", "1min", None]))
    volume = draw(st.booleans())
    for symbol in draw(st.lists(symbols, min_size=1, max_size=4, unique=True)):
        s = draw(series(with_volume=volume if draw(st.integers(0, 9)) else None))
        if draw(st.integers(0, 9)) == 0:  # now and then one series of another interval, or none
            interval = draw(st.sampled_from(["1day", "1h", "1min", None]))
        meta = {"symbol": symbol} if interval is None else {"symbol": symbol, "interval": interval}
        document[symbol] = {"meta": meta, "values": s["values"], "status": "ok"}
    raw = orjson.dumps(next(iter(document.values())) if len(document) == 1 else document)
    result = ingest_document(raw, "inputs/x.json", NOW, max_bytes=10**9, future_slack_s=DAY)
    return bytes(result.processed)


@PROPERTY
@given(ingested_bodies(), st.data())
def test_bodies_written_by_ingest_read_as_the_reference_reads_them(body, data):
    patches = small_steps(data)
    with patches[0], patches[1], patches[2]:
        check(body, record=True)


def daily(month: int, close: str) -> list[dict]:
    """A month of valid daily bars, newest first, as Twelve Data sends them."""
    return [
        {"datetime": f"2025-{month:02d}-{d:02d}", "open": "1.5", "high": "99.25", "low": "1.00",
         "close": close.format(d), "volume": str(100 * d)}
        for d in range(30, 1, -1)
    ]  # fmt: skip


def test_a_plain_ingest_body_is_read_as_columns():
    document = {
        "MSFT": {"meta": {"symbol": "MSFT", "interval": "1day"}, "values": daily(12, "{}.125"), "status": "ok"},
        "AAPL": {"meta": {"symbol": "AAPL", "interval": "1day"}, "values": daily(11, "{}.5"), "status": "ok"},
    }
    result = ingest_document(orjson.dumps(document), "inputs/x.json", NOW, max_bytes=10**9, future_slack_s=DAY)
    body = bytes(result.processed)

    assert check(body)
    columns = bars.load_processed(body)
    assert columns.symbols.tolist() == ["AAPL", "MSFT"] and columns.counts.tolist() == [29, 29]
    assert columns.datetimes[:2].tolist() == ["2025-11-02", "2025-11-03"] and columns.close[0] == 2.5


# --- hand-made bodies: odd values, orders and layouts -------------------------------------------------

decimals_text = st.builds(lambda u, d: f"{u / 10**d:.{d}f}", st.integers(0, 10**16), st.integers(0, 12))
odd_numbers = st.sampled_from(
    ["0", "-0", "-0.0", "05", "00.5", "5.", ".5", "1e2", "1E400", "-1.5", "+5", " 5", "1_0", "NaN", "inf", "",
     "1,5", "12345678901234567890", "0.1234567890123", "abc", "1e-400", "9" * 30]
)  # fmt: skip
numbers = st.one_of(decimals_text, decimals_text, odd_numbers, st.integers(-5, 10**6), st.floats(allow_nan=False))
datetimes = st.one_of(
    st.sampled_from(["2025-12-31", "2025-12-30", "2025-12-29 10:00:00", "2025-12-29", "", "2025-12-30 09:30", "ÿ"]),
    st.dates(dt.date(2020, 1, 1), dt.date(2026, 1, 1)).map(str),
)


@st.composite
def lines(draw) -> list[dict]:
    """Lines in runs of one symbol, each field drawn from a few common values and some odd ones."""
    common_symbols = draw(st.lists(symbols, min_size=1, max_size=3))
    interval = draw(st.sampled_from(["1day", "1h", None, "__absent__"]))
    odd_one_in = draw(st.sampled_from([0, 10, 50, 1000]))  # how rare odd values are in this body
    out = []
    for _ in range(draw(st.integers(1, 6))):
        symbol = draw(st.sampled_from(common_symbols))
        for _ in range(draw(st.integers(1, 12))):
            line = {"symbol": symbol, "interval": interval, "datetime": draw(datetimes), "open": "1.25",
                    "high": "2.5", "low": "0.75", "close": draw(decimals_text), "volume": str(draw(st.integers(0, 9999)))}  # fmt: skip
            if odd_one_in and draw(st.integers(0, odd_one_in)) == 0:
                line[draw(st.sampled_from(FIELDS))] = draw(
                    st.one_of(numbers, st.none(), symbols, st.just("__absent__"))
                )
            if odd_one_in and draw(st.integers(0, odd_one_in)) == 0:  # a key renamed, or two swapped
                old, new = draw(st.sampled_from(FIELDS)), draw(st.sampled_from([*FIELDS, "clos", "opem", "x" * 9]))
                names = [new if k == old else old if k == new else k for k in line]
                line = dict(zip(names, line.values(), strict=True))
            out.append({k: v for k, v in line.items() if v != "__absent__"})
    return out


@st.composite
def hand_made_bodies(draw) -> bytes:
    rows = draw(lines())
    if draw(st.booleans()):
        rows = [{k: v for k, v in row.items() if k != "volume"} for row in rows]
    dump = draw(st.sampled_from([orjson.dumps, orjson.dumps, orjson.dumps, lambda r: json.dumps(r).encode()]))
    text = [dump(row) for row in rows]
    if draw(st.integers(0, 5)) == 0:
        text.insert(draw(st.integers(0, len(text))), draw(st.sampled_from([b"", b" ", b"\r", b"{}", b"[]"])))
    body = b"\n".join(text) + draw(st.sampled_from([b"", b"\n", b"\n", b"\n", b"\n\n"]))
    return body


@PROPERTY
@given(hand_made_bodies(), st.data())
def test_any_body_reads_as_the_reference_reads_it(body, data):
    patches = small_steps(data)
    with patches[0], patches[1], patches[2]:
        check(body, record=True)


# --- what the columnar reading leaves to the reference -------------------------------------------------

LINE = {"symbol": "AAPL", "interval": "1day", "datetime": "2025-12-31", "open": "1.5", "high": "2.5", "low": "0.5",
        "close": "2.25", "volume": "100"}  # fmt: skip


def body_of(*rows: dict, end: bytes = b"\n") -> bytes:
    return b"\n".join(orjson.dumps(row) for row in rows) + end


def plain_rows(count: int = 5) -> list[dict]:
    return [{**LINE, "datetime": f"2025-12-{31 - i:02d}"} for i in range(count)]


def test_the_plain_body_is_taken_with_or_without_a_final_line_break():
    assert columnar_lines.scan_lines(body_of(*plain_rows())) is not None
    assert columnar_lines.scan_lines(body_of(*plain_rows(), end=b"")) is not None


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(json.dumps(LINE).encode() + b"\n" + json.dumps(LINE).encode(), id="spaces"),
        pytest.param(body_of(*plain_rows()).replace(b"\n", b"\r\n"), id="crlf"),
        pytest.param(body_of(*plain_rows()).replace(b"\n", b"\n\n", 1), id="blank-line"),
        pytest.param(body_of(*plain_rows(), {**LINE, "close": 2.25}), id="json-number"),
        pytest.param(body_of(*plain_rows(), {**LINE, "symbol": 'A"B'}), id="escaped-quote"),
        pytest.param(body_of(*plain_rows(), {**LINE, "symbol": "Ünï"}), id="not-ascii"),
        pytest.param(body_of(*plain_rows(), {**LINE, "symbol": "A\tB"}).replace(b"\\t", b"\t"), id="raw-tab"),
        pytest.param(body_of(*plain_rows(), {**LINE, "interval": None}), id="null-and-string-interval"),
        pytest.param(body_of(*plain_rows(), {k: LINE[k] for k in reversed(LINE)}), id="other-key-order"),
        pytest.param(body_of(*plain_rows(), {k: v for k, v in LINE.items() if k != "volume"}), id="volume-missing"),
        pytest.param(body_of(*plain_rows(), {**LINE, "note": "x"}), id="extra-key"),
        pytest.param(body_of(*plain_rows(), {**LINE, "symbol": "S" * 33}), id="long-symbol"),
        pytest.param(body_of(*plain_rows(), {**LINE, "datetime": "2" * 33}), id="long-datetime"),
        pytest.param(body_of(*plain_rows())[:-3] + b"}\n", id="cut-line"),
        pytest.param(body_of(*plain_rows()).replace(b'"low":', b'"lo":', 1), id="other-key"),
        pytest.param(body_of(*plain_rows()).replace(b'"high":"2.5"', b'"high":"2"5"', 1), id="stray-quote"),
        pytest.param(body_of({**LINE, "close": 2.25}, *plain_rows()), id="first-line-number"),
        pytest.param(body_of({k: v for k, v in LINE.items() if k != "close"}), id="no-close"),
    ],
)
def test_what_the_columnar_reading_refuses(body):
    assert columnar_lines.scan_lines(body) is None
    check(body)


def test_numbers_it_cannot_read_in_bulk_are_read_as_the_reference_reads_them():
    rows = plain_rows(8)
    rows[1]["close"] = "-0"  # orjson reads an integer 0: not -0.0
    rows[2]["close"] = "0.123456789012345"  # more decimals than the bulk parser takes
    rows[3]["volume"] = "1e3"
    body = body_of(*rows)

    assert check(body)
    close = bars.load_processed(body).close
    assert not np.signbit(close).any() and 0.123456789012345 in close.tolist()


def test_a_number_that_is_not_json_makes_its_chunk_read_by_float():
    rows = plain_rows(8)
    rows[1]["close"] = "-0"
    rows[2]["close"] = "05"  # read in bulk, but not JSON: the reference reads this chunk by float()
    body = body_of(*rows)

    assert check(body)
    assert np.signbit(bars.load_processed(body).close).sum() == 1


def test_text_float_cannot_read_goes_the_reference_way_and_fails_the_same():
    rows = plain_rows(8)
    rows[3]["close"] = "1e"
    body = body_of(*rows)

    assert bars._columnar_columns(body) is None
    with pytest.raises(ValueError):
        bars.load_processed(body)


def test_a_symbol_in_two_runs_and_unsorted_datetimes_are_sorted_as_the_reference_sorts_them():
    rows = (
        plain_rows(4)
        + [{**LINE, "symbol": "MSFT"}]
        + [{**LINE, "datetime": "2025-11-01"}, {**LINE, "datetime": "2025-12-31"}]
    )
    days = ("2025-01-02", "2025-01-01", "2025-01-03", "2025-01-01")  # a tie: kept in file order, as lexsort keeps it
    rows += [{**LINE, "symbol": "B", "datetime": d, "close": f"{i}.5"} for i, d in enumerate(days)]
    body = body_of(*rows)

    assert check(body)
    columns = bars.load_processed(body)
    assert columns.symbols.tolist() == ["AAPL", "B", "MSFT"] and columns.counts.tolist() == [6, 4, 1]
    assert columns.close[6:10].tolist() == [1.5, 3.5, 0.5, 2.5]
    assert columns.datetimes[:6].tolist() == ["2025-11-01", "2025-12-28", "2025-12-29", "2025-12-30", "2025-12-31",
                                              "2025-12-31"]  # fmt: skip


def test_mixed_datetime_widths_keep_the_widest_dtype():
    rows = plain_rows(3) + [{**LINE, "symbol": "B", "datetime": "2025-12-31 10:00:00", "interval": "1h"}]
    body = body_of(*rows)

    assert check(body)
    assert bars.load_processed(body).datetimes.dtype == np.dtype("<U19")


def test_a_null_interval_on_every_line_is_taken_and_read_as_none():
    body = body_of(*[{**row, "interval": None} for row in plain_rows()])

    assert check(body)
    assert bars.load_processed(body).intervals == [None]
