"""A rule's condition read back as a sentence in the page's language, for people who don't read JSON.

``condition_sentence({"all": [...]}, params)`` → "status is one of Paid, Reviewed and paid total <
total amount" / "状态 属于 已付款、已审核 且 已付总额 < 订单总额". It reads the stored tree as the
rule language (SPEC §4) defines it; a node it cannot read is shown as "(unreadable condition)"
rather than failing the page, since the rule checker refuses such trees before they are saved.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.exceptions.evidence import duration_text, time_text
from apps.rules.fields import COLLECTIONS, FieldType, fields_of
from apps.rules.language import parse_duration

OPERATORS = {
    "eq": gettext_lazy("is"),
    "ne": gettext_lazy("is not"),
    "lt": "<",
    "le": "≤",
    "gt": ">",
    "ge": "≥",
    "in": gettext_lazy("is one of"),
    "not_in": gettext_lazy("is none of"),
    "contains": gettext_lazy("contains"),
    "startswith": gettext_lazy("starts with"),
    "matches": gettext_lazy("matches the pattern"),
    "is_empty": gettext_lazy("is empty"),
    "is_not_empty": gettext_lazy("is filled in"),
    "valid_phone": gettext_lazy("is a valid phone number"),
    "valid_email": gettext_lazy("is a valid e-mail address"),
    "valid_tracking": gettext_lazy("fits its carrier's format"),
}
COLLECTION_NAMES = {
    "lines": gettext_lazy("order line"),
    "shipments": gettext_lazy("shipment"),
    "shipment_lines": gettext_lazy("shipped line"),
    "payments": gettext_lazy("payment"),
}


def _duration_text(text: str) -> str:
    """``"2h"`` → "2 h" / "2 小时"; ``"1h30m"`` → "1 h 30 min"."""
    return duration_text(int(parse_duration(text).total_seconds()) // 60)


def _label(scope: str, name: str) -> str:
    definition = fields_of(scope).get(name)
    return str(definition.label) if definition is not None else name


def _literal(scope: str, field: str, value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return _("、").join(_literal(scope, field, item) for item in value)
    definition = fields_of(scope).get(field)
    labels = definition.choice_labels if definition is not None else {}
    if definition is not None and definition.type is FieldType.DATETIME and isinstance(value, str):
        return time_text(value)
    if isinstance(value, str) and value in labels:
        return str(labels[value])
    return str(value)


def _value(scope: str, field: str, value: Any, params: dict[str, Any]) -> str:
    if isinstance(value, dict) and "field" in value:
        return _label(scope, value["field"])
    if isinstance(value, dict) and "param" in value:
        name = value["param"]
        if name in params:
            return _value(scope, field, params[name], params)
        return _("parameter %(name)s") % {"name": name}
    return _literal(scope, field, value)


def _leaf(node: dict[str, Any], scope: str, params: dict[str, Any]) -> str:
    field, op = node.get("field"), node.get("op")
    label = _label(scope, field)
    value = node.get("value")
    if op in ("older_than", "newer_than"):
        duration = _value(scope, field, value, params)
        with contextlib.suppress(ValueError, TypeError):
            duration = _duration_text(duration)
        phrase = (
            _("%(field)s is more than %(duration)s ago")
            if op == "older_than"
            else _("%(field)s is less than %(duration)s ago")
        )
        return phrase % {"field": label, "duration": duration}
    if op == "between" and isinstance(value, list) and len(value) == 2:
        return _("%(field)s is between %(low)s and %(high)s") % {
            "field": label,
            "low": _value(scope, field, value[0], params),
            "high": _value(scope, field, value[1], params),
        }
    definition = fields_of(scope).get(field) if isinstance(field, str) else None
    if definition is not None and definition.type is FieldType.SET and op in ("in", "not_in"):
        phrase = (
            _("%(field)s includes any of %(options)s") if op == "in" else _("%(field)s includes none of %(options)s")
        )
        return phrase % {"field": label, "options": _value(scope, field, value, params)}
    operator = OPERATORS.get(op)
    if operator is None:
        return _("(unreadable condition)")
    if "value" not in node:
        return f"{label} {operator}"
    return f"{label} {operator} {_value(scope, field, value, params)}"


def _sentence(node: Any, scope: str, params: dict[str, Any], nested: bool) -> str:
    if not isinstance(node, dict) or not node:
        return _("(unreadable condition)")
    for group, joiner in (("all", _(" and ")), ("any", _(" or "))):
        if group in node and isinstance(node[group], list):
            parts = [_sentence(child, scope, params, True) for child in node[group]]
            text = joiner.join(parts)
            return f"({text})" if nested and len(parts) > 1 else text
    if "not" in node:
        return _("not (%(condition)s)") % {"condition": _sentence(node["not"], scope, params, False)}
    for collection, definition in COLLECTIONS.items():
        if collection in node:
            inner = _sentence(node.get("where"), definition.scope, params, False)
            phrase = (
                _("any %(item)s where %(condition)s")
                if node[collection] == "any"
                else _("every %(item)s where %(condition)s")
            )
            return phrase % {"item": COLLECTION_NAMES[collection], "condition": inner}
    if "field" in node:
        return _leaf(node, scope, params)
    return _("(unreadable condition)")


def condition_sentence(condition: Any, params: dict[str, Any] | None = None) -> str:
    """The condition tree as one sentence in the active language; parameters shown by their values."""
    if not condition:
        return _("(no condition: raised by another part of the system)")
    return _sentence(condition, "order", params or {}, False)
