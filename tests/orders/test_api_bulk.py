"""POST /api/v1/orders/bulk/: per-item results, partial failure, idempotency."""

from __future__ import annotations

import pytest

from apps.orders.models import Order, OrderLine
from tests.orders.payloads import order_body

pytestmark = pytest.mark.django_db


def test_a_bad_item_never_loses_the_good_ones(api):
    good_a, good_b = order_body(), order_body()
    bad = order_body(lines=[{"sku": "X", "quantity": -2, "unit_price": "1.00"}])
    response = api.post("/api/v1/orders/bulk/", {"orders": [good_a, bad, "nonsense", good_b]}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["existing"], body["failed"]) == (2, 0, 2)
    results = body["results"]
    assert [r["status"] for r in results] == [201, 400, 400, 201]
    assert "lines.0.quantity" in results[1]["fields"]
    assert "non_field_errors" in results[2]["fields"]
    assert set(Order.objects.values_list("external_id", flat=True)) == {good_a["external_id"], good_b["external_id"]}
    assert OrderLine.objects.count() == 2


def test_resending_a_batch_returns_the_same_ids_with_200(api):
    batch = [order_body() for _ in range(5)]
    first = api.post("/api/v1/orders/bulk/", {"orders": batch}, format="json").json()
    again = api.post("/api/v1/orders/bulk/", {"orders": batch}, format="json").json()
    assert [r["id"] for r in again["results"]] == [r["id"] for r in first["results"]]
    assert {r["status"] for r in again["results"]} == {200}
    assert Order.objects.count() == 5


def test_the_same_order_twice_in_one_batch_is_stored_once(api):
    body = order_body()
    response = api.post("/api/v1/orders/bulk/", {"orders": [body, body]}, format="json").json()
    assert [r["status"] for r in response["results"]] == [201, 200]
    assert response["results"][0]["id"] == response["results"][1]["id"]
    assert Order.objects.count() == 1


def test_a_batch_shares_customers_by_external_id(api):
    customer = {"external_id": "SHARED-1", "name": "赵六", "phone": "13700000000"}
    batch = [order_body(customer=customer) for _ in range(3)]
    api.post("/api/v1/orders/bulk/", {"orders": batch}, format="json")
    assert Order.objects.values("customer_id").distinct().count() == 1


@pytest.mark.parametrize(
    "payload",
    [{}, {"orders": []}, {"orders": "x"}, [order_body()]],
    ids=["no-orders-key", "empty-list", "not-a-list", "bare-list"],
)
def test_a_malformed_envelope_is_a_400_naming_orders(api, payload):
    response = api.post("/api/v1/orders/bulk/", payload, format="json")
    assert response.status_code == 400
    assert "orders" in response.json()["fields"]


def test_more_orders_than_the_cap_is_refused_whole(api, settings):
    settings.ORDERGUARD_BULK_MAX_ORDERS = 3
    response = api.post("/api/v1/orders/bulk/", {"orders": [order_body() for _ in range(4)]}, format="json")
    assert response.status_code == 400
    assert "orders" in response.json()["fields"]
    assert Order.objects.count() == 0
