"""A plain bar CSV read as columns straight from its bytes: no Python object per row.

A 193 MiB CSV read row by row (a dict and six strings a bar) peaked at 2.9 GiB, next to the
function's 3,008 MB. Most CSVs are plain: ASCII, no quotes, one row a line (`\\n` or `\\r\\n`
throughout), every row with the header's number of cells, no blanks around a cell and no blank
row. For those, numpy finds every separator and keeps where each cell starts and ends; the rules
then parse prices and datetimes in bulk from those spans (as for the columnar JSON reader), and an
accepted row is written as the line the row-by-row reader would write, gathered from the file's
bytes. A CSV that is not plain gets None and is read row by row (`csv_input`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chalicelib.ingest.columnar import BAR_FIELDS, ColumnarBars

_NL, _CR, _QUOTE, _SPACE, _TAB = (ord(c) for c in '\n\r" \t')
_PIECE = 1 << 20  # bytes looked at in one step: the working masks stay small
_LINES_AT_ONCE = 1 << 14  # rows written in one step


class CsvBars(ColumnarBars):
    """One CSV's rows as spans of the file: `starts[f]`/`ends[f]` where field `f` (in `fields`
    order, the header's) starts and ends in each row. Indexing gives the row as the row-by-row
    reader does, a dict of the cells' text."""

    def __init__(self, region: Any, fields: tuple[str, ...], starts: np.ndarray, ends: np.ndarray):
        super().__init__(region, fields, starts, ends, starts[0], ends[-1], b"")

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return self.take(np.arange(len(self))[index])
        region = self.region
        return {
            name: bytes(region[self.starts[f, index] : self.ends[f, index]]).decode("ascii")
            for f, name in enumerate(self.fields)
        }

    def __len__(self) -> int:
        return self.starts.shape[1]

    def __repr__(self) -> str:
        return f"CsvBars({len(self)} rows: {', '.join(self.fields)})"

    def take(self, keep: Any) -> CsvBars:
        keep = np.asarray(keep, dtype=np.int64)
        return CsvBars(self.region, self.fields, self.starts[:, keep], self.ends[:, keep])

    def write_lines(self, out: Any, prefix: bytes) -> None:
        """Append each row as a processed line: `prefix`, then `"field":"text"` per field, `}`.

        The lines are those the row-by-row reader writes (accepted cells are numbers and
        datetimes: nothing to escape). Each step gathers a few thousand rows' cells into a byte
        array laid out as the lines, literal text and cells each copied by one numpy indexing.
        """
        buf = np.frombuffer(self.region, dtype=np.uint8)
        literals = [prefix + b'"' + self.fields[0].encode() + b'":"']
        literals += [b'","' + name.encode() + b'":"' for name in self.fields[1:]]
        literals.append(b'"}\n')
        pieces = [np.frombuffer(text, dtype=np.uint8) for text in literals]
        for first in range(0, len(self), _LINES_AT_ONCE):
            starts = self.starts[:, first : first + _LINES_AT_ONCE].astype(np.int64)
            widths = self.ends[:, first : first + _LINES_AT_ONCE] - starts
            fixed = sum(map(len, literals))
            line_ends = np.cumsum(widths.sum(axis=0) + fixed)
            lines = np.empty(int(line_ends[-1]), dtype=np.uint8)
            at = np.concatenate(([0], line_ends[:-1]))  # where each line starts
            for f, piece in enumerate(pieces):
                lines[at[:, None] + np.arange(len(piece))] = piece
                at = at + len(piece)
                if f < len(self.fields):
                    _gather(lines, at, buf, starts[f], widths[f])
                    at = at + widths[f]
            out += lines.tobytes()


def _gather(out: np.ndarray, dest: np.ndarray, src: np.ndarray, starts: np.ndarray, widths: np.ndarray) -> None:
    """`out[dest[i] : dest[i] + widths[i]] = src[starts[i] : starts[i] + widths[i]]` for every i."""
    total = int(widths.sum())
    if not total:
        return
    within = np.arange(total) - np.repeat(np.cumsum(widths) - widths, widths)
    out[np.repeat(dest, widths) + within] = src[np.repeat(starts, widths) + within]


def read_plain_csv(data: bytes, body_start: int, header: list[str | None], delimiter: str) -> CsvBars | None:
    """The rows of `data[body_start:]` (what follows the header line) as columns, or None when the
    CSV is not plain (see the module's docstring) and must be read row by row."""
    named = [name for name in header if name]
    if not set(named) <= set(BAR_FIELDS) or len(set(named)) != len(named):
        return None  # an unknown or repeated column: the row-by-row reader keeps what it holds
    end = len(data.rstrip(b" \t\r\n"))  # trailing blank rows are skipped by either reader
    if end <= body_start:
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    for at in range(body_start, end, _PIECE):  # ASCII, and no byte the csv module treats apart
        piece = buf[at : min(at + _PIECE, end)]
        if piece.max() >= 0x80 or not piece.min() or data.find(b'"', at, at + len(piece)) >= 0:
            return None
    rows = data.count(b"\n", body_start, end) + 1
    columns = len(header)
    if rows == 1 and data.find(b"\n", 0, body_start) < 0:
        return None  # rows end at `\r` in a file with no `\n`: left to the row-by-row reader
    crlf = data.count(b"\r", body_start, end)
    if crlf not in (0, rows - 1) or data.count(delimiter.encode(), body_start, end) != rows * (columns - 1):
        return None  # a lone `\r`, or rows of other lengths (or blank rows) somewhere
    position = np.int32 if len(data) < 2**31 else np.int64
    separators = _separators(buf, body_start, end, ord(delimiter), rows, columns, position)
    line_breaks = separators[:-1, -1]
    if len(line_breaks) and not (buf[line_breaks] == _NL).all():
        return None
    if crlf and not (buf[line_breaks - 1] == _CR).all():
        return None
    # A row of empty cells (only its separators) is skipped by the row-by-row reader.
    lengths = separators[:, -1] - np.concatenate((np.array([body_start], dtype=position), line_breaks + 1))
    if crlf:
        lengths[:-1] -= 1  # the last row's `\r` went with the trailing blanks
    if (lengths == columns - 1).any():
        return None
    del lengths
    kept = [i for i, name in enumerate(header) if name]
    starts = np.empty((len(kept), rows), dtype=position)
    ends = np.empty((len(kept), rows), dtype=position)
    for f, column in enumerate(kept):
        if column:
            np.add(separators[:, column - 1], 1, out=starts[f])
        else:
            starts[f, 0] = body_start
            np.add(line_breaks, 1, out=starts[f, 1:])
        ends[f] = separators[:, column]
        if crlf and column == columns - 1:
            ends[f, :-1] -= 1
    del separators, line_breaks
    for f in range(len(kept)):  # no blank at either end of a cell: the other reader strips them
        filled = starts[f] < ends[f]
        edges = np.concatenate((buf[starts[f][filled]], buf[ends[f][filled] - 1]))
        if ((edges == _SPACE) | (edges == _TAB)).any():
            return None
    return CsvBars(data, tuple(header[i] for i in kept), starts, ends)


def _separators(buf: np.ndarray, lo: int, hi: int, delimiter: int, rows: int, columns: int, dtype: Any) -> np.ndarray:
    """Where each delimiter and `\\n` of `buf[lo:hi]` is, then `hi`: a row of `columns` separators
    for each of the `rows` rows (the caller has counted them). Found a piece at a time."""
    found = np.empty(rows * columns, dtype=dtype)
    count = 0
    for at in range(lo, hi, _PIECE):
        piece = buf[at : min(at + _PIECE, hi)]
        where = np.flatnonzero((piece == delimiter) | (piece == _NL))
        found[count : count + len(where)] = where + at
        count += len(where)
    found[count] = hi
    return found.reshape(rows, columns)
