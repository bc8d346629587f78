"""Compile a checked ``Condition`` into one ``Q`` over orders, for set-based scans.

Every leaf is two-valued: a comparison with a missing (NULL) value is false, as it is in the
Python evaluator, so ``not`` and ``all`` lines agree on both sides (SQL's unknown would not).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import DateTimeField, Exists, ExpressionWrapper, OuterRef, Q, Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
    Regex,
)

from apps.rules.fields import COLLECTIONS, Env, FieldDef, FieldType
from apps.rules.language import Condition, Each, FieldRef, Group, Leaf, Not

_LOOKUPS = {
    "eq": Exact,
    "lt": LessThan,
    "le": LessThanOrEqual,
    "gt": GreaterThan,
    "ge": GreaterThanOrEqual,
}


def _operand(value: Any, env: Env) -> Any:
    if isinstance(value, FieldRef):
        return value.field.orm(env)
    return Value(value)


def _present(expression: Any) -> Q:
    return Q(IsNull(expression, False))


def _compare(op: str, lhs: Any, rhs: Any) -> Q:
    """``lhs op rhs``, false when either side is NULL."""
    guard = _present(lhs) & _present(rhs)
    if op == "ne":
        return guard & ~Q(Exact(lhs, rhs))
    return guard & Q(_LOOKUPS[op](lhs, rhs))


def _age(definition: FieldDef, op: str, duration: timedelta, env: Env) -> Q:
    """age op duration, with age = reference − anchor, as a comparison of the two times."""
    anchor = definition.orm(env)
    if definition.reference is None:
        limit: Any = Value(env.now - duration)
    else:
        limit = ExpressionWrapper(definition.reference[0](env) - Value(duration), output_field=DateTimeField())
    # age > d  ⇔  anchor < reference − d, and so on with the comparison turned around.
    flipped = {"gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}[op]
    return _compare(flipped, anchor, limit)


def _leaf(leaf: Leaf, env: Env) -> Q:
    definition, op, value = leaf.field, leaf.op, leaf.value
    if op in definition.verdicts:
        return Q(**{definition.verdicts[op]: True})
    lhs = definition.orm(env)
    if definition.type is FieldType.AGE:
        if op == "between":
            low, high = value
            return _age(definition, "ge", low, env) & _age(definition, "le", high, env)
        return _age(definition, op, value, env)
    if op == "is_empty":
        empty = Q(IsNull(lhs, True))
        return empty | Q(Exact(lhs, Value(""))) if definition.type is FieldType.STRING else empty
    if op == "is_not_empty":
        present = _present(lhs)
        return present & ~Q(Exact(lhs, Value(""))) if definition.type is FieldType.STRING else present
    if op in ("in", "not_in"):
        inside = Q(In(lhs, list(value)))
        return _present(lhs) & (inside if op == "in" else ~inside)
    if op == "between":
        low, high = value
        return _compare("ge", lhs, _operand(low, env)) & _compare("le", lhs, _operand(high, env))
    if op == "contains":
        return _compare("gt", StrIndex(lhs, Value(value)), Value(0))
    if op == "startswith":
        return _compare("eq", StrIndex(lhs, Value(value)), Value(1))
    if op == "matches":
        return _present(lhs) & Q(Regex(lhs, Value(value)))
    if op == "older_than":
        return _compare("lt", lhs, Value(env.now - value))
    if op == "newer_than":
        return _compare("gt", lhs, Value(env.now - value))
    return _compare(op, lhs, _operand(value, env))


def condition_q(condition: Condition, env: Env) -> Q:
    """The condition as a ``Q`` on the model of its scope (orders at the top)."""
    if isinstance(condition, Leaf):
        return _leaf(condition, env)
    if isinstance(condition, Group):
        parts = [condition_q(child, env) for child in condition.children]
        combined = parts[0]
        for part in parts[1:]:
            combined = combined & part if condition.kind == "all" else combined | part
        return combined
    if isinstance(condition, Not):
        return ~condition_q(condition.child, env)
    if isinstance(condition, Each):
        collection = COLLECTIONS[condition.collection]
        rows = collection.model.objects.filter(**{collection.order_path: OuterRef("pk")})
        where = condition_q(condition.where, env)
        if condition.quantifier == "any":
            return Q(Exists(rows.filter(where)))
        return ~Q(Exists(rows.exclude(where)))
    raise TypeError(f"not a condition: {condition!r}")
