"""What the rule builder offers (SPEC §10.3), read from the rule language and its field registry.

The builder's script (``static/orderguard/rule-builder.js``) holds a condition tree as the person
edits it; everything it may offer comes from here, in the page's language: the fields of each
scope grouped by the object they belong to (order, customer, address, custom fields of the
published order form, computed fields; lines, payments, shipments, shipped lines), each with its
label, a one-line description, its type, its options and its unit; the operators of each type;
the collections a condition can be quantified over; the units of a duration. The language
itself (``language.py``) stays the judge: the builder offers only what it accepts, and the check
endpoint answers its verdict.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.rules.fields import COLLECTIONS, SCOPES, FieldDef, FieldType, custom_fields
from apps.rules.language import OPS_BY_TYPE, UNARY
from apps.rules.sentence import COLLECTION_NAMES

# The operators in the order the builder lists them.
OP_ORDER = (
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "between",
    "in",
    "not_in",
    "contains",
    "startswith",
    "matches",
    "older_than",
    "newer_than",
    "is_empty",
    "is_not_empty",
    "valid_phone",
    "valid_email",
    "valid_tracking",
)
OP_WORDS = {
    "eq": pgettext_lazy("rule operator", "is (=)"),
    "ne": pgettext_lazy("rule operator", "is not (≠)"),
    "lt": pgettext_lazy("rule operator", "is less than (<)"),
    "le": pgettext_lazy("rule operator", "is at most (≤)"),
    "gt": pgettext_lazy("rule operator", "is more than (>)"),
    "ge": pgettext_lazy("rule operator", "is at least (≥)"),
    "between": pgettext_lazy("rule operator", "is between"),
    "in": pgettext_lazy("rule operator", "is one of"),
    "not_in": pgettext_lazy("rule operator", "is none of"),
    "contains": pgettext_lazy("rule operator", "contains"),
    "startswith": pgettext_lazy("rule operator", "starts with"),
    "matches": pgettext_lazy("rule operator", "matches the pattern"),
    "older_than": pgettext_lazy("rule operator", "is longer ago than"),
    "newer_than": pgettext_lazy("rule operator", "is less long ago than"),
    "is_empty": pgettext_lazy("rule operator", "is empty"),
    "is_not_empty": pgettext_lazy("rule operator", "is filled in"),
    "valid_phone": pgettext_lazy("rule operator", "is a valid phone number"),
    "valid_email": pgettext_lazy("rule operator", "is a valid e-mail address"),
    "valid_tracking": pgettext_lazy("rule operator", "fits its carrier's format"),
}
# Times read better as before and after.
TIME_OP_WORDS = {
    "eq": pgettext_lazy("rule operator", "is exactly"),
    "lt": pgettext_lazy("rule operator", "is before"),
    "le": pgettext_lazy("rule operator", "is at or before"),
    "gt": pgettext_lazy("rule operator", "is after"),
    "ge": pgettext_lazy("rule operator", "is at or after"),
}
# A set holds options ("contains" one); its lists read as what it includes.
SET_OP_WORDS = {
    "in": pgettext_lazy("rule operator", "includes any of"),
    "not_in": pgettext_lazy("rule operator", "includes none of"),
}
TYPE_OP_WORDS = {
    FieldType.DATETIME: TIME_OP_WORDS,
    FieldType.DATE: TIME_OP_WORDS,
    FieldType.SET: SET_OP_WORDS,
}
TYPE_WORDS = {
    FieldType.STRING: pgettext_lazy("rule field type", "text"),
    FieldType.ENUM: pgettext_lazy("rule field type", "choice"),
    FieldType.DECIMAL: pgettext_lazy("rule field type", "number"),
    FieldType.INTEGER: pgettext_lazy("rule field type", "whole number"),
    FieldType.DATETIME: pgettext_lazy("rule field type", "time"),
    FieldType.DATE: pgettext_lazy("rule field type", "date"),
    FieldType.SET: pgettext_lazy("rule field type", "multiple choice"),
    FieldType.BOOLEAN: pgettext_lazy("rule field type", "yes / no"),
    FieldType.AGE: pgettext_lazy("rule field type", "duration"),
}
# The objects the field picker groups fields by, in its order; a collection's rows are their own.
GROUP_WORDS = {
    "order": pgettext_lazy("rule field group", "Order"),
    "customer": pgettext_lazy("rule field group", "Customer"),
    "address": pgettext_lazy("rule field group", "Shipping address"),
    "custom": pgettext_lazy("rule field group", "Custom fields (order form)"),
    "computed": pgettext_lazy("rule field group", "Computed"),
    "line": pgettext_lazy("rule field group", "Order lines"),
    "payment": pgettext_lazy("rule field group", "Payments"),
    "shipment": pgettext_lazy("rule field group", "Shipments"),
    "shipment_line": pgettext_lazy("rule field group", "Shipped lines"),
}
ORDER_GROUPS = ("order", "customer", "address", "custom", "computed")
UNIT_WORDS = {
    "money": pgettext_lazy("rule unit", "in the order's currency"),
    "ratio": pgettext_lazy("rule unit", "× the list price"),
    "pieces": pgettext_lazy("rule unit", "pieces"),
}
DURATION_UNITS = {
    "m": pgettext_lazy("duration unit", "minutes"),
    "h": pgettext_lazy("duration unit", "hours"),
    "d": pgettext_lazy("duration unit", "days"),
}
QUANTIFIER_WORDS = {
    "any": _("At least one %(item)s where"),
    "all": _("Every %(item)s where"),
}


def _field_entry(definition: FieldDef) -> dict[str, Any]:
    labels = definition.choice_labels
    return {
        "name": definition.name,
        "label": str(definition.label),
        "description": str(definition.description) if definition.description else "",
        "type": definition.type.value,
        "typeLabel": str(TYPE_WORDS[definition.type]),
        "choices": [{"value": value, "label": str(labels.get(value, value))} for value in definition.choices],
        "verdicts": [op for op in OP_ORDER if op in definition.verdicts],
        "unit": str(UNIT_WORDS[definition.unit]) if definition.unit else "",
        "nullable": definition.nullable,
    }


def _groups(scope: str, extra: dict[str, FieldDef]) -> list[dict[str, Any]]:
    definitions = [*SCOPES[scope].values(), *extra.values()]
    keys = ORDER_GROUPS if scope == "order" else (scope, "computed")
    groups = []
    for key in keys:
        members = [d for d in definitions if (d.group or scope) == key]
        if members:
            words = GROUP_WORDS[key]
            groups.append({"key": key, "label": str(words), "fields": [_field_entry(d) for d in members]})
    return groups


def builder_catalogue() -> dict[str, Any]:
    """Everything the builder's script may offer, in the page's language (one query: the order form)."""
    custom = custom_fields()
    scopes = {scope: {"groups": _groups(scope, custom if scope == "order" else {})} for scope in SCOPES}
    ops_by_type = {
        kind.value: [op for op in OP_ORDER if op in OPS_BY_TYPE[kind]] for kind in FieldType if kind in OPS_BY_TYPE
    }
    return {
        "scopes": scopes,
        "collections": {
            key: {
                "scope": definition.scope,
                "group": str(GROUP_WORDS[definition.scope]),
                "item": str(COLLECTION_NAMES[key]),
                "quantifiers": {
                    quantifier: str(words) % {"item": COLLECTION_NAMES[key]}
                    for quantifier, words in QUANTIFIER_WORDS.items()
                },
            }
            for key, definition in COLLECTIONS.items()
        },
        "opsByType": ops_by_type,
        "opWords": {op: str(OP_WORDS[op]) for op in OP_ORDER},
        # Words of an operator for the fields of a type, where they differ from ``opWords``.
        "typeOpWords": {
            kind.value: {op: str(words[op]) for op in OP_ORDER if op in words} for kind, words in TYPE_OP_WORDS.items()
        },
        "unary": sorted(UNARY),
        "durationUnits": {unit: str(words) for unit, words in DURATION_UNITS.items()},
    }


def starter_condition() -> dict[str, Any]:
    """A new rule's first condition: one the admin changes in the builder (a rule needs one to be valid)."""
    return {"all": [{"field": "status", "op": "eq", "value": "pending_payment"}]}
