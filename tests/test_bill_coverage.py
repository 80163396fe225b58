"""Every resource either deploy path creates is on the bill (a new, unpriced one fails here)."""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stdout

import boto3
import pytest
from moto import mock_aws

from infra import bootstrap
from infra.resources import resource_specs
from infra.terraform_resources import terraform_resources
from sandbox.bill import Workload, monthly_bill
from sandbox.bill_coverage import BOOTSTRAP_KINDS, TERRAFORM_TYPES, unpriced
from sandbox.cost import DEFAULT_MEASUREMENT
from sandbox.cost_report import deployment
from sandbox.measure import load
from tests.budgets_harness import moto_budgets  # noqa: F401 (a fixture)
from tests.conftest import copy_chalice_dir

EVERYTHING = {"fetch_symbols": "AAPL,MSFT", "monthly_budget_usd": 20, "alarm_email": "ops@example.org"}


@pytest.fixture(scope="module")
def billed() -> set[str]:
    """The services with a line on the bill of a deployment with everything on (fetch, budget)."""
    _, measured = load(DEFAULT_MEASUREMENT)
    bill = monthly_bill(Workload(), measured, deployment(fetch=True, budget=True))
    return {line.service for line in bill.lines}


def test_every_terraform_resource_type_of_the_infra_document_is_priced(billed):
    document = terraform_resources(resource_specs("stock-insights", "prod", **EVERYTHING))
    assert unpriced(set(document["resource"]), TERRAFORM_TYPES, billed) == []


def test_a_new_resource_type_without_a_price_fails():
    assert unpriced({"aws_lambda_function", "aws_rds_cluster"}, TERRAFORM_TYPES, {"Lambda"}) == ["aws_rds_cluster"]
    assert unpriced({"aws_sqs_queue"}, TERRAFORM_TYPES, {"Lambda"}) == ["aws_sqs_queue -> SQS"]


def test_every_function_of_the_deployment_has_its_memory_and_a_lambda_line(billed):
    _, measured = load(DEFAULT_MEASUREMENT)
    setup = deployment(fetch=True, budget=True)
    functions = resource_specs("stock-insights", "dev", **EVERYTHING)["functions"]
    assert set(setup.memory_mb) == set(functions)
    bill = monthly_bill(Workload(), measured, setup)
    durations = {line.item.removesuffix(" duration") for line in bill.lines if line.item.endswith(" duration")}
    assert durations == set(functions)
    assert setup.alarms == len(resource_specs("stock-insights", "dev", **EVERYTHING)["alarms"])


def test_every_resource_the_bootstrap_creates_is_priced(aws_env, moto_budgets, tmp_path, billed):  # noqa: F811
    chalice_dir = tmp_path / ".chalice"
    copy_chalice_dir(chalice_dir)
    argv = ["resources", "--stage", "dev", "--sender", "reports@example.org", "--recipients", "a@example.org",
            "--alarm-email", "ops@example.org", "--fetch-symbols", "AAPL", "--set", "monthly_budget_usd=20",
            "--chalice-dir", str(chalice_dir)]  # fmt: skip
    out = io.StringIO()
    with mock_aws(), redirect_stdout(out):
        assert bootstrap.main(argv, client=lambda service: boto3.client(service, region_name="us-east-1")) == 0
    kinds = {re.match(r"^  (.{18}) ", line).group(1).strip() for line in out.getvalue().splitlines()[1:]}
    assert {"budget", "kms key", "table", "alarm", "iam role", "api key parameter"} <= kinds
    assert unpriced(kinds, BOOTSTRAP_KINDS, billed) == []


@pytest.mark.slow
def test_every_resource_type_of_the_terraform_package_is_priced(terraform_package, billed):
    found = set()
    for path in terraform_package.glob("*.tf.json"):
        found |= set(json.loads(path.read_text()).get("resource", {}))
    assert "aws_lambda_function" in found and "aws_api_gateway_rest_api" in found
    assert unpriced(found, TERRAFORM_TYPES, billed) == []
