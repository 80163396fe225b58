"""The AWS list prices `python -m sandbox cost` uses: one place, each with its region, source and date.

All are on-demand list prices in USD for us-east-1 (US East, N. Virginia). `source` is the AWS
pricing page; `checked` says how the figure was checked on `READ`: `page` (read on that AWS page
or AWS documentation), `copy: URL` (read on a dated copy or summary of the page, the AWS page itself
being out of reach), or `not re-read` (the list price as last known; check it before relying on
it). They change, and other regions differ: edit them here, nowhere else. `free` is the monthly
free-tier allowance that does not expire (account-wide, shared with everything else the account
runs); the bill shows the list price and, separately, what the free tier would take off.

The Bedrock prices are the ones the analyzer itself logs with (`chalicelib.analyze.cost`), so a
record's cost and this bill cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.analyze.cost import NOVA_LITE

REGION = "us-east-1"
READ = "2026-12-05"
NOT_RE_READ = "not re-read"


@dataclass(frozen=True)
class Price:
    usd: float  # per `per` units
    per: float
    unit: str
    source: str
    checked: str
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
_SES = "https://aws.amazon.com/ses/pricing/"
_SNS = "https://aws.amazon.com/sns/pricing/"
_BEDROCK = "https://aws.amazon.com/bedrock/pricing/"
# SES's pricing plans (2026-07-21): an account new to SES is on Essentials, $0.16 per 1,000
# emails; "a la carte" (plan NONE: $0.10 per 1,000 recipients) stays the default of accounts that
# sent since 2025-06-01 (AWS Price List API, AmazonSES us-east-1, published 2026-07-22, as recorded
# in the copy below; the plans themselves: SES API v2 PutAccountPricingAttributes).
_SES_PLANS = "copy: github.com/api-evangelist/amazon-ses plans/amazon-ses-plans-pricing.yml (2026-08-13)"

PRICES: dict[str, Price] = {
    # Lambda, x86 (the functions' architecture), first 6 billion GB-s tier.
    "lambda_gb_second": Price(
        0.0000166667, 1, "GB-second", _LAMBDA, "copy: cloudchipr.com/blog/aws-lambda-pricing", free=400_000
    ),
    "lambda_request": Price(0.20, 1_000_000, "request", _LAMBDA, NOT_RE_READ, free=1_000_000),
    # S3: Standard and Standard-IA storage (first 50 TB), requests. IA bills at least 128 KB an object.
    "s3_standard_gb_month": Price(
        0.023, 1, "GB-month", _S3, "copy: costnimbus.com/article/s3-storage-classes-cost-guide (2026-03)"
    ),
    "s3_ia_gb_month": Price(
        0.0125,
        1,
        "GB-month",
        _S3,
        "copy: costnimbus.com/article/s3-storage-classes-cost-guide (2026-03)",
        note="minimum 128 KB an object, 30 days",
    ),
    "s3_write_request": Price(0.005, 1_000, "PUT, COPY, POST or LIST request", _S3, NOT_RE_READ),
    "s3_read_request": Price(0.0004, 1_000, "GET or HEAD request", _S3, NOT_RE_READ),
    # DynamoDB on demand (standard table class). Stream reads by a Lambda trigger are free.
    "ddb_write_request_unit": Price(
        0.625,
        1_000_000,
        "write request unit (1 KB)",
        _DDB,
        "copy: airbyte.com/data-engineering-resources/dynamodb-pricing",
    ),
    "ddb_read_request_unit": Price(
        0.125,
        1_000_000,
        "read request unit (4 KB strong, 8 KB eventual)",
        _DDB,
        "copy: airbyte.com/data-engineering-resources/dynamodb-pricing",
    ),
    "ddb_storage_gb_month": Price(0.25, 1, "GB-month", _DDB, NOT_RE_READ, free=25),
    "ddb_pitr_gb_month": Price(0.20, 1, "GB-month of continuous backup", _DDB, NOT_RE_READ),
    "ddb_stream_read_by_lambda": Price(
        0.0,
        1,
        "stream batch read by a Lambda trigger",
        _DDB,
        "page: DynamoDB Developer Guide, CostOptimization_StreamsUsage",
        note="free for Lambda triggers",
    ),
    # EventBridge: custom events put on a bus (the analyze rule's); AWS service and scheduled events are free.
    "eventbridge_custom_event": Price(
        1.00,
        1_000_000,
        "custom event",
        "https://aws.amazon.com/eventbridge/pricing/",
        "copy: cloudburn.io/blog/amazon-eventbridge-pricing (2026-03)",
    ),
    # SES: every recipient of a message counts as one email; attachments by the GB (a la carte).
    "ses_email": Price(
        0.16, 1_000, "email (per recipient)", _SES, _SES_PLANS, note="Essentials plan; a la carte $0.10"
    ),
    "ses_attachment_gb": Price(0.12, 1, "GB of attachments", _SES, _SES_PLANS),
    # SQS standard queues (the dead-letter queues); first million requests free.
    "sqs_request": Price(
        0.40,
        1_000_000,
        "request (64 KB)",
        "https://aws.amazon.com/sqs/pricing/",
        "copy: cloudburn.io/blog/amazon-sqs-pricing (2026-03)",
        free=1_000_000,
    ),
    # KMS: the app's customer managed key; each automatic rotation adds $1/month (capped at two).
    "kms_key_month": Price(1.00, 1, "key-month", _KMS, "page", note="+$1/month per rotation, first two years"),
    "kms_request": Price(0.03, 10_000, "request", _KMS, "copy: wring.co/blog/aws-kms-pricing-guide", free=20_000),
    # API Gateway REST API (the report archive), first 333 million requests.
    "apigw_rest_request": Price(
        3.50,
        1_000_000,
        "REST API request",
        "https://aws.amazon.com/api-gateway/pricing/",
        "page: API Gateway private APIs whitepaper, Cost optimization, table 4",
    ),
    # CloudWatch: standard-resolution alarms, custom metrics (EMF), logs (standard class).
    "cw_alarm_month": Price(0.10, 1, "standard alarm metric-month", _CW, "page", free=10),
    "cw_metric_month": Price(
        0.30,
        1,
        "custom metric-month (first 10,000)",
        _CW,
        "copy: signoz.io/guides/cloudwatch-pricing (2026-02)",
        free=10,
    ),
    "cw_logs_ingest_gb": Price(0.50, 1, "GB ingested", _CW, "copy: hivebook.wiki (CloudWatch Logs cost)", free=5),
    "cw_logs_store_gb_month": Price(
        0.03, 1, "GB-month stored (compressed)", _CW, "copy: hivebook.wiki (CloudWatch Logs cost)"
    ),
    # X-Ray: active tracing is on for every function on both deploy paths.
    "xray_trace": Price(
        5.00, 1_000_000, "trace recorded", "https://aws.amazon.com/xray/pricing/", "page", free=100_000
    ),
    # SNS: the alarm topic's publishes and e-mail deliveries.
    "sns_publish": Price(0.50, 1_000_000, "publish", _SNS, NOT_RE_READ, free=1_000_000),
    "sns_email": Price(2.00, 100_000, "e-mail delivery", _SNS, NOT_RE_READ, free=1_000),
    # AWS Budgets: an account's first two budgets are free, then $0.02 a day each.
    "budget_day": Price(
        0.02,
        1,
        "budget-day",
        "https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-managing-costs.html",
        "page",
        free=2 * 30,
        note="the first two budgets of an account are free",
    ),
    # SSM Parameter Store standard parameters (the Twelve Data key) and standard throughput: free.
    "ssm_standard_parameter": Price(
        0.0, 1, "standard parameter", "https://aws.amazon.com/systems-manager/pricing/", NOT_RE_READ
    ),
    # Amazon Bedrock, Nova Lite on demand (the analyzer's own table, chalicelib/analyze/cost.py).
    "bedrock_input_1k": Price(NOVA_LITE.input_per_1k, 1, "1,000 input tokens", _BEDROCK, NOT_RE_READ),
    "bedrock_output_1k": Price(NOVA_LITE.output_per_1k, 1, "1,000 output tokens", _BEDROCK, NOT_RE_READ),
}
