"""`python -m infra.bootstrap destroy`: removes what `Bootstrap.resources()` created for a stage.

Run it after `chalice delete --stage X` (which removes the functions and triggers Chalice made).
It deletes the alarms, the functions' IAM roles (`infra.roles`), the dead-letter queues, the log
groups, the alarm topic with its subscriptions, the fetch's API key parameter and the archive link
key (the links already sent stop opening the archive). The bucket, the
table and the KMS key the table is encrypted with are kept, with their data, unless `delete_data`
is set: then every object version and delete marker is removed, then the bucket, then the table
(refused while the table's deletion protection is on, unless `force` is set), and the key is
scheduled for deletion with the stage's `kms_key_deletion_window_days` (AWS allows 7 to 30 days;
read 2026-12-04, https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html).
The SES identity is left alone: stages may share it. Each step tells `report` what it did
(`deleted`, `scheduled for deletion`, `kept`, `absent`), so a second run only
reports `absent`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.aws import error_code
from infra.roles import delete_roles
from infra.steps import pages

DELETED, ABSENT, KEPT = "deleted", "absent", "kept"
_MISSING = (
    "ResourceNotFound",
    "ResourceNotFoundException",
    "NotFound",
    "NoSuchBucket",
    "NotFoundException",
    "ParameterNotFound",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
)


class Teardown:
    """Each step removes one kind of bootstrap resource and says what it did."""

    def __init__(self, specs: dict[str, Any], client: Callable[[str], Any], report: Callable[[str, str, str], None]):
        self.specs = specs
        self.client = client
        self.report = report

    def destroy(self, delete_data: bool = False, force: bool = False) -> None:
        if delete_data:
            self.check_table_protection(force)
        self.alarms()
        delete_roles(self.specs, self.client, self.report)
        self.alarm_topic()
        self.dead_letter_queues()
        self.log_groups()
        if self.specs["fetch"]:
            self.api_key_parameter()
        if self.specs["archive_link_key"]:
            self.parameter("link key parameter", self.specs["archive_link_key"]["parameter"])
        if delete_data:
            self.bucket()
            self.table(force)
        else:
            self.report(
                "bucket", str(self.specs["bucket"]["name"]), f"{KEPT} (with its data; --delete-data removes it)"
            )
            self.report("table", self.specs["table"]["name"], f"{KEPT} (with its data; --delete-data removes it)")
        self.report("ses identity", str(self.specs["email_identity"]["email"]), f"{KEPT} (stages may share it)")
        if delete_data:
            self.kms_key()  # last: the table, queues and topic were encrypted with it
        else:
            # The kept table is encrypted with the key: without it the table's data is unreadable.
            self.report("kms key", self.specs["kms_key"]["alias"], f"{KEPT} (the kept table is encrypted with it)")

    def check_table_protection(self, force: bool) -> None:
        name = self.specs["table"]["name"]
        try:
            table = self.client("dynamodb").describe_table(TableName=name)["Table"]
        except Exception as exc:
            if error_code(exc) not in _MISSING:
                raise
            return
        if table.get("DeletionProtectionEnabled") and not force:
            raise ValueError(
                f"table {name} has deletion protection on: nothing was deleted. "
                "Add --force to turn it off and delete the table with its data"
            )

    def alarms(self) -> None:
        cloudwatch = self.client("cloudwatch")
        names = [a["name"] for a in self.specs["alarms"]]
        existing = {a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]}
        if existing:
            cloudwatch.delete_alarms(AlarmNames=sorted(existing))
        for name in names:
            self.report("alarm", name, DELETED if name in existing else ABSENT)

    def alarm_topic(self) -> None:
        sns, name = self.client("sns"), self.specs["alarm_topic"]["name"]
        arns = [t["TopicArn"] for t in pages(sns, "list_topics", "Topics") if t["TopicArn"].rsplit(":", 1)[1] == name]
        if not arns:
            self.report("alarm topic", name, ABSENT)
            return
        for sub in pages(sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=arns[0]):
            arn = sub["SubscriptionArn"]
            if arn.startswith("arn:"):  # "PendingConfirmation" ones go with the topic
                sns.unsubscribe(SubscriptionArn=arn)
                self.report("alarm subscription", sub.get("Endpoint", arn), DELETED)
        sns.delete_topic(TopicArn=arns[0])
        self.report("alarm topic", name, DELETED)

    def dead_letter_queues(self) -> None:
        sqs = self.client("sqs")
        for spec in self.specs["dead_letter_queues"].values():
            self._delete_or_absent(
                "dead-letter queue",
                spec["name"],
                lambda name=spec["name"]: sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"]),
            )

    def log_groups(self) -> None:
        logs = self.client("logs")
        for group in self.specs["log_groups"].values():
            self._delete_or_absent(
                "log group", group["name"], lambda name=group["name"]: logs.delete_log_group(logGroupName=name)
            )

    def api_key_parameter(self) -> None:
        self.parameter("api key parameter", self.specs["fetch"]["api_key_parameter"])

    def parameter(self, kind: str, name: str) -> None:
        self._delete_or_absent(kind, name, lambda: self.client("ssm").delete_parameter(Name=name))

    def _delete_or_absent(self, kind: str, name: str, delete: Callable[[], Any]) -> None:
        """Run `delete`; a resource that is already gone is reported `absent`, any other error raised."""
        try:
            delete()
        except Exception as exc:
            if error_code(exc) not in _MISSING:
                raise
            self.report(kind, name, ABSENT)
            return
        self.report(kind, name, DELETED)

    def bucket(self) -> None:
        s3, name = self.client("s3"), self.specs["bucket"]["name"]
        try:
            s3.head_bucket(Bucket=name)
        except Exception as exc:
            if error_code(exc) not in (*_MISSING, "404"):
                raise
            self.report("bucket", str(name), ABSENT)
            return
        removed = 0
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            batch = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            for start in range(0, len(batch), 1000):  # DeleteObjects takes at most 1,000 keys
                s3.delete_objects(Bucket=name, Delete={"Objects": batch[start : start + 1000], "Quiet": True})
            removed += len(batch)
        s3.delete_bucket(Bucket=name)
        self.report("bucket", name, f"{DELETED} ({removed} object versions and delete markers)")

    def table(self, force: bool) -> None:
        ddb, name = self.client("dynamodb"), self.specs["table"]["name"]
        try:
            table = ddb.describe_table(TableName=name)["Table"]
        except Exception as exc:
            if error_code(exc) not in _MISSING:
                raise
            self.report("table", name, ABSENT)
            return
        if table.get("DeletionProtectionEnabled") and force:
            ddb.update_table(TableName=name, DeletionProtectionEnabled=False)
        ddb.delete_table(TableName=name)
        self.report("table", name, DELETED)

    def kms_key(self) -> None:
        kms, spec = self.client("kms"), self.specs["kms_key"]
        aliases = {a["AliasName"]: a.get("TargetKeyId") for a in pages(kms, "list_aliases", "Aliases")}
        if spec["alias"] not in aliases:
            self.report("kms key", spec["alias"], ABSENT)
            return
        key_id = aliases[spec["alias"]]
        state = kms.describe_key(KeyId=key_id)["KeyMetadata"].get("KeyState")
        kms.delete_alias(AliasName=spec["alias"])
        if state == "PendingDeletion":
            self.report("kms key", spec["alias"], "alias deleted (key already pending deletion)")
            return
        days = spec["deletion_window_days"]
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=days)
        self.report("kms key", spec["alias"], f"scheduled for deletion in {days} days")
