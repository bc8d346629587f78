"""A rule that can't be used is refused when it is checked, with the path of the bad node."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.rules.language import Each, Group, Leaf, RuleError, now_dependent, parse_duration, rule_check


@pytest.mark.parametrize(
    ("tree", "path", "fragment"),
    [
        ({"field": "colour", "op": "eq", "value": "red"}, "field", "Unknown field"),
        ({"field": "total_amount", "op": "contains", "value": "1"}, "op", "does not apply"),
        ({"field": "status", "op": "eq", "value": "lost"}, "value", "not one of"),
        ({"field": "total_amount", "op": "gt", "value": "ten"}, "value", "decimal"),
        ({"field": "total_amount", "op": "gt", "value": {"field": "status"}}, "value", "types differ"),
        ({"field": "total_amount", "op": "gt", "value": {"param": "limit"}}, "value", "Unknown parameter"),
        ({"field": "placed_at", "op": "older_than", "value": "2 hours"}, "value", "not a duration"),
        ({"field": "placed_at", "op": "gt", "value": "2026-11-24T10:00:00"}, "value", "UTC offset"),
        ({"field": "customer.name", "op": "matches", "value": "(unclosed"}, "value", "regular expression"),
        ({"field": "customer.name", "op": "is_empty", "value": ""}, "value", "takes no value"),
        ({"field": "total_amount", "op": "between", "value": ["5", "1"]}, "value", "low end"),
        ({"all": []}, "all", "non-empty list"),
        ({"all": [{"field": "status", "op": "eq"}]}, "all.0.value", "needs a value"),
        ({"lines": "some", "where": {"field": "sku", "op": "eq", "value": "A"}}, "lines", "any"),
        ({"lines": "any", "where": {"field": "status", "op": "eq", "value": "paid"}}, "where.field", "Unknown field"),
        (
            {"lines": "any", "where": {"payments": "any", "where": {"field": "amount", "op": "gt", "value": "1"}}},
            "where",
            "order level",
        ),
        ({"field": "status", "op": "eq", "value": "paid", "extra": 1}, "condition", "Unexpected keys"),
        ("status == paid", "condition", "condition object"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_node(tree, path, fragment):
    with pytest.raises(RuleError) as info:
        rule_check(tree)
    assert info.value.path == path
    assert fragment in info.value.message


def test_parameters_fill_values_and_must_fit_the_field():
    tree = {"field": "placed_at", "op": "older_than", "value": {"param": "window"}}
    leaf = rule_check(tree, {"window": "30m"})
    assert isinstance(leaf, Leaf) and leaf.value == timedelta(minutes=30)
    with pytest.raises(RuleError, match="duration"):
        rule_check(tree, {"window": 30})
    ratio = rule_check({"field": "total_amount", "op": "gt", "value": {"param": "limit"}}, {"limit": "5000"})
    assert str(ratio.value) == "5000"


def test_a_deep_or_huge_tree_is_refused():
    tree = {"field": "status", "op": "eq", "value": "paid"}
    for _ in range(20):
        tree = {"not": tree}
    with pytest.raises(RuleError, match="nested"):
        rule_check(tree)
    with pytest.raises(RuleError, match="nodes"):
        rule_check({"any": [{"field": "status", "op": "eq", "value": "paid"}] * 250})


def test_a_good_tree_is_typed_and_knows_whether_the_clock_matters():
    condition = rule_check(
        {
            "all": [
                {"field": "status", "op": "in", "value": ["paid", "reviewed"]},
                {"lines": "any", "where": {"field": "quantity", "op": "gt", "value": {"field": "available_stock"}}},
            ]
        }
    )
    assert isinstance(condition, Group) and isinstance(condition.children[1], Each)
    assert not now_dependent(condition)
    assert now_dependent(rule_check({"field": "paid_at", "op": "older_than", "value": "2h"}))


@pytest.mark.parametrize(("text", "expected"), [("30m", 1800), ("2h", 7200), ("3d", 259200), ("1h30m", 5400)])
def test_durations_parse(text, expected):
    assert parse_duration(text).total_seconds() == expected
