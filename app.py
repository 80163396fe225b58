"""Stock Insights: the Lambda handlers. Each hands its event to `chalicelib` and returns."""

import os

from chalice import Chalice, ConvertToMiddleware, IAMAuthorizer, Response

from chalicelib.config import API_AUTH_MODES, Settings
from chalicelib.models import INGESTOR_COMPLETED, INGESTOR_SOURCE
from chalicelib.observability import flush_metrics, logger

app = Chalice(app_name="stock-insights")
app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context(clear_state=True)))


@app.middleware("all")
def _emit_metrics(event, get_response):
    """One EMF log line per invocation, written even when the handler raises."""
    try:
        return get_response(event)
    finally:
        flush_metrics()


# Chalice needs the bucket name when the decorators run (to wire the notification and the
# analyze rule's bucket filter at deploy time); `chalice deploy/package` load the stage's
# environment first. The handlers themselves take the bucket from each record and event, so this
# and the stream ARN below are the only settings read at import.
_INPUT_BUCKET = os.environ.get("BUCKET_NAME", Settings.bucket)


@app.on_s3_event(bucket=_INPUT_BUCKET, prefix="inputs/", events=["s3:ObjectCreated:*"])
def ingest(event):
    """A file landed in inputs/: validate its bars, write processed/ and rejects/, announce it."""
    from chalicelib.ingest.service import handle_s3_event

    return handle_s3_event(event.to_dict(), event.context)


# Only this stage's files: every stage publishes the same source on the account's default bus.
@app.on_cw_event(
    {"source": [INGESTOR_SOURCE], "detail-type": [INGESTOR_COMPLETED], "detail": {"bucket": [_INPUT_BUCKET]}}
)
def analyze(event):
    """A file was ingested: compute metrics, anomalies, aggregates and insights; store the analysis."""
    from chalicelib.analyze.service import handle_ingestor_completed

    return handle_ingestor_completed(event.to_dict(), event.context)


# The stream ARN is only known once the table exists; deploy tooling sets it (see README).
_ANALYSES_STREAM_ARN = os.environ.get(
    "ANALYSES_STREAM_ARN",
    "arn:aws:dynamodb:us-east-1:123456789012:table/stock-insights-analyses/stream/1970-01-01T00:00:00.000",
)


@app.on_dynamodb_record(stream_arn=_ANALYSES_STREAM_ARN, batch_size=10, starting_position="TRIM_HORIZON")
def notify(event):
    """New analyses in the table: email each report once; report per-record failures."""
    from chalicelib.notify.service import handle_stream_batch

    return handle_stream_batch(event.to_dict(), event.context)


# The scheduled fetch exists only where symbols are configured (read at deploy time, like the
# bucket): with none, neither the function nor its schedule is deployed.
if os.environ.get("FETCH_SYMBOLS", "").strip():

    @app.schedule(os.environ.get("FETCH_SCHEDULE") or Settings.fetch_schedule)
    def fetch(event):
        """The schedule fired: fetch the configured symbols from Twelve Data into inputs/scheduled/."""
        from chalicelib.fetch.service import handle_schedule

        return handle_schedule(event.to_dict(), event.context)


# The report archive's read API (chalicelib.api, docs/api.md). Access is chosen at deploy time:
# API_AUTH=link (the default: the signed links of the report emails, chalicelib.archive_access,
# checked here before any route), iam (SigV4-signed requests from principals allowed
# execute-api:Invoke) or api_key (an API Gateway key in a usage plan, sent as x-api-key).
# Nothing is public.
_API_AUTH = os.environ.get("API_AUTH", "link").strip() or "link"
if _API_AUTH not in API_AUTH_MODES:
    raise ValueError(f"API_AUTH must be link, iam or api_key, not {_API_AUTH!r}")
_ACCESS = {"iam": {"authorizer": IAMAuthorizer()}, "api_key": {"api_key_required": True}, "link": {}}[_API_AUTH]


@app.middleware("http")
def _archive_links(event, get_response):
    """Under API_AUTH=link only a request with a valid signed link (or the cookie its first visit
    left) reaches a route; under iam and api_key, API Gateway has checked the request already."""
    from chalicelib.config import get_settings

    if get_settings().api_auth != "link":
        return get_response(event)
    from chalicelib.api.gate import admit, refusal

    query, headers = dict(event.query_params or {}), dict(event.headers or {})
    admission = admit(query, headers)
    if admission.status != 200:
        # The path as requested (`…/x.json`), not the route's pattern (`/reports/{report_id}`).
        return _respond(refusal(admission, headers, (event.context or {}).get("path") or event.path or ""))
    response = get_response(event)
    # The token in the address bar never travels on as a Referer; the cookie keeps the visit open.
    response.headers["Referrer-Policy"] = "no-referrer"
    if admission.set_cookie:
        response.headers["Set-Cookie"] = admission.set_cookie
    return response


def _respond(reply) -> Response:
    headers = {"Content-Type": reply.content_type, "Vary": "Accept", **(reply.headers or {})}
    return Response(body=reply.body, status_code=reply.status, headers=headers)


def _request() -> tuple[dict, dict]:
    request = app.current_request
    return dict(request.query_params or {}), dict(request.headers or {})


@app.route("/", methods=["GET"], **_ACCESS)
def archive_index():
    """The archive's page: the latest reports, the symbols moving in them, a symbol search."""
    from chalicelib.api import service

    return _respond(service.reply(service.index, _request()[1]))


@app.route("/reports", methods=["GET"], **_ACCESS)
def list_reports():
    """The latest analyses, newest first (`limit`, `next`)."""
    from chalicelib.api import service

    return _respond(service.reply(service.list_reports, _request()[0]))


@app.route("/reports/{report_id}", methods=["GET"], **_ACCESS)
def get_report(report_id):
    """The report as emailed (HTML, charts inline), or with `.json` the analysis record."""
    from chalicelib.api import service

    return _respond(service.reply(service.get_report, report_id, _request()[1]))


@app.route("/symbols", methods=["GET"], **_ACCESS)
def symbol_search():
    """The symbols whose name begins with `q` (any case), by name (`limit`, `next`)."""
    from chalicelib.api import service

    return _respond(service.reply(service.symbol_search, *_request()))


@app.route("/symbols/{symbol}", methods=["GET"], **_ACCESS)
def symbol_history(symbol):
    """The symbol's page (or with `.json` its readings), newest first (`limit`, `next`)."""
    from chalicelib.api import service

    return _respond(service.reply(service.symbol_history, symbol, *_request()))
