"""The CloudWatch alarms of a deployment: one definition that both deploy paths create.

Every alarm publishes to the alarm topic (`alarm_email` is subscribed to it). Each one means an
operator should look: a report email may not have gone out, or soon will not. docs/deploying.md
("Alarms") says what each means and what to do.

The app's own metrics are EMF lines written by chalicelib.observability: namespace
`metric_namespace`, dimensions service and stage. `APP_METRIC_ALARMS` names them; tests drive the
code path that emits each one and check the alarm watches exactly what is printed.
"""

from __future__ import annotations

from typing import Any

# SES reputation, account-wide per region (namespace AWS/SES, no dimension; the value is a
# fraction, 0.05 = 5 %). The SES Developer Guide, "Reputation metrics messages" and the SES FAQ
# (read 2026-12-04): an account is placed under review at a bounce rate of 5 % or a complaint rate
# of 0.1 %, and its sending may be paused at 10 % / 0.5 %. These alarms fire before review.
SES_BOUNCE_RATE_ALARM = 0.04
SES_COMPLAINT_RATE_ALARM = 0.0008

# key, metric, statistic, the setting its threshold comes from (None: any count, > 0), description:
# the app's metrics an alarm watches (each is only emitted when the event happens, so missing data
# is "not breaching").
APP_METRIC_ALARMS: list[tuple[str, str, str, str | None, str]] = [
    (
        "rejected_percent",
        "RejectedPercent",
        "Maximum",
        "rejected_percent_threshold",
        "an ingested file had more rejected bars than the threshold (percent)",
    ),
    (
        "email_rejected",
        "EmailRejected",
        "Sum",
        None,
        "SES refused a report email (or no recipient is set); it was not sent and will not be retried",
    ),
    (
        "insights_offline",
        "InsightsOffline",
        "Sum",
        None,
        "Bedrock failed (attempts used up, deadline, model unavailable, an error): insights were written offline",
    ),
    (
        "email_outcome_unknown",
        "EmailOutcomeUnknown",
        "Sum",
        None,
        "a report email may or may not have gone out (an attempt ended between marking it as sending "
        "and SES's answer); check SES sending activity, delete the email# marker to resend",
    ),
    (
        "files_quarantined",
        "FilesQuarantined",
        "Sum",
        None,
        "an input file was quarantined (unreadable, too big or not OHLCV)",
    ),
]
# Only with the fetch function.
FETCH_METRIC_ALARMS = [
    (
        "fetched_nothing",
        "FetchedNothing",
        "Sum",
        None,
        "a scheduled fetch wrote no symbol's bars (every symbol failed, or none is set)",
    ),
]


def alarm_specs(
    prefix: str, stage: str, functions: dict[str, dict], opts: dict[str, Any], service: str
) -> list[dict[str, Any]]:
    """Every alarm of the deployment: per function, per dead-letter queue, the app's metrics, SES."""
    common = {
        "period": opts["alarm_period_seconds"],
        "evaluation_periods": 1,
        "comparison_operator": "GreaterThanThreshold",
        "treat_missing_data": "notBreaching",
    }
    alarms = []
    for fn, spec in functions.items():
        for metric, what in (("Errors", "raised an error"), ("Throttles", "was throttled")):
            alarms.append(
                {
                    "key": f"{fn}_{metric.lower()}",
                    "name": f"{prefix}-{fn}-{metric.lower()}",
                    "description": f"{spec['function_name']} {what}",
                    "namespace": "AWS/Lambda",
                    "metric_name": metric,
                    "dimensions": {"FunctionName": spec["function_name"]},
                    "statistic": "Sum",
                    "threshold": 0,
                    **common,
                }
            )
    for fn, spec in functions.items():
        if not spec["dead_letter_queue"]:
            continue
        # SQS publishes its metrics while a queue is active, and a queue holding a message is
        # (SQS Developer Guide, "Available CloudWatch metrics for Amazon SQS", read 2026-12-04):
        # an empty, idle queue has no data, which is not breaching.
        queue = f"{prefix}-{spec['dead_letter_queue']}-dlq"
        alarms.append(
            {
                "key": f"{fn}_dlq_messages",
                "name": f"{queue}-messages",
                "description": f"{queue} holds a message: an event {fn} gave up on",
                "namespace": "AWS/SQS",
                "metric_name": "ApproximateNumberOfMessagesVisible",
                "dimensions": {"QueueName": queue},
                "statistic": "Maximum",
                "threshold": 0,
                **common,
            }
        )
    app_metric = {"namespace": opts["metric_namespace"], "dimensions": {"service": service, "stage": stage}}
    watched = APP_METRIC_ALARMS + (FETCH_METRIC_ALARMS if "fetch" in functions else [])
    for key, metric, statistic, threshold_setting, description in watched:
        alarms.append(
            {
                "key": key,
                "name": f"{prefix}-{key.replace('_', '-')}",
                "description": description,
                "metric_name": metric,
                "statistic": statistic,
                "threshold": opts[threshold_setting] if threshold_setting else 0,
                **app_metric,
                **common,
            }
        )
    for key, metric, threshold, what in (
        ("ses_bounce_rate", "Reputation.BounceRate", SES_BOUNCE_RATE_ALARM, "bounce rate (SES review at 5 %)"),
        (
            "ses_complaint_rate",
            "Reputation.ComplaintRate",
            SES_COMPLAINT_RATE_ALARM,
            "complaint rate (SES review at 0.1 %)",
        ),
    ):
        alarms.append(
            {
                "key": key,
                "name": f"{prefix}-{key.replace('_', '-')}",
                "description": f"the account's SES {what} is over {threshold:.2%}",
                "namespace": "AWS/SES",
                "metric_name": metric,
                "dimensions": {},
                "statistic": "Maximum",
                "threshold": threshold,
                **common,
            }
        )
    return alarms
