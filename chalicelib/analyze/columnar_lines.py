"""Processed JSON Lines read as columns straight from their bytes: no Python object per line.

Ingest writes each accepted bar as the bytes of a compact ASCII object behind one
`{"symbol":…,"interval":…,` prefix per series, so a processed body is usually one regular layout:
every line the same keys in the same order, every value a string (or null), nothing escaped.
`scan_lines` checks that layout for the whole body with numpy and keeps only what analysis reads:
a run of lines per symbol, the datetimes as 8-byte words, close and volume parsed in bulk.
Anything that does not fit gives None, and the caller reads the body the ordinary way.

The layout is checked from the `":"` between each key and its string value (the only place that
text can stand when no value holds a quote): from it follow where every value starts and ends,
and the text around the values (keys, separators, the line's braces) is compared with the first
line's. Counting the quotes and control characters of the body then shows no value holds any.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import orjson

from chalicelib.ingest.bulk_parse import LOW, loads8, parse_decimals, same_text, words_at

_QUOTE, _COLON, _ZERO = b'":0'
_BLOCK = 4 << 20  # bytes of lines checked in one step
_PIECE = 1 << 18  # bytes searched in one step (scratch buffers reused from one to the next)
_MAX_WORDS = 4  # symbols and datetimes of up to 32 bytes, compared as 8-byte words
_REQUIRED = ("symbol", "datetime", "close")


@dataclass
class Template:
    """The first line's layout: the text before each string value, and after the last one."""

    pre: list[bytes]  # text before each string value, up to its opening quote
    post: bytes  # from the last string value's closing quote to the line's `}`
    names: list[str]  # key of each string value
    quotes: int  # quotes per line outside the values

    def at(self, name: str) -> int | None:
        return self.names.index(name) if name in self.names else None


@dataclass
class Lines:
    """A body's lines as columns, in file order."""

    count: int
    run_starts: list[int]  # the first line of each run of lines with one symbol
    run_symbols: list[str]
    run_intervals: list  # each run's first line's interval
    words: np.ndarray  # (count, k) datetimes as little-endian 8-byte words, zero past the text
    width: int  # the longest datetime
    close: np.ndarray
    volume: np.ndarray
    # Numbers the bulk parser left (line, text, line's first byte), and lines whose number it read
    # though it is not JSON (a leading zero), by column: the caller settles them as `_floats` does.
    left: dict = field(default_factory=dict)
    not_json: dict = field(default_factory=dict)


def template(line: bytes) -> Template | None:
    """The layout of `line`, if it is compact JSON of string (or null) values with the fields analysis reads."""
    try:
        bar = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(bar, dict) or orjson.dumps(bar) != line:  # compact, no key twice, nothing escaped
        return None
    if any(not isinstance(bar.get(name), str) for name in _REQUIRED):
        return None
    if any(value is not None and not isinstance(value, str) for value in bar.values()):
        return None
    pre, text, names = [], b"{", []
    for i, (key, value) in enumerate(bar.items()):
        head = (b"," if i else b"") + orjson.dumps(key) + b":"
        if value is None:
            text += head + b"null"
        else:
            pre.append(text + head + b'"')
            names.append(key)
            text = b'"'
    post = text + b"}"
    quotes = sum(p.count(b'"') for p in pre) + post.count(b'"')
    return Template(pre, post, names, quotes)


def scan_lines(body: bytes) -> Lines | None:
    """The body's lines as columns, or None unless every line has the first line's layout."""
    size = len(body)
    if size < 64 or body.find(b"\\") >= 0:
        return None
    buf = np.frombuffer(body, dtype=np.uint8)
    if buf.max() >= 0x80:
        return None
    first_end = body.find(b"\n")
    layout = template(body[: size if first_end < 0 else first_end])
    if layout is None:
        return None
    return _Reader(body, buf, layout).read()


class _Reader:
    def __init__(self, body: bytes, buf: np.ndarray, layout: Template):
        self.body, self.buf, self.layout = body, buf, layout
        self.size = len(body)
        self.load8 = loads8(body)
        self.quote = np.zeros(_PIECE + 2, dtype=bool)
        self.colon = np.zeros(_PIECE + 2, dtype=bool)
        self.anchor = np.zeros(_PIECE + 2, dtype=bool)
        self.mark = np.zeros(_PIECE, dtype=bool)
        self.small = np.zeros(_PIECE + 2, dtype=np.uint8)
        self.anchors = np.zeros(0, dtype=np.int64)

    def read(self) -> Lines | None:
        body, size, layout = self.body, self.size, self.layout
        end = size - 1 if body.endswith(b"\n") else size
        runs: tuple[list, list, list] = ([], [], [])
        words, close, volume, left, not_json = [], [], [], {}, {}
        count, width, lo = 0, 0, 0
        while lo < end:
            hi = body.find(b"\n", min(lo + _BLOCK, end))
            hi = end if hi < 0 or hi > end else hi
            block = self._block(lo, hi)
            if block is None:
                return None
            starts, values = block
            if not self._runs(starts, values, count, runs):
                return None
            dt = values[layout.at("datetime")]
            width = max(width, int((dt[1] - dt[0]).max()))
            words.append(dt)
            for name, out in (("close", close), ("volume", volume)):
                out.append(self._numbers(name, values, starts, count, left, not_json))
            count += len(starts)
            lo = hi + 1
        if count == 0 or width > 8 * _MAX_WORDS:
            return None
        k = max(1, -(-width // 8))
        return Lines(count, *runs, np.concatenate([self._words(s, e, k) for s, e in words]), width,
                     np.concatenate(close), np.concatenate(volume), left, not_json)  # fmt: skip

    def _block(self, lo: int, hi: int) -> tuple[np.ndarray, list] | None:
        """Line starts and each string value's (starts, ends) for the lines of `body[lo:hi]`."""
        layout = self.layout
        found = self._scan(lo, hi)
        if found is None:
            return None
        anchors, marks = found
        fields = len(layout.pre)
        if not len(anchors) or len(anchors) % fields:
            return None
        value_starts = np.add(anchors.reshape(-1, fields).T, 3, order="C")  # a row per field, each contiguous
        lines = value_starts.shape[1]
        starts = value_starts[0] - len(layout.pre[0])
        if starts[0] != lo or marks != lines * layout.quotes + lines - 1:
            return None
        line_ends = np.empty(lines, dtype=np.int64)
        line_ends[:-1], line_ends[-1] = starts[1:] - 1, hi
        # The last 3 bytes of the text before a value are the anchor's `":"`, already found there; the
        # text before the first value is checked with the end of the line before, across the line break.
        post, pre = layout.post, [text[:-3] for text in layout.pre]
        body = self.body
        if body[lo : lo + len(pre[0])] != pre[0] or body[hi - len(post) : hi] != post:
            return None
        if lines > 1 and not same_text(self.body, self.load8, line_ends[:-1] - len(post), post + b"\n" + pre[0]):
            return None
        values = []
        for f in range(fields):
            vs = value_starts[f]
            ve = value_starts[f + 1] - len(layout.pre[f + 1]) if f + 1 < fields else line_ends - len(post)
            if not (ve >= vs).all() or (f and not same_text(self.body, self.load8, vs - len(layout.pre[f]), pre[f])):
                return None
            values.append((vs, ve))
        return starts, values

    def _scan(self, lo: int, hi: int) -> tuple[np.ndarray, int] | None:
        """Where `":"` stands in `body[lo:hi]` (its first quote), and how many quotes and control
        characters the span holds."""
        buf = self.buf
        if len(self.anchors) < (hi - lo) // 3 + 1:
            self.anchors = np.zeros((hi - lo) // 3 + 1, dtype=np.int64)
        found = marks = 0
        for at in range(lo, hi, _PIECE):
            stop = min(at + _PIECE, hi)
            piece = buf[at : min(stop + 2, hi)]
            n = len(piece)
            quote = np.equal(piece, _QUOTE, out=self.quote[:n])
            colon = np.equal(piece, _COLON, out=self.colon[:n])
            # x ^ 2 <= 32 exactly for a quote or a control character
            small = np.bitwise_xor(buf[at:stop], 2, out=self.small[: stop - at])
            marks += int(np.count_nonzero(np.less_equal(small, 32, out=self.mark[: stop - at])))
            if n < 3:
                continue
            anchor = np.logical_and(quote[:-2], colon[1:-1], out=self.anchor[: n - 2])
            np.logical_and(anchor, quote[2:], out=anchor)
            where = np.flatnonzero(anchor)
            np.add(where, at, out=self.anchors[found : found + len(where)])
            found += len(where)
        return self.anchors[:found], marks

    def _runs(self, starts: np.ndarray, values: list, first: int, runs: tuple[list, list, list]) -> bool:
        """Add the runs of lines with one symbol (the first line of a block may continue the last run)."""
        layout, body = self.layout, self.body
        s, e = values[layout.at("symbol")]
        width = e - s
        if int(width.max()) > 8 * _MAX_WORDS:
            return False
        k = max(1, -(-int(width.max()) // 8))
        w = self._words(s, e, k)
        new = np.ones(len(s), dtype=bool)
        new[1:] = (width[1:] != width[:-1]) | (w[1:] != w[:-1]).any(axis=1)
        interval = values[layout.at("interval")] if layout.at("interval") is not None else None
        if interval is not None:  # a series is a symbol and an interval: a new interval starts a run too
            iwidth = interval[1] - interval[0]
            if int(iwidth.max()) > 8 * _MAX_WORDS:
                return False
            iw = self._words(interval[0], interval[1], max(1, -(-int(iwidth.max()) // 8)))
            new[1:] |= (iwidth[1:] != iwidth[:-1]) | (iw[1:] != iw[:-1]).any(axis=1)
        for i in np.flatnonzero(new).tolist():
            symbol = body[s[i] : e[i]].decode("ascii")
            text = None if interval is None else body[interval[0][i] : interval[1][i]].decode("ascii")
            if i == 0 and runs[1] and runs[1][-1] == symbol and runs[2][-1] == text:
                continue
            runs[0].append(first + i)
            runs[1].append(symbol)
            runs[2].append(text)
        return True

    def _words(self, starts: np.ndarray, ends: np.ndarray, k: int) -> np.ndarray:
        """(lines, k) the text of each span as little-endian 8-byte words, zero past its end."""
        width = ends - starts
        if len(starts) and int(starts[-1]) + 8 * k <= self.size:  # all k words in one load per span
            view = np.ndarray((self.size - 8 * k + 1,), dtype=f"V{8 * k}", buffer=self.body, strides=(1,))
            out = view[starts].view(np.uint64).reshape(len(starts), k)
            for j in range(k):
                out[:, j] &= LOW[np.clip(width - 8 * j, 0, 8)]
            return out
        out = np.empty((len(starts), k), dtype=np.uint64)
        for j in range(k):
            out[:, j] = words_at(self.load8, starts + 8 * j) & LOW[np.clip(width - 8 * j, 0, 8)]
        return out

    def _numbers(
        self, name: str, values: list, starts: np.ndarray, first: int, left: dict, not_json: dict
    ) -> np.ndarray:
        at = self.layout.at(name)
        if at is None:  # absent or null: NaN, as `_floats` reads None
            return np.full(len(starts), np.nan)
        vs, ve = values[at]
        numbers, ok = parse_decimals(self.body, self.load8, vs, ve)
        body = self.body
        for i in np.flatnonzero(~ok).tolist():
            left.setdefault(name, []).append((first + i, body[vs[i] : ve[i]].decode("ascii"), int(starts[i])))
            numbers[i] = np.nan
        # A leading zero (`05`): read in bulk, but not JSON, which decides how `_floats` reads the others.
        zero = np.flatnonzero(self.buf[vs] == _ZERO)
        if len(zero):
            second = self.buf[np.minimum(vs[zero] + 1, self.size - 1)]
            lead = zero[ok[zero] & (ve[zero] - vs[zero] >= 2) & (second - np.uint8(_ZERO) <= 9)]
            not_json.setdefault(name, []).extend(starts[lead].tolist())
        return numbers


def sort_lines(lines: Lines) -> tuple[list[tuple[str, str]], list, np.ndarray, np.ndarray]:
    """(series, intervals, counts, order): the series sorted as (symbol, interval text) pairs, each
    one's interval and line count, and the lines in order of series, then datetime
    text (ties in file order), as a stable sort on (symbol, interval, datetime) would give them.

    A symbol that is one run of lines with datetimes strictly falling (as ingest writes Twelve Data
    series) or rising is reversed or kept as it is; any other is sorted on its datetime words.
    """
    starts = np.array([*lines.run_starts, lines.count], dtype=np.int64)
    lengths = np.diff(starts)
    groups: dict[tuple[str, str], list[int]] = {}
    for run, (symbol, interval) in enumerate(zip(lines.run_symbols, lines.run_intervals, strict=True)):
        groups.setdefault((symbol, interval or ""), []).append(run)
    series = sorted(groups)
    keys = lines.words.byteswap()  # big-endian: the words compare as the text does
    falls, rises = _steps(keys, starts)
    order = np.empty(lines.count, dtype=np.int64)
    counts, intervals, at = [], [], 0
    plain_runs, plain_at, plain_down = [], [], []
    for key in series:
        runs = groups[key]
        size = int(lengths[runs].sum())
        intervals.append(lines.run_intervals[runs[0]])
        counts.append(size)
        run = runs[0]
        if len(runs) == 1 and (falls[run] or rises[run]):
            plain_runs.append(run)
            plain_at.append(at)
            plain_down.append(bool(falls[run]) and lengths[run] > 1)
        else:
            lines_of = np.concatenate([np.arange(starts[r], starts[r + 1]) for r in runs])
            group = keys[lines_of]
            order[at : at + size] = lines_of[np.lexsort(group.T[::-1])]
        at += size
    if plain_runs:
        runs = np.array(plain_runs)
        run_of_line = np.repeat(runs, lengths[runs])
        line = _ranges(starts[runs], lengths[runs])
        offset = line - starts[run_of_line]
        down = np.repeat(np.array(plain_down), lengths[runs])
        target = np.repeat(np.array(plain_at), lengths[runs]) + np.where(
            down, lengths[run_of_line] - 1 - offset, offset
        )
        order[target] = line
    return series, intervals, np.array(counts, dtype=np.int64), order


def series_names(series: list[tuple[str, str]]) -> list[str]:
    """The key of each (symbol, interval) series in the analysis: the symbol, or `SYMBOL@INTERVAL`
    for each series of a symbol present at more than one interval in the file."""
    per_symbol: dict[str, int] = {}
    for symbol, _ in series:
        per_symbol[symbol] = per_symbol.get(symbol, 0) + 1
    return [symbol if per_symbol[symbol] == 1 else f"{symbol}@{interval}" for symbol, interval in series]


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenation of arange(start, start + length) for each pair."""
    total = int(lengths.sum())
    steps = np.ones(total, dtype=np.int64)
    heads = np.cumsum(lengths)[:-1]
    steps[0] = starts[0]
    steps[heads] = starts[1:] - (starts[:-1] + lengths[:-1] - 1)
    return np.cumsum(steps)


def _steps(keys: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each run, whether its keys strictly fall, and whether they strictly rise, line to line."""
    n, k = keys.shape
    if n < 2:
        ones = np.ones(len(starts) - 1, dtype=bool)
        return ones, ones
    a, b = keys[1:], keys[:-1]
    above = np.zeros(n - 1, dtype=bool)
    below = np.zeros(n - 1, dtype=bool)
    equal = np.ones(n - 1, dtype=bool)
    for j in range(k):
        above |= equal & (a[:, j] > b[:, j])
        below |= equal & (a[:, j] < b[:, j])
        equal &= a[:, j] == b[:, j]
    # Steps within each run: lines starts[r] + 1 .. starts[r + 1] - 1, i.e. steps starts[r] .. starts[r + 1] - 2
    cum_above = np.concatenate(([0], np.cumsum(above)))
    cum_below = np.concatenate(([0], np.cumsum(below)))
    first, last = starts[:-1], starts[1:] - 1  # steps [first, last) of each run
    inside = last - first
    rises = cum_above[last] - cum_above[first] == inside
    falls = cum_below[last] - cum_below[first] == inside
    return falls, rises
