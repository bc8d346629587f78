"""The 13 built-in rules, end to end through the API: each positive case raises exactly its
exception, each near-boundary negative raises nothing, and fixing the data clears it."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.exceptions.models import OrderException

pytestmark = pytest.mark.django_db

ACTIVE = {"open", "assigned", "in_progress", "escalated"}
_seq = itertools.count(1)


def ago(**delta) -> str:
    return (timezone.now() - timedelta(**delta)).isoformat()


def clean_order(**overrides) -> dict:
    """A well-formed order placed minutes ago: it raises nothing once its payment arrives."""
    n = next(_seq)
    body = {
        "external_id": f"R-{n:06d}",
        "channel": "tmall",
        "status": "paid",
        "placed_at": ago(minutes=10),
        "paid_at": ago(minutes=8),
        "currency": "CNY",
        "total_amount": "259.00",
        "customer": {
            "external_id": f"RC{n}",
            "name": "张三",
            "phone": f"1380013{n % 10000:04d}",
            "email": "z@example.com",
        },
        "shipping_address": {
            "recipient": "张三",
            "phone": "13800138000",
            "province": "浙江省",
            "city": "杭州市",
            "district": "西湖区",
            "detail": "文三路100号",
        },
        "lines": [{"sku": "SKU-1", "name": "保温杯", "quantity": 2, "unit_price": "129.50"}],
    }
    body.update(overrides)
    return body


@pytest.fixture(autouse=True)
def catalogue(api):
    api.put("/api/v1/products/SKU-1/", {"name": "保温杯", "list_price": "129.50"}, format="json")
    api.put("/api/v1/products/SKU-2/", {"name": "耳机", "list_price": "100.00"}, format="json")
    api.put("/api/v1/inventory/SKU-1/", {"on_hand": 100, "reserved": 0}, format="json")


def post(api, body, pay: str | None = "auto") -> int:
    response = api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.json()
    order_id = response.json()["id"]
    if pay == "auto" and body["status"] in ("paid", "reviewed", "shipped", "delivered"):
        pay_order(api, order_id, body["total_amount"])
    return order_id


def pay_order(api, order_id: int, amount: str, status: str = "succeeded", paid_at: str | None = None) -> None:
    body = {
        "order": order_id,
        "transaction_id": f"TX-{order_id}-{next(_seq)}",
        "amount": amount,
        "status": status,
        "paid_at": paid_at or ago(minutes=8),
    }
    assert api.post("/api/v1/payments/", body, format="json").status_code == 201


def active_types(api, order_id: int) -> set[str]:
    response = api.get("/api/v1/exceptions/", {"order": order_id})
    assert response.status_code == 200
    return {item["type"] for item in response.json()["results"] if item["status"] in ACTIVE}


def test_a_clean_order_raises_nothing(api):
    assert active_types(api, post(api, clean_order())) == set()


def test_payment_status_mismatch_until_the_money_arrives(api):
    order_id = post(api, clean_order(), pay=None)
    assert active_types(api, order_id) == {"PAYMENT_STATUS_MISMATCH"}
    pay_order(api, order_id, "258.99")
    assert active_types(api, order_id) == {"PAYMENT_STATUS_MISMATCH"}
    pay_order(api, order_id, "0.01")
    assert active_types(api, order_id) == set()
    assert OrderException.objects.get(order_id=order_id).status == "auto_resolved"


def test_payment_failed_is_about_the_latest_attempt(api):
    order_id = post(api, clean_order(status="pending_payment", paid_at=None), pay=None)
    pay_order(api, order_id, "259.00", status="failed", paid_at=ago(minutes=6))
    assert active_types(api, order_id) == {"PAYMENT_FAILED"}
    pay_order(api, order_id, "259.00", status="pending", paid_at=ago(minutes=2))
    assert active_types(api, order_id) == set()


def test_stock_shortage_is_above_available_not_at_it(api):
    api.put("/api/v1/inventory/SKU-9/", {"on_hand": 5, "reserved": 2}, format="json")
    line = {"sku": "SKU-9", "name": "猫粮", "quantity": 4, "unit_price": "10.00"}
    short = post(api, clean_order(status="reviewed", total_amount="40.00", lines=[line]))
    exact = post(api, clean_order(status="reviewed", total_amount="30.00", lines=[{**line, "quantity": 3}]))
    no_record = post(
        api, clean_order(status="reviewed", total_amount="400.00", lines=[{**line, "sku": "SKU-X", "quantity": 40}])
    )
    assert active_types(api, short) == {"STOCK_SHORTAGE"}
    assert active_types(api, exact) == set()
    assert active_types(api, no_record) == set()
    api.put("/api/v1/inventory/SKU-9/", {"on_hand": 9, "reserved": 2}, format="json")
    assert active_types(api, short) == set()


@pytest.mark.parametrize(
    "customer",
    [
        {"name": "", "phone": "13800138000", "email": ""},
        {"name": "李四", "phone": "", "email": ""},
        {"name": "李四", "phone": "12345", "email": ""},
        {"name": "李四", "phone": "13800138000", "email": "not-an-email"},
    ],
    ids=["empty-name", "empty-phone", "invalid-phone", "malformed-email"],
)
def test_customer_info_invalid(api, customer):
    assert active_types(api, post(api, clean_order(customer=customer))) == {"CUSTOMER_INFO_INVALID"}


def test_customer_info_valid_variants_raise_nothing(api):
    landline = post(api, clean_order(customer={"name": "王五", "phone": "0571-88886666", "email": ""}))
    assert active_types(api, landline) == set()


@pytest.mark.parametrize(
    ("address", "flagged"),
    [
        ({"province": "浙江省", "city": "广州市", "district": "天河区", "detail": "x路1号"}, True),
        ({"province": "浙江省", "city": "杭州市", "district": "朝阳区", "detail": "x路1号"}, True),
        ({"province": "浙江省", "city": "杭州市", "district": "西湖区", "detail": ""}, True),
        ({"province": "北京市", "city": "北京市", "district": "朝阳区", "detail": "建国路1号"}, False),
        ({"province": "浙江", "city": "杭州", "district": "西湖区", "detail": "文三路1号"}, False),
    ],
)
def test_address_invalid(api, address, flagged):
    order_id = post(api, clean_order(shipping_address=address))
    assert active_types(api, order_id) == ({"ADDRESS_INVALID"} if flagged else set())


@pytest.mark.parametrize(
    ("carrier", "number", "flagged"),
    [("SF", "SF123456789012", False), ("SF", "SF12345", True), ("ACME", "123456789012", True)],
)
def test_tracking_invalid(api, carrier, number, flagged):
    order_id = post(api, clean_order(status="reviewed"))
    shipment = {
        "order": order_id,
        "carrier": carrier,
        "tracking_number": number,
        "shipped_at": ago(minutes=1),
        "lines": [{"sku": "SKU-1", "quantity": 2}],
    }
    assert api.post("/api/v1/shipments/", shipment, format="json").status_code == 201
    assert active_types(api, order_id) == ({"TRACKING_INVALID"} if flagged else set())


def test_shipping_delay_when_unshipped_past_48_hours(api):
    late = post(api, clean_order(status="reviewed", placed_at=ago(hours=49), paid_at=ago(hours=49)))
    on_time = post(api, clean_order(status="reviewed", placed_at=ago(hours=47), paid_at=ago(hours=47)))
    promised = post(api, clean_order(status="reviewed", promised_ship_by=ago(minutes=1)))
    assert active_types(api, late) == {"SHIPPING_DELAY"}
    assert active_types(api, on_time) == set()
    assert active_types(api, promised) == {"SHIPPING_DELAY"}


def test_shipping_delay_when_tracking_goes_quiet_for_72_hours(api):
    def shipped(hours: int) -> int:
        order_id = post(api, clean_order(status="shipped", placed_at=ago(hours=100), paid_at=ago(hours=100)))
        shipment = {
            "order": order_id,
            "carrier": "SF",
            "tracking_number": f"SF{order_id:012d}",
            "shipped_at": ago(hours=99),
            "lines": [{"sku": "SKU-1", "quantity": 2}],
        }
        shipment_id = api.post("/api/v1/shipments/", shipment, format="json").json()["id"]
        event = {"occurred_at": ago(hours=hours), "status": "in_transit"}
        assert api.post(f"/api/v1/shipments/{shipment_id}/events/", event, format="json").status_code == 201
        return order_id

    assert active_types(api, shipped(73)) == {"SHIPPING_DELAY"}
    assert active_types(api, shipped(71)) == set()


def test_duplicate_order_within_30_minutes(api):
    customer = {"name": "赵六", "phone": "13911112222", "email": ""}
    first = post(api, clean_order(customer=customer, placed_at=ago(minutes=50), paid_at=ago(minutes=49)))
    close = post(api, clean_order(customer=customer, placed_at=ago(minutes=25), paid_at=ago(minutes=24)))
    assert active_types(api, first) == set()
    assert active_types(api, close) == {"DUPLICATE_ORDER"}
    far_customer = {"name": "钱七", "phone": "13933334444", "email": ""}
    post(api, clean_order(customer=far_customer, placed_at=ago(minutes=90), paid_at=ago(minutes=89)))
    far = post(api, clean_order(customer=far_customer, placed_at=ago(minutes=45), paid_at=ago(minutes=44)))
    assert active_types(api, far) == set()


def test_a_cancelled_earlier_order_is_no_duplicate(api):
    customer = {"name": "孙八", "phone": "13955556666", "email": ""}
    post(api, clean_order(customer=customer, status="cancelled", placed_at=ago(minutes=20), paid_at=None), pay=None)
    later = post(api, clean_order(customer=customer, placed_at=ago(minutes=10)))
    assert active_types(api, later) == set()


def test_item_mismatch_for_a_foreign_sku_or_wrong_shipped_quantities(api):
    def ship(order_id, lines, number):
        body = {
            "order": order_id,
            "carrier": "SF",
            "tracking_number": number,
            "shipped_at": ago(minutes=1),
            "lines": lines,
        }
        assert api.post("/api/v1/shipments/", body, format="json").status_code == 201

    foreign = post(api, clean_order(status="reviewed"))
    ship(foreign, [{"sku": "SKU-1", "quantity": 2}, {"sku": "SKU-2", "quantity": 1}], "SF000000000001")
    short = post(api, clean_order(status="shipped"))
    ship(short, [{"sku": "SKU-1", "quantity": 1}], "SF000000000002")
    in_progress = post(api, clean_order(status="reviewed"))
    ship(in_progress, [{"sku": "SKU-1", "quantity": 1}], "SF000000000003")
    assert active_types(api, foreign) == {"ITEM_MISMATCH"}
    assert active_types(api, short) == {"ITEM_MISMATCH"}
    assert active_types(api, in_progress) == set()


@pytest.mark.parametrize(("price", "flagged"), [("40.00", True), ("55.00", False), ("150.00", False), ("151.00", True)])
def test_price_anomaly_against_the_list_price(api, price, flagged):
    line = {"sku": "SKU-2", "name": "耳机", "quantity": 1, "unit_price": price}
    order_id = post(api, clean_order(total_amount=price, lines=[line]))
    assert active_types(api, order_id) == ({"PRICE_ANOMALY"} if flagged else set())


def test_a_list_price_change_re_evaluates_open_orders(api):
    line = {"sku": "SKU-2", "name": "耳机", "quantity": 1, "unit_price": "55.00"}
    order_id = post(api, clean_order(status="reviewed", total_amount="55.00", lines=[line]))
    api.put("/api/v1/products/SKU-2/", {"name": "耳机", "list_price": "120.00"}, format="json")
    assert active_types(api, order_id) == {"PRICE_ANOMALY"}


@pytest.mark.parametrize(("total", "flagged"), [("259.02", True), ("259.01", False), ("258.98", True)])
def test_amount_mismatch_beyond_one_cent(api, total, flagged):
    order_id = post(api, clean_order(total_amount=total))
    assert active_types(api, order_id) == ({"AMOUNT_MISMATCH"} if flagged else set())


def test_review_timeout_after_two_hours_paid(api):
    late = post(api, clean_order(placed_at=ago(hours=3, minutes=5), paid_at=ago(hours=3)))
    fresh = post(api, clean_order(placed_at=ago(hours=1, minutes=5), paid_at=ago(hours=1)))
    assert active_types(api, late) == {"REVIEW_TIMEOUT"}
    assert active_types(api, fresh) == set()
    assert api.patch(f"/api/v1/orders/{late}/", {"status": "reviewed"}, format="json").status_code == 200
    assert active_types(api, late) == set()


def test_cancelled_and_refunded_orders_raise_nothing(api):
    for status in ("cancelled", "refunded"):
        order_id = post(api, clean_order(status=status, total_amount="1.00", customer={"name": ""}), pay=None)
        assert active_types(api, order_id) == set()


def test_missing_order_is_raised_by_reconciliation_and_resolved_when_the_order_arrives(api):
    present = post(api, clean_order())
    listed = {
        "channel": "tmall",
        "orders": [
            {"external_id": "R-MISSING-1", "total_amount": "88.00", "placed_at": ago(hours=1)},
            {
                "external_id": api.get(f"/api/v1/orders/{present}/").json()["external_id"],
                "total_amount": "259.00",
                "placed_at": ago(minutes=10),
            },
        ],
    }
    response = api.post("/api/v1/reconciliations/", listed, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["missing"] == ["R-MISSING-1"]
    exception = OrderException.objects.get(rule__code="MISSING_ORDER")
    assert (exception.order_id, exception.channel, exception.external_id, exception.status) == (
        None,
        "tmall",
        "R-MISSING-1",
        "open",
    )
    arrived = post(
        api,
        clean_order(
            external_id="R-MISSING-1",
            total_amount="88.00",
            lines=[{"sku": "SKU-2", "quantity": 1, "unit_price": "88.00"}],
        ),
    )
    exception.refresh_from_db()
    assert exception.status == "auto_resolved" and exception.order_id == arrived


def test_a_redetection_counts_new_evidence_only_and_keeps_one_exception(api):
    order_id = post(api, clean_order(customer={"name": ""}))
    api.patch(f"/api/v1/orders/{order_id}/", {"status": "reviewed"}, format="json")
    exception = OrderException.objects.get(order_id=order_id, rule__code="CUSTOMER_INFO_INVALID")
    # Detected again at the payment's write and at the patch's, with the same empty name: no news.
    assert exception.occurrences == 1 and exception.status == "open"
    api.patch(f"/api/v1/orders/{order_id}/", {"customer": {"phone": "12345"}}, format="json")
    exception.refresh_from_db()
    assert exception.occurrences == 2
    assert exception.details["problems"] == ["name_empty", "phone_invalid"]
    assert OrderException.objects.filter(order_id=order_id, rule__code="CUSTOMER_INFO_INVALID").count() == 1


def test_the_exception_carries_grading(api):
    order_id = post(
        api, clean_order(total_amount="6000.00", lines=[{"sku": "SKU-1", "quantity": 2, "unit_price": "3000.00"}])
    )
    item = api.get("/api/v1/exceptions/", {"order": order_id}).json()["results"][0]
    assert item["type"] == "PRICE_ANOMALY" and item["category"] == "pricing"
    assert item["severity"] == "high"  # medium, raised one level above ¥5,000
    assert Decimal(api.get(f"/api/v1/orders/{order_id}/").json()["total_amount"]) == Decimal("6000.00")


def test_deleting_a_product_or_stock_record_in_the_admin_clears_what_it_raised(api, client, admin_user):
    """Without a product record a line has no list price; without a stock record no shortage."""
    from django.urls import reverse

    from apps.orders.models import Product, StockLevel

    cheap = {"sku": "SKU-2", "name": "耳机", "quantity": 1, "unit_price": "20.00"}
    many = {"sku": "SKU-1", "name": "保温杯", "quantity": 101, "unit_price": "129.50"}
    order_id = post(api, clean_order(status="reviewed", total_amount="13099.50", lines=[cheap, many]))
    assert active_types(api, order_id) == {"PRICE_ANOMALY", "STOCK_SHORTAGE"}

    client.force_login(admin_user)
    product = Product.objects.get(sku="SKU-2")
    response = client.post(reverse("admin:orders_product_delete", args=[product.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert active_types(api, order_id) == {"STOCK_SHORTAGE"}
    stock = StockLevel.objects.get(sku="SKU-1")
    client.post(reverse("admin:orders_stocklevel_delete", args=[stock.pk]), {"post": "yes"})
    assert active_types(api, order_id) == set()
