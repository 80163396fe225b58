"""The one definition of the resources Stock Insights needs besides its Lambda functions.

`resource_specs()` returns plain data: names and settings. Everything that creates these
resources derives from it and from nothing else: the Terraform document (`infra.terraform_resources`),
the boto3 bootstrap and the policy files (`infra.policies`). Change a name or a setting here, never
in one of its readers. No AWS SDK here: this module only describes.

A stage's settings are stated once, in `.chalice/settings-<stage>.json` (`infra.settings`); the
bootstrap writes it from its command line, and every deploy path reads it.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from chalicelib.analysis_store import EMAILED_KINDS
from chalicelib.config import API_AUTH_MODES, NOTICE_TO, Settings
from infra.alarms import alarm_specs

APP_NAME = "stock-insights"
FUNCTIONS = ("ingest", "analyze", "notify")
# Chalice's one function for every API route (the report archive, chalicelib.api), named
# `<app>-<stage>`. API Gateway invokes it synchronously: it has no dead-letter queue.
API_HANDLER = "api_handler"
# Each function's memory, MB: chosen by measurement (`python -m sandbox.power_tune`, the table
# and the reasons in docs/cost.md). `infra.chalice_config` writes it into `.chalice/config.json`,
# which `chalice deploy` and `chalice package` (the Terraform package) both read.
FUNCTION_MEMORY_MB = {"ingest": 2304, "analyze": 1769, "notify": 256, "fetch": 256, API_HANDLER: 512}
_ROLE_NAME_MAX = 64  # IAM quotas (read 2026-12-04), as infra.roles says

# The EMF dimension every metric carries (chalicelib.observability.SERVICE); the app's own
# constant, not derived from the app name, so it stays the same in every stage.
_METRIC_SERVICE = "stock-insights"
# S3 refuses a transition to STANDARD_IA earlier than 30 days after creation.
_MIN_IA_DAYS = 30
_NAME = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
# The values CloudWatch Logs accepts for a log group's retention, in days.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)  # fmt: skip
INSIGHTS_PROVIDERS = ("offline", "bedrock")
# `provider.model-name-v1:0`, optionally behind an inference profile's geography prefix.
BEDROCK_MODEL_ID = r"[a-z0-9-]+(\.[a-z0-9-]+)+(:[0-9]+)?"

_APP_DEFAULTS = Settings()

# The settings a deployer states for a stage; on the Terraform path each is an input variable of
# the same name (`infra.terraform_resources.terraform_variables`).
DEPLOY_SETTINGS: dict[str, Any] = {
    "sender_email": _APP_DEFAULTS.sender,  # the verified SES identity reports come from
    "recipient_emails": list(_APP_DEFAULTS.recipients),
    # Failure notices (a quarantined file, no valid bars): `recipients`, `operations` or `both`.
    "notice_to": _APP_DEFAULTS.notice_to,
    "operations_emails": list(_APP_DEFAULTS.operations_emails),  # empty: notices go to the recipients
    # The report archive's base URL the email links to (a custom domain, say). None: under
    # api_auth=link the deployed API's own URL, which each deploy path fills in; else no links.
    "archive_url": None,
    "bucket_name": None,  # None: stock-insights-<stage>-data-<account>-<region>
    "alarm_email": None,  # None: nobody is subscribed to the alarm topic
    "insights_provider": _APP_DEFAULTS.insights_provider,
    "log_retention_days": 30,
    # A foundation model (`amazon.nova-lite-v1:0`) or a cross-region inference profile (`us.…`,
    # `eu.…`, `global.…`): analyze's BEDROCK_MODEL_ID, and what its role may invoke, exactly.
    "bedrock_model_id": _APP_DEFAULTS.bedrock_model_id,
    # A monthly AWS Budgets cost budget that e-mails alarm_email (infra.budget); 0: none.
    "monthly_budget_usd": 0,
}
# The budget's e-mails: the month's actual cost past 80 % and 100 % of it, the forecast past 100 %.
BUDGET_NOTIFICATIONS = (("ACTUAL", 80), ("ACTUAL", 100), ("FORECASTED", 100))

# Every setting a caller may override, with its default.
DEFAULTS: dict[str, Any] = {
    **DEPLOY_SETTINGS,
    "hash_marker_expiration_days": 30,  # processed/hashes/<etag>: the exactly-once markers
    "reject_expiration_days": 90,  # rejects/
    "processed_ia_transition_days": 30,  # processed/ to STANDARD_IA
    "noncurrent_version_expiration_days": 30,  # versions left behind by overwrites and expiries
    "abort_incomplete_upload_days": 7,
    "dlq_message_retention_seconds": 14 * 24 * 3600,  # SQS maximum
    "stream_maximum_retry_attempts": 5,  # then the batch goes to the on-failure queue
    "rejected_percent_threshold": 5.0,  # RejectedPercent of one file, in percent
    "alarm_period_seconds": 300,
    "kms_key_deletion_window_days": 30,
    "deletion_protection": None,  # None: on in prod only
    "event_bus": _APP_DEFAULTS.event_bus,
    "metric_namespace": _APP_DEFAULTS.metric_namespace,
    # The scheduled Twelve Data fetch (chalicelib.fetch): no symbols, no function and no schedule.
    "fetch_symbols": None,  # `AAPL,MSFT`, or `s3://bucket/key` / `ssm:/name` holding the list
    "fetch_schedule": _APP_DEFAULTS.fetch_schedule,
    "fetch_interval": _APP_DEFAULTS.fetch_interval,
    "fetch_outputsize": _APP_DEFAULTS.fetch_outputsize,
    "fetch_credits_per_minute": _APP_DEFAULTS.fetch_credits_per_minute,
    "twelvedata_api_key_parameter": None,  # None: /<app>/<stage>/twelvedata-api-key
    # How the archive API's routes are entered (read by app.py when Chalice packages or deploys, and
    # by the API handler): link (the email's signed links, chalicelib.archive_access), iam (SigV4,
    # execute-api:Invoke) or api_key (x-api-key of a usage plan). Never public.
    "api_auth": _APP_DEFAULTS.api_auth,
}


def add_settings_option(parser: argparse.ArgumentParser) -> None:
    """`--set NAME=VALUE` (repeatable) of both infra commands; `args.settings` is a list of pairs."""
    parser.add_argument(
        "--set",
        dest="settings",
        type=parse_setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override an infra.resources setting, e.g. --set reject_expiration_days=180",
    )


def parse_setting(text: str) -> tuple[str, Any]:
    """An int, a float, true/false, else the text."""
    name, sep, raw = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=VALUE")
    for kind in (int, float):
        try:
            return name, kind(raw)
        except ValueError:
            pass
    return name, {"true": True, "false": False}.get(raw.lower(), raw)


def email_list(value: Any) -> list[str]:
    """Recipients as a list: `a@x.org,b@y.org` (a command line, `--set`) or a list (a settings file)."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    return [item.strip() for item in items if item.strip()]


def default_bucket_name(app_name: str, stage: str, account: str, region: str) -> str:
    """Bucket names are global to S3: the default carries the account and region, so two deployers
    (or two regions of one account) never collide."""
    return f"{app_name}-{stage}-data-{account}-{region}"


def check_settings(opts: dict[str, Any]) -> dict[str, Any]:
    """Refuse a setting the deploy could not use; returns the settings normalised."""
    unknown = sorted(set(opts) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"unknown resource settings: {', '.join(unknown)} (known: {', '.join(DEFAULTS)})")
    opts = {**DEFAULTS, **opts}
    for key, value in opts.items():
        positive = key.endswith(("_days", "_seconds", "_attempts", "_outputsize", "_per_minute"))
        if positive and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
            raise ValueError(f"{key} must be a positive integer, got {value!r}")
    if opts["processed_ia_transition_days"] < _MIN_IA_DAYS:
        raise ValueError(f"processed_ia_transition_days must be at least {_MIN_IA_DAYS} (an S3 rule)")
    if not 7 <= opts["kms_key_deletion_window_days"] <= 30:
        raise ValueError("kms_key_deletion_window_days must be between 7 and 30")
    if opts["rejected_percent_threshold"] <= 0:
        raise ValueError("rejected_percent_threshold must be positive")
    if opts["log_retention_days"] not in LOG_RETENTION_DAYS:
        raise ValueError(f"log_retention_days must be one of {', '.join(map(str, LOG_RETENTION_DAYS))}")
    if opts["api_auth"] not in API_AUTH_MODES:
        raise ValueError(f"api_auth must be one of {', '.join(API_AUTH_MODES)}")
    if not re.fullmatch(BEDROCK_MODEL_ID, str(opts["bedrock_model_id"])):
        raise ValueError(
            f"bedrock_model_id {opts['bedrock_model_id']!r} is not a Bedrock model or inference profile id"
        )
    budget = opts["monthly_budget_usd"]
    if budget is None:
        opts["monthly_budget_usd"] = budget = 0
    if isinstance(budget, bool) or not isinstance(budget, int | float) or budget < 0:
        raise ValueError(f"monthly_budget_usd must be a number of USD (0: no budget), got {budget!r}")
    if opts["insights_provider"] not in INSIGHTS_PROVIDERS:
        raise ValueError(f"insights_provider must be one of {', '.join(INSIGHTS_PROVIDERS)}")
    if opts["notice_to"] not in NOTICE_TO:
        raise ValueError(f"notice_to must be one of {', '.join(NOTICE_TO)}")
    opts["operations_emails"] = email_list(opts["operations_emails"] or [])
    opts["archive_url"] = (opts["archive_url"] or "").strip() or None
    if opts["archive_url"] is not None and not re.fullmatch(r'https://[^ "<>]+', opts["archive_url"]):
        raise ValueError(f"archive_url {opts['archive_url']!r} must be an https:// URL")
    opts["recipient_emails"] = email_list(opts["recipient_emails"])
    if not opts["recipient_emails"]:
        raise ValueError("recipient_emails must name at least one address")
    for key in ("sender_email", "alarm_email"):
        if opts[key] == "":
            opts[key] = None
    for address in [opts["sender_email"], opts["alarm_email"], *opts["recipient_emails"], *opts["operations_emails"]]:
        if address is not None and not _EMAIL.match(str(address)):
            raise ValueError(f"{address!r} is not an e-mail address")
    if opts["sender_email"] is None:
        raise ValueError("sender_email is required")
    if opts["monthly_budget_usd"] and not opts["alarm_email"]:
        raise ValueError("monthly_budget_usd needs alarm_email: the address the budget alarm e-mails")
    bucket = opts["bucket_name"]
    if bucket and (not _BUCKET.match(bucket) or ".." in bucket):
        raise ValueError(f"bucket_name {bucket!r} is not a valid S3 bucket name")
    if isinstance(opts["fetch_symbols"], list):
        opts["fetch_symbols"] = ",".join(opts["fetch_symbols"])
    opts["fetch_symbols"] = (opts["fetch_symbols"] or "").strip() or None
    if not re.fullmatch(r"(cron|rate)\(.+\)", str(opts["fetch_schedule"])):
        raise ValueError(f"fetch_schedule {opts['fetch_schedule']!r} is not an EventBridge cron(...) or rate(...)")
    parameter = opts["twelvedata_api_key_parameter"]
    if parameter is not None and not re.fullmatch(r"/[A-Za-z0-9_.\-/]+", str(parameter)):
        raise ValueError(f"twelvedata_api_key_parameter {parameter!r} must be a parameter path such as /app/key")
    return opts


def resource_specs(
    app_name: str = APP_NAME,
    stage: str = "dev",
    account: str | None = None,
    region: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Names and settings of the bucket, table, queues, topic, alarms, key, log groups and email identity.

    `account` and `region` are those deployed to, where known: they make the default bucket name.
    Without them (and without a `bucket_name` setting) the bucket's name is None.
    """
    opts = check_settings(overrides)
    for name in (app_name, stage):
        if not _NAME.match(name):
            raise ValueError(f"{name!r}: app and stage names are lowercase letters, digits and hyphens")

    prefix = f"{app_name}-{stage}"
    bucket_name = opts["bucket_name"]
    if not bucket_name and account and region:
        bucket_name = default_bucket_name(app_name, stage, account, region)
    if bucket_name and len(bucket_name) > 63:
        raise ValueError(f"bucket name {bucket_name!r} is longer than 63 characters")
    key_alias = f"alias/{prefix}"
    deletion_protection = opts["deletion_protection"]
    if deletion_protection is None:
        deletion_protection = stage == "prod"
    fetch = None
    if opts["fetch_symbols"]:
        fetch = {
            "symbols": opts["fetch_symbols"],
            "schedule": opts["fetch_schedule"],
            "api_key_parameter": opts["twelvedata_api_key_parameter"] or f"/{app_name}/{stage}/twelvedata-api-key",
            "write_prefix": f"{_APP_DEFAULTS.input_prefix}scheduled/",
        }
    # api_auth=link: the SecureString whose key signs the email's archive links.
    link_key_parameter = f"/{app_name}/{stage}/archive-link-key" if opts["api_auth"] == "link" else None
    names = (*FUNCTIONS, "fetch") if fetch else FUNCTIONS
    functions = {fn: {"function_name": f"{prefix}-{fn}", "dead_letter_queue": fn} for fn in names}
    functions[API_HANDLER] = {"function_name": prefix, "dead_letter_queue": None}
    for fn, function in functions.items():
        # IAM names are global to the account: the region keeps two regions' roles apart (infra.roles).
        function["role_name"] = f"{prefix}-{fn}-{region}" if region else None
        if function["role_name"] and len(function["role_name"]) > _ROLE_NAME_MAX:
            raise ValueError(f"role name {function['role_name']!r} is longer than {_ROLE_NAME_MAX} characters")

    return {
        "app_name": app_name,
        "stage": stage,
        "prefix": prefix,
        "settings": {key: opts[key] for key in DEPLOY_SETTINGS},
        "tags": {"app": app_name, "stage": stage},
        "kms_key": {
            "alias": key_alias,
            "description": f"{prefix}: analyses table, queues and alarm topic",
            "enable_key_rotation": True,
            "deletion_window_days": opts["kms_key_deletion_window_days"],
            # CloudWatch alarms publish to the encrypted topic with this key.
            "service_principals": ["cloudwatch.amazonaws.com"],
        },
        "bucket": {
            "name": bucket_name,
            "block_public_access": True,
            "object_ownership": "BucketOwnerEnforced",
            # SSE-S3, not the key: whoever uploads to inputs/ then needs no KMS permission.
            "sse_algorithm": "AES256",
            "versioning": True,
            "input_prefix": _APP_DEFAULTS.input_prefix,
            "lifecycle_rules": [
                {
                    "id": "expire-hash-markers",
                    "prefix": "processed/hashes/",
                    "expiration_days": opts["hash_marker_expiration_days"],
                },
                {"id": "expire-rejects", "prefix": "rejects/", "expiration_days": opts["reject_expiration_days"]},
                {
                    "id": "processed-to-standard-ia",
                    "prefix": "processed/",
                    "transition_days": opts["processed_ia_transition_days"],
                    "storage_class": "STANDARD_IA",
                },
                {
                    "id": "clean-up-versions-and-uploads",
                    "prefix": "",
                    "noncurrent_version_expiration_days": opts["noncurrent_version_expiration_days"],
                    "abort_incomplete_upload_days": opts["abort_incomplete_upload_days"],
                    "expired_object_delete_marker": True,
                },
            ],
        },
        "table": {
            "name": f"{prefix}-analyses",
            "hash_key": "analysis_id",
            "hash_key_type": "S",
            "billing_mode": "PAY_PER_REQUEST",
            "stream_view_type": "NEW_IMAGE",
            "point_in_time_recovery": True,
            "kms_key_alias": key_alias,
            "deletion_protection": deletion_protection,
            # The report archive's reads (chalicelib.api): the latest analyses, newest first. Only
            # analysis items carry kind = "analysis"; email markers are another kind, so a Query
            # on this partition never meets them. ALL: the listing and the symbol history read
            # the item itself (it is bounded by analysis_item_max_kb), never the base table.
            "indexes": [
                {
                    "name": "kind-created_at",
                    "hash_key": "kind",
                    "hash_key_type": "S",
                    "range_key": "created_at",
                    "range_key_type": "S",
                    "projection": "ALL",
                }
            ],
        },
        "dead_letter_queues": {
            fn: {
                "name": f"{prefix}-{fn}-dlq",
                "message_retention_seconds": opts["dlq_message_retention_seconds"],
                "kms_key_alias": key_alias,
            }
            for fn, spec in functions.items()
            if spec["dead_letter_queue"]
        },
        "functions": functions,
        "fetch": fetch,
        # api_auth=link: the SecureString whose key signs the email's archive links (each deploy
        # path makes it with a random value and never overwrites it); notify's ARCHIVE_URL is then
        # the deployed API's URL unless archive_url states another.
        "archive_link_key": (
            {"parameter": link_key_parameter, "url_from_api": opts["archive_url"] is None}
            if link_key_parameter
            else None
        ),
        # Created before the functions first log, so Lambda never makes one that keeps logs forever.
        "log_groups": {
            fn: {"name": f"/aws/lambda/{spec['function_name']}", "retention_days": opts["log_retention_days"]}
            for fn, spec in functions.items()
        },
        "stream_mapping": {
            "function": "notify",
            "on_failure_queue": "notify",  # notify's DLQ holds the records the stream gave up on
            "bisect_batch_on_function_error": True,
            "maximum_retry_attempts": opts["stream_maximum_retry_attempts"],
            "function_response_types": ["ReportBatchItemFailures"],
            # Only analysis and failure-notice items wake notify: the archive's per-symbol readings and directory
            # entries (thousands per big file) and the email markers are dropped by Lambda before
            # any invocation. DynamoDB mappings filter on the record's `dynamodb` key only (Lambda
            # developer guide, "Using event filtering with a DynamoDB event source", read
            # 2026-12-05); notify itself still skips anything but an INSERT of those kinds.
            "filter_pattern": {"dynamodb": {"NewImage": {"kind": {"S": list(EMAILED_KINDS)}}}},
        },
        "event_bus": opts["event_bus"],
        "email_identity": {"email": opts["sender_email"]},
        "alarm_topic": {"name": f"{prefix}-alarms", "kms_key_alias": key_alias, "email": opts["alarm_email"]},
        "alarms": alarm_specs(prefix, stage, functions, opts, _METRIC_SERVICE),
        # AWS Budgets names are the account's: the stage's prefix keeps stages apart (infra.budget).
        "budget_name": f"{prefix}-monthly",
        "budget": (
            {
                "name": f"{prefix}-monthly",
                "limit_usd": float(opts["monthly_budget_usd"]),
                "email": opts["alarm_email"],
                "notifications": [list(n) for n in BUDGET_NOTIFICATIONS],
            }
            if opts["monthly_budget_usd"]
            else None
        ),
        # What the functions must be told about these resources (chalicelib.config names).
        "environment": {
            "BUCKET_NAME": bucket_name,
            "TABLE_NAME": f"{prefix}-analyses",
            "SENDER_EMAIL": opts["sender_email"],
            "RECIPIENT_EMAILS": ",".join(opts["recipient_emails"]),
            "NOTICE_TO": opts["notice_to"],
            **({"OPERATIONS_EMAILS": ",".join(opts["operations_emails"])} if opts["operations_emails"] else {}),
            **({"ARCHIVE_URL": opts["archive_url"]} if opts["archive_url"] else {}),
            "INSIGHTS_PROVIDER": opts["insights_provider"],
            "BEDROCK_MODEL_ID": opts["bedrock_model_id"],
            "STAGE": stage,
            **({"API_AUTH": opts["api_auth"]} if opts["api_auth"] != _APP_DEFAULTS.api_auth else {}),
            **({"ARCHIVE_LINK_KEY_PARAMETER": link_key_parameter} if link_key_parameter else {}),
            **(
                {
                    "FETCH_SYMBOLS": fetch["symbols"],
                    "FETCH_SCHEDULE": fetch["schedule"],
                    "FETCH_INTERVAL": opts["fetch_interval"],
                    "FETCH_OUTPUTSIZE": str(opts["fetch_outputsize"]),
                    "FETCH_CREDITS_PER_MINUTE": str(opts["fetch_credits_per_minute"]),
                    "TWELVEDATA_API_KEY_PARAMETER": fetch["api_key_parameter"],
                }
                if fetch
                else {}
            ),
        },
    }
