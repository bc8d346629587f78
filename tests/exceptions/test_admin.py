"""The exceptions admin: exceptions are shown read-only, the grading table is edited with clear validation."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Department
from apps.exceptions.models import GradingRule, OrderException
from apps.exceptions.services import exceptions_sync
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_exceptions_are_listed_searched_and_shown_but_not_editable(admin_client, stock_rule):
    order = OrderFactory()
    exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={order.pk: {}})
    exception = OrderException.objects.get()
    changelist = reverse("admin:exceptions_orderexception_changelist")
    listing = admin_client.get(changelist, {"q": order.external_id})
    assert listing.status_code == 200
    assert stock_rule.code in listing.content.decode()
    assert admin_client.get(changelist, {"status__exact": "open", "severity__exact": "high"}).status_code == 200
    page = admin_client.get(reverse("admin:exceptions_orderexception_change", args=[exception.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert admin_client.get(reverse("admin:exceptions_orderexception_add")).status_code == 403


def test_a_manager_reads_the_grading_table_but_cannot_change_it(client, manager_user):
    client.force_login(manager_user)
    assert client.get(reverse("admin:exceptions_gradingrule_changelist")).status_code == 200
    row = GradingRule.objects.first()
    page = client.get(reverse("admin:exceptions_gradingrule_change", args=[row.pk]))
    assert b'name="_save"' not in page.content


def _form(**overrides) -> dict:
    data = {
        "position": "5",
        "name": "大额京东订单",
        "is_active": "on",
        "category": "payment",
        "channel": "jd",
        "min_amount": "1000.00",
        "max_amount": "",
        "customer_tag": "",
        "severity": "high",
        "department": str(Department.objects.get(code="finance").pk),
        "handling": "manual_check",
        "first_response_minutes": "15",
        "resolution_minutes": "",
        "notify_channels": ["email", "in_app"],
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_an_admin_adds_a_grading_row(admin_client):
    response = admin_client.post(reverse("admin:exceptions_gradingrule_add"), _form())
    assert response.status_code == 302, response.content.decode()[:2000]
    row = GradingRule.objects.get(name="大额京东订单")
    assert row.notify_channels == ["email", "in_app"]
    assert row.channel == "jd"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"min_amount": "500.00", "max_amount": "100.00"}, "The maximum amount must not be below the minimum amount."),
        ({"first_response_minutes": "0"}, "The first response time must be at least one minute."),
        ({"resolution_minutes": "5"}, "The resolution time must not be shorter than the first response time."),
        ({"time_from": "22:00"}, "Give both ends of the time window, or neither."),
    ],
)
def test_the_grading_form_explains_what_is_wrong(admin_client, overrides, message):
    before = GradingRule.objects.count()
    response = admin_client.post(reverse("admin:exceptions_gradingrule_add"), _form(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert GradingRule.objects.count() == before
