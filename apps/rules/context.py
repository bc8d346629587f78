"""Load orders with everything the rule fields read, in a fixed number of queries.

Two loaders give the same ``OrderContext``: one for many orders (ORM querysets with
prefetches), and one for the single order of a write, the hot path of detection (SPEC §6:
all rules on one order event in ≤ 5 ms), which runs fixed SQL statements through
``Manager.raw``: the ORM's per-query compilation costs more than the queries themselves
there. The statements are plain SELECTs on one key, so they read the same on every backend,
and raw() still converts the values as the ORM does (decimals, aware datetimes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model, Prefetch

from apps.orders.models import (
    Customer,
    Order,
    OrderLine,
    Payment,
    Product,
    Shipment,
    ShipmentLine,
    StockLevel,
    TrackingEvent,
)


@dataclass
class OrderContext:
    order: Order
    now: datetime
    stock: dict[str, StockLevel]
    products: dict[str, Product]
    lines: list[OrderLine] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    # shipment id → its lines / its tracking events
    lines_of_shipment: dict[int, list[ShipmentLine]] = field(default_factory=dict)
    events_of_shipment: dict[int, list[TrackingEvent]] = field(default_factory=dict)

    @property
    def shipment_lines(self) -> list[ShipmentLine]:
        return [line for shipment in self.shipments for line in self.lines_of_shipment.get(shipment.pk, [])]

    @property
    def tracking_events(self) -> list[TrackingEvent]:
        return [event for shipment in self.shipments for event in self.events_of_shipment.get(shipment.pk, [])]

    def collection(self, name: str) -> list[Any]:
        return {
            "lines": self.lines,
            "shipments": self.shipments,
            "shipment_lines": self.shipment_lines,
            "payments": self.payments,
        }[name]


def contexts_load(*, order_ids: Iterable[int], now: datetime) -> dict[int, OrderContext]:
    """One context per existing order id: 7 queries however many orders, 5 to 9 for one."""
    ids = list(order_ids)
    if len(ids) == 1:
        ctx = _context_load_one(order_id=ids[0], now=now)
        return {} if ctx is None else {ids[0]: ctx}
    orders = list(
        Order.objects.filter(pk__in=ids)
        .select_related("customer")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("line_no")),
            Prefetch("payments", queryset=Payment.objects.order_by()),
            Prefetch(
                "shipments",
                queryset=Shipment.objects.order_by().prefetch_related(
                    Prefetch("lines", queryset=ShipmentLine.objects.order_by("pk")),
                    Prefetch("events", queryset=TrackingEvent.objects.order_by()),
                ),
            ),
        )
        .order_by()
    )
    skus = {line.sku for order in orders for line in order.lines.all()}
    stock = {row.sku: row for row in StockLevel.objects.filter(sku__in=skus).order_by()}
    products = {row.sku: row for row in Product.objects.filter(sku__in=skus).order_by()}
    contexts = {}
    for order in orders:
        shipments = list(order.shipments.all())
        contexts[order.pk] = OrderContext(
            order=order,
            now=now,
            stock=stock,
            products=products,
            lines=list(order.lines.all()),
            payments=list(order.payments.all()),
            shipments=shipments,
            lines_of_shipment={shipment.pk: list(shipment.lines.all()) for shipment in shipments},
            events_of_shipment={shipment.pk: list(shipment.events.all()) for shipment in shipments},
        )
    return contexts


# --- One order: fixed statements ----------------------------------------------------------------


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _select(model: type[Model], tail: str) -> str:
    """``SELECT <model's columns> FROM <model's table> t <tail>``; names come from the models only."""
    columns = ", ".join(f"t.{_q(f.column)}" for f in model._meta.concrete_fields)
    return f"SELECT {columns} FROM {_q(model._meta.db_table)} t {tail}"


@cache
def _statements(vendor: str) -> dict[str, str]:
    """The SELECTs of one order's context, each taking the order id (built once per backend)."""
    by_order = f"WHERE t.{_q('order_id')} = %s"
    in_shipments = (
        f"JOIN {_q(Shipment._meta.db_table)} s ON s.{_q('id')} = t.{_q('shipment_id')} WHERE s.{_q('order_id')} = %s"
    )
    skus = (
        f"WHERE t.{_q('sku')} IN "
        f"(SELECT l.{_q('sku')} FROM {_q(OrderLine._meta.db_table)} l WHERE l.{_q('order_id')} = %s)"
    )
    return {
        "order": _select(Order, f"WHERE t.{_q('id')} = %s"),
        "customer": _select(Customer, f"WHERE t.{_q('id')} = %s"),
        "lines": _select(OrderLine, f"{by_order} ORDER BY t.{_q('line_no')}"),
        "payments": _select(Payment, by_order),
        "shipments": _select(Shipment, by_order),
        "shipment_lines": _select(ShipmentLine, f"{in_shipments} ORDER BY t.{_q('id')}"),
        "events": _select(TrackingEvent, in_shipments),
        "stock": _select(StockLevel, skus),
        "products": _select(Product, skus),
    }


def _context_load_one(*, order_id: int, now: datetime) -> OrderContext | None:
    sql = _statements(connection.vendor)
    orders = list(Order.objects.raw(sql["order"], [order_id]))
    if not orders:
        return None
    order = orders[0]
    order.customer = next(iter(Customer.objects.raw(sql["customer"], [order.customer_id])))
    lines = list(OrderLine.objects.raw(sql["lines"], [order_id]))
    payments = list(Payment.objects.raw(sql["payments"], [order_id]))
    shipments = list(Shipment.objects.raw(sql["shipments"], [order_id]))
    lines_of: dict[int, list[ShipmentLine]] = {shipment.pk: [] for shipment in shipments}
    events_of: dict[int, list[TrackingEvent]] = {shipment.pk: [] for shipment in shipments}
    if shipments:
        for shipment_line in ShipmentLine.objects.raw(sql["shipment_lines"], [order_id]):
            lines_of[shipment_line.shipment_id].append(shipment_line)
        for event in TrackingEvent.objects.raw(sql["events"], [order_id]):
            events_of[event.shipment_id].append(event)
    stock: dict[str, StockLevel] = {}
    products: dict[str, Product] = {}
    if lines:
        stock = {row.sku: row for row in StockLevel.objects.raw(sql["stock"], [order_id])}
        products = {row.sku: row for row in Product.objects.raw(sql["products"], [order_id])}
    return OrderContext(
        order=order,
        now=now,
        stock=stock,
        products=products,
        lines=lines,
        payments=payments,
        shipments=shipments,
        lines_of_shipment=lines_of,
        events_of_shipment=events_of,
    )
