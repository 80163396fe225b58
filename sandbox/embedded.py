"""An embedded AWS account (moto, in-process) wired the way the deployed app is wired.

The sandbox reads the event sources Chalice registered in `app.py` and delivers events as
Lambda would: S3 notifications go to an SQS queue that is polled; an EventBridge rule with the
handler's own pattern targets a second queue; the table's stream is read with
`dynamodbstreams`. Each delivery calls the very handler object Chalice registered.
"""

from __future__ import annotations

import functools
import importlib
import io
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from sandbox import emulator_fidelity, emulator_speed, lambda_limits
from sandbox.lambda_limits import Invocation, LambdaLimitExceeded
from sandbox.lambda_runtime import (
    Delivery,
    LambdaContext,
    function_config,
    matches,
    matches_filter,
    stream_record,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "stock-insights-sandbox"
TABLE = "stock-insights-sandbox-analyses"
BUS = "default"
SENDER = "reports@example.com"
RECIPIENTS = ("analyst@example.com",)
_LAMBDA_ASYNC_ATTEMPTS = 3  # one try and two retries, as Lambda does for asynchronous events
_STREAM_ATTEMPTS = 4  # the sandbox's stand-in for the mapping's maximum_retry_attempts
_STREAM_PAGE = 1000  # records a GetRecords call returns at most (DynamoDB Streams API Reference)
_SANDBOX_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # moto's in-process DynamoDB Streams reads fail with account-id endpoints (botocore >= 1.44.4).
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    # Plain request bodies in the embedded account: botocore's default aws-chunked CRC wrapper is
    # read whole (and moto decodes it) by growing a bytes object 1 MiB at a time, quadratic in the
    # body: about 30 of 46 s of a 1,000,000-bar run. Real AWS clients (the deployed app) keep it.
    "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
    "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
    # moto keeps an object in memory up to this size, else spools it to a temporary file: the
    # sandbox's objects are the user's files and their outputs, so keep them in memory.
    "MOTO_S3_DEFAULT_KEY_BUFFER_SIZE": str(2**31),
    "BUCKET_NAME": BUCKET,
    "TABLE_NAME": TABLE,
    "EVENT_BUS_NAME": BUS,
    "SENDER_EMAIL": SENDER,
    "RECIPIENT_EMAILS": ",".join(RECIPIENTS),
    "POWERTOOLS_METRICS_NAMESPACE": "StockInsights",
}
_UNSET = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


@dataclass
class EmbeddedAWS:
    """A fresh moto account with the app's resources; use as a context manager."""

    app_module: Any = None
    bedrock_client: Any = None  # a real bedrock-runtime client: insights from Bedrock, not offline
    deliveries: list[Delivery] = field(default_factory=list)
    # What Lambda counts as a failed invocation besides `Exception`: the chaos suite's simulated
    # process deaths (BaseException subclasses that skip every `except Exception`).
    crash_types: tuple[type[BaseException], ...] = ()
    # Called before every retry with (handler name, attempt number): the chaos suite's clock moves
    # on by Lambda's retry delay there.
    on_retry: Callable[[str, int], None] | None = None
    stream_attempts: int = _STREAM_ATTEMPTS
    # Each delivery fails, as in Lambda, when its handler passes the function's memory size or
    # timeout from `.chalice/config.json` (`sandbox/lambda_limits.py`).
    enforce_limits: bool = True
    _mock: Any = None
    _speed: Any = None
    _excluded: Any = None
    _fidelity: Any = None
    _saved_env: dict = field(default_factory=dict)
    _clients: dict = field(default_factory=dict)  # the sandbox's own clients, one per service

    def __enter__(self) -> EmbeddedAWS:
        for name in list(_SANDBOX_ENV) + list(_UNSET):
            self._saved_env[name] = os.environ.get(name)
        self._saved_env["INSIGHTS_PROVIDER"] = os.environ.get("INSIGHTS_PROVIDER")
        for name in _UNSET:
            os.environ.pop(name, None)
        os.environ.update(_SANDBOX_ENV)
        os.environ["INSIGHTS_PROVIDER"] = "bedrock" if self.bedrock_client is not None else "offline"
        from moto import mock_aws

        self._mock = mock_aws()
        self._mock.start()
        self._speed = emulator_speed.fast_big_objects()
        self._speed.__enter__()
        self._excluded = lambda_limits.emulator_excluded()  # moto's own memory is not a handler's
        self._excluded.__enter__()
        self._fidelity = emulator_fidelity.s3_notifications_as_on_aws()
        self._fidelity.__enter__()
        from chalicelib import aws
        from chalicelib.config import get_settings

        aws.reset_clients()
        get_settings.cache_clear()
        if self.bedrock_client is not None:
            # moto hooks every botocore client; this one must reach the real Bedrock endpoint.
            from moto.core.models import botocore_stubber

            self.bedrock_client.meta.events.unregister("before-send", botocore_stubber)
            aws.set_bedrock_runtime(self.bedrock_client)
        self.app_module = sys.modules.get("app") or importlib.import_module("app")
        self._create_resources()
        return self

    def __exit__(self, *exc: Any) -> None:
        from chalicelib import aws
        from chalicelib.config import get_settings

        self._fidelity.__exit__(None, None, None)
        self._excluded.__exit__(None, None, None)
        self._speed.__exit__(None, None, None)
        self._mock.stop()
        self._clients.clear()
        aws.reset_clients()
        get_settings.cache_clear()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    # -- clients ---------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        """The sandbox's client for `service` (created once, inside the mock)."""
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.client(service, region_name=REGION)
        return self._clients[service]

    # -- resources -------------------------------------------------------------------------
    def _create_resources(self) -> None:
        from chalice.app import CloudWatchEventConfig, DynamoDBEventConfig, S3EventConfig

        s3, events = self.client("s3"), self.client("events")
        s3.create_bucket(Bucket=BUCKET)
        self.handlers: dict[str, Callable] = {}
        self.s3_queue = self.cw_queue = None
        self.stream_arn = None
        self.stream_handler = None
        self.cw_handlers: list[tuple[dict, str]] = []
        self._stream_backlog: list[dict] = []
        self._stream_filter: dict = {}  # the notify mapping's filter, once the table exists
        self._stream_attempts: dict[str, int] = {}
        for source in self.app_module.app.event_sources:
            handler = getattr(self.app_module, source.handler_string.split(".")[-1])
            self.handlers[source.name] = handler
            if isinstance(source, S3EventConfig):
                self.s3_queue = self._queue("s3-notifications")
                self.s3_handler = source.name
                rule = {"Name": "prefix", "Value": source.prefix or ""}
                s3.put_bucket_notification_configuration(
                    Bucket=BUCKET,
                    NotificationConfiguration={
                        "QueueConfigurations": [
                            {
                                "QueueArn": self._queue_arn(self.s3_queue),
                                "Events": source.events,
                                "Filter": {"Key": {"FilterRules": [rule]}},
                            }
                        ]
                    },
                )
            elif isinstance(source, CloudWatchEventConfig):
                self.cw_queue = self.cw_queue or self._queue("eventbridge-targets")
                rule_name = f"sandbox-{source.name}"
                pattern = _pattern_for_bucket(source.event_pattern)
                events.put_rule(Name=rule_name, EventPattern=orjson.dumps(pattern).decode(), EventBusName=BUS)
                # An SQS target, not a Lambda one: moto's put_events fails on Lambda targets.
                events.put_targets(
                    Rule=rule_name,
                    EventBusName=BUS,
                    Targets=[{"Id": source.name, "Arn": self._queue_arn(self.cw_queue)}],
                )
                self.cw_handlers.append((pattern, source.name))
            elif isinstance(source, DynamoDBEventConfig):
                self.stream_handler = source.name
                self.stream_batch_size = source.batch_size
        self._create_table()
        self.client("ses").verify_email_identity(EmailAddress=SENDER)
        # Drain the test notification S3 sends when the configuration is written.
        self._drain(self.s3_queue)

    def _create_table(self) -> None:
        from infra.resources import resource_specs
        from infra.table import table_definition

        specs = resource_specs()
        table = {**specs["table"], "name": TABLE}  # the deployed table's definition
        self._stream_filter = specs["stream_mapping"]["filter_pattern"]  # as the mapping's FilterCriteria
        response = self.client("dynamodb").create_table(**table_definition(table))
        self.stream_arn = response["TableDescription"]["LatestStreamArn"]
        streams = self.client("dynamodbstreams")
        shards = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        self._shard_iterators = {
            s["ShardId"]: streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=s["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for s in shards
        }

    def _queue(self, name: str) -> str:
        return self.client("sqs").create_queue(QueueName=f"sandbox-{name}")["QueueUrl"]

    def _queue_arn(self, url: str) -> str:
        return self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    def _drain(self, url: str | None) -> list[dict]:
        if url is None:
            return []
        sqs = self.client("sqs")
        bodies = []
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(orjson.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    # -- uploads and delivery ------------------------------------------------------------
    def upload(self, key: str, body: bytes) -> str:
        """Put an object as a user would; returns its ETag (unquoted)."""
        return self.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)["ETag"].strip('"')

    def run_until_idle(self, max_rounds: int = 100, copies: int = 1) -> list[Delivery]:
        """Deliver every pending event, including those the deliveries cause, until none are left.

        With `copies` > 1 each event is delivered that many times at once, from as many threads:
        the duplicates at-least-once delivery may hand to concurrent invocations.
        """
        done: list[Delivery] = []
        for _ in range(max_rounds):
            batch = self._pending()
            if not batch:
                return done
            for handler_name, event in batch:
                if copies == 1:
                    done.append(self._invoke(handler_name, event))
                else:
                    done += self._invoke_concurrently(handler_name, event, copies)
        raise RuntimeError(f"pipeline still busy after {max_rounds} rounds")

    def _invoke_concurrently(self, handler_name: str, event: dict, copies: int) -> list[Delivery]:
        import copy
        import threading

        found: list[Delivery] = []

        def deliver(copied: dict) -> None:
            found.append(self._invoke(handler_name, copied))

        threads = [threading.Thread(target=deliver, args=(copy.deepcopy(event),)) for _ in range(copies)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return found

    def _pending(self) -> list[tuple[str, dict]]:
        pending: list[tuple[str, dict]] = []
        for body in self._drain(self.s3_queue):
            if body.get("Event") == "s3:TestEvent" or "Records" not in body:
                continue
            pending.append((self.s3_handler, body))
        for body in self._drain(self.cw_queue):
            body.setdefault("account", ACCOUNT)  # Lambda's EventBridge events carry it; moto's SQS copy does not
            for pattern, name in self.cw_handlers:
                if matches(pattern, body):
                    pending.append((name, body))
        if self.stream_handler:
            if self._stream_backlog and self.on_retry:
                self.on_retry(self.stream_handler, 1 + max(self._stream_attempts.values(), default=0))
            records = self._stream_backlog + self._read_stream()
            self._stream_backlog = []
            for start in range(0, len(records), self.stream_batch_size):
                pending.append((self.stream_handler, {"Records": records[start : start + self.stream_batch_size]}))
        return pending

    def _read_stream(self) -> list[dict]:
        """The stream's new records that pass the mapping's filter, as Lambda's poller hands them
        over. Read from moto's stream backend, where they already are in the stream's wire form:
        through GetRecords, moto's serializer walked every attribute of every image (the
        per-symbol items of a 200-symbol analysis: about 2.5 s of a 1,000,000-bar run)."""
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        backend = dynamodbstreams_backends[ACCOUNT][REGION]
        records = []
        for shard_id, iterator in list(self._shard_iterators.items()):
            while True:  # every page: a full one the filter emptied must not end the run as idle
                response = backend.get_records(iterator, _STREAM_PAGE)
                iterator = self._shard_iterators[shard_id] = response.get("NextShardIterator") or iterator
                page = response.get("Records", [])
                kept = (record for record in page if matches_filter(self._stream_filter, record))
                records += [stream_record(record, self.stream_arn) for record in kept]
                if len(page) < _STREAM_PAGE:
                    break
        return records

    def _invoke(self, handler_name: str, event: dict) -> Delivery:
        if handler_name == self.stream_handler:
            return self._invoke_stream(handler_name, event)
        delivery = Delivery(handler=handler_name, event=event)
        handler = self.handlers[handler_name]
        for attempt in range(1, _LAMBDA_ASYNC_ATTEMPTS + 1):
            delivery.attempts = attempt
            if attempt > 1 and self.on_retry:
                self.on_retry(handler_name, attempt)
            try:
                delivery.result = self._call(handler, handler_name, event)
                delivery.error = None
                break
            except (Exception, LambdaLimitExceeded, *self.crash_types) as exc:  # the CLI reports it, exits 1
                delivery.error = f"{type(exc).__name__}: {exc}"
                delivery.errors.append(delivery.error)
        delivery.dead_lettered = delivery.error is not None
        self.deliveries.append(delivery)
        return delivery

    def _invoke_stream(self, handler_name: str, event: dict) -> Delivery:
        """A stream batch as Lambda runs it with ReportBatchItemFailures: failed records come back."""
        delivery = Delivery(handler=handler_name, event=event, attempts=1)
        try:
            delivery.result = self._call(self.handlers[handler_name], handler_name, event)
        except (Exception, LambdaLimitExceeded, *self.crash_types) as exc:  # the whole batch failed: all retried
            delivery.error = f"{type(exc).__name__}: {exc}"
            delivery.errors.append(delivery.error)
            failed = {r["dynamodb"]["SequenceNumber"] for r in event["Records"]}
        else:
            failed = {f["itemIdentifier"] for f in (delivery.result or {}).get("batchItemFailures", [])}
            if failed:
                delivery.errors.append(f"batchItemFailures: {sorted(failed)}")
        for record in event["Records"]:
            sequence = record["dynamodb"]["SequenceNumber"]
            if sequence not in failed:
                continue
            self._stream_attempts[sequence] = self._stream_attempts.get(sequence, 0) + 1
            if self._stream_attempts[sequence] < self.stream_attempts:
                self._stream_backlog.append(record)
            else:
                delivery.dead_lettered = True
                delivery.error = (
                    delivery.error or f"stream record {sequence} still failing after {self.stream_attempts} attempts"
                )
        self.deliveries.append(delivery)
        return delivery

    def _call(self, handler: Callable, handler_name: str, event: dict) -> Any:
        """One invocation: the handler under its function's memory and timeout, when enforced."""
        context = self._context(handler_name)
        if not self.enforce_limits:
            return handler(event, context)
        config = function_config(handler_name)
        with Invocation(
            handler_name,
            config.get("lambda_memory_size", 128),
            config.get("lambda_timeout", 60),
            stored_bytes=functools.partial(lambda_limits.moto_s3_bytes, ACCOUNT),
        ):
            return handler(event, context)

    def _context(self, handler_name: str) -> LambdaContext:
        """A context with the function's own timeout and memory from `.chalice/config.json`."""
        config = function_config(handler_name)
        return LambdaContext(
            handler_name,
            config.get("lambda_timeout", 60),
            config.get("lambda_memory_size", 128),
            region=REGION,
            account=ACCOUNT,
        )

    def stored_objects(self) -> Iterator[tuple[str, memoryview]]:
        """(key, a view of its bytes) for every object in the bucket, in key order, as moto holds
        them (no copy where the sandbox stored them by sharing: `emulator_speed`, fix 7)."""
        from moto.s3.models import s3_backends

        bucket = s3_backends[ACCOUNT]["aws"].buckets[BUCKET]
        for name in sorted(bucket.keys.keys()):
            stored = bucket.keys[name]
            buffer = getattr(getattr(stored, "_value_buffer", None), "_file", None)
            # getvalue(): the bytes themselves when the buffer was made over them, else one copy
            yield name, memoryview(buffer.getvalue() if isinstance(buffer, io.BytesIO) else stored.value)

    def sent_emails(self) -> list[bytes]:
        """The raw MIME messages SES accepted, in order."""
        from moto.ses.models import ses_backends

        return [
            m.raw_data.encode() for m in ses_backends[ACCOUNT][REGION].sent_messages if getattr(m, "raw_data", None)
        ]


def _pattern_for_bucket(pattern: dict) -> dict:
    """The rule as `chalice deploy` makes it with BUCKET_NAME set to the sandbox's bucket: `app.py`
    reads the bucket filter when it is first imported, which in a test run may have been under
    another BUCKET_NAME."""
    detail = pattern.get("detail")
    if not isinstance(detail, dict) or "bucket" not in detail:
        return pattern
    return {**pattern, "detail": {**detail, "bucket": [BUCKET]}}
