"""The monthly budget alarm (AWS Budgets), the bootstrap's way: `infra.resources`' `budget` spec.

Off unless the stage's `monthly_budget_usd` setting is above 0. A COST budget of that many USD a
month that e-mails `alarm_email` when the month's actual cost passes 80 % and 100 % of it, and when
the forecast passes 100 %. It watches the whole account's bill: filtering by the app's tags needs
cost allocation tags activated by the account's payer, which a deploy cannot assume. AWS Budgets
is global (one endpoint, us-east-1); the first two budgets of an account are free, then
$0.02 a day each (AWS Billing and Cost Management User Guide, "Managing your costs with AWS
Budgets", read 2026-12-05).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infra.steps import CREATED, UNCHANGED, UPDATED, unless_missing
from infra.teardown import ABSENT, DELETED


def budget_request(spec: dict[str, Any]) -> dict[str, Any]:
    """`create_budget`'s Budget argument (also `update_budget`'s NewBudget)."""
    return {
        "BudgetName": spec["name"],
        "BudgetLimit": {"Amount": f"{spec['limit_usd']:.2f}", "Unit": "USD"},
        "TimeUnit": "MONTHLY",
        "BudgetType": "COST",
    }


def notifications(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The budget's notifications, as `create_notification` takes them."""
    return [
        {
            "NotificationType": kind,
            "ComparisonOperator": "GREATER_THAN",
            "Threshold": float(percent),
            "ThresholdType": "PERCENTAGE",
        }
        for kind, percent in spec["notifications"]
    ]


def _key(notification: dict[str, Any]) -> tuple:
    return (notification["NotificationType"], notification["ComparisonOperator"], float(notification["Threshold"]))


def ensure_budget(
    specs: dict[str, Any],
    name: str,
    client: Callable[[str], Any],
    report: Callable[[str, str, str], None],
    account: str,
) -> None:
    """Make the stage's budget match `specs["budget"]`; remove the stage's budget `name` when it is off."""
    budgets, spec = client("budgets"), specs["budget"]
    current = unless_missing("NotFoundException", lambda: budgets.describe_budget(AccountId=account, BudgetName=name))
    if spec is None:
        if current is not None:
            budgets.delete_budget(AccountId=account, BudgetName=name)
            report("budget", name, f"{DELETED} (monthly_budget_usd is off)")
        return
    subscriber = {"SubscriptionType": "EMAIL", "Address": spec["email"]}
    wanted = budget_request(spec)
    if current is None:
        budgets.create_budget(
            AccountId=account,
            Budget=wanted,
            NotificationsWithSubscribers=[
                {"Notification": n, "Subscribers": [subscriber]} for n in notifications(spec)
            ],
        )
        report("budget", name, f"{CREATED} ({wanted['BudgetLimit']['Amount']} USD a month, to {spec['email']})")
        return
    outcome = UNCHANGED
    if float(current["Budget"]["BudgetLimit"]["Amount"]) != float(wanted["BudgetLimit"]["Amount"]):
        budgets.update_budget(AccountId=account, NewBudget=wanted)
        outcome = UPDATED
    found = {
        _key(n): n
        for n in budgets.describe_notifications_for_budget(AccountId=account, BudgetName=name)["Notifications"]
    }
    for notification in notifications(spec):
        existing = found.pop(_key(notification), None)
        if existing is not None:
            subscribers = budgets.describe_subscribers_for_notification(
                AccountId=account, BudgetName=name, Notification=existing
            )["Subscribers"]
            if [(s["SubscriptionType"], s["Address"]) for s in subscribers] == [("EMAIL", spec["email"])]:
                continue
            budgets.delete_notification(AccountId=account, BudgetName=name, Notification=existing)
        budgets.create_notification(
            AccountId=account, BudgetName=name, Notification=notification, Subscribers=[subscriber]
        )
        outcome = UPDATED
    for extra in found.values():
        budgets.delete_notification(AccountId=account, BudgetName=name, Notification=extra)
        outcome = UPDATED
    report("budget", name, outcome)


def delete_budget(
    name: str, client: Callable[[str], Any], report: Callable[[str, str, str], None], account: str
) -> None:
    """The teardown's step: the stage's budget gone (if there was one)."""
    budgets = client("budgets")
    if unless_missing("NotFoundException", lambda: budgets.describe_budget(AccountId=account, BudgetName=name)):
        budgets.delete_budget(AccountId=account, BudgetName=name)
        report("budget", name, DELETED)
    else:
        report("budget", name, ABSENT)
