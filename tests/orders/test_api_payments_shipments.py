"""Payments, shipments and tracking events through the API."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.orders.models import Payment, Shipment, ShipmentLine, TrackingEvent
from tests.orders.payloads import order_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def order_id(api):
    return api.post("/api/v1/orders/", order_body(), format="json").json()["id"]


def payment(order_id, **overrides):
    body = {
        "order": order_id,
        "transaction_id": "ALI-2026-0001",
        "amount": "259.00",
        "status": "succeeded",
        "paid_at": "2026-11-24T10:02:00+08:00",
        "method": "alipay",
    }
    body.update(overrides)
    return body


def shipment(order_id, **overrides):
    body = {
        "order": order_id,
        "carrier": "SF",
        "tracking_number": "SF123456789012",
        "shipped_at": "2026-11-25T09:00:00+08:00",
        "lines": [{"sku": "SKU-1", "quantity": 2}],
    }
    body.update(overrides)
    return body


def test_a_payment_is_recorded_and_a_repeat_returns_the_same_one(api, order_id):
    first = api.post("/api/v1/payments/", payment(order_id), format="json")
    again = api.post("/api/v1/payments/", payment(order_id), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Payment.objects.get().amount == Decimal("259.00")


def test_a_repeat_with_a_new_status_updates_the_payment(api, order_id):
    api.post("/api/v1/payments/", payment(order_id, status="pending", paid_at=None), format="json")
    response = api.post("/api/v1/payments/", payment(order_id, status="succeeded"), format="json")
    assert response.status_code == 200
    stored = Payment.objects.get()
    assert stored.status == "succeeded" and stored.paid_at is not None


def test_a_transaction_id_reused_for_another_order_is_a_conflict(api, order_id):
    other = api.post("/api/v1/orders/", order_body(), format="json").json()["id"]
    api.post("/api/v1/payments/", payment(order_id), format="json")
    response = api.post("/api/v1/payments/", payment(other), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "transaction_conflict"
    assert "order" in response.json()["fields"]


def test_a_transaction_id_reused_with_another_amount_is_a_conflict(api, order_id):
    api.post("/api/v1/payments/", payment(order_id), format="json")
    response = api.post("/api/v1/payments/", payment(order_id, amount="1.00"), format="json")
    assert response.status_code == 409
    assert "amount" in response.json()["fields"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "settled"}, "status"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "5.123"}, "amount"),
        ({"paid_at": "not a time"}, "paid_at"),
        ({"order": "abc"}, "order"),
        ({"transaction_id": ""}, "transaction_id"),
    ],
)
def test_a_bad_payment_is_refused_naming_the_field(api, order_id, change, field):
    response = api.post("/api/v1/payments/", payment(order_id, **change), format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert Payment.objects.count() == 0


def test_a_payment_for_an_unknown_order_is_refused_naming_order(api):
    response = api.post("/api/v1/payments/", payment(987654), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "not_found"
    assert "order" in response.json()["fields"]


def test_a_shipment_is_recorded_with_its_lines_and_a_repeat_is_idempotent(api, order_id):
    first = api.post("/api/v1/shipments/", shipment(order_id, carrier="sf"), format="json")
    again = api.post("/api/v1/shipments/", shipment(order_id), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["carrier"] == "SF"
    assert list(ShipmentLine.objects.values_list("sku", "quantity")) == [("SKU-1", 2)]


def test_an_unknown_carrier_and_a_bad_tracking_number_are_stored(api, order_id):
    response = api.post(
        "/api/v1/shipments/",
        shipment(order_id, carrier="ACME", tracking_number="??", lines=[{"sku": "NOT-ON-ORDER", "quantity": 1}]),
        format="json",
    )
    assert response.status_code == 201
    assert Shipment.objects.get().carrier == "ACME"


def test_a_tracking_number_of_another_order_is_a_conflict(api, order_id):
    other = api.post("/api/v1/orders/", order_body(), format="json").json()["id"]
    api.post("/api/v1/shipments/", shipment(order_id), format="json")
    response = api.post("/api/v1/shipments/", shipment(other), format="json")
    assert response.status_code == 409
    assert "tracking_number" in response.json()["fields"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "SKU-1", "quantity": -1}]}, "lines.0.quantity"),
        ({"shipped_at": "soon"}, "shipped_at"),
        ({"carrier": 7}, "carrier"),
        ({"order": 999999}, "order"),
    ],
)
def test_a_bad_shipment_is_refused_naming_the_field(api, order_id, change, field):
    response = api.post("/api/v1/shipments/", shipment(order_id, **change), format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert Shipment.objects.count() == 0


def test_tracking_events_are_recorded_and_shown_on_the_shipment(api, order_id):
    shipment_id = api.post("/api/v1/shipments/", shipment(order_id), format="json").json()["id"]
    event = {"occurred_at": "2026-11-25T12:00:00+08:00", "status": "in_transit", "description": "杭州转运中心"}
    first = api.post(f"/api/v1/shipments/{shipment_id}/events/", event, format="json")
    again = api.post(f"/api/v1/shipments/{shipment_id}/events/", event, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert TrackingEvent.objects.count() == 1
    detail = api.get(f"/api/v1/shipments/{shipment_id}/").json()
    assert [e["status"] for e in detail["events"]] == ["in_transit"]


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"occurred_at": "2026-11-25T12:00:00+08:00", "status": "teleported"}, "status"),
        ({"occurred_at": "tomorrow", "status": "delivered"}, "occurred_at"),
        ({"status": "delivered"}, "occurred_at"),
    ],
)
def test_a_bad_tracking_event_is_refused_naming_the_field(api, order_id, event, field):
    shipment_id = api.post("/api/v1/shipments/", shipment(order_id), format="json").json()["id"]
    response = api.post(f"/api/v1/shipments/{shipment_id}/events/", event, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_an_event_for_an_unknown_shipment_is_404(api):
    response = api.post(
        "/api/v1/shipments/55555/events/", {"occurred_at": "2026-11-25T12:00:00Z", "status": "delivered"}, format="json"
    )
    assert response.status_code == 404


def test_a_recorded_payment_can_be_read_back(api, order_id):
    payment_id = api.post("/api/v1/payments/", payment(order_id), format="json").json()["id"]
    response = api.get(f"/api/v1/payments/{payment_id}/")
    assert response.status_code == 200
    assert (response.json()["transaction_id"], response.json()["amount"]) == ("ALI-2026-0001", "259.00")
    assert api.get("/api/v1/payments/999999/").status_code == 404
