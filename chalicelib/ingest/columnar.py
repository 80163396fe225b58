"""The common bar list read as columns straight from its bytes: no Python object per bar.

A Twelve Data `values` array is almost always written the same way: every bar a compact object
with the same keys in the same order, every value a string, and the same text between one bar and
the next. `Scanner.scan` checks that layout for a whole array at once with numpy (the position of every
quote, then the text between quotes) and keeps only where each value starts and ends. Prices,
volumes and datetimes are then parsed from those spans in bulk, and an accepted bar is written
out as the very bytes it arrived in, which are what re-encoding it would give (`Scanner.scan` admits no
escapes and no text outside ASCII). Anything that does not fit gets None, and the caller decodes
that file the ordinary way; values the bulk parsers cannot read are handed back to be judged one
at a time, so the verdicts are those of the ordinary path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import orjson

from chalicelib.ingest.bulk_parse import DIGITS_AT, grid_datetimes, loads8, parse_decimals, same_text

BAR_FIELDS = ("datetime", "open", "high", "low", "close", "volume")
_QUOTE = ord('"')
_WHITESPACE = b" \t\n\r"
_MIN_REGION = 32  # shorter arrays are not worth it (and every 8-byte load below stays inside the file)


class ColumnarBars(Sequence):
    """One series' bars as spans of its `values` array; bars are decoded only when asked for.

    `starts[f]` and `ends[f]` hold where field `f` (in `fields` order, the file's) starts and ends
    in each bar, and `bar_starts`/`bar_ends` the bars themselves. Indexing gives the bar as the
    generic decoder would (a dict); slicing or `take` gives a subset that still writes its lines
    from the original bytes.
    """

    def __init__(self, region: Any, fields: tuple[str, ...], starts: np.ndarray, ends: np.ndarray,
                 bar_starts: np.ndarray, bar_ends: np.ndarray, gap: bytes):  # fmt: skip
        self.region = region
        self.fields = fields
        self.starts = starts
        self.ends = ends
        self.bar_starts = bar_starts
        self.bar_ends = bar_ends
        self.gap = gap  # the text between one bar's `}` and the next one's `{`, the same throughout

    @property
    def has_volume(self) -> bool:
        return "volume" in self.fields

    def __len__(self) -> int:
        return len(self.bar_starts)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return self.take(np.arange(len(self))[index])
        return orjson.loads(self.region[self.bar_starts[index] : self.bar_ends[index]])

    def __setitem__(self, index: int, value: Any) -> None:
        """Releasing a written bar (the pipeline sets it to None): nothing is held per bar here."""

    def __iter__(self) -> Iterator[Any]:
        return map(self.__getitem__, range(len(self)))

    def __eq__(self, other: object) -> bool:
        """Equal to a list (or columns) holding the same bars, as the generic decoder gives them."""
        if not isinstance(other, (list, ColumnarBars)):
            return NotImplemented
        return len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ColumnarBars({len(self)} bars: {', '.join(self.fields)})"

    def take(self, keep: Any) -> ColumnarBars:
        keep = np.asarray(keep, dtype=np.int64)
        return ColumnarBars(self.region, self.fields, self.starts[:, keep], self.ends[:, keep],
                            self.bar_starts[keep], self.bar_ends[keep], self.gap)  # fmt: skip

    def column(self, name: str) -> TextColumn:
        at = self.fields.index(name)
        return TextColumn(self.region, self.starts[at], self.ends[at])

    def write_lines(self, out: bytearray, prefix: bytes) -> None:
        """Append each bar as a processed line, `prefix` (`{"symbol":…,"interval":…,`) first.

        Bars next to each other in the array are copied as one run, the text between them replaced
        by a line break and the prefix. That text cannot occur inside an accepted bar: its keys are
        bar fields and its values numbers and datetimes.
        """
        if not len(self):
            return
        starts, ends = self.bar_starts, self.bar_ends
        breaks = np.flatnonzero(starts[1:] != ends[:-1] + len(self.gap)) + 1
        between = b"}" + self.gap + b"{"
        line_break = b"}\n" + prefix
        for first, end in zip([0, *breaks.tolist()], [*breaks.tolist(), len(starts)], strict=True):
            for at in range(first, end, _LINES_AT_ONCE):  # small pieces: no fresh memory for each
                out += prefix
                out += self.region[starts[at] + 1 : ends[min(at + _LINES_AT_ONCE, end) - 1]].replace(
                    between, line_break
                )
                out += b"\n"


class TextColumn:
    """A column's values as text, read from the spans on demand (reject messages need a few)."""

    def __init__(self, region: Any, starts: np.ndarray, ends: np.ndarray):
        self.region, self.starts, self.ends = region, starts, ends

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> str:
        return bytes(self.region[self.starts[index] : self.ends[index]]).decode("ascii")

    def __setitem__(self, index: int, value: Any) -> None:
        """Nothing per bar to release."""


class Scanner:
    """Scans the bar lists of one file, reusing its working buffers from one list to the next.

    Fresh memory is costly here: the kernel hands it out a page at a time, and a buffer the size of
    a bar list would be new for every list. Scratch space is kept for the file instead, and what
    `scan` computes in bulk it computes in pieces small enough for the allocator's reuse.
    """

    def __init__(self, data: bytes):
        self.data = data
        self.buf = np.frombuffer(data, dtype=np.uint8)
        self.load8 = loads8(data) if len(data) >= 8 else None
        self.position = np.int32 if len(data) < 2**31 else np.int64
        self._quotes = np.zeros(0, dtype=np.int64)
        self._mask = np.zeros(_PIECE, dtype=bool)

    def scan(self, lo: int, hi: int) -> ColumnarBars | None:
        """The bars of the `values` array at `data[lo:hi]` (valid JSON, as the decoder found), or None.

        Taken: `[`, bars, `]`, with the same text (a comma, maybe whitespace) between bars; each bar
        a compact object holding every bar field once (`volume` optional), in one key order
        throughout, every value a string; the whole array ASCII without a backslash. Since the
        array is valid JSON and no string holds a quote, the quotes alone give its layout: where
        they stand is checked, and the text between them wherever it is not a value.
        """
        data = self.data
        if hi - lo < _MIN_REGION or data.find(b"\\", lo, hi) >= 0 or self.buf[lo:hi].max() >= 0x80:
            return None  # short, escaped or not ASCII
        quotes = self._quote_positions(lo, hi)
        fields = _first_bar_fields(data, lo, quotes)
        if fields is None:
            return None
        per_bar = 4 * len(fields)
        if len(quotes) % per_bar:
            return None
        q = quotes.reshape(-1, per_bar)
        gap = _gap(data, hi, q)
        if gap is None or not self._layout(q, fields, gap):
            return None
        last = q[:, -1]
        position = self.position
        return ColumnarBars(
            data,
            fields,
            (q[:, 2::4].T + 1).astype(position),
            q[:, 3::4].T.astype(position),
            (q[:, 0] - 1).astype(position),
            (last + 2).astype(position),
            gap,
        )

    def _quote_positions(self, lo: int, hi: int) -> np.ndarray:
        """Where each quote of `data[lo:hi]` is (a view of the scratch buffer, valid until the next call)."""
        if len(self._quotes) < (hi - lo) // 2:
            self._quotes = np.zeros((hi - lo) // 2, dtype=np.int64)  # a quote every 2 bytes at most
        found = 0
        for at in range(lo, hi, _PIECE):
            piece = self.buf[at : min(at + _PIECE, hi)]
            where = np.flatnonzero(np.equal(piece, _QUOTE, out=self._mask[: len(piece)]))
            self._quotes[found : found + len(where)] = where + at
            found += len(where)
        return self._quotes[:found]

    def _layout(self, q: np.ndarray, fields: tuple[str, ...], gap: bytes) -> bool:
        """Whether the quotes (a row per bar) stand where the layout puts them, around the right keys.

        From one quote to the next: the key's length + 1, then 2 (`":"`), the value's length + 1,
        then 2 (`","`) up to the next key. In valid JSON, one byte between two strings of an object
        is `:` after a key and `,` after a value, so the steps are all there is to check; and the
        keys, and the text from one bar to the next.
        """
        per_bar = q.shape[1]
        # Quote to next quote along each bar; a value's own width (and the step to the next bar,
        # checked below) is taken as it comes.
        expected = np.array([len(name) + 1 if j == 0 else -1 if j == 2 else 2 for name in fields for j in range(4)])
        free = np.flatnonzero(expected < 0).tolist() + [per_bar - 1]
        for first in range(0, len(q), _ROWS):
            rows = q[first : first + _ROWS]
            steps = np.empty(rows.size, dtype=rows.dtype)
            np.subtract(rows.ravel()[1:], rows.ravel()[:-1], out=steps[:-1])
            steps = steps.reshape(rows.shape)
            steps[:, free] = expected[free]
            if not (steps == expected).all():
                return False
        for slot, name in enumerate(fields):
            if not same_text(self.data, self.load8, q[:, 4 * slot] + 1, name.encode()):
                return False
        if len(q) > 1:  # `"}`, the gap, `{"` from one bar to the next
            last = q[:-1, -1]
            if not ((q[1:, 0] - last) == len(gap) + 3).all() or not same_text(
                self.data, self.load8, last, b'"}' + gap + b'{"'
            ):
                return False
        return True


_PIECE = 1 << 15  # bytes of a bar list looked at in one step
_ROWS = 1 << 9  # bars checked in one step (their working arrays stay small)
_LINES_AT_ONCE = 512  # bars written in one step


def _first_bar_fields(data: bytes, lo: int, quotes: np.ndarray) -> tuple[str, ...] | None:
    """The first bar's keys in order, if they are the bar fields (with or without `volume`)."""
    if len(quotes) < 4 or data[lo : lo + 1] != b"[" or data[lo + 1 : quotes[0]].strip(_WHITESPACE) != b"{":
        return None
    fields = []
    for slot in range(len(BAR_FIELDS)):
        at = 4 * slot
        if at + 3 >= len(quotes):
            return None
        fields.append(data[quotes[at] + 1 : quotes[at + 1]].decode("ascii"))
        if data[quotes[at + 3] + 1 : quotes[at + 3] + 2] == b"}":
            break
    names = set(fields)
    if len(names) != len(fields) or names not in (set(BAR_FIELDS), set(BAR_FIELDS[:5])):
        return None
    return tuple(fields)


def _gap(data: bytes, hi: int, q: np.ndarray) -> bytes | None:
    """The text between the first two bars (`,` and maybe whitespace); the array's end checked too."""
    last = q[-1, -1]
    if data[last + 1 : last + 2] != b"}" or data[last + 2 : hi].strip(_WHITESPACE) != b"]":
        return None
    if len(q) == 1:
        return b","
    gap = data[q[0, -1] + 2 : q[1, 0] - 1]
    if gap.strip(_WHITESPACE) != b"," or len(gap) > 12:
        return None
    return gap


# --- numbers ----------------------------------------------------------------------------------------


def parse_numbers(bars: ColumnarBars, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(values, ok), each shaped (len(names), bars): `ok` where the text is `[0-9]+(.[0-9]+)?` with at
    most 15 digits, and then the value is exactly what `float(text)` gives.

    The rest (signs, exponents, long or malformed text) is left for the caller to judge one by one.
    """
    at = [bars.fields.index(name) for name in names]
    shape = (len(at), len(bars))
    if not len(bars):
        return np.zeros(shape), np.zeros(shape, dtype=bool)
    load8 = loads8(bars.region)
    values, ok = np.zeros(shape), np.zeros(shape, dtype=bool)
    # Columns whose first values have the same digits after the point are read in one pass (the
    # four prices, usually); a column of another layout in a pass of its own.
    passes: dict[int, list[int]] = {}
    for row, column in enumerate(at):
        first = bars.region[bars.starts[column, 0] : bars.ends[column, 0]]
        passes.setdefault(len(first) - first.rfind(b".") if b"." in first else 0, []).append(row)
    for rows in passes.values():
        columns = [at[row] for row in rows]
        for lo in range(0, len(bars), _PARSE_ROWS):  # the parser's working arrays stay small
            hi = min(lo + _PARSE_ROWS, len(bars))
            read, good = parse_decimals(
                bars.region, load8, bars.starts[columns, lo:hi].ravel(), bars.ends[columns, lo:hi].ravel()
            )
            values[rows, lo:hi], ok[rows, lo:hi] = read.reshape(len(rows), -1), good.reshape(len(rows), -1)
    return values, ok


# Bars parsed in one step. The bulk parsers keep a dozen working arrays of 8 bytes a value: a
# 3-million-bar series parsed at once took 700 MiB of them.
_PARSE_ROWS = 1 << 16


# --- datetimes --------------------------------------------------------------------------------------


def parse_datetimes(bars: ColumnarBars) -> tuple[np.ndarray, np.ndarray]:
    """(epoch seconds, ok) for the datetime column; rows of other widths are not ok."""
    at = bars.fields.index("datetime")
    seconds = np.zeros(len(bars), dtype=np.int64)
    ok = np.zeros(len(bars), dtype=bool)
    views = {size: np.ndarray((len(bars.region) - size + 1,), dtype=f"V{size}", buffer=bars.region, strides=(1,))
             for size in DIGITS_AT if len(bars.region) >= size}  # fmt: skip
    for lo in range(0, len(bars), _PARSE_ROWS):
        starts = bars.starts[at, lo : lo + _PARSE_ROWS]
        width = bars.ends[at, lo : lo + _PARSE_ROWS] - starts
        for size, view in views.items():
            rows = np.flatnonzero(width == size)
            if len(rows):
                grid = view[starts[rows]].view(np.uint8).reshape(len(rows), size)
                seconds[lo + rows], ok[lo + rows] = grid_datetimes(grid)
    return seconds, ok
