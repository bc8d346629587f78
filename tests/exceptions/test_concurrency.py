"""Concurrent syncs of the same rule and order, each on its own database connection."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from apps.exceptions.models import ExceptionStatus, OrderException
from apps.exceptions.services import exceptions_sync, missing_order_sync
from apps.rules.models import Category, ExceptionRule, Severity
from tests.orders.factories import OrderFactory

# serialized_rollback restores the departments and grading rows the data migrations seeded,
# which a flush removes.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

THREADS = 8


def _run_concurrently(work) -> list:
    barrier = threading.Barrier(THREADS)
    results: list = [None] * THREADS

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work()
        except Exception as exc:  # a failure must show up in the assertions, not vanish in a thread
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _rule(category: str, code: str) -> ExceptionRule:
    return ExceptionRule.objects.create(
        code=code, name=code, category=category, default_severity=Severity.HIGH, condition={"all": []}
    )


def test_concurrent_syncs_of_one_rule_and_order_create_one_exception():
    rule = _rule(Category.INVENTORY, "TEST_RACE_STOCK")
    order = OrderFactory()
    results = _run_concurrently(
        lambda: exceptions_sync(rule=rule, scope_order_ids=[order.pk], matched={order.pk: {}}, now=timezone.now())
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.created for r in results) == 1
    assert sum(r.redetected for r in results) == THREADS - 1
    exception = OrderException.objects.get(rule=rule, order=order)
    assert exception.status == ExceptionStatus.OPEN
    # The same evidence every time: re-detections, but no new occurrence.
    assert exception.occurrences == 1


def test_concurrent_reconciliations_raise_one_missing_order_exception():
    rule = _rule(Category.INTEGRATION, "TEST_RACE_MISSING")
    results = _run_concurrently(lambda: missing_order_sync(rule=rule, channel="tmall", external_ids=["TM-RACE"]))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.created for r in results) == 1
    assert OrderException.objects.get(rule=rule).occurrences == THREADS
