"""Token authentication and role permissions on the API."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.orders.models import Order
from tests.orders.payloads import order_body

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("post", "/api/v1/orders/"),
    ("post", "/api/v1/orders/bulk/"),
    ("get", "/api/v1/orders/"),
    ("get", "/api/v1/orders/1/"),
    ("patch", "/api/v1/orders/1/"),
    ("post", "/api/v1/payments/"),
    ("post", "/api/v1/shipments/"),
    ("post", "/api/v1/shipments/1/events/"),
    ("put", "/api/v1/products/SKU-1/"),
    ("put", "/api/v1/inventory/SKU-1/"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_no_token_is_401_with_a_challenge(anon_api, method, path):
    response = getattr(anon_api, method)(path, {}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"


def test_a_wrong_token_is_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    response = client.get("/api/v1/orders/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_a_manager_may_read_orders_but_not_create_them(manager_api):
    assert manager_api.get("/api/v1/orders/").status_code == 200
    response = manager_api.post("/api/v1/orders/", order_body(), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert Order.objects.count() == 0


def test_staff_may_not_set_stock_or_prices(staff_api):
    assert staff_api.put("/api/v1/inventory/SKU-1/", {"on_hand": 1}, format="json").status_code == 403
    assert staff_api.put("/api/v1/products/SKU-1/", {"name": "x", "list_price": "1"}, format="json").status_code == 403


def test_staff_may_read_an_order_but_not_change_it(api, staff_api):
    """Order writes need the admin role; staff will change orders through handling."""
    order_id = api.post("/api/v1/orders/", order_body(), format="json").json()["id"]
    assert staff_api.get(f"/api/v1/orders/{order_id}/").json()["status"] == "paid"
    response = staff_api.patch(f"/api/v1/orders/{order_id}/", {"status": "reviewed"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert Order.objects.get(pk=order_id).status == "paid"


def test_an_inactive_users_token_stops_working(api, admin_user):
    admin_user.is_active = False
    admin_user.save()
    assert api.get("/api/v1/orders/").status_code == 401
