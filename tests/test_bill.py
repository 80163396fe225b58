"""The monthly bill's arithmetic, line by line, against figures computed by hand."""

from __future__ import annotations

import pytest

from sandbox.bill import GB, Deployment, FunctionUse, Measured, Workload, monthly_bill
from sandbox.prices import PRICES


def _measured(**changes) -> Measured:
    base = dict(
        file_bytes=1000,
        functions={"ingest": FunctionUse(1, 0.5), "analyze": FunctionUse(1, 1.0), "notify": FunctionUse(2, 0.2)},
        s3_writes=6,
        s3_reads=2,
        s3_bytes={"inputs": GB // 10, "processed": GB // 10},
        ddb_write_units=100.0,
        ddb_read_units=2.0,
        ddb_item_bytes=GB // 1000,
        events=1,
        emails=1,
        email_attachment_bytes=0,
        log_bytes=10_000,
        metrics=[f"m{i}" for i in range(12)],
        page_view=FunctionUse(1, 0.1),
        page_view_ddb_read_units=4.0,
        page_view_s3_reads=1,
        page_view_log_bytes=0,
        tokens_in=6000,
        tokens_out=8000,
        bedrock_calls=6,
        bedrock_rounds=2,
    )
    return Measured(**{**base, **changes})


DEPLOYMENT = Deployment(memory_mb={"ingest": 1024, "analyze": 2048, "notify": 512, "api_handler": 512}, alarms=18)
WORKLOAD = Workload(symbols=50, runs_per_day=10, recipients=3, page_views_per_day=10, months=1)  # 300 runs, 300 views


def _line(bill, item):
    return next(line for line in bill.lines if line.item == item)


def test_lambda_is_gb_seconds_at_each_functions_memory_and_its_cpu_share():
    bill = monthly_bill(WORKLOAD, _measured(), DEPLOYMENT)
    # ingest at 1,024 MB has 1,024/1,769 of a vCPU: 300 runs x 0.5 s x 1769/1024 x 1 GB = 259.1 GB-s
    assert _line(bill, "ingest duration").quantity == pytest.approx(300 * 0.5 * 1769 / 1024)
    assert _line(bill, "ingest duration").usd["offline"] == pytest.approx(300 * 0.5 * 1769 / 1024 * 0.0000166667)
    # analyze at 2,048 MB (over a vCPU: no faster): 300 x 1.0 s x 2 GB = 600 GB-s offline; with
    # Bedrock 2 waits of 4 s more (waiting is not CPU: not scaled): 300 x 9 x 2 = 5,400
    analyze = _line(bill, "analyze duration")
    assert analyze.usd["offline"] == pytest.approx(600 * 0.0000166667)
    assert analyze.usd["bedrock"] == pytest.approx(5400 * 0.0000166667)
    # notify at 512 MB: 300 x 0.2 s x 1769/512 x 0.5 GB; api_handler: 300 views x 0.1 s x 1769/512 x 0.5 GB
    assert _line(bill, "notify duration").quantity == pytest.approx(300 * 0.2 * 1769 / 512 * 0.5)
    assert _line(bill, "api_handler duration").quantity == pytest.approx(300 * 0.1 * 1769 / 512 * 0.5)
    # requests: 300 x (1 + 1 + 2) + 300 views = 1,500, at $0.20 a million
    requests = _line(bill, "requests")
    assert requests.quantity == 1500 and requests.usd["offline"] == pytest.approx(0.0003)
    assert requests.free_usd["offline"] == 0  # inside the million free


def test_storage_grows_with_the_months_and_processed_moves_to_infrequent_access():
    one = monthly_bill(WORKLOAD, _measured(), DEPLOYMENT)
    # 0.1 GB a run x 10 runs a day = 1 GB a day of inputs and of processed: 30 + 30 GB after a month
    assert _line(one, "Standard storage").quantity == pytest.approx(60)
    assert _line(one, "Standard storage").usd["offline"] == pytest.approx(60 * 0.023)
    assert _line(one, "Standard-IA storage (processed/)").quantity == 0
    two = monthly_bill(Workload(runs_per_day=10, months=2), _measured(), DEPLOYMENT)
    # after 60 days: inputs 60, processed 30 Standard + 30 Standard-IA
    assert _line(two, "Standard storage").quantity == pytest.approx(90)
    assert _line(two, "Standard-IA storage (processed/)").usd["offline"] == pytest.approx(30 * 0.0125)


def test_requests_tables_events_emails_and_tokens():
    bill = monthly_bill(WORKLOAD, _measured(), DEPLOYMENT)
    assert _line(bill, "PUT, COPY, LIST requests").usd["offline"] == pytest.approx(1800 * 0.005 / 1000)
    assert _line(bill, "GET, HEAD requests").quantity == 300 * 2 + 300 * 1
    assert _line(bill, "write request units").usd["offline"] == pytest.approx(30_000 * 0.625 / 1e6)
    assert _line(bill, "read request units").quantity == pytest.approx(300 * 2 + 300 * 4)
    assert _line(bill, "storage (table and index)").quantity == pytest.approx(300 / 1000)
    assert _line(bill, "custom events").usd["offline"] == pytest.approx(300 / 1e6)
    assert _line(bill, "emails (one per recipient)").quantity == 900
    assert _line(bill, "emails (one per recipient)").usd["offline"] == pytest.approx(900 * 0.16 / 1000)
    tokens_in, tokens_out = (
        _line(bill, "Nova Lite input tokens (1,000s)"),
        _line(bill, "Nova Lite output tokens (1,000s)"),
    )
    assert tokens_in.usd == {"offline": 0, "bedrock": pytest.approx(1800 * 0.00006)}
    assert tokens_out.usd == {"offline": 0, "bedrock": pytest.approx(2400 * 0.00024)}
    assert _line(bill, "REST API requests").usd["offline"] == pytest.approx(300 * 3.5 / 1e6)


def test_fixed_lines_and_the_free_tier():
    bill = monthly_bill(WORKLOAD, _measured(), DEPLOYMENT)
    alarms = _line(bill, "alarms")
    assert alarms.usd["offline"] == pytest.approx(1.80) and alarms.free_usd["offline"] == pytest.approx(0.80)
    assert _line(bill, "customer managed key").usd["offline"] == pytest.approx(1.00)
    # 12 metrics sent in 10 hours a day of 24: 12 x 10/24 metric-months
    metrics = _line(bill, "custom metrics (EMF)")
    assert metrics.quantity == pytest.approx(5.0) and metrics.usd["offline"] == pytest.approx(1.50)
    # logs: 300 x 10,000 bytes + Lambda's own lines for 1,500 invocations
    assert _line(bill, "logs ingested").quantity == pytest.approx((300 * 10_000 + 1500 * 420) / GB)
    assert not [line for line in bill.lines if line.service == "Budgets"]
    with_budget = monthly_bill(WORKLOAD, _measured(), Deployment(DEPLOYMENT.memory_mb, 18, budgets=1))
    budget = _line(with_budget, "monthly budget")
    assert budget.usd["offline"] == pytest.approx(0.60) and budget.free_usd["offline"] == 0


def test_the_total_is_the_sum_of_the_lines_in_each_mode():
    bill = monthly_bill(WORKLOAD, _measured(), DEPLOYMENT)
    for mode in ("offline", "bedrock"):
        assert bill.total(mode) == pytest.approx(sum(line.usd[mode] for line in bill.lines))
        assert bill.total(mode, free_tier=True) < bill.total(mode)
    assert bill.total("bedrock") - bill.total("offline") == pytest.approx(  # tokens and analyze's 8 s of waiting
        1800 * 0.00006 + 2400 * 0.00024 + 4800 * 0.0000166667
    )


def test_every_price_names_its_unit_source_and_how_it_was_checked():
    for key, price in PRICES.items():
        assert price.unit and price.source.startswith("https://"), key
        assert price.usd >= 0 and price.per > 0, key
        assert price.checked.startswith(("page", "copy: ")) or price.checked == "not re-read", key


def test_the_scheduled_fetch_waits_a_minute_between_requests_each_weekday():
    setup = Deployment({**DEPLOYMENT.memory_mb, "fetch": 256}, alarms=22)
    fetch = _line(monthly_bill(WORKLOAD, _measured(), setup), "fetch duration")
    # 50 symbols, 8 a request: 7 requests, 6 minutes apart, 1 s each = 367 s; 21 weekdays; 0.25 GB
    assert fetch.basis == "assumed"
    assert fetch.quantity == pytest.approx(21 * 367 * 0.25)
    assert _line(monthly_bill(WORKLOAD, _measured(), setup), "requests").quantity == 1500 + 21
