"""The grading decision table: the seeded rows of SPEC §3, first match wins, high-value orders go up a level."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import checks
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Department
from apps.exceptions.models import GradingRule
from apps.exceptions.services import grading_decide, grading_table
from apps.rules.models import Category, Severity
from tests.orders.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)


def _grade(rule, *, channel="taobao", amount=Decimal("259.00"), tags=(), at=AT):
    return grading_decide(rule=rule, channel=channel, amount=amount, customer_tags=tags, at=at)


@pytest.mark.parametrize(
    ("category", "severity", "department", "handling", "minutes", "channels"),
    [
        (Category.INVENTORY, "high", "warehouse", "auto_replenishment", 10, ("in_app",)),
        (Category.PAYMENT, "medium", "finance", "manual_check", 30, ("email", "in_app")),
        (Category.INFORMATION, "low", "customer_service", "customer_callback", 120, ("sms", "in_app")),
        (Category.LOGISTICS, "medium", "logistics", "carrier_liaison", 60, ("wecom", "in_app")),
        (Category.PRICING, "medium", "finance", "price_review", 60, ("email", "in_app")),
        (Category.PROCESS, "medium", "customer_service", "process_follow_up", 30, ("in_app",)),
        (Category.INTEGRATION, "high", "management", "order_resync", 30, ("email", "in_app")),
    ],
)
def test_the_seeded_table_routes_each_category_as_the_spec_says(
    make_rule, category, severity, department, handling, minutes, channels
):
    """The rule's own default severity is deliberately different: the table's row decides."""
    grade = _grade(make_rule(category, Severity.URGENT))
    assert grade.severity == severity
    assert grade.department.code == department
    assert grade.handling == handling
    assert grade.first_response_due_at == AT + timedelta(minutes=minutes)
    assert grade.due_at == AT + timedelta(minutes=4 * minutes)
    assert grade.notify_channels == channels


def test_the_catch_all_row_gives_every_exception_a_department(make_rule):
    GradingRule.objects.filter(category=Category.LOGISTICS).update(is_active=False)
    grade = _grade(make_rule(Category.LOGISTICS, Severity.LOW))
    assert grade.department.code == "management"
    assert grade.handling == "triage"
    assert grade.severity == Severity.LOW  # the catch-all keeps the rule's own severity
    assert grade.first_response_due_at == AT + timedelta(hours=1)


def test_without_any_matching_row_the_rule_default_applies_and_no_department(make_rule):
    GradingRule.objects.update(is_active=False)
    grade = _grade(make_rule(Category.PAYMENT, Severity.MEDIUM))
    assert grade.department is None
    assert grade.severity == Severity.MEDIUM
    assert grade.grading_rule_id is None
    assert grade.due_at == AT + timedelta(hours=4)


def _row(position, department="logistics", **fields):
    return GradingRule.objects.create(
        position=position,
        name=f"row {position}",
        department=Department.objects.get(code=department),
        handling=fields.pop("handling", "manual_check"),
        first_response_minutes=fields.pop("first_response_minutes", 15),
        **fields,
    )


def test_the_first_matching_row_by_position_wins(payment_rule):
    later = _row(2, department="logistics", category=Category.PAYMENT)
    first = _row(1, department="warehouse", category=Category.PAYMENT)
    grade = _grade(payment_rule)
    assert grade.department.code == "warehouse"
    assert grade.grading_rule_id == first.pk
    first.is_active = False
    first.save()
    assert _grade(payment_rule).grading_rule_id == later.pk


def test_a_row_for_one_rule_does_not_catch_other_rules_of_its_category(make_rule):
    special, ordinary = make_rule(Category.PAYMENT), make_rule(Category.PAYMENT)
    _row(1, department="management", rule=special)
    assert _grade(special).department.code == "management"
    assert _grade(ordinary).department.code == "finance"


def test_a_row_can_match_on_channel_amount_range_and_customer_tag(payment_rule):
    _row(1, department="management", channel="jd", min_amount=Decimal("100.00"), max_amount=Decimal("200.00"))
    _row(2, department="warehouse", customer_tag="vip")
    assert _grade(payment_rule, channel="jd", amount=Decimal("100.00")).department.code == "management"
    assert _grade(payment_rule, channel="jd", amount=Decimal("200.00")).department.code == "management"
    assert _grade(payment_rule, channel="jd", amount=Decimal("200.01")).department.code == "finance"
    assert _grade(payment_rule, channel="taobao", amount=Decimal("150.00")).department.code == "finance"
    assert _grade(payment_rule, channel="jd", amount=None).department.code == "finance"
    assert _grade(payment_rule, tags=("new", "vip")).department.code == "warehouse"


def test_a_night_window_wraps_past_midnight_in_local_time(payment_rule):
    _row(1, department="management", time_from=time(22, 0), time_to=time(6, 0))
    night = datetime(2026, 11, 24, 23, 30, tzinfo=SHANGHAI)
    early = datetime(2026, 11, 25, 5, 59, tzinfo=SHANGHAI)
    morning = datetime(2026, 11, 25, 6, 0, tzinfo=SHANGHAI)
    assert _grade(payment_rule, at=night).department.code == "management"
    assert _grade(payment_rule, at=early.astimezone(ZoneInfo("UTC"))).department.code == "management"
    assert _grade(payment_rule, at=morning).department.code == "finance"


def test_an_order_above_the_high_value_amount_is_raised_one_level(payment_rule, stock_rule):
    assert _grade(payment_rule, amount=Decimal("5000.00")).severity == Severity.MEDIUM
    assert _grade(payment_rule, amount=Decimal("5000.01")).severity == Severity.HIGH
    assert _grade(stock_rule, amount=Decimal("9999.00")).severity == Severity.URGENT


def test_urgent_stays_urgent_on_a_high_value_order(make_rule):
    _row(1, category=Category.PRICING, severity=Severity.URGENT)
    assert _grade(make_rule(Category.PRICING), amount=Decimal("80000.00")).severity == Severity.URGENT


def test_the_high_value_amount_is_read_from_the_settings_at_call_time(payment_rule, settings):
    settings.ORDERGUARD_HIGH_VALUE_AMOUNT = "100"
    assert _grade(payment_rule, amount=Decimal("100.01")).severity == Severity.HIGH
    settings.ORDERGUARD_HIGH_VALUE_AMOUNT = Decimal("1000000")
    assert _grade(payment_rule, amount=Decimal("9999.00")).severity == Severity.MEDIUM


def test_a_malformed_high_value_amount_fails_the_system_check(settings):
    settings.ORDERGUARD_HIGH_VALUE_AMOUNT = "five thousand"
    errors = [error for error in checks.run_checks() if error.id == "exceptions.E001"]
    assert len(errors) == 1
    assert "ORDERGUARD_HIGH_VALUE_AMOUNT" in errors[0].msg
    settings.ORDERGUARD_HIGH_VALUE_AMOUNT = "5000"
    assert not [error for error in checks.run_checks() if error.id == "exceptions.E001"]


def test_grading_from_an_order_reads_its_channel_amount_and_customer_tags(payment_rule):
    _row(1, department="management", channel="jd", customer_tag="wholesale")
    order = OrderFactory(channel="jd", total_amount=Decimal("6000.00"), customer=CustomerFactory(tags=["wholesale"]))
    grade = grading_decide(rule=payment_rule, order_or_none=order, at=AT)
    assert grade.department.code == "management"
    assert grade.severity == Severity.HIGH


def test_a_loaded_table_grades_many_exceptions_without_a_query(payment_rule, stock_rule):
    table = grading_table()
    with CaptureQueriesContext(connection) as queries:
        grades = [
            table.decide(rule=rule, channel="taobao", amount=Decimal(amount), customer_tags=(), at=AT)
            for rule in (payment_rule, stock_rule)
            for amount in range(1, 200)
        ]
    assert len(queries) == 0
    assert {grade.department.code for grade in grades} == {"finance", "warehouse"}
