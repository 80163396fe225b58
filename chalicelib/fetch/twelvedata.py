"""Twelve Data's `/time_series` for a list of symbols, inside its credit limits.

One request carries many comma-separated symbols, but each symbol costs a credit and a plan
allows so many credits a minute (the free plan: 8 a minute, 800 a day). So symbols go in batches
of at most `credits_per_minute`, one batch per minute window. A 429 (out of credits, whole
request or one symbol), a 5xx, a timeout or a body that is not JSON is retried with backoff, a
429 in the next minute window; every wait stays inside the function's remaining time. What still
fails, or what time ran out for, stays in the result as that symbol's error object, so the report
lists it. The result is the multi-symbol shape the ingestor reads: `{symbol: response or error}`.

No AWS here, and no network of its own: HTTP goes through the `Transport` given (the standard
library's by default), time through the `clock`, `sleep` and `remaining_s` given.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

# Seconds kept back from the function's remaining time for writing the result.
RESERVE_S = 10.0
_MINUTE_S = 60.0
_BACKOFF_S = (2.0, 5.0, 15.0, 30.0)


class Transport(Protocol):
    def get(self, url: str, headers: dict[str, str], timeout_s: float) -> tuple[int, bytes]:
        """(HTTP status, body); raises `OSError` (`TimeoutError`, `URLError`, …) when no answer came."""


class UrllibTransport:
    """HTTP with the standard library: nothing to package, a timeout on every call."""

    def get(self, url: str, headers: dict[str, str], timeout_s: float) -> tuple[int, bytes]:
        request = urllib.request.Request(url, headers=headers, method="GET")
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:  # 4xx/5xx still carry a body worth reading
            with error:
                return error.code, error.read()


@dataclass(frozen=True)
class FetchSettings:
    base_url: str = "https://api.twelvedata.com"
    interval: str = "1day"
    outputsize: int = 30
    credits_per_minute: int = 8
    max_attempts: int = 4
    timeout_s: float = 20.0


@dataclass
class FetchReport:
    """What a run did: requests sent, waits, and the symbols that ended as errors (and why)."""

    requests: int = 0
    waited_s: float = 0.0
    errors: dict[str, str] = field(default_factory=dict)
    out_of_time: bool = False


class _Retry(Exception):
    def __init__(self, code: int, message: str, next_window: bool = False):
        super().__init__(message)
        self.code, self.message, self.next_window = code, message, next_window


def parse_symbols(text: str) -> list[str]:
    """`AAPL, MSFT,aapl` → `["AAPL", "MSFT"]`: upper-cased, de-duplicated, in order (also one a line)."""
    seen: dict[str, None] = {}
    for item in text.replace("\n", ",").split(","):
        symbol = item.strip().upper()
        if symbol and not symbol.startswith("#"):
            seen.setdefault(symbol, None)
    return list(seen)


def batches(symbols: list[str], credits_per_minute: int) -> list[list[str]]:
    """Symbols in request batches: each costs at most one minute's credits."""
    size = max(1, credits_per_minute)
    return [symbols[i : i + size] for i in range(0, len(symbols), size)]


def error_object(symbol: str, interval: str, code: int, message: str) -> dict[str, Any]:
    """A per-symbol error as Twelve Data writes one, so the ingestor reports it as `symbol_error`."""
    return {"code": code, "message": message, "status": "error", "meta": {"symbol": symbol, "interval": interval}}


class Fetcher:
    """Fetches symbols from `/time_series` for one run; `fetch` returns the multi-symbol document."""

    def __init__(
        self,
        api_key: str,
        settings: FetchSettings = FetchSettings(),
        transport: Transport | None = None,
        remaining_s: Callable[[], float] = lambda: float("inf"),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._api_key = api_key
        self.settings = settings
        self.transport = transport or UrllibTransport()
        self.remaining_s, self.clock, self.sleep = remaining_s, clock, sleep
        self.report = FetchReport()
        self._window_start: float | None = None
        self._window_used = 0

    def url(self, symbols: list[str]) -> str:
        """The request URL; the API key travels in a header, so no URL (or log of one) holds it."""
        query = {"symbol": ",".join(symbols), "interval": self.settings.interval}
        query["outputsize"] = str(self.settings.outputsize)
        return f"{self.settings.base_url.rstrip('/')}/time_series?{urllib.parse.urlencode(query, safe=',')}"

    def fetch(self, symbols: list[str]) -> dict[str, Any]:
        interval = self.settings.interval
        results: dict[str, Any] = {}
        attempts = dict.fromkeys(symbols, 0)
        pending = list(symbols)
        while pending:
            batch = pending[: max(1, self.settings.credits_per_minute)]
            if not self._wait_for_credits(len(batch)):
                break
            try:
                self.report.requests += 1
                answers = self._request(batch)
            except _Retry as retry:
                answers = {symbol: retry for symbol in batch}
            retry_later: list[str] = []
            for symbol in batch:
                answer = answers[symbol]
                if not isinstance(answer, _Retry):
                    results[symbol] = answer
                    continue
                attempts[symbol] += 1
                if attempts[symbol] >= self.settings.max_attempts:
                    message = f"{answer.message} (gave up after {attempts[symbol]} attempts)"
                    results[symbol] = error_object(symbol, interval, answer.code, message)
                    self.report.errors[symbol] = message
                else:
                    retry_later.append(symbol)
            pending = [s for s in pending if s not in batch] + retry_later
            if retry_later:
                failed = [answers[s] for s in retry_later]
                delay = self._retry_delay(max(attempts[s] for s in retry_later), any(f.next_window for f in failed))
                if not self._wait(delay):
                    break
        if pending:  # time ran out before these were fetched
            self.report.out_of_time = True
            message = (
                f"not fetched: the function's time ran out ({len(results)} of {len(symbols)} symbols fetched); "
                "fewer symbols, a higher credit limit or a longer timeout would fit"
            )
            for symbol in pending:
                results[symbol] = error_object(symbol, interval, 408, message)
                self.report.errors[symbol] = message
        return {symbol: results[symbol] for symbol in symbols}

    # -- one request -------------------------------------------------------------------------
    def _request(self, batch: list[str]) -> dict[str, Any]:
        """{symbol: response, error object, or _Retry} for one request of `batch`."""
        headers = {"Authorization": f"apikey {self._api_key}", "Accept": "application/json"}
        try:
            status, body = self.transport.get(self.url(batch), headers, self.settings.timeout_s)
        except (TimeoutError, OSError) as exc:
            raise _Retry(504, f"Twelve Data did not answer in {self.settings.timeout_s:g} s ({exc})") from None
        if status >= 500:
            raise _Retry(status, f"Twelve Data answered HTTP {status}")
        try:
            document = json.loads(body)
        except ValueError:
            raise _Retry(502, f"Twelve Data sent a body that is not JSON (HTTP {status}, {len(body)} bytes)") from None
        if not isinstance(document, dict):
            raise _Retry(502, f"Twelve Data sent a JSON {type(document).__name__}, expected an object")
        if _is_error(document) and not _is_keyed_by(document, batch):
            code = _code(document, status)
            if code == 429:
                raise _Retry(429, str(document.get("message") or "out of API credits"), next_window=True)
            if code >= 500:
                raise _Retry(code, str(document.get("message") or f"error {code}"))
            # The whole request was refused (a bad key, an interval the plan lacks): every symbol says so.
            if len(batch) == 1 and _meta_symbol(document) in (None, batch[0]):
                return {batch[0]: _with_symbol(document, batch[0], self.settings.interval)}
            return {s: _with_symbol(document, s, self.settings.interval) for s in batch}
        if len(batch) == 1 and not _is_keyed_by(document, batch):
            return {batch[0]: document}
        answers: dict[str, Any] = {}
        for symbol in batch:
            entry = document.get(symbol)
            if not isinstance(entry, dict):
                answers[symbol] = _Retry(502, f"Twelve Data's answer left out {symbol}")
            elif _is_error(entry) and _code(entry, 200) == 429:
                answers[symbol] = _Retry(429, str(entry.get("message") or "out of API credits"), next_window=True)
            elif _is_error(entry) and _code(entry, 200) >= 500:
                answers[symbol] = _Retry(_code(entry, 200), str(entry.get("message") or "server error"))
            else:
                answers[symbol] = _with_symbol(entry, symbol, self.settings.interval) if _is_error(entry) else entry
        return answers

    # -- time and credits -------------------------------------------------------------------
    def _wait_for_credits(self, needed: int) -> bool:
        """Start (or stay in) a minute window with `needed` credits left; False if time ran out."""
        now = self.clock()
        if self._window_start is None or now - self._window_start >= _MINUTE_S:
            self._window_start, self._window_used = now, 0
        if self._window_used + needed > self.settings.credits_per_minute:
            if not self._wait(self._window_start + _MINUTE_S - now):
                return False
            self._window_start, self._window_used = self.clock(), 0
        if self.remaining_s() < self.settings.timeout_s + RESERVE_S:
            return False
        self._window_used += needed
        return True

    def _retry_delay(self, attempt: int, next_window: bool) -> float:
        if next_window and self._window_start is not None:
            self._window_used = self.settings.credits_per_minute  # the plan says this minute is spent
            return max(0.0, self._window_start + _MINUTE_S - self.clock())
        return _BACKOFF_S[min(attempt, len(_BACKOFF_S)) - 1]

    def _wait(self, seconds: float) -> bool:
        """Sleep `seconds` if the function has that long plus a request and the reserve; else False."""
        seconds = max(0.0, seconds)
        if self.remaining_s() < seconds + self.settings.timeout_s + RESERVE_S:
            return False
        if seconds:
            self.sleep(seconds)
            self.report.waited_s += seconds
        return True


def _is_error(document: dict[str, Any]) -> bool:
    return document.get("status") == "error" or ("code" in document and "values" not in document)


def _is_keyed_by(document: dict[str, Any], batch: list[str]) -> bool:
    return len(batch) > 1 and any(symbol in document for symbol in batch)


def _code(document: dict[str, Any], default: int) -> int:
    try:
        return int(document.get("code", default))
    except (TypeError, ValueError):
        return default


def _meta_symbol(document: dict[str, Any]) -> str | None:
    meta = document.get("meta")
    return meta.get("symbol") if isinstance(meta, dict) else None


def _with_symbol(error: dict[str, Any], symbol: str, interval: str) -> dict[str, Any]:
    """An error object that names its symbol (the whole-request ones do not)."""
    meta = error.get("meta") if isinstance(error.get("meta"), dict) else {}
    return {**error, "status": "error", "meta": {"interval": interval, **meta, "symbol": symbol}}
