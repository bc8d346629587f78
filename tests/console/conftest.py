"""Orders whose exceptions go to different departments, ingested through the real services."""

from __future__ import annotations

import pytest

from apps.orders import services
from apps.orders.api import OrderInput
from tests.orders.payloads import order_body


def ingest_orders(*bodies: dict) -> None:
    validator = OrderInput()
    services.order_bulk_ingest(items=[validator.run_validation(body) for body in bodies])


def shortage_body() -> dict:
    """An unpaid order of a SKU with no stock: STOCK_SHORTAGE, routed to the warehouse."""
    services.stock_level_set(sku="SKU-LOW", on_hand=0, reserved=0)
    return order_body(
        status="pending_payment",
        paid_at=None,
        lines=[{"sku": "SKU-LOW", "name": "杯", "quantity": 2, "unit_price": "129.50"}],
    )


@pytest.fixture
def raised(db):
    """Two orders: a stock shortage (warehouse) and a paid order without a payment (finance)."""
    from apps.exceptions.models import OrderException

    ingest_orders(shortage_body(), order_body())
    return OrderException.objects.select_related("department")
