"""Insights from Amazon Nova Lite through the Bedrock Converse API, the offline writer as fallback.

One analysis makes one executive-summary call (aggregates and per-symbol highlights) and one call
per batch of symbols (`prompts.plan_batches`), at most `max_concurrency` in flight. Each call
forces a tool whose input is validated; a call is tried up to `max_attempts` times, with
exponential backoff and full jitter, on throttling, timeouts, 5xx, `ModelErrorException` and
invalid output. No attempt starts, and no backoff sleep begins, unless the Lambda's remaining
time (`remaining_ms`) still exceeds that sleep plus `safety_margin_ms` (which should cover the
client's read timeout and the work left after the insights). An access, model-id or validation
error (`AccessDeniedException`, `ResourceNotFoundException`, `ValidationException`, missing
credentials) is not retried and stops every call still to come.

What the model did not write, `OfflineInsights` writes. The result says how it went:

`Insights.source`
  - `bedrock`: the model wrote the executive summary and every symbol's texts. (A symbol without
    a single valid bar is always written offline: there is nothing to ask about it.)
  - `mixed`: the model wrote some of them; the offline writer the rest.
  - `offline`: the model wrote none of them.
`Insights.notes`, one line per reason something was written offline, starting with the reason:
  - `retries_exhausted`: a call failed `max_attempts` times (last error named);
  - `deadline`: a call stopped retrying, or never started, for lack of Lambda time;
  - `model_unavailable`: no access to the model, unknown model id, or missing credentials;
  - `error`: an error that retrying cannot fix (logged with its traceback);
  - `not_asked`: symbols that do not look like tickers, beyond the `prompts.MAX_ODD_SYMBOLS` that
    get a call of their own (see `prompts.plan_batches`).
`Insights.model` is the model id asked; tokens and cost count every reply received, valid or not,
because Bedrock bills them all.

Metrics (EMF, only when non-zero): `BedrockRetryExceeded` (calls that exhausted their attempts),
`BedrockDeadlineExceeded`, `BedrockUnavailable`, `BedrockCallErrors` (calls, by reason),
`BedrockFallbackSymbols` (symbols written offline because a call failed or was not made),
`BedrockInvalidOutputs` (replies rejected by validation), `InsightsOffline` (1 per report that a failed
call left wholly or partly offline; the alarm's metric). Token and cost metrics come from the
analyze service.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from chalicelib.analyze import prompts, replies
from chalicelib.analyze.cost import DEFAULT_MODEL_ID, NOVA_LITE, Prices, cost_usd
from chalicelib.analyze.insights import Insights, OfflineInsights, plural
from chalicelib.observability import count, logger

# Worth another attempt: the service or the model may do better a moment later.
_RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceQuotaExceededException",
        "ModelTimeoutException",
        "ModelErrorException",
        "ModelNotReadyException",
        "InternalServerException",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
# Not worth any attempt, this call or the next: access, model id or request validity.
_UNAVAILABLE_CODES = frozenset(
    {
        "AccessDeniedException",
        "ResourceNotFoundException",
        "ValidationException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
    }
)
_TRANSIENT_ERRORS = (ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError, ConnectionClosedError)
_NO_CREDENTIALS = (NoCredentialsError, PartialCredentialsError, NoRegionError)

RETRIES_EXHAUSTED = "retries_exhausted"
DEADLINE = "deadline"
MODEL_UNAVAILABLE = "model_unavailable"
ERROR = "error"
NOT_ASKED = "not_asked"
# One per report whose insights were (partly) written offline because Bedrock failed.
INSIGHTS_OFFLINE = "InsightsOffline"
_REASON_METRICS = {
    RETRIES_EXHAUSTED: "BedrockRetryExceeded",
    DEADLINE: "BedrockDeadlineExceeded",
    MODEL_UNAVAILABLE: "BedrockUnavailable",
    ERROR: "BedrockCallErrors",
}


@dataclass
class _Call:
    """One Converse call to make: what it is for, how to build it, how to read its reply."""

    name: str
    symbols: list[str]  # empty for the executive summary
    build: Callable[[str | None], dict]  # retry note -> Converse parameters
    parse: Callable[[dict], Any]  # reply -> validated value, or InvalidOutput


@dataclass
class _Outcome:
    value: Any = None
    reason: str | None = None  # None when the model's value was accepted
    error: str = ""
    attempts: int = 0
    invalid_outputs: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass
class _Run:
    """State shared by the calls of one `generate`: once the model is unavailable, it stays so."""

    unavailable: str | None = None


class BedrockInsights:
    """`InsightProvider` backed by a bedrock-runtime client (`converse`)."""

    def __init__(
        self,
        client: Any,
        model_id: str = DEFAULT_MODEL_ID,
        prices: Prices = NOVA_LITE,
        max_attempts: int = 5,
        batch_size: int = 10,
        max_concurrency: int = 10,
        remaining_ms: Callable[[], int] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        safety_margin_ms: int = 15_000,
        backoff_base_s: float = 1.0,
        backoff_cap_s: float = 20.0,
        offline: OfflineInsights | None = None,
    ):
        if max_attempts < 1 or batch_size < 1 or max_concurrency < 1:
            raise ValueError("max_attempts, batch_size and max_concurrency must be at least 1")
        self.client = client
        self.model_id = model_id
        self.prices = prices
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.remaining_ms = remaining_ms
        self.safety_margin_ms = safety_margin_ms
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self._sleep = sleep
        self._rand = rand
        self._offline = offline or OfflineInsights()

    def generate(self, symbols: dict[str, dict], aggregates: dict[str, Any]) -> Insights:
        """Ask the model for everything it can write; the offline writer fills in the rest."""
        offline = self._offline.generate(symbols, aggregates)
        batches = prompts.plan_batches(symbols, self.batch_size)
        if not batches:
            offline.notes.append("no symbol has a valid bar: nothing to ask the model")
            return offline
        asked = {symbol for batch in batches for symbol in batch}
        not_asked = sum(1 for symbol, m in symbols.items() if m.get("bars") and symbol not in asked)
        calls = [self._summary_call(symbols, aggregates)]
        calls += [self._batch_call(f"batch {i + 1}", batch, symbols) for i, batch in enumerate(batches)]
        run = _Run()
        workers = min(self.max_concurrency, len(calls))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bedrock") as pool:
            outcomes = list(pool.map(lambda call: self._attempt(call, run), calls))
        return self._merge(calls, outcomes, offline, not_asked)

    # -- calls -------------------------------------------------------------------------------------

    def _summary_call(self, symbols: dict[str, dict], aggregates: dict[str, Any]) -> _Call:
        def parse(response: dict) -> str:
            return replies.validate_summary(replies.tool_input(response, prompts.SUMMARY_TOOL))

        return _Call(
            name="executive summary",
            symbols=[],
            build=lambda note: prompts.summary_request(
                self.model_id, symbols, aggregates, note, self._offline.settings
            ),
            parse=parse,
        )

    def _batch_call(self, name: str, batch: list[str], symbols: dict[str, dict]) -> _Call:
        def parse(response: dict) -> dict[str, dict[str, str]]:
            return replies.validate_symbol_insights(replies.tool_input(response, prompts.SYMBOL_TOOL), batch)

        return _Call(
            name=name,
            symbols=batch,
            build=lambda note: prompts.symbol_request(
                self.model_id, {s: symbols[s] for s in batch}, note, self._offline.settings
            ),
            parse=parse,
        )

    def _has_time(self, wait_ms: float) -> bool:
        """Whether waiting `wait_ms` and then making a call still leaves the safety margin."""
        return self.remaining_ms is None or self.remaining_ms() - wait_ms > self.safety_margin_ms

    def _backoff_s(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1)))."""
        return self._rand() * min(self.backoff_cap_s, self.backoff_base_s * 2 ** (attempt - 1))

    def _attempt(self, call: _Call, run: _Run) -> _Outcome:
        """Make `call` until its reply validates, attempts run out, time runs out or it cannot work."""
        outcome = _Outcome()
        try:
            self._attempt_until_done(call, run, outcome)
        except Exception as exc:  # a bug here must not cost the report: log it, write offline
            logger.exception("bedrock call failed unexpectedly", extra={"call": call.name})
            outcome.value, outcome.reason, outcome.error = None, ERROR, type(exc).__name__
        if outcome.reason:
            logger.warning(
                "bedrock call written offline",
                extra={
                    "call": call.name,
                    "symbols": len(call.symbols),
                    "reason": outcome.reason,
                    "error": outcome.error,
                    "attempts": outcome.attempts,
                },
            )
        return outcome

    def _attempt_until_done(self, call: _Call, run: _Run, outcome: _Outcome) -> None:
        note = None
        while True:
            if run.unavailable:
                outcome.reason, outcome.error = MODEL_UNAVAILABLE, run.unavailable
                return
            if not self._has_time(0):
                outcome.reason, outcome.error = DEADLINE, outcome.error or "no time left for a call"
                return
            outcome.attempts += 1
            try:
                response = self.client.converse(**call.build(note))
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "") or "ClientError"
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
                message = str(exc.response.get("Error", {}).get("Message", ""))[:200]
                if code in _UNAVAILABLE_CODES:
                    run.unavailable = f"{code}: {message}" if message else code
                    outcome.reason, outcome.error = MODEL_UNAVAILABLE, run.unavailable
                    return
                if code not in _RETRYABLE_CODES and status != 429 and status < 500:
                    outcome.reason, outcome.error = ERROR, f"{code}: {message}" if message else code
                    return
                outcome.error = code
            except _TRANSIENT_ERRORS as exc:
                outcome.error = type(exc).__name__
            except _NO_CREDENTIALS as exc:
                run.unavailable = f"{type(exc).__name__}: {exc}"[:200]
                outcome.reason, outcome.error = MODEL_UNAVAILABLE, run.unavailable
                return
            else:
                usage = response.get("usage") or {}
                outcome.input_tokens += int(usage.get("inputTokens") or 0)
                outcome.output_tokens += int(usage.get("outputTokens") or 0)
                try:
                    outcome.value = call.parse(response)
                    return
                except replies.InvalidOutput as exc:
                    outcome.invalid_outputs += 1
                    outcome.error = f"invalid output: {exc}"
                    note = prompts.retry_note(str(exc))
            if outcome.attempts >= self.max_attempts:
                outcome.reason = RETRIES_EXHAUSTED
                return
            delay = self._backoff_s(outcome.attempts)
            if not self._has_time(delay * 1000):
                outcome.reason = DEADLINE
                return
            self._sleep(delay)

    # -- result ------------------------------------------------------------------------------------

    def _merge(self, calls: list[_Call], outcomes: list[_Outcome], offline: Insights, not_asked: int) -> Insights:
        per_symbol = dict(offline.per_symbol)
        summary = outcomes[0]
        written, asked = (1 if summary.reason is None else 0), 1 + not_asked
        failed: dict[str, dict[str, Any]] = {}
        fallback_symbols = not_asked
        for call, outcome in zip(calls, outcomes, strict=True):
            asked += len(call.symbols)
            if outcome.reason is None:
                if call.symbols:
                    per_symbol.update(outcome.value)
                    written += len(call.symbols)
                continue
            fallback_symbols += len(call.symbols)
            entry = failed.setdefault(outcome.reason, {"calls": 0, "symbols": 0, "summary": False, "error": ""})
            entry["calls"] += 1
            entry["symbols"] += len(call.symbols)
            entry["summary"] = entry["summary"] or not call.symbols
            entry["error"] = outcome.error
        input_tokens = sum(o.input_tokens for o in outcomes)
        output_tokens = sum(o.output_tokens for o in outcomes)
        source = "bedrock" if written == asked else "offline" if written == 0 else "mixed"
        insights = Insights(
            executive_summary=summary.value if summary.reason is None else offline.executive_summary,
            per_symbol=per_symbol,
            source=source,
            model=self.model_id,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=cost_usd(input_tokens, output_tokens, self.prices),
            notes=[_note(reason, entry) for reason, entry in failed.items()],
        )
        if not_asked:
            insights.notes.append(
                f"{NOT_ASKED}: {plural(not_asked, 'symbol')} that do not look like tickers written offline "
                f"(only {prompts.MAX_ODD_SYMBOLS} get a call of their own)"
            )
        for reason, entry in failed.items():
            count(_REASON_METRICS[reason], entry["calls"])
        if failed:
            count(INSIGHTS_OFFLINE)  # one per report, whatever the reasons: the alarm's metric
        if fallback_symbols:
            count("BedrockFallbackSymbols", fallback_symbols)
        invalid = sum(o.invalid_outputs for o in outcomes)
        if invalid:
            count("BedrockInvalidOutputs", invalid)
        logger.info(
            "bedrock insights",
            extra={
                "model": self.model_id,
                "source": source,
                "calls": len(calls),
                "attempts": sum(o.attempts for o in outcomes),
                "fallback_symbols": fallback_symbols,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cost_usd": insights.cost_usd,
            },
        )
        return insights


def _note(reason: str, entry: dict[str, Any]) -> str:
    """`retries_exhausted: 10 symbols and the executive summary written offline (2 calls; last error: …)`."""
    what = [plural(entry["symbols"], "symbol")] if entry["symbols"] else []
    if entry["summary"]:
        what.append("the executive summary")
    return (
        f"{reason}: {' and '.join(what)} written offline "
        f"({plural(entry['calls'], 'call')}; last error: {entry['error'] or 'none'})"
    )


class BedrockUnavailable:
    """The provider when no bedrock-runtime client could even be built: offline, with the reason."""

    def __init__(self, model_id: str, reason: str, offline: OfflineInsights | None = None):
        self.model_id = model_id
        self.reason = reason
        self._offline = offline or OfflineInsights()

    def generate(self, symbols: dict[str, dict], aggregates: dict[str, Any]) -> Insights:
        insights = self._offline.generate(symbols, aggregates)
        insights.model = self.model_id
        insights.notes.append(f"{MODEL_UNAVAILABLE}: everything written offline (last error: {self.reason})")
        count(_REASON_METRICS[MODEL_UNAVAILABLE])
        count(INSIGHTS_OFFLINE)
        return insights
