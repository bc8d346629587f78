"""A rule's condition reads as a sentence in the page's language."""

from __future__ import annotations

from django.utils import translation

from apps.rules.sentence import condition_sentence

PAYMENT = {
    "all": [
        {"field": "status", "op": "in", "value": ["paid", "reviewed"]},
        {"field": "paid_total", "op": "lt", "value": {"field": "total_amount"}},
    ]
}


def test_a_condition_reads_as_an_english_sentence_with_labels_not_codes():
    with translation.override("en"):
        text = condition_sentence(PAYMENT)
    assert text == "status is one of Paid, Reviewed and paid total (succeeded payments) < total amount"


def test_a_condition_reads_as_a_chinese_sentence():
    with translation.override("zh-hans"):
        text = condition_sentence(PAYMENT)
    assert "已付款" in text and "订单总额" in text and "status" not in text


def test_parameters_durations_collections_and_negation_are_spelled_out():
    condition = {
        "any": [
            {"field": "placed_at", "op": "older_than", "value": {"param": "window"}},
            {"not": {"lines": "any", "where": {"field": "quantity", "op": "gt", "value": 5}}},
        ]
    }
    with translation.override("en"):
        text = condition_sentence(condition, {"window": "1h30m"})
    assert "placed at is more than 1 h 30 min ago" in text
    assert "not (any order line where quantity > 5)" in text
    assert " or " in text


def test_a_rule_without_a_condition_says_where_it_comes_from():
    with translation.override("en"):
        assert "raised by another part" in condition_sentence({})
