"""The rules in the console: the list, adding a rule, and deleting (built-in rules are switched off,
never deleted). A rule's change page is its builder (tests/rules/test_builder_views.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.rules import services
from apps.rules.models import ExceptionRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def add(client, **changes):
    data = {"code": "LATE_INVOICE", "name": "发票迟开", "name_en": "Late invoice", "category": "process"}
    data |= {"default_severity": "low", **changes}
    return client.post(reverse("admin:rules_exceptionrule_add"), data)


def test_an_admin_sees_the_thirteen_built_in_rules(admin_client):
    page = admin_client.get(reverse("admin:rules_exceptionrule_changelist"))
    assert page.status_code == 200
    assert ExceptionRule.objects.filter(is_builtin=True).count() == 13
    for code in ("STOCK_SHORTAGE", "MISSING_ORDER", "REVIEW_TIMEOUT"):
        assert code in page.content.decode()


@pytest.mark.parametrize(
    ("code", "message"),
    [("late invoice", "Letters, digits"), ("9LATE", "Letters, digits"), ("STOCK_SHORTAGE", "already exists")],
)
def test_a_new_rule_needs_a_code_of_its_own(admin_client, code, message):
    before = ExceptionRule.objects.count()
    page = add(admin_client, code=code)
    assert page.status_code == 200  # the form again, with the error
    assert message in page.content.decode()
    assert ExceptionRule.objects.count() == before


def test_a_new_rule_needs_a_chinese_name_and_a_category(admin_client):
    page = add(admin_client, name="", category="")
    assert page.status_code == 200
    assert not ExceptionRule.objects.filter(code="LATE_INVOICE").exists()


def test_built_in_rules_are_disabled_not_deleted(admin_client):
    rule = ExceptionRule.objects.get(code="PRICE_ANOMALY")
    assert admin_client.get(reverse("admin:rules_exceptionrule_delete", args=[rule.pk])).status_code == 403


def test_an_admin_rule_can_be_deleted(admin_client, admin_user):
    rule = services.rule_create(
        code="LATE_INVOICE",
        actor=admin_user,
        name="发票迟开",
        category="process",
        default_severity="low",
        condition={"field": "status", "op": "eq", "value": "paid"},
        params={},
    )
    page = admin_client.post(reverse("admin:rules_exceptionrule_delete", args=[rule.pk]), {"post": "yes"})
    assert page.status_code == 302
    assert not ExceptionRule.objects.filter(code="LATE_INVOICE").exists()


def test_a_manager_lists_rules_but_cannot_add_one(client, manager_user):
    client.force_login(manager_user)
    assert client.get(reverse("admin:rules_exceptionrule_changelist")).status_code == 200
    assert add(client).status_code == 403
    assert not ExceptionRule.objects.filter(code="LATE_INVOICE").exists()
