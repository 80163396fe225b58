"""The monthly AWS bill of a deployment, line by line: pure arithmetic, no AWS and no sandbox.

`monthly_bill(workload, measured, deployment)` multiplies what one pipeline run and one archive
page view were measured to use (`Measured`, from `sandbox.measure`) by the workload's counts, and
prices every line with `sandbox.prices`. `deployment` says what a deployment has regardless of use
(functions with their configured memory, alarms, the key). Each line says where its quantity came
from: `measured` (a sandbox run of this workload), `assumed` (stated in `note`) or `deployed`
(a count of what the deploy paths create).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from infra.resources import DEFAULTS
from sandbox.prices import PRICES, Price

GB = 1024**3
CPU_MB = 1769  # Lambda memory that comes with one full vCPU
MODES = ("offline", "bedrock")
# Lambda writes START, END and REPORT lines for every invocation (about 110 + 60 + 250 bytes with
# X-Ray on): assumed, the sandbox has no Lambda service to write them.
PLATFORM_LOG_BYTES = 420
# Bedrock latency per call (assumed: Nova Lite answers a batch of 10 symbols in a few seconds);
# analyze makes its batch calls concurrently, then the summary call: `bedrock_rounds` waits.
BEDROCK_SECONDS_PER_CALL = 4.0
# KMS requests made with the app's key per run (assumed): each function's environment is
# encrypted with it and decrypted when a cold instance starts (ingest, analyze, notify: most runs
# start cold at a few runs a day), and DynamoDB asks for a table data key when it has none cached.
KMS_REQUESTS_PER_RUN = 8
# The scheduled fetch (only when deployed with symbols), assumed: it runs each weekday, asks for
# FETCH_CREDITS_PER_MINUTE symbols a request, waits a minute between requests, ~1 s a request.
FETCH_CREDITS_PER_MINUTE = 8
FETCH_SECONDS_PER_REQUEST = 1.0


@dataclass(frozen=True)
class Workload:
    """What the deployment is asked to do. A run is one uploaded (or fetched) file."""

    symbols: int = 50
    bars_per_symbol: int = 30
    runs_per_day: int = 5
    recipients: int = 3
    page_views_per_day: int = 20
    retention_days: int = 30  # the functions' log retention (the log_retention_days setting)
    months: int = 12  # how long the deployment has run: what the bucket and table hold by then
    days_per_month: int = 30

    @property
    def runs(self) -> int:
        return self.runs_per_day * self.days_per_month

    @property
    def page_views(self) -> int:
        return self.page_views_per_day * self.days_per_month


@dataclass(frozen=True)
class FunctionUse:
    """One function's invocations and their total duration, for one run (or one page view)."""

    invocations: int
    seconds: float  # summed over the invocations, each rounded up to the millisecond


@dataclass(frozen=True)
class Measured:
    """What one run of the workload's file used, and one archive page view, in the sandbox."""

    file_bytes: int
    functions: dict[str, FunctionUse]  # per run
    s3_writes: int
    s3_reads: int
    s3_bytes: dict[str, int]  # bytes written per run, by top-level prefix (inputs, processed, ...)
    ddb_write_units: float
    ddb_read_units: float
    ddb_item_bytes: int  # bytes the table (and its index) keeps per run
    events: int  # custom events put on the bus per run
    emails: int  # messages sent per run (each goes to every recipient)
    email_attachment_bytes: int  # non-text MIME parts per message
    log_bytes: int  # what the handlers printed per run (JSON logs and EMF)
    metrics: list[str]  # distinct custom metrics (name and dimensions) a run emits
    page_view: FunctionUse  # the archive's handler for one page
    page_view_ddb_read_units: float
    page_view_s3_reads: int
    page_view_log_bytes: int
    tokens_in: int  # Bedrock, per run (measured on the real prompts)
    tokens_out: int  # Bedrock, per run (assumed from the asked lengths)
    bedrock_calls: int
    bedrock_rounds: int  # calls one after the other (batches run BEDROCK_MAX_CONCURRENCY at once)


@dataclass(frozen=True)
class Deployment:
    """What the deploy paths create, whatever the use."""

    memory_mb: dict[str, int]  # function -> configured memory
    alarms: int
    kms_keys: int = 1
    budgets: int = 0
    api_handler: str = "api_handler"


@dataclass(frozen=True)
class Line:
    service: str
    item: str
    quantity: float
    unit: str
    usd: dict[str, float]  # by insights mode
    free_usd: dict[str, float]  # the same after the always-free tier
    basis: str  # measured | assumed | deployed
    note: str = ""


@dataclass
class Bill:
    workload: Workload
    lines: list[Line] = field(default_factory=list)

    def total(self, mode: str, free_tier: bool = False) -> float:
        return sum((line.free_usd if free_tier else line.usd)[mode] for line in self.lines)


def _line(service: str, item: str, price_key: str, quantities: dict[str, float], basis: str, note: str = "") -> Line:
    price: Price = PRICES[price_key]
    return Line(
        service,
        item,
        quantities["offline"] or max(quantities.values()),
        price.unit,
        {mode: price.cost(q) for mode, q in quantities.items()},
        {mode: price.cost(q, free_tier=True) for mode, q in quantities.items()},
        basis,
        note,
    )


def _same(quantity: float) -> dict[str, float]:
    return dict.fromkeys(MODES, quantity)


def slowdown(memory_mb: int) -> float:
    """How much longer CPU work takes at `memory_mb` than on one full vCPU (1,769 MB, AWS Lambda
    Developer Guide, "Configure Lambda function memory", read 2026-12-05): CPU is allotted in
    proportion to memory, and the functions' work is single-threaded."""
    return max(1.0, CPU_MB / memory_mb)


def lambda_seconds(measured: Measured, function: str, mode: str, memory_mb: int = CPU_MB) -> float:
    """Seconds of `function` per run in `mode` at `memory_mb`: the sandbox measured on one core, so
    its time is scaled to the memory's CPU share; analyze waits for Bedrock in the bedrock mode."""
    use = measured.functions.get(function)
    seconds = use.seconds * slowdown(memory_mb) if use else 0.0
    if function == "analyze" and mode == "bedrock":
        seconds += BEDROCK_SECONDS_PER_CALL * measured.bedrock_rounds
    return seconds


def stored_gb(gb_per_day: float, age_days: int, keep_days: int | None) -> float:
    """GB held after `age_days` of writing `gb_per_day`, each kept `keep_days` (None: forever)."""
    return gb_per_day * (age_days if keep_days is None else min(age_days, keep_days))


def monthly_bill(
    workload: Workload,
    measured: Measured,
    deployment: Deployment,
) -> Bill:
    """Every line of a month's bill at `workload`, for the offline and the bedrock insights modes."""
    # The bucket's lifecycle rules (infra.resources): rejects and markers expire, processed/ moves
    # to Standard-IA; inputs/ and analyses/ are kept.
    lifecycle = {
        "rejects": DEFAULTS["reject_expiration_days"],
        "hashes": DEFAULTS["hash_marker_expiration_days"],
        "processed_ia_days": DEFAULTS["processed_ia_transition_days"],
    }
    w, m, runs, views = workload, measured, workload.runs, workload.page_views
    bill = Bill(workload)
    add = bill.lines.append

    # Lambda: each function at its configured memory.
    invocations = 0
    for function, memory in sorted(deployment.memory_mb.items()):
        use = m.functions.get(function)
        count = (use.invocations if use else 0) * runs
        per_mode = {mode: lambda_seconds(m, function, mode, memory) * runs for mode in MODES}
        if function == deployment.api_handler:
            count += m.page_view.invocations * views
            per_mode = {mode: s + m.page_view.seconds * slowdown(memory) * views for mode, s in per_mode.items()}
        if count == 0:
            continue
        invocations += count
        gb_seconds = {mode: s * memory / 1024 for mode, s in per_mode.items()}
        note = f"{count:,} invocations, {per_mode['offline'] / count:.3f} s each at {memory:,} MB"
        add(_line("Lambda", f"{function} duration", "lambda_gb_second", gb_seconds, "measured", note))
    if "fetch" in deployment.memory_mb:
        requests = math.ceil(w.symbols / FETCH_CREDITS_PER_MINUTE)
        seconds = (requests - 1) * 60 + requests * FETCH_SECONDS_PER_REQUEST
        count = round(w.days_per_month * 5 / 7)
        invocations += count
        gb_seconds = _same(count * seconds * deployment.memory_mb["fetch"] / 1024)
        note = f"{count} weekdays, {requests} requests a minute apart: {seconds:.0f} s each"
        add(_line("Lambda", "fetch duration", "lambda_gb_second", gb_seconds, "assumed", note))
    add(_line("Lambda", "requests", "lambda_request", _same(invocations), "measured"))

    # S3: storage after `months` of running, and requests.
    age = w.months * w.days_per_month
    per_day = {prefix: size * w.runs_per_day / GB for prefix, size in m.s3_bytes.items()}
    processed = per_day.get("processed", 0.0)
    ia_days = lifecycle["processed_ia_days"]
    standard = (
        stored_gb(per_day.get("inputs", 0.0), age, None)
        + stored_gb(per_day.get("analyses", 0.0), age, None)
        + stored_gb(per_day.get("rejects", 0.0), age, lifecycle["rejects"])
        + stored_gb(per_day.get("hashes", 0.0), age, lifecycle["hashes"])
        + stored_gb(processed, age, ia_days)
    )
    # Standard-IA bills an object under 128 KB as 128 KB.
    per_object = m.s3_bytes.get("processed", 0)
    ia_factor = max(1.0, 128 * 1024 / per_object) if per_object else 1.0
    infrequent = processed * max(0, age - ia_days) * ia_factor
    note = f"after {w.months} months; inputs, processed and analyses are kept"
    add(_line("S3", "Standard storage", "s3_standard_gb_month", _same(standard), "measured", note))
    add(_line("S3", "Standard-IA storage (processed/)", "s3_ia_gb_month", _same(infrequent), "measured", note))
    add(_line("S3", "PUT, COPY, LIST requests", "s3_write_request", _same(m.s3_writes * runs), "measured"))
    reads = m.s3_reads * runs + m.page_view_s3_reads * views
    add(_line("S3", "GET, HEAD requests", "s3_read_request", _same(reads), "measured"))

    # DynamoDB on demand.
    writes = m.ddb_write_units * runs
    add(_line("DynamoDB", "write request units", "ddb_write_request_unit", _same(writes), "measured"))
    reads = m.ddb_read_units * runs + m.page_view_ddb_read_units * views
    add(_line("DynamoDB", "read request units", "ddb_read_request_unit", _same(reads), "measured"))
    table_gb = m.ddb_item_bytes * runs * w.months / GB
    note = f"after {w.months} months; analyses and email markers are kept"
    add(_line("DynamoDB", "storage (table and index)", "ddb_storage_gb_month", _same(table_gb), "measured", note))
    add(_line("DynamoDB", "point-in-time recovery", "ddb_pitr_gb_month", _same(table_gb), "measured", note))
    notify = m.functions.get("notify")
    batches = (notify.invocations if notify else 0) * runs
    add(_line("DynamoDB", "stream reads (notify's trigger)", "ddb_stream_read_by_lambda", _same(batches), "measured"))

    add(_line("EventBridge", "custom events", "eventbridge_custom_event", _same(m.events * runs), "measured"))

    emails = m.emails * runs * w.recipients
    add(_line("SES", "emails (one per recipient)", "ses_email", _same(emails), "measured"))
    attachments = m.email_attachment_bytes * emails / GB
    add(_line("SES", "attachments", "ses_attachment_gb", _same(attachments), "measured"))

    add(_line("SQS", "dead-letter queue requests", "sqs_request", _same(0), "assumed", "no failed event"))

    add(_line("KMS", "customer managed key", "kms_key_month", _same(deployment.kms_keys), "deployed"))
    kms = KMS_REQUESTS_PER_RUN * runs
    add(_line("KMS", "requests", "kms_request", _same(kms), "assumed", f"{KMS_REQUESTS_PER_RUN} a run"))

    add(_line("API Gateway", "REST API requests", "apigw_rest_request", _same(views), "assumed", "one a page view"))

    add(_line("CloudWatch", "alarms", "cw_alarm_month", _same(deployment.alarms), "deployed"))
    # Custom metrics are prorated by the hour and metered only in hours they are sent.
    hours = min(24, w.runs_per_day) * w.days_per_month
    metric_months = len(m.metrics) * min(1.0, hours / (24 * w.days_per_month))
    note = f"{len(m.metrics)} metrics, sent in {hours} hours a month"
    add(_line("CloudWatch", "custom metrics (EMF)", "cw_metric_month", _same(metric_months), "measured", note))
    log_invocations = invocations
    ingested = (m.log_bytes * runs + m.page_view_log_bytes * views + PLATFORM_LOG_BYTES * log_invocations) / GB
    add(_line("CloudWatch", "logs ingested", "cw_logs_ingest_gb", _same(ingested), "measured"))
    kept = ingested * w.retention_days / w.days_per_month
    note = f"{w.retention_days} days kept, uncompressed (an upper bound)"
    add(_line("CloudWatch", "logs stored", "cw_logs_store_gb_month", _same(kept), "measured", note))

    add(_line("X-Ray", "traces (active tracing)", "xray_trace", _same(invocations), "measured", "one per invocation"))
    add(_line("SNS", "alarm notifications", "sns_publish", _same(0), "assumed", "no alarm fires"))
    if deployment.budgets:
        add(_line("Budgets", "monthly budget", "budget_day", _same(deployment.budgets * w.days_per_month), "deployed"))

    tokens_in = {"offline": 0, "bedrock": m.tokens_in * runs / 1000}
    tokens_out = {"offline": 0, "bedrock": m.tokens_out * runs / 1000}
    add(_line("Bedrock", "Nova Lite input tokens (1,000s)", "bedrock_input_1k", tokens_in, "measured"))
    add(_line("Bedrock", "Nova Lite output tokens (1,000s)", "bedrock_output_1k", tokens_out, "assumed"))
    return bill


def round_up_ms(seconds: float) -> float:
    """Lambda bills duration rounded up to the millisecond."""
    return math.ceil(seconds * 1000) / 1000
