"""factory_boy factories for the order domain: rows for tests that need data, not an API call."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from apps.orders import selectors, services, verdicts
from apps.orders.models import (
    Channel,
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


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    channel = Channel.TAOBAO
    external_id = factory.Sequence(lambda n: f"C{n:05d}")
    name = factory.Faker("name", locale="zh_CN")
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    email = factory.Sequence(lambda n: f"buyer{n}@example.com")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order
        skip_postgeneration_save = True

    channel = Channel.TAOBAO
    external_id = factory.Sequence(lambda n: f"TB-{n:08d}")
    status = Order.Status.PAID
    placed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    paid_at = factory.LazyAttribute(lambda o: o.placed_at + timedelta(minutes=2))
    status_changed_at = factory.LazyAttribute(lambda o: o.paid_at or o.placed_at)
    total_amount = Decimal("259.00")
    customer = factory.SubFactory(CustomerFactory, channel=factory.SelfAttribute("..channel"))
    customer_phone = factory.LazyAttribute(lambda o: o.customer.phone)
    ship_recipient = factory.LazyAttribute(lambda o: o.customer.name)
    ship_phone = factory.LazyAttribute(lambda o: o.customer.phone)
    ship_province = "浙江省"
    ship_city = "杭州市"
    ship_district = "西湖区"
    ship_detail = "文三路100号"
    ship_postcode = "310000"
    lines = factory.RelatedFactoryList("tests.orders.factories.OrderLineFactory", factory_related_name="order", size=1)
    # The verdicts the services would store, so that factory rows look like ingested ones.
    shipped_signature = verdicts.NOTHING_SHIPPED
    customer_phone_is_valid = factory.LazyAttribute(lambda o: verdicts.phone_is_valid(o.customer_phone))
    customer_email_is_valid = factory.LazyAttribute(lambda o: verdicts.email_is_valid(o.customer.email))
    address_is_valid = factory.LazyAttribute(
        lambda o: verdicts.address_is_valid(
            province=o.ship_province, city=o.ship_city, district=o.ship_district, detail=o.ship_detail
        )
    )

    @factory.post_generation
    def signature(self, create, extracted, **kwargs):
        """After the lines exist: their signature, as ``order_bulk_ingest`` stores it."""
        if create and self.pk is not None:
            self.line_signature = verdicts.line_signature(self.lines.values_list("sku", "quantity"))
            Order.objects.filter(pk=self.pk).update(line_signature=self.line_signature)


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine
        skip_postgeneration_save = True

    order = factory.SubFactory(OrderFactory, lines=[])
    line_no = factory.LazyAttribute(lambda line: line.order.lines.count() + 1 if line.order.pk else 1)
    sku = "SKU-1"
    name = "保温杯"
    quantity = 2
    unit_price = Decimal("129.50")

    @factory.post_generation
    def order_signature(self, create, extracted, **kwargs):
        """A line added on its own still leaves its order with the signature of all its lines."""
        if create:
            signature = verdicts.line_signature(self.order.lines.values_list("sku", "quantity"))
            total = sum((q * p for q, p in self.order.lines.values_list("quantity", "unit_price")), Decimal("0.00"))
            Order.objects.filter(pk=self.order_id).update(line_signature=signature, lines_total=total)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = "保温杯"
    list_price = Decimal("129.50")


class StockLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockLevel

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    on_hand = 100
    reserved = 0


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment
        skip_postgeneration_save = True

    order = factory.SubFactory(OrderFactory)
    transaction_id = factory.Sequence(lambda n: f"ALI-{n:010d}")
    amount = factory.LazyAttribute(lambda p: p.order.total_amount)
    status = Payment.Status.SUCCEEDED
    paid_at = factory.LazyAttribute(lambda p: p.order.paid_at)
    method = "alipay"

    @factory.post_generation
    def order_paid_total(self, create, extracted, **kwargs):
        """What payment_record stores on the order: the sum of its succeeded payments."""
        if create:
            services.order_paid_totals_refresh(order_ids=[self.order_id])


class ShipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shipment

    order = factory.SubFactory(OrderFactory)
    carrier = "SF"
    tracking_number = factory.Sequence(lambda n: f"SF{n:012d}")
    shipped_at = factory.LazyFunction(timezone.now)
    tracking_is_valid = factory.LazyAttribute(
        lambda s: verdicts.tracking_is_valid(
            s.tracking_number, selectors.carrier_patterns(codes=[s.carrier]).get(s.carrier)
        )
    )


class ShipmentLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShipmentLine
        skip_postgeneration_save = True

    shipment = factory.SubFactory(ShipmentFactory)
    sku = "SKU-1"
    quantity = 2

    @factory.post_generation
    def shipped_signature(self, create, extracted, **kwargs):
        """What shipment_create stores on the order: the signature of everything shipped."""
        if create:
            services.order_shipped_signatures_refresh(order_ids=[self.shipment.order_id])
            services.shipment_lines_on_order_refresh(order_ids=[self.shipment.order_id])


class TrackingEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrackingEvent

    shipment = factory.SubFactory(ShipmentFactory)
    occurred_at = factory.LazyFunction(timezone.now)
    status = TrackingEvent.Status.IN_TRANSIT
