"""``manage.py seed_demo``: demo users, catalogue, a month of orders with known imperfections.

The rule checks below are a plain-Python reading of SPEC §3, independent of the generator, so
that "each imperfection is present and nothing else is flagged" is asserted on the stored rows.
"""

from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

import phonenumbers
import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.validators import validate_email
from django.utils import timezone

from apps.exceptions.models import OrderException
from apps.orders import demo, demo_data
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

pytestmark = pytest.mark.django_db

ORDERS = 300
SEED = 7
S = Order.Status
PAID_LIKE = {S.PAID, S.REVIEWED, S.SHIPPED, S.DELIVERED}
TRACKING_FORMATS = {
    "SF": r"^SF\d{12,13}$",
    "JD": r"^JD[A-Z0-9]{13,16}$",
    "YTO": r"^YT\d{13,15}$",
    "ZTO": r"^\d{12,15}$",
    "STO": r"^\d{12,15}$",
    "YUNDA": r"^\d{13,15}$",
    "EMS": r"^([A-Z]{2}\d{9}CN|\d{13})$",
}
DIVISIONS = {(province, city): set(districts) for province, city, districts, *_rest in demo_data.PLACES}


def _seed(count: int = ORDERS, seed: int = SEED) -> demo.DemoSummary:
    demo.demo_users_create()
    catalogue = demo.demo_catalogue_create(seed=seed)
    return demo.demo_orders_create(count=count, days=30, seed=seed, catalogue=catalogue)


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def _phone_ok(phone: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(phone, "CN"))
    except phonenumbers.NumberParseException:
        return False


def _email_ok(email: str) -> bool:
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


def _rule_positives() -> dict[str, set[int]]:
    """Order ids each SPEC §3 rule flags now, with its default parameters (MISSING_ORDER aside)."""
    now = timezone.now()
    list_prices = dict(Product.objects.values_list("sku", "list_price"))
    available = {s.sku: s.available for s in StockLevel.objects.all()}
    orders = Order.objects.select_related("customer").prefetch_related(
        "lines", "payments", "shipments__lines", "shipments__events"
    )
    found: dict[str, set[int]] = defaultdict(set)
    alive = []
    for order in orders:
        if order.status in (S.CANCELLED, S.REFUNDED):
            continue
        alive.append(order)
        lines = list(order.lines.all())
        payments = sorted(order.payments.all(), key=lambda p: (p.created_at, p.pk))
        shipments = list(order.shipments.all())

        succeeded = sum((p.amount for p in payments if p.status == "succeeded"), Decimal(0))
        if order.status in PAID_LIKE and succeeded < order.total_amount:
            found["PAYMENT_STATUS_MISMATCH"].add(order.pk)
        if order.status == S.PENDING_PAYMENT and payments and payments[-1].status == "failed":
            found["PAYMENT_FAILED"].add(order.pk)
        if order.status in (S.PENDING_PAYMENT, S.PAID, S.REVIEWED) and any(
            line.sku in available and line.quantity > available[line.sku] for line in lines
        ):
            found["STOCK_SHORTAGE"].add(order.pk)
        customer = order.customer
        if not customer.name or not _phone_ok(customer.phone) or (customer.email and not _email_ok(customer.email)):
            found["CUSTOMER_INFO_INVALID"].add(order.pk)
        districts = DIVISIONS.get((order.ship_province, order.ship_city))
        if (
            not (order.ship_province and order.ship_city and order.ship_detail)
            or districts is None
            or (order.ship_district and order.ship_district not in districts)
        ):
            found["ADDRESS_INVALID"].add(order.pk)
        if any(
            s.carrier not in TRACKING_FORMATS or not re.match(TRACKING_FORMATS[s.carrier], s.tracking_number)
            for s in shipments
        ):
            found["TRACKING_INVALID"].add(order.pk)
        promise = order.promised_ship_by or order.placed_at + timedelta(hours=48)
        last_seen = max(
            [e.occurred_at for s in shipments for e in s.events.all()] or [s.shipped_at for s in shipments],
            default=None,
        )
        if (order.status in (S.PAID, S.REVIEWED) and not shipments and now > promise) or (
            order.status == S.SHIPPED and last_seen is not None and now - last_seen > timedelta(hours=72)
        ):
            found["SHIPPING_DELAY"].add(order.pk)
        ordered = Counter()
        for line in lines:
            ordered[line.sku] += line.quantity
        shipped = Counter()
        for s in shipments:
            for sl in s.lines.all():
                shipped[sl.sku] += sl.quantity
        if set(shipped) - set(ordered) or (order.status in (S.SHIPPED, S.DELIVERED) and shipped != ordered):
            found["ITEM_MISMATCH"].add(order.pk)
        if any(
            line.sku in list_prices
            and not list_prices[line.sku] * Decimal("0.5") <= line.unit_price <= list_prices[line.sku] * Decimal("1.5")
            for line in lines
        ):
            found["PRICE_ANOMALY"].add(order.pk)
        expected = sum((line.quantity * line.unit_price for line in lines), Decimal(0))
        if abs(order.total_amount - (expected + order.shipping_fee - order.discount)) > Decimal("0.01"):
            found["AMOUNT_MISMATCH"].add(order.pk)
        if order.status == S.PAID and (order.paid_at or order.status_changed_at) < now - timedelta(hours=2):
            found["REVIEW_TIMEOUT"].add(order.pk)

    signature = {o.pk: sorted((line.sku, line.quantity) for line in o.lines.all()) for o in alive}
    everyone = Order.objects.exclude(status=S.CANCELLED).exclude(customer_phone="").prefetch_related("lines")
    by_phone = defaultdict(list)
    for earlier in everyone:
        by_phone[earlier.customer_phone].append(earlier)
    for order in alive:
        for earlier in by_phone.get(order.customer_phone, []) if order.customer_phone else []:
            if (
                earlier.external_id != order.external_id
                and timedelta(0) < order.placed_at - earlier.placed_at <= timedelta(minutes=30)
                and earlier.total_amount == order.total_amount
                and sorted((line.sku, line.quantity) for line in earlier.lines.all()) == signature[order.pk]
            ):
                found["DUPLICATE_ORDER"].add(order.pk)
    return found


def test_seeding_creates_an_account_for_every_department_and_role_and_prints_the_logins():
    """Each department gets staff, management gets a manager, and the admin is a superuser."""
    output = _run("--orders", "20", "--seed", str(SEED))
    users = get_user_model().objects.select_related("department").prefetch_related("groups")
    roles = {(u.department.code if u.department else None, g.name) for u in users for g in u.groups.all()}
    for department in ("warehouse", "finance", "customer_service", "logistics"):
        assert (department, "staff") in roles
    assert ("management", "manager") in roles
    assert ("management", "admin") in roles
    admin = users.get(username="admin")
    assert admin.is_superuser and admin.check_password(demo.DEMO_PASSWORD)
    integration = users.get(username=demo.INTEGRATION_USERNAME)
    assert integration.groups.filter(name="admin").exists()
    assert integration.auth_token.key in output
    assert "for the demo only" in output
    for spec in demo.DEMO_USERS:
        assert re.search(rf"^\s+{spec.username}\s+{demo.DEMO_PASSWORD}\s+{spec.role}\s", output, re.M)


def test_seeding_creates_a_catalogue_where_most_skus_have_stock_and_some_are_scarce():
    """Products carry list prices; a few SKUs have no stock record and a few almost none available."""
    _seed(count=0)
    products = Product.objects.count()
    stock = {s.sku: s.available for s in StockLevel.objects.all()}
    assert 60 <= products <= 120
    assert Product.objects.filter(list_price__lte=0).count() == 0
    assert 0.8 * products <= len(stock) < products
    assert any(available < demo.NATURAL_MAX_QTY for available in stock.values())
    assert Product.objects.filter(name__contains="保温杯").exists()


def test_seeding_creates_the_requested_orders_with_lines_payments_shipments_and_events():
    """N orders over the last month, each with 1-4 lines (plus a gift), and their follow-up records."""
    summary = _seed()
    now = timezone.now()
    assert Order.objects.count() == ORDERS == summary.orders_created
    line_counts = Counter(Order.objects.values_list("lines__order_id", flat=True))
    assert min(line_counts.values()) >= 1 and max(line_counts.values()) <= 5
    assert OrderLine.objects.count() == summary.lines
    assert Payment.objects.count() == summary.payments > ORDERS * 0.8
    assert Shipment.objects.count() == summary.shipments > ORDERS * 0.6
    assert ShipmentLine.objects.count() >= summary.shipments
    assert TrackingEvent.objects.count() == summary.events > summary.shipments * 2
    assert not Order.objects.filter(placed_at__lt=now - timedelta(days=30)).exists()
    assert not Order.objects.filter(placed_at__gt=now).exists()
    assert set(Order.objects.values_list("channel", flat=True)) >= {
        "taobao",
        "tmall",
        "jd",
        "pinduoduo",
        "douyin",
        "webshop",
    }
    assert Customer.objects.count() < ORDERS  # buyers come back
    assert set(TrackingEvent.objects.values_list("status", flat=True)) >= {
        "picked_up",
        "in_transit",
        "out_for_delivery",
        "delivered",
    }


def test_statuses_span_the_whole_lifecycle_and_fit_the_order_age():
    """Every status occurs; old orders are mostly delivered, pending ones are recent."""
    _seed()
    now = timezone.now()
    assert set(Order.objects.values_list("status", flat=True)) == set(S.values)
    old = Order.objects.filter(placed_at__lt=now - timedelta(days=10))
    assert old.filter(status=S.DELIVERED).count() > 0.75 * old.count()
    assert not old.filter(status=S.PENDING_PAYMENT).exists()
    for order in Order.objects.all():
        assert order.placed_at <= order.status_changed_at <= now
        if order.status in PAID_LIKE:
            assert order.paid_at is not None and order.placed_at <= order.paid_at <= now
    delivered = Order.objects.filter(status=S.DELIVERED).prefetch_related("shipments__events")[:20]
    for order in delivered:
        last = max(e.occurred_at for s in order.shipments.all() for e in s.events.all())
        assert order.status_changed_at == last


def test_evening_is_busier_than_the_small_hours():
    """Orders follow the shopping day: 20-23 h local sees several times the orders of 2-5 h."""
    _seed()
    hours = Counter(timezone.localtime(t).hour for t in Order.objects.values_list("placed_at", flat=True))
    evening = sum(hours[h] for h in (20, 21, 22, 23))
    night = sum(hours[h] for h in (2, 3, 4, 5))
    assert evening > 3 * night


def test_clean_orders_add_up_and_are_paid_in_full():
    """Outside the injected AMOUNT_MISMATCH orders, total = Σ qty × price + shipping − discount."""
    summary = _seed()
    skipped = summary.flagged["AMOUNT_MISMATCH"] | summary.flagged["PAYMENT_STATUS_MISMATCH"]
    checked = 0
    for order in Order.objects.prefetch_related("lines", "payments").exclude(pk__in=skipped):
        lines_total = sum(line.quantity * line.unit_price for line in order.lines.all())
        assert order.total_amount == lines_total + order.shipping_fee - order.discount, order.external_id
        if order.status in PAID_LIKE:
            paid = [p.amount for p in order.payments.all() if p.status == "succeeded"]
            assert paid == [order.total_amount], order.external_id
        checked += 1
    assert checked > ORDERS * 0.9


def test_every_rule_flags_exactly_the_orders_injected_for_it():
    """Each SPEC §3 rule (bar MISSING_ORDER) has positives, and only where an imperfection was put."""
    summary = _seed()
    positives = _rule_positives()
    assert set(summary.flagged) == set(demo.RULE_CODES)
    for code in demo.RULE_CODES:
        assert summary.flagged[code], code
        assert positives[code] == summary.flagged[code], code
        assert summary.injected[code] == len(summary.flagged[code])
    # Low rates: a demo month is mostly healthy.
    flagged = set().union(*summary.flagged.values())
    assert 0.05 * ORDERS < len(flagged) < 0.25 * ORDERS


def test_the_stored_check_verdicts_are_exactly_the_injected_imperfections():
    """Phone, e-mail, address and tracking columns are False on the injected orders and nowhere else."""
    summary = _seed()
    variants = summary.variants
    bad_phone = set(Order.objects.filter(customer_phone_is_valid=False).values_list("pk", flat=True))
    bad_email = set(Order.objects.filter(customer_email_is_valid=False).values_list("pk", flat=True))
    bad_address = set(Order.objects.filter(address_is_valid=False).values_list("pk", flat=True))
    bad_tracking = list(Shipment.objects.filter(tracking_is_valid=False).values_list("order_id", flat=True))
    no_name = set(Order.objects.filter(customer__name="").values_list("pk", flat=True))

    info = "CUSTOMER_INFO_INVALID"
    assert len(bad_phone) == variants[(info, "invalid_phone")] + variants[(info, "empty_phone")] > 0
    assert len(bad_email) == variants[(info, "malformed_email")] > 0
    assert bad_phone | bad_email | no_name == summary.flagged[info]
    assert len(bad_address) == summary.injected["ADDRESS_INVALID"] > 0
    assert bad_address == summary.flagged["ADDRESS_INVALID"]
    # One bad parcel per injected order.
    assert len(bad_tracking) == summary.injected["TRACKING_INVALID"] > 0
    assert set(bad_tracking) == summary.flagged["TRACKING_INVALID"]


def test_duplicates_are_found_by_phone_signature_and_time_alone():
    """The stored line signature finds exactly the re-submitted orders, without comparing lines."""
    summary = _seed()
    found = set()
    alive = Order.objects.exclude(status__in=[S.CANCELLED, S.REFUNDED]).exclude(customer_phone="")
    for order in alive:
        earlier = (
            Order.objects.exclude(status=S.CANCELLED)
            .exclude(external_id=order.external_id)
            .filter(
                customer_phone=order.customer_phone,
                line_signature=order.line_signature,
                total_amount=order.total_amount,
                placed_at__gte=order.placed_at - timedelta(minutes=30),
                placed_at__lt=order.placed_at,
            )
        )
        if earlier.exists():
            found.add(order.pk)
    assert found == summary.flagged["DUPLICATE_ORDER"]


def test_injected_imperfections_look_like_the_real_thing():
    """Prices far off the list price, bad phones and e-mails, mismatched places, bad tracking numbers."""
    _seed()
    lines = OrderLine.objects.filter(sku__in=Product.objects.values("sku")).select_related("order")
    prices = dict(Product.objects.values_list("sku", "list_price"))
    assert any(line.unit_price < prices[line.sku] / 2 for line in lines)
    assert any(line.unit_price > prices[line.sku] * Decimal("1.5") for line in lines)
    phones = list(Customer.objects.values_list("phone", flat=True))
    assert any(not p for p in phones)
    assert any(p and not _phone_ok(p) for p in phones)
    assert all(_phone_ok(p) for p in phones if p.startswith("1") and len(p) == 11 and p[:2] != "12")
    assert any(e and not _email_ok(e) for e in Customer.objects.values_list("email", flat=True))
    assert Order.objects.filter(ship_province="").exists()
    places = set(Order.objects.exclude(ship_province="").values_list("ship_province", "ship_city"))
    assert any(pair not in DIVISIONS and pair[1] for pair in places)
    assert Shipment.objects.exclude(carrier__in=TRACKING_FORMATS).exists()
    assert Order.objects.filter(ship_province__in=["北京市", "上海市"], ship_city__in=["北京市", "上海市"]).exists()


def test_if_empty_on_a_seeded_database_creates_nothing():
    """A second start with --if-empty leaves every table as it was and says so."""
    _run("--orders", "50", "--seed", str(SEED))
    before = [m.objects.count() for m in (Order, Payment, Shipment, TrackingEvent, Product, get_user_model())]
    output = _run("--orders", "50", "--seed", "99", "--if-empty")
    after = [m.objects.count() for m in (Order, Payment, Shipment, TrackingEvent, Product, get_user_model())]
    assert after == before
    assert "already seeded" in output
    assert "admin" in output and demo.DEMO_PASSWORD in output


def test_if_empty_on_an_empty_database_seeds():
    """--if-empty only holds back when orders exist."""
    _run("--orders", "40", "--seed", str(SEED), "--if-empty")
    assert Order.objects.count() == 40


def test_running_twice_keeps_existing_users_and_orders():
    """A plain re-run with the same seed skips existing accounts and orders instead of failing."""
    _run("--orders", "60", "--seed", str(SEED))
    counts = [m.objects.count() for m in (Order, Payment, Shipment, get_user_model())]
    output = _run("--orders", "60", "--seed", str(SEED))
    assert [m.objects.count() for m in (Order, Payment, Shipment, get_user_model())] == counts
    assert "0 created" in output and "60 already present" in output
    assert "(if unchanged)" in output


def test_a_rerun_with_another_seed_adds_orders_next_to_the_first_ones():
    """Another seed means other external ids, other transaction ids and other tracking numbers."""
    _run("--orders", "60", "--seed", str(SEED))
    _run("--orders", "60", "--seed", str(SEED + 1))
    assert Order.objects.count() == 120


def test_the_same_seed_gives_the_same_orders():
    """External ids depend on the seed alone; another seed gives others."""
    _seed(count=120, seed=SEED)
    first = set(Order.objects.values_list("channel", "external_id"))
    OrderException.objects.all().delete()  # they protect the orders they are about
    Order.objects.all().delete()
    Customer.objects.all().delete()
    _seed(count=120, seed=SEED)
    assert set(Order.objects.values_list("channel", "external_id")) == first
    OrderException.objects.all().delete()  # they protect the orders they are about
    Order.objects.all().delete()
    Customer.objects.all().delete()
    _seed(count=120, seed=SEED + 1)
    assert not set(Order.objects.values_list("channel", "external_id")) & first


def test_tracking_numbers_and_transaction_ids_are_unique_and_fit_their_carrier():
    """Clean shipments carry well-formed, unique tracking numbers; payments unique transaction ids."""
    summary = _seed()
    shipments = Shipment.objects.exclude(order__in=summary.flagged["TRACKING_INVALID"])
    numbers = list(shipments.values_list("carrier", "tracking_number"))
    assert len(numbers) == len(set(numbers))
    for carrier, number in numbers:
        assert re.match(TRACKING_FORMATS[carrier], number), (carrier, number)
    tx = list(Payment.objects.values_list("transaction_id", flat=True))
    assert len(tx) == len(set(tx))


def test_negative_arguments_are_refused():
    """--orders below 0 and --days below 1 stop with an error before anything is written."""
    with pytest.raises(CommandError):
        _run("--orders", "-1")
    with pytest.raises(CommandError):
        _run("--days", "0")
    assert not get_user_model().objects.exists()
