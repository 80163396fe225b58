"""The AWS list prices `python -m sandbox cost` uses: one place, each with its region, source and date.

All are on-demand list prices in USD for us-east-1 (US East, N. Virginia), read on `READ` from the
page in `source`. They change, and other regions differ: edit them here, nowhere else. `free` is the
monthly free-tier allowance that does not expire (account-wide, shared with everything else the
account runs); the bill shows the list price and, separately, what the free tier would take off.

The Bedrock prices are the ones the analyzer itself logs with (`chalicelib.analyze.cost`), so a
record's cost and this bill cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.analyze.cost import NOVA_LITE

REGION = "us-east-1"
READ = "2026-12-05"


@dataclass(frozen=True)
class Price:
    usd: float  # per `per` units
    per: float
    unit: str
    source: str
    free: float = 0.0  # units a month that cost nothing (the always-free tier)
    note: str = ""

    def cost(self, units: float, *, free_tier: bool = False) -> float:
        """USD for `units` in a month, less the free allowance when `free_tier`."""
        billable = max(0.0, units - self.free) if free_tier else units
        return billable * self.usd / self.per


_LAMBDA = "https://aws.amazon.com/lambda/pricing/"
_S3 = "https://aws.amazon.com/s3/pricing/"
_DDB = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
_CW = "https://aws.amazon.com/cloudwatch/pricing/"
_KMS = "https://aws.amazon.com/kms/pricing/"

PRICES: dict[str, Price] = {
    # Lambda, x86 (the functions' architecture), first 6 billion GB-s tier.
    "lambda_gb_second": Price(0.0000166667, 1, "GB-second", _LAMBDA, free=400_000),
    "lambda_request": Price(0.20, 1_000_000, "request", _LAMBDA, free=1_000_000),
    # S3: Standard and Standard-IA storage (first 50 TB), requests. IA bills at least 128 KB an object.
    "s3_standard_gb_month": Price(0.023, 1, "GB-month", _S3),
    "s3_ia_gb_month": Price(0.0125, 1, "GB-month", _S3, note="minimum 128 KB an object, 30 days"),
    "s3_write_request": Price(0.005, 1_000, "PUT, COPY, POST or LIST request", _S3),
    "s3_read_request": Price(0.0004, 1_000, "GET or HEAD request", _S3),
    # DynamoDB on demand (standard table class). Stream reads by a Lambda trigger are free.
    "ddb_write_request_unit": Price(0.625, 1_000_000, "write request unit (1 KB)", _DDB),
    "ddb_read_request_unit": Price(0.125, 1_000_000, "read request unit (4 KB strong, 8 KB eventual)", _DDB),
    "ddb_storage_gb_month": Price(0.25, 1, "GB-month", _DDB, free=25),
    "ddb_pitr_gb_month": Price(0.20, 1, "GB-month of continuous backup", _DDB),
    "ddb_stream_read_by_lambda": Price(
        0.0, 1, "stream batch read by a Lambda trigger", _DDB, note="free for Lambda triggers"
    ),
    # EventBridge: custom events put on a bus (the analyze rule's); AWS service and scheduled events are free.
    "eventbridge_custom_event": Price(1.00, 1_000_000, "custom event", "https://aws.amazon.com/eventbridge/pricing/"),
    # SES: every recipient of a message counts as one email; attachments by the GB.
    "ses_email": Price(0.10, 1_000, "email (per recipient)", "https://aws.amazon.com/ses/pricing/"),
    "ses_attachment_gb": Price(0.12, 1, "GB of attachments", "https://aws.amazon.com/ses/pricing/"),
    # SQS standard queues (the dead-letter queues); first million requests free.
    "sqs_request": Price(0.40, 1_000_000, "request (64 KB)", "https://aws.amazon.com/sqs/pricing/", free=1_000_000),
    # KMS: the app's customer managed key; each automatic rotation adds $1/month (capped at two).
    "kms_key_month": Price(1.00, 1, "key-month", _KMS, note="+$1/month per rotation, first two years"),
    "kms_request": Price(0.03, 10_000, "request", _KMS, free=20_000),
    # API Gateway REST API (the report archive), first 333 million requests.
    "apigw_rest_request": Price(3.50, 1_000_000, "REST API request", "https://aws.amazon.com/api-gateway/pricing/"),
    # CloudWatch: standard-resolution alarms, custom metrics (EMF), logs (standard class).
    "cw_alarm_month": Price(0.10, 1, "standard alarm metric-month", _CW, free=10),
    "cw_metric_month": Price(0.30, 1, "custom metric-month (first 10,000)", _CW, free=10),
    "cw_logs_ingest_gb": Price(0.50, 1, "GB ingested", _CW, free=5),
    "cw_logs_store_gb_month": Price(0.03, 1, "GB-month stored (compressed)", _CW),
    # X-Ray: active tracing is on for every function on both deploy paths.
    "xray_trace": Price(5.00, 1_000_000, "trace recorded", "https://aws.amazon.com/xray/pricing/", free=100_000),
    # SNS: the alarm topic's publishes and e-mail deliveries.
    "sns_publish": Price(0.50, 1_000_000, "publish", "https://aws.amazon.com/sns/pricing/", free=1_000_000),
    "sns_email": Price(2.00, 100_000, "e-mail delivery", "https://aws.amazon.com/sns/pricing/", free=1_000),
    # AWS Budgets: an account's first two budgets are free, then $0.02 a day each.
    "budget_day": Price(
        0.02,
        1,
        "budget-day",
        "https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-managing-costs.html",
        free=2 * 30,
        note="the first two budgets of an account are free",
    ),
    # SSM Parameter Store standard parameters (the Twelve Data key) and standard throughput: free.
    "ssm_standard_parameter": Price(0.0, 1, "standard parameter", "https://aws.amazon.com/systems-manager/pricing/"),
    # Amazon Bedrock, Nova Lite on demand (the analyzer's own table).
    "bedrock_input_1k": Price(
        NOVA_LITE.input_per_1k, 1, "1,000 input tokens", "https://aws.amazon.com/bedrock/pricing/"
    ),
    "bedrock_output_1k": Price(
        NOVA_LITE.output_per_1k, 1, "1,000 output tokens", "https://aws.amazon.com/bedrock/pricing/"
    ),
}
