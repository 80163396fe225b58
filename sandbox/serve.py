"""`python -m sandbox serve`: a local AWS endpoint that runs the pipeline.

    python -m sandbox serve [--port 4566] [--api-port 4567] [--host 127.0.0.1] [--out DIR]
    aws --endpoint-url http://127.0.0.1:4566 s3 cp FILE s3://stock-insights-sandbox/inputs/
    open http://127.0.0.1:4567/                      # the report archive

moto's own HTTP server, in front of the same embedded account the sandbox uses, plus the
sandbox's event delivery: an upload from the real AWS CLI (or any SDK) reaches the bucket's
notification, and the handlers run as Lambda would run them; reports land in DIR. `aws s3 ls`,
`aws dynamodb scan` and the like show the state, as against AWS. The app's report archive routes
(`GET /`, `/reports`, …: docs/api.md) are served on their own port, `--api-port` (the AWS endpoint
keeps `/` for S3's ListBuckets), by Chalice's local server: on loopback, where Chalice does not
check the IAM authorizer. One line per delivery; Ctrl-C or SIGTERM stops it cleanly. It binds to
loopback unless `--host` says otherwise.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from chalicelib.analyze.insights import plural

# moto's backends are not thread-safe: each request, from the HTTP server or from a handler,
# runs alone (as each is atomic on the real services).
_LOCK = threading.RLock()


@click.command()
@click.option("--port", default=4566, show_default=True, help="Port of the AWS endpoint.")
@click.option("--api-port", type=int, default=None, help="Port of the report archive [default: PORT + 1].")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--out", "out_dir", default="out", show_default=True, type=click.Path(file_okay=False))
def serve(port: int, api_port: int | None, host: str, out_dir: str) -> None:
    """Serve an embedded AWS on PORT that runs the pipeline on every upload to inputs/."""
    try:
        import moto.server  # noqa: F401 - moto's server extra (flask, werkzeug)
    except ImportError:
        raise click.UsageError(
            "serve needs moto's server (pip install -r requirements-dev.txt; make test installs it)"
        ) from None
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per delivery, not per request
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    console = sys.stdout
    with open(out / "sandbox.log", "w") as log, contextlib.redirect_stdout(log):
        run_server(host, port, port + 1 if api_port is None else api_port, out, stop, console)


def run_server(host: str, port: int, api_port: int, out: Path, stop: threading.Event, console: Any) -> None:
    """Until `stop` is set: the endpoint on host:port, and every pending event delivered."""
    from sandbox.embedded import BUCKET, REGION, TABLE, EmbeddedAWS
    from sandbox.runner import _analyses, _emails

    def say(line: str) -> None:
        print(line, file=console, flush=True)

    with _atomic_embedded_requests(), EmbeddedAWS() as env:
        server, thread = _start_http(host, port)
        api, api_thread = _start_api(env.app_module.app, host, api_port)
        endpoint = f"http://{host}:{server.server_port}"
        say(f"Stock Insights sandbox: an AWS endpoint at {endpoint} (region {REGION}), reports in {out}/")
        say(f"  the report archive at http://{host}:{api.server.server_address[1]}/ (routes: docs/api.md)")
        say(f"  bucket s3://{BUCKET}/ (uploads to inputs/ run the pipeline); Ctrl-C stops")
        say(f"  aws --endpoint-url {endpoint} --region {REGION} s3 cp FILE s3://{BUCKET}/inputs/")
        say(f"  aws --endpoint-url {endpoint} --region {REGION} dynamodb scan --table-name {TABLE}")
        reported = 0
        try:
            while not stop.is_set():
                deliveries = env.run_until_idle()
                for delivery in deliveries:
                    say(f"{dt.datetime.now():%H:%M:%S} {_describe(delivery)}")
                if deliveries:
                    _analyses(env, deliveries, out)
                    emails = _emails(env, out)
                    for email in emails[reported:]:
                        say(f"{dt.datetime.now():%H:%M:%S} report   {email['html_path']}  ({email['subject']})")
                    reported = len(emails)
                stop.wait(0.3)
        finally:
            for running, running_thread in ((api, api_thread), (server, thread)):
                running.shutdown()
                running_thread.join(timeout=10)
            say("stopped")


def _describe(delivery: Any) -> str:
    """One line for one handler invocation."""
    result = delivery.result if isinstance(delivery.result, dict) else {}
    if delivery.error:
        return f"{delivery.handler:<8} FAILED after {delivery.attempts} attempt(s): {delivery.error}"
    if delivery.handler == "ingest":
        parts = []
        for entry in result.get("files", []):
            records = entry.get("records") or {}
            detail = f"{records.get('valid', 0)} valid, {records.get('rejected', 0)} rejected"
            parts.append(f"{entry.get('key')}: {entry.get('status')} ({detail})")
        return f"ingest   {'; '.join(parts) or 'nothing to ingest'}"
    if delivery.handler == "analyze":
        symbols = plural(int(result.get("symbols") or 0), "symbol")
        return f"analyze  {result.get('analysis_id', '?')}: {result.get('status')} ({symbols})"
    if delivery.handler == "notify":
        failures = len(result.get("batchItemFailures", []))
        return f"notify   {len(delivery.event.get('Records', []))} record(s), {failures} to retry"
    return f"{delivery.handler:<8} {result.get('status', 'done')}"


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
