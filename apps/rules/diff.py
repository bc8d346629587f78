"""A rule as a document, and what changed between two of them, as rows a person reads.

``rule_document`` is the rule's configuration as the configuration API carries it and as each
``RuleVersion`` keeps it; ``document_changes`` lists what differs (stored with the version);
``change_rows`` says it in the page's language, a condition as its sentence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.common.i18n import localized
from apps.rules.models import Category, ExceptionRule, Severity
from apps.rules.sentence import condition_sentence

# The attributes a version compares, in the order a person reads them; the code never changes.
ATTRIBUTES = ("name", "description", "category", "severity", "is_active", "condition", "params")
ATTRIBUTE_LABELS = {
    "name": lambda: pgettext("rule property", "name"),
    "description": lambda: pgettext("rule property", "description"),
    "category": lambda: pgettext("rule property", "category"),
    "severity": lambda: pgettext("rule property", "default severity"),
    "is_active": lambda: pgettext("rule property", "active"),
    "condition": lambda: pgettext("rule property", "condition"),
}


def rule_document(rule: ExceptionRule) -> dict[str, Any]:
    """The rule as a JSON document: ``code, name {"zh-hans", "en"}, description, category,
    severity, condition, params, is_active`` (as stored: a JSON round trip of the values)."""
    document = {
        "code": rule.code,
        "name": {"zh-hans": rule.name, "en": rule.name_en},
        "description": rule.description,
        "category": rule.category,
        "severity": rule.default_severity,
        "condition": rule.condition or {},
        "params": rule.params or {},
        "is_active": rule.is_active,
    }
    return json.loads(json.dumps(document, cls=DjangoJSONEncoder))


def document_changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed from ``old`` to ``new`` as JSON rows; ``[{"change": "created"}]`` without ``old``.

    A parameter is compared key by key (``{"attribute": "params", "param": "window", ...}``,
    ``old`` or ``new`` null where it was added or removed); a changed condition keeps both
    sides' parameters, so that each reads as the sentence it was.
    """
    if old is None:
        return [{"change": "created"}]
    changes: list[dict[str, Any]] = []
    for attribute in ATTRIBUTES:
        before, after = old.get(attribute), new.get(attribute)
        if attribute == "params":
            before, after = before or {}, after or {}
            for key in sorted(before.keys() | after.keys()):
                if before.get(key) != after.get(key) or (key in before) != (key in after):
                    changes.append(
                        {
                            "change": "changed",
                            "attribute": "params",
                            "param": key,
                            "old": before.get(key),
                            "new": after.get(key),
                        }
                    )
            continue
        if before == after:
            continue
        change = {"change": "changed", "attribute": attribute, "old": before, "new": after}
        if attribute == "condition":
            change |= {"old_params": old.get("params") or {}, "new_params": new.get("params") or {}}
        changes.append(change)
    return changes


@dataclass(frozen=True)
class ChangeRow:
    """One change in words: what changed, from what to what."""

    what: str
    old: str
    new: str


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return localized(
            value.get("zh-hans", "") or value.get("en", ""), value.get("en", "") or value.get("zh-hans", "")
        )
    return "" if value is None else str(value)


def _choice(choices: type, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _param_words(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return pgettext("answer", "Yes") if value else pgettext("answer", "No")
    if isinstance(value, list):
        return _("、").join(_param_words(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _words(change: dict[str, Any], side: str) -> str:
    attribute, value = change.get("attribute"), change.get(side)
    if attribute == "name":
        return _text(value) or "—"
    if attribute == "description":
        return value or "—"
    if attribute == "category":
        return _choice(Category, value)
    if attribute == "severity":
        return _choice(Severity, value)
    if attribute == "is_active":
        return pgettext("answer", "Yes") if value else pgettext("answer", "No")
    if attribute == "condition":
        return condition_sentence(value, change.get(f"{side}_params") or {})
    return _param_words(value)


def change_rows(changes: list[dict[str, Any]]) -> list[ChangeRow]:
    """Stored changes as rows in the page's language."""
    rows = []
    for change in changes:
        if change.get("change") == "created":
            rows.append(ChangeRow(_("Rule created"), "", ""))
            continue
        attribute = change.get("attribute", "")
        if attribute == "params":
            name = change.get("param", "")
            if change.get("old") is None:
                what = _("Parameter %(name)s added") % {"name": name}
            elif change.get("new") is None:
                what = _("Parameter %(name)s removed") % {"name": name}
            else:
                what = _("Changed parameter %(name)s") % {"name": name}
        else:
            label = ATTRIBUTE_LABELS[attribute]() if attribute in ATTRIBUTE_LABELS else attribute
            what = _("Changed %(property)s") % {"property": label}
        rows.append(ChangeRow(what, _words(change, "old"), _words(change, "new")))
    return rows
