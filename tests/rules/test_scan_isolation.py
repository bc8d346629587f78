"""A rule's run-time failure caused by one order's data never fails the rule for every order.

The row here is written with the ORM, around the API (which refuses such dates), as old rows or
another system's writes may hold it: an order placed in the year 1. SQLite cannot shift that
date by the duplicate window ("string or blob too big"), which used to fail DUPLICATE_ORDER for
all orders; PostgreSQL can, so there the rule simply evaluates it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from apps.exceptions.models import OrderException
from apps.exceptions.services import exceptions_sync
from apps.orders.models import Order
from apps.orders.services import order_detection_run
from apps.rules import services
from apps.rules.models import ExceptionRule
from tests.orders.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

ABSURD = datetime(1, 1, 1, tzinfo=UTC)
SHIFT_FAILS = connection.vendor == "sqlite"


def duplicate_pair():
    """Two orders of one customer, basket and total, ten minutes apart: the later is a duplicate."""
    customer = CustomerFactory(phone="13911112222")
    first = OrderFactory(customer=customer, placed_at=timezone.now() - timedelta(minutes=20))
    later = OrderFactory(customer=customer, placed_at=timezone.now() - timedelta(minutes=10))
    return first, later


def absurd_order() -> Order:
    order = OrderFactory()
    Order.objects.filter(pk=order.pk).update(placed_at=ABSURD)
    return order


def duplicate_exceptions(order) -> list[str]:
    rows = OrderException.objects.filter(order=order, rule__code="DUPLICATE_ORDER")
    return list(rows.values_list("status", flat=True))


def test_a_scan_raises_and_clears_for_every_other_order_and_names_the_bad_one():
    first, later = duplicate_pair()
    cleared = OrderFactory()
    bad = absurd_order()
    rule = ExceptionRule.objects.get(code="DUPLICATE_ORDER")
    # Active before the scan: one whose condition no longer holds, and one on the bad order.
    exceptions_sync(rule=rule, scope_order_ids=[cleared.pk, bad.pk], matched={cleared.pk: {}, bad.pk: {}})

    report = services.scan()

    outcomes = {outcome.code: outcome for outcome in report.outcomes}
    assert duplicate_exceptions(later) == ["open"]
    assert duplicate_exceptions(first) == []
    assert duplicate_exceptions(cleared) == ["auto_resolved"]
    details = OrderException.objects.get(order=later, rule__code="DUPLICATE_ORDER").details
    assert details["duplicate_of"] == first.pk
    rule.refresh_from_db()
    if SHIFT_FAILS:
        # Left as it was: the rule could not be evaluated for it, and says so.
        assert duplicate_exceptions(bad) == ["open"]
        assert f"orders {bad.pk} could not be evaluated" in outcomes["DUPLICATE_ORDER"].error
        assert f"orders {bad.pk} could not be evaluated" in rule.last_error
        assert rule.last_error_at is not None
    else:
        assert duplicate_exceptions(bad) == ["auto_resolved"]
        assert outcomes["DUPLICATE_ORDER"].error == "" and rule.last_error == ""
    assert all(outcome.error == "" for code, outcome in outcomes.items() if code != "DUPLICATE_ORDER")


@pytest.mark.parametrize("year", [1, 9999])
def test_scan_exceptions_succeeds_over_an_order_with_an_absurd_date(year):
    _first, later = duplicate_pair()
    bad = OrderFactory()
    Order.objects.filter(pk=bad.pk).update(placed_at=datetime(year, 1, 1, tzinfo=UTC))
    out = StringIO()
    call_command("scan_exceptions", "--rule", "DUPLICATE_ORDER", stdout=out)
    line = next(row for row in out.getvalue().splitlines() if row.startswith("DUPLICATE_ORDER"))
    matched, created = (int(value) for value in line.split()[1:3])
    assert (matched, created) == (1, 1)
    assert duplicate_exceptions(later) == ["open"]
    if SHIFT_FAILS and year == 1:
        assert f"orders {bad.pk} could not be evaluated" in line


def test_a_write_over_many_orders_isolates_the_bad_one():
    """More orders than the single-order path takes: the compiled queries, split on failure."""
    first, later = duplicate_pair()
    others = OrderFactory.create_batch(services.PYTHON_PATH_MAX_ORDERS)
    bad = absurd_order()
    ids = [first.pk, later.pk, bad.pk, *(order.pk for order in others)]
    order_detection_run(order_ids=ids)
    assert duplicate_exceptions(later) == ["open"]
    last_error = ExceptionRule.objects.get(code="DUPLICATE_ORDER").last_error
    if SHIFT_FAILS:
        assert f"orders {bad.pk} could not be evaluated" in last_error
    else:
        assert last_error == ""


def test_a_write_of_few_orders_with_the_bad_one_raises_the_others():
    first, later = duplicate_pair()
    bad = absurd_order()
    order_detection_run(order_ids=[first.pk, later.pk, bad.pk])
    assert duplicate_exceptions(later) == ["open"]
    assert duplicate_exceptions(bad) == []


def test_isolation_splits_down_to_the_failing_orders_only():
    """The splitting itself, over a real query that fails for two orders' data."""
    orders = OrderFactory.create_batch(12)
    poison = {orders[3].pk, orders[9].pk}
    calls: list[tuple[int, int]] = []

    def run(part):
        calls.append(part or (0, 0))
        ids = list(services._range_scope(part).values_list("pk", flat=True))
        if poison & set(ids):
            raise ValueError("a value the database could not convert")
        return ids

    found, isolated = services._isolating(
        run, None, split=services._split_range, ids_of=services._range_ids, empty=(0, -1)
    )
    assert sorted(found) == sorted(order.pk for order in orders if order.pk not in poison)
    assert sorted(isolated.bad) == sorted(isolated.unevaluated) == sorted(poison)
    assert isinstance(isolated.error, ValueError)
    assert len(calls) <= 2 + 4 * len(poison) * 4  # about 2 log2(n) attempts per bad order, not one per order


def test_a_failure_that_is_no_datas_fault_still_fails_the_rule_as_a_whole():
    OrderFactory.create_batch(3)

    def run(part):
        raise ValueError("a bug: fails whatever the orders")

    with pytest.raises(ValueError, match="a bug"):
        services._isolating(run, None, split=services._split_range, ids_of=services._range_ids, empty=(0, -1))
