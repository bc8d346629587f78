"""Each database invariant of the order domain: refused by the database and by full_clean."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.orders.models import Order
from tests.orders.factories import (
    CustomerFactory,
    OrderFactory,
    OrderLineFactory,
    PaymentFactory,
    ProductFactory,
    ShipmentFactory,
    ShipmentLineFactory,
    StockLevelFactory,
    TrackingEventFactory,
)

pytestmark = pytest.mark.django_db


def _refused_by_database(build) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        build()


def test_an_order_key_is_unique_per_channel():
    order = OrderFactory()
    _refused_by_database(lambda: OrderFactory(channel=order.channel, external_id=order.external_id))
    duplicate = OrderFactory.build(channel=order.channel, external_id=order.external_id, customer=order.customer)
    with pytest.raises(ValidationError, match="already exists"):
        duplicate.full_clean()
    assert OrderFactory(channel="jd", external_id=order.external_id).pk != order.pk


@pytest.mark.parametrize("field", ["total_amount", "shipping_fee", "discount"])
def test_order_amounts_are_never_negative(field):
    _refused_by_database(lambda: OrderFactory(**{field: Decimal("-0.01")}))
    order = OrderFactory.build(customer=CustomerFactory(), **{field: Decimal("-0.01")})
    with pytest.raises(ValidationError):
        order.full_clean()


def test_an_order_line_needs_a_positive_quantity_and_a_non_negative_price():
    order = OrderFactory(lines=[])
    _refused_by_database(lambda: OrderLineFactory(order=order, quantity=0))
    _refused_by_database(lambda: OrderLineFactory(order=order, unit_price=Decimal("-1.00")))
    with pytest.raises(ValidationError):
        OrderLineFactory.build(order=order, line_no=1, quantity=0).full_clean()


def test_line_numbers_are_unique_within_an_order():
    line = OrderLineFactory()
    _refused_by_database(lambda: OrderLineFactory(order=line.order, line_no=line.line_no))


def test_a_customer_external_id_is_unique_per_channel_but_anonymous_customers_are_many():
    customer = CustomerFactory()
    _refused_by_database(lambda: CustomerFactory(channel=customer.channel, external_id=customer.external_id))
    CustomerFactory(external_id="")
    CustomerFactory(external_id="")


def test_a_transaction_id_is_recorded_once():
    payment = PaymentFactory()
    _refused_by_database(lambda: PaymentFactory(transaction_id=payment.transaction_id))
    _refused_by_database(lambda: PaymentFactory(amount=Decimal("-5.00")))


def test_a_tracking_number_is_unique_per_carrier_unless_empty():
    shipment = ShipmentFactory()
    _refused_by_database(lambda: ShipmentFactory(carrier="SF", tracking_number=shipment.tracking_number))
    ShipmentFactory(carrier="SF", tracking_number="")
    ShipmentFactory(carrier="SF", tracking_number="")
    ShipmentFactory(carrier="JD", tracking_number=shipment.tracking_number)


def test_shipped_quantities_are_positive():
    _refused_by_database(lambda: ShipmentLineFactory(quantity=0))


def test_a_tracking_event_is_stored_once_per_time_and_status():
    event = TrackingEventFactory()
    _refused_by_database(
        lambda: TrackingEventFactory(shipment=event.shipment, occurred_at=event.occurred_at, status=event.status)
    )


def test_stock_and_prices_are_never_negative():
    _refused_by_database(lambda: StockLevelFactory(on_hand=-1))
    _refused_by_database(lambda: StockLevelFactory(reserved=-1))
    _refused_by_database(lambda: ProductFactory(list_price=Decimal("-1.00")))
    with pytest.raises(ValidationError):
        StockLevelFactory.build(on_hand=-1).full_clean()


def test_available_stock_is_on_hand_minus_reserved():
    assert StockLevelFactory.build(on_hand=10, reserved=4).available == 6


def test_the_factory_builds_a_paid_order_with_one_line():
    order = OrderFactory()
    assert order.status == Order.Status.PAID
    assert list(order.lines.values_list("line_no", "sku")) == [(1, "SKU-1")]
