"""The chaos suite's hostile corpus: files an adversary would upload, generated (deterministic,
nothing binary committed), each with what docs/formats.md says it must become.

A case's `Expect` names the outcome: `processed` (with the valid count and reject rules where the
rules fix them), `quarantined`, or `either` (the docs leave the choice to the code; the chaos
accounting still requires every bar in processed/ or rejects/, or the file in quarantine). A
case's `item` names the kind of hostility it stands for (`strict-numbers`, `symbol-characters`,
…; `adversary` for the rest). `pending` says what a case waits for when its fix is not on this
branch yet: the suite then expects it to fail (strictly: once it passes, the mark must go).
"""

from __future__ import annotations

import datetime as dt
import gzip
from dataclasses import dataclass, field

import orjson

PRICE_FIELDS = ("open", "high", "low", "close")


@dataclass(frozen=True)
class Expect:
    status: str = "processed"  # processed | quarantined | either
    bars: int | None = None  # bars in the file, when the file defines them unambiguously
    valid: int | None = None
    rules: dict[str, int] | None = None  # reject rules that must appear, with their counts
    analysis: bool | None = None  # None: one analysis unless quarantined


@dataclass(frozen=True)
class CorpusCase:
    key: str
    body: bytes
    expect: Expect


@dataclass
class CorpusGroup:
    """One scenario: usually one file; `pending` = the fix it waits for, if any."""

    name: str
    files: list[CorpusCase] = field(default_factory=list)
    item: str = ""  # the kind of hostility it covers (or "adversary")
    pending: str | None = None


def bar(i: int, base: float = 100.0, **overrides: object) -> dict:
    day = dt.date(2024, 1, 1) + dt.timedelta(days=i)
    close = base + (i % 7) - 3 + i * 0.1
    row = {
        "datetime": day.isoformat(),
        "open": f"{close - 0.5:.2f}",
        "high": f"{close + 1:.2f}",
        "low": f"{close - 1:.2f}",
        "close": f"{close:.2f}",
        "volume": str(1000 + 37 * i),
    }
    row.update(overrides)
    return row


def series(symbol: object, n: int = 10, bad: dict[int, dict] | None = None, **meta: object) -> dict:
    values = [bar(i, **(bad or {}).get(i, {})) for i in range(n)]
    header = {"symbol": symbol, "interval": "1day", "currency": "USD", "exchange": "NASDAQ", "type": "Common Stock"}
    return {"meta": {**header, **meta}, "values": values[::-1], "status": "ok"}


def js(document: object) -> bytes:
    return orjson.dumps(document)


def csv(rows: list[dict], sep: str = ";", newline: str = "\n") -> bytes:
    header = sep.join(("datetime", "open", "high", "low", "close", "volume"))
    lines = [header] + [
        sep.join(str(r[k]) for k in ("datetime", "open", "high", "low", "close", "volume")) for r in rows
    ]
    return (newline.join(lines) + newline).encode()


def standard_file() -> CorpusCase:
    """The boundary scenarios' file: three symbols, 30 bars each, two of them bad."""
    doc = {
        "AAA": series("AAA", 30, bad={4: {"close": "abc"}}),
        "BBB": series("BBB", 30, bad={7: {"low": "999"}}),
        "CCC": series("CCC", 30),
    }
    return CorpusCase(
        "inputs/market.json", js(doc), Expect(bars=90, valid=88, rules={"bad_number": 1, "ohlc_inconsistent": 1})
    )


def _one(name: str, key: str, body: bytes, expect: Expect, item: str = "adversary", pending: str | None = None):
    return CorpusGroup(name, [CorpusCase(key, body, expect)], item, pending)


def _bad_value(name: str, field_name: str, value: object, rule: str, item: str, pending: str | None = None):
    """A six-bar file whose third bar has `value` in `field_name` ("prices": all four prices, so
    the bar is otherwise consistent and reaches analyze when the number is let through)."""
    fields = PRICE_FIELDS if field_name == "prices" else (field_name,)
    doc = series("AAPL", 6, bad={2: dict.fromkeys(fields, value)})
    return _one(name, f"inputs/{name}.json", js(doc), Expect(bars=6, valid=5, rules={rule: 1}), item, pending)


def _raw_field(doc: dict, index: int, name: str, raw: bytes) -> bytes:
    """`doc` as JSON with one bar field replaced by raw JSON text (a number orjson cannot write)."""
    doc["values"][index][name] = "__RAW__"
    return js(doc).replace(b'"__RAW__"', raw, 1)


def _gzip_members(payload: bytes, members: int) -> bytes:
    size = max(1, len(payload) // members)
    return b"".join(gzip.compress(payload[i : i + size], mtime=0) for i in range(0, len(payload), size))


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"1" + b"]" * depth


def corpus_cases() -> list[CorpusGroup]:
    q = Expect("quarantined", analysis=False)
    e = Expect("either")
    groups = [
        # -- accepted shapes (baselines) --------------------------------------------------------
        _one("single", "inputs/single.json", js(series("AAPL", 12)), Expect(bars=12, valid=12)),
        _one(
            "multi",
            "inputs/multi.json",
            js({s: series(s, 5) for s in ("AAPL", "MSFT", "IBM")}),
            Expect(bars=15, valid=15),
        ),
        _one(
            "batch envelope with a symbol error",
            "inputs/batch.json",
            js(
                {
                    "code": 200,
                    "status": "success",
                    "data": {
                        "req_1": {"response": series("AAPL", 4)},
                        "req_2": {"response": {"code": 400, "message": "symbol not found", "status": "error"}},
                    },
                }
            ),
            Expect(bars=4, valid=4),
        ),
        _one("csv semicolon", "inputs/AAPL_1day.csv", csv([bar(i) for i in range(8)]), Expect(bars=8, valid=8)),
        _one("csv comma", "inputs/MSFT_1day.csv", csv([bar(i) for i in range(8)], ","), Expect(bars=8, valid=8)),
        _one(
            "csv crlf", "inputs/IBM_1day.csv", csv([bar(i) for i in range(5)], newline="\r\n"), Expect(bars=5, valid=5)
        ),
        _one(
            "gzip json", "inputs/single.json.gz", gzip.compress(js(series("AAPL", 9)), mtime=0), Expect(bars=9, valid=9)
        ),
        _one("json with BOM", "inputs/bom.json", b"\xef\xbb\xbf" + js(series("AAPL", 3)), Expect("either", bars=3)),
        _one(
            "csv with BOM",
            "inputs/GOOG_1day.csv",
            b"\xef\xbb\xbf" + csv([bar(i) for i in range(4)]),
            Expect("either", bars=4),
        ),
        _one("url-encoded key", "inputs/my file +ü.json", js(series("AAPL", 3)), Expect(bars=3, valid=3)),
        # -- whole-file failures ---------------------------------------------------------------
        _one("empty", "inputs/empty.json", b"", q),
        _one("whitespace", "inputs/blank.json", b" \n\t \r\n", q),
        _one("not json", "inputs/notjson.json", b"{not json", q),
        _one("truncated json", "inputs/trunc.json", js(series("AAPL", 5))[:-40], q),
        _one("top-level array", "inputs/array.json", b"[1, 2, 3]", q),
        _one("top-level string", "inputs/string.json", b'"hello"', q),
        _one("top-level null", "inputs/null.json", b"null", q),
        _one("top-level number", "inputs/number.json", b"42", q),
        _one("binary junk", "inputs/junk.bin", bytes(range(256)) * 8, q),
        _one("bad gzip", "inputs/bad.json.gz", b"\x1f\x8b\x08\x00garbage-not-deflate", q),
        _one("truncated gzip", "inputs/cut.json.gz", gzip.compress(js(series("AAPL", 50)), mtime=0)[:60], q),
        _one("gzip of nothing", "inputs/nothing.json.gz", gzip.compress(b"", mtime=0), q),
        _one("gzip bomb", "inputs/bomb.json.gz", gzip.compress(b"[" + b" " * (24 << 20) + b"]", 9, mtime=0), q),
        _one(
            "gzip inside gzip",
            "inputs/twice.json.gz",
            gzip.compress(gzip.compress(js(series("A", 3)), mtime=0), mtime=0),
            e,
        ),
        _one("200,000-deep json", "inputs/deep.json", _nested(200_000), q),
        _one("deep object json", "inputs/deepobj.json", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, q),
        _one("csv without header", "inputs/AAPL_noheader_1day.csv", b"just some words\nno header here\n", q),
        _one("csv header only", "inputs/HDR_1day.csv", csv([]), Expect("either", bars=0)),
        _one("latin-1 csv", "inputs/LAT_1day.csv", csv([bar(0)]).replace(b"2024", "2024é".encode("latin-1"), 1), e),
        _one(
            "values not a list",
            "inputs/values_dict.json",
            js({"meta": {"symbol": "A"}, "values": {"a": 1}, "status": "ok"}),
            e,
        ),
        _one(
            "values of strings",
            "inputs/values_str.json",
            js({"meta": {"symbol": "A"}, "values": ["x", "y"], "status": "ok"}),
            e,
        ),
        _one("meta symbol a number", "inputs/meta_num.json", js(series(12345, 3)), e),
        _one("status error only", "inputs/error.json", js({"code": 400, "message": "bad", "status": "error"}), e),
        # -- bar rules --------------------------------------------------------------------------
        _one(
            "classic bad numbers",
            "inputs/classic.json",
            js(
                series(
                    "AAPL",
                    8,
                    bad={i: {"close": v} for i, v in enumerate(["NaN", "inf", "-inf", "", None, True], start=1)},
                )
            ),
            Expect(bars=8, valid=2, rules={"bad_number": 6}),
        ),
        _bad_value("negative price", "low", "-1", "non_positive_price", "rules"),
        _bad_value("zero price", "open", "0", "non_positive_price", "rules"),
        _bad_value("negative volume", "volume", "-5", "negative_volume", "rules"),
        _bad_value("impossible date", "datetime", "2024-02-30", "bad_datetime", "rules"),
        _bad_value("future date", "datetime", "2099-01-01", "future_timestamp", "rules"),
        _bad_value("ohlc inconsistent", "high", "1", "ohlc_inconsistent", "rules"),
        _one(
            "missing close",
            "inputs/missing.json",
            js(
                {
                    "meta": {"symbol": "A", "interval": "1day"},
                    "values": [bar(0), {"datetime": "2024-02-01"}],
                    "status": "ok",
                }
            ),
            Expect(bars=2, valid=1, rules={"missing_field": 1}),
        ),
        _one(
            "duplicate timestamps, reject-heavy",
            "inputs/dups.json",
            js({"meta": {"symbol": "DUP", "interval": "1day"}, "values": [bar(0)] * 20_000, "status": "ok"}),
            Expect(bars=20_000, valid=1, rules={"duplicate_timestamp": 19_999}),
            "reject-heavy",
        ),
        _one(
            "duplicate key inside a bar",
            "inputs/dupkey.json",
            b'{"meta":{"symbol":"A","interval":"1day"},"status":"ok","values":[{"datetime":"2024-01-02","open":"1",'
            b'"open":"2","high":"3","low":"0.5","close":"2","volume":"1"}]}',
            Expect("either", bars=1),
        ),
        # -- numbers -------------------------------------------------------------------------------
        _bad_value("price 1e200", "prices", "1e200", "bad_number", "huge-numbers"),
        _bad_value("price 1e-200", "prices", "1e-200", "bad_number", "huge-numbers"),
        _bad_value("volume 1e200", "volume", "1e200", "bad_number", "huge-numbers"),
        _bad_value("5000-digit price", "prices", "9" * 5000, "bad_number", "adversary"),
        _bad_value("39 significant digits", "prices", "1." + "0" * 37 + "1", "bad_number", "strict-numbers"),
        _one(
            "json number 1e400",
            "inputs/num1e400.json",
            _raw_field(series("AAPL", 6), 2, "volume", b"1e400"),
            Expect(bars=6, valid=5, rules={"bad_number": 1}),
            "strict-numbers",
        ),
        _bad_value("arabic-indic digits", "close", "١٠٠", "bad_number", "strict-numbers"),
        _bad_value("underscore digits", "close", "1_00", "bad_number", "strict-numbers"),
        _bad_value("plus sign", "close", "+100", "bad_number", "strict-numbers"),
        _bad_value("padded number", "close", " 100 ", "bad_number", "strict-numbers"),
        _bad_value("hex float", "close", "0x1p6", "bad_number", "adversary"),
        _one(
            "U+2028 inside a csv row",
            "inputs/LS_1day.csv",
            csv([bar(0), bar(1), bar(2, volume="10\u2028x")]),
            Expect(bars=3, valid=2, rules={"bad_number": 1}),
            "csv-rows",
        ),
        _one(
            "U+0085 inside a csv row",
            "inputs/NEL_1day.csv",
            csv([bar(0), bar(1), bar(2, volume="10\x85x")]),
            Expect(bars=3, valid=2, rules={"bad_number": 1}),
            "csv-rows",
        ),
        # -- symbols ------------------------------------------------------------------------------
        _one(
            "empty csv symbol",
            "inputs/_1day.csv",
            csv([bar(i) for i in range(3)]),
            Expect(bars=3, rules={"bad_symbol": 3}),
            "symbol-from-name",
        ),
        _one(
            "csv named .csv",
            "inputs/.csv",
            csv([bar(i) for i in range(3)]),
            Expect(bars=3, rules={"bad_symbol": 3}),
            "symbol-from-name",
        ),
        _one(
            "json without meta.symbol",
            "inputs/_x.json",
            js({"meta": {"interval": "1day"}, "values": [bar(0), bar(1)], "status": "ok"}),
            Expect(bars=2, rules={"bad_symbol": 2}),
            "symbol-from-name",
        ),
        _one(
            "bidi override symbol",
            "inputs/bidi.json",
            js(series("LLES\u202e", 3)),
            Expect(bars=3, valid=0, rules={"bad_symbol": 3}),
            "symbol-characters",
        ),
        _one(
            "zero-width symbol",
            "inputs/zw.json",
            js(series("AAPL\u200b", 3)),
            Expect(bars=3, valid=0, rules={"bad_symbol": 3}),
            "symbol-characters",
        ),
        _one(
            "NUL in symbol",
            "inputs/nul.json",
            js({"AAPL": series("AAPL", 3), "AAPL\x00": series("AAPL\x00", 3)}),
            Expect(bars=6, valid=3, rules={"bad_symbol": 3}),
            "symbol-characters",
        ),
        _one(
            "65-character symbol",
            "inputs/long.json",
            js(series("A" * 65, 3)),
            Expect(bars=3, valid=0, rules={"bad_symbol": 3}),
            "symbol-characters",
        ),
        _one(
            "markup symbol",
            "inputs/markup.json",
            js(series("<img src=x onerror=alert(1)>", 4)),
            Expect(bars=4, valid=4),
        ),
        _one("unicode symbol", "inputs/unicode.json", js(series("日本株", 4)), Expect(bars=4, valid=4)),
        _one(
            "repeated symbol key",
            "inputs/repeat.json",
            b'{"AAPL":' + js(series("AAPL", 3)) + b',"AAPL":' + js(series("AAPL", 4, base=200.0)) + b"}",
            Expect(bars=7),
            "repeated-keys",
        ),
        # -- size and structure ---------------------------------------------------------------------
        _one(
            "many gzip members",
            "inputs/members.json.gz",
            _gzip_members(js(series("AAPL", 300)), 3000),
            Expect(bars=300, valid=300),
            "gzip-members",
        ),
        _one(
            "deeply nested bar field",
            "inputs/nestedbar.json",
            _raw_field(series("AAPL", 4), 1, "open", _nested(1000)),
            Expect(bars=4, valid=3, rules={"bad_number": 1}),
            "deep-nesting",
        ),
        _one(
            "anomaly for 8,000 long symbols",
            "inputs/wide.json",
            js({f"{'W' * 56}{i:05d}": series(f"{'W' * 56}{i:05d}", 2, bad={1: _jump()}) for i in range(8000)}),
            Expect(bars=16_000, valid=16_000),
            "wide-files",
        ),
        _one(
            "1,012-byte key",
            "inputs/" + "k" * 1000 + ".json",
            js(series("AAPL", 3)),
            Expect(bars=3, valid=3),
            "adversary",
        ),
    ]
    # The same bytes under two CSV names are two files (the symbol comes from the name).
    same = csv([bar(i) for i in range(5)])
    groups.append(
        CorpusGroup(
            "same bytes as AAPL_1day.csv and MSFT_1day.csv",
            [
                CorpusCase("inputs/AAPL_1day.csv", same, Expect(bars=5, valid=5)),
                CorpusCase("inputs/MSFT_1day.csv", same, Expect(bars=5, valid=5)),
            ],
            "name-identity",
        )
    )
    groups.append(
        CorpusGroup(
            "the same file delivered twice",
            [
                CorpusCase("inputs/again.json", js(series("AAPL", 5)), Expect(bars=5, valid=5)),
                CorpusCase("inputs/again.json", js(series("AAPL", 5)), Expect(bars=5, valid=5)),
            ],
        )
    )
    return groups


def _jump() -> dict:
    """A 50 % move on the last bar: an anomaly for every symbol."""
    return {"open": "150.00", "high": "160.00", "low": "149.00", "close": "155.00"}


def corpus_files() -> int:
    return sum(len(g.files) for g in corpus_cases())
