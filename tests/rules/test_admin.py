"""The rules admin: a validated JSON editor. A bad rule is refused when saved, with the reason."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from apps.rules.models import ExceptionRule

pytestmark = pytest.mark.django_db


def form_data(rule: ExceptionRule, **changes) -> dict:
    data = {
        "code": rule.code,
        "name": rule.name,
        "name_en": rule.name_en,
        "description": rule.description,
        "category": rule.category,
        "default_severity": rule.default_severity,
        "source": rule.source,
        "condition": json.dumps(rule.condition),
        "params": json.dumps(rule.params),
        "is_active": "on" if rule.is_active else "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def change_url(rule: ExceptionRule) -> str:
    return reverse("admin:rules_exceptionrule_change", args=[rule.pk])


def test_an_admin_sees_the_thirteen_built_in_rules(admin_client):
    page = admin_client.get(reverse("admin:rules_exceptionrule_changelist"))
    assert page.status_code == 200
    assert ExceptionRule.objects.filter(is_builtin=True).count() == 13
    for code in ("STOCK_SHORTAGE", "MISSING_ORDER", "REVIEW_TIMEOUT"):
        assert code in page.content.decode()


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"field": "no_such_field", "op": "eq", "value": 1}, "Unknown field"),
        ({"field": "total_amount", "op": "contains", "value": "1"}, "does not apply to total_amount"),
        ({"field": "total_amount", "op": "gt", "value": "12,50"}, "decimal number"),
        ({"field": "placed_at", "op": "older_than", "value": "soon"}, "is not a duration"),
        ({"all": []}, "non-empty list"),
    ],
)
def test_a_bad_condition_is_refused_with_its_reason_and_nothing_changes(admin_client, condition, message):
    rule = ExceptionRule.objects.get(code="AMOUNT_MISMATCH")
    before = rule.condition
    response = admin_client.post(change_url(rule), form_data(rule, condition=json.dumps(condition)))
    assert response.status_code == 200  # the form again, with the error
    assert message in response.content.decode()
    rule.refresh_from_db()
    assert rule.condition == before


def test_a_parameter_the_condition_names_must_exist(admin_client):
    rule = ExceptionRule.objects.get(code="AMOUNT_MISMATCH")
    response = admin_client.post(change_url(rule), form_data(rule, params="{}"))
    assert "Unknown parameter" in response.content.decode()


def test_a_valid_change_is_saved_and_time_based_follows_the_condition(admin_client):
    rule = ExceptionRule.objects.get(code="AMOUNT_MISMATCH")
    assert rule.is_time_based is False
    condition = {
        "all": [
            {"field": "amount_gap", "op": "gt", "value": {"param": "tolerance"}},
            {"field": "placed_at", "op": "older_than", "value": "1h"},
        ]
    }
    response = admin_client.post(
        change_url(rule), form_data(rule, condition=json.dumps(condition), params='{"tolerance": "1.00"}')
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.condition == condition and rule.params == {"tolerance": "1.00"}
    assert rule.is_time_based is True


def test_built_in_rules_are_disabled_not_deleted(admin_client):
    rule = ExceptionRule.objects.get(code="PRICE_ANOMALY")
    assert admin_client.get(reverse("admin:rules_exceptionrule_delete", args=[rule.pk])).status_code == 403
    response = admin_client.post(change_url(rule), form_data(rule, is_active=""))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.is_active is False


def test_a_manager_reads_rules_but_cannot_change_them(client, manager_user):
    client.force_login(manager_user)
    rule = ExceptionRule.objects.get(code="PRICE_ANOMALY")
    assert client.get(reverse("admin:rules_exceptionrule_changelist")).status_code == 200
    client.post(change_url(rule), form_data(rule, is_active=""))
    rule.refresh_from_db()
    assert rule.is_active is True
