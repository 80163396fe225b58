"""The bootstrap's resource steps: each makes one AWS resource match `infra.resources`' specs.

`Bootstrap.resources()` runs before `chalice deploy`, `Bootstrap.wire()` after it; the command
line, the settings file and the `.chalice/` files are `infra.bootstrap`'s. No step prints: each
tells its `report` callback what it had to do (`created`, `updated` or `unchanged`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib.aws import error_code
from infra.monitoring import Monitoring
from infra.policies import key_policy
from infra.steps import CREATED, UNCHANGED, UPDATED, canonical, pages, same, unless_missing
from infra.table import index_definition, table_attributes, table_definition


class Bootstrap(Monitoring):
    """Each step makes one resource match `specs` and says what it had to do."""

    def __init__(
        self,
        specs: dict[str, Any],
        client: Callable[[str], Any],
        report: Callable[[str, str, str], None],
        account: str = "",
        partition: str = "aws",
    ):
        self.specs = specs
        self.client = client
        self.report = report
        self.account = account
        self.partition = partition

    # -- before deploy -----------------------------------------------------------------------
    def resources(self, api_key: str | None = None) -> str:
        """Every resource to its definition; returns the table's stream ARN. `api_key`: the
        Twelve Data key to keep in the fetch's SecureString parameter (None: leave it as it is)."""
        self.key_arn = self.kms_key()
        self.bucket()
        stream_arn = self.table()
        self.email_identity()
        self.dead_letter_queues()
        self.log_groups()
        topic_arn = self.alarm_topic()
        self.alarm_subscription(topic_arn)
        self.alarms(topic_arn)
        if self.specs["fetch"]:
            self.api_key_parameter(api_key)
        if self.specs["archive_link_key"]:
            self.archive_link_key()
        return stream_arn

    def archive_link_key(self) -> None:
        """The SecureString whose key signs the email's archive links: a random value, made once and
        never overwritten (a new value ends every link already sent); never printed."""
        import secrets

        ssm, name = self.client("ssm"), self.specs["archive_link_key"]["parameter"]
        current = unless_missing("ParameterNotFound", lambda: ssm.get_parameter(Name=name))
        if current is not None:
            self.report("link key parameter", name, UNCHANGED)
            return
        ssm.put_parameter(
            Name=name,
            Description="Signs the report emails' archive links (chalicelib.archive_access)",
            Value=secrets.token_urlsafe(36),
            Type="SecureString",
            KeyId=self.specs["kms_key"]["alias"],  # the app's key, which notify and the API may decrypt with
        )
        self.report("link key parameter", name, CREATED)

    def api_key_parameter(self, api_key: str | None) -> None:
        """The fetch's Twelve Data key as an SSM SecureString (never printed): written from the
        value given, or checked for and explained when none is given."""
        ssm, name = self.client("ssm"), self.specs["fetch"]["api_key_parameter"]
        current = unless_missing("ParameterNotFound", lambda: ssm.get_parameter(Name=name, WithDecryption=True))
        current = current and current["Parameter"]
        if api_key is None:
            if current is None:
                self.report(
                    "api key parameter",
                    name,
                    "MISSING: the fetch cannot run until you store the key "
                    f"(aws ssm put-parameter --name {name} --type SecureString --value YOUR_KEY, "
                    "or --twelvedata-key-env VAR)",
                )
            else:
                self.report("api key parameter", name, UNCHANGED)
            return
        if current is not None and current.get("Type") == "SecureString" and current.get("Value") == api_key:
            self.report("api key parameter", name, UNCHANGED)
            return
        ssm.put_parameter(Name=name, Value=api_key, Type="SecureString", Overwrite=True)
        self.report("api key parameter", name, CREATED if current is None else UPDATED)

    def kms_key(self) -> str:
        kms, spec = self.client("kms"), self.specs["kms_key"]
        aliases = {a["AliasName"]: a.get("TargetKeyId") for a in pages(kms, "list_aliases", "Aliases")}
        policy = json.dumps(key_policy(spec["service_principals"], f"arn:{self.partition}:iam::{self.account}:root"))
        if spec["alias"] in aliases:
            key_id, outcome = aliases[spec["alias"]], UNCHANGED
        else:
            key_id = kms.create_key(Description=spec["description"], Policy=policy)["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName=spec["alias"], TargetKeyId=key_id)
            outcome = CREATED
        if not kms.get_key_rotation_status(KeyId=key_id).get("KeyRotationEnabled"):
            kms.enable_key_rotation(KeyId=key_id)
            outcome = outcome if outcome == CREATED else UPDATED
        self.report("kms key", spec["alias"], outcome)
        return kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]

    def bucket(self) -> None:
        s3, spec = self.client("s3"), self.specs["bucket"]
        name = spec["name"]
        outcome = UNCHANGED
        try:
            s3.head_bucket(Bucket=name)
        except Exception as exc:
            if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise
            region = s3.meta.region_name
            extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            s3.create_bucket(Bucket=name, ObjectOwnership=spec["object_ownership"], **extra)
            outcome = CREATED
        wanted_block = {
            k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
        }
        try:
            current_block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        except Exception:
            current_block = {}
        if current_block != wanted_block:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=wanted_block)
            outcome = outcome if outcome == CREATED else UPDATED
        wanted_sse = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": spec["sse_algorithm"]}}]}
        try:
            rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
            current_sse = [r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in rules]
        except Exception:
            current_sse = []
        if current_sse != [spec["sse_algorithm"]]:
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=wanted_sse)
            outcome = outcome if outcome == CREATED else UPDATED
        if spec["versioning"] and s3.get_bucket_versioning(Bucket=name).get("Status") != "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            outcome = outcome if outcome == CREATED else UPDATED
        wanted_rules = [_s3_lifecycle_rule(rule) for rule in spec["lifecycle_rules"]]
        try:
            current_rules = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
        except Exception:
            current_rules = []
        if canonical(current_rules) != canonical(wanted_rules):
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": wanted_rules})
            outcome = outcome if outcome == CREATED else UPDATED
        self.report("bucket", name, outcome)
        self.notification_prerequisites(name, spec["input_prefix"])

    def notification_prerequisites(self, bucket: str, prefix: str) -> None:
        """S3 refuses two notifications whose prefixes overlap for the same events: find any that
        would make Chalice's `inputs/` notification fail at deploy time (its own is fine)."""
        config = self.client("s3").get_bucket_notification_configuration(Bucket=bucket)
        ours = self.specs["functions"]["ingest"]["function_name"]
        clashes = []
        for kind in ("LambdaFunctionConfigurations", "QueueConfigurations", "TopicConfigurations"):
            for entry in config.get(kind, []):
                target = entry.get("LambdaFunctionArn") or entry.get("QueueArn") or entry.get("TopicArn") or ""
                rules = entry.get("Filter", {}).get("Key", {}).get("FilterRules", [])
                other = next((r["Value"] for r in rules if r.get("Name", "").lower() == "prefix"), "")
                created = any(e.startswith("s3:ObjectCreated") for e in entry.get("Events", []))
                overlaps = prefix.startswith(other) or other.startswith(prefix)
                if created and overlaps and not target.endswith(f":function:{ours}"):
                    clashes.append(f"{target} on prefix {other!r}")
        if clashes:
            self.report("s3 notification", bucket, "CONFLICT: " + "; ".join(clashes))
            raise SystemExit(
                f"bucket {bucket} already sends ObjectCreated events under {prefix!r} elsewhere "
                f"({'; '.join(clashes)}); S3 refuses overlapping notifications, so chalice deploy "
                "would fail: remove them or give them a prefix outside the input prefix"
            )
        self.report("s3 notification", bucket, "ready for chalice deploy")

    def table(self) -> str:
        ddb, spec = self.client("dynamodb"), self.specs["table"]
        outcome = UNCHANGED
        try:
            table = ddb.describe_table(TableName=spec["name"])["Table"]
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            ddb.create_table(
                **table_definition(spec),
                SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": self.key_arn},
                DeletionProtectionEnabled=spec["deletion_protection"],
                Tags=[{"Key": k, "Value": v} for k, v in self.specs["tags"].items()],
            )
            ddb.get_waiter("table_exists").wait(TableName=spec["name"], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
            table = ddb.describe_table(TableName=spec["name"])["Table"]
            outcome = CREATED
        stream = table.get("StreamSpecification") or {}
        if not stream.get("StreamEnabled") or stream.get("StreamViewType") != spec["stream_view_type"]:
            raise SystemExit(
                f"table {spec['name']} exists without a {spec['stream_view_type']} stream; "
                "enable it (update-table --stream-specification) and run again"
            )
        if spec["point_in_time_recovery"]:
            backups = ddb.describe_continuous_backups(TableName=spec["name"])["ContinuousBackupsDescription"]
            status = (backups.get("PointInTimeRecoveryDescription") or {}).get("PointInTimeRecoveryStatus")
            if status != "ENABLED":
                ddb.update_continuous_backups(
                    TableName=spec["name"], PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
                )
                outcome = outcome if outcome == CREATED else UPDATED
        if self._add_missing_indexes(ddb, spec, table):
            outcome = outcome if outcome == CREATED else UPDATED
        self.report("table", spec["name"], outcome)
        return table["LatestStreamArn"]

    def _add_missing_indexes(self, ddb: Any, spec: dict[str, Any], table: dict[str, Any]) -> bool:
        """Add the indexes a table made before them lacks (one UpdateTable each: DynamoDB takes one
        index creation per call); True if any was added. The index backfills in the background:
        the API's listing is complete once it is ACTIVE."""
        present = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes") or []}
        added = False
        for index in spec.get("indexes") or []:
            if index["name"] in present:
                continue
            ddb.update_table(
                TableName=spec["name"],
                AttributeDefinitions=[{"AttributeName": n, "AttributeType": k} for n, k in table_attributes(spec)],
                GlobalSecondaryIndexUpdates=[{"Create": index_definition(index)}],
            )
            added = True
        return added

    def email_identity(self) -> None:
        ses, email = self.client("ses"), self.specs["email_identity"]["email"]
        known = set(pages(ses, "list_identities", "Identities", IdentityType="EmailAddress"))
        if email in known:
            self.report("ses identity", email, UNCHANGED)
            return
        ses.verify_email_identity(EmailAddress=email)
        self.report("ses identity", email, f"{CREATED} (check the inbox of {email} for the verification link)")

    # -- after deploy ------------------------------------------------------------------------
    def wire(self, notify_environment: dict[str, str] | None = None) -> None:
        """After `chalice deploy`: dead-letter queues, the environment's key, the stream mapping's
        failure handling, and `notify_environment` (the archive's URL, known only now) on notify."""
        lam, sqs = self.client("lambda"), self.client("sqs")
        queue_arns = {
            fn: sqs.get_queue_attributes(
                QueueUrl=sqs.get_queue_url(QueueName=q["name"])["QueueUrl"], AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
            for fn, q in self.specs["dead_letter_queues"].items()
        }
        # The functions' environment is encrypted with the app's key, as the Terraform package does
        # (Chalice has no setting for it); each role may decrypt with it (AppKey in infra.policies).
        key_arn = self.client("kms").describe_key(KeyId=self.specs["kms_key"]["alias"])["KeyMetadata"]["Arn"]
        for function in self.specs["functions"].values():
            name = function["function_name"]
            config = lam.get_function_configuration(FunctionName=name)
            changes: dict[str, Any] = {}
            rows = []
            if function["dead_letter_queue"] is not None:  # the API handler: invoked synchronously, no queue
                target = queue_arns[function["dead_letter_queue"]]
                matches = (config.get("DeadLetterConfig") or {}).get("TargetArn") == target
                if not matches:
                    changes["DeadLetterConfig"] = {"TargetArn": target}
                rows.append(("dead-letter config", UNCHANGED if matches else UPDATED))
            matches = config.get("KMSKeyArn") == key_arn
            if not matches:
                changes["KMSKeyArn"] = key_arn
            rows.append(("environment key", UNCHANGED if matches else UPDATED))
            if notify_environment and function is self.specs["functions"].get("notify"):
                variables = (config.get("Environment") or {}).get("Variables") or {}
                matches = all(variables.get(k) == v for k, v in notify_environment.items())
                if not matches:
                    changes["Environment"] = {"Variables": {**variables, **notify_environment}}
                rows.append(("archive url", UNCHANGED if matches else UPDATED))
            if changes:
                lam.update_function_configuration(FunctionName=name, **changes)
            for kind, outcome in rows:
                self.report(kind, name, outcome)
        mapping_spec = self.specs["stream_mapping"]
        function_name = self.specs["functions"][mapping_spec["function"]]["function_name"]
        mappings = lam.list_event_source_mappings(FunctionName=function_name)["EventSourceMappings"]
        if not mappings:
            raise SystemExit(f"{function_name} has no stream mapping: run chalice deploy first")
        wanted = {
            "BisectBatchOnFunctionError": mapping_spec["bisect_batch_on_function_error"],
            "MaximumRetryAttempts": mapping_spec["maximum_retry_attempts"],
            "FunctionResponseTypes": mapping_spec["function_response_types"],
            "DestinationConfig": {"OnFailure": {"Destination": queue_arns[mapping_spec["on_failure_queue"]]}},
            "FilterCriteria": {"Filters": [{"Pattern": json.dumps(mapping_spec["filter_pattern"], sort_keys=True)}]},
        }
        for mapping in mappings:
            if all(same(mapping.get(k), v) for k, v in wanted.items()):
                self.report("stream mapping", mapping["UUID"], UNCHANGED)
            else:
                lam.update_event_source_mapping(UUID=mapping["UUID"], **wanted)
                self.report("stream mapping", mapping["UUID"], UPDATED)


def _s3_lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"ID": rule["id"], "Status": "Enabled", "Filter": {"Prefix": rule["prefix"]}}
    if "expiration_days" in rule:
        body["Expiration"] = {"Days": rule["expiration_days"]}
    if rule.get("expired_object_delete_marker"):
        body["Expiration"] = {"ExpiredObjectDeleteMarker": True}
    if "transition_days" in rule:
        body["Transitions"] = [{"Days": rule["transition_days"], "StorageClass": rule["storage_class"]}]
    if "noncurrent_version_expiration_days" in rule:
        body["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule["noncurrent_version_expiration_days"]}
    if "abort_incomplete_upload_days" in rule:
        body["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": rule["abort_incomplete_upload_days"]}
    return body
