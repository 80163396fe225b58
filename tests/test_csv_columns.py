"""The plain-CSV column reader gives what the row-by-row reader gives, in a fraction of the memory."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chalicelib.ingest import csv_input
from chalicelib.ingest.csv_columns import CsvBars
from chalicelib.ingest.formats import InputRejected, decode_input
from chalicelib.ingest.pipeline import ingest_document

NOW = int(dt.datetime(2030, 1, 1, tzinfo=dt.UTC).timestamp())
KEY = "inputs/AAPL_1day.csv"
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def both_readers(raw: bytes, monkeypatch) -> tuple:
    """(column reader's outcome, row-by-row reader's outcome), each (processed, rejects, counts) or
    the reason the file was refused."""

    def outcome():
        try:
            result = ingest_document(raw, KEY, NOW, max_bytes=10**9, future_slack_s=86_400)
        except InputRejected as rejected:
            return rejected.reason
        return bytes(result.processed), bytes(result.rejects), result.counts

    fast = outcome()
    with monkeypatch.context() as patch:
        patch.setattr(csv_input, "read_plain_csv", lambda *args: None)
        slow = outcome()
    return fast, slow


def read_as_columns(raw: bytes) -> bool:
    return isinstance(decode_input(raw, KEY, 10**9).series[0].values, CsvBars)


PLAIN = (
    b"datetime,open,high,low,close,volume\n"
    b"2024-01-02,1,2,0.5,1.5,10\n"  # valid
    b"2024-01-03,1,2,0.5,1.5,-1\n"  # negative_volume
    b"2024-01-02,1,2,0.5,1.5,10\n"  # duplicate_timestamp
    b"2024-01-04,x,2,0.5,1.5,10\n"  # bad_number
    b"2024-01-05,,2,0.5,1.5,10\n"  # bad_number (empty)
    b"2099-01-05,1,2,0.5,1.5,10\n"  # future_timestamp
    b"2024-02-30,1,2,0.5,1.5,10\n"  # bad_datetime
    b"2024-01-06,1e2,200,0.5,1.5,10"  # valid, an exponent, no final line break
)


@pytest.mark.parametrize(
    "raw",
    [
        PLAIN,
        b"\xef\xbb\xbfDate;Open;High;Low;Close;Adj Close;Volume\r\n2024-01-02;1;2;0.5;1.5;1.4;10\r\n"
        b"2024-01-03;1;2;3;1.5;1.4;10\r\n\r\n",
        b"\n\ndatetime,open,high,low,close\n2024-01-02 10:00,1.123456789012345678,2,0.5,1.5\n"
        b"2024-01-02 10:00:00,1,2,0.5,1.5\n",
    ],
)
def test_a_plain_csv_is_read_as_columns_with_the_row_readers_outcome(raw, monkeypatch):
    assert read_as_columns(raw)
    fast, slow = both_readers(raw, monkeypatch)
    assert fast == slow


@pytest.mark.parametrize(
    "raw",
    [
        b"datetime,open,high,low,close\n2024-01-02, 1,2,0.5,1.5\n",  # a blank around a cell
        b"datetime,open,high,low,close\n2024-01-02,1,2,0.5,1.5\n,,,,\n2024-01-03,1,2,0.5,1.5\n",  # empty row
        b"datetime,open,high,low,close\n2024-01-02,1,2,0.5,1.5\n\n2024-01-03,1,2,0.5,1.5\n",  # blank row
        b'datetime,open,high,low,close\n2024-01-02,"1",2,0.5,1.5\n',  # a quoted cell
        b"datetime,open,high,low,close\n2024-01-02,1,2,0.5\n",  # a short row
        b"datetime,open,high,low,close\n2024-01-02,1,2,0.5,1.5,9\n",  # a long row
        b"datetime,open,high,low,close\n2024-01-02,1,2\r,0.5,1.5\n",  # a lone CR
        b"datetime,open,high,low,close\r2024-01-02,1,2,0.5,1.5\r",  # rows ending at CR
        b"datetime,open,high,low,close,symbol\n2024-01-02,1,2,0.5,1.5,X\n",  # a column that is no bar field
        "datetime,open,high,low,close\n2024-01-02,1,2,0.5,1.5€\n".encode(),  # not ASCII
        b"datetime,open,high,low,close\n2024-01-02,1,2,0.5,1.5\x00\n",  # a NUL byte
    ],
)
def test_a_csv_that_is_not_plain_is_read_row_by_row_with_the_same_outcome(raw, monkeypatch):
    try:
        assert not read_as_columns(raw)
    except InputRejected:
        pass
    fast, slow = both_readers(raw, monkeypatch)
    assert fast == slow


# Cells the column reader takes (bad numbers and dates included), and cells that make a CSV not plain.
_PLAIN_CELLS = ["1", "2", "0.5", "1.5", "10", "-1", "0", "1e2", "x", "", "1.123456789012345678", "1.50000", "NaN"]
_MESSY_CELLS = [" 1", "1 ", "\t", '"1"', "\r", "1,5", "€"]


@st.composite
def csv_files(draw) -> bytes:
    delimiter = draw(st.sampled_from([",", ";"]))
    header = draw(
        st.sampled_from(
            [
                ["datetime", "open", "high", "low", "close", "volume"],
                ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"],
                ["datetime", "open", "high", "low", "close"],
                ["close", "low", "high", "open", "datetime"],
            ]
        )
    )
    dates = st.sampled_from(["2024-01-02", "2024-01-03", "2024-01-02 10:00:00", "2099-01-01", "2024-1-2"])
    messy = draw(st.booleans())
    cells = st.sampled_from(_PLAIN_CELLS + _MESSY_CELLS if messy else _PLAIN_CELLS)
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        row = [draw(dates) if name.lower() in ("date", "datetime") else draw(cells) for name in header]
        if messy and draw(st.integers(0, 9)) == 0:
            row = row[: draw(st.integers(0, len(row)))]
        rows.append(delimiter.join(row))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    tail = draw(st.sampled_from(["", newline, newline * 2, " "]))
    return (newline.join([delimiter.join(header), *rows]) + tail).encode()


@PROPERTY
@given(raw=csv_files())
def test_the_column_reader_agrees_with_the_row_reader_on_generated_csvs(raw):
    try:
        event("read as columns" if read_as_columns(raw) else "read row by row")
    except InputRejected:
        event("refused")
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, slow = both_readers(raw, monkeypatch)
    assert fast == slow


def test_a_large_plain_csv_is_read_as_columns_and_agrees_with_the_row_reader(monkeypatch):
    rows = b"".join(b"2024-01-%02d,%d.5,%d,0.25,1.5,%d\n" % (d % 28 + 1, d, d + 3, d) for d in range(70_000))
    raw = b"datetime,open,high,low,close,volume\n" + rows

    assert read_as_columns(raw)
    fast, slow = both_readers(raw, monkeypatch)
    assert fast == slow and fast[2]["input"] == 70_000
