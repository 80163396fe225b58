"""The analyze edge: an IngestorCompleted event in; an analysis record in DynamoDB and S3 out."""

from __future__ import annotations

import gc
from typing import Any

from chalicelib import aws
from chalicelib.analysis_store import AnalysisStore, record_key
from chalicelib.analyze.aggregates import market_aggregates
from chalicelib.analyze.bars import load_processed
from chalicelib.analyze.insights import InsightProvider, OfflineInsights
from chalicelib.analyze.metrics import compute_metrics, empty_metrics, recent_datetimes
from chalicelib.analyze.record import AnalysisRecord, analysis_id_for, build_record, object_key, symbol_error_entry
from chalicelib.config import Settings, get_settings
from chalicelib.observability import MetricUnit, count, logger
from chalicelib.readings import archive_items, movers
from chalicelib.storage import ObjectStore


def handle_ingestor_completed(event: dict, context: Any = None) -> dict:
    """Analyse the processed file an `IngestorCompleted` event names, once per input."""
    settings = get_settings()
    detail = event.get("detail")
    problem = _malformed(detail)
    if problem:
        # No retry can repair the event: log it once and return, so it does not go three times
        # round and into the DLQ.
        logger.error(
            f"malformed IngestorCompleted event ignored: {problem}",
            extra={"event_id": event.get("id"), "detail": _preview(detail)},
        )
        count("MalformedEvents")
        return {"status": "malformed", "error": problem}
    logger.set_correlation_id(detail.get("correlation_id"))
    analysis_id = analysis_id_for(detail["bucket"], object_key(detail), detail["etag"])
    logger.append_keys(analysis_id=analysis_id, input_key=detail["input_key"])
    objects = ObjectStore(aws.client("s3"), detail["bucket"])
    store = AnalysisStore(aws.client("dynamodb"), settings.table_name, objects, settings.analysis_item_max_kb * 1024)
    if store.exists(analysis_id):
        logger.info("analysis already stored; replayed event ignored")
        count("DuplicateAnalyses")
        return {"analysis_id": analysis_id, "status": "duplicate", "record_key": record_key(analysis_id)}

    body = objects.get(detail["processed_key"]).body
    rejected_symbols, symbol_errors = _read_rejects(objects, detail)
    bar_times: dict[str, list[str]] = {}
    record = analyze(
        body, detail, settings, _provider(settings, context), rejected_symbols, symbol_errors, bar_times=bar_times
    )
    stored = store.save(record, archive_items(record, bar_times), movers(record))
    del bar_times
    if not stored:
        logger.info("analysis stored concurrently by another delivery")
        count("DuplicateAnalyses")
        return {"analysis_id": analysis_id, "status": "duplicate", "record_key": record_key(analysis_id)}
    insights = record["insights"]
    count("AnalysesStored")
    count("SymbolsAnalyzed", len(record["symbols"]))
    count("AnomaliesFound", record["aggregates"]["total_anomalies"])
    count("InsightInputTokens", insights["input_tokens"])
    count("InsightOutputTokens", insights["output_tokens"])
    count("InsightCostUSD", insights["cost_usd"], MetricUnit.NoUnit)
    logger.info(
        "analysis stored",
        extra={
            "symbols": len(record["symbols"]),
            "sentiment": record["aggregates"]["sentiment"],
            "insights": insights["source"],
        },
    )
    return {
        "analysis_id": analysis_id,
        "status": "stored",
        "record_key": record_key(analysis_id),
        "symbols": len(record["symbols"]),
    }


REQUIRED_DETAIL = ("bucket", "input_key", "etag", "processed_key")


def _malformed(detail: Any) -> str | None:
    """What makes an event's `detail` unusable (a reason to log), or None."""
    if not isinstance(detail, dict):
        return f"detail is {type(detail).__name__}, not an object"
    missing = [name for name in REQUIRED_DETAIL if not isinstance(detail.get(name), str) or not detail[name]]
    if missing:
        return "detail is missing or has a non-string/empty " + ", ".join(missing)
    if detail.get("counts") is not None and not isinstance(detail["counts"], dict):
        return "detail.counts is not an object"
    return None


def _preview(detail: Any) -> str:
    return repr(detail)[:500] if not isinstance(detail, (dict, list)) else f"{type(detail).__name__} of {len(detail)}"


def analyze(
    processed: bytes,
    detail: dict,
    settings: Settings,
    provider: InsightProvider,
    symbols_without_bars: tuple[str, ...] = (),
    symbol_errors: tuple[dict, ...] = (),
    bar_times: dict[str, list[str]] | None = None,
) -> AnalysisRecord:
    """The analyze core: processed JSON Lines to the full analysis record.

    `symbol_errors` are the file's per-symbol errors (`symbol_error_entry` of each reject line).
    `bar_times`, when given, receives each series' datetimes of its `recent_closes` (for the
    archive's per-symbol readings, chalicelib.readings).
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small acyclic objects while parsing; the cyclic GC only re-walks them
    try:
        bars = load_processed(processed)
        metrics = compute_metrics(bars, settings.metric_settings())
        with_bars = set(bars.series_symbols())  # a symbol at two intervals is keyed SYMBOL@INTERVAL
        if bar_times is not None:
            bar_times.update(recent_datetimes(bars))
        del bars
    finally:
        if gc_was_enabled:
            gc.enable()
    for symbol in symbols_without_bars:
        if symbol not in with_bars:
            metrics.setdefault(symbol, empty_metrics())
    windows = settings.metric_settings()
    aggregates = market_aggregates(metrics, turbulence_min_bars=windows.window + 1)
    return build_record(
        detail, metrics, aggregates, provider.generate(metrics, aggregates), windows, list(symbol_errors)
    )


def _read_rejects(objects: ObjectStore, detail: dict) -> tuple[tuple[str, ...], tuple[dict, ...]]:
    """From the rejects file: the symbols that appear only there (reported with null metrics),
    and each per-symbol error (symbol, code, message) for the record and the report.

    Not the symbols of `bad_symbol` rejects: ingest refused the name itself (it may be empty,
    huge or deceptive).
    """
    counts = detail.get("counts") or {}
    if not (counts.get("rejected") or counts.get("symbol_errors")) or not detail.get("rejects_key"):
        return (), ()
    import orjson

    rejected, errors = set(), []
    for line in objects.get(detail["rejects_key"]).body.splitlines():
        reject = orjson.loads(line)
        if reject.get("rule") == "symbol_error":
            errors.append(symbol_error_entry(reject))
        elif reject.get("rule") != "bad_symbol" and reject.get("symbol"):
            rejected.add(str(reject["symbol"]))
    return tuple(sorted(rejected)), tuple(errors)


def _provider(settings: Settings, context: Any = None) -> InsightProvider:
    """`offline` (the default) or `bedrock`; Bedrock code and boto3 are imported only when used."""
    if settings.insights_provider == "bedrock":
        from chalicelib.analyze.bedrock import BedrockInsights, BedrockUnavailable
        from chalicelib.analyze.cost import Prices, prices_for

        prices = Prices(settings.bedrock_price_input_per_1k, settings.bedrock_price_output_per_1k)
        listed = prices_for(settings.bedrock_model_id)
        if listed is not None and listed != prices:
            logger.warning(
                "BEDROCK_PRICE_* differ from the list price of BEDROCK_MODEL_ID; cost_usd uses the settings",
                extra={"model": settings.bedrock_model_id},
            )
        try:
            client = aws.bedrock_runtime()
        except Exception as exc:  # e.g. no region: the report still goes out, written offline
            logger.exception("no bedrock-runtime client; insights written offline")
            return BedrockUnavailable(
                settings.bedrock_model_id,
                f"{type(exc).__name__}: {exc}"[:200],
                OfflineInsights(settings.metric_settings()),
            )
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        return BedrockInsights(
            client,
            settings.bedrock_model_id,
            prices,
            max_attempts=settings.bedrock_max_attempts,
            batch_size=settings.bedrock_batch_size,
            max_concurrency=settings.bedrock_max_concurrency,
            remaining_ms=remaining if callable(remaining) else None,
            # Room for a call that runs to its read timeout, then for storing the analysis.
            safety_margin_ms=(settings.bedrock_read_timeout_s + 15) * 1000,
            offline=OfflineInsights(settings.metric_settings()),
        )
    if settings.insights_provider != "offline":
        logger.warning("unknown INSIGHTS_PROVIDER; using offline", extra={"provider": settings.insights_provider})
    return OfflineInsights(settings.metric_settings())
