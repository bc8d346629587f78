"""The whole configuration as one JSON bundle, to move it between systems (SPEC §10.5).

``bundle_export()`` writes every section a business admin configures: the exception rules, the
grading table, the forms and the workflows (each with its published document and its draft),
the business calendars and the escalation ladders. ``bundle_import()`` applies a bundle all or
nothing: every section goes through the services that the designers and the configuration API
use (so it is checked exactly as they check it, and versioned and audited as they do), inside
one transaction. A dry run applies it the same way and rolls the transaction back; either way
the answer is what changed, found by exporting before and after, so a dry run shows exactly
what the import would do. A refusal names the bad part by its path in the bundle
(``rules.3.condition``, ``workflows.0.steps.1.assign.department``) and changes nothing.

What "the same" means per section, and what an import does with what the bundle lacks:
  - rules (by code), forms and workflows (by key): created or updated; those the bundle does not
    name are left alone (a bundle from a test system need not carry every rule of production);
  - the grading table is one ordered table: the bundle's rows replace the table's;
  - calendars: the company's and each department that has its own; a department the bundle
    gives none goes back to the company's calendar;
  - ladders: one per severity, replaced.
A form or workflow whose published document differs is published anew from the bundle (its
version number in this system goes on from its own), then its draft is set to the bundle's.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import TextChoices
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounts.models import User
from apps.common.documents import InvalidDocument
from apps.common.errors import DomainError
from apps.exceptions import calendars, ladders
from apps.exceptions.grading import grading_rule_delete, grading_rule_save
from apps.exceptions.models import BusinessCalendar, GradingRule
from apps.formdesigner import services as forms
from apps.formdesigner.document import DocumentError
from apps.formdesigner.models import FormDefinition
from apps.rules.models import Severity
from workflows import definitions as workflows
from workflows.models import WorkflowDefinition

FORMAT = "orderguard.config"
FORMAT_VERSION = 1
# In the order they are applied: what a later section names (a form, a rule) exists by then.
SECTIONS = ("forms", "rules", "workflows", "grading", "calendars", "ladders")


class BundleErrorCode(TextChoices):
    INVALID_BUNDLE = "invalid_bundle", gettext_lazy("The configuration bundle has problems; nothing was changed.")


class BundleError(InvalidDocument):
    def __init__(self, errors: dict[str, list[str]]):
        code = BundleErrorCode.INVALID_BUNDLE
        super().__init__(code=code, message=str(code.label), errors=errors)


# --- Export ------------------------------------------------------------------------------------


def _rule_documents() -> list[dict[str, Any]]:
    from apps.configbundle.rules import rule_documents

    return rule_documents()


def _grading_rows() -> list[dict[str, Any]]:
    from apps.exceptions.config_api import GradingRuleOutput

    rows = GradingRule.objects.select_related("rule", "department").order_by("position", "id")
    documents = GradingRuleOutput(rows, many=True).data
    return [{name: value for name, value in row.items() if name != "id"} for row in documents]


def _definitions(model, *, extra: Callable[[Any], dict[str, Any]] = lambda _d: {}) -> list[dict[str, Any]]:
    return [
        {
            "key": definition.key,
            "published": definition.published.document if definition.published_id else None,
            "draft": definition.draft,
            **extra(definition),
        }
        for definition in model.objects.select_related("published").order_by("key")
    ]


def _calendar_keys() -> list[str]:
    owners = BusinessCalendar.objects.values_list("department__code", flat=True)
    return sorted({code or "default" for code in owners}, key=lambda key: (key != "default", key))


def bundle_export() -> dict[str, Any]:
    """Every section of the configuration, as plain JSON (stable order: equal configurations
    export equal bundles, apart from ``exported_at``)."""
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        **_sections(),
    }


def _sections() -> dict[str, Any]:
    return {
        "forms": _definitions(FormDefinition, extra=lambda form: {"kind": form.kind}),
        "rules": _rule_documents(),
        "workflows": _definitions(WorkflowDefinition, extra=lambda workflow: {"is_active": workflow.is_active}),
        "grading": _grading_rows(),
        "calendars": [
            {name: value for name, value in calendars.calendar_document(key).items() if name != "inherited"}
            for key in _calendar_keys()
        ],
        "ladders": [ladders.ladder_document(severity) for severity in Severity.values],
    }


# --- What changed ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    section: str
    key: str
    change: str  # created, changed, removed
    parts: tuple[str, ...] = ()  # the item's top-level parts that differ, for changed

    def as_json(self) -> dict[str, Any]:
        return {"section": self.section, "key": self.key, "change": self.change, "parts": list(self.parts)}


def _item_key(section: str, item: dict[str, Any]) -> str:
    if section == "rules":
        return str(item.get("code"))
    if section == "calendars":
        return str(item.get("department"))
    if section == "ladders":
        return str(item.get("severity"))
    return str(item.get("key"))


def _parts(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(name for name in set(old) | set(new) if old.get(name) != new.get(name)))


def _table_changes(section: str, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Change]:
    """An ordered table's changes: rows inserted, removed and edited, matched by their content (a
    row removed from the middle is one removal, not an edit of every row after it). Keys are
    places: in the new table, and in the old one for a removal."""

    def text(row: dict[str, Any]) -> str:
        return json.dumps({k: v for k, v in row.items() if k != "position"}, sort_keys=True, default=str)

    found: list[Change] = []
    matcher = difflib.SequenceMatcher(a=[text(r) for r in old], b=[text(r) for r in new], autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            found += [
                Change(section, str(b0 + i + 1), "changed", _parts(old[a0 + i], new[b0 + i]))
                for i in range(a1 - a0)
                if old[a0 + i] != new[b0 + i]  # the same row at another position
            ]
            continue
        paired = min(a1 - a0, b1 - b0) if op == "replace" else 0
        found += [Change(section, str(b0 + i + 1), "changed", _parts(old[a0 + i], new[b0 + i])) for i in range(paired)]
        found += [Change(section, str(b0 + i + 1), "created") for i in range(paired, b1 - b0)]
        found += [Change(section, str(a0 + i + 1), "removed") for i in range(paired, a1 - a0)]
    return found


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    found: list[Change] = []
    for section in SECTIONS:
        if section == "grading":
            found += _table_changes(section, before.get(section) or [], after.get(section) or [])
            continue
        old = {_item_key(section, item): item for item in before.get(section) or []}
        new = {_item_key(section, item): item for item in after.get(section) or []}
        for key, item in new.items():
            if key not in old:
                found.append(Change(section, key, "created"))
            elif item != old[key]:
                found.append(Change(section, key, "changed", _parts(old[key], item)))
        found += [Change(section, key, "removed") for key in old if key not in new]
    return found


@dataclass
class ImportReport:
    dry_run: bool
    changes: list[Change] = field(default_factory=list)

    def summary(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for change in self.changes:
            section = counts.setdefault(change.section, {"created": 0, "changed": 0, "removed": 0})
            section[change.change] += 1
        return counts


# --- Import ------------------------------------------------------------------------------------


def _problems(error: Exception) -> dict[str, list[str]]:
    if isinstance(error, DocumentError):  # a calendar's or ladder's document
        return error.errors
    return error.as_fields()


@contextmanager
def _at(errors: dict[str, list[str]], path: str) -> Iterator[None]:
    """Collect a refusal of what is applied in this block under the bundle path ``path``."""
    try:
        yield
    except (DomainError, DocumentError) as error:
        for part, messages in _problems(error).items():
            place = path if part in ("", "non_field_errors") else f"{path}.{part}"
            errors.setdefault(place, []).extend(str(m) for m in messages)


def _items(bundle: dict[str, Any], section: str, errors: dict[str, list[str]]) -> list[dict[str, Any]] | None:
    """The section's items, or None when the bundle leaves the section out."""
    if section not in bundle:
        return None
    items = bundle[section]
    if not isinstance(items, list):
        errors.setdefault(section, []).append(_("Expected a list."))
        return None
    good = []
    for index, item in enumerate(items):
        if isinstance(item, dict):
            good.append(item)
        else:
            errors.setdefault(f"{section}.{index}", []).append(_("Expected an object."))
    return good


def _check_envelope(bundle: Any) -> dict[str, Any]:
    if not isinstance(bundle, dict):
        raise BundleError({"non_field_errors": [_("A configuration bundle is a JSON object.")]})
    errors: dict[str, list[str]] = {}
    if bundle.get("format") != FORMAT:
        errors["format"] = [
            _("Expected “%(format)s”: the bundle GET /api/v1/config/export/ gives.") % {"format": FORMAT}
        ]
    elif bundle.get("version") != FORMAT_VERSION:
        errors["version"] = [_("This system reads bundles of version %(version)s.") % {"version": FORMAT_VERSION}]
    unknown = sorted(set(bundle) - {"format", "version", "exported_at", *SECTIONS})
    for name in unknown:
        errors[name] = [_("Not a section of the configuration.")]
    if not errors and not any(section in bundle for section in SECTIONS):
        errors["non_field_errors"] = [
            _("The bundle has none of the sections: %(sections)s.") % {"sections": ", ".join(SECTIONS)}
        ]
    if errors:
        raise BundleError(errors)
    return bundle


def _definition_apply(
    *,
    model,
    item: dict[str, Any],
    create: Callable[..., Any],
    save_draft: Callable[..., Any],
    publish: Callable[..., Any],
    actor: User | None,
    errors: dict[str, list[str]],
    path: str,
) -> Any:
    key = item.get("key")
    if not isinstance(key, str) or not key:
        errors.setdefault(f"{path}.key", []).append(_("A key is required."))
        return None
    draft, published = item.get("draft"), item.get("published")
    if not isinstance(draft, dict):
        errors.setdefault(f"{path}.draft", []).append(_("Expected the draft document (an object)."))
        return None
    if published is not None and not isinstance(published, dict):
        errors.setdefault(f"{path}.published", []).append(_("Expected the published document (an object) or null."))
        return None
    definition = model.objects.select_related("published").filter(key=key).first()
    if definition is None:
        with _at(errors, f"{path}.published" if published is not None else f"{path}.draft"):
            create(document=published if published is not None else draft, actor=actor)
            definition = model.objects.select_related("published").get(key=key)
        if definition is None:
            return None
    current = definition.published.document if definition.published_id else None
    if published is not None and published != current:
        with _at(errors, f"{path}.published"):
            save_draft(key=key, document=published, actor=actor)
            publish(key=key, actor=actor, note=_("Imported from a configuration bundle."))
    with _at(errors, f"{path}.draft"):
        save_draft(key=key, document=draft, actor=actor)
    return definition


def _apply_forms(items, actor, errors) -> None:
    for index, item in enumerate(items):
        _definition_apply(
            model=FormDefinition,
            item=item,
            create=forms.form_create,
            save_draft=forms.form_save_draft,
            publish=forms.form_publish,
            actor=actor,
            errors=errors,
            path=f"forms.{index}",
        )


def _apply_workflows(items, actor, errors) -> None:
    for index, item in enumerate(items):
        path = f"workflows.{index}"
        definition = _definition_apply(
            model=WorkflowDefinition,
            item=item,
            create=workflows.workflow_create,
            save_draft=workflows.workflow_save_draft,
            publish=workflows.workflow_publish,
            actor=actor,
            errors=errors,
            path=path,
        )
        active = item.get("is_active", True)
        if not isinstance(active, bool):
            errors.setdefault(f"{path}.is_active", []).append(_("Expected true or false."))
        elif definition is not None:
            with _at(errors, path):
                workflows.workflow_set_active(key=definition.key, active=active, actor=actor)


def _apply_rules(items, actor, errors) -> None:
    from apps.configbundle.rules import rule_apply

    for index, item in enumerate(items):
        with _at(errors, f"rules.{index}"):
            rule_apply(document=item, actor=actor)


def _apply_grading(items, actor, errors) -> None:
    from apps.exceptions.config_api import GradingRuleInput

    existing = list(GradingRule.objects.order_by("position", "id").values_list("pk", flat=True))
    for index, item in enumerate(items):
        path = f"grading.{index}"
        serializer = GradingRuleInput(data=item)
        if not serializer.is_valid():
            for part, messages in serializer.errors.items():
                place = path if part == "non_field_errors" else f"{path}.{part}"
                errors.setdefault(place, []).extend(str(m) for m in _flat(messages))
            continue
        with _at(errors, path):
            grading_rule_save(
                rule_id=existing[index] if index < len(existing) else None,
                values=serializer.validated_data,
                actor=actor,
            )
    for pk in existing[len(items) :]:
        grading_rule_delete(rule_id=pk, actor=actor)


def _flat(messages: Any) -> list[str]:
    if isinstance(messages, dict):
        return [f"{name}: {m}" for name, inner in messages.items() for m in _flat(inner)]
    if isinstance(messages, list):
        return [m for inner in messages for m in _flat(inner)]
    return [str(messages)]


def _apply_calendars(items, actor, errors) -> None:
    named: set[str] = set()
    for index, item in enumerate(items):
        key = item.get("department")
        if not isinstance(key, str) or not key:
            errors.setdefault(f"calendars.{index}.department", []).append(
                _("A department code (or default) is required.")
            )
            continue
        named.add(key)
        document = {name: value for name, value in item.items() if name not in ("department", "inherited")}
        with _at(errors, f"calendars.{index}"):
            calendars.calendar_save(key=key, document=document, actor=actor)
    for key in _calendar_keys():
        if key != "default" and key not in named:
            calendars.calendar_reset(key=key)


def _apply_ladders(items, actor, errors) -> None:
    for index, item in enumerate(items):
        severity = item.get("severity")
        if severity not in Severity.values:
            errors.setdefault(f"ladders.{index}.severity", []).append(
                _("One of: %(choices)s.") % {"choices": ", ".join(Severity.values)}
            )
            continue
        with _at(errors, f"ladders.{index}"):
            ladders.ladder_save(severity=severity, document={"levels": item.get("levels")}, actor=actor)


_APPLY = {
    "forms": _apply_forms,
    "rules": _apply_rules,
    "workflows": _apply_workflows,
    "grading": _apply_grading,
    "calendars": _apply_calendars,
    "ladders": _apply_ladders,
}


def bundle_import(*, bundle: Any, actor: User | None, dry_run: bool) -> ImportReport:
    """Apply ``bundle`` all or nothing; with ``dry_run`` roll it back. Returns what changed (or
    would). Raises ``BundleError`` naming every bad part by its path; then nothing changed."""
    bundle = _check_envelope(bundle)
    with transaction.atomic():
        before = _sections()
        errors: dict[str, list[str]] = {}
        for section in SECTIONS:
            items = _items(bundle, section, errors)
            if items is not None:
                # Each section in its own savepoint: a refused item leaves nothing half-written
                # that the sections after it would read, and the whole is rolled back below.
                with transaction.atomic():
                    _APPLY[section](items, actor, errors)
        if errors:
            transaction.set_rollback(True)
            raise BundleError(errors)
        report = ImportReport(dry_run=dry_run, changes=_changes(before, _sections()))
        if dry_run:
            transaction.set_rollback(True)
    return report
