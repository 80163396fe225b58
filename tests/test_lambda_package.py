"""The deployment zip runs the pipeline on its own, as Lambda's python3.13 runtime runs it.

The zip `make package` builds is unpacked and each registered handler runs in a separate, isolated
Python 3.13 (`-I -S`: no site-packages, no virtualenv, no PYTHON* variables) whose `sys.path` is
what Lambda gives a function: the task root, then the runtime's AWS SDK
(requirements-lambda-runtime.txt), then the standard library. A module, compiled part or
dependency the zip lacks fails here even when the virtualenv has it. Events are the real ones of a
moto server on loopback: the upload's S3 notification, the `IngestorCompleted` event ingest
published (an EventBridge rule copies it to an SQS queue), the table's stream record.
"""

from __future__ import annotations

import email
import email.header
import email.utils
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import orjson
import pytest

from tests.conftest import REPO, lambda_runtime_sdk, moto_server

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "stock-insights-zip"
TABLE = "stock-insights-zip-analyses"
SENDER = "reports@example.com"
RECIPIENTS = ("analyst@example.com", "desk@example.com")

# Lambda's bootstrap in miniature: import the handler's module, call the function the handler
# string names with the event and a context object; print the result as the last line.
_RUNNER = """
import importlib, json, sys, time, uuid
task_root, sdk, handler, name = sys.argv[1:5]
sys.path[:0] = [task_root, sdk]  # the standard library stays last, as on Lambda
event = json.loads(sys.stdin.read())

class Context:
    function_name = name
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + name
    aws_request_id = str(uuid.uuid4())
    log_group_name = "/aws/lambda/" + name
    log_stream_name = "test"
    _deadline = time.monotonic() + 300
    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))

module_name, function_name = handler.rsplit(".", 1)
function = getattr(importlib.import_module(module_name), function_name)
result = function(event, Context())
import boto3, botocore
outside = [m.__file__ for m in list(sys.modules.values())
           if getattr(m, "__file__", None) and not m.__file__.startswith((task_root, sdk, sys.base_prefix))]
print(json.dumps({"result": result, "botocore": botocore.__file__, "outside": outside}, default=str))
"""


def base_python() -> str:
    """The Python 3.13 the virtualenv was made from, not the virtualenv's own."""
    return getattr(sys, "_base_executable", None) or sys.executable


def _handlers(package: Path) -> dict[str, str]:
    """Function name -> handler string, as the package's Terraform gives them to Lambda."""
    doc = json.loads((package / "chalice.tf.json").read_text())
    functions = doc["resource"]["aws_lambda_function"]
    return {name: spec["handler"] for name, spec in functions.items()}


def _invoke(task_root: Path, sdk: Path, handler: str, name: str, event: dict, env: dict) -> dict:
    proc = subprocess.run(
        [base_python(), "-I", "-S", "-c", _RUNNER, str(task_root), str(sdk), handler, name],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, f"{handler} failed in the isolated runtime:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _drain(sqs, url: str) -> list[dict]:
    bodies = []
    for _ in range(5):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for message in messages:
            bodies.append(orjson.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def _queue(sqs, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


@pytest.mark.slow
def test_the_deployment_zip_runs_the_pipeline_in_an_isolated_python313(terraform_package, tmp_path, monkeypatch):
    import boto3

    from chalicelib.models import INGESTOR_COMPLETED, INGESTOR_SOURCE
    from infra.resources import resource_specs
    from infra.table import table_definition
    from sandbox.lambda_runtime import jsonable

    probe = subprocess.run([base_python(), "-I", "-S", "-c", "import sys; print(sys.version_info[:2])"], **_text())
    assert probe.stdout.strip() == "(3, 13)", f"{base_python()} is not Python 3.13"
    task_root = tmp_path / "task"
    with zipfile.ZipFile(terraform_package / "deployment.zip") as package:
        package.extractall(task_root)
    sdk = lambda_runtime_sdk()
    handlers = _handlers(terraform_package)

    with moto_server(monkeypatch) as endpoint:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }.items():
            monkeypatch.setenv(name, value)
        s3, sqs, events = boto3.client("s3"), boto3.client("sqs"), boto3.client("events")
        ddb, streams, ses = boto3.client("dynamodb"), boto3.client("dynamodbstreams"), boto3.client("ses")
        s3.create_bucket(Bucket=BUCKET)
        uploads_url, uploads_arn = _queue(sqs, "uploads")
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": uploads_arn,
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "inputs/"}]}},
                    }
                ]
            },
        )
        published_url, published_arn = _queue(sqs, "published")
        pattern = {"source": [INGESTOR_SOURCE], "detail-type": [INGESTOR_COMPLETED], "detail": {"bucket": [BUCKET]}}
        events.put_rule(Name="completed", EventPattern=json.dumps(pattern))
        events.put_targets(Rule="completed", Targets=[{"Id": "analyze", "Arn": published_arn}])
        table = {**resource_specs()["table"], "name": TABLE}
        stream_arn = ddb.create_table(**table_definition(table))["TableDescription"]["LatestStreamArn"]
        ses.verify_email_identity(EmailAddress=SENDER)
        _drain(sqs, uploads_url)  # S3's test notification

        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "AWS_LAMBDA_FUNCTION_NAME": "stock-insights-dev",
            "BUCKET_NAME": BUCKET,
            "TABLE_NAME": TABLE,
            "EVENT_BUS_NAME": "default",
            "ANALYSES_STREAM_ARN": stream_arn,
            "SENDER_EMAIL": SENDER,
            "RECIPIENT_EMAILS": ",".join(RECIPIENTS),
            "INSIGHTS_PROVIDER": "offline",
            "POWERTOOLS_METRICS_NAMESPACE": "StockInsights",
        }

        body = (REPO / "sandbox" / "samples" / "twelvedata_5_stocks_1day.json").read_bytes()
        s3.put_object(Bucket=BUCKET, Key="inputs/twelvedata_5_stocks_1day.json", Body=body)
        (upload,) = _drain(sqs, uploads_url)
        ingested = _invoke(task_root, sdk, handlers["ingest"], "ingest", upload, env)
        assert ingested["outside"] == [], "the handler imported modules from outside the task root and runtime"
        # The package's own SDK (requirements.txt), not the runtime's, serves the handlers.
        assert ingested["botocore"].startswith(str(task_root)), ingested["botocore"]
        assert any(k["Key"].startswith("processed/") for k in s3.list_objects_v2(Bucket=BUCKET)["Contents"])

        published = _drain(sqs, published_url)
        assert len(published) == 1, published
        completed = {**published[0], "account": ACCOUNT}  # Lambda's copy carries it; moto's SQS copy does not
        _invoke(task_root, sdk, handlers["analyze"], "analyze", completed, env)

        shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
        assert records, "analyze wrote nothing to the table"
        batch = {"Records": [jsonable({**r, "eventSourceARN": stream_arn}) for r in records]}
        notified = _invoke(task_root, sdk, handlers["notify"], "notify", batch, env)
        assert notified["result"] == {"batchItemFailures": []}

        # The moto server keeps its state in this process: the raw messages SES accepted.
        from moto.ses.models import ses_backends

        raw = [m.raw_data for m in ses_backends[ACCOUNT][REGION].sent_messages if getattr(m, "raw_data", None)]
        assert len(raw) == 1, f"{len(raw)} emails reached SES"
        message = email.message_from_string(raw[0])
        assert email.utils.parseaddr(message["From"])[1] == SENDER
        assert sorted(a for _, a in email.utils.getaddresses(message.get_all("To", []))) == sorted(RECIPIENTS)
        subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
        assert subject.startswith("Stock Insights · Fri 1 Mar 2013 · "), subject  # the sample's last session
        assert " of 5 up" in subject or "Neutral" in subject, subject


def _text() -> dict:
    return {"capture_output": True, "text": True, "timeout": 60}
