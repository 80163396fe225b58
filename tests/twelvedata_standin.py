"""A stand-in for Twelve Data's `/time_series` on loopback: real HTTP for the real client code.

It answers from the shapes of the Twelve Data samples (tests/fixtures/twelvedata): a symbol it knows gets a daily series, `NOTFOUND…`
symbols get the fixture's "symbol not found" error, and a test can script the next answers
(a 429 body, a 5xx, a malformed body, a slow or dripping answer, a redirect) with `then`. Every
request is recorded, with its headers.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.conftest import fixture_bytes


@dataclass
class Answer:
    status: int = 200
    body: bytes | None = None  # None: the normal answer for the requested symbols
    delay_s: float = 0.0
    headers: dict = field(default_factory=dict)  # e.g. a redirect's Location
    drip_s: float = 0.0  # if set: no Content-Length, the body a byte at a time, this far apart


@dataclass
class Request:
    symbols: list[str]
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class StandIn:
    url: str = ""
    requests: list[Request] = field(default_factory=list)
    script: deque = field(default_factory=deque)
    bars: int = 30

    def then(self, *answers: Answer) -> StandIn:
        self.script.extend(answers)
        return self

    def series(self, symbol: str) -> dict:
        if symbol.startswith("NOTFOUND"):
            error = json.loads(fixture_bytes("soulgarden_time_series_error_symbol_not_found.json"))
            return {**error, "meta": {**error["meta"], "symbol": symbol, "interval": "1day"}}
        ok = json.loads(fixture_bytes("soulgarden_time_series_AAPL_1min_ok.json"))
        values = []
        for day in range(self.bars, 0, -1):  # newest first, as Twelve Data sends them
            close = 100 + day + (len(symbol) % 3)
            values.append(
                {
                    "datetime": f"2026-10-{day:02d}",
                    "open": f"{close - 0.5:.2f}",
                    "high": f"{close + 1:.2f}",
                    "low": f"{close - 1:.2f}",
                    "close": f"{close:.2f}",
                    "volume": str(1000 + day),
                }
            )
        return {"meta": {**ok["meta"], "symbol": symbol, "interval": "1day"}, "values": values, "status": "ok"}

    def answer_for(self, symbols: list[str]) -> bytes:
        if len(symbols) == 1:
            return json.dumps(self.series(symbols[0])).encode()
        return json.dumps({symbol: self.series(symbol) for symbol in symbols}).encode()


def start(stand_in: StandIn) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server interface
            parsed = urllib.parse.urlparse(self.path)
            query = dict(urllib.parse.parse_qsl(parsed.query))
            symbols = [s for s in query.get("symbol", "").split(",") if s]
            stand_in.requests.append(Request(symbols, query, {k.lower(): v for k, v in self.headers.items()}))
            answer = stand_in.script.popleft() if stand_in.script else Answer()
            if answer.delay_s:
                time.sleep(answer.delay_s)
            body = answer.body if answer.body is not None else stand_in.answer_for(symbols)
            if parsed.path != "/time_series":
                answer, body = Answer(404), b'{"code":404,"message":"not found","status":"error"}'
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if not answer.drip_s:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if answer.drip_s:  # close-delimited, a byte at a time: a slow-drip answer
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(answer.drip_s)
                else:
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
