"""Versions of rules and grading rows: every save through the services keeps who, when and what
changed, with a note; an old version can be restored, as a new one."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import translation

from apps.common.errors import DomainError
from apps.configbundle.rules import rule_apply
from apps.configbundle.rules import rule_document as bundle_document
from apps.exceptions.grading import (
    grading_row_document,
    grading_rule_delete,
    grading_rule_restore,
    grading_rule_save,
    row_change_rows,
)
from apps.exceptions.models import GradingRule, GradingRuleVersion
from apps.rules import services
from apps.rules.diff import change_rows, rule_document
from apps.rules.models import ExceptionRule, RuleVersion

pytestmark = pytest.mark.django_db

BIG_TMALL = {
    "name": "天猫大单",
    "name_en": "Big Tmall order",
    "category": "pricing",
    "default_severity": "low",
    "condition": {
        "all": [
            {"field": "channel", "op": "eq", "value": "tmall"},
            {"field": "total_amount", "op": "gt", "value": {"param": "limit"}},
        ]
    },
    "params": {"limit": "5000.00"},
}


def versions(rule: ExceptionRule) -> list[RuleVersion]:
    return list(rule.versions.order_by("number"))


# --- Rules -------------------------------------------------------------------------------------


def test_every_rule_of_a_new_database_has_its_version_one():
    """The data migration gives each built-in rule a version 1, by the system, equal to the rule."""
    for rule in ExceptionRule.objects.all():
        [first] = versions(rule)
        assert (first.number, first.actor, first.changes) == (1, None, [{"change": "created"}])
        assert first.document == rule_document(rule)


def test_a_rule_document_carries_what_the_configuration_api_carries():
    rule = ExceptionRule.objects.get(code="AMOUNT_MISMATCH")
    document = rule_document(rule)
    assert set(document) == {"code", "name", "description", "category", "severity", "condition", "params", "is_active"}
    assert document["name"] == {"zh-hans": rule.name, "en": rule.name_en}
    # The configuration bundle carries the same document, with the rule's source.
    assert bundle_document(rule) == {**document, "source": rule.source}


def test_a_save_records_who_when_what_changed_and_a_note(admin_user):
    rule = ExceptionRule.objects.get(code="AMOUNT_MISMATCH")
    services.rule_update(rule=rule, actor=admin_user, note="更严格", default_severity="high")

    latest = rule.versions.order_by("-number").first()
    assert (latest.number, latest.actor, latest.note, latest.restored_from) == (2, admin_user, "更严格", None)
    assert latest.document["severity"] == "high"
    assert latest.changes == [{"change": "changed", "attribute": "severity", "old": "medium", "new": "high"}]
    [row] = change_rows(latest.changes)
    assert (row.what, row.old, row.new) == ("Changed default severity", "Medium", "High")


def test_a_save_that_changes_nothing_writes_no_version(admin_user):
    rule = ExceptionRule.objects.get(code="AMOUNT_MISMATCH")
    services.rule_update(rule=rule, actor=admin_user)
    services.rule_update(rule=rule, actor=admin_user, is_active=rule.is_active)
    assert len(versions(rule)) == 1


def test_a_condition_change_reads_as_the_sentences_before_and_after(admin_user):
    rule = ExceptionRule.objects.get(code="PAYMENT_FAILED")
    condition = {"all": [{"field": "status", "op": "eq", "value": "pending_payment"}]}
    services.rule_update(rule=rule, actor=admin_user, condition=condition)
    [row] = change_rows(rule.versions.order_by("-number").first().changes)
    assert row.what == "Changed condition"
    assert row.old == "status is Pending payment and status of the latest payment attempt is Failed"
    assert row.new == "status is Pending payment"
    with translation.override("zh-hans"):
        [row] = change_rows(rule.versions.order_by("-number").first().changes)
    assert row.what != "Changed condition" and "待付款" in row.new


def test_parameters_are_compared_one_by_one(admin_user):
    rule = ExceptionRule.objects.get(code="AMOUNT_MISMATCH")
    services.rule_update(rule=rule, actor=admin_user, params={**rule.params, "tolerance": "1.00", "extra": ["a", "b"]})
    rows = change_rows(rule.versions.order_by("-number").first().changes)
    assert [(row.what, row.old, row.new) for row in rows] == [
        ("Parameter extra added", "—", "a, b"),
        ("Changed parameter tolerance", "0.01", "1.00"),
    ]


def test_creating_a_rule_writes_its_version_one_and_a_code_is_taken_once(admin_user):
    rule = services.rule_create(code="BIG_TMALL", actor=admin_user, note="新规则", **BIG_TMALL)
    [first] = versions(rule)
    assert (first.actor, first.note, first.changes) == (admin_user, "新规则", [{"change": "created"}])
    assert first.document["params"] == {"limit": "5000.00"}
    with pytest.raises(DomainError) as refused:
        services.rule_create(code="BIG_TMALL", actor=admin_user, **BIG_TMALL)
    assert (refused.value.code, refused.value.field) == ("code_taken", "code")


def test_a_bad_condition_saves_nothing_and_names_its_node(admin_user):
    rule = ExceptionRule.objects.get(code="AMOUNT_MISMATCH")
    before = rule_document(rule)
    bad = {"all": [{"field": "amount_gap", "op": "gt", "value": {"param": "tolerance"}}, {"field": "x", "op": "eq"}]}
    with pytest.raises(DomainError) as refused:
        services.rule_update(rule=ExceptionRule.objects.get(pk=rule.pk), actor=admin_user, condition=bad)
    assert refused.value.field == "condition.all.1.field"
    assert refused.value.as_fields() == {"condition.all.1.field": ["Unknown field “x”."]}
    rule.refresh_from_db()
    assert rule_document(rule) == before and len(versions(rule)) == 1


def test_restoring_makes_a_new_version_equal_to_the_old_one(admin_user):
    rule = ExceptionRule.objects.get(code="REVIEW_TIMEOUT")
    original = rule_document(rule)
    not_on_the_clock = {"all": [{"field": "status", "op": "eq", "value": "paid"}]}
    services.rule_update(rule=rule, actor=admin_user, condition=not_on_the_clock, default_severity="low")
    assert ExceptionRule.objects.get(pk=rule.pk).is_time_based is False

    restored = services.rule_restore(code=rule.code, version=1, actor=admin_user, note="回到原样")

    latest = restored.versions.order_by("-number").first()
    assert (latest.number, latest.restored_from, latest.note) == (3, 1, "回到原样")
    assert latest.document == original == rule_document(ExceptionRule.objects.get(pk=rule.pk))
    # What is derived from the condition follows it back.
    assert ExceptionRule.objects.get(pk=rule.pk).is_time_based is True
    assert {change["attribute"] for change in latest.changes} == {"severity", "condition"}


def test_restoring_the_current_state_writes_nothing_and_an_unknown_version_is_refused(admin_user):
    rule = ExceptionRule.objects.get(code="REVIEW_TIMEOUT")
    services.rule_restore(code=rule.code, version=1, actor=admin_user)
    assert len(versions(rule)) == 1
    with pytest.raises(DomainError) as refused:
        services.rule_restore(code=rule.code, version=9, actor=admin_user)
    assert (refused.value.code, refused.value.field) == ("no_such_version", "version")


def test_an_old_version_whose_condition_no_longer_checks_is_not_restored(admin_user):
    rule = ExceptionRule.objects.get(code="REVIEW_TIMEOUT")
    services.rule_update(rule=rule, actor=admin_user, default_severity="low")
    # A field the old version names is gone (here: the stored document says so).
    RuleVersion.objects.filter(rule=rule, number=1).update(
        document={**rule_document(rule), "condition": {"field": "gone", "op": "is_empty"}}
    )
    with pytest.raises(DomainError) as refused:
        services.rule_restore(code=rule.code, version=1, actor=admin_user)
    assert refused.value.field == "condition.field"
    assert len(versions(rule)) == 2


def test_the_configuration_bundle_saves_through_the_same_service(admin_user):
    rule = ExceptionRule.objects.get(code="AMOUNT_MISMATCH")
    rule_apply(document={**bundle_document(rule), "severity": "urgent"}, actor=admin_user)
    latest = rule.versions.order_by("-number").first()
    assert (latest.number, latest.actor, latest.document["severity"]) == (2, admin_user, "urgent")


def test_a_rule_version_is_never_changed():
    version = RuleVersion.objects.first()
    version.note = "edited"
    with pytest.raises(ValueError, match="never changed"):
        version.save()


def test_version_numbers_are_unique_per_rule_and_positive():
    rule = ExceptionRule.objects.get(code="AMOUNT_MISMATCH")
    for number in (1, 0):
        with pytest.raises(IntegrityError), transaction.atomic():
            RuleVersion.objects.create(rule=rule, number=number, document={}, created_at=rule.created_at)


# --- Grading rows ------------------------------------------------------------------------------

ROW = {
    "position": 5,
    "name": {"zh-hans": "大额京东付款", "en": "Large JD payments"},
    "is_active": True,
    "category": "payment",
    "rule": None,
    "channel": "jd",
    "min_amount": Decimal("1000.00"),
    "max_amount": Decimal("5000.00"),
    "customer_tag": "vip",
    "time_from": time(22, 0),
    "time_to": time(6, 0),
    "severity": "high",
    "department": "finance",
    "handling": "manual_check",
    "first_response_minutes": 15,
    "resolution_minutes": 60,
    "notify_channels": ["email", "in_app"],
}


def row_versions(row_id: int) -> list[GradingRuleVersion]:
    return list(GradingRuleVersion.objects.filter(row_id=row_id).order_by("number"))


def test_every_seeded_grading_row_has_its_version_one():
    for row in GradingRule.objects.select_related("rule", "department"):
        [first] = row_versions(row.pk)
        assert (first.action, first.actor, first.document) == ("created", None, grading_row_document(row))


def test_grading_saves_are_versions_with_what_changed_in_words(admin_user):
    row = grading_rule_save(rule_id=None, values=ROW, actor=admin_user, note="新行")
    grading_rule_save(rule_id=row.pk, values=ROW, actor=admin_user)  # nothing changed: no version
    grading_rule_save(
        rule_id=row.pk, values={**ROW, "first_response_minutes": 30, "department": "management"}, actor=admin_user
    )
    created, changed = row_versions(row.pk)
    assert (created.action, created.number, created.note, created.actor) == ("created", 1, "新行", admin_user)
    assert created.document["min_amount"] == "1000.00" and created.document["time_from"] == "22:00"
    assert changed.action == "changed"
    rows = row_change_rows(changed.changes)
    assert [(r.what, r.old, r.new) for r in rows] == [
        ("Changed department", "Finance", "Management"),
        ("Changed first response (minutes)", "15 min", "30 min"),
    ]


def test_a_removed_row_keeps_its_history_and_is_restored_under_its_id(admin_user):
    row = grading_rule_save(rule_id=None, values=ROW, actor=admin_user)
    grading_rule_save(rule_id=row.pk, values={**ROW, "position": 7}, actor=admin_user)
    grading_rule_delete(rule_id=row.pk, actor=admin_user, note="不再需要")
    assert not GradingRule.objects.filter(pk=row.pk).exists()
    removed = row_versions(row.pk)[-1]
    assert (removed.action, removed.note, removed.document["position"]) == ("deleted", "不再需要", 7)

    back = grading_rule_restore(rule_id=row.pk, version=1, actor=admin_user)

    assert back.pk == row.pk and back.position == 5
    restored = row_versions(row.pk)[-1]
    assert (restored.number, restored.action, restored.restored_from) == (4, "restored", 1)
    assert restored.changes == [{"change": "created"}]
    assert restored.document == grading_row_document(GradingRule.objects.get(pk=row.pk))


def test_restoring_a_grading_row_to_an_earlier_version_records_the_difference(admin_user):
    row = grading_rule_save(rule_id=None, values=ROW, actor=admin_user)
    grading_rule_save(rule_id=row.pk, values={**ROW, "channel": "taobao"}, actor=admin_user)
    grading_rule_restore(rule_id=row.pk, version=1, actor=admin_user)
    latest = row_versions(row.pk)[-1]
    assert latest.changes == [{"change": "changed", "attribute": "channel", "old": "taobao", "new": "jd"}]
    assert GradingRule.objects.get(pk=row.pk).channel == "jd"


def test_a_removal_or_a_missing_version_is_no_state_to_restore(admin_user):
    row = grading_rule_save(rule_id=None, values=ROW, actor=admin_user)
    grading_rule_delete(rule_id=row.pk, actor=admin_user)
    for version in (2, 3):
        with pytest.raises(DomainError) as refused:
            grading_rule_restore(rule_id=row.pk, version=version, actor=admin_user)
        assert (refused.value.code, refused.value.field) == ("no_such_version", "version")


def test_grading_versions_are_never_changed_and_numbered_once_per_row():
    version = GradingRuleVersion.objects.first()
    with pytest.raises(ValueError, match="never changed"):
        version.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        GradingRuleVersion.objects.create(
            row_id=version.row_id, number=1, action="changed", document={}, created_at=version.created_at
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        GradingRuleVersion.objects.create(
            row_id=version.row_id, number=9, action="edited", document={}, created_at=version.created_at
        )
