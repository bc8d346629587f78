"""The order's custom fields in the rule language: ``data.<key>`` for the fields of the published
order form, read the same by the compiled query and by the Python predicate."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.utils import timezone, translation

from apps.exceptions.evidence import summary_text
from apps.formdesigner import services as form_services
from apps.formdesigner.builtin import ORDER_FORM_KEY
from apps.formdesigner.models import FormDefinition
from apps.orders.models import Order
from apps.rules.builder import builder_catalogue
from apps.rules.catalogue import rule_builder_catalogue
from apps.rules.compiler import condition_q
from apps.rules.context import contexts_load
from apps.rules.details import details_from_contexts, details_from_database
from apps.rules.evaluator import evaluate
from apps.rules.fields import Env, FieldType, custom_fields, fields_of
from apps.rules.language import RuleError, rule_check
from apps.rules.models import ExceptionRule
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
    {"key": "due", "type": "date", "label": {"zh-hans": "承诺发货日期", "en": "Ship-by date"}},
    {"key": "promised_at", "type": "datetime", "label": {"zh-hans": "承诺时间", "en": "Promised at"}},
    {
        "key": "tags",
        "type": "multichoice",
        "label": {"zh-hans": "标签", "en": "Tags"},
        "choices": [
            {"value": "urgent", "label": {"zh-hans": "加急", "en": "Urgent"}},
            {"value": "gift", "label": {"zh-hans": "礼品", "en": "Gift"}},
            {"value": "fragile", "label": {"zh-hans": "易碎", "en": "Fragile"}},
        ],
    },
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


def selected(tree: dict, now: datetime | None = None) -> tuple[set[int], set[int]]:
    """(ids the query selects, ids the predicate accepts) among all orders, at ``now``."""
    now = now or timezone.now()
    condition = rule_check(tree)
    ids = list(Order.objects.values_list("pk", flat=True))
    by_query = set(Order.objects.filter(condition_q(condition, Env(now=now))).values_list("pk", flat=True))
    by_predicate = {pk for pk, ctx in contexts_load(order_ids=ids, now=now).items() if evaluate(condition, ctx)}
    return by_query, by_predicate


def test_the_published_fields_of_known_types_are_fields_of_the_order(order_form):
    found = custom_fields()
    assert set(found) == {
        "data.invoice_title",
        "data.tier",
        "data.boxes",
        "data.deposit",
        "data.weight",
        "data.gift",
        "data.due",
        "data.promised_at",
        "data.tags",
    }
    assert found["data.tier"].type is FieldType.ENUM and found["data.tier"].choices == ("gold", "plain")
    assert found["data.deposit"].type is FieldType.DECIMAL
    assert found["data.due"].type is FieldType.DATE
    assert found["data.promised_at"].type is FieldType.DATETIME
    assert found["data.tags"].type is FieldType.SET and found["data.tags"].choices == ("urgent", "gift", "fragile")
    assert "data.tier" in fields_of("order") and "data.due" in fields_of("order")
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


# --- Dates, times and multiple choices ------------------------------------------------------------

# 2026-11-24 10:00 in Shanghai, written three ways; then values around it, a missing key and null.
PROMISED = [
    "2026-11-24T10:00:00+08:00",
    "2026-11-24T02:00:00Z",
    "2026-11-23T21:00:00-05:00",
    "2026-11-24T09:59:59.999999+08:00",
    "2026-11-24T02:00:00.000001Z",
    "2026-11-24T01:59:59.5Z",
    "2026-11-24T00:30:00+08:00",
]
DUE = ["2026-11-23", "2026-11-24", "2026-11-25"]
TAGS = [["urgent"], ["gift", "urgent"], ["fragile"], ["gift"]]


@pytest.fixture
def dated(order_form):
    """Orders by what their data holds: ``promised:<i>``, ``due:<i>``, ``tags:<i>``; ``missing`` (no
    keys) and ``null`` (JSON null under each key)."""
    orders = {f"promised:{i}": OrderFactory(data={"promised_at": value}) for i, value in enumerate(PROMISED)}
    orders |= {f"due:{i}": OrderFactory(data={"due": value}) for i, value in enumerate(DUE)}
    orders |= {f"tags:{i}": OrderFactory(data={"tags": value}) for i, value in enumerate(TAGS)}
    orders["missing"] = OrderFactory(data={})
    orders["null"] = OrderFactory(data={"due": None, "promised_at": None, "tags": None})
    return orders


def ids(orders: dict, *names: str) -> set[int]:
    return {orders[name].pk for name in names}


SHANGHAI_10 = "2026-11-24T10:00:00+08:00"


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ({"field": "data.promised_at", "op": "eq", "value": SHANGHAI_10}, {0, 1, 2}),
        ({"field": "data.promised_at", "op": "eq", "value": "2026-11-24T02:00:00Z"}, {0, 1, 2}),
        ({"field": "data.promised_at", "op": "ne", "value": SHANGHAI_10}, {3, 4, 5, 6}),
        ({"field": "data.promised_at", "op": "lt", "value": SHANGHAI_10}, {3, 5, 6}),
        ({"field": "data.promised_at", "op": "le", "value": SHANGHAI_10}, {0, 1, 2, 3, 5, 6}),
        ({"field": "data.promised_at", "op": "gt", "value": SHANGHAI_10}, {4}),
        ({"field": "data.promised_at", "op": "ge", "value": "2026-11-24T09:59:59.999999+08:00"}, {0, 1, 2, 3, 4}),
        # Midnight in Shanghai is 16:00 UTC the day before.
        ({"field": "data.promised_at", "op": "lt", "value": "2026-11-23T16:00:00Z"}, set()),
        ({"field": "data.promised_at", "op": "lt", "value": "2026-11-23T16:30:00.000001Z"}, {6}),
        (
            {"field": "data.promised_at", "op": "between", "value": ["2026-11-24T01:59:59.5Z", SHANGHAI_10]},
            {0, 1, 2, 3, 5},
        ),
        ({"not": {"field": "data.promised_at", "op": "lt", "value": SHANGHAI_10}}, {0, 1, 2, 4, "others"}),
    ],
)
def test_a_custom_time_compares_as_an_instant_whatever_its_offset(dated, tree, expected):
    """Times written with other offsets are the same instant; a missing or null time compares false."""
    names = {f"promised:{i}" for i in expected if isinstance(i, int)}
    if "others" in expected:
        names |= {name for name in dated if not name.startswith("promised:")}
    by_query, by_predicate = selected(tree)
    assert by_query == by_predicate == ids(dated, *names)


def test_a_custom_time_is_empty_when_missing_or_null(dated):
    by_query, by_predicate = selected({"field": "data.promised_at", "op": "is_empty"})
    assert by_query == by_predicate == {order.pk for name, order in dated.items() if not name.startswith("promised:")}
    by_query, by_predicate = selected({"field": "data.promised_at", "op": "is_not_empty"})
    assert by_query == by_predicate == {order.pk for name, order in dated.items() if name.startswith("promised:")}


@pytest.mark.parametrize(
    ("now", "op", "duration", "expected"),
    [
        # 10:00 in Shanghai is 02:00 UTC: an hour later it was one hour ago.
        ("2026-11-24T03:00:00Z", "older_than", "1h", {3, 5, 6}),
        ("2026-11-24T03:00:00Z", "newer_than", "1h", {4}),
        ("2026-11-24T03:00:00.000001Z", "older_than", "1h", {0, 1, 2, 3, 5, 6}),
    ],
)
def test_a_custom_time_is_measured_from_now(dated, now, op, duration, expected):
    tree = {"field": "data.promised_at", "op": op, "value": duration}
    by_query, by_predicate = selected(tree, datetime.fromisoformat(now))
    assert by_query == by_predicate == ids(dated, *(f"promised:{i}" for i in expected))


def test_a_custom_time_compares_with_a_time_of_the_order(dated):
    for name, placed in [("promised:0", "2026-11-24T01:59:59Z"), ("promised:3", "2026-11-24T02:00:00Z")]:
        Order.objects.filter(pk=dated[name].pk).update(placed_at=datetime.fromisoformat(placed))
    Order.objects.exclude(pk__in=ids(dated, "promised:0", "promised:3")).update(
        placed_at=datetime.fromisoformat("2026-12-01T00:00:00Z")
    )
    by_query, by_predicate = selected({"field": "data.promised_at", "op": "gt", "value": {"field": "placed_at"}})
    assert by_query == by_predicate == ids(dated, "promised:0")


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ({"field": "data.due", "op": "eq", "value": "2026-11-24"}, {1}),
        ({"field": "data.due", "op": "ne", "value": "2026-11-24"}, {0, 2}),
        ({"field": "data.due", "op": "lt", "value": "2026-11-24"}, {0}),
        ({"field": "data.due", "op": "le", "value": "2026-11-24"}, {0, 1}),
        ({"field": "data.due", "op": "gt", "value": "2026-11-24"}, {2}),
        ({"field": "data.due", "op": "ge", "value": "2026-11-25"}, {2}),
        ({"field": "data.due", "op": "between", "value": ["2026-11-24", "2026-11-25"]}, {1, 2}),
        ({"field": "data.due", "op": "is_not_empty"}, {0, 1, 2}),
    ],
)
def test_a_custom_date_compares_as_a_date(dated, tree, expected):
    by_query, by_predicate = selected(tree)
    assert by_query == by_predicate == ids(dated, *(f"due:{i}" for i in expected))


def test_a_custom_date_is_empty_when_missing_or_null(dated):
    by_query, by_predicate = selected({"field": "data.due", "op": "is_empty"})
    assert by_query == by_predicate == {order.pk for name, order in dated.items() if not name.startswith("due:")}


@pytest.mark.parametrize(
    ("now", "op", "duration", "expected"),
    [
        # 23:59:59 on the 24th in Shanghai: "longer ago than 1 day" is before today, the 24th.
        ("2026-11-24T15:59:59Z", "older_than", "1d", {0}),
        ("2026-11-24T15:59:59Z", "newer_than", "1d", {1, 2}),
        # Exactly midnight: the 24th began exactly one day ago, neither longer nor less long.
        ("2026-11-24T16:00:00Z", "older_than", "1d", {0}),
        ("2026-11-24T16:00:00Z", "newer_than", "1d", {2}),
        # Just after midnight in Shanghai (still the 24th in UTC): today is the 25th.
        ("2026-11-24T16:00:01Z", "older_than", "1d", {0, 1}),
        ("2026-11-24T16:00:01Z", "newer_than", "1d", {2}),
        ("2026-11-24T16:00:01Z", "newer_than", "0d", set()),
        ("2026-11-24T16:00:01Z", "older_than", "36h", {0}),
        ("2026-11-25T04:00:01Z", "older_than", "36h", {0, 1}),
    ],
)
def test_a_custom_date_counts_its_age_from_midnight_in_the_site_time_zone(dated, now, op, duration, expected):
    tree = {"field": "data.due", "op": op, "value": duration}
    by_query, by_predicate = selected(tree, datetime.fromisoformat(now))
    assert by_query == by_predicate == ids(dated, *(f"due:{i}" for i in expected))


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ({"field": "data.tags", "op": "contains", "value": "urgent"}, {0, 1}),
        ({"field": "data.tags", "op": "contains", "value": "fragile"}, {2}),
        ({"field": "data.tags", "op": "in", "value": ["fragile", "gift"]}, {1, 2, 3}),
        ({"field": "data.tags", "op": "not_in", "value": ["urgent"]}, {2, 3}),
        ({"field": "data.tags", "op": "not_in", "value": ["urgent", "gift", "fragile"]}, set()),
        ({"field": "data.tags", "op": "is_not_empty"}, {0, 1, 2, 3}),
        ({"not": {"field": "data.tags", "op": "contains", "value": "urgent"}}, {2, 3, "others"}),
    ],
)
def test_a_custom_multiple_choice_holds_its_options(dated, tree, expected):
    """A missing or null multiple choice holds no option: it neither contains one nor holds none of a list."""
    names = {f"tags:{i}" for i in expected if isinstance(i, int)}
    if "others" in expected:
        names |= {name for name in dated if not name.startswith("tags:")}
    by_query, by_predicate = selected(tree)
    assert by_query == by_predicate == ids(dated, *names)


def test_a_custom_multiple_choice_is_empty_when_missing_or_null(dated):
    by_query, by_predicate = selected({"field": "data.tags", "op": "is_empty"})
    assert by_query == by_predicate == {order.pk for name, order in dated.items() if not name.startswith("tags:")}


@pytest.mark.parametrize(
    ("tree", "path"),
    [
        ({"field": "data.due", "op": "lt", "value": "2026-02-30"}, "value"),
        ({"field": "data.due", "op": "lt", "value": "2026-1-5"}, "value"),
        ({"field": "data.due", "op": "lt", "value": {"field": "placed_at"}}, "value"),
        ({"field": "data.promised_at", "op": "lt", "value": "2026-11-24T10:00:00"}, "value"),
        ({"field": "data.tags", "op": "contains", "value": "vip"}, "value"),
        ({"field": "data.tags", "op": "in", "value": ["urgent", "vip"]}, "value.1"),
        ({"field": "data.tags", "op": "eq", "value": "urgent"}, "op"),
        ({"field": "data.tags", "op": "startswith", "value": "urg"}, "op"),
    ],
)
def test_values_that_do_not_fit_a_date_a_time_or_the_options_are_refused(order_form, tree, path):
    with pytest.raises(RuleError) as refused:
        rule_check(tree)
    assert refused.value.path == path


def test_null_reads_as_no_value_for_every_custom_type(order_form):
    """JSON null is no value on both databases (SQLite's JSON reading gives it as the text 'null')."""
    keys = [field["key"] for field in FIELDS]
    nulls = OrderFactory(data=dict.fromkeys(keys))
    filled = {"invoice_title": "null", "tier": "gold", "boxes": 0, "deposit": "0.00", "weight": "0", "gift": False}
    OrderFactory(data={**filled, "due": "2026-11-24", "promised_at": SHANGHAI_10, "tags": ["gift"]})
    for key in keys:
        by_query, by_predicate = selected({"field": f"data.{key}", "op": "is_empty"})
        assert by_query == by_predicate == {nulls.pk}, key
    for tree in [
        {"field": "data.boxes", "op": "eq", "value": 0},
        {"field": "data.deposit", "op": "le", "value": "0"},
        {"field": "data.invoice_title", "op": "contains", "value": "ul"},
    ]:
        by_query, by_predicate = selected(tree)
        assert nulls.pk not in by_query and by_query == by_predicate


def test_the_details_of_a_match_read_the_same_from_the_database_and_the_order(dated):
    tree = {
        "any": [
            {"field": "data.due", "op": "le", "value": "2026-11-24"},
            {"field": "data.promised_at", "op": "lt", "value": SHANGHAI_10},
            {"field": "data.tags", "op": "contains", "value": "urgent"},
        ]
    }
    condition = rule_check(tree)
    now = timezone.now()
    matched = sorted(Order.objects.filter(condition_q(condition, Env(now=now))).values_list("pk", flat=True))
    assert len(matched) == 2 + 3 + 2
    from_database = details_from_database(code="", condition=condition, params={}, order_ids=matched, env=Env(now=now))
    contexts = contexts_load(order_ids=matched, now=now)
    from_orders = details_from_contexts(code="", condition=condition, params={}, contexts=contexts, env=Env(now=now))
    assert from_database == from_orders
    values = from_database[dated["promised:3"].pk]["values"]
    assert values["data.promised_at"] == "2026-11-24T01:59:59.999999+00:00"
    assert from_database[dated["due:1"].pk]["values"]["data.due"] == "2026-11-24"
    assert from_database[dated["tags:1"].pk]["values"]["data.tags"] == ["gift", "urgent"]
    rule = ExceptionRule(code="TAGGED", name="标记订单", name_en="Tagged order")
    summary = summary_text(rule=rule, details={"values": {"data.tags": ["gift", "urgent"]}})
    assert summary == "Tagged order: Tags Gift, Urgent"


def test_dates_times_and_multiple_choices_read_as_sentences(order_form):
    contains = {"field": "data.tags", "op": "contains", "value": "urgent"}
    assert condition_sentence(contains) == "Tags contains Urgent"
    with translation.override("zh-hans"):
        assert condition_sentence(contains) == "标签 包含 加急"
    assert (
        condition_sentence({"field": "data.tags", "op": "in", "value": ["urgent", "gift"]})
        == "Tags includes any of Urgent, Gift"
    )
    assert (
        condition_sentence({"field": "data.tags", "op": "not_in", "value": ["fragile"]})
        == "Tags includes none of Fragile"
    )
    assert condition_sentence({"field": "data.due", "op": "older_than", "value": "1d"}) == (
        "Ship-by date is more than 24 h ago"
    )
    assert condition_sentence({"field": "data.due", "op": "lt", "value": "2026-11-24"}) == "Ship-by date < 2026-11-24"


def test_the_builder_offers_dates_times_and_multiple_choices_with_their_inputs(order_form):
    """The builder's script picks a value input by the field's type: a date, a time, the options."""
    catalogue = builder_catalogue()
    custom = next(g for g in catalogue["scopes"]["order"]["groups"] if g["key"] == "custom")
    by_name = {field["name"]: field for field in custom["fields"]}
    assert by_name["data.due"]["type"] == "date" and by_name["data.due"]["typeLabel"] == "date"
    assert by_name["data.promised_at"]["type"] == "datetime"
    tags = by_name["data.tags"]
    assert tags["type"] == "set" and tags["typeLabel"] == "multiple choice"
    assert tags["choices"] == [
        {"value": "urgent", "label": "Urgent"},
        {"value": "gift", "label": "Gift"},
        {"value": "fragile", "label": "Fragile"},
    ]
    assert catalogue["opsByType"]["set"] == ["in", "not_in", "contains", "is_empty", "is_not_empty"]
    assert catalogue["opsByType"]["date"] == catalogue["opsByType"]["datetime"]
    assert "older_than" in catalogue["opsByType"]["date"]
    assert catalogue["typeOpWords"]["set"] == {"in": "includes any of", "not_in": "includes none of"}
    assert catalogue["typeOpWords"]["date"]["lt"] == "is before"

    api = {field["name"]: field for group in rule_builder_catalogue()["groups"] for field in group["fields"]}
    assert api["data.tags"]["type"] == "set"
    assert api["data.tags"]["operators"] == ["in", "not_in", "contains", "is_empty", "is_not_empty"]
    assert api["data.tags"]["choices"][0] == {"value": "urgent", "label": {"zh-hans": "加急", "en": "Urgent"}}
    assert api["data.due"]["type"] == "date" and "older_than" in api["data.due"]["operators"]
