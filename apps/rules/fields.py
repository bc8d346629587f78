"""The field registry of the rule language: each field declared once, with both readings.

A field has a type, a label, an ORM expression (for batch scans: one queryset over orders)
and a Python accessor (for single events: a loaded ``OrderContext``). Collection scopes
(lines, shipments, shipment lines, payments) have fields of their own. The property test
(tests/rules/test_property.py) holds the two readings to the same answers.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from django.db import NotSupportedError, connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateField,
    DateTimeField,
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
    When,
)
from django.db.models.fields.json import KeyTextTransform, KeyTransform, compile_json_path
from django.db.models.functions import Abs, Cast, Coalesce, NullIf, Round
from django.db.models.lookups import Exact, Regex
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.formdesigner.document import DATE_PATTERN, DATETIME_PATTERN
from apps.orders.models import MONEY, Channel, Order, OrderLine, Payment, Shipment, ShipmentLine

ZERO = Decimal("0.00")
_MONEY_FIELD = DecimalField(**MONEY)


class FieldType(enum.Enum):
    STRING = "string"
    ENUM = "enum"
    DECIMAL = "decimal"
    INTEGER = "integer"
    DATETIME = "datetime"
    # A calendar date; it begins at midnight in TIME_ZONE (which is what "ago" counts from).
    DATE = "date"
    BOOLEAN = "boolean"
    # A set of options (a multiple choice): tested for holding options, never compared.
    SET = "set"
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
    # The words for each of ``choices`` (a lazy text, or a custom field's text in both languages).
    choice_labels: Mapping[str, Any] = field(default_factory=dict)
    # For an AGE field whose anchor is the latest time of a set of rows: (rows, their time
    # column, the outer row's reference column). Comparisons then compile to EXISTS over the
    # rows, which the database runs as one semi-join instead of a lookup per order.
    latest_of: tuple[Callable[[Env], Any], str, str] | None = None
    # What the rule builder says of the field: one line on what it holds, where its field picker
    # lists it (``GROUPS``; empty: the scope's own object) and the unit its values are in (``UNITS``).
    description: Any = ""
    group: str = ""
    unit: str = ""
    # For SET fields: a condition (never NULL) that the set holds one of the given options, or
    # with ``None`` any option at all; the ORM reading is the set itself, for the details.
    includes: Callable[[Env, tuple[str, ...] | None], Any] | None = None


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
        _plain(
            "status",
            E,
            _("status"),
            choices=ORDER_STATUSES,
            choice_labels=dict(Order.Status.choices),
            description=_("Where the order is now: pending payment, paid, reviewed, shipped, delivered…"),
        ),
        _plain(
            "channel",
            E,
            _("channel"),
            choices=tuple(Channel.values),
            choice_labels=dict(Channel.choices),
            description=_("The shop platform or sales channel the order came from."),
        ),
        _plain("external_id", S, _("external ID"), description=_("The order number on the channel it came from.")),
        _plain("currency", S, _("currency"), description=_("The currency of the order's amounts, such as CNY.")),
        _plain(
            "total_amount", D, _("total amount"), unit="money", description=_("What the customer is to pay in all.")
        ),
        _plain("shipping_fee", D, _("shipping fee"), unit="money", description=_("The shipping charged on the order.")),
        _plain("discount", D, _("discount"), unit="money", description=_("The discount taken off the order.")),
        _plain("placed_at", T, _("placed at"), description=_("When the customer placed the order.")),
        _plain(
            "paid_at", T, _("paid at"), nullable=True, description=_("When the order was paid; empty while unpaid.")
        ),
        _plain(
            "promised_ship_by",
            T,
            _("promised ship-by"),
            nullable=True,
            description=_("The time the shop promised to ship by; empty when none was promised."),
        ),
        _plain(
            "status_changed_at", T, _("status changed at"), description=_("When the order last changed its status.")
        ),
        _plain("customer.name", S, _("customer name"), group="customer", description=_("The customer's name.")),
        _plain(
            "customer.phone",
            S,
            _("customer phone"),
            group="customer",
            description=_("The phone number on the customer's record."),
        ),
        _plain(
            "customer.email",
            S,
            _("customer e-mail"),
            group="customer",
            verdicts={"valid_email": "customer_email_is_valid"},
            description=_("The e-mail address on the customer's record."),
        ),
        _plain(
            "customer_phone",
            S,
            _("customer phone at ordering"),
            group="customer",
            verdicts={"valid_phone": "customer_phone_is_valid"},
            description=_("The phone number given with this order."),
        ),
        _plain(
            "address_is_valid",
            B,
            _("address parts belong together (divisions of China)"),
            group="address",
            description=_("Whether province, city and district exist and lie within each other."),
        ),
        _plain(
            "line_signature",
            S,
            _("basket signature (SKUs and quantities)"),
            description=_("A fingerprint of the SKUs and quantities ordered: equal baskets have equal signatures."),
        ),
        _plain(
            "address.recipient",
            S,
            _("recipient"),
            "ship_recipient",
            group="address",
            description=_("Who the parcel is addressed to."),
        ),
        _plain(
            "address.phone",
            S,
            _("recipient phone"),
            "ship_phone",
            group="address",
            description=_("The recipient's phone number on the shipping address."),
        ),
        _plain(
            "address.province",
            S,
            _("province"),
            "ship_province",
            group="address",
            description=_("The province of the shipping address."),
        ),
        _plain(
            "address.city",
            S,
            _("city"),
            "ship_city",
            group="address",
            description=_("The city of the shipping address."),
        ),
        _plain(
            "address.district",
            S,
            _("district"),
            "ship_district",
            group="address",
            description=_("The district of the shipping address."),
        ),
        _plain(
            "address.detail",
            S,
            _("address detail"),
            "ship_detail",
            group="address",
            description=_("Street, building and room of the shipping address."),
        ),
        _plain(
            "address.postcode",
            S,
            _("postcode"),
            "ship_postcode",
            group="address",
            description=_("The postcode of the shipping address."),
        ),
        FieldDef(
            "paid_total",
            D,
            _("paid total (succeeded payments)"),
            _paid_total_orm,
            lambda ctx, row: sum((p.amount for p in ctx.payments if p.status == Payment.Status.SUCCEEDED), ZERO),
            group="computed",
            unit="money",
            description=_("The amounts of the order's succeeded payments added up."),
        ),
        FieldDef(
            "lines_total",
            D,
            _("lines total (Σ quantity × unit price)"),
            _lines_total_orm,
            _lines_total_py,
            group="computed",
            unit="money",
            description=_("Quantity times unit price, added up over the order's lines."),
        ),
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
            group="computed",
            unit="money",
            description=_("Above zero when the total asks for more than the lines, below zero when for less."),
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
            group="computed",
            unit="money",
            description=_("How far the total is from lines total + shipping − discount, either way."),
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
            group="computed",
            description=_("How long before this order an order with the same phone, basket and total was placed."),
        ),
        FieldDef(
            "latest_payment_status",
            E,
            _("status of the latest payment attempt"),
            _latest_payment_orm,
            _latest_payment_py,
            nullable=True,
            choices=PAYMENT_STATUSES,
            choice_labels=dict(Payment.Status.choices),
            group="computed",
            description=_("How the order's latest payment attempt ended; empty without payments."),
        ),
        FieldDef(
            "payment_count",
            N,
            _("payment attempts"),
            _count_orm(Payment, "order"),
            lambda c, r: len(c.payments),
            group="computed",
            description=_("How many payment attempts the order has, whatever their outcome."),
        ),
        FieldDef(
            "shipment_count",
            N,
            _("shipments"),
            _count_orm(Shipment, "order"),
            lambda c, r: len(c.shipments),
            group="computed",
            description=_("How many shipments the order has."),
        ),
        FieldDef(
            "last_tracking_event_at",
            T,
            _("last tracking event (or shipping) time"),
            _last_tracking_orm,
            _last_tracking_py,
            nullable=True,
            group="computed",
            description=_("The latest tracking event of the order's parcels, or their shipping time without events."),
        ),
        FieldDef(
            "hours_since_status_change",
            A,
            _("time since the status changed"),
            _col("status_changed_at"),
            _attr("status_changed_at"),
            group="computed",
            description=_("How long the order has been in its current status."),
        ),
        FieldDef(
            "last_tracking_event_age",
            A,
            _("time since the last tracking event"),
            _last_tracking_orm,
            _last_tracking_py,
            nullable=True,
            group="computed",
            description=_("How long ago the parcels last moved (or were shipped); empty before shipping."),
        ),
        FieldDef(
            "shipped_quantities_match",
            B,
            _("shipped quantities equal ordered ones per SKU"),
            _shipped_quantities_match_orm,
            _shipped_quantities_match_py,
            group="computed",
            description=_("Whether the shipments hold each SKU exactly as many times as ordered."),
        ),
    ]
}

LINE_FIELDS: dict[str, FieldDef] = {
    f.name: f
    for f in [
        _plain("sku", S, _("SKU"), description=_("The stock-keeping unit ordered on the line.")),
        _plain("name", S, _("item name"), description=_("The item's name as the channel sent it.")),
        _plain("quantity", N, _("quantity"), unit="pieces", description=_("How many of the item are ordered.")),
        _plain("unit_price", D, _("unit price"), unit="money", description=_("The price of one item on this order.")),
        FieldDef(
            "line_total",
            D,
            _("line total"),
            lambda env: _cents(ExpressionWrapper(F("quantity") * F("unit_price"), output_field=_MONEY_FIELD)),
            lambda ctx, line: line.quantity * line.unit_price,
            group="computed",
            unit="money",
            description=_("Quantity times unit price of the line."),
        ),
        FieldDef(
            "list_price",
            D,
            _("list price"),
            _list_price_orm,
            _list_price_py,
            nullable=True,
            group="computed",
            unit="money",
            description=_("The product's list price; empty when the SKU has no product record."),
        ),
        FieldDef(
            "price_ratio",
            D,
            _("unit price ÷ list price"),
            _price_ratio_orm,
            _price_ratio_py,
            nullable=True,
            group="computed",
            unit="ratio",
            description=_("1 is the list price, 0.5 half of it; empty without a list price."),
        ),
        FieldDef(
            "available_stock",
            N,
            _("available stock (on hand − reserved)"),
            _stock_orm,
            _stock_py,
            nullable=True,
            group="computed",
            unit="pieces",
            description=_("What the warehouse can still give of the SKU; empty without a stock record."),
        ),
        FieldDef(
            "has_stock_record",
            B,
            _("SKU has a stock record"),
            lambda env: ExpressionWrapper(Q(stock__id__isnull=False), output_field=BooleanField()),
            lambda ctx, line: line.sku in ctx.stock,
            group="computed",
            description=_("Whether the warehouse keeps stock levels of the SKU."),
        ),
        FieldDef(
            "has_product",
            B,
            _("SKU has a product record"),
            lambda env: ExpressionWrapper(Q(product__id__isnull=False), output_field=BooleanField()),
            lambda ctx, line: line.sku in ctx.products,
            group="computed",
            description=_("Whether the SKU is in the product catalogue."),
        ),
    ]
}

SHIPMENT_FIELDS: dict[str, FieldDef] = {
    f.name: f
    for f in [
        _plain("carrier", S, _("carrier"), description=_("The carrier's code, such as SF or ZTO.")),
        _plain(
            "tracking_number",
            S,
            _("tracking number"),
            verdicts={"valid_tracking": "tracking_is_valid"},
            description=_("The parcel's tracking number with its carrier."),
        ),
        _plain("shipped_at", T, _("shipped at"), description=_("When the parcel left the warehouse.")),
    ]
}

SHIPMENT_LINE_FIELDS: dict[str, FieldDef] = {
    f.name: f
    for f in [
        _plain("sku", S, _("SKU"), description=_("The stock-keeping unit in the parcel.")),
        _plain("quantity", N, _("quantity"), unit="pieces", description=_("How many of the SKU are in the parcel.")),
        FieldDef(
            "on_order",
            B,
            _("SKU is on the order"),
            _on_order_orm,
            _on_order_py,
            group="computed",
            description=_("Whether the order has a line with this SKU."),
        ),
    ]
}

PAYMENT_FIELDS: dict[str, FieldDef] = {
    f.name: f
    for f in [
        _plain(
            "transaction_id", S, _("transaction ID"), description=_("The payment gateway's number for the payment.")
        ),
        _plain("amount", D, _("amount"), unit="money", description=_("The amount of the payment.")),
        _plain(
            "status",
            E,
            _("status"),
            choices=PAYMENT_STATUSES,
            choice_labels=dict(Payment.Status.choices),
            description=_("Whether the payment is pending, succeeded, failed or refunded."),
        ),
        _plain(
            "paid_at", T, _("paid at"), nullable=True, description=_("When the payment went through; empty until then.")
        ),
        _plain("method", S, _("method"), description=_("How the customer paid, such as alipay or wechat.")),
    ]
}

# --- The order's custom fields (SPEC §10.1: the published order form's fields, in ``data``) ----

CUSTOM_PREFIX = "data."
# The form field types the language compares, as its own types (apps/formdesigner/document.py
# says how each is stored: dates "2026-11-24", times RFC 3339 with an offset, multiple choices a
# list of option values).
_CUSTOM_TYPES = {
    "text": S,
    "textarea": S,
    "email": S,
    "phone": S,
    "url": S,
    "regex": S,
    "choice": E,
    "multichoice": FieldType.SET,
    "integer": N,
    "decimal": D,
    "money": D,
    "boolean": B,
    "date": FieldType.DATE,
    "datetime": T,
}
_DATE_SHAPE = re.compile(DATE_PATTERN)
_DATETIME_SHAPE = re.compile(DATETIME_PATTERN)


def day_limits(moment: datetime) -> tuple[date, date]:
    """(the last date that began before ``moment``, the date ``moment`` falls on), a date beginning
    at midnight in TIME_ZONE. A date is longer ago than a duration when it began more than that
    long before now (D ≤ the first of ``day_limits(now − duration)``), and less long ago when it
    began less long before (D > the second): "longer ago than 1d" is "before today"."""
    zone = timezone.get_default_timezone()
    day = timezone.localtime(moment, zone).date()
    began = timezone.make_aware(datetime.combine(day, time()), zone)
    return (day if began < moment else day - timedelta(days=1)), day


class _DataText(KeyTextTransform):
    """``data ->> key``: the value under ``key`` as text; NULL when the key is missing or holds JSON
    null. Django reads JSON null on SQLite as the text 'null' (PostgreSQL's ->> gives NULL), so
    there the value is read as JSON_EXTRACT reads it, booleans as 'true' / 'false' as on PostgreSQL."""

    def as_sqlite(self, compiler, connection):
        data, params, keys = self.preprocess_lhs(compiler, connection)
        path = compile_json_path(keys)
        sql = (
            f"(CASE WHEN JSON_TYPE({data}, %s) IN ('false', 'true') THEN JSON_TYPE({data}, %s) "
            f"ELSE JSON_EXTRACT({data}, %s) END)"
        )
        return sql, (*params, path, *params, path, *params, path)


class _UtcTime(Func):
    """An RFC 3339 time (text with a UTC offset or Z) as a time.

    On SQLite, as the text Django stores aware times in there ('YYYY-MM-DD HH:MM:SS' in UTC, with
    '.ffffff' unless the microseconds are zero), so that it compares with time columns and
    parameters as their text does. The fraction is carried over as written: SQLite's own time
    functions keep milliseconds only, and round 59.9999 s up to the next minute."""

    output_field = DateTimeField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="(%(expressions)s)::timestamptz", **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        text, params = compiler.compile(self.source_expressions[0])
        zulu = "SUBSTR(@, -1) = 'Z'"
        zone = f"(CASE WHEN {zulu} THEN 'Z' ELSE SUBSTR(@, -6) END)"
        # 'YYYY-MM-DDTHH:MM:SS' (19), '.' and the digits, then the zone (Z, or ±HH:MM).
        digits = f"SUBSTR(@, 21, LENGTH(@) - (CASE WHEN {zulu} THEN 21 ELSE 26 END))"
        fraction = f"(CASE WHEN SUBSTR(@, 20, 1) = '.' THEN SUBSTR({digits} || '000000', 1, 6) ELSE '000000' END)"
        seconds = f"DATETIME(SUBSTR(@, 1, 19) || {zone})"
        template = f"({seconds} || (CASE {fraction} WHEN '000000' THEN '' ELSE '.' || {fraction} END))"
        return template.replace("@", f"({text})"), tuple(params) * template.count("@")

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError("Custom time fields are read on PostgreSQL and SQLite only.")


class _Includes(Func):
    """Whether the list under ``key`` of the order's ``data`` holds one of ``options`` (``None``: any
    item at all). Never NULL: a missing key, JSON null or a value that is no list holds nothing."""

    output_field = BooleanField()

    def __init__(self, key: str, options: tuple[str, ...] | None):
        super().__init__(F("data"))
        self.key, self.options = key, options

    def as_sqlite(self, compiler, connection, **extra_context):
        data, params = compiler.compile(self.source_expressions[0])
        path = compile_json_path([self.key])
        sql = f"EXISTS (SELECT 1 FROM JSON_EACH({data}, %s) AS og_item WHERE JSON_TYPE({data}, %s) = 'array'"
        args = [*params, path, *params, path]
        if self.options is not None:
            sql += f" AND og_item.type = 'text' AND og_item.value IN ({', '.join(['%s'] * len(self.options))})"
            args += self.options
        return sql + ")", tuple(args)

    def as_postgresql(self, compiler, connection, **extra_context):
        data, params = compiler.compile(self.source_expressions[0])
        value = f"({data} -> %s)"
        if self.options is None:
            test, args = f"{value} <> '[]'::jsonb", []
        else:
            # ?| : some string of the array is one of the options.
            test, args = f"{value} ?| ARRAY[{', '.join(['%s'] * len(self.options))}]::text[]", list(self.options)
        sql = f"COALESCE(JSONB_TYPEOF({value}) = 'array' AND {test}, FALSE)"
        return sql, (*params, self.key, *params, self.key, *args)

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError("Custom multiple-choice fields are read on PostgreSQL and SQLite only.")


def _custom_orm(key: str, kind: FieldType, places: int) -> Callable[[Env], Any]:
    # The published form's type is what the stored values have: publishing converts them (or is
    # refused), and every order write is checked against it.
    cast: Any = {
        N: IntegerField(),
        D: DecimalField(max_digits=MONEY["max_digits"] + 6, decimal_places=places),
    }.get(kind)

    def build(env: Env):
        # KeyTextTransform, not a "data__<key>" lookup: a key may hold "__".
        text = _DataText(key, "data")
        if kind is B:
            # Both databases give JSON true / false as the text 'true' / 'false', which SQLite's
            # CAST would read as 0: compared as text instead.
            return Case(
                When(Exact(text, Value("true")), then=Value(True)),
                When(Exact(_DataText(key, "data"), Value("false")), then=Value(False)),
                default=Value(None),
                output_field=BooleanField(),
            )
        if kind is FieldType.SET:
            # The list itself, for the details of a match; conditions test it through ``includes``.
            return KeyTransform(key, "data")
        if kind in (FieldType.DATE, T):
            # Only text of the form's shape is read (as the Python accessor reads it): a cast of
            # anything else would fail the whole query on PostgreSQL.
            output = DateField() if kind is FieldType.DATE else DateTimeField()
            pattern = DATE_PATTERN if kind is FieldType.DATE else DATETIME_PATTERN
            value = Cast(text, output_field=output) if kind is FieldType.DATE else _UtcTime(text)
            return Case(When(Regex(text, Value(pattern)), then=value), default=Value(None), output_field=output)
        return text if cast is None else Cast(text, output_field=cast)

    return build


def _custom_py(key: str, kind: FieldType) -> Callable[[Any, Any], Any]:
    def read(ctx, row):
        value = (ctx.order.data or {}).get(key)
        if value is None:
            return None
        if kind is D:
            return Decimal(str(value))
        if kind is N:
            return value if isinstance(value, int) and not isinstance(value, bool) else None
        if kind is B:
            return value if isinstance(value, bool) else None
        if kind is FieldType.SET:
            return tuple(value) if isinstance(value, list) and value else None
        if kind is FieldType.DATE:
            return _parsed(date.fromisoformat, _DATE_SHAPE, value)
        if kind is T:
            return _parsed(datetime.fromisoformat, _DATETIME_SHAPE, value)
        return value if isinstance(value, str) else None

    return read


def _parsed(parse: Callable[[str], Any], shape: re.Pattern, value: Any) -> Any:
    if not isinstance(value, str) or not shape.search(value):
        return None
    try:
        return parse(value)
    except ValueError:
        return None


def _custom_includes(key: str) -> Callable[[Env, tuple[str, ...] | None], Any]:
    return lambda env, options: _Includes(key, options)


def _custom_field(spec: Any) -> FieldDef:
    kind = _CUSTOM_TYPES[str(spec.type)]
    has_choices = kind in (E, FieldType.SET)
    return FieldDef(
        CUSTOM_PREFIX + spec.key,
        kind,
        spec.label,
        _custom_orm(spec.key, kind, spec.places if kind is D else 0),
        _custom_py(spec.key, kind),
        nullable=True,
        choices=spec.choice_values if has_choices else (),
        choice_labels={choice.value: choice.label for choice in spec.choices} if has_choices else {},
        includes=_custom_includes(spec.key) if kind is FieldType.SET else None,
        group="custom",
        unit="money" if str(spec.type) == "money" else "",
        description=spec.help if (spec.help.zh or spec.help.en) else "",
    )


def custom_fields() -> dict[str, FieldDef]:
    """The order's custom fields that the rule language compares: ``data.<key>`` for each field
    of the published order form of a type it knows (one query; none while nothing is published)."""
    from apps.formdesigner import selectors as form_selectors

    form = form_selectors.order_form()
    if form is None:
        return {}
    return {
        CUSTOM_PREFIX + spec.key: _custom_field(spec) for spec in form.spec.fields if str(spec.type) in _CUSTOM_TYPES
    }


class OrderRegistry(Mapping):
    """The order scope's fields: the declared ones, and the custom ``data.<key>`` fields of the
    published order form, found by name. Iterating yields the declared fields only: the custom
    ones change with the form (``custom_fields`` lists them)."""

    def __init__(self, declared: dict[str, FieldDef]):
        self._declared = declared

    def __getitem__(self, name: str) -> FieldDef:
        if name in self._declared:
            return self._declared[name]
        if isinstance(name, str) and name.startswith(CUSTOM_PREFIX):
            found = custom_fields().get(name)
            if found is not None:
                return found
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self[name]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._declared)

    def __len__(self) -> int:
        return len(self._declared)


SCOPES: dict[str, Mapping[str, FieldDef]] = {
    "order": OrderRegistry(ORDER_FIELDS),
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


def fields_of(scope: str) -> Mapping[str, FieldDef]:
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
