"""The evidence of a match reads the same set-based and from loaded rows, in a bounded number of
queries, and says for each built-in rule what made it hold."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.rules.context import contexts_load
from apps.rules.details import details_from_contexts, details_from_database
from apps.rules.fields import Env
from apps.rules.language import rule_check
from apps.rules.models import ExceptionRule
from tests.orders.factories import OrderFactory, OrderLineFactory, ShipmentFactory
from tests.rules.test_property import NOW, _store, trees, worlds

pytestmark = pytest.mark.django_db

BUILTIN_CODES = [
    "PAYMENT_STATUS_MISMATCH",
    "PAYMENT_FAILED",
    "STOCK_SHORTAGE",
    "CUSTOMER_INFO_INVALID",
    "ADDRESS_INVALID",
    "TRACKING_INVALID",
    "SHIPPING_DELAY",
    "DUPLICATE_ORDER",
    "ITEM_MISMATCH",
    "PRICE_ANOMALY",
    "AMOUNT_MISMATCH",
    "REVIEW_TIMEOUT",
]
_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


def _both(code: str, condition, params: dict, ids: list[int]) -> tuple[dict, dict]:
    env = Env(now=NOW)
    by_query = details_from_database(code=code, condition=condition, params=params, order_ids=ids, env=env)
    contexts = contexts_load(order_ids=ids, now=NOW)
    by_rows = details_from_contexts(code=code, condition=condition, params=params, contexts=contexts, env=env)
    return by_query, by_rows


@_SETTINGS
@given(world=worlds(), codes=st.lists(st.sampled_from(BUILTIN_CODES), min_size=1, max_size=4, unique=True))
def test_the_built_in_rules_details_read_the_same_both_ways(world, codes):
    ids = _store(world)
    for rule in ExceptionRule.objects.filter(code__in=codes):
        condition = rule_check(rule.condition, rule.params)
        by_query, by_rows = _both(rule.code, condition, rule.params, ids)
        assert set(by_query) == set(ids)
        assert by_query == by_rows, rule.code


@_SETTINGS
@given(world=worlds(), tree=trees())
def test_any_rules_details_read_the_same_both_ways(world, tree):
    ids = _store(world)
    by_query, by_rows = _both("CUSTOM", rule_check(tree), {}, ids)
    assert by_query == by_rows, tree


def test_a_custom_rule_records_the_fields_its_condition_reads():
    order = OrderFactory(total_amount="300.00")
    OrderLineFactory(order=order, sku="SKU-9", quantity=7)
    tree = {
        "all": [
            {"field": "total_amount", "op": "gt", "value": "100"},
            {"not": {"field": "customer_phone", "op": "valid_phone"}},
            {"lines": "any", "where": {"field": "quantity", "op": "ge", "value": 5}},
        ]
    }
    by_query, by_rows = _both("CUSTOM", rule_check(tree), {}, [order.pk])
    assert by_query == by_rows
    details = by_query[order.pk]
    assert details["values"] == {
        "total_amount": "300.00",
        "customer_phone": order.customer_phone,
        "customer_phone.valid_phone": True,
        "currency": "CNY",
    }
    assert details["lines"] == [{"line_no": 2, "sku": "SKU-9", "quantity": 7}]


@pytest.mark.parametrize("code", ["STOCK_SHORTAGE", "TRACKING_INVALID", "DUPLICATE_ORDER", "ITEM_MISMATCH"])
def test_set_based_details_cost_the_same_queries_for_three_orders_as_for_thirty(code):
    rule = ExceptionRule.objects.get(code=code)
    condition = rule_check(rule.condition, rule.params)

    def queries_for(count: int) -> int:
        orders = OrderFactory.create_batch(count)
        for order in orders:
            ShipmentFactory(order=order)
        with CaptureQueriesContext(connection) as captured:
            details_from_database(
                code=code,
                condition=condition,
                params=rule.params,
                order_ids=[order.pk for order in orders],
                env=Env(now=NOW),
            )
        return len(captured)

    assert queries_for(3) == queries_for(30) <= 3


@pytest.mark.parametrize("code", ["STOCK_SHORTAGE", "PRICE_ANOMALY", "AMOUNT_MISMATCH", "SHIPPING_DELAY"])
def test_details_of_a_loaded_order_need_no_query(code):
    rule = ExceptionRule.objects.get(code=code)
    order = OrderFactory()
    contexts = contexts_load(order_ids=[order.pk], now=NOW)
    with CaptureQueriesContext(connection) as captured:
        details_from_contexts(
            code=code,
            condition=rule_check(rule.condition, rule.params),
            params=rule.params,
            contexts=contexts,
            env=Env(now=NOW),
        )
    assert len(captured) == 0
