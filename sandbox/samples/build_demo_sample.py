"""Build demo_sample.json (Twelve Data multi-symbol /time_series shape) from the
real Quandl WIKI daily OHLCV bundled in the PyPI wheel bokeh_sampledata-2026.1
(bokeh_sampledata/_data/stocks.csv.gz). Stdlib only; no network."""

import csv
import gzip
import io
import json
import sys
import zipfile
from decimal import ROUND_HALF_UP, Decimal

WHEEL = sys.argv[1] if len(sys.argv) > 1 else "dl/bs/bokeh_sampledata-2026.1-py3-none-any.whl"
OUT = sys.argv[2] if len(sys.argv) > 2 else "demo_sample.json"
START, END = "2012-03-02", "2013-03-01"  # last 250 trading days common to AAPL/GOOG/IBM/MSFT

META = {  # Twelve Data-style meta; FB is today's META, GOOG here is pre-2014 Google (now GOOGL)
    "AAPL": ("NASDAQ", "XNGS"),
    "MSFT": ("NASDAQ", "XNGS"),
    "GOOG": ("NASDAQ", "XNGS"),
    "IBM": ("NYSE", "XNYS"),
    "FB": ("NASDAQ", "XNGS"),
}


def d5(s):
    return str(Decimal(s).quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP))


with zipfile.ZipFile(WHEEL) as z:
    raw = gzip.decompress(z.read("bokeh_sampledata/_data/stocks.csv.gz")).decode()

rows = {}
for r in csv.DictReader(io.StringIO(raw)):
    if START <= r["Date"] <= END and r["Ticker"] in META:
        rows.setdefault(r["Ticker"], []).append(r)

out = {}
for sym, (exch, mic) in META.items():
    vals = sorted(rows[sym], key=lambda r: r["Date"], reverse=True)  # newest first
    out[sym] = {
        "meta": {
            "symbol": sym,
            "interval": "1day",
            "currency": "USD",
            "exchange_timezone": "America/New_York",
            "exchange": exch,
            "mic_code": mic,
            "type": "Common Stock",
        },
        "values": [
            {
                "datetime": r["Date"],
                "open": d5(r["Open"]),
                "high": d5(r["High"]),
                "low": d5(r["Low"]),
                "close": d5(r["Close"]),
                "volume": str(int(Decimal(r["Volume"]))),
            }
            for r in vals
        ],
        "status": "ok",
    }
with open(OUT, "w") as f:
    json.dump(out, f, indent=2)
    f.write("\n")
for sym, v in out.items():
    print(sym, len(v["values"]), v["values"][-1]["datetime"], "->", v["values"][0]["datetime"])
