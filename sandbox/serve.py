"""`python -m sandbox serve`: a local AWS endpoint that runs the pipeline.

    python -m sandbox serve [--port 4566] [--api-port 4567] [--host 127.0.0.1] [--out DIR]

moto's own HTTP server, in front of the same embedded account the sandbox uses, plus the
sandbox's event delivery: an upload from the real AWS CLI (or any SDK) reaches the bucket's
notification, and the handlers run as Lambda would run them; reports land in DIR. `aws s3 ls`,
`aws dynamodb scan` and the like show the state, as against AWS. The app's report archive routes
(`GET /`, `/reports`, …: docs/api.md) are served on their own port, `--api-port` (the AWS endpoint
keeps `/` for S3's ListBuckets), by Chalice's local server: on loopback, where Chalice does not
check the IAM authorizer. It binds to loopback unless `--host` says otherwise.

The banner gives the lines that make the AWS CLI work from a clean shell (credentials, region,
endpoint: docs/sandbox.md shows the same). Then each upload tells its story in a few lines
(ingest, analyze, report); HTTP requests go to DIR/http.log and the handlers' logs to
DIR/sandbox.log. Ctrl-C or SIGTERM stops it cleanly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from chalicelib.analyze.insights import plural
from sandbox.outputs import out_option

# moto's backends are not thread-safe: each request, from the HTTP server or from a handler,
# runs alone (as each is atomic on the real services).
_LOCK = threading.RLock()


@click.command()
@click.option("--port", default=4566, show_default=True, help="Port of the AWS endpoint (S3, DynamoDB, ...).")
@click.option("--api-port", type=int, default=None, help="Port of the report archive [default: PORT + 1].")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@out_option("Folder for the reports, analyses, sandbox.log (the handlers' logs) and http.log (every request).")
def serve(port: int, api_port: int | None, host: str, out_dir: str) -> None:
    """Serve an embedded AWS on PORT that runs the pipeline on every upload to inputs/."""
    try:
        import moto.server  # noqa: F401 - moto's server extra (flask, werkzeug)
    except ImportError:
        raise click.UsageError(
            "serve needs moto's server (pip install -r requirements-dev.txt; make test installs it)"
        ) from None
    from sandbox.outputs import OutputFolderError, prepare

    out = Path(out_dir)
    try:
        prepare(out)
    except OutputFolderError as exc:
        click.echo(f"sandbox serve: {exc}", err=True)
        sys.exit(2)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    console = sys.stdout
    with (
        open(out / "sandbox.log", "w") as log,
        _http_log(out / "http.log"),
        contextlib.redirect_stdout(log),
    ):
        run_server(host, port, port + 1 if api_port is None else api_port, out, stop, console)


# Credentials the AWS CLI accepts from a clean environment: the endpoint checks none, but the CLI
# refuses to send a request without some ("Unable to locate credentials").
SANDBOX_KEY = "sandbox"
SAMPLE = Path(__file__).resolve().parent / "samples" / "AAPL_1day_messy.csv"


def banner(endpoint: str, archive: str, out: Path, cwd: Path | None = None) -> list[str]:
    """What `serve` prints on start: where things are, then the shell lines that use it."""
    from sandbox.embedded import BUCKET, REGION, TABLE

    cwd = Path.cwd() if cwd is None else cwd
    sample = SAMPLE.relative_to(cwd) if SAMPLE.is_relative_to(cwd) else SAMPLE
    aws = f"aws --endpoint-url {endpoint}"
    return [
        f"Stock Insights sandbox: an AWS endpoint at {endpoint} (region {REGION}), reports in {out}/",
        f"  the report archive at {archive} (routes: docs/api.md)",
        f"  bucket s3://{BUCKET}/: an upload to inputs/ runs the pipeline; Ctrl-C stops",
        f"  logs: {out / 'sandbox.log'} (the handlers), {out / 'http.log'} (every request)",
        "In another shell (any key and secret do, but the AWS CLI needs some):",
        f"  export AWS_ACCESS_KEY_ID={SANDBOX_KEY} AWS_SECRET_ACCESS_KEY={SANDBOX_KEY} AWS_DEFAULT_REGION={REGION}",
        f"  {aws} s3 cp {sample} s3://{BUCKET}/inputs/AAPL_1day.csv",
        f"  {aws} s3 ls s3://{BUCKET}/ --recursive",
        f"  {aws} dynamodb scan --table-name {TABLE}",
    ]


@contextlib.contextmanager
def _http_log(path: Path):
    """Every HTTP request (the AWS endpoint's and the archive's) as one line in `path`, apart from
    the pipeline's story on the console."""
    import logging
    from http.server import BaseHTTPRequestHandler

    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    werkzeug = logging.getLogger("werkzeug")  # moto's server
    saved = werkzeug.level, werkzeug.propagate
    werkzeug.setLevel(logging.INFO)
    werkzeug.propagate = False
    werkzeug.addHandler(handler)
    log_message = BaseHTTPRequestHandler.log_message  # Chalice's local server writes to stderr

    def to_file(self: Any, format: str, *args: Any) -> None:
        handler.stream.write(f"{self.address_string()} - - [{self.log_date_time_string()}] {format % args}\n")
        handler.flush()

    BaseHTTPRequestHandler.log_message = to_file
    try:
        yield
    finally:
        BaseHTTPRequestHandler.log_message = log_message
        werkzeug.removeHandler(handler)
        werkzeug.setLevel(saved[0])
        werkzeug.propagate = saved[1]
        handler.close()


def run_server(host: str, port: int, api_port: int, out: Path, stop: threading.Event, console: Any) -> None:
    """Until `stop` is set: the endpoint on host:port, and every pending event delivered."""
    from chalicelib.archive_access import with_access
    from chalicelib.config import get_settings
    from sandbox.archive_links import access_token, use_link_key
    from sandbox.embedded import EmbeddedAWS
    from sandbox.runner import _analyses, _emails

    def say(line: str) -> None:
        print(line, file=console, flush=True)

    with _atomic_embedded_requests(), EmbeddedAWS() as env:
        server, thread = _start_http(host, port)
        api, api_thread = _start_api(env.app_module.app, host, api_port)
        # The emails link to this archive, as a deployed stage's do to its API (ARCHIVE_URL), with
        # links signed by a link key of the embedded account, which the archive checks (API_AUTH=link).
        archive = f"http://{host}:{api.server.server_address[1]}/"
        os.environ["ARCHIVE_URL"] = archive
        use_link_key(env)
        get_settings.cache_clear()
        endpoint = f"http://{host}:{server.server_port}"
        for line in banner(endpoint, with_access(archive, access_token()), out):
            say(line)
        story = Story()
        reported = 0
        try:
            while not stop.is_set():
                deliveries = env.run_until_idle()
                for delivery in deliveries:
                    for line in story.lines(delivery):
                        say(f"{dt.datetime.now():%H:%M:%S} {line}")
                if deliveries:
                    _analyses(env, deliveries, out)
                    emails = _emails(env, out, story.inputs)
                    for email in emails[reported:]:
                        say(f"{dt.datetime.now():%H:%M:%S} {story.report(email)}")
                    reported = len(emails)
                stop.wait(0.3)
        finally:
            for running, running_thread in ((api, api_thread), (server, thread)):
                running.shutdown()
                running_thread.join(timeout=10)
            os.environ.pop("ARCHIVE_URL", None)
            os.environ.pop("ARCHIVE_LINK_KEY_PARAMETER", None)
            get_settings.cache_clear()
            say("stopped")


class Story:
    """Each upload's story, a line per step: `ingest` (what became of its bars, or why it was
    quarantined), `analyze`, then `report` (the email's HTML). Each names the upload; the stream's
    other records (the email markers) and a notify that went well add nothing: the report line
    says the email went."""

    def __init__(self) -> None:
        self.inputs: dict[str, str] = {}  # analysis id -> the input key it came from

    def lines(self, delivery: Any) -> list[str]:
        result = delivery.result if isinstance(delivery.result, dict) else {}
        if delivery.error:
            return [f"{delivery.handler:<8} FAILED after {delivery.attempts} attempt(s): {delivery.error}"]
        if delivery.handler == "ingest":
            from sandbox.runner import notice_id

            for entry in result.get("files", []):
                if entry.get("status") == "quarantined":  # its failure notice is named after it
                    self.inputs[notice_id(str(entry.get("key")), str(entry.get("etag")))] = str(entry.get("key"))
            return [f"ingest   {entry.get('key')}: {_ingested(entry)}" for entry in result.get("files", [])]
        if delivery.handler == "analyze":
            detail = delivery.event.get("detail") or {}
            key = detail.get("object_key") or detail.get("input_key") or "?"
            analysis_id = result.get("analysis_id", "?")
            self.inputs[analysis_id] = key
            if result.get("status") == "stored":
                return [f"analyze  {key}: {plural(result.get('symbols', 0), 'symbol')} analysed ({analysis_id})"]
            return [f"analyze  {key}: {result.get('status')} ({analysis_id})"]
        if delivery.handler == "notify":
            failures = len(result.get("batchItemFailures", []))
            return [f"notify   {plural(failures, 'email')} to retry"] if failures else []
        return [f"{delivery.handler:<8} {result.get('status', 'done')}"]

    def report(self, email: dict) -> str:
        key = self.inputs.get(email["analysis_id"], "?")
        return f"report   {key}: {email['html_path']}  ({email['subject']})"


def _ingested(entry: dict) -> str:
    """What became of one uploaded file, for its `ingest` line."""
    status = entry.get("status")
    if status == "quarantined":
        return f"quarantined: {entry.get('error')}"
    if status == "duplicate":
        return "duplicate of an earlier upload (nothing new to analyse)"
    if status != "processed":
        return str(status)
    records = entry.get("records") or {}
    parts = [f"{records.get('valid', 0)} valid", f"{records.get('rejected', 0)} rejected"]
    rules = entry.get("reject_rules") or {}
    if rules:
        parts[-1] += " (" + ", ".join(f"{rule} {n}" for rule, n in sorted(rules.items())) + ")"
    if entry.get("symbol_errors"):
        parts.append(plural(entry["symbol_errors"], "symbol error"))
    return "processed: " + ", ".join(parts)


def _start_http(host: str, port: int) -> tuple[Any, threading.Thread]:
    """moto's HTTP server, each request under the lock; the server and its thread."""
    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)

    def locked_app(environ: dict, start_response: Any) -> Any:
        with _LOCK:
            return list(app(environ, start_response))

    try:
        server = make_server(host, port, locked_app, threaded=True, request_handler=MotoRequestHandler)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    thread = threading.Thread(target=server.serve_forever, name="sandbox-serve", daemon=True)
    thread.start()
    return server, thread


def _start_api(app: Any, host: str, port: int) -> tuple[Any, threading.Thread]:
    """The app's routes on Chalice's local server (the IAM authorizer is not checked locally)."""
    import warnings

    from chalice.config import Config
    from chalice.local import create_local_server

    warnings.filterwarnings("ignore", message=".*is not a supported in local mode.*")
    try:
        local = create_local_server(app, Config.create(chalice_app=app, app_name=app.app_name), host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    thread = threading.Thread(target=local.server.serve_forever, name="sandbox-api", daemon=True)
    thread.start()
    return local, thread


@contextlib.contextmanager
def _atomic_embedded_requests():
    """The handlers' own AWS calls (botocore → moto in process) under the same lock."""
    from unittest import mock

    from moto.core.botocore_stubber import BotocoreStubber

    real = BotocoreStubber.__call__

    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return real(self, *args, **kwargs)

    with mock.patch.object(BotocoreStubber, "__call__", locked):
        yield
