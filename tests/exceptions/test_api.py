"""GET /api/v1/exceptions/ and /{id}/: fields, filters, pagination, errors, and department scoping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import User
from apps.exceptions.models import ExceptionStatus, OrderException
from apps.exceptions.services import exceptions_sync, missing_order_sync
from apps.rules.models import Category, Severity
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/exceptions/"
SPEC_FIELDS = {
    "id",
    "order",
    "type",
    "category",
    "severity",
    "status",
    "summary",
    "department",
    "assignee",
    "detected_at",
    "due_at",
    "resolved_at",
    "occurrences",
}


def _raise(rule, order=None, *, now=None) -> OrderException:
    order = order or OrderFactory()
    result = exceptions_sync(rule=rule, scope_order_ids=[order.pk], matched={order.pk: {"sku": "SKU-1"}}, now=now)
    return OrderException.objects.get(pk=result.created_ids[0])


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_the_list_shows_the_spec_fields_of_each_exception(api, stock_rule):
    exception = _raise(stock_rule)
    response = api.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    item = body["results"][0]
    assert set(item) >= SPEC_FIELDS
    assert item["id"] == exception.pk
    assert item["order"] == exception.order_id
    assert item["type"] == stock_rule.code
    assert item["category"] == "inventory"
    assert item["severity"] == "high"
    assert item["status"] == "open"
    assert item["department"] == "warehouse"
    assert item["assignee"] is None
    assert item["occurrences"] == 1
    assert item["resolved_at"] is None
    assert item["summary"].startswith(stock_rule.name_en)  # the request's language (the tests' default, en)


def test_the_detail_adds_the_details_and_the_audit_trail(api, stock_rule):
    exception = _raise(stock_rule)
    exceptions_sync(rule=stock_rule, scope_order_ids=[exception.order_id], matched={})
    response = api.get(f"{URL}{exception.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= SPEC_FIELDS
    assert body["status"] == "auto_resolved"
    assert body["resolved_at"] is not None
    assert body["details"] == {"sku": "SKU-1"}
    assert [event["kind"] for event in body["events"]] == ["detected", "auto_resolved"]


def test_an_unknown_exception_is_a_404(api):
    response = api.get(f"{URL}999999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_missing_order_exception_has_no_order(api, make_rule):
    rule = make_rule(Category.INTEGRATION, Severity.HIGH)
    missing_order_sync(rule=rule, channel="tmall", external_ids=["TM-1"])
    item = api.get(URL).json()["results"][0]
    assert item["order"] is None
    assert (item["channel"], item["external_id"]) == ("tmall", "TM-1")
    assert item["department"] == "management"


def test_filtering_by_order(api, stock_rule, payment_rule):
    order = OrderFactory()
    wanted = {_raise(stock_rule, order).pk, _raise(payment_rule, order).pk}
    _raise(stock_rule)
    assert set(_ids(api.get(URL, {"order": order.pk}))) == wanted


def test_filtering_by_type_takes_one_rule_code_or_several(api, stock_rule, payment_rule, make_rule):
    stock, payment = _raise(stock_rule), _raise(payment_rule)
    other = _raise(make_rule(Category.LOGISTICS))
    assert _ids(api.get(URL, {"type": stock_rule.code})) == [stock.pk]
    both = api.get(URL, {"type": f"{stock_rule.code}, {payment_rule.code}"})
    assert set(_ids(both)) == {stock.pk, payment.pk}
    assert other.pk not in _ids(both)


def test_filtering_by_status_and_severity(api, stock_rule, payment_rule):
    open_stock = _raise(stock_rule)
    resolved_payment = _raise(payment_rule)
    exceptions_sync(rule=payment_rule, scope_order_ids=[resolved_payment.order_id], matched={})
    assert _ids(api.get(URL, {"status": "open"})) == [open_stock.pk]
    assert set(_ids(api.get(URL, {"status": "open,auto_resolved"}))) == {open_stock.pk, resolved_payment.pk}
    assert _ids(api.get(URL, {"severity": "medium"})) == [resolved_payment.pk]
    assert _ids(api.get(URL, {"severity": "high", "status": "auto_resolved"})) == []


def test_filtering_by_department_code(api, stock_rule, payment_rule):
    _raise(stock_rule)
    finance = _raise(payment_rule)
    assert _ids(api.get(URL, {"department": "finance"})) == [finance.pk]


def test_filtering_by_assignee_username_or_id(api, stock_rule, staff_user):
    assigned, _unassigned = _raise(stock_rule), _raise(stock_rule)
    OrderException.objects.filter(pk=assigned.pk).update(assignee=staff_user, status=ExceptionStatus.ASSIGNED)
    assert _ids(api.get(URL, {"assignee": staff_user.username})) == [assigned.pk]
    assert _ids(api.get(URL, {"assignee": str(staff_user.pk)})) == [assigned.pk]
    item = api.get(f"{URL}{assigned.pk}/").json()
    assert (item["assignee"], item["status"]) == (staff_user.username, "assigned")


def test_filtering_by_detection_time(api, stock_rule):
    now = timezone.now()
    old = _raise(stock_rule, now=now - timedelta(days=3))
    new = _raise(stock_rule, now=now)
    cut = (now - timedelta(days=1)).isoformat()
    assert _ids(api.get(URL, {"detected_after": cut})) == [new.pk]
    assert _ids(api.get(URL, {"detected_before": cut})) == [old.pk]


def test_the_list_is_newest_first_and_paginated(api, stock_rule):
    orders = OrderFactory.create_batch(52)
    now = timezone.now()
    exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={order.pk: {} for order in orders[:26]}, now=now)
    exceptions_sync(
        rule=stock_rule,
        scope_order_ids=[order.pk for order in orders[26:]],
        matched={order.pk: {} for order in orders[26:]},
        now=now + timedelta(seconds=1),
    )
    first = api.get(URL).json()
    assert first["count"] == 52
    assert len(first["results"]) == 50
    assert first["previous"] is None and first["next"]
    assert first["results"][0]["detected_at"] > first["results"][-1]["detected_at"]
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 2
    assert second["next"] is None and second["previous"]
    all_ids = [item["id"] for item in first["results"] + second["results"]]
    assert len(set(all_ids)) == 52


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"status": "open,lost"}, "status"),
        ({"severity": "critical"}, "severity"),
        ({"type": "NO_SUCH_RULE"}, "type"),
        ({"department": "marketing"}, "department"),
        ({"order": "abc"}, "order"),
        ({"order": "-1"}, "order"),
        ({"detected_after": "yesterday"}, "detected_after"),
    ],
)
def test_a_bad_filter_value_is_a_400_naming_the_filter(api, params, field):
    response = api.get(URL, params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["fields"]) == [field]


def test_an_unknown_type_is_named_in_the_message(api, stock_rule):
    response = api.get(URL, {"type": f"{stock_rule.code},NO_SUCH_RULE"})
    assert response.status_code == 400
    assert response.json()["fields"]["type"] == ["Unknown exception type: NO_SUCH_RULE."]


def test_an_anonymous_caller_is_a_401(anon_api):
    response = anon_api.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_user_without_a_role_is_a_403(db):
    from rest_framework.test import APIClient

    from apps.accounts.services import api_token_issue

    User.objects.create_user(username="nobody", password="pw-nobody-Secret1")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + api_token_issue(username="nobody").key)
    assert client.get(URL).status_code == 403


def test_staff_see_only_their_department_and_what_is_assigned_to_them(staff_api, staff_user, stock_rule, payment_rule):
    warehouse = _raise(stock_rule)
    finance = _raise(payment_rule)
    finance_for_them = _raise(payment_rule)
    OrderException.objects.filter(pk=finance_for_them.pk).update(assignee=staff_user)
    assert staff_user.department.code == "warehouse"
    assert set(_ids(staff_api.get(URL))) == {warehouse.pk, finance_for_them.pk}
    assert staff_api.get(f"{URL}{warehouse.pk}/").status_code == 200
    assert staff_api.get(f"{URL}{finance.pk}/").status_code == 404
    assert _ids(staff_api.get(URL, {"department": "finance"})) == [finance_for_them.pk]


def test_managers_and_admins_see_every_department(api, manager_api, stock_rule, payment_rule):
    ids = {_raise(stock_rule).pk, _raise(payment_rule).pk}
    assert set(_ids(manager_api.get(URL))) == ids
    assert set(_ids(api.get(URL))) == ids


def test_the_list_does_not_query_per_exception(api, stock_rule, staff_user, django_assert_max_num_queries):
    for _i in range(12):
        _raise(stock_rule)
    OrderException.objects.update(assignee=staff_user)
    with django_assert_max_num_queries(8):
        assert len(_ids(api.get(URL))) == 12


def test_the_schema_documents_the_exception_endpoints_and_filters(api):
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    listing = schema["paths"]["/api/v1/exceptions/"]["get"]
    names = {parameter["name"] for parameter in listing["parameters"]}
    assert {"order", "type", "status", "severity", "department", "assignee", "detected_after", "page"} <= names
    assert "/api/v1/exceptions/{exception_id}/" in schema["paths"]
    assert "ExceptionStatusEnum" in schema["components"]["schemas"]
