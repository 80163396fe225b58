"""What moto 5.2.5's AWS Budgets lacks, added for the tests (in process: moto server shares it).

moto implements create/describe/delete_budget and create/delete/describe_notifications_for_budget,
but not `UpdateBudget` (a changed limit) nor `DescribeSubscribersForNotification` (whom a
notification e-mails), which `infra.budget` calls against real AWS to keep a budget as defined
without re-creating it, nor `ListTagsForResource`, which the Terraform AWS provider (5.x) calls
when it reads an `aws_budgets_budget` back (moto answers 500 and the provider retries for minutes).
They are answered here from moto's own stored budget, the way AWS's API reference describes them
(Budgets API Reference, UpdateBudget, DescribeSubscribersForNotification and ListTagsForResource,
read 2026-12-05); moto keeps no budget tags, so the list is empty. Remove a method once moto has it.
"""

from __future__ import annotations

import json

import pytest


def _update_budget(self) -> str:
    account_id = self._get_param("AccountId")
    new = self._get_param("NewBudget")
    stored = self.backend.budgets[account_id][new["BudgetName"]]
    stored.budget.update(new)
    return json.dumps({})


def _describe_subscribers_for_notification(self) -> str:
    account_id = self._get_param("AccountId")
    budget = self.backend.budgets[account_id][self._get_param("BudgetName")]
    wanted = self._get_param("Notification")
    for notification in budget.notifications:
        if notification.details == wanted:
            return json.dumps({"Subscribers": notification.subscribers})
    return json.dumps({"Subscribers": []})


def _list_tags_for_resource(self) -> str:
    return json.dumps({"ResourceTags": []})


@pytest.fixture
def moto_budgets(monkeypatch):
    """moto's Budgets with the two operations above."""
    from moto.budgets.responses import BudgetsResponse

    for name, method in (
        ("update_budget", _update_budget),
        ("describe_subscribers_for_notification", _describe_subscribers_for_notification),
        ("list_tags_for_resource", _list_tags_for_resource),
    ):
        if hasattr(BudgetsResponse, name):
            raise AssertionError(f"moto now has BudgetsResponse.{name}: drop it from tests/budgets_harness.py")
        monkeypatch.setattr(BudgetsResponse, name, method, raising=False)
