""" "Test now" and the back-test (SPEC §10.3, §10.5): a condition's compiled query over the stored
orders, counted now, or per day of ``placed_at`` in ``TIME_ZONE`` over the last N days.

The agreement with detection is checked on demo data: for every built-in rule, the orders a
back-test counts per day are exactly the orders a full scan at the same moment leaves with an
active exception of that rule.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.common.errors import DomainError
from apps.exceptions.lifecycle import exception_dismiss
from apps.exceptions.models import ACTIVE_STATUSES, OrderException
from apps.orders import demo
from apps.orders.models import Order
from apps.rules import backtest, services
from apps.rules.models import BacktestRun, ExceptionRule
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
EVERY_ORDER = {"field": "total_amount", "op": "ge", "value": "0"}


def selects(queries: CaptureQueriesContext) -> int:
    return sum(1 for query in queries.captured_queries if query["sql"].lstrip().upper().startswith("SELECT"))


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


# --- Test now ----------------------------------------------------------------------------------


def test_a_test_counts_the_current_matching_orders_and_shows_the_newest_ten():
    """Cancelled and refunded orders raise nothing, so a test leaves them out as detection does."""
    now = timezone.now()
    for hours in range(12):
        OrderFactory(total_amount=Decimal("900.00"), placed_at=now - timedelta(hours=hours + 1))
    OrderFactory(total_amount=Decimal("900.00"), status=Order.Status.CANCELLED)
    OrderFactory(total_amount=Decimal("10.00"))
    condition = {"field": "total_amount", "op": "gt", "value": {"param": "limit"}}

    with CaptureQueriesContext(connection) as queries:
        result = backtest.rule_test(condition=condition, params={"limit": "500"})

    assert result["count"] == 12
    assert len(result["sample"]) == 10
    placed = [row["placed_at"] for row in result["sample"]]
    assert placed == sorted(placed, reverse=True)
    assert set(result["sample"][0]) == {
        "id",
        "external_id",
        "channel",
        "status",
        "placed_at",
        "total_amount",
        "currency",
    }
    assert selects(queries) == 2  # the count and the sample


def test_a_test_with_no_match_runs_only_the_count():
    OrderFactory(total_amount=Decimal("10.00"))
    with CaptureQueriesContext(connection) as queries:
        result = backtest.rule_test(condition={"field": "total_amount", "op": "gt", "value": "99999"}, params={})
    assert result == {"count": 0, "sample": []}
    assert selects(queries) == 1


def test_a_bad_condition_is_refused_with_the_path_of_its_node():
    condition = {"all": [{"field": "status", "op": "eq", "value": "paid"}, {"field": "nope", "op": "eq", "value": 1}]}
    with pytest.raises(DomainError) as refused:
        backtest.rule_test(condition=condition, params={})
    assert refused.value.code == "invalid_rule"
    assert refused.value.as_fields() == {"condition.all.1.field": ["Unknown field “nope”."]}


# --- Back-test: the window and the days --------------------------------------------------------


def test_days_are_calendar_days_of_placed_at_in_the_company_time_zone_today_included():
    """23:30 in Shanghai is 15:30 UTC the same day, and 00:10 is the day before in UTC: each order
    counts on its Shanghai day, and an order of the day before the window is not counted."""
    now = local(2026, 11, 21, 10, 0)
    OrderFactory(placed_at=local(2026, 11, 19, 23, 59))  # before the window
    OrderFactory(placed_at=local(2026, 11, 20, 0, 10))
    OrderFactory(placed_at=local(2026, 11, 20, 23, 30))
    OrderFactory(placed_at=local(2026, 11, 21, 0, 10))
    OrderFactory(placed_at=local(2026, 11, 21, 9, 0), status=Order.Status.REFUNDED)  # raises nothing

    result = backtest.rule_backtest(condition=EVERY_ORDER, params={}, days=2, now=now)

    assert (result["from"], result["to"], result["time_zone"]) == ("2026-11-20", "2026-11-21", "Asia/Shanghai")
    assert result["days"] == [
        {"date": "2026-11-20", "count": 2, "dismissed": 0},
        {"date": "2026-11-21", "count": 1, "dismissed": 0},
    ]
    assert result["total"] == 3
    assert result["evaluated_at"] == now.isoformat()


def test_every_day_of_the_window_is_listed_even_without_orders():
    result = backtest.rule_backtest(condition=EVERY_ORDER, params={}, days=90, now=local(2026, 11, 21, 10, 0))
    assert len(result["days"]) == 90
    assert result["days"][0]["date"] == "2026-08-24"
    assert result["days"][-1]["date"] == "2026-11-21"
    assert result["total"] == 0


@pytest.mark.parametrize("days", [0, 91, -1, True, "7"])
def test_a_window_outside_one_to_ninety_days_is_refused(days):
    with pytest.raises(DomainError) as refused:
        backtest.rule_backtest(condition=EVERY_ORDER, params={}, days=days)
    assert refused.value.field == "days"


def test_a_back_test_is_one_grouped_query_per_chunk_of_days_and_reports_its_progress():
    now = timezone.now()
    for day in range(30):
        OrderFactory(placed_at=now - timedelta(days=day, minutes=5))
    reported: list[int] = []

    with CaptureQueriesContext(connection) as queries:
        result = backtest.rule_backtest(condition=EVERY_ORDER, params={}, days=30, progress=reported.append, now=now)

    assert result["total"] == 30
    assert selects(queries) == 30 // backtest.CHUNK_DAYS
    assert reported == [33, 67, 100]


def test_the_clock_is_the_moment_of_the_back_test():
    """Conditions on the clock are measured from the back-test's moment, not from each day."""
    now = timezone.now()
    OrderFactory(placed_at=now - timedelta(days=2))
    OrderFactory(placed_at=now - timedelta(minutes=30))
    older = {"field": "placed_at", "op": "older_than", "value": "1d"}
    assert backtest.rule_backtest(condition=older, params={}, days=7, now=now)["total"] == 1
    later = now + timedelta(days=3)
    assert backtest.rule_backtest(condition=older, params={}, days=7, now=later)["total"] == 2


# --- Back-test against detection, on demo data -------------------------------------------------


@pytest.fixture
def demo_orders():
    """A month of demo orders (the seed's imperfections raise every built-in rule), scanned now."""
    demo.demo_users_create()
    catalogue = demo.demo_catalogue_create(seed=7)
    now = timezone.now()
    demo.demo_orders_create(count=300, days=30, seed=7, catalogue=catalogue, now=now)
    services.scan(now=now)
    return now


def _raised_per_day(rule: ExceptionRule, first, last) -> Counter:
    placed = OrderException.objects.filter(rule=rule, status__in=ACTIVE_STATUSES, order__isnull=False).values_list(
        "order__placed_at", flat=True
    )
    days = (moment.astimezone(SHANGHAI).date() for moment in placed)
    return Counter(day.isoformat() for day in days if first <= day <= last)


def test_for_every_built_in_rule_the_back_test_counts_what_a_full_scan_raises(demo_orders):
    now = demo_orders
    rules = ExceptionRule.objects.filter(is_builtin=True, source=ExceptionRule.Source.CONDITION).order_by("code")
    assert rules.count() == 12
    differences, totals = {}, {}
    for rule in rules:
        result = backtest.rule_backtest(condition=rule.condition, params=rule.params, days=30, rule=rule, now=now)
        first, last = backtest.backtest_window(days=30, now=now)
        expected = _raised_per_day(rule, first, last)
        counted = Counter({row["date"]: row["count"] for row in result["days"] if row["count"]})
        if counted != expected:
            differences[rule.code] = (counted, expected)
        totals[rule.code] = result["total"]
        assert result["total"] == sum(expected.values())
        assert "current" not in result["days"][0]  # no draft: nothing to compare with
    assert differences == {}
    # The seed's imperfections raise every rule: the agreement is not one of empty answers.
    assert all(totals.values()), totals


def test_dismissed_counts_the_matched_orders_whose_exception_of_this_rule_was_dismissed(demo_orders, admin_user):
    now = demo_orders
    rule = ExceptionRule.objects.get(code="ADDRESS_INVALID")
    first, _last = backtest.backtest_window(days=30, now=now)
    start = datetime.combine(first, datetime.min.time(), tzinfo=SHANGHAI)
    open_ones = list(
        OrderException.objects.filter(rule=rule, status="open", order__placed_at__gte=start).order_by("pk")[:3]
    )
    assert len(open_ones) == 3
    for exception in open_ones:
        exception_dismiss(exception_id=exception.pk, actor=admin_user, reason="The address is fine, checked.")
    other = ExceptionRule.objects.get(code="CUSTOMER_INFO_INVALID")
    for exception in OrderException.objects.filter(rule=other, status="open")[:2]:
        exception_dismiss(exception_id=exception.pk, actor=admin_user, reason="Not real.")

    result = backtest.rule_backtest(condition=rule.condition, params=rule.params, days=30, rule=rule, now=now)

    assert result["dismissed"] == 3
    dismissed_days = Counter(
        exception.order.placed_at.astimezone(SHANGHAI).date().isoformat() for exception in open_ones
    )
    assert {row["date"]: row["dismissed"] for row in result["days"] if row["dismissed"]} == dict(dismissed_days)
    # Without the rule nothing says which exceptions are of "this rule".
    anonymous = backtest.rule_backtest(condition=rule.condition, params=rule.params, days=30, now=now)
    assert anonymous["dismissed"] == 0 and anonymous["total"] == result["total"]


def test_a_draft_is_compared_with_the_rule_as_saved(demo_orders):
    now = demo_orders
    rule = ExceptionRule.objects.get(code="AMOUNT_MISMATCH")
    saved = backtest.rule_backtest(condition=rule.condition, params=rule.params, days=30, rule=rule, now=now)
    # A tolerance no seeded difference reaches: the draft raises nothing the saved rule raises.
    draft = backtest.rule_backtest(
        condition=rule.condition, params={**rule.params, "tolerance": "100000.00"}, days=30, rule=rule, now=now
    )
    assert saved["total"] > 0
    assert draft["total"] == 0
    assert draft["current_total"] == saved["total"]
    assert [row["current"] for row in draft["days"]] == [row["count"] for row in saved["days"]]


# --- Back-test runs (the service a worker calls) ----------------------------------------------


def test_a_run_is_queued_after_commit_and_computed_with_its_progress(admin_user, django_capture_on_commit_callbacks):
    OrderFactory(total_amount=Decimal("259.00"), placed_at=timezone.now() - timedelta(hours=2))
    rule = ExceptionRule.objects.get(code="AMOUNT_MISMATCH")
    with django_capture_on_commit_callbacks() as callbacks:
        run = services.backtest_run_start(rule=rule, days=14, actor=admin_user)
    assert len(callbacks) == 1  # the task is sent once the run is committed
    assert (run.status, run.progress, run.document["draft"]) == ("queued", 0, False)

    done = services.backtest_run_execute(run_id=run.pk)

    assert (done.status, done.progress, done.error) == ("done", 100, "")
    expected = backtest.rule_backtest(condition=rule.condition, params=rule.params, days=14, rule=rule)
    assert done.result["days"] == expected["days"]
    assert done.started_at is not None and done.finished_at >= done.started_at


def test_a_finished_run_is_not_computed_again():
    rule = ExceptionRule.objects.get(code="AMOUNT_MISMATCH")
    run = services.backtest_run_start(rule=rule, days=3)
    services.backtest_run_execute(run_id=run.pk)
    first = BacktestRun.objects.get(pk=run.pk)
    again = services.backtest_run_execute(run_id=run.pk)
    assert again.finished_at == first.finished_at
    assert services.backtest_run_execute(run_id=run.pk + 1000) is None


def test_a_run_whose_condition_cannot_be_evaluated_fails_saying_why():
    rule = ExceptionRule.objects.get(code="AMOUNT_MISMATCH")
    run = services.backtest_run_start(rule=rule, days=3)
    # The rule's stored condition changed around the services into one the language refuses.
    BacktestRun.objects.filter(pk=run.pk).update(document={"condition": {"all": []}, "params": {}, "draft": True})
    failed = services.backtest_run_execute(run_id=run.pk)
    assert failed.status == "failed"
    assert "non-empty list" in failed.error


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"days": 0}, "days"),
        ({"days": 7, "condition": {"field": "nope", "op": "eq", "value": 1}}, "condition.field"),
        ({"days": 7, "params": {"tolerance": "abc"}}, "params.tolerance"),
    ],
)
def test_a_run_that_cannot_be_computed_is_refused_before_it_is_queued(kwargs, field):
    rule = ExceptionRule.objects.get(code="AMOUNT_MISMATCH")
    with pytest.raises(DomainError) as refused:
        services.backtest_run_start(rule=rule, **kwargs)
    assert refused.value.field == field
    assert not BacktestRun.objects.exists()


def test_a_reconciliation_rule_has_nothing_to_back_test():
    with pytest.raises(DomainError) as refused:
        services.backtest_run_start(rule=ExceptionRule.objects.get(code="MISSING_ORDER"), days=7)
    assert refused.value.code == "no_condition"


def test_the_run_constraints_hold_in_the_database():
    from django.db import IntegrityError, transaction

    rule = ExceptionRule.objects.get(code="AMOUNT_MISMATCH")
    for values in ({"days": 91}, {"progress": 101}, {"status": "lost"}, {"status": "done", "result": None}):
        with pytest.raises(IntegrityError), transaction.atomic():
            BacktestRun.objects.create(rule=rule, document={}, **{"days": 7, **values})
