"""Writes to the order domain. Every API, admin and import write goes through here.

Inputs are the validated dicts the API serializers produce (see ``api.py``); the services
check what needs more than one row and raise ``DomainError`` naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.common.errors import DomainError
from apps.orders import selectors
from apps.orders.errors import OrderErrorCode
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

ADDRESS_FIELDS = {
    "recipient": "ship_recipient",
    "phone": "ship_phone",
    "province": "ship_province",
    "city": "ship_city",
    "district": "ship_district",
    "detail": "ship_detail",
    "postcode": "ship_postcode",
}
ORDER_SCALAR_FIELDS = (
    "status",
    "placed_at",
    "paid_at",
    "promised_ship_by",
    "currency",
    "total_amount",
    "shipping_fee",
    "discount",
    "data",
)
CUSTOMER_FIELDS = ("name", "phone", "email", "tags")
# A concurrent writer can insert the same (channel, external_id) between the lookup and the
# insert; each retry re-reads what committed meanwhile. Three rounds settle any real race.
_INGEST_ATTEMPTS = 3


@dataclass(frozen=True)
class IngestResult:
    order_id: int
    created: bool


def _not_found(field: str, value: Any) -> DomainError:
    return DomainError(
        code=OrderErrorCode.NOT_FOUND,
        field=field,
        message=_("No record with id %(value)s.") % {"value": value},
        status_code=400,
    )


# --- Orders -------------------------------------------------------------------------------------


def _customer_key(channel: str, customer: dict[str, Any]) -> tuple[str, str] | None:
    external_id = customer.get("external_id") or ""
    return (channel, external_id) if external_id else None


def _customers_upsert(items: list[dict[str, Any]]) -> list[Customer]:
    """Return one Customer per item, reusing known (channel, external_id) ones.

    The latest order's details win, so a buyer who changed phone keeps one record.
    """
    keys = {key for item in items if (key := _customer_key(item["channel"], item["customer"]))}
    by_key: dict[tuple[str, str], Customer] = {}
    for channel in {channel for channel, _ext in keys}:
        ids = [ext for ch, ext in keys if ch == channel]
        for customer in Customer.objects.filter(channel=channel, external_id__in=ids):
            by_key[(channel, customer.external_id)] = customer

    changed: dict[int, Customer] = {}
    new: list[Customer] = []
    out: list[Customer] = []
    for item in items:
        data = item["customer"]
        key = _customer_key(item["channel"], data)
        customer = by_key.get(key) if key else None
        if customer is None:
            customer = Customer(channel=item["channel"], external_id=data.get("external_id") or "")
            new.append(customer)
            if key:
                by_key[key] = customer
        for field in CUSTOMER_FIELDS:
            value = data.get(field, [] if field == "tags" else "")
            if getattr(customer, field) != value:
                setattr(customer, field, value)
                if customer.pk is not None:
                    customer.updated_at = timezone.now()
                    changed[customer.pk] = customer
        out.append(customer)

    if new:
        Customer.objects.bulk_create(new, batch_size=500)
    if changed:
        Customer.objects.bulk_update(list(changed.values()), [*CUSTOMER_FIELDS, "updated_at"])
    return out


def _order_from_input(item: dict[str, Any], customer: Customer, now: datetime) -> Order:
    address = item.get("shipping_address") or {}
    order = Order(
        channel=item["channel"],
        external_id=item["external_id"],
        status=item["status"],
        status_changed_at=item.get("status_changed_at") or now,
        placed_at=item["placed_at"],
        paid_at=item.get("paid_at"),
        promised_ship_by=item.get("promised_ship_by"),
        currency=item.get("currency") or "CNY",
        total_amount=item["total_amount"],
        shipping_fee=item.get("shipping_fee", Decimal("0.00")),
        discount=item.get("discount", Decimal("0.00")),
        customer=customer,
        customer_phone=customer.phone,
        data=item.get("data") or {},
        **{column: address.get(key, "") for key, column in ADDRESS_FIELDS.items()},
    )
    return order


def _lines_from_input(order: Order, lines: list[dict[str, Any]]) -> list[OrderLine]:
    return [
        OrderLine(
            order=order,
            line_no=index,
            sku=line["sku"],
            name=line.get("name", ""),
            quantity=line["quantity"],
            unit_price=line["unit_price"],
        )
        for index, line in enumerate(lines, start=1)
    ]


def _orders_insert(items: list[dict[str, Any]]) -> list[Order]:
    now = timezone.now()
    customers = _customers_upsert(items)
    orders = [_order_from_input(item, customer, now) for item, customer in zip(items, customers, strict=True)]
    Order.objects.bulk_create(orders, batch_size=500)
    lines = [
        line for order, item in zip(orders, items, strict=True) for line in _lines_from_input(order, item["lines"])
    ]
    OrderLine.objects.bulk_create(lines, batch_size=1000)
    return orders


@transaction.atomic
def order_bulk_ingest(*, items: list[dict[str, Any]]) -> list[IngestResult]:
    """Store new orders, set-based; an existing (channel, external_id) returns its id unchanged.

    Idempotent: re-sending an order (also concurrently, also twice in one batch) never creates
    a second one. Returns one result per item, in input order.
    """
    results: list[IngestResult | None] = [None] * len(items)
    for attempt in range(_INGEST_ATTEMPTS):
        pending = [i for i, result in enumerate(results) if result is None]
        if not pending:
            break
        existing = selectors.order_ids_by_keys(keys={(items[i]["channel"], items[i]["external_id"]) for i in pending})
        first_of_key: dict[tuple[str, str], int] = {}
        to_create: list[int] = []
        for i in pending:
            key = (items[i]["channel"], items[i]["external_id"])
            if key in existing:
                results[i] = IngestResult(order_id=existing[key], created=False)
            elif key not in first_of_key:
                first_of_key[key] = i
                to_create.append(i)
        try:
            with transaction.atomic():
                orders = _orders_insert([items[i] for i in to_create])
        except IntegrityError:
            if attempt == _INGEST_ATTEMPTS - 1:
                raise
            continue
        for i, order in zip(to_create, orders, strict=True):
            results[i] = IngestResult(order_id=order.pk, created=True)
        # Repeats of a key inside this batch point at the order its first copy created.
        for i in pending:
            if results[i] is None:
                first = first_of_key[(items[i]["channel"], items[i]["external_id"])]
                results[i] = IngestResult(order_id=results[first].order_id, created=False)
    return [result for result in results if result is not None]


def order_ingest(*, data: dict[str, Any]) -> IngestResult:
    """Store one order; see ``order_bulk_ingest`` for the idempotency guarantee."""
    return order_bulk_ingest(items=[data])[0]


@transaction.atomic
def order_update(*, order_id: int, data: dict[str, Any]) -> Order:
    """Change an order's status, dates, amounts, address, customer details, lines or data.

    A status change stamps ``status_changed_at``; ``lines``, when given, replace all lines.
    Channel and external_id identify the order and cannot change.
    """
    order = Order.objects.select_for_update().select_related("customer").filter(pk=order_id).first()
    if order is None:
        raise _not_found("id", order_id)
    for field in ("channel", "external_id"):
        if field in data and data[field] != getattr(order, field):
            raise DomainError(
                code=OrderErrorCode.IMMUTABLE_FIELD,
                field=field,
                message=_("%(field)s identifies the order and cannot be changed.") % {"field": field},
            )
    for field in ORDER_SCALAR_FIELDS:
        if field in data:
            if field == "status" and data[field] != order.status:
                order.status_changed_at = timezone.now()
            setattr(order, field, data[field])
    for key, value in (data.get("shipping_address") or {}).items():
        setattr(order, ADDRESS_FIELDS[key], value)
    if "customer" in data:
        customer = order.customer
        for field in CUSTOMER_FIELDS:
            if field in data["customer"]:
                setattr(customer, field, data["customer"][field])
        customer.save()
        order.customer_phone = customer.phone
    order.save()
    if "lines" in data:
        order.lines.all().delete()
        OrderLine.objects.bulk_create(_lines_from_input(order, data["lines"]))
    return order


# --- Payments -----------------------------------------------------------------------------------


@transaction.atomic
def payment_record(
    *,
    order_id: int,
    transaction_id: str,
    amount: Decimal,
    status: str,
    paid_at: datetime | None = None,
    method: str = "",
    currency: str = "CNY",
) -> tuple[Payment, bool]:
    """Record a payment attempt, idempotent on ``transaction_id``.

    A repeat with a new status (pending → succeeded, succeeded → refunded) updates it; a
    repeat naming another order or amount is refused, since a gateway never changes those.
    Returns (payment, created).
    """
    if not Order.objects.filter(pk=order_id).exists():
        raise _not_found("order", order_id)
    for attempt in range(2):
        payment = Payment.objects.select_for_update().filter(transaction_id=transaction_id).first()
        if payment is not None:
            if payment.order_id != order_id:
                raise DomainError(
                    code=OrderErrorCode.TRANSACTION_CONFLICT,
                    field="order",
                    message=_("Transaction %(tx)s is recorded for another order.") % {"tx": transaction_id},
                    status_code=409,
                )
            if payment.amount != amount or payment.currency != currency:
                raise DomainError(
                    code=OrderErrorCode.TRANSACTION_CONFLICT,
                    field="amount",
                    message=_("Transaction %(tx)s is recorded with another amount.") % {"tx": transaction_id},
                    status_code=409,
                )
            changes = {"status": status, "paid_at": paid_at or payment.paid_at, "method": method or payment.method}
            if any(getattr(payment, key) != value for key, value in changes.items()):
                for key, value in changes.items():
                    setattr(payment, key, value)
                payment.save()
            return payment, False
        try:
            with transaction.atomic():
                payment = Payment.objects.create(
                    order_id=order_id,
                    transaction_id=transaction_id,
                    amount=amount,
                    currency=currency,
                    status=status,
                    paid_at=paid_at,
                    method=method,
                )
        except IntegrityError:
            if attempt:
                raise
            continue
        return payment, True
    raise AssertionError("unreachable")


# --- Shipments ----------------------------------------------------------------------------------


@transaction.atomic
def shipment_create(
    *,
    order_id: int,
    carrier: str,
    tracking_number: str,
    shipped_at: datetime,
    lines: list[dict[str, Any]],
) -> tuple[Shipment, bool]:
    """Record a shipment of an order; idempotent on (carrier, tracking number).

    The carrier is stored upper-case; an unknown carrier or a malformed tracking number is
    stored as given (the tracking rule flags it). Returns (shipment, created).
    """
    if not Order.objects.filter(pk=order_id).exists():
        raise _not_found("order", order_id)
    carrier = carrier.strip().upper()
    tracking_number = tracking_number.strip()
    for attempt in range(2):
        existing = None
        if tracking_number:
            existing = Shipment.objects.filter(carrier=carrier, tracking_number=tracking_number).first()
        if existing is not None:
            if existing.order_id != order_id:
                raise DomainError(
                    code=OrderErrorCode.TRACKING_CONFLICT,
                    field="tracking_number",
                    message=_("Tracking number %(number)s of %(carrier)s is recorded for another order.")
                    % {"number": tracking_number, "carrier": carrier},
                    status_code=409,
                )
            return existing, False
        try:
            with transaction.atomic():
                shipment = Shipment.objects.create(
                    order_id=order_id, carrier=carrier, tracking_number=tracking_number, shipped_at=shipped_at
                )
                ShipmentLine.objects.bulk_create(
                    [ShipmentLine(shipment=shipment, sku=line["sku"], quantity=line["quantity"]) for line in lines]
                )
        except IntegrityError:
            if attempt:
                raise
            continue
        return shipment, True
    raise AssertionError("unreachable")


@transaction.atomic
def tracking_event_record(
    *, shipment_id: int, occurred_at: datetime, status: str, description: str = ""
) -> tuple[TrackingEvent, bool]:
    """Record a carrier event; a repeat of the same (time, status) is the same event."""
    if not Shipment.objects.filter(pk=shipment_id).exists():
        raise _not_found("shipment", shipment_id)
    event, created = TrackingEvent.objects.get_or_create(
        shipment_id=shipment_id, occurred_at=occurred_at, status=status, defaults={"description": description}
    )
    return event, created


# --- Catalogue and stock ------------------------------------------------------------------------


@transaction.atomic
def product_upsert(*, sku: str, name: str, list_price: Decimal, currency: str = "CNY") -> tuple[Product, bool]:
    product, created = Product.objects.update_or_create(
        sku=sku, defaults={"name": name, "list_price": list_price, "currency": currency}
    )
    return product, created


@transaction.atomic
def stock_level_set(*, sku: str, on_hand: int, reserved: int = 0) -> tuple[StockLevel, bool]:
    """Store the stock the inventory system reports for a SKU (no reservation logic here)."""
    stock, created = StockLevel.objects.update_or_create(sku=sku, defaults={"on_hand": on_hand, "reserved": reserved})
    return stock, created
