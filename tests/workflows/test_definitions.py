"""Writing workflow definitions (workflows/definitions.py): create, save the draft, publish an
immutable version, restore, switch off, and every change in the history."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apps.common.errors import DomainError
from workflows import definitions, selectors
from workflows.definitions import WorkflowDocumentError, WorkflowErrorCode
from workflows.document import parse_workflow
from workflows.models import WorkflowChange, WorkflowDefinition, WorkflowVersion

pytestmark = pytest.mark.django_db


def text(zh: str, en: str) -> dict[str, str]:
    return {"zh-hans": zh, "en": en}


def document(**overrides: Any) -> dict[str, Any]:
    """A two-step payment workflow: finance checks, a manager approves what finance cannot find."""
    body = {
        "key": "payment-review",
        "name": text(" 付款复核 ", "Payment review"),
        "priority": 20,
        "applies_to": {"categories": ["payment"]},
        "steps": [
            {
                "key": "check",
                "kind": "task",
                "name": text("核实付款", "Check the payment"),
                "form": "payment-check",
                "deadline": "30m",
                "assign": {"strategy": "queue", "department": "finance"},
                "outcomes": [
                    {"key": "found", "name": text("已找到", "Found"), "to": "resolve"},
                    {"key": "not_found", "name": text("未找到", "Not found"), "to": "approve"},
                ],
            },
            {
                "key": "approve",
                "kind": "approval",
                "name": text("经理审批", "Manager approval"),
                "assign": {"strategy": "manager"},
            },
        ],
    }
    body.update(copy.deepcopy(overrides))
    return body


def changes(definition: WorkflowDefinition) -> list[tuple[str, int | None]]:
    return [(change.kind, change.version) for change in selectors.workflow_history(definition=definition)][::-1]


def test_a_created_workflow_holds_the_canonical_document_as_its_draft(admin_user):
    definition = definitions.workflow_create(document=document(), actor=admin_user)

    assert definition.published is None
    assert definition.draft == parse_workflow(document()).as_json()
    # The parser filled in the approval's outcomes and trimmed the name.
    assert [o["key"] for o in definition.draft["steps"][1]["outcomes"]] == ["approve", "reject"]
    assert (definition.name_zh, definition.name_en) == ("付款复核", "Payment review")
    assert (definition.draft_updated_by, definition.is_active) == (admin_user, True)
    assert changes(definition) == [(WorkflowChange.Kind.CREATED, None)]
    assert definitions.has_unpublished_changes(definition)


def test_a_second_workflow_with_the_same_key_is_refused(admin_user):
    definitions.workflow_create(document=document(), actor=admin_user)

    with pytest.raises(DomainError) as refused:
        definitions.workflow_create(document=document(), actor=admin_user)

    assert (refused.value.code, refused.value.field) == (WorkflowErrorCode.KEY_TAKEN, "key")


def test_an_invalid_document_is_refused_with_every_problem_at_its_path(admin_user):
    bad = document()
    bad["steps"][0]["outcomes"][1]["to"] = "nowhere"
    bad["steps"][1]["assign"] = {"strategy": "queue", "department": "finance"}
    bad["priority"] = 5000

    with pytest.raises(WorkflowDocumentError) as refused:
        definitions.workflow_create(document=bad, actor=admin_user)

    fields = refused.value.as_fields()
    assert refused.value.code == WorkflowErrorCode.INVALID_DOCUMENT
    assert "steps.0.outcomes.1.to" in fields  # an outcome pointing nowhere
    assert "steps.1.assign" in fields  # an approval with no manager
    assert "priority" in fields
    assert not WorkflowDefinition.objects.filter(key="payment-review").exists()


def test_a_step_nobody_can_reach_is_refused_at_the_step(admin_user):
    unreachable = document()
    unreachable["steps"][0]["outcomes"][1]["to"] = "escalate"

    with pytest.raises(WorkflowDocumentError) as refused:
        definitions.workflow_create(document=unreachable, actor=admin_user)

    assert list(refused.value.as_fields()) == ["steps.1"]


def test_saving_the_draft_replaces_it_and_names_follow(admin_user):
    definition = definitions.workflow_create(document=document(), actor=admin_user)

    definitions.workflow_save_draft(
        key="payment-review", document=document(name=text("付款复核二", "Payment review 2")), actor=admin_user
    )

    definition.refresh_from_db()
    assert (definition.name_zh, definition.name_en) == ("付款复核二", "Payment review 2")
    assert definition.draft["name"]["en"] == "Payment review 2"
    assert changes(definition) == [(WorkflowChange.Kind.CREATED, None), (WorkflowChange.Kind.DRAFT_SAVED, None)]


def test_saving_an_unchanged_draft_records_nothing(admin_user):
    definition = definitions.workflow_create(document=document(), actor=admin_user)

    definitions.workflow_save_draft(key="payment-review", document=document(), actor=admin_user)

    assert changes(definition) == [(WorkflowChange.Kind.CREATED, None)]


def test_a_refused_draft_leaves_the_stored_one_as_it_was(admin_user):
    definition = definitions.workflow_create(document=document(), actor=admin_user)
    stored = copy.deepcopy(definition.draft)

    with pytest.raises(WorkflowDocumentError) as refused:
        definitions.workflow_save_draft(key="payment-review", document=document(key="other"), actor=admin_user)

    assert "key" in refused.value.as_fields()
    definition.refresh_from_db()
    assert definition.draft == stored


def test_publishing_makes_numbered_immutable_versions(admin_user):
    definitions.workflow_create(document=document(), actor=admin_user)

    first = definitions.workflow_publish(key="payment-review", actor=admin_user, note="  First  ")
    definitions.workflow_save_draft(key="payment-review", document=document(priority=30), actor=admin_user)
    second = definitions.workflow_publish(key="payment-review", actor=admin_user)

    definition = selectors.workflow_get(key="payment-review")
    assert (first.number, first.note, second.number) == (1, "First", 2)
    assert definition.published == second
    assert second.document["priority"] == 30 and first.document["priority"] == 20
    assert not definitions.has_unpublished_changes(definition)
    assert changes(definition)[-2:] == [(WorkflowChange.Kind.DRAFT_SAVED, None), (WorkflowChange.Kind.PUBLISHED, 2)]
    first.refresh_from_db()
    with pytest.raises(ValueError):
        first.save()
    with pytest.raises(ValueError):
        first.delete()
    assert WorkflowVersion.objects.filter(definition=definition).count() == 2


def test_a_published_version_applies_to_the_next_exception_by_priority(admin_user):
    definitions.workflow_create(document=document(), actor=admin_user)
    assert selectors.workflow_for(category="payment", rule_code="ANY").definition.key == "payment-check"

    version = definitions.workflow_publish(key="payment-review", actor=admin_user)

    assert selectors.workflow_for(category="payment", rule_code="ANY") == version
    definitions.workflow_set_active(key="payment-review", active=False, actor=admin_user)
    assert selectors.workflow_for(category="payment", rule_code="ANY").definition.key == "payment-check"


def test_publishing_an_unchanged_draft_is_refused(admin_user):
    definitions.workflow_create(document=document(), actor=admin_user)
    definitions.workflow_publish(key="payment-review", actor=admin_user)

    with pytest.raises(DomainError) as refused:
        definitions.workflow_publish(key="payment-review", actor=admin_user)

    assert refused.value.code == WorkflowErrorCode.NOTHING_TO_PUBLISH


def test_publishing_checks_the_draft_again(admin_user, manager_user):
    """A user named in the draft who has since left makes the draft refused at publishing, at its path."""
    approval = document()
    approval["steps"][1]["assign"] = {"strategy": "user", "user": manager_user.username}
    definitions.workflow_create(document=approval, actor=admin_user)
    manager_user.is_active = False
    manager_user.save(update_fields=["is_active"])

    with pytest.raises(WorkflowDocumentError) as refused:
        definitions.workflow_publish(key="payment-review", actor=admin_user)

    assert "steps.1.assign.user" in refused.value.as_fields()
    assert selectors.workflow_get(key="payment-review").published is None


def test_the_built_in_workflows_publish_nothing_new_until_changed(admin_user):
    with pytest.raises(DomainError) as refused:
        definitions.workflow_publish(key="payment-check", actor=admin_user)
    assert refused.value.code == WorkflowErrorCode.NOTHING_TO_PUBLISH


def test_restoring_copies_a_version_into_the_draft(admin_user):
    definitions.workflow_create(document=document(), actor=admin_user)
    definitions.workflow_publish(key="payment-review", actor=admin_user)
    definitions.workflow_save_draft(
        key="payment-review", document=document(name=text("改名", "Renamed")), actor=admin_user
    )

    definition = definitions.workflow_restore(key="payment-review", version=1, actor=admin_user)

    assert definition.draft == definition.published.document
    assert definition.name_en == "Payment review"
    assert changes(definition)[-1] == (WorkflowChange.Kind.RESTORED, 1)
    assert not definitions.has_unpublished_changes(definition)


def test_restoring_a_version_the_workflow_does_not_have_is_refused(admin_user):
    definitions.workflow_create(document=document(), actor=admin_user)

    with pytest.raises(DomainError) as refused:
        definitions.workflow_restore(key="payment-review", version=3, actor=admin_user)

    assert (refused.value.code, refused.value.field) == (WorkflowErrorCode.NO_SUCH_VERSION, "version")


def test_switching_off_and_on_is_recorded_once_each(admin_user):
    definition = definitions.workflow_create(document=document(), actor=admin_user)

    definitions.workflow_set_active(key="payment-review", active=False, actor=admin_user)
    definitions.workflow_set_active(key="payment-review", active=False, actor=admin_user)
    definitions.workflow_set_active(key="payment-review", active=True, actor=admin_user)

    assert changes(definition)[1:] == [(definitions.DEACTIVATED, None), (definitions.ACTIVATED, None)]
    assert WorkflowChange.objects.filter(definition=definition, actor=admin_user).count() == 3
