"""Measure what one run of a workload uses: a generated file of that workload through the sandbox.

`measure(symbols, bars_per_symbol)` generates a Twelve Data multi-symbol file of that size
(`sandbox.bench_ingest.generate_input`), uploads it to an embedded account (`sandbox.embedded`),
runs the pipeline to idle and counts, per handler invocation: its duration (wall clock, rounded up
to the millisecond as Lambda bills; it includes the embedded AWS's own work, done in the same
thread, so it errs high), every AWS call the handler made (S3 requests and bytes by prefix,
DynamoDB request units from the items' sizes, events, emails), what it printed (its JSON logs and
EMF lines) and the custom metrics those EMF lines define. Then one view of each archive page
(through the very Lambda entry point API Gateway calls), and the Bedrock tokens of the run
(`sandbox.cost.measure_profile`: the real prompts, counted). The result is a `sandbox.bill.Measured`,
saved as JSON so a bill can be priced again without re-measuring (`sandbox cost --measured FILE`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import email
import email.policy
import json
import math
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from sandbox.bill import FunctionUse, Measured, round_up_ms

_STATE = threading.local()
_PAGES = ("/", "/reports", "/reports/{report_id}", "/symbols/{symbol}")


def _size(value: Any) -> int:
    """DynamoDB's size of an attribute value (names and values in UTF-8, numbers ~ their digits)."""
    if isinstance(value, dict) and len(value) == 1:
        ((kind, inner),) = value.items()
        if kind in ("S", "N"):
            return len(str(inner).encode())
        if kind == "B":
            return len(inner)
        if kind in ("BOOL", "NULL"):
            return 1
        if kind == "M":
            return 3 + sum(len(k.encode()) + _size(v) for k, v in inner.items())
        if kind == "L":
            return 3 + sum(_size(v) for v in inner)
        if kind in ("SS", "NS"):
            return sum(len(str(v).encode()) for v in inner)
    return len(orjson.dumps(value, default=str))


def item_size(item: dict) -> int:
    return sum(len(name.encode()) + _size(value) for name, value in item.items())


class _Counter:
    """What the handler running on this thread did, by handler name."""

    def __init__(self) -> None:
        self.calls: dict[str, list[tuple[str, str, dict, Any]]] = {}
        self.log_bytes: dict[str, int] = {}
        self.metrics: set[str] = set()
        self.seconds: dict[str, list[float]] = {}
        self._partial = ""

    def write(self, text: str) -> int:
        handler = getattr(_STATE, "handler", None)
        if handler is not None:
            self.log_bytes[handler] = self.log_bytes.get(handler, 0) + len(text.encode())
            self._partial += text
            *lines, self._partial = self._partial.split("\n")
            for line in lines:
                self._metrics_of(line)
        return len(text)

    def flush(self) -> None:
        pass

    def _metrics_of(self, line: str) -> None:
        if '"_aws"' not in line:
            return
        try:
            document = json.loads(line)
        except ValueError:
            return
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
            for dimensions in directive.get("Dimensions", [[]]):
                values = ",".join(f"{d}={document.get(d)}" for d in dimensions)
                for metric in directive.get("Metrics", []):
                    self.metrics.add(f"{directive.get('Namespace')}/{metric['Name']}[{values}]")


@contextlib.contextmanager
def _counting_calls(counter: _Counter):
    """Record every AWS call made while a handler runs (the sandbox's own calls are not counted)."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def recorded(client: BaseClient, operation: str, params: dict) -> Any:
        # Before the call: botocore's handlers replace a body with a stream as they send it.
        params = {**params, "_body_bytes": _body_size(params.get("Body"))}
        response = original(client, operation, {k: v for k, v in params.items() if k != "_body_bytes"})
        handler = getattr(_STATE, "handler", None)
        if handler is not None:
            service = client.meta.service_model.service_name
            counter.calls.setdefault(handler, []).append((service, operation, params, response))
        return response

    BaseClient._make_api_call = recorded
    try:
        yield
    finally:
        BaseClient._make_api_call = original


def _timed(name: str, handler: Any, counter: _Counter) -> Any:
    def run(event: Any, context: Any) -> Any:
        _STATE.handler = name
        started = time.perf_counter()
        try:
            return handler(event, context)
        finally:
            counter.seconds.setdefault(name, []).append(round_up_ms(time.perf_counter() - started))
            _STATE.handler = None

    return run


def _prefix(key: str) -> str:
    return "hashes" if key.startswith("processed/hashes/") else key.split("/", 1)[0]


def _body_size(body: Any) -> int:
    if isinstance(body, (bytes, bytearray, memoryview)):
        return len(body)
    if isinstance(body, str):
        return len(body.encode())
    if hasattr(body, "seek") and hasattr(body, "tell"):  # a stream: its size from where it stands
        here = body.tell()
        size = body.seek(0, 2) - here
        body.seek(here)
        return size
    return 0


def tally(calls: list[tuple[str, str, dict, Any]]) -> dict[str, Any]:
    """S3 requests and bytes, DynamoDB request units and stored bytes, events and emails of `calls`."""
    found: dict[str, Any] = {"s3_writes": 0, "s3_reads": 0, "s3_bytes": {}, "wru": 0.0, "rru": 0.0, "item_bytes": 0,
                             "events": 0, "emails": 0, "attachment_bytes": 0}  # fmt: skip
    s3_writes = {"PutObject", "CopyObject", "ListObjectsV2", "ListObjects", "CreateMultipartUpload", "UploadPart",
                 "CompleteMultipartUpload", "DeleteObject"}  # fmt: skip
    for service, operation, params, response in calls:
        if service == "s3":
            if operation in s3_writes and operation != "DeleteObject":
                found["s3_writes"] += 1
            elif operation in ("GetObject", "HeadObject"):
                found["s3_reads"] += 1
            if operation in ("PutObject", "UploadPart"):
                prefix = _prefix(params["Key"])
                found["s3_bytes"][prefix] = found["s3_bytes"].get(prefix, 0) + params.get(
                    "_body_bytes", _body_size(params.get("Body"))
                )
        elif service == "dynamodb":
            if operation in ("PutItem", "UpdateItem", "DeleteItem"):
                item = params.get("Item") or params.get("Key") or {}
                size = item_size(item) + sum(_size(v) for v in (params.get("ExpressionAttributeValues") or {}).values())
                # The kind-created_at index keeps a copy of items with a kind (projection ALL).
                names = set((params.get("ExpressionAttributeNames") or {}).values())
                indexed = "kind" in item or "kind" in names or "kind" in params.get("UpdateExpression", "")
                found["wru"] += max(1, math.ceil(size / 1024)) * (2 if indexed else 1)
                if operation == "PutItem":  # an update changes an item already counted
                    found["item_bytes"] += size * (2 if indexed else 1)
            elif operation in ("GetItem", "Query", "Scan", "BatchGetItem"):
                items = response.get("Items") or ([response["Item"]] if response.get("Item") else [])
                size = sum(item_size(i) for i in items)
                per = 4096 if params.get("ConsistentRead") else 8192
                found["rru"] += max(1, math.ceil(size / per)) if operation != "Scan" else math.ceil(size / per)
        elif service == "events" and operation == "PutEvents":
            found["events"] += len(params.get("Entries", []))
        elif service == "ses" and operation in ("SendRawEmail", "SendEmail"):
            found["emails"] += 1
            raw = params.get("RawMessage", {}).get("Data", b"")
            found["attachment_bytes"] += attachment_bytes(raw if isinstance(raw, bytes) else raw.encode())
    return found


def attachment_bytes(raw: bytes) -> int:
    """Bytes of a message's non-text parts, as sent (encoded)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return sum(
        len(part.get_payload(decode=False).encode())
        for part in message.walk()
        if not part.is_multipart() and part.get_content_maintype() != "text"
    )


def _api_event(path: str, resource: str, parameters: dict | None, cookie: str) -> dict:
    """The REST proxy event API Gateway gives the archive's handler for a GET of `path`."""
    headers = {"Host": "example.execute-api.us-east-1.amazonaws.com", "Accept": "text/html", "Cookie": cookie}
    return {
        "resource": resource, "path": path, "httpMethod": "GET", "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()}, "queryStringParameters": None,
        "multiValueQueryStringParameters": None, "pathParameters": parameters, "stageVariables": None,
        "requestContext": {"resourcePath": resource, "httpMethod": "GET", "stage": "api", "path": f"/api{path}",
                           "requestId": "measure", "identity": {"sourceIp": "127.0.0.1"}},
        "body": None, "isBase64Encoded": False,
    }  # fmt: skip


def measure(symbols: int, bars_per_symbol: int, seed: int = 7) -> Measured:
    """Run one generated file of `symbols` x `bars_per_symbol` through the sandbox and measure it."""
    from chalicelib.config import Settings
    from sandbox.bench_ingest import generate_input
    from sandbox.cost import measure_profile
    from sandbox.embedded import EmbeddedAWS

    counter = _Counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "workload.json"
        generate_input(path, symbols, bars_per_symbol, 0.0, seed)
        body = path.read_bytes()
    with contextlib.redirect_stdout(counter), _counting_calls(counter), EmbeddedAWS() as env:  # type: ignore[type-var]
        for name in list(env.handlers):
            env.handlers[name] = _timed(name, env.handlers[name], counter)
        env.upload("inputs/workload.json", body)
        deliveries = env.run_until_idle()
        failed = [d.error for d in deliveries if d.error]
        if failed:
            raise RuntimeError(f"the pipeline failed while measuring: {failed}")
        run_calls = {name: list(calls) for name, calls in counter.calls.items()}
        run_logs, run_metrics = dict(counter.log_bytes), set(counter.metrics)
        view_seconds, view_calls, view_logs = _page_views(env, counter)
    profile = measure_profile()
    tokens_in, tokens_out = profile.run_tokens(symbols)
    batches = math.ceil(symbols / profile.batch_size)
    totals = tally([call for calls in run_calls.values() for call in calls])
    # The upload itself (by a user or the fetch): one PUT, and the file kept under inputs/.
    totals["s3_writes"] += 1
    totals["s3_bytes"]["inputs"] = len(body)
    views = tally(view_calls)
    pages = len(_PAGES)
    return Measured(
        file_bytes=len(body),
        functions={name: FunctionUse(len(s), sum(s)) for name, s in counter.seconds.items() if name != "api_handler"},
        s3_writes=totals["s3_writes"],
        s3_reads=totals["s3_reads"],
        s3_bytes=totals["s3_bytes"],
        ddb_write_units=totals["wru"],
        ddb_read_units=totals["rru"],
        ddb_item_bytes=totals["item_bytes"],
        events=totals["events"],
        emails=totals["emails"],
        email_attachment_bytes=totals["attachment_bytes"] // max(1, totals["emails"]),
        log_bytes=sum(run_logs.values()),
        metrics=sorted(run_metrics | counter.metrics),
        page_view=FunctionUse(1, round(view_seconds / pages, 3)),
        page_view_ddb_read_units=views["rru"] / pages,
        page_view_s3_reads=math.ceil(views["s3_reads"] / pages),
        page_view_log_bytes=view_logs // pages,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        bedrock_calls=batches + 1,
        bedrock_rounds=math.ceil(batches / Settings().bedrock_max_concurrency) + 1,
    )


def _page_views(env: Any, counter: _Counter) -> tuple[float, list, int]:
    """One GET of each archive page through the app's Lambda entry point: (seconds, calls, log bytes)."""
    from chalicelib.archive_access import COOKIE
    from sandbox.archive_links import access_token, use_link_key
    from sandbox.embedded import TABLE
    from sandbox.lambda_runtime import LambdaContext

    use_link_key(env)  # a reader's browser, with the cookie an email's link gave it (API_AUTH=link)
    cookie = f"{COOKIE}={access_token()}"
    items = env.client("dynamodb").scan(TableName=TABLE)["Items"]
    report_id = next(i["analysis_id"]["S"] for i in items if i.get("kind", {}).get("S") == "analysis")
    seconds, before_logs = 0.0, counter.log_bytes.get("api_handler", 0)
    counter.calls.pop("api_handler", None)
    for resource in _PAGES:
        path = resource.replace("{report_id}", report_id).replace("{symbol}", "SYM000")
        parameters = {"report_id": report_id} if "report_id" in resource else None
        parameters = {"symbol": "SYM000"} if "symbol" in resource else parameters
        context = LambdaContext("api_handler", 29, 512, region="us-east-1", account="123456789012")
        _STATE.handler = "api_handler"
        started = time.perf_counter()
        try:
            response = env.app_module.app(_api_event(path, resource, parameters, cookie), context)
        finally:
            seconds += round_up_ms(time.perf_counter() - started)
            _STATE.handler = None
        if response.get("statusCode") != 200:
            raise RuntimeError(f"GET {path} answered {response.get('statusCode')}: {response.get('body')}")
    return seconds, counter.calls.pop("api_handler", []), counter.log_bytes.get("api_handler", 0) - before_logs


def save(measured: Measured, path: Path, workload: dict) -> None:
    """The measurement as JSON, with the workload it was measured for."""
    body = {"workload": workload, "measured": dataclasses.asdict(measured)}
    path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")


def load(path: Path) -> tuple[dict, Measured]:
    """(workload, measurement) from `save`'s file."""
    body = json.loads(path.read_text())
    raw = body["measured"]
    raw["functions"] = {name: FunctionUse(**use) for name, use in raw["functions"].items()}
    raw["page_view"] = FunctionUse(**raw["page_view"])
    return body["workload"], Measured(**raw)
