"""Writing form definitions: create, save the draft, publish an immutable version, restore one.

Every change is recorded (``FormChange``): who, when, and what changed field by field.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.common.documents import MAX_NOTE, InvalidDocument, definition_locked, definition_next_number, stored_actor
from apps.common.errors import DomainError
from apps.formdesigner.diff import document_changes
from apps.formdesigner.document import (
    DocumentError,
    FormKind,
    FormSpec,
    ValueProblem,
    convert_value,
    parse_document,
)
from apps.formdesigner.errors import FormErrorCode
from apps.formdesigner.models import FormChange, FormDefinition, FormVersion
from apps.formdesigner.selectors import archived_keys, version_spec
from apps.orders import selectors as order_selectors
from apps.orders import services as order_services


class FormDocumentError(InvalidDocument):
    """A form document with problems; ``errors`` names each bad part by its path (``fields.1.key``)."""

    def __init__(self, errors: dict[str, list[str]]):
        code = FormErrorCode.INVALID_DOCUMENT
        super().__init__(code=code, message=code.label, errors=errors)


def _parse(document: Any, **fixed: Any) -> FormSpec:
    try:
        return parse_document(document, **fixed)
    except DocumentError as error:
        raise FormDocumentError(error.errors) from None


def _record(form: FormDefinition, action: str, actor, *, changes=None, version=None, note="") -> FormChange:
    return FormChange.objects.create(
        form=form,
        action=action,
        actor=actor,
        at=timezone.now(),
        version=version,
        note=note,
        changes=changes or [],
    )


@transaction.atomic
def form_create(*, document: Any, actor=None) -> FormDefinition:
    """Store a new form with ``document`` as its draft; nothing is published yet."""
    spec = _parse(document)
    if spec.kind is FormKind.ORDER:
        raise DomainError(code=FormErrorCode.ONE_ORDER_FORM, field="kind", message=FormErrorCode.ONE_ORDER_FORM.label)
    if FormDefinition.objects.filter(key=spec.key).exists():
        raise DomainError(code=FormErrorCode.KEY_TAKEN, field="key", message=FormErrorCode.KEY_TAKEN.label)
    draft = spec.as_json()
    try:
        with transaction.atomic():
            form = FormDefinition.objects.create(
                key=spec.key,
                kind=spec.kind,
                name_zh=spec.name.zh or spec.name.en,
                name_en=spec.name.en,
                draft=draft,
                draft_updated_at=timezone.now(),
                draft_updated_by=stored_actor(actor),
            )
    except IntegrityError:
        # Another request created the same key between the check and the insert.
        raise DomainError(code=FormErrorCode.KEY_TAKEN, field="key", message=FormErrorCode.KEY_TAKEN.label) from None
    _record(form, FormChange.Action.CREATED, stored_actor(actor), changes=document_changes(None, draft))
    return form


def _set_draft(form: FormDefinition, spec: FormSpec, actor) -> None:
    """Store ``spec`` as the draft; the list's name columns follow the draft's name (this is their one writer)."""
    form.draft = spec.as_json()
    form.name_zh, form.name_en = spec.name.zh or spec.name.en, spec.name.en
    form.draft_updated_at = timezone.now()
    form.draft_updated_by = stored_actor(actor)
    form.save(update_fields=["draft", "name_zh", "name_en", "draft_updated_at", "draft_updated_by", "updated_at"])


@transaction.atomic
def form_save_draft(*, key: str, document: Any, actor=None) -> FormDefinition:
    """Replace the draft of form ``key``; live data keeps meeting the published version."""
    form = definition_locked(FormDefinition, key=key)
    spec = _parse(document, key=form.key, kind=form.kind)
    draft = spec.as_json()
    if draft == form.draft:
        return form
    changes = document_changes(form.draft, draft)
    _set_draft(form, spec, actor)
    _record(form, FormChange.Action.DRAFT_SAVED, stored_actor(actor), changes=changes)
    return form


@transaction.atomic
def form_publish(*, key: str, actor=None, note: str = "") -> FormVersion:
    """Publish the draft of form ``key`` as its next version.

    For the order form, stored orders must keep fitting: a field whose type changed, or that
    is new, must be able to take the values orders already hold under its key (converted
    where they convert, such as "12" to 12); otherwise publishing is refused, saying how
    many orders hold what. Values of removed fields stay as they are (archived).
    """
    form = definition_locked(FormDefinition, key=key)
    spec = _parse(form.draft, key=form.key, kind=form.kind)
    previous = form.published
    if previous is not None and previous.document == form.draft:
        raise DomainError(
            code=FormErrorCode.NOTHING_TO_PUBLISH, field="draft", message=FormErrorCode.NOTHING_TO_PUBLISH.label
        )
    old_spec = version_spec(previous) if previous is not None else None
    archived = set(archived_keys(previous)) if previous is not None else set()
    if old_spec is not None:
        archived |= set(old_spec.keys) - set(spec.keys)
    archived -= set(spec.keys)
    if spec.kind is FormKind.ORDER:
        _retype_stored_orders(spec, old_spec)
    number = definition_next_number(form)
    version = FormVersion.objects.create(
        form=form,
        number=number,
        document=form.draft,
        archived=sorted(archived),
        note=note.strip()[:MAX_NOTE],
        published_at=to_milliseconds(timezone.now()),
        published_by=stored_actor(actor),
    )
    form.published = version
    form.save(update_fields=["published", "updated_at"])
    _record(
        form,
        FormChange.Action.PUBLISHED,
        stored_actor(actor),
        changes=document_changes(previous.document if previous else None, form.draft),
        version=number,
        note=version.note,
    )
    return version


def _retype_stored_orders(spec: FormSpec, old_spec: FormSpec | None) -> None:
    problems: dict[str, list[str]] = {}
    for index, field in enumerate(spec.fields):
        old = old_spec.field(field.key) if old_spec is not None else None
        if old is not None and old.type == field.type:
            continue
        converted: dict[int, Any] = {}
        failed: Counter[str] = Counter()
        count = 0
        for order_id, value in order_selectors.order_data_values(key=field.key):
            try:
                new_value = convert_value(value, field)
            except ValueProblem:
                count += 1
                failed[_shown(value)] += 1
                continue
            if new_value != value:
                converted[order_id] = new_value
        if count:
            examples = ", ".join(f"“{value}” ×{times}" for value, times in failed.most_common(3))
            problems[f"fields.{index}.type"] = [
                _(
                    "%(count)d stored orders hold values of %(key)s that cannot be read as the new type "
                    "(%(examples)s). Correct those orders, or keep the type and add a new field."
                )
                % {"count": count, "key": field.key, "examples": examples}
            ]
        elif converted:
            order_services.order_data_set(key=field.key, values=converted)
    if problems:
        error = FormDocumentError(problems)
        error.code = FormErrorCode.STORED_VALUES_DO_NOT_CONVERT
        error.message = FormErrorCode.STORED_VALUES_DO_NOT_CONVERT.label
        raise error


def to_milliseconds(moment: datetime) -> datetime:
    """``moment`` to the millisecond: what Django's serializers keep, so that a version written
    back from a dump (the test runner does) is the same row and passes the immutability trigger."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


@transaction.atomic
def form_restore(*, key: str, version: int, actor=None) -> FormDefinition:
    """Copy published version ``version`` of form ``key`` into its draft (publishing stays a separate step)."""
    form = definition_locked(FormDefinition, key=key)
    stored = form.versions.filter(number=version).first()
    if stored is None:
        raise DomainError(
            code=FormErrorCode.NO_SUCH_VERSION, field="version", message=FormErrorCode.NO_SUCH_VERSION.label
        )
    changes = document_changes(form.draft, stored.document)
    _set_draft(form, version_spec(stored), actor)
    _record(form, FormChange.Action.RESTORED, stored_actor(actor), changes=changes, version=version)
    return form
