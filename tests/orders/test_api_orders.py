"""POST/GET/PATCH /api/v1/orders/ and the bulk endpoint."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.orders.models import Customer, Order, OrderLine
from tests.orders.payloads import order_body

pytestmark = pytest.mark.django_db


def test_posting_a_new_order_stores_it_with_lines_customer_and_address(api):
    body = order_body()
    response = api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    order = Order.objects.get(pk=data["id"])
    assert order.external_id == body["external_id"]
    assert order.total_amount == Decimal("259.00")
    assert order.ship_province == "浙江省"
    assert order.customer.name == "张三"
    assert order.customer_phone == "13800138000"
    assert order.data == {"invoice_title": "某某公司"}
    assert list(order.lines.values_list("sku", "quantity", "unit_price")) == [("SKU-1", 2, Decimal("129.50"))]
    assert data["lines"][0]["unit_price"] == "129.50"
    assert data["shipping_address"]["city"] == "杭州市"
    assert "payments" not in data  # the ingest answer carries the order and its lines only


def test_posting_the_same_channel_and_external_id_returns_200_and_the_same_id(api):
    body = order_body()
    first = api.post("/api/v1/orders/", body, format="json")
    again = api.post("/api/v1/orders/", {**body, "total_amount": "1.00"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["total_amount"] == "259.00"
    assert Order.objects.count() == 1


def test_the_same_external_id_on_another_channel_is_another_order(api):
    body = order_body()
    api.post("/api/v1/orders/", body, format="json")
    other = api.post("/api/v1/orders/", {**body, "channel": "jd"}, format="json")
    assert other.status_code == 201
    assert Order.objects.count() == 2


def test_a_known_customer_is_reused_and_takes_the_latest_details(api):
    api.post(
        "/api/v1/orders/",
        order_body(customer={"external_id": "C-9", "name": "李四", "phone": "13900000000"}),
        format="json",
    )
    api.post(
        "/api/v1/orders/",
        order_body(customer={"external_id": "C-9", "name": "李四", "phone": "13911111111"}),
        format="json",
    )
    assert Customer.objects.filter(external_id="C-9").count() == 1
    assert Customer.objects.get(external_id="C-9").phone == "13911111111"
    assert sorted(Order.objects.values_list("customer_phone", flat=True)) == ["13900000000", "13911111111"]


@pytest.mark.parametrize(
    "change",
    [
        {"customer": {"name": "", "phone": "", "email": "not-an-email"}},
        {"customer": {"name": "王五", "phone": "12345"}},
        {"shipping_address": {"province": "浙江省", "city": "广州市", "district": "朝阳区", "detail": ""}},
        {"total_amount": "999.99"},
        {"data": {}},
    ],
    ids=["empty-name-bad-email", "invalid-phone", "mismatched-address", "total-does-not-add-up", "no-custom-data"],
)
def test_imperfect_business_data_is_stored_not_refused(api, change):
    response = api.post("/api/v1/orders/", order_body(**change), format="json")
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"channel": "ebay"}, "channel"),
        ({"lines": [{"sku": "A", "quantity": -1, "unit_price": "1.00"}]}, "lines.0.quantity"),
        ({"lines": [{"sku": "A", "quantity": 0, "unit_price": "1.00"}]}, "lines.0.quantity"),
        ({"lines": [{"sku": "A", "quantity": "two", "unit_price": "1.00"}]}, "lines.0.quantity"),
        ({"lines": [{"sku": "A", "quantity": 1, "unit_price": "1.005"}]}, "lines.0.unit_price"),
        ({"lines": [{"sku": "A", "quantity": 1, "unit_price": "abc"}]}, "lines.0.unit_price"),
        ({"lines": [{"sku": "A", "quantity": 1, "unit_price": "-3.00"}]}, "lines.0.unit_price"),
        ({"lines": [{"quantity": 1, "unit_price": "1.00"}]}, "lines.0.sku"),
        ({"lines": ["SKU-1"]}, "lines.0"),
        ({"lines": []}, "lines"),
        ({"lines": None}, "lines"),
        ({"total_amount": "12,50"}, "total_amount"),
        ({"total_amount": "1e400"}, "total_amount"),
        ({"total_amount": "NaN"}, "total_amount"),
        ({"total_amount": "-1.00"}, "total_amount"),
        ({"placed_at": "yesterday"}, "placed_at"),
        ({"placed_at": "2026-13-45T10:00:00+08:00"}, "placed_at"),
        ({"paid_at": 1732420000}, "paid_at"),
        ({"currency": "rmb"}, "currency"),
        ({"external_id": 12345}, "external_id"),
        ({"external_id": ""}, "external_id"),
        ({"external_id": "X" * 65}, "external_id"),
        ({"customer": "张三"}, "customer"),
        ({"customer": {"name": ["张三"]}}, "customer.name"),
        ({"data": ["not", "an", "object"]}, "data"),
        ({"shipping_address": None}, "shipping_address"),
    ],
)
def test_input_that_cannot_be_an_order_gets_400_naming_the_field(api, change, field):
    response = api.post("/api/v1/orders/", order_body(**change), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["fields"], body
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    "missing", ["external_id", "channel", "status", "placed_at", "total_amount", "customer", "lines"]
)
def test_a_missing_required_field_is_named(api, missing):
    body = order_body()
    del body[missing]
    response = api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 400
    assert missing in response.json()["fields"]


def test_too_many_lines_is_refused_naming_lines(api, settings):
    settings.ORDERGUARD_MAX_LINES_PER_ORDER = 3
    lines = [{"sku": f"S{i}", "quantity": 1, "unit_price": "1.00"} for i in range(4)]
    response = api.post("/api/v1/orders/", order_body(lines=lines), format="json")
    assert response.status_code == 400
    assert "lines" in response.json()["fields"]


def test_a_body_over_the_size_cap_is_refused_with_400(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    body = order_body(data={"blob": "x" * 5000})
    response = api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "payload_too_large"


def test_malformed_json_is_a_400_parse_error(api):
    response = api.post("/api/v1/orders/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_reading_an_order_returns_lines_payments_and_shipments(api):
    order_id = api.post("/api/v1/orders/", order_body(), format="json").json()["id"]
    api.post(
        "/api/v1/payments/",
        {"order": order_id, "transaction_id": "TX-1", "amount": "259.00", "status": "succeeded"},
        format="json",
    )
    response = api.get(f"/api/v1/orders/{order_id}/")
    assert response.status_code == 200
    assert [p["transaction_id"] for p in response.json()["payments"]] == ["TX-1"]


def test_reading_an_unknown_order_is_404(api):
    response = api.get("/api/v1/orders/999999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_listing_orders_filters_by_channel_and_status(api):
    api.post("/api/v1/orders/", order_body(channel="jd", status="paid"), format="json")
    api.post("/api/v1/orders/", order_body(channel="jd", status="cancelled"), format="json")
    api.post("/api/v1/orders/", order_body(channel="tmall", status="paid"), format="json")
    response = api.get("/api/v1/orders/", {"channel": "jd", "status": "paid"})
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert response.json()["results"][0]["channel"] == "jd"


def test_patching_status_stamps_the_change_time_and_keeps_other_fields(api):
    order_id = api.post("/api/v1/orders/", order_body(), format="json").json()["id"]
    before = Order.objects.get(pk=order_id).status_changed_at
    response = api.patch(f"/api/v1/orders/{order_id}/", {"status": "reviewed"}, format="json")
    assert response.status_code == 200, response.json()
    order = Order.objects.get(pk=order_id)
    assert order.status == "reviewed"
    assert order.status_changed_at > before
    assert order.total_amount == Decimal("259.00")
    assert order.lines.count() == 1


def test_patching_lines_replaces_them_and_address_parts_merge(api):
    order_id = api.post("/api/v1/orders/", order_body(), format="json").json()["id"]
    new_lines = [
        {"sku": "SKU-2", "quantity": 1, "unit_price": "10.00"},
        {"sku": "SKU-3", "quantity": 3, "unit_price": "5.00"},
    ]
    response = api.patch(
        f"/api/v1/orders/{order_id}/",
        {"lines": new_lines, "shipping_address": {"city": "宁波市"}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert list(OrderLine.objects.filter(order_id=order_id).values_list("line_no", "sku")) == [
        (1, "SKU-2"),
        (2, "SKU-3"),
    ]
    order = Order.objects.get(pk=order_id)
    assert (order.ship_province, order.ship_city) == ("浙江省", "宁波市")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "gone"}, "status"),
        ({"lines": [{"sku": "A", "quantity": 1}]}, "lines.0.unit_price"),
        ({"external_id": "OTHER-1"}, "external_id"),
        ({"channel": "jd"}, "channel"),
        ({"total_amount": "abc"}, "total_amount"),
    ],
)
def test_a_bad_patch_is_refused_naming_the_field_and_changes_nothing(api, change, field):
    order_id = api.post("/api/v1/orders/", order_body(), format="json").json()["id"]
    response = api.patch(f"/api/v1/orders/{order_id}/", change, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"], response.json()
    order = Order.objects.get(pk=order_id)
    assert order.status == "paid" and order.lines.count() == 1


def test_patching_an_unknown_order_is_404(api):
    response = api.patch("/api/v1/orders/424242/", {"status": "paid"}, format="json")
    assert response.status_code == 404
