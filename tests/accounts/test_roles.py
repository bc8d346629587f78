"""What each role may do with order data: admins (and integration accounts) write, staff only read."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.urls import reverse

from apps.accounts.roles import ORDER_MODELS, ROLE_PERMISSIONS
from apps.orders.models import Order, Payment, Product, Shipment, StockLevel, TrackingEvent
from tests.orders.payloads import order_body

pytestmark = pytest.mark.django_db


def _group_perms(name: str) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=name).permissions.values_list("content_type__app_label", "codename")
    }


@pytest.fixture
def world(api):
    """An order with a payment, a shipment with an event, a product and its stock, through the admin's API."""
    order = api.post("/api/v1/orders/", order_body(), format="json").json()
    payment = {"order": order["id"], "transaction_id": "TX-ROLE-1", "amount": "259.00", "status": "succeeded"}
    assert api.post("/api/v1/payments/", payment, format="json").status_code == 201
    shipment = api.post(
        "/api/v1/shipments/",
        {
            "order": order["id"],
            "carrier": "SF",
            "tracking_number": "SF1234567890",
            "shipped_at": "2026-11-25T10:00:00+08:00",
            "lines": [{"sku": "SKU-1", "quantity": 2}],
        },
        format="json",
    ).json()
    event = {"occurred_at": "2026-11-25T11:00:00+08:00", "status": "picked_up", "description": "揽收"}
    assert api.post(f"/api/v1/shipments/{shipment['id']}/events/", event, format="json").status_code == 201
    assert (
        api.put("/api/v1/products/SKU-1/", {"name": "保温杯", "list_price": "129.50"}, format="json").status_code == 201
    )
    assert api.put("/api/v1/inventory/SKU-1/", {"on_hand": 10, "reserved": 1}, format="json").status_code == 201
    return {"order": order["id"], "shipment": shipment["id"]}


def _snapshot() -> dict[str, list]:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in ORDER_DATA}


ORDER_DATA = (Order, Payment, Shipment, TrackingEvent, Product, StockLevel)


def _staff_writes(world) -> list[tuple[str, str, dict]]:
    order, shipment = world["order"], world["shipment"]
    return [
        ("patch", f"/api/v1/orders/{order}/", {"total_amount": "1.00"}),
        ("patch", f"/api/v1/orders/{order}/", {"status": "cancelled"}),
        ("post", "/api/v1/orders/", order_body()),
        ("post", "/api/v1/orders/bulk/", {"orders": [order_body()]}),
        ("post", "/api/v1/payments/", {"order": order, "transaction_id": "TX-2", "amount": "1.00", "status": "failed"}),
        (
            "post",
            "/api/v1/shipments/",
            {"order": order, "carrier": "SF", "tracking_number": "SF0000000002", "lines": []},
        ),
        (
            "post",
            f"/api/v1/shipments/{shipment}/events/",
            {"occurred_at": "2026-11-26T10:00:00+08:00", "status": "lost"},
        ),
        ("put", "/api/v1/products/SKU-1/", {"name": "x", "list_price": "0.01"}),
        ("put", "/api/v1/inventory/SKU-1/", {"on_hand": 0, "reserved": 0}),
    ]


def test_staff_may_write_no_order_data_through_the_api(world, staff_api):
    """Every order-data write a staff token attempts is a 403 in the error shape, and nothing changes."""
    before = _snapshot()
    for method, path, body in _staff_writes(world):
        response = getattr(staff_api, method)(path, body, format="json")
        assert response.status_code == 403, (method, path, response.content)
        assert response.json() == {
            "code": "permission_denied",
            "message": "You do not have permission to perform this action.",
            "fields": {},
        }
    assert _snapshot() == before


def test_staff_keep_reading_order_data(world, staff_api):
    order = staff_api.get(f"/api/v1/orders/{world['order']}/")
    assert order.status_code == 200
    assert order.json()["total_amount"] == "259.00"
    for path in (
        "/api/v1/orders/",
        f"/api/v1/shipments/{world['shipment']}/",
        "/api/v1/products/",
        "/api/v1/products/SKU-1/",
        "/api/v1/inventory/",
        "/api/v1/inventory/SKU-1/",
    ):
        assert staff_api.get(path).status_code == 200, path


def test_an_admin_token_changes_an_orders_amount_and_status(world, api):
    """The integration role keeps every write that staff lost."""
    response = api.patch(
        f"/api/v1/orders/{world['order']}/", {"total_amount": "250.00", "status": "reviewed"}, format="json"
    )
    assert response.status_code == 200
    order = Order.objects.get(pk=world["order"])
    assert (str(order.total_amount), order.status) == ("250.00", "reviewed")


def test_staff_with_admin_access_may_look_at_an_order_but_not_change_it(world, client, staff_user):
    """Model permissions hold in the admin too: the change page is read-only and a POST is refused."""
    staff_user.is_staff = True
    staff_user.save(update_fields=["is_staff"])
    client.force_login(staff_user)
    page = reverse("admin:orders_order_change", args=[world["order"]])
    before = _snapshot()

    assert client.get(page).status_code == 200
    assert client.post(page, {"status": "cancelled", "total_amount": "1.00"}).status_code == 403
    assert client.get(reverse("admin:orders_order_add")).status_code == 403
    assert client.get(reverse("admin:orders_product_import")).status_code == 403
    stock = StockLevel.objects.get(sku="SKU-1")
    assert client.post(reverse("admin:orders_stocklevel_change", args=[stock.pk]), {"on_hand": 0}).status_code == 403
    assert _snapshot() == before


def test_the_staff_role_holds_only_view_permissions_on_order_data():
    orders_perms = {name for name in _group_perms("staff") if name.startswith("orders.")}
    assert orders_perms == {f"orders.view_{model}" for model in ORDER_MODELS}
    assert {"orders.change_order", "orders.add_payment", "orders.change_stocklevel"} <= _group_perms("admin")


def test_migrate_takes_from_an_existing_database_the_staff_writes_the_role_table_no_longer_grants():
    """A database synced under the old table (staff could change orders and shipments) loses those
    permissions at the next ``migrate``; the other roles end with exactly their table's permissions."""
    staff = Group.objects.get(name="staff")
    staff.permissions.add(
        *Permission.objects.filter(content_type__app_label="orders", codename__in=["change_order", "change_shipment"])
    )
    assert "orders.change_order" in _group_perms("staff")

    call_command("migrate", verbosity=0, interactive=False)

    assert "orders.change_order" not in _group_perms("staff")
    assert "orders.change_shipment" not in _group_perms("staff")
    for role, wanted in ROLE_PERMISSIONS.items():
        assert _group_perms(role) == wanted, role
