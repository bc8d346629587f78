"""Evaluate a checked ``Condition`` against one loaded order (``OrderContext``), in Python.

The same semantics as the compiled query: a comparison with a missing value is false.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from apps.rules.fields import COLLECTIONS, FieldDef, FieldType, day_limits
from apps.rules.language import Condition, Each, FieldRef, Group, Leaf, Not

_COMPARE = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        return False
    return _COMPARE[op](left, right)


def _operand(value: Any, ctx, row) -> Any:
    return value.field.py(ctx, row) if isinstance(value, FieldRef) else value


def _age(definition: FieldDef, op: str, duration: timedelta, ctx, row) -> bool:
    anchor = definition.py(ctx, row)
    reference = ctx.now if definition.reference is None else definition.reference[1](ctx, row)
    if anchor is None or reference is None:
        return False
    flipped = {"gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}[op]
    return _compare(flipped, anchor, reference - duration)


def _set(op: str, value: Any, current: tuple | None) -> bool:
    """A set's tests; ``current`` is ``None`` for an empty set (the accessor's reading)."""
    if op in ("is_empty", "is_not_empty"):
        return (current is None) == (op == "is_empty")
    if current is None:
        return False
    options = (value,) if op == "contains" else value
    holds = any(isinstance(item, str) and item in options for item in current)
    return holds if op != "not_in" else not holds


def _leaf(leaf: Leaf, ctx, row) -> bool:
    definition, op, value = leaf.field, leaf.op, leaf.value
    target = ctx.order if row is None else row
    if op in definition.verdicts:
        return bool(getattr(target, definition.verdicts[op]))
    if definition.type is FieldType.AGE:
        if op == "between":
            low, high = value
            return _age(definition, "ge", low, ctx, row) and _age(definition, "le", high, ctx, row)
        return _age(definition, op, value, ctx, row)
    current = definition.py(ctx, row)
    if definition.type is FieldType.SET:
        return _set(op, value, current)
    if op == "is_empty":
        return current is None or current == ""
    if op == "is_not_empty":
        return current is not None and current != ""
    if op in ("in", "not_in"):
        if current is None:
            return False
        return (current in value) == (op == "in")
    if op == "between":
        low, high = value
        return _compare("ge", current, _operand(low, ctx, row)) and _compare("le", current, _operand(high, ctx, row))
    if op == "contains":
        return current is not None and value in current
    if op == "startswith":
        return current is not None and current.startswith(value)
    if op == "matches":
        return current is not None and re.search(value, current) is not None
    if op in ("older_than", "newer_than") and definition.type is FieldType.DATE:
        began_before, day = day_limits(ctx.now - value)
        return _compare("le", current, began_before) if op == "older_than" else _compare("gt", current, day)
    if op == "older_than":
        return _compare("lt", current, ctx.now - value)
    if op == "newer_than":
        return _compare("gt", current, ctx.now - value)
    return _compare(op, current, _operand(value, ctx, row))


def evaluate(condition: Condition, ctx, row=None) -> bool:
    if isinstance(condition, Leaf):
        return _leaf(condition, ctx, row)
    if isinstance(condition, Group):
        results = (evaluate(child, ctx, row) for child in condition.children)
        return all(results) if condition.kind == "all" else any(results)
    if isinstance(condition, Not):
        return not evaluate(condition.child, ctx, row)
    if isinstance(condition, Each):
        rows = ctx.collection(condition.collection)
        results = (evaluate(condition.where, ctx, item) for item in rows)
        return any(results) if condition.quantifier == "any" else all(results)
    raise TypeError(f"not a condition: {condition!r}")


__all__ = ["COLLECTIONS", "evaluate"]
