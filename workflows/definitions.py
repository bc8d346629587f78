"""Writing workflow definitions (SPEC §9.1, §10.2, §10.5): create, save the draft, publish an
immutable version, restore one, switch a workflow on or off.

The workflow designer and the configuration API both call these, so they refuse exactly the
same documents with the same messages. ``workflows.document.parse_workflow`` is the one
validator; the draft and every version hold its canonical document (``spec.as_json()``).
Every change is recorded as a ``WorkflowChange``: who, when, what and which version.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.documents import (
    MAX_NOTE,
    InvalidDocument,
    definition_locked,
    definition_next_number,
    nul_path,
    stored_actor,
)
from apps.common.errors import DomainError
from apps.common.fields import JSONValueField
from apps.formdesigner.services import to_milliseconds
from workflows.document import DocumentError, WorkflowSpec, parse_workflow
from workflows.models import WorkflowChange, WorkflowDefinition, WorkflowVersion

# Switching a workflow on or off is a change of its own.
ACTIVATED = WorkflowChange.Kind.ACTIVATED
DEACTIVATED = WorkflowChange.Kind.DEACTIVATED


class WorkflowErrorCode(models.TextChoices):
    INVALID_DOCUMENT = "invalid_document", _("The workflow definition has problems.")
    KEY_TAKEN = "key_taken", _("Another workflow has this key.")
    NOTHING_TO_PUBLISH = "nothing_to_publish", _("The draft is the same as the published version.")
    NO_SUCH_VERSION = "no_such_version", _("The workflow has no such version.")


class WorkflowDocumentError(InvalidDocument):
    """A workflow document with problems; ``errors`` names each bad part by its path (``steps.1.outcomes.0.to``)."""

    def __init__(self, errors: dict[str, list[str]]):
        code = WorkflowErrorCode.INVALID_DOCUMENT
        super().__init__(code=code, message=code.label, errors=errors)


def workflow_check(*, document: Any, key: str | None = None) -> WorkflowSpec:
    """The document read as a ``WorkflowSpec``; ``WorkflowDocumentError`` with every problem by path.

    ``key``, when given, is the stored workflow's: the document may repeat it but not change it.
    Nothing is stored (the designer calls this as one edits). A NUL character is refused before
    the document is read: the parser looks up what the document names, and PostgreSQL refuses a
    NUL in a query.
    """
    if (path := nul_path(document)) is not None:
        raise WorkflowDocumentError({path: [str(JSONValueField.default_error_messages["nul"])]})
    try:
        return parse_workflow(document, key=key)
    except DocumentError as error:
        raise WorkflowDocumentError(error.errors) from None


def has_unpublished_changes(definition: WorkflowDefinition) -> bool:
    """Whether the draft differs from the published version (always, while nothing is published)."""
    return definition.published is None or definition.published.document != definition.draft


def _record(definition: WorkflowDefinition, kind: str, actor, *, version: int | None = None, note: str = ""):
    return WorkflowChange.objects.create(
        definition=definition, kind=kind, actor=stored_actor(actor), at=timezone.now(), version=version, note=note
    )


def _key_taken() -> DomainError:
    return DomainError(code=WorkflowErrorCode.KEY_TAKEN, field="key", message=WorkflowErrorCode.KEY_TAKEN.label)


def _set_draft(definition: WorkflowDefinition, document: dict[str, Any], actor) -> None:
    """Store ``document`` as the draft; the list's name columns follow the draft's name (their one writer)."""
    name = document.get("name") or {}
    definition.draft = document
    definition.name_zh = name.get("zh-hans") or name.get("en") or definition.key
    definition.name_en = name.get("en", "")
    definition.draft_updated_at = timezone.now()
    definition.draft_updated_by = stored_actor(actor)
    definition.save(update_fields=["draft", "name_zh", "name_en", "draft_updated_at", "draft_updated_by", "updated_at"])


@transaction.atomic
def workflow_create(*, document: Any, actor=None) -> WorkflowDefinition:
    """Store a new workflow with ``document`` as its draft; nothing is published yet (it runs no case)."""
    spec = workflow_check(document=document)
    if WorkflowDefinition.objects.filter(key=spec.key).exists():
        raise _key_taken()
    draft = spec.as_json()
    try:
        with transaction.atomic():
            definition = WorkflowDefinition.objects.create(
                key=spec.key,
                name_zh=spec.name.zh or spec.name.en,
                name_en=spec.name.en,
                draft=draft,
                draft_updated_at=timezone.now(),
                draft_updated_by=stored_actor(actor),
            )
    except IntegrityError:
        # Another request created the same key between the check and the insert.
        raise _key_taken() from None
    _record(definition, WorkflowChange.Kind.CREATED, actor)
    return definition


@transaction.atomic
def workflow_save_draft(*, key: str, document: Any, actor=None) -> WorkflowDefinition:
    """Replace the draft of workflow ``key``; running and new cases keep following the published version."""
    definition = definition_locked(WorkflowDefinition, key=key)
    draft = workflow_check(document=document, key=definition.key).as_json()
    if draft == definition.draft:
        return definition
    _set_draft(definition, draft, actor)
    _record(definition, WorkflowChange.Kind.DRAFT_SAVED, actor)
    return definition


@transaction.atomic
def workflow_publish(*, key: str, actor=None, note: str = "") -> WorkflowVersion:
    """Publish the draft of workflow ``key`` as its next version: the next exception it applies to
    starts that version (read fresh by ``selectors.workflow_for``); running cases keep theirs.

    The draft is checked again: what it names (a form, a user, a department) may have changed
    since it was saved.
    """
    definition = definition_locked(WorkflowDefinition, key=key)
    document = workflow_check(document=definition.draft, key=definition.key).as_json()
    previous = definition.published
    if previous is not None and previous.document == document:
        raise DomainError(
            code=WorkflowErrorCode.NOTHING_TO_PUBLISH,
            field="draft",
            message=WorkflowErrorCode.NOTHING_TO_PUBLISH.label,
        )
    number = definition_next_number(definition)
    version = WorkflowVersion.objects.create(
        definition=definition,
        number=number,
        document=document,
        note=(note or "").strip()[:MAX_NOTE],
        published_at=to_milliseconds(timezone.now()),
        published_by=stored_actor(actor),
    )
    definition.published = version
    fields = ["published", "updated_at"]
    if definition.draft != document:
        # A draft stored before the document was canonical (the built-in ones) now reads as published.
        definition.draft = document
        fields.append("draft")
    definition.save(update_fields=fields)
    _record(definition, WorkflowChange.Kind.PUBLISHED, actor, version=number, note=version.note)
    return version


@transaction.atomic
def workflow_restore(*, key: str, version: int, actor=None) -> WorkflowDefinition:
    """Copy published version ``version`` of workflow ``key`` into its draft; publishing it is a separate step."""
    definition = definition_locked(WorkflowDefinition, key=key)
    stored = definition.versions.filter(number=version).first()
    if stored is None:
        raise DomainError(
            code=WorkflowErrorCode.NO_SUCH_VERSION, field="version", message=WorkflowErrorCode.NO_SUCH_VERSION.label
        )
    _set_draft(definition, stored.document, actor)
    _record(definition, WorkflowChange.Kind.RESTORED, actor, version=version)
    return definition


@transaction.atomic
def workflow_set_active(*, key: str, active: bool, actor=None) -> WorkflowDefinition:
    """Switch workflow ``key`` on or off: an inactive workflow starts no new case (running ones go on)."""
    definition = definition_locked(WorkflowDefinition, key=key)
    if definition.is_active == active:
        return definition
    definition.is_active = active
    definition.save(update_fields=["is_active", "updated_at"])
    _record(definition, ACTIVATED if active else DEACTIVATED, actor)
    return definition
