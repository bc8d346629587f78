"""Each database invariant of exceptions and of the grading table: refused by the database and by full_clean."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import Department
from apps.exceptions.models import ExceptionStatus, GradingRule, OrderException
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


def _exception(rule, order=None, **fields) -> OrderException:
    now = timezone.now()
    values = {
        "rule": rule,
        "order": order,
        "channel": order.channel if order else "taobao",
        "external_id": order.external_id if order else "TB-MISSING-1",
        "severity": rule.default_severity,
        "category": rule.category,
        "summary": rule.name,
        "detected_at": now,
        "last_detected_at": now,
        **fields,
    }
    return OrderException(**values)


def _refused_by_database(build) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        build().save()


def test_a_rule_has_at_most_one_active_exception_per_order(stock_rule):
    order = OrderFactory()
    _exception(stock_rule, order).save()
    _refused_by_database(lambda: _exception(stock_rule, order, status=ExceptionStatus.ASSIGNED))
    with pytest.raises(ValidationError, match="already has an active exception"):
        _exception(stock_rule, order).full_clean()


def test_a_new_exception_is_allowed_once_the_active_one_is_auto_resolved(stock_rule):
    order = OrderFactory()
    first = _exception(stock_rule, order)
    first.save()
    OrderException.objects.filter(pk=first.pk).update(status=ExceptionStatus.AUTO_RESOLVED, resolved_at=timezone.now())
    second = _exception(stock_rule, order)
    second.full_clean()
    second.save()
    assert OrderException.objects.filter(rule=stock_rule, order=order).count() == 2


def test_other_rules_and_other_orders_each_get_their_own_active_exception(make_rule, stock_rule):
    order, other_order = OrderFactory(), OrderFactory()
    _exception(stock_rule, order).save()
    _exception(stock_rule, other_order).save()
    _exception(make_rule(), order).save()
    assert OrderException.objects.filter(status=ExceptionStatus.OPEN).count() == 3


def test_an_order_less_exception_is_unique_per_rule_channel_and_external_id(make_rule):
    rule = make_rule("integration")
    _exception(rule, external_id="TB-9").save()
    _refused_by_database(lambda: _exception(rule, external_id="TB-9"))
    with pytest.raises(ValidationError, match="already has an active exception"):
        _exception(rule, external_id="TB-9").full_clean()
    _exception(rule, external_id="TB-9", channel="jd").save()
    _exception(rule, external_id="TB-10").save()


def test_an_order_less_exception_needs_the_channel_and_external_id(stock_rule):
    _refused_by_database(lambda: _exception(stock_rule, external_id=""))
    with pytest.raises(ValidationError):
        _exception(stock_rule, external_id="").full_clean()


def test_occurrences_start_at_one(stock_rule):
    _refused_by_database(lambda: _exception(stock_rule, OrderFactory(), occurrences=0))
    with pytest.raises(ValidationError):
        _exception(stock_rule, OrderFactory(), occurrences=0).full_clean()


def test_an_unknown_status_is_refused(stock_rule):
    _refused_by_database(lambda: _exception(stock_rule, OrderFactory(), status="lost"))
    with pytest.raises(ValidationError):
        _exception(stock_rule, OrderFactory(), status="lost").full_clean()


@pytest.mark.parametrize("status", [ExceptionStatus.RESOLVED, ExceptionStatus.AUTO_RESOLVED])
def test_a_resolved_exception_records_when(stock_rule, status):
    _refused_by_database(lambda: _exception(stock_rule, OrderFactory(), status=status))
    _exception(stock_rule, OrderFactory(), status=status, resolved_at=timezone.now()).save()


@pytest.mark.parametrize("status", [ExceptionStatus.CLOSED, ExceptionStatus.DISMISSED])
def test_a_closed_or_dismissed_exception_records_when(stock_rule, status):
    now = timezone.now()
    _refused_by_database(lambda: _exception(stock_rule, OrderFactory(), status=status, resolved_at=now))
    _exception(stock_rule, OrderFactory(), status=status, resolved_at=now, closed_at=now).save()


def test_a_recurrence_names_the_exception_it_repeats(stock_rule):
    _refused_by_database(lambda: _exception(stock_rule, OrderFactory(), is_recurrence=True))
    earlier = _exception(stock_rule, OrderFactory(), status=ExceptionStatus.AUTO_RESOLVED, resolved_at=timezone.now())
    earlier.save()
    _refused_by_database(lambda: _exception(stock_rule, earlier.order, recurrence_of=earlier))
    _exception(stock_rule, earlier.order, is_recurrence=True, recurrence_of=earlier).save()


def test_the_last_detection_is_never_before_the_first(stock_rule):
    later = timezone.now()
    _refused_by_database(
        lambda: _exception(stock_rule, OrderFactory(), detected_at=later, last_detected_at=later.replace(year=2020))
    )


# --- Grading table ------------------------------------------------------------------------------


def _grading_row(**fields) -> GradingRule:
    values = {
        "position": 5,
        "department": Department.objects.get(code="finance"),
        "handling": "manual_check",
        "first_response_minutes": 30,
        **fields,
    }
    return GradingRule(**values)


def test_a_grading_amount_range_may_not_be_inverted():
    build = lambda: _grading_row(min_amount=Decimal("100.00"), max_amount=Decimal("99.99"))  # noqa: E731
    _refused_by_database(build)
    with pytest.raises(ValidationError) as caught:
        build().full_clean()
    assert "max_amount" in caught.value.message_dict
    _grading_row(min_amount=Decimal("100.00"), max_amount=Decimal("100.00")).full_clean()


def test_a_grading_first_response_takes_at_least_a_minute():
    _refused_by_database(lambda: _grading_row(first_response_minutes=0))
    with pytest.raises(ValidationError) as caught:
        _grading_row(first_response_minutes=0).full_clean()
    assert "first_response_minutes" in caught.value.message_dict


def test_a_grading_resolution_is_not_shorter_than_the_first_response():
    _refused_by_database(lambda: _grading_row(first_response_minutes=30, resolution_minutes=20))
    with pytest.raises(ValidationError) as caught:
        _grading_row(first_response_minutes=30, resolution_minutes=20).full_clean()
    assert "resolution_minutes" in caught.value.message_dict


def test_a_grading_time_window_has_both_ends_or_none():
    _refused_by_database(lambda: _grading_row(time_from=time(22, 0)))
    with pytest.raises(ValidationError) as caught:
        _grading_row(time_from=time(22, 0)).full_clean()
    assert "time_to" in caught.value.message_dict
    _grading_row(time_from=time(22, 0), time_to=time(6, 0)).full_clean()


def test_grading_notification_channels_must_be_known():
    with pytest.raises(ValidationError) as caught:
        _grading_row(notify_channels=["in_app", "pigeon"]).full_clean()
    assert "pigeon" in str(caught.value.message_dict["notify_channels"])
    _grading_row(notify_channels=["email", "in_app"]).full_clean()
