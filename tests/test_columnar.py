"""The columnar decoder: which bar lists it takes, that its parsers agree with the exact ones, and
that a file read through it comes out byte for byte as through the generic decoder."""

from __future__ import annotations

import datetime as dt
import json
import re
from unittest import mock

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chalicelib.ingest import columnar, formats
from chalicelib.ingest.columnar import ColumnarBars, Scanner
from chalicelib.ingest.formats import InputRejected, decode_input
from chalicelib.ingest.parsing import _datetime_seconds
from chalicelib.ingest.pipeline import ingest_document
from tests.conftest import FIXTURES

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=300)
NOW = 1_767_225_600  # 2026-01-01
DAY = 86_400
NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def bar(day: str = "2025-12-30", **fields) -> dict:
    return {"datetime": day, "open": "130.28000", "high": "130.90000", "low": "124.17000", "close": "125.07000",
            "volume": "112117500", **fields}  # fmt: skip


def scan(values: list | bytes) -> ColumnarBars | None:
    text = values if isinstance(values, bytes) else orjson.dumps(values)
    data = b'{"values":' + text + b"}"
    return Scanner(data).scan(10, 10 + len(text))


# --- which bar lists are taken --------------------------------------------------------------------


def test_compact_bars_are_taken_and_read_back_as_the_generic_decoder_reads_them():
    bars = [bar("2025-12-30"), bar("2025-12-29", open="abc"), bar("2025-12-26", volume="-5")]

    found = scan(bars)

    assert found is not None and found.fields == tuple(bars[0]) and found.has_volume
    assert len(found) == 3 and list(found) == bars and found == bars
    assert found[1:][0] == bars[1] and found.take([2, 0]) == [bars[2], bars[0]]
    assert found.column("open")[1] == "abc" and found.column("volume")[2] == "-5"


@pytest.mark.parametrize(
    "fields",
    [
        ("close", "datetime", "high", "low", "open", "volume"),  # the order of Twelve Data's own OpenAPI example
        ("datetime", "open", "high", "low", "close"),  # no volume (forex, indices)
    ],
)
def test_any_one_key_order_and_bars_without_volume_are_taken(fields):
    bars = [{name: bar(day)[name] for name in fields} for day in ("2025-12-30", "2025-12-29")]

    found = scan(bars)

    assert found is not None and found.fields == fields and found.has_volume == ("volume" in fields)
    assert list(found) == bars


def test_one_bar_per_line_as_in_the_soulgarden_sample_is_taken():
    data = (FIXTURES / "soulgarden_time_series_AAPL_1min_ok.json").read_bytes()

    parsed = decode_input(data, "inputs/AAPL.json", 10**9)

    [series] = parsed.series
    assert isinstance(series.values, ColumnarBars) and series.values.gap.strip() == b","
    assert list(series.values) == orjson.loads(data)["values"]


REFUSED = {
    "a backslash escape": [bar(), bar(open="1\\u0030")],
    "text outside ASCII": [bar(), bar(open="٣")],
    "a number value": [bar(), bar(open=1.5)],
    "a null value": [bar(), bar(volume=None)],
    "a field missing in one bar": [bar(), {k: v for k, v in bar().items() if k != "low"}],
    "an extra field": [bar(), bar(note="x")],
    "another key order in one bar": [bar(), dict(reversed(bar().items()))],
    "a key of the same length in another place": [
        bar(),
        {("high" if k == "open" else "open" if k == "high" else k): v for k, v in bar().items()},
    ],  # fmt: skip
    "only volume (no bar fields)": [{"volume": "1"}, {"volume": "2"}],
    "a bar that is not an object": [bar(), "bar"],
    "an object value": [bar(), bar(open={"a": "1"})],
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_bar_lists_of_any_other_layout_are_left_to_the_other_decoders(case):
    assert scan(REFUSED[case]) is None


@pytest.mark.parametrize(
    "text",
    [
        b'[{"datetime": "2025-12-30","open":"1","high":"1","low":"1","close":"1","volume":"1"},'
        b'{"datetime":"2025-12-29","open":"1","high":"1","low":"1","close":"1","volume":"1"}]',  # a space in a bar
        b'[{"datetime":"2025-12-30","open":"1","high":"1","low":"1","close":"1","volume":"1"},\n'
        b'{"datetime":"2025-12-29","open":"1","high":"1","low":"1","close":"1","volume":"1"}, '
        b'{"datetime":"2025-12-28","open":"1","high":"1","low":"1","close":"1","volume":"1"}]',  # two gaps
        b'[{"datetime":"2025-12-30","open":"1","high":"1","low":"1","close":"1","volume":"1"}' + b" " * 20 + b","
        b'{"datetime":"2025-12-29","open":"1","high":"1","low":"1","close":"1","volume":"1"}]',  # a long gap
    ],
)
def test_whitespace_inside_bars_or_uneven_gaps_are_left_to_the_other_decoders(text):
    assert json.loads(text)  # valid JSON all the same
    assert scan(text) is None


def test_a_file_repeating_a_key_outside_the_bar_lists_is_left_to_the_exact_reading():
    one = orjson.dumps({"meta": {"symbol": "A"}, "values": [bar("2025-12-30")] * 2})
    two = orjson.dumps({"meta": {"symbol": "A"}, "values": [bar("2025-12-29")] * 2})
    data = b'{"AAPL":' + one + b',"AAPL":' + two + b"}"

    assert formats._columnar_document(data, 0) is None
    assert formats._columnar_document(b'{"AAPL":' + one + b',"MSFT":' + two + b"}", 0) is not None
    parsed = decode_input(data, "inputs/x.json", 10**9)
    assert [len(s.values) for s in parsed.series] == [2, 2]  # both kept, as the exact reading keeps them


# --- the bulk parsers agree with the exact ones ------------------------------------------------------

number_texts = st.one_of(
    st.decimals(min_value=0, max_value=10**9, places=5, allow_nan=False, allow_infinity=False).map(str),
    st.tuples(st.floats(min_value=0, max_value=1e16), st.integers(0, 9)).map(lambda p: f"{p[0]:.{p[1]}f}"),
    st.integers(0, 10**17).map(str),
    st.from_regex(r"-?[0-9]{0,17}(\.[0-9]{0,9})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
    st.text(alphabet="0123456789.-+eE ,x", max_size=12),
)


@PROPERTY
@given(st.lists(number_texts, min_size=1, max_size=40))
def test_the_bulk_number_parser_reads_exactly_what_float_reads_and_only_decimal_text(texts):
    bars = [bar(open=t, high=t[::-1], volume=t) for t in texts]
    found = scan(bars)

    values, ok = columnar.parse_numbers(found, ("open", "high", "volume"))

    for row, name in enumerate(("open", "high", "volume")):
        for i, b in enumerate(bars):
            text = b[name]
            if ok[row, i]:  # what the bulk parser leaves is judged one by one; what it takes must be exact
                assert NUMBER.fullmatch(text) and not text.startswith("-"), text
                assert len(text.replace(".", "")) <= 15 and values[row, i] == float(text), text


@pytest.mark.parametrize(
    "text", ["0", "7", "12345678", "0.5", "171.42000", "99999999.9999999", "12345678.1234567", "007.50", "0.0000001"]
)
def test_a_column_of_one_common_layout_is_read_in_bulk(text):
    other = text[:-1] + str(9 - int(text[-1]))  # same layout, another value
    found = scan([bar(open=text, volume=text), bar(open=other, volume=other)])

    values, ok = columnar.parse_numbers(found, ("open", "volume"))

    assert ok.all()
    assert values.tolist() == [[float(text), float(other)]] * 2


def test_a_column_of_mixed_layouts_is_read_in_bulk_value_by_value():
    texts = ["1", "22.5", "333.25", "4444.125", "0.0625"] * 20
    found = scan([bar(open=t) for t in texts])

    values, ok = columnar.parse_numbers(found, ("open",))

    assert ok.all() and values[0].tolist() == [float(t) for t in texts]


@PROPERTY
@given(
    st.lists(
        st.one_of(
            st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)).map(
                lambda d: d.strftime("%Y-%m-%d %H:%M:%S")
            ),
            st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(dt.date.isoformat),
            st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}(:[0-9]{2})?)?", fullmatch=True),
            st.text(alphabet="0123456789-: ", min_size=8, max_size=20),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_the_bulk_datetime_parser_agrees_with_the_exact_one(texts):
    found = scan([bar(t) for t in texts])

    seconds, ok = columnar.parse_datetimes(found)

    for i, text in enumerate(texts):
        exact = _datetime_seconds(text)
        if ok[i]:
            assert seconds[i] == exact, text
        else:
            assert exact is None or len(text) not in (10, 16, 19), text


# --- whole files: the same outcome, byte for byte, on every path ---------------------------------------

common_values = st.one_of(
    st.sampled_from(
        [
            "130.28000",
            "130.9",
            "124",
            "0",
            "-1",
            "abc",
            "",
            "1e5",
            "1e-400",
            "0e-9",
            "1" * 20,
            "0.000000001",
            "1,5",
            "}{",
        ]
    ),
    st.floats(min_value=0.01, max_value=1e6, allow_nan=False).map(lambda x: f"{x:.5f}"),
    st.integers(0, 10**10).map(str),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=127, exclude_characters='"\\'), max_size=4),
)
exotic_values = st.one_of(common_values, st.sampled_from(["٣", "a\\b", 'q"', "\x00"]), st.text(max_size=3))
days = st.sampled_from(["2025-12-30", "2025-12-29", "2025-12-29 10:00", "2025-02-30", "2030-01-01", "x", "2025-12-28"])


@st.composite
def compact_documents(draw) -> bytes:
    """Single and multi-symbol files, compact as Twelve Data and the fetch function write them."""
    with_volume = draw(st.booleans())
    names = ["datetime", "open", "high", "low", "close"] + (["volume"] if with_volume else [])
    if draw(st.booleans()):
        names = draw(st.permutations(names))
    odd = st.sampled_from([{}, {"note": "x"}, {"open": 1.5}, {"volume": None}])
    values = exotic_values if draw(st.integers(0, 3)) == 0 else common_values  # exotic: those it refuses

    def response():
        bars = []
        for _ in range(draw(st.integers(0, 12))):
            b = {name: draw(days) if name == "datetime" else draw(values) for name in names}
            if draw(st.integers(0, 20)) == 0:
                b.update(draw(odd))
            bars.append(b)
        meta = {"symbol": draw(st.sampled_from(["AAPL", "MSFT", "", "EUR/USD"])), "interval": "1day"}
        return {"meta": meta, "values": bars, "status": "ok"}

    document = (
        response() if draw(st.booleans()) else {s: response() for s in draw(st.sets(st.sampled_from(["A", "B", "C"])))}
    )
    text = orjson.dumps(document)
    if draw(st.booleans()):  # one bar per line, as the soulgarden sample has them
        text = text.replace(b"},{", b"},\n    {")
    return text


def outcome(raw: bytes):
    try:
        result = ingest_document(raw, "inputs/AAPL_1day.json", NOW, max_bytes=10**9, future_slack_s=DAY)
    except InputRejected as rejected:
        return rejected.reason
    return (result.shape, dict(result.counts), dict(result.reject_rules), result.symbols,
            bytes(result.processed), bytes(result.rejects))  # fmt: skip


def parsed(lines: bytes) -> list:
    return [orjson.loads(line) for line in lines.splitlines()]


@PROPERTY
@given(compact_documents())
def test_the_columnar_decoder_gives_byte_for_byte_the_outcome_of_the_generic_decoder(raw):
    data = raw.lstrip()
    event("columnar" if formats._columnar_document(data, 0) is not None else "other")

    columnar_way = outcome(raw)
    with mock.patch.object(formats, "_columnar_document", return_value=None):
        typed_way = outcome(raw)
        with mock.patch.object(formats, "_typed_document", return_value=None):
            generic_way = outcome(raw)

    for way in (columnar_way, typed_way):
        if isinstance(way, tuple):  # the typed decoder writes its struct's key order: the same records
            assert way[:4] == generic_way[:4]
            assert [parsed(part) for part in way[4:]] == [parsed(part) for part in generic_way[4:]]
        else:
            assert way == generic_way
    if formats._columnar_document(data, 0) is not None:  # and the columnar decoder the very same bytes
        assert columnar_way == generic_way


def test_processed_lines_skip_rejected_bars_and_keep_the_bytes_of_the_others():
    bars = [bar("2025-12-30"), bar("2025-12-29", open="abc"), bar("2025-12-26"), bar("2025-12-26"), bar("2025-12-24")]
    raw = orjson.dumps({"meta": {"symbol": "AAPL", "interval": "1day"}, "values": bars})
    assert isinstance(decode_input(raw, "inputs/a.json", 10**9).series[0].values, ColumnarBars)

    result = ingest_document(raw, "inputs/a.json", NOW, max_bytes=10**9, future_slack_s=DAY)

    head = b'{"symbol":"AAPL","interval":"1day",'
    assert bytes(result.processed) == b"".join(head + orjson.dumps(b)[1:] + b"\n" for b in (bars[0], bars[2], bars[4]))
    assert [(r["index"], r["rule"]) for r in parsed(result.rejects)] == [(1, "bad_number"), (3, "duplicate_timestamp")]
    assert parsed(result.rejects)[0]["bar"] == bars[1]


def test_long_series_are_written_in_pieces_with_nothing_lost_between_them():
    start = np.datetime64("1990-01-01")
    bars = [bar(str(start + i)) for i in range(3 * columnar._LINES_AT_ONCE + 7)][::-1]
    bars[columnar._LINES_AT_ONCE] = bar("1990-01-01", close="abc")  # a run broken in the middle of a piece
    raw = orjson.dumps({"meta": {"symbol": "AAPL", "interval": "1day"}, "values": bars})

    result = outcome(raw)

    assert result[1]["valid"] == len(bars) - 1 == bytes(result[4]).count(b"\n")
    with mock.patch.object(formats, "_columnar_document", return_value=None):
        assert outcome(raw) == result
