"""PUT/GET /api/v1/products/{sku}/ and /api/v1/inventory/{sku}/."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.orders.models import Product, StockLevel

pytestmark = pytest.mark.django_db


def test_put_creates_a_product_then_replaces_it(api):
    created = api.put("/api/v1/products/SKU-1/", {"name": "保温杯", "list_price": "129.50"}, format="json")
    updated = api.put("/api/v1/products/SKU-1/", {"name": "保温杯 500ml", "list_price": "139.00"}, format="json")
    assert (created.status_code, updated.status_code) == (201, 200)
    product = Product.objects.get(sku="SKU-1")
    assert (product.name, product.list_price) == ("保温杯 500ml", Decimal("139.00"))
    assert api.get("/api/v1/products/SKU-1/").json()["list_price"] == "139.00"
    assert api.get("/api/v1/products/", {"sku": "SKU-1"}).json()["count"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "list_price": "-1.00"}, "list_price"),
        ({"name": "x", "list_price": "ten"}, "list_price"),
        ({"list_price": "1.00"}, "name"),
        ({"name": "x", "list_price": "1.00", "currency": "yuan"}, "currency"),
    ],
)
def test_a_bad_product_is_refused_naming_the_field(api, body, field):
    response = api.put("/api/v1/products/SKU-1/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Product.objects.exists()


def test_put_sets_stock_then_replaces_it_and_reports_available(api):
    created = api.put("/api/v1/inventory/SKU-1/", {"on_hand": 10, "reserved": 3}, format="json")
    updated = api.put("/api/v1/inventory/SKU-1/", {"on_hand": 8, "reserved": 8}, format="json")
    assert (created.status_code, updated.status_code) == (201, 200)
    assert created.json()["available"] == 7
    stock = StockLevel.objects.get(sku="SKU-1")
    assert (stock.on_hand, stock.reserved) == (8, 8)
    assert api.get("/api/v1/inventory/SKU-1/").json()["available"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"on_hand": -1}, "on_hand"),
        ({"on_hand": 5, "reserved": -2}, "reserved"),
        ({"on_hand": "many"}, "on_hand"),
        ({"on_hand": 1.5}, "on_hand"),
        ({}, "on_hand"),
    ],
)
def test_bad_stock_is_refused_naming_the_field(api, body, field):
    response = api.put("/api/v1/inventory/SKU-1/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not StockLevel.objects.exists()


def test_an_overlong_sku_in_the_path_is_refused(api):
    response = api.put("/api/v1/inventory/" + "S" * 65 + "/", {"on_hand": 1}, format="json")
    assert response.status_code == 400
    assert "sku" in response.json()["fields"]


def test_reading_an_unknown_sku_is_404(api):
    assert api.get("/api/v1/products/NOPE/").status_code == 404
    assert api.get("/api/v1/inventory/NOPE/").status_code == 404


def test_the_inventory_list_is_paginated_and_filters_by_sku(api):
    for sku in ("A-1", "A-2", "B-1"):
        api.put(f"/api/v1/inventory/{sku}/", {"on_hand": 5, "reserved": 1}, format="json")
    everything = api.get("/api/v1/inventory/").json()
    assert everything["count"] == 3 and {row["sku"] for row in everything["results"]} == {"A-1", "A-2", "B-1"}
    one = api.get("/api/v1/inventory/", {"sku": "B-1"}).json()
    assert [row["available"] for row in one["results"]] == [4]
