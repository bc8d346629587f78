"""The order-domain admin: every page renders, search and filters find the right rows, lists
cost a fixed number of queries, and edits go through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.forms import MultiWidget
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.services import user_create
from apps.orders import services
from apps.orders.api import OrderInput
from apps.orders.models import Customer, Order, Payment, Product, Shipment, StockLevel, TrackingEvent
from tests.orders.payloads import order_body

pytestmark = pytest.mark.django_db

MODELS = ("customer", "order", "product", "stocklevel", "payment", "shipment", "trackingevent")


def ingest(**overrides: Any) -> Order:
    serializer = OrderInput(data=order_body(**overrides))
    serializer.is_valid(raise_exception=True)
    return Order.objects.get(pk=services.order_ingest(data=serializer.validated_data).order_id)


def make_world(n: int = 1) -> dict[str, Any]:
    """One record of every kind, numbered ``n``, created through the services."""
    order = ingest(
        external_id=f"TB-W-{n:04d}",
        customer={"external_id": f"CW{n}", "name": f"王{n}", "phone": f"1390000{n:04d}"},
        lines=[{"sku": f"SKU-W{n}", "quantity": 1, "unit_price": "259.00"}],
    )
    payment, _created = services.payment_record(
        order_id=order.pk,
        transaction_id=f"TX-W-{n}",
        amount=Decimal("259.00"),
        status="succeeded",
        paid_at=order.placed_at,
        method="alipay",
    )
    shipment, _created = services.shipment_create(
        order_id=order.pk,
        carrier="SF",
        tracking_number=f"SF{n:010d}",
        shipped_at=order.placed_at + dt.timedelta(days=1),
        lines=[{"sku": f"SKU-W{n}", "quantity": 1}],
    )
    event, _created = services.tracking_event_record(
        shipment_id=shipment.pk, occurred_at=shipment.shipped_at, status="picked_up", description="揽收"
    )
    product, _created = services.product_upsert(sku=f"SKU-W{n}", name="保温杯", list_price=Decimal("129.50"))
    stock, _created = services.stock_level_set(sku=f"SKU-W{n}", on_hand=10, reserved=2)
    return {
        "customer": order.customer,
        "order": order,
        "product": product,
        "stocklevel": stock,
        "payment": payment,
        "shipment": shipment,
        "trackingevent": event,
    }


def changelist(model: str) -> str:
    return reverse(f"admin:orders_{model}_changelist")


def change_page(model: str, pk: int) -> str:
    return reverse(f"admin:orders_{model}_change", args=[pk])


def found(response) -> set[int]:
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def change_form_data(response) -> dict[str, str]:
    """What a browser posts back from an admin change page when nothing is edited."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data: dict[str, str] = {}
    for form in forms:
        for field in form:
            value, widget = field.value(), field.field.widget
            if isinstance(widget, MultiWidget):
                for index, part in enumerate(widget.decompress(value)):
                    data[f"{field.html_name}_{index}"] = "" if part is None else str(part)
            elif isinstance(value, bool):
                if value:
                    data[field.html_name] = "on"
            elif value is not None:
                data[field.html_name] = str(value)
    return data


@pytest.fixture
def superuser(db):
    return user_create(username="root", password="pw-root-Secret1", role="admin", is_superuser=True)


@pytest.fixture(params=["admin_user", "superuser"])
def browser(request, client):
    """A logged-in browser of a user in the admin role, or of a superuser."""
    client.force_login(request.getfixturevalue(request.param))
    return client


@pytest.fixture
def admin_browser(client, admin_user):
    client.force_login(admin_user)
    return client


# --- Pages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_every_order_domain_changelist_renders(browser, model):
    """Each registered model's list page renders with a row in it."""
    world = make_world()
    response = browser.get(changelist(model))
    assert response.status_code == 200
    assert found(response) == {world[model].pk}


@pytest.mark.parametrize("model", MODELS)
def test_every_order_domain_change_page_renders(browser, model):
    """Each registered model's change (or view) page renders for a stored record."""
    world = make_world()
    response = browser.get(change_page(model, world[model].pk))
    assert response.status_code == 200


def test_the_order_page_shows_lines_payments_and_links_to_shipments(admin_browser):
    """An order's page lists its lines and payments and links each shipment's own page."""
    world = make_world()
    response = admin_browser.get(change_page("order", world["order"].pk))
    html = response.content.decode()
    assert "SKU-W1" in html
    assert "TX-W-1" in html
    assert change_page("shipment", world["shipment"].pk) in html


@pytest.mark.parametrize("model", MODELS)
def test_a_changelist_costs_the_same_queries_for_one_row_or_many(admin_browser, django_assert_max_num_queries, model):
    """Related columns are joined, not fetched per row: ten rows cost what one row costs."""
    make_world(1)
    with CaptureQueriesContext(connection) as one_row:
        assert admin_browser.get(changelist(model)).status_code == 200
    for n in range(2, 12):
        make_world(n)
    with django_assert_max_num_queries(len(one_row.captured_queries)):
        response = admin_browser.get(changelist(model))
    assert len(response.context["cl"].result_list) == 11


def test_the_order_changelist_stays_within_a_fixed_query_budget(admin_browser, django_assert_max_num_queries):
    """Thirty orders with customers render in a handful of queries (session, user, counts, page)."""
    for n in range(30):
        make_world(n)
    with django_assert_max_num_queries(10):
        admin_browser.get(changelist("order"))


# --- Search and filters ---------------------------------------------------------------------------


@pytest.fixture
def two_orders():
    first = make_world(1)
    second = make_world(2)
    return first, second


@pytest.mark.parametrize(
    ("term", "which"),
    [
        ("TB-W-0002", 1),
        ("王1", 0),
        ("13900000002", 1),
        ("SKU-W1", 0),
        ("SF0000000002", 1),
    ],
    ids=["external-id", "customer-name", "customer-phone", "sku", "tracking-number"],
)
def test_orders_are_found_by_external_id_customer_sku_or_tracking_number(admin_browser, two_orders, term, which):
    """The order search covers the identifiers people ask about on the phone."""
    response = admin_browser.get(changelist("order"), {"q": term})
    assert found(response) == {two_orders[which]["order"].pk}


@pytest.mark.parametrize(
    ("model", "term", "which"),
    [
        ("payment", "TX-W-2", 1),
        ("shipment", "SF0000000001", 0),
        ("trackingevent", "SF0000000002", 1),
        ("product", "SKU-W2", 1),
        ("stocklevel", "SKU-W1", 0),
        ("customer", "13900000001", 0),
    ],
)
def test_each_list_is_searchable_by_its_identifier(admin_browser, two_orders, model, term, which):
    """Transaction ID, tracking number, SKU and phone each find exactly their record."""
    response = admin_browser.get(changelist(model), {"q": term})
    assert found(response) == {two_orders[which][model].pk}


def test_orders_filter_by_status_channel_and_placed_date(admin_browser):
    """The status, channel and placed-at date filters each narrow the list."""
    paid = ingest(status="paid", placed_at="2026-11-24T10:00:00+08:00")
    shipped = ingest(status="shipped", channel="jd", placed_at="2026-10-02T10:00:00+08:00")
    assert found(admin_browser.get(changelist("order"), {"status__exact": "shipped"})) == {shipped.pk}
    assert found(admin_browser.get(changelist("order"), {"channel__exact": "taobao"})) == {paid.pk}
    by_day = {"placed_at__year": "2026", "placed_at__month": "11", "placed_at__day": "24"}
    assert found(admin_browser.get(changelist("order"), by_day)) == {paid.pk}


def test_payments_filter_by_status_and_shipments_by_carrier(admin_browser, two_orders):
    """Payment status and carrier filters narrow their lists."""
    order = two_orders[0]["order"]
    failed, _created = services.payment_record(
        order_id=order.pk, transaction_id="TX-FAIL", amount=Decimal("1.00"), status="failed"
    )
    yto, _created = services.shipment_create(
        order_id=order.pk, carrier="yto", tracking_number="YT1", shipped_at=timezone.now(), lines=[]
    )
    assert found(admin_browser.get(changelist("payment"), {"status__exact": "failed"})) == {failed.pk}
    assert found(admin_browser.get(changelist("shipment"), {"carrier__exact": "YTO"})) == {yto.pk}
    by_carrier = found(admin_browser.get(changelist("trackingevent"), {"shipment__carrier__exact": "SF"}))
    assert by_carrier == {two_orders[0]["trackingevent"].pk, two_orders[1]["trackingevent"].pk}


# --- Writes ---------------------------------------------------------------------------------------


def test_changing_an_orders_status_in_admin_stamps_status_changed_at(admin_browser):
    """A status change through the admin records when it happened, as order_update does."""
    order = ingest(status="paid")
    url = change_page("order", order.pk)
    later = timezone.now().replace(microsecond=0) + dt.timedelta(hours=3)
    with time_machine.travel(later, tick=False):
        data = change_form_data(admin_browser.get(url))
        data["status"] = "shipped"
        response = admin_browser.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    order.refresh_from_db()
    assert order.status == "shipped"
    assert order.status_changed_at == later


def test_editing_an_order_without_a_status_change_keeps_status_changed_at(admin_browser):
    """An address correction changes the address and leaves the status clock alone."""
    order = ingest(status="paid")
    url = change_page("order", order.pk)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=3), tick=False):
        data = change_form_data(admin_browser.get(url))
        data["ship_city"] = "宁波市"
        response = admin_browser.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    stored = Order.objects.get(pk=order.pk)
    assert stored.ship_city == "宁波市"
    assert stored.status_changed_at == order.status_changed_at


def test_an_order_edit_the_api_would_refuse_is_refused_on_its_field(admin_browser):
    """The admin validates with the API serializer: a lower-case currency is an error on currency."""
    order = ingest()
    url = change_page("order", order.pk)
    data = change_form_data(admin_browser.get(url))
    data["currency"] = "cny"
    response = admin_browser.post(url, data)
    assert response.status_code == 200
    assert "currency" in response.context["adminform"].form.errors
    assert Order.objects.get(pk=order.pk).currency == "CNY"


def test_orders_cannot_be_added_by_hand(admin_browser):
    """Orders arrive through the API or an import, which build lines and customer."""
    assert admin_browser.get(reverse("admin:orders_order_add")).status_code == 403


def test_adding_a_product_in_admin_stores_it(admin_browser):
    """The add form creates the product through product_upsert."""
    response = admin_browser.post(
        reverse("admin:orders_product_add"),
        {"sku": "SKU-NEW", "name": "饭盒", "list_price": "39.90", "currency": "CNY"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    product = Product.objects.get(sku="SKU-NEW")
    assert (product.name, product.list_price, product.currency) == ("饭盒", Decimal("39.90"), "CNY")


def test_changing_a_product_in_admin_updates_it_and_keeps_its_sku(admin_browser):
    """Name and price change; the SKU is the key and is not a form field once stored."""
    product, _created = services.product_upsert(sku="SKU-1", name="杯", list_price=Decimal("10.00"))
    url = change_page("product", product.pk)
    response = admin_browser.post(url, {"sku": "SKU-HACK", "name": "保温杯", "list_price": "12.50", "currency": "CNY"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    product.refresh_from_db()
    assert (product.sku, product.name, product.list_price) == ("SKU-1", "保温杯", Decimal("12.50"))


def test_a_negative_list_price_is_an_error_on_the_price_field(admin_browser):
    """The admin refuses what the API refuses, on the field concerned."""
    response = admin_browser.post(
        reverse("admin:orders_product_add"),
        {"sku": "SKU-NEG", "name": "x", "list_price": "-1.00", "currency": "CNY"},
    )
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["list_price"]
    assert not Product.objects.exists()


def test_changing_a_stock_level_in_admin_sets_it(admin_browser):
    """Stock changes go through stock_level_set."""
    stock, _created = services.stock_level_set(sku="SKU-1", on_hand=5)
    response = admin_browser.post(change_page("stocklevel", stock.pk), {"on_hand": "8", "reserved": "3"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved, stock.available) == (8, 3, 5)


def test_a_negative_reserved_quantity_is_an_error_on_its_field(admin_browser):
    """Negative stock is refused on the field, not as a database constraint message."""
    stock, _created = services.stock_level_set(sku="SKU-1", on_hand=5)
    response = admin_browser.post(change_page("stocklevel", stock.pk), {"on_hand": "5", "reserved": "-1"})
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["reserved"]
    assert StockLevel.objects.get(pk=stock.pk).reserved == 0


def test_a_payment_added_by_hand_is_recorded_for_its_order(admin_browser):
    """Finance can record an offline payment; it goes through payment_record."""
    order = ingest()
    response = admin_browser.post(
        reverse("admin:orders_payment_add"),
        {
            "order": order.pk,
            "transaction_id": "BANK-0001",
            "amount": "259.00",
            "currency": "CNY",
            "status": "succeeded",
            "paid_at_0": "2026-11-24",
            "paid_at_1": "12:00:00",
            "method": "bank_transfer",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    payment = Payment.objects.get(transaction_id="BANK-0001")
    assert (payment.order_id, payment.amount, payment.status) == (order.pk, Decimal("259.00"), "succeeded")


def test_a_tracking_event_added_by_hand_is_recorded_for_its_shipment(admin_browser):
    """A carrier event reported by phone can be entered; it goes through tracking_event_record."""
    shipment = make_world()["shipment"]
    response = admin_browser.post(
        reverse("admin:orders_trackingevent_add"),
        {
            "shipment": shipment.pk,
            "occurred_at_0": "2026-11-26",
            "occurred_at_1": "09:30:00",
            "status": "exception",
            "description": "地址不详",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert TrackingEvent.objects.filter(shipment=shipment, status="exception").count() == 1


@pytest.mark.parametrize("model", ["customer", "payment", "shipment", "trackingevent"])
def test_records_other_systems_own_cannot_be_edited_in_admin(admin_browser, model):
    """Customers, payments, shipments and events are shown read-only: a POST changes nothing."""
    world = make_world()
    record = world[model]
    before = type(record).objects.filter(pk=record.pk).values().get()
    response = admin_browser.post(change_page(model, record.pk), {"name": "x", "status": "failed", "carrier": "X"})
    assert response.status_code == 403
    assert type(record).objects.filter(pk=record.pk).values().get() == before


def test_a_staff_member_cannot_open_the_admin(client, staff_user):
    """Staff work in the workspace; the admin sends them to its login page."""
    make_world()
    client.force_login(staff_user)
    response = client.get(changelist("order"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_a_manager_can_read_orders_but_not_change_them(client, manager_user):
    """Managers have view permissions only; the change page is read-only and a POST is refused."""
    order = make_world()["order"]
    client.force_login(manager_user)
    assert client.get(change_page("order", order.pk)).status_code == 200
    assert client.post(change_page("order", order.pk), {"status": "cancelled"}).status_code == 403
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_every_order_domain_model_is_on_the_admin_index(admin_browser):
    """Every order-domain model with a page is on the admin index."""
    html = admin_browser.get(reverse("admin:index")).content.decode()
    for model in (Customer, Order, Product, StockLevel, Payment, Shipment, TrackingEvent):
        assert changelist(model._meta.model_name) in html
