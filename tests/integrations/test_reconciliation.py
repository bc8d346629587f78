"""POST /api/v1/reconciliations/: a platform's order list against the stored orders (漏单)."""

from __future__ import annotations

import pytest

from apps.exceptions.models import OrderException
from tests.orders.payloads import order_body

pytestmark = pytest.mark.django_db

URL = "/api/v1/reconciliations/"


def listing(*external_ids: str, channel: str = "taobao", total: str = "88.00") -> dict:
    return {
        "channel": channel,
        "orders": [
            {"external_id": ext, "total_amount": total, "placed_at": "2026-11-24T10:00:00+08:00"}
            for ext in external_ids
        ],
    }


def test_a_repeated_reconciliation_counts_the_missing_order_again_and_raises_it_once(api):
    first = api.post(URL, listing("TB-LOST-1", "TB-LOST-2"), format="json").json()
    assert (first["checked"], first["present"], first["missing"], first["raised"]) == (
        2,
        0,
        ["TB-LOST-1", "TB-LOST-2"],
        2,
    )
    again = api.post(URL, listing("TB-LOST-1"), format="json").json()
    assert (again["raised"], again["again"]) == (0, 1)
    lost = OrderException.objects.get(external_id="TB-LOST-1")
    assert (lost.rule.code, lost.order_id, lost.occurrences, lost.severity) == ("MISSING_ORDER", None, 2, "high")
    assert OrderException.objects.filter(rule__code="MISSING_ORDER").count() == 2


def test_a_stored_order_with_another_total_is_reported_not_raised(api):
    body = order_body(external_id="TB-HAVE-1", channel="taobao")
    stored = api.post("/api/v1/orders/", body, format="json").json()
    found = api.post(URL, listing("TB-HAVE-1", total="1.00"), format="json").json()
    assert found["missing"] == [] and found["present"] == 1
    assert found["total_differs"] == [
        {"external_id": "TB-HAVE-1", "reported": "1.00", "stored": stored["total_amount"]}
    ]
    assert not OrderException.objects.filter(rule__code="MISSING_ORDER").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"orders": [{"external_id": "X", "total_amount": "1.00", "placed_at": "2026-11-24T10:00:00Z"}]}, "channel"),
        (listing("X", channel="ebay"), "channel"),
        ({"channel": "taobao", "orders": []}, "orders"),
        (listing("X", total="12,50"), "orders.0.total_amount"),
        (
            {"channel": "taobao", "orders": [{"external_id": "X", "total_amount": "1.00", "placed_at": "yesterday"}]},
            "orders.0.placed_at",
        ),
        (
            {"channel": "taobao", "orders": [{"total_amount": "1.00", "placed_at": "2026-11-24T10:00:00Z"}]},
            "orders.0.external_id",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_raises_nothing(api, body, field):
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not OrderException.objects.exists()


def test_more_orders_than_the_cap_are_refused(api, settings):
    settings.ORDERGUARD_RECONCILIATION_MAX_ORDERS = 2
    response = api.post(URL, listing("A", "B", "C"), format="json")
    assert response.status_code == 400 and "orders" in response.json()["fields"]


def test_only_roles_that_raise_exceptions_may_reconcile(staff_api, anon_api):
    assert anon_api.post(URL, listing("X"), format="json").status_code == 401
    assert staff_api.post(URL, listing("X"), format="json").status_code == 403
    assert not OrderException.objects.exists()
