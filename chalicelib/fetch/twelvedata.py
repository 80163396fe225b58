"""Twelve Data's `/time_series` for a list of symbols, inside its credit limits.

One request carries many comma-separated symbols, but each symbol costs a credit and a plan
allows so many credits a minute (the free plan: 8 a minute, 800 a day). So symbols go in batches
of at most `credits_per_minute`, one batch per minute window. A 429 (out of credits, whole
request or one symbol), a 5xx, a timeout or a body that is not JSON is retried with backoff, a
429 in the next minute window; every wait stays inside the function's remaining time. What still
fails, or what time ran out for, stays in the result as that symbol's error object, so the report
lists it. The result is the multi-symbol shape the ingestor reads: `{symbol: response or error}`.

The run has one deadline (the function's remaining time, or `run_deadline_s`), each request a
timeout inside it that covers the whole answer (`chalicelib.fetch.http`), each answer a size cap;
no redirect is followed. One symbol's answer that cannot be stored (an integer beyond 64 bits,
nesting deeper than JSON output allows) fails that symbol alone. The API key is sent in a header
only, and replaced by `[redacted]` wherever an endpoint echoes it back.

No AWS here, and no network of its own: HTTP goes through the `Transport` given (`http.client`
by default), time through the `clock`, `sleep` and `remaining_s` given.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from chalicelib.fetch.http import DEFAULT_MAX_BYTES, HttpTransport, NetworkError, ResponseTooLarge

# Seconds kept back from the function's remaining time for writing the result.
RESERVE_S = 10.0
_MINUTE_S = 60.0
_BACKOFF_S = (2.0, 5.0, 15.0, 30.0)
# Twelve Data's `/time_series` intervals.
INTERVALS = ("1min", "5min", "15min", "30min", "45min", "1h", "2h", "4h", "8h", "1day", "1week", "1month")
REDACTED = "[redacted]"
_REDACT_MIN = 8


class Transport(Protocol):
    def get(self, url: str, headers: dict[str, str], timeout_s: float, max_bytes: int) -> tuple[int, bytes]:
        """(HTTP status, body) within `timeout_s` in all; raises `NetworkError` when no answer came."""


@dataclass(frozen=True)
class FetchSettings:
    base_url: str = "https://api.twelvedata.com"
    interval: str = "1day"
    outputsize: int = 30
    credits_per_minute: int = 8
    max_attempts: int = 4
    timeout_s: float = 20.0
    max_response_bytes: int = DEFAULT_MAX_BYTES
    # The run's deadline where the caller knows none (no Lambda context): Lambda's longest timeout.
    run_deadline_s: float = 900.0


@dataclass
class FetchReport:
    """What a run did: requests sent, waits, and the symbols that ended as errors (and why)."""

    requests: int = 0
    waited_s: float = 0.0
    errors: dict[str, str] = field(default_factory=dict)
    out_of_time: bool = False


class BadApiKey(ValueError):
    """The stored API key cannot be sent (empty, or with a character no key holds)."""


def normalize_api_key(raw: str) -> str:
    """The key as sent: surrounding whitespace removed (`aws ssm put-parameter --value file://key.txt`
    stores the file's final line break too). Raises `BadApiKey`, never quoting the key, when what
    is left is empty or holds anything but printable ASCII."""
    key = raw.strip()
    if not key:
        raise BadApiKey("the Twelve Data API key is empty")
    bad = next((i for i, ch in enumerate(key) if not ("!" <= ch <= "~")), None)
    if bad is not None:
        raise BadApiKey(
            f"the Twelve Data API key holds a character no key has at position {bad + 1} of {len(key)} "
            f"(U+{ord(key[bad]):04X}): store the key alone, one line"
        )
    return key


class _Retry(Exception):
    def __init__(self, code: int | None, message: str, next_window: bool = False):
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


def error_object(symbol: str, interval: str, code: int | None, message: str) -> dict[str, Any]:
    """A per-symbol error as Twelve Data writes one, so the ingestor reports it as `symbol_error`.

    `code` is Twelve Data's or the HTTP status it came with; None where no server said anything
    (a refused connection, a timeout), rather than a status no server sent."""
    return {"code": code, "message": message, "status": "error", "meta": {"symbol": symbol, "interval": interval}}


Progress = Callable[[str], None]


class Fetcher:
    """Fetches symbols from `/time_series` for one run; `fetch` returns the multi-symbol document.

    `progress`, if given, receives one line per request, wait and retry (what, why, how long).
    """

    def __init__(
        self,
        api_key: str,
        settings: FetchSettings = FetchSettings(),
        transport: Transport | None = None,
        remaining_s: Callable[[], float] = lambda: float("inf"),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        progress: Progress | None = None,
    ):
        self._api_key = normalize_api_key(api_key)
        # The key as it would stand inside JSON text, to find it in whatever is written out.
        self._key_json = orjson.dumps(self._api_key)[1:-1]
        self.settings = settings
        self.transport = transport or HttpTransport()
        self._context_remaining_s, self.clock, self.sleep = remaining_s, clock, sleep
        self._progress = progress
        self._run_deadline = clock() + settings.run_deadline_s
        self.report = FetchReport()
        self._window_start: float | None = None
        self._window_used = 0

    def remaining_s(self) -> float:
        """The run's time left: the function's, and never past the run's own deadline."""
        return min(self._context_remaining_s(), self._run_deadline - self.clock())

    def redact(self, text: str) -> str:
        """`text` with the API key replaced (an endpoint may echo it back in an error message).

        Keys shorter than `_REDACT_MIN` (Twelve Data's are 32 characters; `demo` is public) are
        left alone: replacing every `k` of a one-letter test key would garble every message."""
        return text.replace(self._api_key, REDACTED) if len(self._api_key) >= _REDACT_MIN else text

    def _say(self, line: str) -> None:
        if self._progress is not None:
            self._progress(self.redact(line))

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
            self.report.requests += 1
            label = f"request {self.report.requests} ({_names(batch)})"
            try:
                answers = self._request(batch)
            except _Retry as retry:
                answers = {symbol: retry for symbol in batch}
            retry_later: list[str] = []
            for symbol in batch:
                answer = answers[symbol]
                if not isinstance(answer, _Retry):
                    results[symbol] = self._storable(symbol, answer)
                    continue
                attempts[symbol] += 1
                if attempts[symbol] >= self.settings.max_attempts:
                    message = f"{answer.message} (gave up after {attempts[symbol]} attempts)"
                    results[symbol] = error_object(symbol, interval, answer.code, message)
                    self.report.errors[symbol] = message
                else:
                    retry_later.append(symbol)
            self._say(f"{label}: {_outcome(batch, answers, results, attempts, self.settings.max_attempts)}")
            pending = [s for s in pending if s not in batch] + retry_later
            if retry_later:
                failed = [answers[s] for s in retry_later]
                attempt = max(attempts[s] for s in retry_later)
                next_window = any(f.next_window for f in failed)
                delay = self._retry_delay(attempt, next_window)
                why = "for the next minute's credits" if next_window else "before retrying"
                why += f", then {_names(retry_later)} again (attempt {attempt + 1} of {self.settings.max_attempts})"
                if not self._wait(delay, why):
                    break
        if pending:  # time ran out before these were fetched
            self.report.out_of_time = True
            message = (
                f"not fetched: the function's time ran out ({len(results)} of {len(symbols)} symbols fetched); "
                "fewer symbols, a higher credit limit or a longer timeout would fit"
            )
            for symbol in pending:
                results[symbol] = error_object(symbol, interval, None, message)
                self.report.errors[symbol] = message
        return {symbol: results[symbol] for symbol in symbols}

    def _storable(self, symbol: str, entry: Any) -> Any:
        """`entry` as it can be written (the key, should the endpoint echo it, redacted); an error
        object for this symbol alone where it cannot be written as JSON (an integer beyond 64 bits,
        nesting deeper than 255 levels)."""
        try:
            text = orjson.dumps(entry)
        except orjson.JSONEncodeError as exc:
            message = f"Twelve Data's answer for {symbol} cannot be stored: {exc}"
            self.report.errors[symbol] = message
            self._say(f"{symbol}: {message}")
            return error_object(symbol, self.settings.interval, None, message)
        if len(self._api_key) >= _REDACT_MIN and self._key_json in text:
            return orjson.loads(text.replace(self._key_json, REDACTED.encode()))
        return entry

    # -- one request -------------------------------------------------------------------------
    def _request(self, batch: list[str]) -> dict[str, Any]:
        """{symbol: response, error object, or _Retry} for one request of `batch`."""
        headers = {"Authorization": f"apikey {self._api_key}", "Accept": "application/json"}
        timeout_s = max(0.001, min(self.settings.timeout_s, self.remaining_s() - RESERVE_S))
        try:
            status, body = self.transport.get(self.url(batch), headers, timeout_s, self.settings.max_response_bytes)
        except ResponseTooLarge as exc:  # the same answer again would be as large: not retried
            message = f"Twelve Data's answer was not read: {exc}; ask for fewer symbols a request or fewer bars"
            return {s: error_object(s, self.settings.interval, None, message) for s in batch}
        except NetworkError as exc:
            raise _Retry(None, f"Twelve Data could not be reached: {self.redact(str(exc))}") from None
        if 300 <= status < 400:  # followed nowhere: the key goes to the address configured only
            message = (
                f"Twelve Data answered HTTP {status}, a redirect: not followed, so the API key goes to no "
                "other address; check TWELVEDATA_BASE_URL"
            )
            return {s: error_object(s, self.settings.interval, status, message) for s in batch}
        if status >= 500:
            raise _Retry(status, f"Twelve Data answered HTTP {status}")
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise _Retry(
                status, f"Twelve Data sent a body that is not JSON (HTTP {status}, {len(body)} bytes)"
            ) from None
        if not isinstance(document, dict):
            raise _Retry(status, f"Twelve Data sent a JSON {type(document).__name__}, expected an object")
        if _is_error(document) and not _is_keyed_by(document, batch):
            code = _code(document, status)
            if code == 429:
                raise _Retry(429, self._message(document, "out of API credits"), next_window=True)
            if code >= 500:
                raise _Retry(code, self._message(document, f"error {code}"))
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
                answers[symbol] = _Retry(None, f"Twelve Data's answer left out {symbol}")
            elif _is_error(entry) and _code(entry, 200) == 429:
                answers[symbol] = _Retry(429, self._message(entry, "out of API credits"), next_window=True)
            elif _is_error(entry) and _code(entry, 200) >= 500:
                answers[symbol] = _Retry(_code(entry, 200), self._message(entry, "server error"))
            else:
                answers[symbol] = _with_symbol(entry, symbol, self.settings.interval) if _is_error(entry) else entry
        return answers

    def _message(self, document: dict[str, Any], default: str) -> str:
        return self.redact(str(document.get("message") or default))

    # -- time and credits -------------------------------------------------------------------
    def _wait_for_credits(self, needed: int) -> bool:
        """Start (or stay in) a minute window with `needed` credits left; False if time ran out."""
        now = self.clock()
        if self._window_start is None or now - self._window_start >= _MINUTE_S:
            self._window_start, self._window_used = now, 0
        if self._window_used + needed > self.settings.credits_per_minute:
            why = f"for the next minute's credits ({self.settings.credits_per_minute} a minute)"
            if not self._wait(self._window_start + _MINUTE_S - now, why):
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

    def _wait(self, seconds: float, why: str) -> bool:
        """Sleep `seconds` if the function has that long plus a request and the reserve; else False."""
        seconds = max(0.0, seconds)
        if self.remaining_s() < seconds + self.settings.timeout_s + RESERVE_S:
            self._say(f"no time left to wait {seconds:.0f} s {why}: stopping")
            return False
        if seconds:
            self._say(f"waiting {seconds:.0f} s {why}")
            self.sleep(seconds)
            self.report.waited_s += seconds
        return True


def _names(symbols: list[str], shown: int = 4) -> str:
    head = ", ".join(symbols[:shown])
    return head if len(symbols) <= shown else f"{head} and {len(symbols) - shown} more"


def _outcome(batch: list[str], answers: dict, results: dict, attempts: dict, max_attempts: int) -> str:
    """What one request gave: `2 series, 1 error` / `connection refused (…): will retry`."""
    retries = [answers[s] for s in batch if isinstance(answers[s], _Retry)]
    got = [results[s] for s in batch if s in results and not isinstance(answers[s], _Retry)]
    series = sum(1 for entry in got if isinstance(entry, dict) and entry.get("status") != "error")
    parts = []
    if got:
        parts.append(f"{series} series" + (f", {len(got) - series} error(s)" if len(got) > series else ""))
    if retries:
        reasons = sorted({r.message for r in retries})
        gave_up = [s for s in batch if isinstance(answers[s], _Retry) and attempts[s] >= max_attempts]
        parts.append("; ".join(reasons) + (f" (gave up on {_names(gave_up)})" if gave_up else ""))
    return "; ".join(parts) or "no answer"


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
