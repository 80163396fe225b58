"""The bootstrap's monitoring steps: dead-letter queues, log groups, the alarm topic, its e-mail
subscription and the alarms, each made to match `infra.resources`' specs (a mixin of
`infra.provision.Bootstrap`, which holds `specs`, `client` and `report`)."""

from __future__ import annotations

from typing import Any

from chalicelib.aws import error_code
from infra.steps import CREATED, UNCHANGED, UPDATED, pages, same


class Monitoring:
    specs: dict[str, Any]
    client: Any
    report: Any

    def dead_letter_queues(self) -> None:
        sqs = self.client("sqs")
        for spec in self.specs["dead_letter_queues"].values():
            wanted = {
                "MessageRetentionPeriod": str(spec["message_retention_seconds"]),
                "KmsMasterKeyId": spec["kms_key_alias"],
            }
            try:
                url = sqs.get_queue_url(QueueName=spec["name"])["QueueUrl"]
            except Exception as exc:
                if "NonExistentQueue" not in error_code(exc) and "QueueDoesNotExist" not in error_code(exc):
                    raise
                sqs.create_queue(QueueName=spec["name"], Attributes=wanted, tags=dict(self.specs["tags"]))
                self.report("dead-letter queue", spec["name"], CREATED)
                continue
            current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(wanted)).get("Attributes", {})
            if {k: current.get(k) for k in wanted} != wanted:
                sqs.set_queue_attributes(QueueUrl=url, Attributes=wanted)
                self.report("dead-letter queue", spec["name"], UPDATED)
            else:
                self.report("dead-letter queue", spec["name"], UNCHANGED)

    def alarm_topic(self) -> str:
        sns, spec = self.client("sns"), self.specs["alarm_topic"]
        existing = {t["TopicArn"].rsplit(":", 1)[1]: t["TopicArn"] for t in pages(sns, "list_topics", "Topics")}
        if spec["name"] in existing:
            arn = existing[spec["name"]]
            if sns.get_topic_attributes(TopicArn=arn)["Attributes"].get("KmsMasterKeyId") != spec["kms_key_alias"]:
                sns.set_topic_attributes(
                    TopicArn=arn, AttributeName="KmsMasterKeyId", AttributeValue=spec["kms_key_alias"]
                )
                self.report("alarm topic", spec["name"], UPDATED)
            else:
                self.report("alarm topic", spec["name"], UNCHANGED)
            return arn
        arn = sns.create_topic(Name=spec["name"], Attributes={"KmsMasterKeyId": spec["kms_key_alias"]})["TopicArn"]
        self.report("alarm topic", spec["name"], CREATED)
        return arn

    def log_groups(self) -> None:
        """Each function's log group with its retention, before the function first logs (Lambda
        would otherwise create it, keeping logs forever)."""
        logs = self.client("logs")
        for group in self.specs["log_groups"].values():
            found = [
                g
                for g in pages(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=group["name"])
                if g["logGroupName"] == group["name"]
            ]
            outcome = UNCHANGED
            if not found:
                logs.create_log_group(logGroupName=group["name"], tags=dict(self.specs["tags"]))
                outcome = CREATED
            if not found or found[0].get("retentionInDays") != group["retention_days"]:
                logs.put_retention_policy(logGroupName=group["name"], retentionInDays=group["retention_days"])
                outcome = outcome if outcome == CREATED else UPDATED
            self.report("log group", group["name"], outcome)

    def alarm_subscription(self, topic_arn: str) -> None:
        email = self.specs["alarm_topic"]["email"]
        if not email:
            return
        sns = self.client("sns")
        subscribed = {
            s["Endpoint"]
            for s in pages(sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=topic_arn)
            if s.get("Protocol") == "email"
        }
        if email in subscribed:
            self.report("alarm e-mail", email, UNCHANGED)
            return
        sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=email)
        self.report("alarm e-mail", email, f"{CREATED} (confirm the subscription in the inbox of {email})")

    def alarms(self, topic_arn: str) -> None:
        cloudwatch = self.client("cloudwatch")
        names = [a["name"] for a in self.specs["alarms"]]
        current = {a["AlarmName"]: a for a in cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]}
        for alarm in self.specs["alarms"]:
            wanted = _alarm_request(alarm, topic_arn)
            found = current.get(alarm["name"])
            if found is not None and all(same(found.get(k), v) for k, v in wanted.items()):
                self.report("alarm", alarm["name"], UNCHANGED)
                continue
            cloudwatch.put_metric_alarm(**wanted)
            self.report("alarm", alarm["name"], CREATED if found is None else UPDATED)


def _alarm_request(alarm: dict[str, Any], topic_arn: str) -> dict[str, Any]:
    return {
        "AlarmName": alarm["name"],
        "AlarmDescription": alarm["description"],
        "Namespace": alarm["namespace"],
        "MetricName": alarm["metric_name"],
        "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(alarm["dimensions"].items())],
        "Statistic": alarm["statistic"],
        "Period": alarm["period"],
        "EvaluationPeriods": alarm["evaluation_periods"],
        "Threshold": float(alarm["threshold"]),
        "ComparisonOperator": alarm["comparison_operator"],
        "TreatMissingData": alarm["treat_missing_data"],
        "AlarmActions": [topic_arn],
        "OKActions": [topic_arn],
    }
