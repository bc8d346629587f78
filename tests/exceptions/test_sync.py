"""The set-based sync the detection engine calls: create, re-detect, auto-resolve, recurrence, missing orders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.exceptions.calendars import calendars_load
from apps.exceptions.models import ExceptionEvent, ExceptionStatus, OrderException
from apps.exceptions.services import (
    exceptions_sync,
    missing_order_resolve,
    missing_order_sync,
    missing_orders_resolve,
)
from apps.rules.models import Category, Severity
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


def _status(order, rule) -> list[str]:
    return list(OrderException.objects.filter(order=order, rule=rule).order_by("pk").values_list("status", flat=True))


def test_a_matched_order_gets_one_open_graded_exception(stock_rule):
    order = OrderFactory(total_amount=Decimal("300.00"))
    now = timezone.now()
    result = exceptions_sync(
        rule=stock_rule, scope_order_ids=[order.pk], matched={order.pk: {"sku": "SKU-1", "short_by": 3}}, now=now
    )
    assert (result.created, result.redetected, result.auto_resolved) == (1, 0, 0)
    exception = OrderException.objects.get(pk=result.created_ids[0])
    assert exception.order == order
    assert (exception.channel, exception.external_id) == (order.channel, order.external_id)
    assert exception.status == ExceptionStatus.OPEN
    assert exception.category == Category.INVENTORY
    assert exception.severity == Severity.HIGH
    assert exception.department.code == "warehouse"
    assert exception.handling == "auto_replenishment"
    assert exception.first_response_due_at == now + timedelta(minutes=10)
    assert exception.due_at == now + timedelta(minutes=40)
    assert exception.detected_at == exception.last_detected_at == now
    assert exception.occurrences == 1
    assert exception.is_recurrence is False
    assert exception.details == {"sku": "SKU-1", "short_by": 3}
    # Stored in the site's language (English in the tests): details of no known shape read as facts.
    assert exception.summary == f"{stock_rule.name_en}: sku=SKU-1; short_by=3"
    assert list(exception.events.values_list("kind", flat=True)) == [ExceptionEvent.Kind.DETECTED]


def test_a_detector_may_word_the_summary_itself(payment_rule):
    order = OrderFactory()
    exceptions_sync(
        rule=payment_rule, scope_order_ids=None, matched={order.pk: {"summary": "付款未到账但订单状态已更新"}}
    )
    assert OrderException.objects.get().summary == f"{payment_rule.name_en}: 付款未到账但订单状态已更新"


def test_a_high_value_order_gets_a_more_severe_exception(payment_rule):
    order = OrderFactory(total_amount=Decimal("5000.01"))
    exceptions_sync(rule=payment_rule, scope_order_ids=[order.pk], matched={order.pk: {}})
    assert OrderException.objects.get(order=order).severity == Severity.HIGH


def test_a_re_detection_with_the_same_evidence_changes_nothing(stock_rule):
    order = OrderFactory()
    first = timezone.now()
    evidence = {"lines": [{"sku": "SKU-1", "quantity": 5, "available": 2, "short": 3}]}
    exceptions_sync(rule=stock_rule, scope_order_ids=[order.pk], matched={order.pk: evidence}, now=first)
    before = OrderException.objects.get(order=order)
    later = first + timedelta(minutes=5)
    for _ in range(3):
        result = exceptions_sync(rule=stock_rule, scope_order_ids=[order.pk], matched={order.pk: evidence}, now=later)
        assert (result.created, result.redetected, result.renewed, result.auto_resolved) == (0, 1, 0, 0)
    exception = OrderException.objects.get(order=order)
    assert exception.occurrences == 1
    assert (exception.detected_at, exception.last_detected_at) == (first, first)
    assert exception.updated_at == before.updated_at
    assert exception.events.count() == 1


def test_a_re_detection_with_new_evidence_adds_one_occurrence_and_replaces_the_details(stock_rule):
    order = OrderFactory()
    first = timezone.now()
    short_3 = {"lines": [{"sku": "SKU-1", "quantity": 5, "available": 2, "short": 3}]}
    short_4 = {"lines": [{"sku": "SKU-1", "quantity": 5, "available": 1, "short": 4}]}
    exceptions_sync(rule=stock_rule, scope_order_ids=[order.pk], matched={order.pk: short_3}, now=first)
    later = first + timedelta(minutes=5)
    result = exceptions_sync(rule=stock_rule, scope_order_ids=[order.pk], matched={order.pk: short_4}, now=later)
    assert (result.created, result.redetected, result.renewed) == (0, 1, 1)
    exceptions_sync(rule=stock_rule, scope_order_ids=[order.pk], matched={order.pk: short_4}, now=later)
    exception = OrderException.objects.get(order=order)
    assert exception.occurrences == 2
    assert exception.details == short_4
    assert exception.detected_at == first
    assert exception.last_detected_at == later
    again = exception.events.get(kind=ExceptionEvent.Kind.REDETECTED)
    assert again.data == {"occurrences": 2, "details": short_4}


def test_how_late_an_order_is_by_now_is_no_new_evidence(stock_rule):
    order = OrderFactory()
    due = {"reference": "paid_at", "due_at": "2026-11-20T10:00:00+00:00", "late_minutes": 5}
    exceptions_sync(rule=stock_rule, scope_order_ids=[order.pk], matched={order.pk: due})
    later = {**due, "late_minutes": 65}
    assert exceptions_sync(rule=stock_rule, scope_order_ids=[order.pk], matched={order.pk: later}).renewed == 0
    moved = {**due, "due_at": "2026-11-20T11:00:00+00:00"}
    assert exceptions_sync(rule=stock_rule, scope_order_ids=[order.pk], matched={order.pk: moved}).renewed == 1
    assert OrderException.objects.get().occurrences == 2


def test_details_are_read_only_for_the_orders_the_sync_needs(stock_rule):
    """With ``evidence``, the sync asks for the details of new exceptions and of re-detections
    (to compare), never of orders that did not match."""
    held, new, cleared = OrderFactory(), OrderFactory(), OrderFactory()
    exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={held.pk: {"n": 1}, cleared.pk: {"n": 1}})
    asked: list[list[int]] = []

    def evidence(ids):
        asked.append(ids)
        return {pk: {"n": 2 if pk == held.pk else 1} for pk in ids}

    ids = [held.pk, new.pk, cleared.pk]
    result = exceptions_sync(rule=stock_rule, scope_order_ids=ids, matched=[held.pk, new.pk], evidence=evidence)
    assert sorted(pk for call in asked for pk in call) == sorted([held.pk, new.pk])
    assert (result.created, result.renewed, result.auto_resolved) == (1, 1, 1)
    assert OrderException.objects.get(order=new, status="open").details == {"n": 1}
    assert OrderException.objects.get(order=held).details == {"n": 2}


def test_a_scan_reads_no_evidence_of_exceptions_that_still_hold(stock_rule):
    held = OrderFactory()
    exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={held.pk: {"n": 1}})
    asked: list[int] = []
    result = exceptions_sync(
        rule=stock_rule,
        scope_order_ids=None,
        matched=[held.pk],
        evidence=lambda ids: asked.extend(ids) or {},
        count_redetections=False,
    )
    assert (result.redetected, result.renewed, asked) == (1, 0, [])


def test_unevaluated_orders_keep_their_exceptions(stock_rule):
    """A rule that could not be evaluated for an order (its data made the query fail) neither
    raises nor clears anything on it."""
    kept, cleared = OrderFactory(), OrderFactory()
    exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={kept.pk: {}, cleared.pk: {}})
    result = exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={}, unevaluated=[kept.pk])
    assert result.auto_resolved == 1
    assert _status(kept, stock_rule) == [ExceptionStatus.OPEN]
    assert _status(cleared, stock_rule) == [ExceptionStatus.AUTO_RESOLVED]


def test_a_late_re_detection_never_moves_the_last_detection_back(stock_rule):
    order = OrderFactory()
    now = timezone.now()
    exceptions_sync(rule=stock_rule, scope_order_ids=[order.pk], matched={order.pk: {}}, now=now)
    exceptions_sync(rule=stock_rule, scope_order_ids=[order.pk], matched={order.pk: {}}, now=now - timedelta(hours=1))
    assert OrderException.objects.get(order=order).last_detected_at == now


def test_an_exception_whose_condition_cleared_is_auto_resolved(stock_rule):
    order = OrderFactory()
    exceptions_sync(rule=stock_rule, scope_order_ids=[order.pk], matched={order.pk: {}})
    now = timezone.now()
    result = exceptions_sync(rule=stock_rule, scope_order_ids=[order.pk], matched={}, now=now)
    assert (result.created, result.redetected, result.auto_resolved) == (0, 0, 1)
    exception = OrderException.objects.get(order=order)
    assert exception.status == ExceptionStatus.AUTO_RESOLVED
    assert exception.resolved_at == now
    assert list(exception.events.values_list("kind", flat=True)) == ["detected", "auto_resolved"]


def test_auto_resolution_only_touches_orders_in_scope(stock_rule):
    evaluated, untouched = OrderFactory(), OrderFactory()
    exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={evaluated.pk: {}, untouched.pk: {}})
    result = exceptions_sync(rule=stock_rule, scope_order_ids=[evaluated.pk], matched={})
    assert result.auto_resolved == 1
    assert _status(evaluated, stock_rule) == [ExceptionStatus.AUTO_RESOLVED]
    assert _status(untouched, stock_rule) == [ExceptionStatus.OPEN]


def test_auto_resolution_only_touches_the_synced_rule(stock_rule, payment_rule):
    order = OrderFactory()
    exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={order.pk: {}})
    exceptions_sync(rule=payment_rule, scope_order_ids=None, matched={order.pk: {}})
    exceptions_sync(rule=stock_rule, scope_order_ids=[order.pk], matched={})
    assert _status(order, stock_rule) == [ExceptionStatus.AUTO_RESOLVED]
    assert _status(order, payment_rule) == [ExceptionStatus.OPEN]


def test_a_full_scan_resolves_every_active_exception_that_no_longer_matches(stock_rule):
    orders = OrderFactory.create_batch(3)
    exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={order.pk: {} for order in orders})
    result = exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={orders[0].pk: {}})
    assert (result.created, result.redetected, result.auto_resolved) == (0, 1, 2)
    assert [_status(order, stock_rule) for order in orders] == [["open"], ["auto_resolved"], ["auto_resolved"]]


@pytest.mark.parametrize("status", [ExceptionStatus.ASSIGNED, ExceptionStatus.IN_PROGRESS, ExceptionStatus.ESCALATED])
def test_an_exception_being_handled_is_still_auto_resolved_and_re_detected(stock_rule, status):
    order = OrderFactory()
    exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={order.pk: {}})
    OrderException.objects.update(status=status)
    assert exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={order.pk: {}}).redetected == 1
    assert exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={}).auto_resolved == 1
    assert _status(order, stock_rule) == [ExceptionStatus.AUTO_RESOLVED]


@pytest.mark.parametrize("status", [ExceptionStatus.RESOLVED, ExceptionStatus.DISMISSED, ExceptionStatus.CLOSED])
def test_an_ended_exception_is_left_alone_by_a_sync(stock_rule, status):
    order = OrderFactory()
    exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={order.pk: {}})
    now = timezone.now()
    OrderException.objects.update(status=status, resolved_at=now, closed_at=now)
    result = exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={})
    assert result.auto_resolved == 0
    assert _status(order, stock_rule) == [status]


def test_a_detection_within_seven_days_after_closing_is_a_recurrence(stock_rule):
    order = OrderFactory()
    with time_machine.travel("2026-11-01 10:00 +0800", tick=False):
        exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={order.pk: {}})
        first = OrderException.objects.get()
    with time_machine.travel("2026-11-02 10:00 +0800", tick=False):
        exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={})
    with time_machine.travel("2026-11-09 09:59 +0800", tick=False):
        result = exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={order.pk: {}})
    again = OrderException.objects.get(pk=result.created_ids[0])
    assert again.is_recurrence is True
    assert again.recurrence_of == first
    detected = again.events.get(kind=ExceptionEvent.Kind.DETECTED)
    assert detected.data["recurrence_of"] == first.pk


def test_a_detection_more_than_seven_days_after_closing_is_new(stock_rule):
    order = OrderFactory()
    with time_machine.travel("2026-11-01 10:00 +0800", tick=False):
        exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={order.pk: {}})
    with time_machine.travel("2026-11-02 10:00 +0800", tick=False):
        exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={})
    with time_machine.travel("2026-11-09 10:01 +0800", tick=False):
        result = exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={order.pk: {}})
    again = OrderException.objects.get(pk=result.created_ids[0])
    assert again.is_recurrence is False
    assert again.recurrence_of is None


def test_the_recurrence_window_counts_from_closing_not_from_resolving(stock_rule):
    order = OrderFactory()
    exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={order.pk: {}})
    now = timezone.now()
    OrderException.objects.update(
        status=ExceptionStatus.CLOSED, resolved_at=now - timedelta(days=10), closed_at=now - timedelta(days=2)
    )
    result = exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={order.pk: {}})
    assert OrderException.objects.get(pk=result.created_ids[0]).is_recurrence is True


def test_a_recurrence_is_counted_per_rule(stock_rule, payment_rule):
    order = OrderFactory()
    exceptions_sync(rule=payment_rule, scope_order_ids=None, matched={order.pk: {}})
    exceptions_sync(rule=payment_rule, scope_order_ids=None, matched={})
    result = exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={order.pk: {}})
    assert OrderException.objects.get(pk=result.created_ids[0]).is_recurrence is False


def test_orders_that_do_not_exist_are_ignored(stock_rule):
    order = OrderFactory()
    result = exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={order.pk: {}, order.pk + 999: {}})
    assert result.created == 1
    assert OrderException.objects.count() == 1


def test_a_sync_costs_the_same_queries_for_three_orders_as_for_thirty(stock_rule):
    """No query per order (beyond SQLite's 999-parameter INSERT batches, which thirty orders stay within)."""
    calendars_load()  # the business calendars are read once per process (then one query says they're current)

    def queries_for(count: int) -> int:
        orders = OrderFactory.create_batch(count)
        ids = [order.pk for order in orders]
        with CaptureQueriesContext(connection) as create:
            exceptions_sync(rule=stock_rule, scope_order_ids=ids, matched={pk: {} for pk in ids})
        with CaptureQueriesContext(connection) as mixed:
            exceptions_sync(rule=stock_rule, scope_order_ids=ids, matched={pk: {} for pk in ids[: count // 2]})
        return len(create), len(mixed)

    assert queries_for(3) == queries_for(30)


def test_an_insert_that_loses_a_race_hands_the_winner_to_the_caller(stock_rule):
    """The fallback path of a concurrent writer: its row conflicts with the winner's, which the
    caller then treats as a re-detection (tests/exceptions/test_concurrency.py runs the race)."""
    from apps.exceptions import services

    order = OrderFactory()
    winner = exceptions_sync(rule=stock_rule, scope_order_ids=None, matched={order.pk: {}}).created_ids[0]
    now = timezone.now()
    table = services.grading_table()
    grade = table.decide(rule=stock_rule, channel=order.channel, amount=order.total_amount, customer_tags=(), at=now)
    loser = services._new_exception(
        rule=stock_rule,
        grade=grade,
        order_id=order.pk,
        channel=order.channel,
        external_id=order.external_id,
        details={},
        recurrence_of_id=None,
        now=now,
    )
    lost: list[int] = []
    inserted = services._insert(
        candidates=[loser],
        grades=[grade],
        active_for=lambda exc: services._active_exceptions(rule_ids=[stock_rule.pk], order_id=exc.order_id),
        lost_race=lambda _candidate, winner_id: lost.append(winner_id),
        now=now,
    )
    assert inserted == []
    assert lost == [winner]
    assert OrderException.objects.get().occurrences == 1


# --- Missing orders -----------------------------------------------------------------------------


@pytest.fixture
def missing_rule(make_rule):
    return make_rule(Category.INTEGRATION, Severity.HIGH, code="TEST_MISSING_ORDER")


def test_a_missing_order_raises_an_order_less_exception_on_its_key(missing_rule):
    result = missing_order_sync(
        rule=missing_rule,
        channel="tmall",
        external_ids=["TM-1", "TM-2"],
        details={"TM-1": {"total_amount": "8000.00"}},
    )
    assert result.created == 2
    by_key = {e.external_id: e for e in OrderException.objects.all()}
    assert set(by_key) == {"TM-1", "TM-2"}
    assert all(e.order_id is None and e.channel == "tmall" for e in by_key.values())
    assert by_key["TM-2"].department.code == "management"
    assert by_key["TM-2"].severity == Severity.HIGH
    assert by_key["TM-1"].severity == Severity.URGENT  # the listed amount is over the high-value line
    assert by_key["TM-1"].details == {"total_amount": "8000.00"}


def test_a_missing_order_listed_again_adds_an_occurrence(missing_rule):
    missing_order_sync(rule=missing_rule, channel="tmall", external_ids=["TM-1"])
    result = missing_order_sync(rule=missing_rule, channel="tmall", external_ids=["TM-1"])
    assert (result.created, result.redetected) == (0, 1)
    assert OrderException.objects.get().occurrences == 2


def test_a_missing_order_listed_again_with_another_total_takes_the_new_listing(missing_rule):
    listed = {"TM-1": {"total_amount": "88.00", "placed_at": "2026-11-24T02:00:00+00:00"}}
    missing_order_sync(rule=missing_rule, channel="tmall", external_ids=["TM-1"], details=listed)
    again = {"TM-1": {**listed["TM-1"], "total_amount": "99.00"}}
    same = missing_order_sync(rule=missing_rule, channel="tmall", external_ids=["TM-1"], details=listed)
    changed = missing_order_sync(rule=missing_rule, channel="tmall", external_ids=["TM-1"], details=again)
    assert (same.renewed, changed.renewed) == (0, 1)
    assert OrderException.objects.get().details["total_amount"] == "99.00"


def test_a_listed_order_that_arrived_meanwhile_is_not_raised(missing_rule):
    order = OrderFactory(channel="tmall")
    result = missing_order_sync(rule=missing_rule, channel="tmall", external_ids=[order.external_id, "TM-404"])
    assert result.created == 1
    assert OrderException.objects.get().external_id == "TM-404"


def test_the_same_key_on_another_channel_is_another_missing_order(missing_rule):
    missing_order_sync(rule=missing_rule, channel="tmall", external_ids=["X-1"])
    assert missing_order_sync(rule=missing_rule, channel="jd", external_ids=["X-1"]).created == 1


def test_a_missing_order_is_auto_resolved_when_the_order_arrives(missing_rule):
    missing_order_sync(rule=missing_rule, channel="tmall", external_ids=["TM-1", "TM-2"])
    order = OrderFactory(channel="tmall", external_id="TM-1")
    now = timezone.now()
    result = missing_order_resolve(channel="tmall", external_id="TM-1", order_id=order.pk, now=now)
    assert result.auto_resolved == 1
    resolved = OrderException.objects.get(external_id="TM-1")
    assert resolved.status == ExceptionStatus.AUTO_RESOLVED
    assert resolved.order == order
    assert resolved.resolved_at == now
    assert resolved.events.get(kind="auto_resolved").data == {"order": order.pk}
    assert OrderException.objects.get(external_id="TM-2").status == ExceptionStatus.OPEN
    again = missing_order_resolve(channel="tmall", external_id="TM-1", order_id=order.pk)
    assert again.auto_resolved == 0


def test_arriving_orders_resolve_their_missing_order_exceptions_in_one_call(missing_rule):
    missing_order_sync(rule=missing_rule, channel="tmall", external_ids=["TM-1"])
    missing_order_sync(rule=missing_rule, channel="jd", external_ids=["JD-1"])
    tm, jd, other = (
        OrderFactory(channel="tmall", external_id="TM-1"),
        OrderFactory(channel="jd", external_id="JD-1"),
        OrderFactory(),
    )
    result = missing_orders_resolve(
        orders={("tmall", "TM-1"): tm.pk, ("jd", "JD-1"): jd.pk, (other.channel, other.external_id): other.pk}
    )
    assert result.auto_resolved == 2
    assert dict(OrderException.objects.values_list("external_id", "order_id")) == {"TM-1": tm.pk, "JD-1": jd.pk}


def test_a_missing_order_listed_again_soon_after_resolving_is_a_recurrence(missing_rule):
    missing_order_sync(rule=missing_rule, channel="tmall", external_ids=["TM-1"])
    first = OrderException.objects.get()
    OrderException.objects.update(status=ExceptionStatus.DISMISSED, closed_at=timezone.now())
    result = missing_order_sync(rule=missing_rule, channel="tmall", external_ids=["TM-1"])
    assert OrderException.objects.get(pk=result.created_ids[0]).recurrence_of == first
