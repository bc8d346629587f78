"""The rule builder's field catalogue for the configuration API (``GET /api/v1/rules/fields/``).

The same offer as the console's builder (``apps.rules.builder``: its groups, operator words and
units), with every text in both languages, for a client that builds conditions itself: the
fields grouped by the object they belong to (order, customer, address, the published order
form's custom fields, computed; and each collection's rows), each with its type, the operators
its type takes, its choices and its unit; and the operators with what value each takes.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation

from apps.common.documents import LANGUAGES
from apps.rules.builder import GROUP_WORDS, OP_ORDER, OP_WORDS, ORDER_GROUPS
from apps.rules.fields import COLLECTIONS, SCOPES, FieldDef, custom_fields
from apps.rules.language import OPS_BY_TYPE, UNARY

# What each operator's value is: how a client lays out its input.
OPERATOR_VALUES = {
    "in": "list",
    "not_in": "list",
    "between": "pair",
    "older_than": "duration",
    "newer_than": "duration",
}


def _both(text: Any) -> dict[str, str]:
    """``text`` (a lazy translation, or a text with both languages) in each language."""
    words = {}
    for language in LANGUAGES:
        with translation.override(language):
            words[language] = str(text) if text else ""
    return words


def _operators(definition: FieldDef) -> list[str]:
    allowed = OPS_BY_TYPE[definition.type] | set(definition.verdicts)
    return [op for op in OP_ORDER if op in allowed]


def _field(definition: FieldDef) -> dict[str, Any]:
    labels = definition.choice_labels
    return {
        "name": definition.name,
        "label": _both(definition.label),
        "description": _both(definition.description),
        "type": definition.type.value,
        "unit": definition.unit,
        "nullable": definition.nullable,
        "operators": _operators(definition),
        "choices": [{"value": value, "label": _both(labels.get(value, value))} for value in definition.choices],
    }


def rule_builder_catalogue() -> dict[str, Any]:
    """``{"groups": [{"key", "label", "collection", "fields": [...]}], "operators": [...]}`` (one
    query: the published order form, for its custom fields)."""
    collection_of = {definition.scope: key for key, definition in COLLECTIONS.items()}
    custom = custom_fields()
    groups = []
    for scope, registry in SCOPES.items():
        definitions = [*registry.values(), *(custom.values() if scope == "order" else ())]
        keys = ORDER_GROUPS if scope == "order" else (scope, "computed")
        for key in keys:
            members = [definition for definition in definitions if (definition.group or scope) == key]
            if not members:
                continue
            groups.append(
                {
                    "key": key if scope == "order" else f"{scope}.{key}" if key != scope else scope,
                    "label": _both(GROUP_WORDS[key]),
                    "collection": collection_of.get(scope),
                    "fields": [_field(definition) for definition in members],
                }
            )
    operators = [
        {"op": op, "label": _both(OP_WORDS[op]), "value": "none" if op in UNARY else OPERATOR_VALUES.get(op, "one")}
        for op in OP_ORDER
    ]
    return {"groups": groups, "operators": operators}
