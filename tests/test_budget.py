"""The monthly budget alarm: off by default, on both deploy paths, kept as defined by the bootstrap."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from infra.budget import ensure_budget
from infra.resources import resource_specs
from infra.terraform_resources import terraform_resources, terraform_variables
from tests.budgets_harness import moto_budgets  # noqa: F401 (a fixture)

ACCOUNT = "123456789012"
ON = {"monthly_budget_usd": 25, "alarm_email": "ops@example.org"}


def test_the_budget_is_off_by_default_and_needs_an_alarm_address():
    specs = resource_specs("stock-insights", "dev")
    assert specs["budget"] is None and specs["budget_name"] == "stock-insights-dev-monthly"
    on = resource_specs("stock-insights", "prod", **ON)["budget"]
    assert on == {
        "name": "stock-insights-prod-monthly",
        "limit_usd": 25.0,
        "email": "ops@example.org",
        "notifications": [["ACTUAL", 80], ["ACTUAL", 100], ["FORECASTED", 100]],
    }
    with pytest.raises(ValueError, match="needs alarm_email"):
        resource_specs("stock-insights", "dev", monthly_budget_usd=25)
    for bad in (-1, "ten", True):
        with pytest.raises(ValueError, match="monthly_budget_usd"):
            resource_specs("stock-insights", "dev", monthly_budget_usd=bad)


def test_terraform_creates_the_budget_only_when_the_variable_is_above_zero():
    variable = terraform_variables()["variable"]["monthly_budget_usd"]
    assert variable["type"] == "number" and variable["default"] == 0
    budget = terraform_resources(resource_specs("stock-insights", "dev"))["resource"]["aws_budgets_budget"]["monthly"]
    assert budget["count"] == "${var.monthly_budget_usd > 0 ? 1 : 0}"
    assert budget["name"] == "stock-insights-dev-monthly" and budget["time_unit"] == "MONTHLY"
    assert budget["budget_type"] == "COST" and budget["limit_unit"] == "USD"
    assert [(n["notification_type"], n["threshold"]) for n in budget["notification"]] == [
        ("ACTUAL", 80),
        ("ACTUAL", 100),
        ("FORECASTED", 100),
    ]
    assert all(n["subscriber_email_addresses"] == ["${var.alarm_email}"] for n in budget["notification"])
    assert budget["lifecycle"]["precondition"][0]["condition"] == '${var.alarm_email != ""}'


@pytest.fixture
def budgets(aws_env, moto_budgets):  # noqa: F811
    with mock_aws():
        yield boto3.client("budgets", region_name="us-east-1")


def _ensure(client, **settings):
    rows = []
    specs = resource_specs("stock-insights", "dev", **settings)
    ensure_budget(specs, specs["budget_name"], lambda service: client, lambda *row: rows.append(row), ACCOUNT)
    return rows


def _subscribers(client, name):
    found = {}
    for notification in client.describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName=name)["Notifications"]:
        subscribers = client.describe_subscribers_for_notification(
            AccountId=ACCOUNT, BudgetName=name, Notification=notification
        )["Subscribers"]
        found[(notification["NotificationType"], float(notification["Threshold"]))] = [
            s["Address"] for s in subscribers
        ]
    return found


def test_the_bootstrap_creates_keeps_updates_and_removes_the_budget(budgets):
    name = "stock-insights-dev-monthly"
    assert _ensure(budgets) == []  # off: nothing to do

    assert _ensure(budgets, **ON)[0][2].startswith("created (25.00 USD a month, to ops@example.org)")
    budget = budgets.describe_budget(AccountId=ACCOUNT, BudgetName=name)["Budget"]
    assert budget["BudgetLimit"] == {"Amount": "25.00", "Unit": "USD"}
    assert (budget["TimeUnit"], budget["BudgetType"]) == ("MONTHLY", "COST")
    expected = {("ACTUAL", 80.0), ("ACTUAL", 100.0), ("FORECASTED", 100.0)}
    assert _subscribers(budgets, name) == dict.fromkeys(expected, ["ops@example.org"])

    assert _ensure(budgets, **ON) == [("budget", name, "unchanged")]

    moved = {"monthly_budget_usd": 40, "alarm_email": "desk@example.org"}
    assert _ensure(budgets, **moved) == [("budget", name, "updated")]
    assert budgets.describe_budget(AccountId=ACCOUNT, BudgetName=name)["Budget"]["BudgetLimit"]["Amount"] == "40.00"
    assert _subscribers(budgets, name) == dict.fromkeys(expected, ["desk@example.org"])
    assert _ensure(budgets, **moved) == [("budget", name, "unchanged")]

    assert _ensure(budgets, alarm_email="desk@example.org") == [("budget", name, "deleted (monthly_budget_usd is off)")]
    assert budgets.describe_budgets(AccountId=ACCOUNT).get("Budgets", []) == []


def test_the_bootstrap_command_creates_the_budget_and_destroy_removes_it(aws_env, moto_budgets, tmp_path):  # noqa: F811
    import io
    from contextlib import redirect_stdout

    from infra import bootstrap
    from tests.conftest import copy_chalice_dir

    chalice_dir = tmp_path / ".chalice"
    copy_chalice_dir(chalice_dir)
    common = ["--stage", "dev", "--chalice-dir", str(chalice_dir)]
    first = ["resources", *common, "--sender", "reports@example.org", "--recipients", "a@example.org",
             "--alarm-email", "ops@example.org", "--set", "monthly_budget_usd=15"]  # fmt: skip
    with mock_aws():
        client = boto3.client("budgets", region_name="us-east-1")

        def run(argv):
            out = io.StringIO()
            with redirect_stdout(out):
                assert bootstrap.main(argv, client=lambda s: boto3.client(s, region_name="us-east-1")) == 0
            return [line for line in out.getvalue().splitlines() if line.startswith("  budget ")]

        assert "created (15.00 USD a month, to ops@example.org)" in run(first)[0]
        assert json.loads((chalice_dir / "settings-dev.json").read_text())["monthly_budget_usd"] == 15
        assert run(["resources", *common])[0].split()[-1] == "unchanged"  # the settings file keeps it
        assert run(["destroy", *common])[0].split()[-1] == "deleted"
        assert client.describe_budgets(AccountId=ACCOUNT).get("Budgets", []) == []
        assert run(["destroy", *common])[0].split()[-1] == "absent"


@pytest.mark.slow
def test_terraform_applies_keeps_and_removes_the_budget_against_moto(monkeypatch, moto_budgets, tmp_path):  # noqa: F811
    """The package's `aws_budgets_budget`, alone, applied by Terraform to moto server."""
    import shutil
    import subprocess

    from tests.conftest import moto_server, terraform_plugin_dir

    terraform, plugins = shutil.which("terraform"), terraform_plugin_dir()
    if not terraform or plugins is None:
        pytest.skip("terraform or its AWS provider mirror is not here")
    document = terraform_resources(resource_specs("stock-insights", "dev"))
    variables = terraform_variables()["variable"]
    (tmp_path / "budget.tf.json").write_text(
        json.dumps(
            {
                "resource": {"aws_budgets_budget": document["resource"]["aws_budgets_budget"]},
                "variable": {name: variables[name] for name in ("monthly_budget_usd", "alarm_email")},
            }
        )
    )
    with moto_server(monkeypatch) as endpoint:
        (tmp_path / "provider.tf").write_text(
            'provider "aws" {\n  region = "us-east-1"\n  access_key = "testing"\n  secret_key = "testing"\n'
            "  skip_credentials_validation = true\n  skip_metadata_api_check = true\n"
            f'  endpoints {{\n    budgets = "{endpoint}"\n    sts = "{endpoint}"\n  }}\n}}\n'
        )
        env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("AWS_", "TF_VAR_"))}
        env.update({"TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"})

        def tf(*args: str, check: bool = True) -> subprocess.CompletedProcess:
            done = subprocess.run([terraform, f"-chdir={tmp_path}", *args, "-no-color"], env=env,
                                  capture_output=True, text=True, timeout=600)  # fmt: skip
            assert not check or done.returncode == 0, done.stdout + done.stderr
            return done

        tf("init", "-input=false", f"-plugin-dir={plugins}")
        on = ["-var", "monthly_budget_usd=25", "-var", "alarm_email=ops@example.org"]
        tf("apply", "-input=false", "-auto-approve", *on)
        client = boto3.client("budgets", region_name="us-east-1", endpoint_url=endpoint,
                              aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
        budget = client.describe_budget(AccountId=ACCOUNT, BudgetName="stock-insights-dev-monthly")["Budget"]
        assert float(budget["BudgetLimit"]["Amount"]) == 25 and budget["TimeUnit"] == "MONTHLY"
        expected = {("ACTUAL", 80.0), ("ACTUAL", 100.0), ("FORECASTED", 100.0)}
        assert _subscribers(client, "stock-insights-dev-monthly") == dict.fromkeys(expected, ["ops@example.org"])
        # Applied again: nothing to change (the provider reads the budget back, subscribers included).
        assert tf("plan", "-input=false", "-detailed-exitcode", *on).returncode == 0
        # Without an alarm address the precondition stops the plan, naming the fix.
        refused = tf("plan", "-input=false", "-var", "monthly_budget_usd=25", check=False)
        assert refused.returncode == 1 and "monthly_budget_usd needs alarm_email" in refused.stdout + refused.stderr
        # Off (the default): the budget goes.
        tf("apply", "-input=false", "-auto-approve")
        assert client.describe_budgets(AccountId=ACCOUNT).get("Budgets", []) == []
