"""The field registry of the rule language: each field declared once, with both readings.

A field has a type, a label, an ORM expression (for batch scans: one queryset over orders)
and a Python accessor (for single events: a loaded ``OrderContext``). Collection scopes
(lines, shipments, shipment lines, payments) have fields of their own. The property test
(tests/rules/test_property.py) holds the two readings to the same answers.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Abs, Coalesce, NullIf, Round
from django.utils.translation import gettext_lazy as _

from apps.orders.models import MONEY, Channel, Order, OrderLine, Payment, Shipment, ShipmentLine

ZERO = Decimal("0.00")
_MONEY_FIELD = DecimalField(**MONEY)


class FieldType(enum.Enum):
    STRING = "string"
    ENUM = "enum"
    DECIMAL = "decimal"
    INTEGER = "integer"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    # A duration measured from ``anchor`` to ``reference`` (now, or another time of the row):
    # compared with durations, compiled to a comparison of the two times (index friendly).
    AGE = "age"


@dataclass(frozen=True)
class Env:
    """What an expression may depend on besides the row: the evaluation time."""

    now: datetime


@dataclass(frozen=True, eq=False)
class FieldDef:
    name: str
    type: FieldType
    label: Any
    orm: Callable[[Env], Any]  # expression relative to the scope's model
    py: Callable[[Any, Any], Any]  # (context, row) -> value; row is None at order scope
    nullable: bool = False
    choices: tuple[str, ...] = ()
    # For AGE fields: the reference time (default: now) as (orm, py) builders.
    reference: tuple[Callable[[Env], Any], Callable[[Any, Any], Any]] | None = None
    # Verdict operators (valid_phone, ...) backed by a column materialised at write time.
    verdicts: dict[str, str] = field(default_factory=dict)
    # For an AGE field whose anchor is the latest time of a set of rows: (rows, their time
    # column, the outer row's reference column). Comparisons then compile to EXISTS over the
    # rows, which the database runs as one semi-join instead of a lookup per order.
    latest_of: tuple[Callable[[Env], Any], str, str] | None = None


@dataclass(frozen=True)
class CollectionDef:
    scope: str
    model: type
    order_path: str  # lookup from the collection's model to its order


def _col(path: str) -> Callable[[Env], Any]:
    return lambda env: F(path)


def _attr(*names: str) -> Callable[[Any, Any], Any]:
    def read(ctx, row):
        value = ctx.order if row is None else row
        for name in names:
            value = getattr(value, name)
        return value

    return read


def _cents(expression) -> Any:
    """Money arithmetic rounded to the cent. SQLite computes decimals as binary floats
    (458.33 + 214.26 = 672.5899999…), so without it a sum could compare below an equal total."""
    return Round(expression, 2, output_field=_MONEY_FIELD)


class _Ratio(Func):
    """``a / b`` as a decimal. SQLite stores 165.00 as the integer 165 and would divide integers
    (165 / 188 = 0), so there the dividend is made a float first."""

    arg_joiner = " / "
    template = "(%(expressions)s)"
    output_field = DecimalField(max_digits=14, decimal_places=4)

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sqlite(compiler, connection, template="(1.0 * %(expressions)s)", **extra_context)


# Both totals are stored on the order by the services (orders.services: every payment and lines
# write), so a scan reads a column; the Python accessors sum the loaded rows, and the property
# test holds the two to the same answers.
def _paid_total_orm(env: Env):
    return F("paid_total")


def _lines_total_orm(env: Env):
    return F("lines_total")


def _lines_total_py(ctx, row) -> Decimal:
    return sum((line.quantity * line.unit_price for line in ctx.lines), ZERO)


def _latest_payment_orm(env: Env):
    return Subquery(latest_payment_rows(env).values("status")[:1])


def latest_payment_rows(env: Env):
    """An order's payment attempts, latest first (the latest paid, then the latest created), as a
    subquery correlated on the outer order."""
    return Payment.objects.filter(order=OuterRef("pk")).order_by(
        F("paid_at").desc(nulls_last=True), "-created_at", "-id"
    )


def latest_payment(ctx) -> Payment | None:
    """The latest payment attempt of a loaded order, chosen as ``latest_payment_rows`` orders them."""
    if not ctx.payments:
        return None
    dated = [p for p in ctx.payments if p.paid_at is not None]
    pool = dated if dated else ctx.payments
    if dated:
        latest_time = max(p.paid_at for p in dated)
        pool = [p for p in dated if p.paid_at == latest_time]
    return max(pool, key=lambda p: (p.created_at, p.id))


def _latest_payment_py(ctx, row) -> str | None:
    payment = latest_payment(ctx)
    return None if payment is None else payment.status


def _last_tracking_orm(env: Env):
    events = (
        Shipment.objects.filter(order=OuterRef("pk"))
        .order_by()
        .values("order")
        .annotate(_at=Max("events__occurred_at"))
        .values("_at")[:1]
    )
    shipped = Shipment.objects.filter(order=OuterRef("pk")).order_by().values("order").annotate(_at=Max("shipped_at"))
    return Coalesce(Subquery(events), Subquery(shipped.values("_at")[:1]))


def _last_tracking_py(ctx, row) -> datetime | None:
    events = [event.occurred_at for event in ctx.tracking_events]
    if events:
        return max(events)
    shipped = [shipment.shipped_at for shipment in ctx.shipments]
    return max(shipped) if shipped else None


def _count_orm(model, path: str):
    def build(env: Env):
        rows = model.objects.filter(**{path: OuterRef("pk")}).order_by().values(path).annotate(_n=Count("pk"))
        return Coalesce(Subquery(rows.values("_n")[:1], output_field=IntegerField()), Value(0))

    return build


def _shipped_quantities_match_orm(env: Env):
    # Both signatures are stored by the services (verdicts.line_signature over the ordered and
    # over the shipped SKU totals), so the comparison is one of two columns of the row.
    return ExpressionWrapper(Q(shipped_signature=F("line_signature")), output_field=BooleanField())


def _shipped_quantities_match_py(ctx, row) -> bool:
    ordered: dict[str, int] = {}
    for line in ctx.lines:
        ordered[line.sku] = ordered.get(line.sku, 0) + line.quantity
    shipped: dict[str, int] = {}
    for line in ctx.shipment_lines:
        shipped[line.sku] = shipped.get(line.sku, 0) + line.quantity
    return all(ordered.get(sku, 0) == shipped.get(sku, 0) for sku in ordered.keys() | shipped.keys())


def _stock_orm(env: Env):
    return ExpressionWrapper(F("stock__on_hand") - F("stock__reserved"), output_field=IntegerField())


def _stock_py(ctx, line) -> int | None:
    stock = ctx.stock.get(line.sku)
    return None if stock is None else stock.on_hand - stock.reserved


def _list_price_orm(env: Env):
    return ExpressionWrapper(F("product__list_price"), output_field=_MONEY_FIELD)


def _list_price_py(ctx, line) -> Decimal | None:
    product = ctx.products.get(line.sku)
    return None if product is None else product.list_price


def _on_order_orm(env: Env):
    # Stored by the shipment and order services (ShipmentLine.is_on_order); read from the rows here.
    return F("is_on_order")


def _on_order_py(ctx, shipment_line) -> bool:
    return any(line.sku == shipment_line.sku for line in ctx.lines)


def _now_orm(env: Env):
    return Value(env.now)


def _now_py(ctx, row):
    return ctx.now


def _earlier_duplicates(**outer: Any):
    """Earlier, not cancelled orders with another external_id and the same phone, basket and total."""
    return (
        Order.objects.filter(placed_at__lt=outer["placed_at"], **{k: v for k, v in outer.items() if k != "placed_at"})
        .exclude(status=Order.Status.CANCELLED)
        .exclude(customer_phone="")
    )


def _earlier_duplicate_candidates(env: Env):
    return _earlier_duplicates(
        customer_phone=OuterRef("customer_phone"),
        line_signature=OuterRef("line_signature"),
        total_amount=OuterRef("total_amount"),
        placed_at=OuterRef("placed_at"),
    ).exclude(external_id=OuterRef("external_id"))


def earlier_duplicate_rows(env: Env):
    """The earlier duplicates of the outer order, the latest first (ties: the highest id)."""
    return _earlier_duplicate_candidates(env).order_by("-placed_at", "-pk")


def _earlier_duplicate_orm(env: Env):
    return Subquery(earlier_duplicate_rows(env).values("placed_at")[:1])


@cache
def _earlier_duplicate_sql(vendor: str) -> str:
    """``_earlier_duplicates`` of one order as a fixed statement: it runs at every order event,
    where compiling the queryset would cost more than the indexed lookup itself."""
    q = connection.ops.quote_name
    return (
        f"SELECT t.{q('id')}, t.{q('placed_at')}, t.{q('channel')}, t.{q('external_id')} "
        f"FROM {q(Order._meta.db_table)} t "
        f"WHERE t.{q('customer_phone')} = %s AND t.{q('line_signature')} = %s AND t.{q('total_amount')} = %s "
        f"AND t.{q('placed_at')} < %s AND t.{q('external_id')} <> %s AND t.{q('status')} <> %s "
        f"ORDER BY t.{q('placed_at')} DESC, t.{q('id')} DESC"
    )


def earlier_duplicate(ctx) -> Order | None:
    """The latest earlier duplicate of a loaded order (id, placed_at, channel and external_id
    loaded), as ``earlier_duplicate_rows`` picks it; one indexed query."""
    order = ctx.order
    if not order.customer_phone:
        return None
    params = [
        order.customer_phone,
        order.line_signature,
        connection.ops.adapt_decimalfield_value(order.total_amount, MONEY["max_digits"], MONEY["decimal_places"]),
        connection.ops.adapt_datetimefield_value(order.placed_at),
        order.external_id,
        Order.Status.CANCELLED.value,
    ]
    for earlier in Order.objects.raw(_earlier_duplicate_sql(connection.vendor) + " LIMIT 1", params):
        return earlier
    return None


def _earlier_duplicate_py(ctx, row) -> datetime | None:
    earlier = earlier_duplicate(ctx)
    return None if earlier is None else earlier.placed_at


# Ratios are rounded to 4 places on both sides, so that a price at exactly half the list price
# compares the same in SQL (binary floats on SQLite) and in Python (decimals).
_RATIO_PLACES = 4
_RATIO_FIELD = DecimalField(max_digits=14, decimal_places=_RATIO_PLACES)


def _price_ratio_orm(env: Env):
    # NULLIF: no ratio against a zero list price (list prices are never negative, a constraint),
    # with the list price's subquery written once.
    return Round(_Ratio(F("unit_price"), NullIf(_list_price_orm(env), Value(ZERO))), _RATIO_PLACES)


def _price_ratio_py(ctx, line) -> Decimal | None:
    list_price = _list_price_py(ctx, line)
    if list_price is None or list_price <= 0:
        return None
    return (line.unit_price / list_price).quantize(Decimal(1).scaleb(-_RATIO_PLACES), rounding=ROUND_HALF_UP)


S, E, D, N, T, B, A = (
    FieldType.STRING,
    FieldType.ENUM,
    FieldType.DECIMAL,
    FieldType.INTEGER,
    FieldType.DATETIME,
    FieldType.BOOLEAN,
    FieldType.AGE,
)
ORDER_STATUSES = tuple(Order.Status.values)
PAYMENT_STATUSES = tuple(Payment.Status.values)


def _plain(name: str, kind: FieldType, label: Any, column: str | None = None, **kwargs: Any) -> FieldDef:
    column = column or name
    return FieldDef(name, kind, label, _col(column.replace(".", "__")), _attr(*column.split(".")), **kwargs)


ORDER_FIELDS: dict[str, FieldDef] = {
    f.name: f
    for f in [
        _plain("status", E, _("status"), choices=ORDER_STATUSES),
        _plain("channel", E, _("channel"), choices=tuple(Channel.values)),
        _plain("external_id", S, _("external ID")),
        _plain("currency", S, _("currency")),
        _plain("total_amount", D, _("total amount")),
        _plain("shipping_fee", D, _("shipping fee")),
        _plain("discount", D, _("discount")),
        _plain("placed_at", T, _("placed at")),
        _plain("paid_at", T, _("paid at"), nullable=True),
        _plain("promised_ship_by", T, _("promised ship-by"), nullable=True),
        _plain("status_changed_at", T, _("status changed at")),
        _plain("customer.name", S, _("customer name")),
        _plain("customer.phone", S, _("customer phone")),
        _plain("customer.email", S, _("customer e-mail"), verdicts={"valid_email": "customer_email_is_valid"}),
        _plain(
            "customer_phone", S, _("customer phone at ordering"), verdicts={"valid_phone": "customer_phone_is_valid"}
        ),
        _plain("address_is_valid", B, _("address parts belong together (divisions of China)")),
        _plain("line_signature", S, _("basket signature (SKUs and quantities)")),
        _plain("address.recipient", S, _("recipient"), "ship_recipient"),
        _plain("address.phone", S, _("recipient phone"), "ship_phone"),
        _plain("address.province", S, _("province"), "ship_province"),
        _plain("address.city", S, _("city"), "ship_city"),
        _plain("address.district", S, _("district"), "ship_district"),
        _plain("address.detail", S, _("address detail"), "ship_detail"),
        _plain("address.postcode", S, _("postcode"), "ship_postcode"),
        FieldDef(
            "paid_total",
            D,
            _("paid total (succeeded payments)"),
            _paid_total_orm,
            lambda ctx, row: sum((p.amount for p in ctx.payments if p.status == Payment.Status.SUCCEEDED), ZERO),
        ),
        FieldDef("lines_total", D, _("lines total (Σ quantity × unit price)"), _lines_total_orm, _lines_total_py),
        FieldDef(
            "amount_difference",
            D,
            _("total minus (lines total + shipping − discount)"),
            lambda env: _cents(
                ExpressionWrapper(
                    F("total_amount") - (_lines_total_orm(env) + F("shipping_fee") - F("discount")),
                    output_field=_MONEY_FIELD,
                )
            ),
            lambda ctx, row: ctx.order.total_amount
            - (_lines_total_py(ctx, row) + ctx.order.shipping_fee - ctx.order.discount),
        ),
        FieldDef(
            "amount_gap",
            D,
            _("size of the difference between total and lines"),
            lambda env: _cents(
                Abs(
                    ExpressionWrapper(
                        F("total_amount") - (_lines_total_orm(env) + F("shipping_fee") - F("discount")),
                        output_field=_MONEY_FIELD,
                    )
                )
            ),
            lambda ctx, row: abs(
                ctx.order.total_amount - (_lines_total_py(ctx, row) + ctx.order.shipping_fee - ctx.order.discount)
            ),
        ),
        FieldDef(
            "earlier_duplicate_gap",
            A,
            _("time since the latest earlier duplicate (same phone, basket and total)"),
            _earlier_duplicate_orm,
            _earlier_duplicate_py,
            nullable=True,
            reference=(_col("placed_at"), _attr("placed_at")),
            latest_of=(_earlier_duplicate_candidates, "placed_at", "placed_at"),
        ),
        FieldDef(
            "latest_payment_status",
            E,
            _("status of the latest payment attempt"),
            _latest_payment_orm,
            _latest_payment_py,
            nullable=True,
            choices=PAYMENT_STATUSES,
        ),
        FieldDef("payment_count", N, _("payment attempts"), _count_orm(Payment, "order"), lambda c, r: len(c.payments)),
        FieldDef("shipment_count", N, _("shipments"), _count_orm(Shipment, "order"), lambda c, r: len(c.shipments)),
        FieldDef(
            "last_tracking_event_at",
            T,
            _("last tracking event (or shipping) time"),
            _last_tracking_orm,
            _last_tracking_py,
            nullable=True,
        ),
        FieldDef(
            "hours_since_status_change",
            A,
            _("time since the status changed"),
            _col("status_changed_at"),
            _attr("status_changed_at"),
        ),
        FieldDef(
            "last_tracking_event_age",
            A,
            _("time since the last tracking event"),
            _last_tracking_orm,
            _last_tracking_py,
            nullable=True,
        ),
        FieldDef(
            "shipped_quantities_match",
            B,
            _("shipped quantities equal ordered ones per SKU"),
            _shipped_quantities_match_orm,
            _shipped_quantities_match_py,
        ),
    ]
}

LINE_FIELDS: dict[str, FieldDef] = {
    f.name: f
    for f in [
        _plain("sku", S, _("SKU")),
        _plain("name", S, _("item name")),
        _plain("quantity", N, _("quantity")),
        _plain("unit_price", D, _("unit price")),
        FieldDef(
            "line_total",
            D,
            _("line total"),
            lambda env: _cents(ExpressionWrapper(F("quantity") * F("unit_price"), output_field=_MONEY_FIELD)),
            lambda ctx, line: line.quantity * line.unit_price,
        ),
        FieldDef("list_price", D, _("list price"), _list_price_orm, _list_price_py, nullable=True),
        FieldDef("price_ratio", D, _("unit price ÷ list price"), _price_ratio_orm, _price_ratio_py, nullable=True),
        FieldDef("available_stock", N, _("available stock (on hand − reserved)"), _stock_orm, _stock_py, nullable=True),
        FieldDef(
            "has_stock_record",
            B,
            _("SKU has a stock record"),
            lambda env: ExpressionWrapper(Q(stock__id__isnull=False), output_field=BooleanField()),
            lambda ctx, line: line.sku in ctx.stock,
        ),
        FieldDef(
            "has_product",
            B,
            _("SKU has a product record"),
            lambda env: ExpressionWrapper(Q(product__id__isnull=False), output_field=BooleanField()),
            lambda ctx, line: line.sku in ctx.products,
        ),
    ]
}

SHIPMENT_FIELDS: dict[str, FieldDef] = {
    f.name: f
    for f in [
        _plain("carrier", S, _("carrier")),
        _plain("tracking_number", S, _("tracking number"), verdicts={"valid_tracking": "tracking_is_valid"}),
        _plain("shipped_at", T, _("shipped at")),
    ]
}

SHIPMENT_LINE_FIELDS: dict[str, FieldDef] = {
    f.name: f
    for f in [
        _plain("sku", S, _("SKU")),
        _plain("quantity", N, _("quantity")),
        FieldDef("on_order", B, _("SKU is on the order"), _on_order_orm, _on_order_py),
    ]
}

PAYMENT_FIELDS: dict[str, FieldDef] = {
    f.name: f
    for f in [
        _plain("transaction_id", S, _("transaction ID")),
        _plain("amount", D, _("amount")),
        _plain("status", E, _("status"), choices=PAYMENT_STATUSES),
        _plain("paid_at", T, _("paid at"), nullable=True),
        _plain("method", S, _("method")),
    ]
}

SCOPES: dict[str, dict[str, FieldDef]] = {
    "order": ORDER_FIELDS,
    "line": LINE_FIELDS,
    "shipment": SHIPMENT_FIELDS,
    "shipment_line": SHIPMENT_LINE_FIELDS,
    "payment": PAYMENT_FIELDS,
}
COLLECTIONS: dict[str, CollectionDef] = {
    "lines": CollectionDef("line", OrderLine, "order"),
    "shipments": CollectionDef("shipment", Shipment, "order"),
    "shipment_lines": CollectionDef("shipment_line", ShipmentLine, "shipment__order"),
    "payments": CollectionDef("payment", Payment, "order"),
}


def fields_of(scope: str) -> dict[str, FieldDef]:
    return SCOPES[scope]


def field_catalogue() -> list[dict[str, Any]]:
    """The registry as data (for the rule editor and the docs)."""
    return [
        {
            "scope": scope,
            "name": definition.name,
            "type": definition.type.value,
            "label": str(definition.label),
            "nullable": definition.nullable,
            "choices": list(definition.choices),
            "verdicts": sorted(definition.verdicts),
        }
        for scope, registry in SCOPES.items()
        for definition in registry.values()
    ]
