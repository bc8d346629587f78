"""Load orders with everything the rule fields read, in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Prefetch

from apps.orders.models import Order, OrderLine, Payment, Product, Shipment, ShipmentLine, StockLevel


@dataclass
class OrderContext:
    order: Order
    now: datetime
    stock: dict[str, StockLevel]
    products: dict[str, Product]
    lines: list[OrderLine] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)

    @property
    def shipment_lines(self) -> list[ShipmentLine]:
        return [line for shipment in self.shipments for line in shipment.lines.all()]

    def collection(self, name: str) -> list[Any]:
        return {
            "lines": self.lines,
            "shipments": self.shipments,
            "shipment_lines": self.shipment_lines,
            "payments": self.payments,
        }[name]


def contexts_load(*, order_ids: Iterable[int], now: datetime) -> dict[int, OrderContext]:
    """One context per existing order id: 7 queries however many orders."""
    orders = list(
        Order.objects.filter(pk__in=list(order_ids))
        .select_related("customer")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("line_no")),
            "payments",
            Prefetch("shipments", queryset=Shipment.objects.prefetch_related("lines", "events")),
        )
    )
    skus = {line.sku for order in orders for line in order.lines.all()}
    stock = {row.sku: row for row in StockLevel.objects.filter(sku__in=skus)}
    products = {row.sku: row for row in Product.objects.filter(sku__in=skus)}
    return {
        order.pk: OrderContext(
            order=order,
            now=now,
            stock=stock,
            products=products,
            lines=list(order.lines.all()),
            payments=list(order.payments.all()),
            shipments=list(order.shipments.all()),
        )
        for order in orders
    }
