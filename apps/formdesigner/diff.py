"""What changed between two form documents, as rows a person reads (the history and the version diff)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.common.i18n import localized
from apps.formdesigner.document import OP_LABELS, TYPE_LABELS, ConditionOp, FieldType

ATTRIBUTE_LABELS = {
    "type": lambda: pgettext("form field property", "type"),
    "label": lambda: pgettext("form field property", "label"),
    "help": lambda: pgettext("form field property", "help text"),
    "required": lambda: pgettext("form field property", "required"),
    "default": lambda: pgettext("form field property", "default"),
    "min": lambda: pgettext("form field property", "smallest value"),
    "max": lambda: pgettext("form field property", "largest value"),
    "min_length": lambda: pgettext("form field property", "shortest length"),
    "max_length": lambda: pgettext("form field property", "longest length"),
    "pattern": lambda: pgettext("form field property", "pattern"),
    "decimal_places": lambda: pgettext("form field property", "decimals"),
    "choices": lambda: pgettext("form field property", "options"),
    "visible_when": lambda: pgettext("form field property", "shown when"),
}
_ATTRIBUTES = tuple(ATTRIBUTE_LABELS)


def _fields(document: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    if not document:
        return {}
    return {item["key"]: item for item in document.get("fields", []) if isinstance(item, dict) and "key" in item}


def document_changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[dict[str, Any]]:
    """The changes from ``old`` to ``new`` as JSON rows (stored in the history, shown by ``change_rows``)."""
    changes: list[dict[str, Any]] = []
    if old is not None and old.get("name") != new.get("name"):
        changes.append({"change": "renamed", "old": old.get("name"), "new": new.get("name")})
    before, after = _fields(old), _fields(new)
    for key, item in after.items():
        if key not in before:
            changes.append({"change": "added", "field": key, "label": item.get("label")})
            continue
        for attribute in _ATTRIBUTES:
            if before[key].get(attribute) != item.get(attribute):
                changes.append(
                    {
                        "change": "changed",
                        "field": key,
                        "label": item.get("label"),
                        "attribute": attribute,
                        "old": before[key].get(attribute),
                        "new": item.get(attribute),
                    }
                )
    for key, item in before.items():
        if key not in after:
            changes.append({"change": "removed", "field": key, "label": item.get("label")})
    kept_before = [key for key in before if key in after]
    kept_after = [key for key in after if key in before]
    if kept_before != kept_after:
        changes.append({"change": "reordered", "old": kept_before, "new": kept_after})
    return changes


@dataclass(frozen=True)
class ChangeRow:
    """One change in words: what happened, to which field, from what to what."""

    what: str
    field: str
    old: str
    new: str


def _text(value: Any) -> str:
    if isinstance(value, dict) and set(value) <= {"zh-hans", "en"}:
        return localized(
            value.get("zh-hans", "") or value.get("en", ""), value.get("en", "") or value.get("zh-hans", "")
        )
    return ""


def _words(attribute: str, value: Any) -> str:
    if value is None:
        return "—"
    if attribute in ("label", "help"):
        return _text(value) or "—"
    if attribute == "type":
        try:
            return str(TYPE_LABELS[FieldType(value)])
        except ValueError:
            return str(value)
    if isinstance(value, bool):
        return pgettext("answer", "Yes") if value else pgettext("answer", "No")
    if attribute == "choices" and isinstance(value, list):
        return ", ".join(
            _text(option.get("label")) or str(option.get("value")) for option in value if isinstance(option, dict)
        )
    if attribute == "visible_when" and isinstance(value, dict):
        try:
            op = ConditionOp(value.get("op"))
        except ValueError:
            return str(value)
        sentence = f"{value.get('field')} {OP_LABELS[op]}"
        if op is not ConditionOp.FILLED:
            shown = value.get("value")
            if isinstance(shown, list):
                shown = ", ".join(map(str, shown))
            elif isinstance(shown, bool):
                shown = pgettext("answer", "Yes") if shown else pgettext("answer", "No")
            sentence += f" {shown}"
        return sentence
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def change_rows(changes: list[dict[str, Any]]) -> list[ChangeRow]:
    """Stored changes as sentences in the page's language."""
    rows = []
    for change in changes:
        kind = change.get("change")
        field = change.get("field", "")
        name = _text(change.get("label"))
        shown = f"{name} ({field})" if name and field else field
        if kind == "added":
            rows.append(ChangeRow(_("Field added"), shown, "", ""))
        elif kind == "removed":
            rows.append(ChangeRow(_("Field removed (stored values are kept, archived)"), shown, "", ""))
        elif kind == "renamed":
            rows.append(ChangeRow(_("Form renamed"), "", _text(change.get("old")), _text(change.get("new"))))
        elif kind == "reordered":
            rows.append(ChangeRow(_("Fields reordered"), "", ", ".join(change["old"]), ", ".join(change["new"])))
        else:
            attribute = change.get("attribute", "")
            label = ATTRIBUTE_LABELS[attribute]() if attribute in ATTRIBUTE_LABELS else attribute
            rows.append(
                ChangeRow(
                    _("Changed %(property)s") % {"property": label},
                    shown,
                    _words(attribute, change.get("old")),
                    _words(attribute, change.get("new")),
                )
            )
    return rows
