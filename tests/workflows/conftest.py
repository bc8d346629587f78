"""Exceptions raised the way detection raises them, the people who handle them, and the engine
run in-process (the sweep and the timers called directly; the process tests run them in Celery)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from apps.exceptions.models import OrderException
from apps.exceptions.services import exceptions_sync
from apps.rules.models import Category, ExceptionRule, Severity
from tests.conftest import _make_user, _token_client
from tests.orders.factories import OrderFactory

_codes = itertools.count(1)


@pytest.fixture
def raise_exception(db):
    """Raise an active exception of ``category`` on a new order (graded by the seeded table)."""

    def make(category: str = Category.PAYMENT, *, order=None, details=None, code: str | None = None) -> OrderException:
        code = code or f"TEST_{category.upper()}_{next(_codes)}"
        rule = ExceptionRule.objects.filter(code=code).first() or ExceptionRule.objects.create(
            code=code,
            name=f"测试规则 {code}",
            name_en=f"Test rule {code}",
            category=category,
            default_severity=Severity.MEDIUM,
            condition={"all": []},
        )
        order = order or OrderFactory()
        result = exceptions_sync(rule=rule, scope_order_ids=[order.pk], matched={order.pk: details or {}})
        return OrderException.objects.get(pk=result.created_ids[0])

    return make


@pytest.fixture
def engine_run(db):
    """Start every handling request now (what the after-commit task and the sweep do)."""
    from workflows.services import cases_sweep

    def run():
        return cases_sweep(grace=timedelta(0))

    return run


@pytest.fixture
def finance_user(db):
    return _make_user("fin-staff", "staff", "finance")


@pytest.fixture
def finance_user2(db):
    return _make_user("fin-staff2", "staff", "finance")


@pytest.fixture
def warehouse_user(db):
    return _make_user("wh-clerk", "staff", "warehouse")


@pytest.fixture
def finance_api(finance_user):
    return _token_client(finance_user)


@pytest.fixture
def warehouse_api(warehouse_user):
    return _token_client(warehouse_user)
