"""The order's custom fields in the rule language: ``data.<key>`` for the fields of the published
order form, read the same by the compiled query and by the Python predicate."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.formdesigner import services as form_services
from apps.formdesigner.builtin import ORDER_FORM_KEY
from apps.formdesigner.models import FormDefinition
from apps.orders.models import Order
from apps.rules.compiler import condition_q
from apps.rules.context import contexts_load
from apps.rules.evaluator import evaluate
from apps.rules.fields import Env, FieldType, custom_fields, fields_of
from apps.rules.language import RuleError, rule_check
from apps.rules.sentence import condition_sentence
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

FIELDS = [
    {"key": "invoice_title", "type": "text", "label": {"zh-hans": "发票抬头", "en": "Invoice title"}},
    {
        "key": "tier",
        "type": "choice",
        "label": {"zh-hans": "等级", "en": "Tier"},
        "choices": [
            {"value": "gold", "label": {"zh-hans": "金卡", "en": "Gold"}},
            {"value": "plain", "label": {"zh-hans": "普通", "en": "Plain"}},
        ],
    },
    {"key": "boxes", "type": "integer", "label": {"zh-hans": "箱数", "en": "Boxes"}},
    {"key": "deposit", "type": "money", "label": {"zh-hans": "定金", "en": "Deposit"}},
    {"key": "weight", "type": "decimal", "label": {"zh-hans": "重量", "en": "Weight"}, "decimal_places": 3},
    {"key": "gift", "type": "boolean", "label": {"zh-hans": "礼品", "en": "Gift"}},
    {"key": "due", "type": "date", "label": {"zh-hans": "到期", "en": "Due"}},
]


@pytest.fixture
def order_form():
    form = FormDefinition.objects.get(key=ORDER_FORM_KEY)
    form_services.form_save_draft(key=ORDER_FORM_KEY, document={**form.draft, "fields": FIELDS})
    form_services.form_publish(key=ORDER_FORM_KEY)


@pytest.fixture
def shop(order_form):
    values = [
        {"invoice_title": "某某公司", "tier": "gold", "boxes": 3, "deposit": "100.00", "weight": "1.250", "gift": True},
        {"invoice_title": "", "tier": "plain", "boxes": 12, "deposit": "99.99", "weight": "0.5", "gift": False},
        {"tier": "gold", "boxes": 0, "deposit": "0.00"},
        {},
    ]
    return [OrderFactory(data=data) for data in values]


def selected(tree: dict) -> tuple[set[int], set[int]]:
    """(ids the query selects, ids the predicate accepts) among all orders."""
    now = timezone.now()
    condition = rule_check(tree)
    ids = list(Order.objects.values_list("pk", flat=True))
    by_query = set(Order.objects.filter(condition_q(condition, Env(now=now))).values_list("pk", flat=True))
    by_predicate = {pk for pk, ctx in contexts_load(order_ids=ids, now=now).items() if evaluate(condition, ctx)}
    return by_query, by_predicate


def test_the_published_fields_of_known_types_are_fields_of_the_order(order_form):
    found = custom_fields()
    assert set(found) == {"data.invoice_title", "data.tier", "data.boxes", "data.deposit", "data.weight", "data.gift"}
    assert found["data.tier"].type is FieldType.ENUM and found["data.tier"].choices == ("gold", "plain")
    assert found["data.deposit"].type is FieldType.DECIMAL
    assert "data.tier" in fields_of("order") and "data.due" not in fields_of("order")
    assert "data.tier" not in list(fields_of("order")), "iterating lists the declared fields only"


def test_without_a_published_order_form_there_are_none():
    assert custom_fields() == {}
    with pytest.raises(RuleError) as refused:
        rule_check({"field": "data.tier", "op": "eq", "value": "gold"})
    assert refused.value.path == "field"


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ({"field": "data.tier", "op": "eq", "value": "gold"}, {0, 2}),
        ({"field": "data.tier", "op": "in", "value": ["plain"]}, {1}),
        ({"field": "data.tier", "op": "is_empty"}, {3}),
        ({"field": "data.invoice_title", "op": "contains", "value": "公司"}, {0}),
        ({"field": "data.invoice_title", "op": "is_empty"}, {1, 2, 3}),
        ({"field": "data.boxes", "op": "gt", "value": 2}, {0, 1}),
        ({"field": "data.boxes", "op": "between", "value": [0, 3]}, {0, 2}),
        ({"field": "data.deposit", "op": "ge", "value": "99.995"}, {0}),
        ({"field": "data.deposit", "op": "lt", "value": "100"}, {1, 2}),
        ({"field": "data.weight", "op": "gt", "value": "1.2"}, {0}),
        ({"field": "data.gift", "op": "eq", "value": True}, {0}),
        ({"field": "data.gift", "op": "ne", "value": True}, {1}),
        ({"field": "data.gift", "op": "is_not_empty"}, {0, 1}),
        ({"not": {"field": "data.boxes", "op": "gt", "value": 2}}, {2, 3}),
    ],
)
def test_a_custom_field_reads_the_same_in_sql_and_in_python(shop, tree, expected):
    by_query, by_predicate = selected(tree)
    assert by_query == by_predicate == {shop[i].pk for i in expected}


def test_a_custom_field_compares_with_a_field_of_its_type(shop):
    tree = {"field": "data.deposit", "op": "lt", "value": {"field": "total_amount"}}
    by_query, by_predicate = selected(tree)
    assert by_query == by_predicate == {order.pk for order in shop[:3]}


def test_a_custom_field_reads_by_its_label_and_its_options_in_the_page_language(order_form):
    tree = {
        "all": [{"field": "data.tier", "op": "eq", "value": "gold"}, {"field": "data.boxes", "op": "gt", "value": 2}]
    }
    assert condition_sentence(tree) == "Tier is Gold and Boxes > 2"
