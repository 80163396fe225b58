"""The failure notice: when the data failed there is no report to send, and the readers, who
expect one, get a short email saying so instead: what failed, the file, the symbols, and what to
do (pure).

Two failures call for one: a file ingest quarantined (a `failure_notice` item in the table), and
an analysis with no valid bar at all (a file of only error objects, such as a 429 "out of API
credits", or of bars every one of which was rejected). A scheduled fetch that fetched nothing
writes a file of only error objects, so it gets the same notice.
"""

from __future__ import annotations

import posixpath

from chalicelib.analyze.insights import plural
from chalicelib.notify.formatting import clean_line, human_time, integer, plain_text
from chalicelib.notify.render import SEPARATOR, Report, environment
from chalicelib.notify.sections import symbol_errors

# Why ingest quarantined a file, for people.
_QUARANTINE_REASONS = {
    "empty": "the file is empty",
    "bad_json": "the file is not valid JSON",
    "not_text": "the file is neither JSON nor CSV text",
    "bad_csv": "the CSV cannot be read",
    "bad_gzip": "the gzip file is damaged",
    "too_large": "the file is too large",
    "wrong_shape": "the file is not a Twelve Data response",
    "not_csv": "the file is neither JSON nor a bar CSV",
    "too_complex": "the file is too complex to read within the function's memory",
    "too_many_symbols": "the file holds too many symbols",
    "too_many_bars": "the file holds too many bars",
    "fetch_failed": "the scheduled fetch could not run",
}
_SPLIT = {"too_large", "too_complex", "too_many_symbols", "too_many_bars"}
_UPLOAD_AGAIN = "Fix the file and upload it again under inputs/ (a corrected file is a new file: it is read anew)."


def needs_notice(record: dict) -> bool:
    """An analysis with no valid bar: nothing to report, so a failure notice goes out instead."""
    counts = record.get("row_counts") or {}
    has_bars = any((m.get("bars") or 0) > 0 for m in (record.get("symbols") or {}).values())
    return not has_bars and not int(counts.get("valid") or 0)


def notice_from_quarantine(item: dict) -> dict:
    """The notice's view for a `failure_notice` item: a quarantined file, or a scheduled fetch
    that could not run at all (no API key, say)."""
    reason = str(item.get("reason") or "")
    name = _file_name(item.get("input_key"))
    bucket = clean_line(item.get("bucket") or "", 100)
    copy = clean_line(item.get("quarantine_key") or "", 1100)
    key = clean_line(item.get("input_key") or "", 1100)
    actions = [
        (
            "Split the file into smaller ones"
            + (", or raise MAX_INPUT_MB," if reason == "too_large" else "")
            + " and upload them again."
        )
        if reason in _SPLIT
        else _UPLOAD_AGAIN,
        ("The file is kept, with error.json beside it, at", f"s3://{bucket}/{copy}")
        if copy
        else ("The file stays where it was uploaded; error.json is under quarantine/:", f"s3://{bucket}/{key}"),
    ]
    if reason == "fetch_failed":  # no file was written: the fetch itself failed
        return _view(
            what=_QUARANTINE_REASONS[reason],
            detail=plain_text(clean_line(item.get("message") or "", 400)),
            name=name,
            item=item,
            errors={"count": 0, "rows": [], "hidden": 0, "count_text": "0"},
            symbols_line="No symbol was fetched: the run wrote no file.",
            actions=["Fix what the message says; the next scheduled run fetches again."],
            code=reason,
        )
    return _view(
        what=_QUARANTINE_REASONS.get(reason, "the file cannot be read"),
        detail=plain_text(clean_line(item.get("message") or "", 400)),
        name=name,
        item=item,
        errors={"count": 0, "rows": [], "hidden": 0, "count_text": "0"},
        symbols_line="No symbol could be read: the whole file was set aside (quarantined).",
        actions=actions,
        code=reason,
    )


def notice_from_record(record: dict) -> dict:
    """The notice's view for an analysis with no valid bar (error objects only, or all rejected)."""
    source = record.get("source") or {}
    errors = symbol_errors(record)
    counts = record.get("row_counts") or {}
    codes = {str(e.get("code")) for e in record.get("symbol_error_details") or [] if isinstance(e, dict)}
    rejected = int(counts.get("rejected") or 0)
    if errors["count"] and codes == {"429"}:
        what, code = "Twelve Data's API credits ran out (429)", "429"
        actions = [
            "Wait for the credits to renew (each minute; the daily allowance at midnight UTC), or ask for "
            "fewer symbols a minute (FETCH_CREDITS_PER_MINUTE) or fewer symbols (FETCH_SYMBOLS), or upgrade "
            "the plan.",
            "Then fetch again, or let the next scheduled fetch run.",
        ]
    elif errors["count"]:
        what = f"every symbol failed ({plural(errors['count'], 'symbol error')})"
        code = ",".join(sorted(codes - {"None"})) or "symbol_error"
        actions = [
            "Read each symbol's message below: a symbol that is not found is misspelt or not on the plan "
            "(FETCH_SYMBOLS); 401 or 403 means the API key is wrong (TWELVEDATA_API_KEY_PARAMETER).",
            "Then fetch or upload the file again.",
        ]
    else:
        what, code = f"every bar was rejected ({plural(rejected, 'bar')})", "no_valid_bars"
        actions = ["The rejects file names each bar's rule and message.", _UPLOAD_AGAIN]
    rules = sorted((record.get("reject_rules") or {}).items(), key=lambda kv: (-int(kv[1]), kv[0]))
    rules = [(k, int(v)) for k, v in rules if k != "symbol_error"]
    symbols = sorted(record.get("symbols") or {})
    lines = []
    if symbols:
        names = ", ".join(clean_line(s, 24) for s in symbols[:20])
        more = f" and {len(symbols) - 20} more" if len(symbols) > 20 else ""
        lines.append(f"No valid bar for {plural(len(symbols), 'symbol')}: {names}{more}.")
    if rules:
        lines.append(
            f"{plural(rejected, 'bar')} rejected, by rule: " + ", ".join(f"{k} {integer(v)}" for k, v in rules) + "."
        )
    line = " ".join(lines)
    return _view(
        what=what,
        detail="",
        name=_file_name(source.get("input_key")),
        item={**record, "bucket": source.get("bucket"), "input_key": source.get("input_key")},
        errors=errors,
        symbols_line=line,
        actions=actions,
        code=code,
    )


def _view(*, what: str, detail: str, name: str, item: dict, errors: dict, symbols_line: str, actions, code) -> dict:
    bucket, key = clean_line(item.get("bucket") or "", 100), clean_line(item.get("input_key") or "", 1100)
    return {
        "subject": clean_line(SEPARATOR.join(["Stock Insights", "Data failed: " + what, name]), 180),
        "what": what,
        "headline": f"{name}: {what}. There is no market report for it.",
        "detail": detail,
        "file": name,
        "input_uri": f"s3://{bucket}/{key}",
        "errors": errors,
        "symbols_line": symbols_line,
        # each a sentence, or (a sentence, an address shown as code)
        "actions": [{"text": a, "code": ""} if isinstance(a, str) else {"text": a[0], "code": a[1]} for a in actions],
        "code": clean_line(code, 40),
        "created_at": human_time(item.get("created_at") or ""),
        "correlation_id": clean_line(item.get("correlation_id") or "", 100),
        "notice_id": clean_line(item.get("analysis_id") or "", 120),
    }


def _file_name(input_key: object) -> str:
    return clean_line(posixpath.basename(str(input_key or "")) or "input", 80)


def render_notice(view: dict, inline_css: bool = True) -> Report:
    """The notice as an email: a short HTML part (the report's look) and its plain-text twin."""
    env = environment()
    html = env.get_template("notice.html.j2").render(n=view)
    if inline_css:
        from chalicelib.notify.render import inline_styles

        html = inline_styles(html)
    return Report(subject=view["subject"], html=html, text=env.get_template("notice.txt.j2").render(n=view))
