"""Computed fields read the same in SQL and in Python, on hand-made boundary data."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.orders.models import Order, Payment
from apps.rules.compiler import condition_q
from apps.rules.context import contexts_load
from apps.rules.evaluator import evaluate
from apps.rules.fields import Env
from apps.rules.language import rule_check
from tests.orders.factories import OrderFactory, PaymentFactory, ShipmentFactory, ShipmentLineFactory

pytestmark = pytest.mark.django_db


def selected(tree: dict, now=None) -> tuple[set[int], set[int]]:
    """(ids the query selects, ids the predicate accepts) among all orders."""
    now = now or timezone.now()
    condition = rule_check(tree)
    ids = list(Order.objects.values_list("pk", flat=True))
    by_query = set(Order.objects.filter(condition_q(condition, Env(now=now))).values_list("pk", flat=True))
    by_predicate = {pk for pk, ctx in contexts_load(order_ids=ids, now=now).items() if evaluate(condition, ctx)}
    return by_query, by_predicate


def test_the_latest_payment_is_the_latest_paid_then_the_latest_created():
    now = timezone.now()
    tie = OrderFactory(status="pending_payment")
    PaymentFactory(order=tie, status=Payment.Status.SUCCEEDED, paid_at=now)
    PaymentFactory(order=tie, status=Payment.Status.FAILED, paid_at=now)
    later_paid_wins = OrderFactory(status="pending_payment")
    PaymentFactory(order=later_paid_wins, status=Payment.Status.SUCCEEDED, paid_at=now)
    PaymentFactory(order=later_paid_wins, status=Payment.Status.FAILED, paid_at=now - timedelta(minutes=5))
    undated_loses = OrderFactory(status="pending_payment")
    PaymentFactory(order=undated_loses, status=Payment.Status.SUCCEEDED, paid_at=now)
    PaymentFactory(order=undated_loses, status=Payment.Status.FAILED, paid_at=None)
    only_undated = OrderFactory(status="pending_payment")
    PaymentFactory(order=only_undated, status=Payment.Status.PENDING, paid_at=None)
    PaymentFactory(order=only_undated, status=Payment.Status.FAILED, paid_at=None)
    by_query, by_predicate = selected({"field": "latest_payment_status", "op": "eq", "value": "failed"})
    assert by_query == by_predicate == {tie.pk, only_undated.pk}


def test_paid_total_counts_succeeded_payments_only():
    short = OrderFactory(total_amount=Decimal("100.00"))
    PaymentFactory(order=short, amount=Decimal("60.00"), status="succeeded")
    PaymentFactory(order=short, amount=Decimal("40.00"), status="failed")
    full = OrderFactory(total_amount=Decimal("100.00"))
    PaymentFactory(order=full, amount=Decimal("100.00"), status="succeeded")
    tree = {"field": "paid_total", "op": "lt", "value": {"field": "total_amount"}}
    assert selected(tree) == ({short.pk}, {short.pk})


def test_amount_difference_is_exact_to_the_cent():
    exact = OrderFactory(total_amount=Decimal("259.00"))  # one line 2 × 129.50
    cent_off = OrderFactory(total_amount=Decimal("259.01"))
    two_cents = OrderFactory(total_amount=Decimal("259.02"))
    tree = {
        "any": [
            {"field": "amount_difference", "op": "gt", "value": "0.01"},
            {"field": "amount_difference", "op": "lt", "value": "-0.01"},
        ]
    }
    by_query, by_predicate = selected(tree)
    assert by_query == by_predicate == {two_cents.pk}
    assert exact.pk not in by_query and cent_off.pk not in by_query


def test_shipped_quantities_match_per_sku_across_shipments():
    split = OrderFactory(status="shipped")  # SKU-1 × 2 shipped in two parcels
    for _ in range(2):
        ShipmentLineFactory(shipment=ShipmentFactory(order=split), sku="SKU-1", quantity=1)
    short = OrderFactory(status="shipped")
    ShipmentLineFactory(shipment=ShipmentFactory(order=short), sku="SKU-1", quantity=1)
    extra = OrderFactory(status="shipped")
    shipment = ShipmentFactory(order=extra)
    ShipmentLineFactory(shipment=shipment, sku="SKU-1", quantity=2)
    ShipmentLineFactory(shipment=shipment, sku="OTHER", quantity=1)
    tree = {"field": "shipped_quantities_match", "op": "eq", "value": False}
    assert selected(tree) == ({short.pk, extra.pk}, {short.pk, extra.pk})


def test_time_since_status_change_compares_at_the_boundary():
    now = timezone.now()
    at_two_hours = OrderFactory(status_changed_at=now - timedelta(hours=2))
    just_over = OrderFactory(status_changed_at=now - timedelta(hours=2, seconds=1))
    tree = {"field": "hours_since_status_change", "op": "gt", "value": "2h"}
    assert selected(tree, now) == ({just_over.pk}, {just_over.pk})
    tree = {"field": "hours_since_status_change", "op": "ge", "value": "2h"}
    assert selected(tree, now) == ({at_two_hours.pk, just_over.pk},) * 2
