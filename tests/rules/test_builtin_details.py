"""Each built-in rule's exception carries its evidence in ``details``, end to end through the API,
and a re-detection counts as an occurrence only when that evidence changes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from apps.exceptions.models import ExceptionEvent, OrderException
from apps.rules.models import ExceptionRule
from apps.rules.services import rule_update
from tests.rules.test_builtin_rules import ago, catalogue, clean_order, pay_order, post  # noqa: F401

pytestmark = pytest.mark.django_db


def exception_of(order_id: int, code: str) -> OrderException:
    return OrderException.objects.get(order_id=order_id, rule__code=code, status="open")


def ship(api, order_id: int, number: str, lines: list[dict], carrier: str = "SF") -> int:
    body = {"order": order_id, "carrier": carrier, "tracking_number": number, "shipped_at": ago(minutes=5)}
    response = api.post("/api/v1/shipments/", {**body, "lines": lines}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def minutes_between(later: str, earlier: datetime) -> float:
    return (datetime.fromisoformat(later) - earlier).total_seconds() / 60


def test_stock_shortage_names_the_sku_and_how_short_it_is(api):
    api.put("/api/v1/inventory/SKU-9/", {"on_hand": 5, "reserved": 2}, format="json")
    lines = [
        {"sku": "SKU-1", "name": "保温杯", "quantity": 1, "unit_price": "129.50"},
        {"sku": "SKU-9", "name": "猫粮", "quantity": 5, "unit_price": "10.00"},
    ]
    order_id = post(api, clean_order(status="reviewed", total_amount="179.50", lines=lines))
    assert exception_of(order_id, "STOCK_SHORTAGE").details == {
        "lines": [
            {"line_no": 2, "sku": "SKU-9", "quantity": 5, "on_hand": 5, "reserved": 2, "available": 3, "short": 2}
        ]
    }


@pytest.mark.parametrize(
    ("carrier", "number", "known"), [("SF", "SF12345", True), ("ACME", "123456789012", False), ("SF", "", True)]
)
def test_tracking_invalid_names_the_shipment_its_number_and_carrier(api, carrier, number, known):
    order_id = post(api, clean_order(status="reviewed"))
    shipment_id = ship(api, order_id, number, [{"sku": "SKU-1", "quantity": 2}], carrier=carrier)
    assert exception_of(order_id, "TRACKING_INVALID").details == {
        "shipments": [
            {"shipment_id": shipment_id, "carrier": carrier, "tracking_number": number, "carrier_known": known}
        ]
    }


def test_payment_status_mismatch_gives_both_amounts(api):
    order_id = post(api, clean_order(), pay=None)
    pay_order(api, order_id, "200.00")
    assert exception_of(order_id, "PAYMENT_STATUS_MISMATCH").details == {
        "status": "paid",
        "currency": "CNY",
        "total_amount": "259.00",
        "paid_total": "200.00",
        "missing_amount": "59.00",
    }


def test_amount_mismatch_gives_the_total_and_how_it_should_add_up(api):
    order_id = post(api, clean_order(total_amount="300.00", shipping_fee="10.00", discount="5.00"))
    assert exception_of(order_id, "AMOUNT_MISMATCH").details == {
        "currency": "CNY",
        "total_amount": "300.00",
        "lines_total": "259.00",
        "shipping_fee": "10.00",
        "discount": "5.00",
        "expected_amount": "264.00",
        "difference": "36.00",
    }


def test_duplicate_order_names_the_earlier_order(api):
    customer = {"name": "赵六", "phone": "13911112222", "email": ""}
    first_at = timezone.now() - timedelta(minutes=40)
    first = post(api, clean_order(customer=customer, placed_at=first_at.isoformat(), paid_at=ago(minutes=39)))
    later_at = first_at + timedelta(minutes=10)
    later = post(api, clean_order(customer=customer, placed_at=later_at.isoformat(), paid_at=ago(minutes=29)))
    details = exception_of(later, "DUPLICATE_ORDER").details
    external_id = api.get(f"/api/v1/orders/{first}/").json()["external_id"]
    assert details["duplicate_of"] == first
    assert details["duplicate_of_external_id"] == external_id
    assert details["duplicate_of_channel"] == "tmall"
    assert details["gap_seconds"] == 600
    assert datetime.fromisoformat(details["duplicate_of_placed_at"]) == first_at


def test_price_anomaly_gives_the_sku_its_price_the_list_price_and_the_ratio(api):
    line = {"sku": "SKU-2", "name": "耳机", "quantity": 1, "unit_price": "20.00"}
    order_id = post(api, clean_order(total_amount="20.00", lines=[line]))
    assert exception_of(order_id, "PRICE_ANOMALY").details == {
        "currency": "CNY",
        "min_ratio": "0.5",
        "max_ratio": "1.5",
        "lines": [{"line_no": 1, "sku": "SKU-2", "unit_price": "20.00", "list_price": "100.00", "ratio": "0.20"}],
    }


def test_item_mismatch_gives_ordered_and_shipped_quantities(api):
    order_id = post(api, clean_order(status="shipped"))
    ship(api, order_id, "SF000000000101", [{"sku": "SKU-1", "quantity": 1}, {"sku": "SKU-X", "quantity": 3}])
    assert exception_of(order_id, "ITEM_MISMATCH").details == {
        "status": "shipped",
        "skus": [{"sku": "SKU-1", "ordered": 2, "shipped": 1}, {"sku": "SKU-X", "ordered": 0, "shipped": 3}],
    }


def test_item_mismatch_sums_every_line_of_a_large_order(api):
    lines = [{"sku": f"SKU-{n:02d}", "name": "件", "quantity": 1, "unit_price": "1.00"} for n in range(14)]
    lines.append({"sku": "SKU-13", "name": "件", "quantity": 2, "unit_price": "1.00"})
    order_id = post(api, clean_order(status="shipped", total_amount="16.00", lines=lines))
    shipped = [{"sku": f"SKU-{n:02d}", "quantity": 1} for n in range(14)]
    ship(api, order_id, "SF000000000102", shipped)
    assert exception_of(order_id, "ITEM_MISMATCH").details["skus"] == [{"sku": "SKU-13", "ordered": 3, "shipped": 1}]


def test_shipping_delay_gives_the_due_time_and_how_late(api):
    placed_at = timezone.now() - timedelta(hours=50)
    order_id = post(api, clean_order(status="reviewed", placed_at=placed_at.isoformat(), paid_at=ago(hours=49)))
    details = exception_of(order_id, "SHIPPING_DELAY").details
    assert (details["status"], details["reference"], details["allowed_minutes"]) == ("reviewed", "placed_at", 48 * 60)
    assert datetime.fromisoformat(details["reference_at"]) == placed_at
    assert datetime.fromisoformat(details["due_at"]) == placed_at + timedelta(hours=48)
    assert 119 <= details["late_minutes"] <= 121


def test_review_timeout_gives_the_payment_time_and_how_late(api):
    paid_at = timezone.now() - timedelta(hours=3)
    order_id = post(api, clean_order(placed_at=ago(hours=3, minutes=5), paid_at=paid_at.isoformat()))
    details = exception_of(order_id, "REVIEW_TIMEOUT").details
    assert (details["reference"], details["allowed_minutes"]) == ("paid_at", 120)
    assert 59 <= minutes_between(details["due_at"], paid_at) - 60 <= 61
    assert 59 <= details["late_minutes"] <= 61


def test_payment_failed_names_the_failed_attempt(api):
    order_id = post(api, clean_order(status="pending_payment", paid_at=None), pay=None)
    body = {"order": order_id, "transaction_id": "TX-FAIL-1", "amount": "259.00", "status": "failed"}
    assert api.post("/api/v1/payments/", {**body, "method": "alipay"}, format="json").status_code == 201
    payment = exception_of(order_id, "PAYMENT_FAILED").details["payment"]
    assert {key: payment[key] for key in ("transaction_id", "amount", "currency", "status", "method")} == {
        "transaction_id": "TX-FAIL-1",
        "amount": "259.00",
        "currency": "CNY",
        "status": "failed",
        "method": "alipay",
    }


def test_customer_info_invalid_names_the_parts_that_are_wrong(api):
    customer = {"name": "", "phone": "12345", "email": "not-an-email"}
    order_id = post(api, clean_order(customer=customer))
    assert exception_of(order_id, "CUSTOMER_INFO_INVALID").details == {
        "problems": ["name_empty", "phone_invalid", "email_invalid"],
        "name": "",
        "phone": "12345",
        "email": "not-an-email",
    }


@pytest.mark.parametrize(
    ("address", "problems"),
    [
        ({"province": "浙江省", "city": "南京市", "district": "", "detail": "x路1号"}, ["city_not_in_province"]),
        ({"province": "浙江省", "city": "杭州市", "district": "朝阳区", "detail": "x路1号"}, ["district_not_in_city"]),
        ({"province": "火星", "city": "杭州市", "district": "", "detail": ""}, ["detail_empty", "province_unknown"]),
    ],
)
def test_address_invalid_names_the_parts_that_do_not_belong(api, address, problems):
    order_id = post(api, clean_order(shipping_address=address))
    details = exception_of(order_id, "ADDRESS_INVALID").details
    assert details["problems"] == problems
    assert (details["province"], details["city"]) == (address["province"], address["city"])


def test_a_custom_rule_records_the_values_its_condition_reads(api):
    condition = {
        "all": [
            {"field": "total_amount", "op": "gt", "value": "1000"},
            {"field": "channel", "op": "eq", "value": "tmall"},
        ]
    }
    rule = ExceptionRule(code="BIG_TMALL", name="天猫大单", name_en="Big Tmall order", category="pricing")
    rule_update(rule=rule, condition=condition, default_severity="low")
    lines = [{"sku": "SKU-1", "name": "保温杯", "quantity": 10, "unit_price": "129.50"}]
    order_id = post(api, clean_order(total_amount="1295.00", lines=lines))
    assert exception_of(order_id, "BIG_TMALL").details == {
        "values": {"total_amount": "1295.00", "channel": "tmall", "currency": "CNY"}
    }


# --- Occurrences count new evidence --------------------------------------------------------------


def test_repeated_tracking_events_are_no_new_occurrences_but_a_second_bad_number_is_one(api):
    order_id = post(api, clean_order(status="shipped"))
    shipment_id = ship(api, order_id, "SF1", [{"sku": "SKU-1", "quantity": 1}])
    for hours in range(10, 0, -1):
        event = {"occurred_at": ago(hours=hours), "status": "in_transit"}
        assert api.post(f"/api/v1/shipments/{shipment_id}/events/", event, format="json").status_code == 201
    api.patch(f"/api/v1/orders/{order_id}/", {"shipping_address": {"postcode": "310001"}}, format="json")
    exception = exception_of(order_id, "TRACKING_INVALID")
    assert exception.occurrences == 1
    assert not exception.events.filter(kind=ExceptionEvent.Kind.REDETECTED).exists()

    second = ship(api, order_id, "SF2", [{"sku": "SKU-1", "quantity": 1}])
    exception.refresh_from_db()
    assert exception.occurrences == 2
    assert [s["shipment_id"] for s in exception.details["shipments"]] == [shipment_id, second]
    assert exception.events.get(kind=ExceptionEvent.Kind.REDETECTED).data["occurrences"] == 2


def test_a_different_shortage_is_a_new_occurrence_the_same_one_is_not(api):
    api.put("/api/v1/inventory/SKU-9/", {"on_hand": 5, "reserved": 2}, format="json")
    line = {"sku": "SKU-9", "name": "猫粮", "quantity": 5, "unit_price": "10.00"}
    order_id = post(api, clean_order(status="reviewed", total_amount="50.00", lines=[line]))
    api.put("/api/v1/inventory/SKU-9/", {"on_hand": 5, "reserved": 2}, format="json")
    api.patch(f"/api/v1/orders/{order_id}/", {"status": "paid"}, format="json")
    exception = exception_of(order_id, "STOCK_SHORTAGE")
    assert exception.occurrences == 1
    api.put("/api/v1/inventory/SKU-9/", {"on_hand": 4, "reserved": 2}, format="json")
    exception.refresh_from_db()
    assert exception.occurrences == 2
    assert exception.details["lines"][0]["short"] == 3


# --- A SKU's change re-evaluates every order holding it ------------------------------------------


def test_a_list_price_change_flags_a_delivered_order_sold_far_from_it(api):
    line = {"sku": "SKU-2", "name": "耳机", "quantity": 1, "unit_price": "55.00"}
    delivered = post(api, clean_order(status="delivered", total_amount="55.00", lines=[line]))
    cancelled = post(api, clean_order(status="cancelled", total_amount="55.00", lines=[line]), pay=None)
    assert not OrderException.objects.filter(order_id=delivered, rule__code="PRICE_ANOMALY").exists()
    api.put("/api/v1/products/SKU-2/", {"name": "耳机", "list_price": "120.00"}, format="json")
    assert exception_of(delivered, "PRICE_ANOMALY").details["lines"][0]["list_price"] == "120.00"
    assert not OrderException.objects.filter(order_id=cancelled).exists()


def test_a_list_price_change_re_evaluates_many_delivered_orders_set_based(api):
    """More orders than the single-write path takes: the compiled queries select the same."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    line = {"sku": "SKU-2", "name": "耳机", "quantity": 1, "unit_price": "55.00"}

    def flagged_after_price_change(count: int, price: str) -> tuple[int, int]:
        for _ in range(count):
            post(api, clean_order(status="delivered", total_amount="55.00", lines=[line]))
        with CaptureQueriesContext(connection) as captured:
            api.put("/api/v1/products/SKU-2/", {"name": "耳机", "list_price": price}, format="json")
        return OrderException.objects.filter(rule__code="PRICE_ANOMALY", status="open").count(), len(captured)

    few, few_queries = flagged_after_price_change(25, "120.00")
    assert few == 25
    many, many_queries = flagged_after_price_change(35, "130.00")
    assert many == 60
    assert many_queries <= few_queries + 2  # per rule and chunk of ids, not per order
