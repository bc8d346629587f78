"""The console's home page counts what needs attention, and each figure opens the list it counts."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.test import RequestFactory
from django.utils import timezone

from apps.console.navigation import sidebar
from apps.exceptions.models import ACTIVE_STATUSES, OrderException
from apps.rules.models import ExceptionRule
from tests.console.conftest import ingest_orders, shortage_body
from tests.orders.payloads import order_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def raised(db):
    ingest_orders(shortage_body(), order_body(), order_body())
    # One of them is past its deadline.
    late = OrderException.objects.filter(status__in=ACTIVE_STATUSES).order_by("pk").first()
    OrderException.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    return OrderException.objects.filter(status__in=ACTIVE_STATUSES)


def _figure(html: str, name: str) -> tuple[str, int]:
    match = re.search(
        rf'<a class="og-stat[^"]*" href="([^"]+)" data-figure="{name}">\s*<span class="og-stat__value">(\d+)<', html
    )
    assert match, f"no {name} figure"
    return unescape(match.group(1)), int(match.group(2))


def _listed(client, url: str) -> int:
    page = client.get(url)
    assert page.status_code == 200
    return page.content.decode().count('class="field-severity_badge')


def test_each_figure_counts_the_open_exceptions_and_links_to_exactly_those(client, admin_user, raised):
    client.force_login(admin_user)
    html = client.get("/admin/").content.decode()

    url, count = _figure(html, "open")
    assert count == raised.count() >= 3
    assert _listed(client, url) == count

    url, count = _figure(html, "overdue")
    assert count == 1
    assert _listed(client, url) == 1

    url, count = _figure(html, "today")
    assert count == OrderException.objects.count()
    assert _listed(client, url) == count

    for severity in ("high", "medium", "low"):
        expected = raised.filter(severity=severity).count()
        row = re.search(rf'<tr data-severity="{severity}">.*?<a href="([^"]+)">(\d+)</a>', html, re.S)
        assert int(row.group(2)) == expected
        assert _listed(client, unescape(row.group(1))) == expected


def test_a_rule_whose_last_run_failed_is_named_with_a_link(client, admin_user, raised):
    rule = ExceptionRule.objects.get(code="PRICE_ANOMALY")
    ExceptionRule.objects.filter(pk=rule.pk).update(last_error="boom", last_error_at=timezone.now())
    client.force_login(admin_user)
    html = client.get("/admin/").content.decode()
    assert f'href="/admin/rules/exceptionrule/{rule.pk}/change/"' in html
    assert "All rules ran" not in html


def test_the_sidebar_groups_what_the_user_may_see_and_hides_empty_groups(admin_user, manager_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    groups = {str(group["title"]): [str(item["title"]) for item in group["items"]] for group in sidebar(request)}
    assert list(groups) == [
        "Overview",
        "Orders",
        "Exceptions",
        "Rules and grading",
        "SLA",
        "Workflows and forms",
        "System",
    ]
    assert groups["SLA"] == [
        "Business calendars",
        "Official holidays and make-up days",
        "Escalation ladders",
        "Timer firings",
    ]
    assert groups["Workflows and forms"] == ["Workflows", "Forms"]
    assert "Periodic tasks" in groups["System"]
    assert "Orders" in groups["Orders"] and "Order exceptions" in groups["Exceptions"]

    request.user = manager_user
    groups = {str(group["title"]): [str(item["title"]) for item in group["items"]] for group in sidebar(request)}
    # Managers read orders, exceptions and rules, but no schedules or tokens.
    assert "Periodic tasks" not in groups.get("System", [])
    assert "Workflows and forms" not in groups  # no designer for managers: the empty group is hidden
    assert "Order exceptions" in groups["Exceptions"]
