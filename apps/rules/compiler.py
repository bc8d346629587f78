"""Compile a checked ``Condition`` into one ``Q`` over orders, for set-based scans.

Every leaf is two-valued: a comparison with a missing (NULL) value is false, as it is in the
Python evaluator, so ``not`` and ``all`` lines agree on both sides (SQL's unknown would not).
A comparison of values that can't be NULL is emitted as it is (an index can serve it); one
that can is wrapped as ``COALESCE(a < b, FALSE)``, which evaluates a computed side (often a
correlated subquery) once, where an ``IS NOT NULL`` guard would evaluate it twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import BooleanField, DateTimeField, Exists, ExpressionWrapper, Func, OuterRef, Q, Value
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

from apps.rules.fields import COLLECTIONS, Env, FieldDef, FieldType, day_limits
from apps.rules.language import Condition, Each, FieldRef, Group, Leaf, Not

_LOOKUPS = {
    "eq": Exact,
    "lt": LessThan,
    "le": LessThanOrEqual,
    "gt": GreaterThan,
    "ge": GreaterThanOrEqual,
}


class _FalseIfNull(Func):
    """``COALESCE(condition, FALSE)``: SQL's unknown read as false, as the evaluator reads it."""

    function = "COALESCE"
    output_field = BooleanField()

    def __init__(self, condition: Any):
        super().__init__(condition, Value(False))


class _NotEqual(Func):
    arg_joiner = " <> "
    template = "(%(expressions)s)"
    output_field = BooleanField()


def _operand(value: Any, env: Env) -> Any:
    if isinstance(value, FieldRef):
        return value.field.orm(env)
    return Value(value)


def _nullable(value: Any) -> bool:
    return isinstance(value, FieldRef) and value.field.nullable


def _present(expression: Any) -> Q:
    return Q(IsNull(expression, False))


def _compare(op: str, lhs: Any, rhs: Any, *, nullable: bool = True) -> Q:
    """``lhs op rhs``, false when either side is NULL (``nullable``: either side can be)."""
    if op == "ne":
        if not nullable:
            return ~Q(Exact(lhs, rhs))
        return Q(_FalseIfNull(_NotEqual(lhs, rhs)))
    lookup = _LOOKUPS[op](lhs, rhs)
    return Q(_FalseIfNull(lookup)) if nullable else Q(lookup)


def _latest_age(definition: FieldDef, op: str, duration: timedelta, env: Env) -> Q:
    """age op duration for an anchor that is the latest time of a set of rows, as EXISTS:
    latest ≥ L ⇔ some row ≥ L, and latest ≤ L ⇔ there are rows and none is > L."""
    rows_of, time_column, reference_column = definition.latest_of
    rows = rows_of(env)
    limit = ExpressionWrapper(OuterRef(reference_column) - Value(duration), output_field=DateTimeField())
    # age > d ⇔ anchor < reference − d, and so on with the comparison turned around.
    flipped = {"gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}[op]
    if flipped == "ge":
        return Q(Exists(rows.filter(**{f"{time_column}__gte": limit})))
    if flipped == "gt":
        return Q(Exists(rows.filter(**{f"{time_column}__gt": limit})))
    beyond = "gt" if flipped == "le" else "gte"
    return Q(Exists(rows)) & ~Q(Exists(rows.filter(**{f"{time_column}__{beyond}": limit})))


def _age(definition: FieldDef, op: str, duration: timedelta, env: Env) -> Q:
    """age op duration, with age = reference − anchor, as a comparison of the two times."""
    if definition.latest_of is not None:
        return _latest_age(definition, op, duration, env)
    anchor = definition.orm(env)
    if definition.reference is None:
        limit: Any = Value(env.now - duration)
    else:
        limit = ExpressionWrapper(definition.reference[0](env) - Value(duration), output_field=DateTimeField())
    # age > d  ⇔  anchor < reference − d, and so on with the comparison turned around.
    flipped = {"gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}[op]
    return _compare(flipped, anchor, limit, nullable=definition.nullable)


def _set(definition: FieldDef, op: str, value: Any, env: Env) -> Q:
    """A set's tests, from its ``includes`` condition (never NULL, so negating it is safe)."""
    includes = definition.includes
    if op == "contains":
        return Q(includes(env, (value,)))
    if op == "in":
        return Q(includes(env, value))
    if op == "not_in":
        return Q(includes(env, None)) & ~Q(includes(env, value))
    filled = Q(includes(env, None))
    return filled if op == "is_not_empty" else ~filled


def _leaf(leaf: Leaf, env: Env) -> Q:
    definition, op, value = leaf.field, leaf.op, leaf.value
    if op in definition.verdicts:
        return Q(**{definition.verdicts[op]: True})
    if definition.type is FieldType.SET:
        return _set(definition, op, value, env)
    lhs = definition.orm(env)
    nullable = definition.nullable
    if definition.type is FieldType.AGE:
        if op == "between":
            low, high = value
            return _age(definition, "ge", low, env) & _age(definition, "le", high, env)
        return _age(definition, op, value, env)
    string = definition.type is FieldType.STRING
    if op == "is_empty":
        if not nullable:
            return Q(Exact(lhs, Value(""))) if string else Q(pk__in=[])
        empty = Q(IsNull(lhs, True))
        return empty | Q(Exact(lhs, Value(""))) if string else empty
    if op == "is_not_empty":
        if not nullable:
            return ~Q(Exact(lhs, Value(""))) if string else ~Q(pk__in=[])
        present = _present(lhs)
        return present & ~Q(Exact(lhs, Value(""))) if string else present
    if op in ("in", "not_in"):
        inside = Q(In(lhs, list(value)))
        if not nullable:
            return inside if op == "in" else ~inside
        test = inside if op == "in" else ~inside
        return Q(_FalseIfNull(ExpressionWrapper(test, output_field=BooleanField())))
    if op == "between":
        low, high = value
        return _compare("ge", lhs, _operand(low, env), nullable=nullable or _nullable(low)) & _compare(
            "le", lhs, _operand(high, env), nullable=nullable or _nullable(high)
        )
    if op == "contains":
        return _compare("gt", StrIndex(lhs, Value(value)), Value(0), nullable=nullable)
    if op == "startswith":
        return _compare("eq", StrIndex(lhs, Value(value)), Value(1), nullable=nullable)
    if op == "matches":
        regex = Regex(lhs, Value(value))
        return Q(_FalseIfNull(regex)) if nullable else Q(regex)
    if op in ("older_than", "newer_than") and definition.type is FieldType.DATE:
        began_before, day = day_limits(env.now - value)
        if op == "older_than":
            return _compare("le", lhs, Value(began_before), nullable=nullable)
        return _compare("gt", lhs, Value(day), nullable=nullable)
    if op == "older_than":
        return _compare("lt", lhs, Value(env.now - value), nullable=nullable)
    if op == "newer_than":
        return _compare("gt", lhs, Value(env.now - value), nullable=nullable)
    return _compare(op, lhs, _operand(value, env), nullable=nullable or _nullable(value))


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
