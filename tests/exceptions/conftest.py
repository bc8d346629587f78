"""Rules and orders for exception tests, made the way the detection engine would see them."""

from __future__ import annotations

import itertools

import pytest

from apps.rules.models import Category, ExceptionRule, Severity

_codes = itertools.count(1)


@pytest.fixture
def make_rule(db):
    """Make an exception rule of a category; codes are unique so they never clash with the built-in library."""

    def make(category: str = Category.INVENTORY, severity: str = Severity.HIGH, code: str | None = None):
        code = code or f"TEST_{category.upper()}_{next(_codes)}"
        return ExceptionRule.objects.create(
            code=code,
            name=f"测试规则 {code}",
            name_en=f"Test rule {code}",
            category=category,
            default_severity=severity,
            condition={"all": []},
        )

    return make


@pytest.fixture
def stock_rule(make_rule):
    return make_rule(Category.INVENTORY, Severity.HIGH)


@pytest.fixture
def payment_rule(make_rule):
    return make_rule(Category.PAYMENT, Severity.MEDIUM)
