"""Writes to the order domain. Every API, admin and import write goes through here.

Inputs are the validated dicts the API serializers produce (see ``api.py``); the services
check what needs more than one row and raise ``DomainError`` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.common.errors import DomainError, ErrorCode
from apps.formdesigner.selectors import order_form
from apps.orders import selectors, verdicts
from apps.orders.errors import OrderErrorCode
from apps.orders.models import (
    MONEY,
    Carrier,
    Customer,
    Order,
    OrderLine,
    Payment,
    Product,
    PurchaseRequest,
    Shipment,
    ShipmentLine,
    StockLevel,
    TrackingEvent,
)
from apps.rules import services as detection

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
# The largest amount a money column stores (9999999999.99); the stored sums (lines_total,
# paid_total) must fit it too, so an input that would overflow them is refused before writing.
MONEY_MAX = Decimal(10) ** (MONEY["max_digits"] - MONEY["decimal_places"]) - Decimal(1).scaleb(-MONEY["decimal_places"])
# A concurrent writer can insert the same (channel, external_id) between the lookup and the
# insert; each retry re-reads what committed meanwhile. Three rounds settle any real race.
_INGEST_ATTEMPTS = 3
# Rows per round trip when verdicts are re-computed over many stored rows.
_REFRESH_CHUNK = 2000
ORDER_VERDICT_FIELDS = (
    "customer_phone_is_valid",
    "customer_email_is_valid",
    "address_is_valid",
    "line_signature",
    "shipped_signature",
    "paid_total",
    "lines_total",
)


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


def _customers_upsert(items: list[dict[str, Any]]) -> tuple[list[Customer], set[int]]:
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
    new_email: set[int] = set()
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
                    if field == "email":
                        new_email.add(customer.pk)
        out.append(customer)

    if new:
        Customer.objects.bulk_create(new, batch_size=500)
    if changed:
        Customer.objects.bulk_update(list(changed.values()), [*CUSTOMER_FIELDS, "updated_at"])
    if new_email:
        _customer_email_verdicts_spread({pk: changed[pk].email for pk in new_email})
    return out, set(changed)


def _customer_email_verdicts_spread(emails: dict[int, str]) -> None:
    """Give every stored order of these customers the verdict on the customer's new e-mail.

    At most two UPDATEs per chunk of customers (one per verdict), touching only orders whose
    verdict changes.
    """
    by_verdict: dict[bool, list[int]] = {True: [], False: []}
    for customer_id, email in emails.items():
        by_verdict[verdicts.email_is_valid(email)].append(customer_id)
    for verdict, customer_ids in by_verdict.items():
        for chunk in _id_chunks(customer_ids):
            Order.objects.filter(customer_id__in=chunk, customer_email_is_valid=not verdict).update(
                customer_email_is_valid=verdict
            )


def _address_verdict(order: Order) -> bool:
    return verdicts.address_is_valid(
        province=order.ship_province, city=order.ship_city, district=order.ship_district, detail=order.ship_detail
    )


def _lines_signature(lines: list[dict[str, Any]]) -> str:
    return verdicts.line_signature([(line["sku"], line["quantity"]) for line in lines])


def _lines_total(lines: list[dict[str, Any]]) -> Decimal:
    return sum((line["quantity"] * line["unit_price"] for line in lines), Decimal("0.00"))


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
    order.customer_phone_is_valid = verdicts.phone_is_valid(customer.phone)
    order.customer_email_is_valid = verdicts.email_is_valid(customer.email)
    order.address_is_valid = _address_verdict(order)
    order.line_signature = _lines_signature(item["lines"])
    order.lines_total = _lines_total(item["lines"])
    order.shipped_signature = verdicts.NOTHING_SHIPPED
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


def _orders_insert(items: list[dict[str, Any]]) -> tuple[list[Order], set[int]]:
    """Insert the orders and their lines; returns them and the ids of stored customers whose
    details the items changed."""
    now = timezone.now()
    customers, changed_customers = _customers_upsert(items)
    orders = [_order_from_input(item, customer, now) for item, customer in zip(items, customers, strict=True)]
    Order.objects.bulk_create(orders, batch_size=500)
    lines = [
        line for order, item in zip(orders, items, strict=True) for line in _lines_from_input(order, item["lines"])
    ]
    OrderLine.objects.bulk_create(lines, batch_size=1000)
    return orders, changed_customers


@transaction.atomic
def order_bulk_ingest(*, items: list[dict[str, Any]], detect: bool = True) -> list[IngestResult]:
    """Store new orders, set-based; an existing (channel, external_id) returns its id unchanged.

    Idempotent: re-sending an order (also concurrently, also twice in one batch) never creates
    a second one. The new orders are evaluated by the active rules before this returns (a
    re-sent order is unchanged, so it is not); ``detect=False`` leaves that to a caller that
    writes more of the orders' data in the same transaction first (``order_detection_run``).
    Returns one result per item, in input order.
    """
    created: list[Order] = []
    changed_customers: set[int] = set()
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
                orders, changed = _orders_insert([items[i] for i in to_create])
        except IntegrityError:
            if attempt == _INGEST_ATTEMPTS - 1:
                raise
            continue
        created += orders
        changed_customers |= changed
        for i, order in zip(to_create, orders, strict=True):
            results[i] = IngestResult(order_id=order.pk, created=True)
        # Repeats of a key inside this batch point at the order its first copy created.
        for i in pending:
            if results[i] is None:
                first = first_of_key[(items[i]["channel"], items[i]["external_id"])]
                results[i] = IngestResult(order_id=results[first].order_id, created=False)
    if created and detect:
        # Other orders of customers whose details changed read those details in their rules.
        others = selectors.order_ids_of_customers(customer_ids=changed_customers) if changed_customers else []
        detection.detect_arrivals(orders=created, also=others)
    return [result for result in results if result is not None]


def order_ingest(*, data: dict[str, Any]) -> IngestResult:
    """Store one order; see ``order_bulk_ingest`` for the idempotency guarantee."""
    return order_bulk_ingest(items=[data])[0]


def _data_keeping_archived(stored: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    form = order_form()
    if form is None:
        return new
    fields = set(form.spec.keys)
    return {**{key: value for key, value in stored.items() if key not in fields}, **new}


@transaction.atomic
def order_data_set(*, key: str, values: dict[int, Any]) -> None:
    """Set ``data[key]`` of the orders given (order id → value): stored values carried over to a
    field's new type when the order form is published. A conversion keeps each value's meaning
    ("12" becomes 12), so what the rules decide of these orders stays as it was and detection
    does not run again; the rules compile by the new type from the next event or scan on."""
    ids = sorted(values)
    for start in range(0, len(ids), _REFRESH_CHUNK):
        chunk = list(
            Order.objects.select_for_update().filter(pk__in=ids[start : start + _REFRESH_CHUNK]).only("pk", "data")
        )
        for order in chunk:
            order.data = {**order.data, key: values[order.pk]}
        Order.objects.bulk_update(chunk, ["data"])


@transaction.atomic
def order_update(*, order_id: int, data: dict[str, Any]) -> Order:
    """Change an order's status, dates, amounts, address, customer details, lines or data.

    A status change stamps ``status_changed_at``; ``lines``, when given, replace all lines.
    ``data``, when given, replaces the values of the order form's fields; values stored under
    other keys (fields since removed from the form: archived) are kept.
    Channel and external_id identify the order and cannot change. The verdict columns follow
    the change; a new customer e-mail re-judges all of the customer's orders. The order (and,
    after a new e-mail, the customer's other orders) is re-evaluated by the rules.
    """
    touched = {order_id}
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
    if "data" in data:
        data = {**data, "data": _data_keeping_archived(order.data or {}, data["data"])}
    for field in ORDER_SCALAR_FIELDS:
        if field in data:
            if field == "status" and data[field] != order.status:
                order.status_changed_at = timezone.now()
            setattr(order, field, data[field])
    for key, value in (data.get("shipping_address") or {}).items():
        setattr(order, ADDRESS_FIELDS[key], value)
    if "shipping_address" in data:
        order.address_is_valid = _address_verdict(order)
    if "customer" in data:
        customer = order.customer
        old_email = customer.email
        for field in CUSTOMER_FIELDS:
            if field in data["customer"]:
                setattr(customer, field, data["customer"][field])
        customer.save()
        order.customer_phone = customer.phone
        order.customer_phone_is_valid = verdicts.phone_is_valid(customer.phone)
        order.customer_email_is_valid = verdicts.email_is_valid(customer.email)
        if customer.email != old_email:
            _customer_email_verdicts_spread({customer.pk: customer.email})
        # The customer's name and e-mail are read by the rules on all of the customer's orders.
        touched |= set(selectors.order_ids_of_customers(customer_ids=[customer.pk]))
    if "lines" in data:
        order.line_signature = _lines_signature(data["lines"])
        order.lines_total = _lines_total(data["lines"])
    order.save()
    if "lines" in data:
        order.lines.all().delete()
        OrderLine.objects.bulk_create(_lines_from_input(order, data["lines"]))
        shipment_lines_on_order_refresh(order_ids=[order.pk])
    _detect(touched)
    return order


def _chunks(queryset: QuerySet, ids: Iterable[int] | None) -> Iterator[list]:
    """The rows of ``queryset`` (those with ``ids``, or all) in lists of ``_REFRESH_CHUNK``, by id."""
    if ids is not None:
        for chunk in _id_chunks(ids):
            yield list(queryset.filter(pk__in=chunk).order_by("pk"))
        return
    last = 0
    while chunk := list(queryset.filter(pk__gt=last).order_by("pk")[:_REFRESH_CHUNK]):
        yield chunk
        last = chunk[-1].pk


def _shipped_signatures(order_ids: list[int]) -> dict[int, str]:
    """order id → the signature of its shipped (SKU, quantity) pairs, for orders with shipments
    (the others have ``verdicts.NOTHING_SHIPPED``)."""
    shipped: dict[int, list[tuple[str, int]]] = {}
    rows = ShipmentLine.objects.filter(shipment__order_id__in=order_ids).values_list(
        "shipment__order_id", "sku", "quantity"
    )
    for order_id, sku, quantity in rows.order_by():
        shipped.setdefault(order_id, []).append((sku, quantity))
    return {order_id: verdicts.line_signature(pairs) for order_id, pairs in shipped.items()}


def _paid_totals(order_ids: list[int]) -> dict[int, Decimal]:
    """order id → Σ of its succeeded payments, for orders that have one."""
    rows = (
        Payment.objects.filter(order_id__in=order_ids, status=Payment.Status.SUCCEEDED)
        .order_by()
        .values("order_id")
        .annotate(total=Sum("amount"))
        .values_list("order_id", "total")
    )
    return dict(rows)


def _id_chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    """The distinct ids, sorted, in lists of ``_REFRESH_CHUNK``."""
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), _REFRESH_CHUNK):
        yield wanted[start : start + _REFRESH_CHUNK]


def _order_column_store(
    order_ids: Iterable[int], column: str, compute: Callable[[list[int]], dict[int, Any]], default: Any
) -> None:
    """Store ``compute(chunk)`` (order id → value, ``default`` for the missing) in ``column``."""
    for chunk in _id_chunks(order_ids):
        values = compute(chunk)
        orders = [Order(pk=pk, **{column: values.get(pk, default)}) for pk in chunk]
        Order.objects.bulk_update(orders, [column], batch_size=500)


def order_paid_totals_refresh(*, order_ids: Iterable[int]) -> None:
    """Store the paid total of these orders (after their payments were written)."""
    _order_column_store(order_ids, "paid_total", _paid_totals, Decimal("0.00"))


def shipment_lines_on_order_refresh(*, order_ids: Iterable[int]) -> None:
    """Judge whether each shipped SKU of these orders is on its order (``is_on_order``).

    Run after shipment lines are written and after an order's lines change; writes only the
    verdicts that flip.
    """
    for chunk in _id_chunks(order_ids):
        ordered: dict[int, set[str]] = {}
        for order_id, sku in OrderLine.objects.filter(order_id__in=chunk).order_by().values_list("order_id", "sku"):
            ordered.setdefault(order_id, set()).add(sku)
        flips: dict[bool, list[int]] = {True: [], False: []}
        rows = ShipmentLine.objects.filter(shipment__order_id__in=chunk).order_by()
        for pk, order_id, sku, stored in rows.values_list("pk", "shipment__order_id", "sku", "is_on_order"):
            verdict = sku in ordered.get(order_id, ())
            if verdict != stored:
                flips[verdict].append(pk)
        for verdict, pks in flips.items():
            if pks:
                ShipmentLine.objects.filter(pk__in=pks).update(is_on_order=verdict)


def order_shipped_signatures_refresh(*, order_ids: Iterable[int]) -> None:
    """Store the shipped signature of these orders (after their shipments were written)."""
    _order_column_store(order_ids, "shipped_signature", _shipped_signatures, verdicts.NOTHING_SHIPPED)


def order_verdicts_refresh(*, order_ids: Iterable[int] | None = None) -> int:
    """Re-compute the verdict columns of the given orders (all orders without ``order_ids``).

    For rows written around the services (a raw ``bulk_create``, a factory) and after the
    divisions table is updated. Works in chunks, each in its own transaction, so a large table
    is never loaded whole; returns how many orders it looked at.
    """
    count = 0
    for chunk in _chunks(Order.objects.select_related("customer"), order_ids):
        lines: dict[int, list[dict[str, Any]]] = {order.pk: [] for order in chunk}
        for order_id, sku, quantity, unit_price in OrderLine.objects.filter(order__in=chunk).values_list(
            "order_id", "sku", "quantity", "unit_price"
        ):
            lines[order_id].append({"sku": sku, "quantity": quantity, "unit_price": unit_price})
        shipped = _shipped_signatures([order.pk for order in chunk])
        paid = _paid_totals([order.pk for order in chunk])
        for order in chunk:
            order.customer_phone_is_valid = verdicts.phone_is_valid(order.customer_phone)
            order.customer_email_is_valid = verdicts.email_is_valid(order.customer.email)
            order.address_is_valid = _address_verdict(order)
            order.line_signature = _lines_signature(lines[order.pk])
            order.shipped_signature = shipped.get(order.pk, verdicts.NOTHING_SHIPPED)
            order.lines_total = _lines_total(lines[order.pk])
            order.paid_total = paid.get(order.pk, Decimal("0.00"))
        with transaction.atomic():
            Order.objects.bulk_update(chunk, ORDER_VERDICT_FIELDS, batch_size=500)
            shipment_lines_on_order_refresh(order_ids=[order.pk for order in chunk])
        count += len(chunk)
    return count


# --- Detection ----------------------------------------------------------------------------------
#
# Every write below re-evaluates the orders it touched inside its own transaction, so the
# response of the write already shows the exceptions (SPEC §5), and an order write and the
# exceptions it raises commit or fail whole (SPEC §7). The rules app decides what to evaluate.


def _detect(order_ids: Iterable[int]) -> None:
    ids = sorted(set(order_ids))
    if ids:
        detection.detect_orders(order_ids=ids)


def order_detection_run(*, order_ids: Iterable[int]) -> None:
    """Evaluate the active rules for these orders now (after a write made around the services)."""
    _detect(order_ids)


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
    A payment that would make the order's succeeded payments add up to more than ``MONEY_MAX``
    is refused (``amount``). The order row is locked, so concurrent payments are summed in turn.
    Returns (payment, created).
    """
    if Order.objects.select_for_update().filter(pk=order_id).values_list("pk", flat=True).first() is None:
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
                _check_paid_total_fits(order_id=order_id, transaction_id=transaction_id, amount=amount, status=status)
                for key, value in changes.items():
                    setattr(payment, key, value)
                payment.save()
                order_paid_totals_refresh(order_ids=[order_id])
                _detect([order_id])
            return payment, False
        _check_paid_total_fits(order_id=order_id, transaction_id=transaction_id, amount=amount, status=status)
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
        order_paid_totals_refresh(order_ids=[order_id])
        _detect([order_id])
        return payment, True
    raise AssertionError("unreachable")


def _check_paid_total_fits(*, order_id: int, transaction_id: str, amount: Decimal, status: str) -> None:
    """Refuse a succeeded payment whose order's paid total would not fit its column."""
    if status != Payment.Status.SUCCEEDED:
        return
    others = (
        Payment.objects.filter(order_id=order_id, status=Payment.Status.SUCCEEDED)
        .exclude(transaction_id=transaction_id)
        .aggregate(total=Sum("amount"))["total"]
    )
    total = (others or Decimal("0.00")) + amount
    if total > MONEY_MAX:
        raise DomainError(
            code=ErrorCode.INVALID,
            field="amount",
            message=_(
                "The order's succeeded payments would add up to %(total)s, more than the largest amount, %(max)s."
            )
            % {"total": total, "max": MONEY_MAX},
        )


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
    is_valid = verdicts.tracking_is_valid(tracking_number, selectors.carrier_patterns(codes=[carrier]).get(carrier))
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
                    order_id=order_id,
                    carrier=carrier,
                    tracking_number=tracking_number,
                    shipped_at=shipped_at,
                    tracking_is_valid=is_valid,
                )
                ShipmentLine.objects.bulk_create(
                    [ShipmentLine(shipment=shipment, sku=line["sku"], quantity=line["quantity"]) for line in lines]
                )
                order_shipped_signatures_refresh(order_ids=[order_id])
                shipment_lines_on_order_refresh(order_ids=[order_id])
                _detect([order_id])
        except IntegrityError:
            if attempt:
                raise
            continue
        return shipment, True
    raise AssertionError("unreachable")


@transaction.atomic
def shipment_tracking_refresh(*, carrier: str | None = None) -> list[int]:
    """Re-judge the tracking numbers of a carrier's shipments (every shipment without ``carrier``).

    Run when a carrier's patterns or activity change. Reads in chunks and writes only the
    verdicts that flip. Returns the ids of the orders whose shipments flipped, for re-detection.
    """
    shipments = Shipment.objects.all()
    if carrier is not None:
        # An empty number is invalid under any patterns, so a carrier's change cannot flip it;
        # leaving it out also lets the partial (carrier, tracking_number) index serve the scan.
        shipments = shipments.filter(carrier=carrier).exclude(tracking_number="")
    patterns = selectors.carrier_patterns(codes=None if carrier is None else [carrier])
    orders: set[int] = set()
    last = 0
    while rows := list(
        shipments.filter(pk__gt=last)
        .order_by("pk")
        .values_list("pk", "order_id", "carrier", "tracking_number", "tracking_is_valid")[:_REFRESH_CHUNK]
    ):
        last = rows[-1][0]
        flips: dict[bool, list[int]] = {True: [], False: []}
        for pk, order_id, code, number, stored in rows:
            verdict = verdicts.tracking_is_valid(number, patterns.get(code))
            if verdict != stored:
                flips[verdict].append(pk)
                orders.add(order_id)
        for verdict, pks in flips.items():
            if pks:
                Shipment.objects.filter(pk__in=pks).update(tracking_is_valid=verdict)
    return sorted(orders)


@transaction.atomic
def tracking_event_record(
    *, shipment_id: int, occurred_at: datetime, status: str, description: str = ""
) -> tuple[TrackingEvent, bool]:
    """Record a carrier event; a repeat of the same (time, status) is the same event."""
    order_id = Shipment.objects.filter(pk=shipment_id).values_list("order_id", flat=True).first()
    if order_id is None:
        raise _not_found("shipment", shipment_id)
    event, created = TrackingEvent.objects.get_or_create(
        shipment_id=shipment_id, occurred_at=occurred_at, status=status, defaults={"description": description}
    )
    if created:
        _detect([order_id])
    return event, created


# --- Catalogue and stock ------------------------------------------------------------------------


@transaction.atomic
def product_upsert(*, sku: str, name: str, list_price: Decimal, currency: str = "CNY") -> tuple[Product, bool]:
    """Create or replace a product; the orders its list price concerns are re-evaluated."""
    product, created = Product.objects.update_or_create(
        sku=sku, defaults={"name": name, "list_price": list_price, "currency": currency}
    )
    detection.detect_sku(sku=sku)
    return product, created


@transaction.atomic
def stock_level_set(*, sku: str, on_hand: int, reserved: int = 0) -> tuple[StockLevel, bool]:
    """Store the stock the inventory system reports for a SKU (no reservation logic here)."""
    stock, created = StockLevel.objects.update_or_create(sku=sku, defaults={"on_hand": on_hand, "reserved": reserved})
    detection.detect_sku(sku=sku)
    return stock, created


@transaction.atomic
def product_delete(*, sku: str) -> None:
    """Remove a product record; its lines lose their list price, so their orders are re-evaluated."""
    deleted, _rows = Product.objects.filter(sku=sku).delete()
    if not deleted:
        raise _not_found("sku", sku)
    detection.detect_sku(sku=sku)


@transaction.atomic
def stock_level_delete(*, sku: str) -> None:
    """Remove a stock record (the SKU is no longer stocked); its orders are re-evaluated."""
    deleted, _rows = StockLevel.objects.filter(sku=sku).delete()
    if not deleted:
        raise _not_found("sku", sku)
    detection.detect_sku(sku=sku)


# --- Carriers -----------------------------------------------------------------------------------


def carrier_patterns_clean(*, patterns: Any) -> list[str]:
    """Check tracking-number patterns: a list of regular expressions that compile, at least one.

    Blank entries are dropped and repeats kept once. Raises ``DomainError`` on field
    ``patterns`` naming the first pattern that does not compile.
    """
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise DomainError(
            code=OrderErrorCode.INVALID_PATTERN,
            field="patterns",
            message=_("Give the patterns as a list of regular expressions."),
        )
    cleaned = list(dict.fromkeys(p.strip() for p in patterns if p.strip()))
    if not cleaned:
        raise DomainError(
            code=OrderErrorCode.INVALID_PATTERN,
            field="patterns",
            message=_("Give at least one pattern; to stop accepting a carrier's numbers, deactivate it."),
        )
    for pattern in cleaned:
        try:
            verdicts.compile_patterns((pattern,))
        except re.error as exc:
            raise DomainError(
                code=OrderErrorCode.INVALID_PATTERN,
                field="patterns",
                message=_("%(pattern)s is not a valid regular expression: %(error)s.")
                % {"pattern": pattern, "error": exc},
            ) from exc
    return cleaned


@transaction.atomic
def carrier_upsert(
    *, code: str, name: str, patterns: list[str], name_en: str = "", is_active: bool = True
) -> tuple[Carrier, bool]:
    """Create or change a carrier, keyed on its upper-cased code.

    When the patterns or the activity change, the stored verdicts of the carrier's shipments
    are re-computed in the same transaction (``shipment_tracking_refresh``).
    Returns (carrier, created).
    """
    code = code.strip().upper()
    if not code:
        raise DomainError(code=ErrorCode.INVALID, field="code", message=_("Give the carrier's code."))
    patterns = carrier_patterns_clean(patterns=patterns)
    carrier = Carrier.objects.select_for_update().filter(code=code).first()
    created = carrier is None
    if carrier is None:
        carrier = Carrier(code=code)
    rejudge = created or carrier.patterns != patterns or carrier.is_active != is_active
    carrier.name, carrier.name_en, carrier.patterns, carrier.is_active = name, name_en, patterns, is_active
    carrier.save()
    if rejudge:
        _detect(shipment_tracking_refresh(carrier=code))
    return carrier, created


@transaction.atomic
def carrier_delete(*, code: str) -> list[int]:
    """Delete a carrier; its shipments' numbers become invalid (an unknown carrier).

    Returns the ids of the orders whose shipments flipped; they are re-evaluated.
    """
    deleted, _rows = Carrier.objects.filter(code=code).delete()
    if not deleted:
        raise _not_found("code", code)
    flipped = shipment_tracking_refresh(carrier=code)
    _detect(flipped)
    return flipped


@transaction.atomic
def purchase_requests_raise(
    *, shortfalls: dict[str, int], order_id: int | None, exception_id: int | None, note: str = ""
) -> list[PurchaseRequest]:
    """Ask purchasing for ``shortfalls`` (SKU → missing quantity), once per SKU and exception:
    a SKU that already has an open request for this exception keeps it."""
    open_skus = set(
        PurchaseRequest.objects.filter(
            exception_id=exception_id, status=PurchaseRequest.Status.REQUESTED, sku__in=list(shortfalls)
        ).values_list("sku", flat=True)
    )
    return PurchaseRequest.objects.bulk_create(
        [
            PurchaseRequest(sku=sku, quantity=quantity, order_id=order_id, exception_id=exception_id, note=note[:255])
            for sku, quantity in sorted(shortfalls.items())
            if quantity > 0 and sku not in open_skus
        ]
    )
