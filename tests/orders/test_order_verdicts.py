"""Every write path stores the check verdicts: API (single, bulk, PATCH), admin, file import,
shipments; the repair service and the migration fill them for rows written around the services."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps as django_apps
from django.urls import reverse

from apps.orders import services, verdicts
from apps.orders.models import Customer, Order, Shipment
from tests.orders.factories import OrderFactory, OrderLineFactory, ShipmentFactory
from tests.orders.payloads import order_body
from tests.orders.test_admin import change_form_data
from tests.orders.test_import_export import confirm, order_file, order_row, upload

pytestmark = pytest.mark.django_db

VERDICTS = ("customer_phone_is_valid", "customer_email_is_valid", "address_is_valid")


def post(api, **overrides) -> Order:
    response = api.post("/api/v1/orders/", order_body(**overrides), format="json")
    assert response.status_code == 201, response.json()
    return Order.objects.get(pk=response.json()["id"])


def patch(api, order: Order, body: dict) -> Order:
    response = api.patch(f"/api/v1/orders/{order.pk}/", body, format="json")
    assert response.status_code == 200, response.json()
    return Order.objects.get(pk=order.pk)


def checks(order: Order) -> tuple[bool, bool, bool]:
    order.refresh_from_db()
    return tuple(getattr(order, name) for name in VERDICTS)


# --- Orders through the API -------------------------------------------------------------------------


def test_a_clean_order_is_stored_with_every_check_passed_and_its_line_signature(api):
    """Good phone, e-mail and address; the signature is that of the posted lines."""
    order = post(api, lines=[{"sku": "SKU-1", "quantity": 2, "unit_price": "129.50"}])
    assert checks(order) == (True, True, True)
    assert order.line_signature == verdicts.line_signature([("SKU-1", 2)])


def test_an_order_posted_with_a_bad_phone_is_stored_with_the_phone_check_failed(api):
    """The order is accepted (201) and flagged in its column, nothing else."""
    order = post(api, customer={"external_id": "C-BAD", "name": "张三", "phone": "1380013800"})
    assert checks(order) == (False, True, True)


def test_an_order_posted_without_a_phone_fails_the_phone_check(api):
    order = post(api, customer={"external_id": "C-NONE", "name": "张三", "phone": ""})
    assert order.customer_phone_is_valid is False


def test_patching_the_customer_phone_re_judges_it(api):
    """PATCH customer.phone from a bad number to a good one flips the column to valid."""
    order = post(api, customer={"external_id": "C-FIX", "name": "张三", "phone": "12345"})
    assert order.customer_phone_is_valid is False
    order = patch(api, order, {"customer": {"phone": "13912345678"}})
    assert (order.customer_phone, order.customer_phone_is_valid) == ("13912345678", True)


def test_patching_the_address_re_judges_it(api):
    """A city of another province fails; putting the right one back passes."""
    order = post(api)
    order = patch(api, order, {"shipping_address": {"city": "广州市", "district": ""}})
    assert order.address_is_valid is False
    order = patch(api, order, {"shipping_address": {"city": "杭州", "district": "西湖"}})
    assert order.address_is_valid is True


def test_patching_the_lines_re_signs_the_order_and_other_changes_keep_the_signature(api):
    """New lines give a new signature; a status change leaves it alone."""
    order = post(api)
    before = order.line_signature
    order = patch(api, order, {"status": "reviewed"})
    assert order.line_signature == before
    order = patch(api, order, {"lines": [{"sku": "SKU-1", "quantity": 3, "unit_price": "129.50"}]})
    assert order.line_signature == verdicts.line_signature([("SKU-1", 3)]) != before


def test_reordered_or_split_lines_give_two_orders_the_same_signature(api):
    """A re-submitted basket matches its original by signature, however its lines are laid out."""
    first = post(
        api,
        lines=[
            {"sku": "A", "quantity": 1, "unit_price": "10.00"},
            {"sku": "B", "quantity": 2, "unit_price": "20.00"},
        ],
    )
    second = post(
        api,
        lines=[
            {"sku": "B", "quantity": 1, "unit_price": "20.00"},
            {"sku": "A", "quantity": 1, "unit_price": "10.00"},
            {"sku": "B", "quantity": 1, "unit_price": "20.00"},
        ],
    )
    third = post(
        api,
        lines=[
            {"sku": "A", "quantity": 2, "unit_price": "10.00"},
            {"sku": "B", "quantity": 2, "unit_price": "20.00"},
        ],
    )
    assert first.line_signature == second.line_signature != third.line_signature


def test_the_duplicate_lookup_by_phone_signature_and_time_uses_its_index():
    """The DUPLICATE_ORDER lookup is served by orders_order_duplicate_idx, not a scan.

    On a table of a few rows any plan is as good as another, so there are a few hundred orders
    placed around the same time by other customers, and the statistics know it.
    """
    from django.db import connection

    order = OrderFactory()
    others = [
        Order(
            channel=order.channel,
            external_id=f"OTHER-{n}",
            customer=order.customer,
            customer_phone=f"1390000{n:04d}",
            line_signature=order.line_signature,
            placed_at=order.placed_at - dt.timedelta(minutes=n % 60),
            status_changed_at=order.placed_at,
            total_amount=order.total_amount,
        )
        for n in range(400)
    ]
    Order.objects.bulk_create(others)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_order")
    # Unordered, as the rule's EXISTS is.
    plan = (
        Order.objects.filter(
            customer_phone=order.customer_phone,
            line_signature=order.line_signature,
            placed_at__gte=order.placed_at - dt.timedelta(minutes=30),
            placed_at__lt=order.placed_at,
        )
        .order_by()
        .explain()
    )
    assert "orders_order_duplicate_idx" in plan


def test_the_bulk_endpoint_stores_each_orders_verdicts(api):
    """One batch, one order per kind of imperfection, each judged on its own."""
    bodies = [
        order_body(),
        order_body(customer={"external_id": "C-B1", "name": "李四", "phone": "138****8000"}),
        order_body(customer={"external_id": "C-B2", "name": "王五", "phone": "13800138000", "email": "ww@"}),
        order_body(shipping_address={"province": "浙江省", "city": "杭州市", "district": "朝阳区", "detail": "x"}),
    ]
    response = api.post("/api/v1/orders/bulk/", {"orders": bodies}, format="json")
    assert response.status_code in (200, 201), response.json()
    stored = {o.external_id: checks(o) for o in Order.objects.all()}
    assert [stored[b["external_id"]] for b in bodies] == [
        (True, True, True),
        (False, True, True),
        (True, False, True),
        (True, True, False),
    ]


def test_a_customers_new_email_re_judges_all_of_their_orders(api):
    """The latest details win: a malformed e-mail on a later order flags the earlier one too, and a fix clears both."""
    customer = {"external_id": "C-MAIL", "name": "张三", "phone": "13800138000", "email": "zs@example.com"}
    first = post(api, customer=customer)
    second = post(api, customer={**customer, "email": "zs@@example.com"})
    assert Customer.objects.filter(external_id="C-MAIL").count() == 1
    assert (checks(first)[1], checks(second)[1]) == (False, False)
    patch(api, first, {"customer": {"email": "zs@example.com"}})
    assert (checks(first)[1], checks(second)[1]) == (True, True)


def test_a_customers_phone_verdict_stays_with_the_phone_each_order_was_placed_with(api):
    """customer_phone is the order's own copy, and its verdict describes that copy."""
    customer = {"external_id": "C-PH", "name": "张三", "phone": "12345"}
    first = post(api, customer=customer)
    second = post(api, customer={**customer, "phone": "13800138000"})
    assert (first.customer_phone, checks(first)[0]) == ("12345", False)
    assert (second.customer_phone, checks(second)[0]) == ("13800138000", True)


# --- Orders through the admin and file import -------------------------------------------------------


def test_an_address_corrected_in_the_admin_is_re_judged(client, admin_user):
    """The admin's save goes through order_update, which re-judges the address."""
    client.force_login(admin_user)
    order = services.order_ingest(data=_validated(order_body()))
    url = reverse("admin:orders_order_change", args=[order.order_id])
    data = change_form_data(client.get(url))
    data["ship_city"] = "广州市"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Order.objects.get(pk=order.order_id).address_is_valid is False


def test_an_imported_order_file_stores_the_verdicts(client, admin_user):
    """File rows go through order_ingest: a bad phone and a mismatched address are flagged."""
    client.force_login(admin_user)
    rows = [order_row(), order_row(external_id="TB-IMP-0002", customer_phone="110", ship_city="广州市")]
    assert confirm(client, Order, upload(client, Order, order_file(rows), "csv")).status_code == 302
    assert checks(Order.objects.get(external_id="TB-IMP-0001")) == (True, True, True)
    assert checks(Order.objects.get(external_id="TB-IMP-0002")) == (False, True, False)


def _validated(body: dict) -> dict:
    from apps.orders.api import OrderInput

    serializer = OrderInput(data=body)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- Shipments ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("carrier", "number", "expected"),
    [
        ("SF", "SF123456789012", True),
        ("sf", "SF123456789012", True),
        ("SF", "SF12345678", False),
        ("EMS", "EA123456789CN", True),
        ("JTSD", "JT1234567890123", False),
        ("ZTO", "", False),
    ],
    ids=["good", "lower-case-carrier", "truncated", "ems-international", "unknown-carrier", "no-number"],
)
def test_a_shipment_posted_through_the_api_is_stored_with_its_tracking_verdict(api, carrier, number, expected):
    """Stored as given (201) and judged against the carrier's format."""
    order = post(api)
    body = {
        "order": order.pk,
        "carrier": carrier,
        "tracking_number": number,
        "shipped_at": "2026-11-25T09:00:00+08:00",
        "lines": [{"sku": "SKU-1", "quantity": 2}],
    }
    response = api.post("/api/v1/shipments/", body, format="json")
    assert response.status_code == 201, response.json()
    assert Shipment.objects.get(pk=response.json()["id"]).tracking_is_valid is expected


# --- Repair and migration -----------------------------------------------------------------------------


def _spoil(order: Order) -> None:
    """Store wrong verdicts, as a raw bulk_create that skipped the services would."""
    Order.objects.filter(pk=order.pk).update(
        customer_phone_is_valid=True, customer_email_is_valid=True, address_is_valid=True, line_signature=""
    )


def _imperfect_orders() -> tuple[Order, Order]:
    good = OrderFactory()
    bad = OrderFactory(customer__phone="12345", customer__email="x@", ship_city="广州市", lines=[])
    OrderLineFactory(order=bad, sku="B", quantity=1)
    OrderLineFactory(order=bad, sku="A", quantity=2)
    return good, bad


def test_factory_rows_carry_the_verdicts_the_services_would_store():
    """Tests that build orders with factories see real verdicts, signature included."""
    good, bad = _imperfect_orders()
    assert checks(good) == (True, True, True)
    assert checks(bad) == (False, False, False)
    assert bad.line_signature == verdicts.line_signature([("A", 2), ("B", 1)])


def test_the_refresh_service_repairs_rows_written_around_the_services():
    """order_verdicts_refresh re-computes every verdict column, for all orders or the ones named."""
    good, bad = _imperfect_orders()
    expected = {o.pk: (checks(o), o.line_signature) for o in (good, bad)}
    _spoil(good)
    _spoil(bad)
    assert services.order_verdicts_refresh(order_ids=[bad.pk]) == 1
    assert (checks(bad), Order.objects.get(pk=bad.pk).line_signature) == expected[bad.pk]
    assert Order.objects.get(pk=good.pk).line_signature == ""
    assert services.order_verdicts_refresh() == 2
    assert (checks(good), Order.objects.get(pk=good.pk).line_signature) == expected[good.pk]


def test_the_data_migration_judges_existing_orders_and_shipments():
    """0003 computes the verdicts of rows that existed before the columns did."""
    migration = importlib.import_module("apps.orders.migrations.0003_seed_carriers_and_verdicts")
    good, bad = _imperfect_orders()
    expected = {o.pk: (checks(o), o.line_signature) for o in (good, bad)}
    shipments = [ShipmentFactory(order=good), ShipmentFactory(order=bad, carrier="SF", tracking_number="SF1")]
    for order in (good, bad):
        _spoil(order)
    Shipment.objects.update(tracking_is_valid=True)
    migration.compute_verdicts(django_apps, None)
    for order in (good, bad):
        assert (checks(order), Order.objects.get(pk=order.pk).line_signature) == expected[order.pk]
    assert [Shipment.objects.get(pk=s.pk).tracking_is_valid for s in shipments] == [True, False]
