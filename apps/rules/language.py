"""The rule language (SPEC §4): a JSON condition tree, checked once when a rule is saved.

A tree is one of
    {"all": [node, ...]}   {"any": [node, ...]}   {"not": node}
    {"field": NAME, "op": OP, "value": VALUE}          (value omitted for unary operators)
    {"lines" | "shipments" | "shipment_lines" | "payments": "any" | "all", "where": node}
and VALUE may be a literal, {"field": NAME} (another field of the same scope) or
{"param": NAME} (a rule parameter). Durations are strings like "30m", "2h", "3d", "1h30m".
Times are ISO 8601 with a UTC offset, dates "2026-11-24"; a date is "longer ago" than a duration
when its day began (at midnight in TIME_ZONE) more than that long ago. A set (a multiple choice
of the order form) "contains" an option, is "in" a list when it holds one of its options and
"not_in" it when it holds none (and is not empty).

``rule_check`` turns a tree plus parameters into a ``Condition``: every name resolved, every
value parsed and typed. The compiler (``compiler.py``) and the evaluator (``evaluator.py``)
work from a ``Condition`` only, so a rule that passed the check cannot fail for shape at run
time. Nothing here evaluates user text as code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from apps.rules.fields import COLLECTIONS, FieldDef, FieldType, fields_of

MAX_DEPTH = 12
MAX_NODES = 200

COMPARISONS = {"eq", "ne", "lt", "le", "gt", "ge"}
ORDERED = {"lt", "le", "gt", "ge"}
OPS_BY_TYPE: dict[FieldType, set[str]] = {
    FieldType.STRING: {"eq", "ne", "in", "not_in", "contains", "startswith", "matches", "is_empty", "is_not_empty"},
    FieldType.ENUM: {"eq", "ne", "in", "not_in", "is_empty", "is_not_empty"},
    FieldType.DECIMAL: COMPARISONS | {"in", "not_in", "between", "is_empty", "is_not_empty"},
    FieldType.INTEGER: COMPARISONS | {"in", "not_in", "between", "is_empty", "is_not_empty"},
    FieldType.DATETIME: COMPARISONS | {"between", "older_than", "newer_than", "is_empty", "is_not_empty"},
    FieldType.DATE: COMPARISONS | {"between", "older_than", "newer_than", "is_empty", "is_not_empty"},
    FieldType.BOOLEAN: {"eq", "ne", "is_empty", "is_not_empty"},
    FieldType.AGE: ORDERED | {"between"},
    # contains: the option is among those chosen; in / not_in: one / none of the given options is.
    FieldType.SET: {"contains", "in", "not_in", "is_empty", "is_not_empty"},
}
VERDICT_OPS = {"valid_phone", "valid_email", "valid_tracking"}
UNARY = {"is_empty", "is_not_empty"} | VERDICT_OPS
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class RuleError(ValueError):
    """A rule that can't be used, with the path of the offending node (``all.1.value``)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path or 'condition'}: {message}")
        self.path = path or "condition"
        self.message = message


@dataclass(frozen=True)
class FieldRef:
    field: FieldDef


@dataclass(frozen=True)
class Leaf:
    field: FieldDef
    op: str
    value: Any = None  # a typed literal, a tuple for in/between, a FieldRef, or a timedelta


@dataclass(frozen=True)
class Group:
    kind: str  # "all" | "any"
    children: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    child: Condition


@dataclass(frozen=True)
class Each:
    collection: str  # a key of COLLECTIONS
    quantifier: str  # "any" | "all"
    where: Condition


Condition = Leaf | Group | Not | Each


@dataclass
class _Walk:
    params: dict[str, Any]
    nodes: int = 0
    used_params: set[str] = field(default_factory=set)


def parse_duration(text: Any) -> timedelta:
    if not isinstance(text, str):
        raise ValueError(_('A duration is a string such as "30m", "2h" or "3d".'))
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(_('“%(text)s” is not a duration such as "30m", "2h" or "3d".') % {"text": text})
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _literal(definition: FieldDef, raw: Any, path: str) -> Any:
    """Parse one literal for a field of ``definition``'s type."""
    kind = definition.type
    try:
        if kind in (FieldType.STRING, FieldType.ENUM, FieldType.SET):
            if not isinstance(raw, str):
                raise ValueError(_("Expected a string."))
            if kind is not FieldType.STRING and raw not in definition.choices:
                choices = ", ".join(definition.choices)
                raise ValueError(_("“%(value)s” is not one of %(choices)s.") % {"value": raw, "choices": choices})
            return raw
        if kind is FieldType.DECIMAL:
            if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
                raise ValueError(_('Expected a decimal number such as "0.01".'))
            try:
                value = Decimal(str(raw))
            except InvalidOperation:
                raise ValueError(_('Expected a decimal number such as "0.01".')) from None
            if not value.is_finite():
                raise ValueError(_("Expected a finite number."))
            return value
        if kind is FieldType.INTEGER:
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise ValueError(_("Expected a whole number."))
            return raw
        if kind is FieldType.BOOLEAN:
            if not isinstance(raw, bool):
                raise ValueError(_("Expected true or false."))
            return raw
        if kind is FieldType.DATETIME:
            parsed = parse_datetime(raw) if isinstance(raw, str) else None
            if parsed is None or parsed.tzinfo is None:
                raise ValueError(_("Expected an ISO 8601 time with a UTC offset."))
            return parsed
        if kind is FieldType.DATE:
            try:
                if isinstance(raw, str) and _DATE.fullmatch(raw):
                    return date.fromisoformat(raw)
            except ValueError:
                pass
            raise ValueError(_("Give a date as YYYY-MM-DD."))
        if kind is FieldType.AGE:
            return parse_duration(raw)
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise RuleError(path, str(exc) if str(exc) else _("Malformed value.")) from exc
    raise RuleError(path, _("Unsupported field type."))


def _value(walk: _Walk, definition: FieldDef, scope: str, raw: Any, path: str) -> Any:
    """A literal, a parameter's value, or a reference to another field of the same type."""
    if isinstance(raw, dict) and set(raw) == {"param"}:
        name = raw["param"]
        if not isinstance(name, str) or name not in walk.params:
            raise RuleError(path, _("Unknown parameter “%(name)s”.") % {"name": name})
        walk.used_params.add(name)
        return _value(walk, definition, scope, walk.params[name], f"params.{name}")
    if isinstance(raw, dict) and set(raw) == {"field"}:
        other = _field(raw["field"], scope, path)
        if other.type is not definition.type or other.type is FieldType.AGE:
            raise RuleError(
                path,
                _("“%(other)s” cannot be compared with “%(field)s”: their types differ.")
                % {"other": other.name, "field": definition.name},
            )
        return FieldRef(other)
    return _literal(definition, raw, path)


def _field(name: Any, scope: str, path: str) -> FieldDef:
    registry = fields_of(scope)
    if not isinstance(name, str) or name not in registry:
        raise RuleError(path, _("Unknown field “%(name)s”.") % {"name": name})
    return registry[name]


def _leaf(walk: _Walk, node: dict[str, Any], scope: str, path: str) -> Leaf:
    extra = set(node) - {"field", "op", "value"}
    if extra:
        raise RuleError(path, _("Unexpected keys: %(keys)s.") % {"keys": ", ".join(sorted(extra))})
    definition = _field(node.get("field"), scope, f"{path}.field" if path else "field")
    op = node.get("op")
    allowed = OPS_BY_TYPE[definition.type] | set(definition.verdicts)
    op_path = f"{path}.op" if path else "op"
    if op not in allowed:
        raise RuleError(
            op_path,
            _("“%(op)s” does not apply to %(field)s; use one of %(ops)s.")
            % {"op": op, "field": definition.name, "ops": ", ".join(sorted(allowed))},
        )
    value_path = f"{path}.value" if path else "value"
    if op in UNARY:
        if "value" in node:
            raise RuleError(value_path, _("“%(op)s” takes no value.") % {"op": op})
        return Leaf(definition, op)
    if "value" not in node:
        raise RuleError(value_path, _("“%(op)s” needs a value.") % {"op": op})
    raw = node["value"]
    if op in ("older_than", "newer_than"):
        if isinstance(raw, dict) and set(raw) == {"param"}:
            name = raw["param"]
            if not isinstance(name, str) or name not in walk.params:
                raise RuleError(value_path, _("Unknown parameter “%(name)s”.") % {"name": name})
            walk.used_params.add(name)
            raw = walk.params[name]
        try:
            return Leaf(definition, op, parse_duration(raw))
        except ValueError as exc:
            raise RuleError(value_path, str(exc)) from exc
    if op in ("in", "not_in"):
        if isinstance(raw, dict) and set(raw) == {"param"}:
            name = raw["param"]
            if not isinstance(name, str) or name not in walk.params:
                raise RuleError(value_path, _("Unknown parameter “%(name)s”.") % {"name": name})
            walk.used_params.add(name)
            raw = walk.params[name]
        if not isinstance(raw, list) or not raw or len(raw) > 500:
            raise RuleError(value_path, _("Expected a list of 1 to 500 values."))
        items = tuple(_literal(definition, item, f"{value_path}.{i}") for i, item in enumerate(raw))
        return Leaf(definition, op, items)
    if op == "between":
        if not isinstance(raw, list) or len(raw) != 2:
            raise RuleError(value_path, _("Expected [low, high]."))
        low, high = (_value(walk, definition, scope, item, f"{value_path}.{i}") for i, item in enumerate(raw))
        if not isinstance(low, FieldRef) and not isinstance(high, FieldRef) and low > high:
            raise RuleError(value_path, _("The low end is above the high end."))
        return Leaf(definition, op, (low, high))
    if op == "matches":
        if not isinstance(raw, str) or len(raw) > 200:
            raise RuleError(value_path, _("Expected a regular expression of at most 200 characters."))
        try:
            re.compile(raw)
        except re.error as exc:
            raise RuleError(value_path, _("Not a valid regular expression: %(error)s.") % {"error": exc}) from exc
        return Leaf(definition, op, raw)
    if op == "contains" and definition.type is FieldType.SET:
        return Leaf(definition, op, _literal(definition, raw, value_path))
    if op in ("contains", "startswith"):
        if not isinstance(raw, str):
            raise RuleError(value_path, _("Expected a string."))
        return Leaf(definition, op, raw)
    return Leaf(definition, op, _value(walk, definition, scope, raw, value_path))


def _node(walk: _Walk, node: Any, scope: str, path: str, depth: int) -> Condition:
    walk.nodes += 1
    if walk.nodes > MAX_NODES:
        raise RuleError(path, _("The condition has more than %(n)d nodes.") % {"n": MAX_NODES})
    if depth > MAX_DEPTH:
        raise RuleError(path, _("The condition is nested more than %(n)d levels deep.") % {"n": MAX_DEPTH})
    if not isinstance(node, dict) or not node:
        raise RuleError(path, _("Expected a condition object."))
    join = (lambda key: f"{path}.{key}") if path else (lambda key: key)
    if "all" in node or "any" in node:
        kind = "all" if "all" in node else "any"
        if set(node) != {kind}:
            raise RuleError(path, _("A group has exactly one key, “all” or “any”."))
        children = node[kind]
        if not isinstance(children, list) or not children:
            raise RuleError(join(kind), _("Expected a non-empty list of conditions."))
        return Group(
            kind, tuple(_node(walk, child, scope, join(f"{kind}.{i}"), depth + 1) for i, child in enumerate(children))
        )
    if "not" in node:
        if set(node) != {"not"}:
            raise RuleError(path, _("“not” stands alone in its object."))
        return Not(_node(walk, node["not"], scope, join("not"), depth + 1))
    collection = next((key for key in COLLECTIONS if key in node), None)
    if collection is not None:
        if scope != "order":
            raise RuleError(path, _("Collections can only be quantified at the order level."))
        if set(node) != {collection, "where"}:
            raise RuleError(path, _('Write {"%(c)s": "any" | "all", "where": {...}}.') % {"c": collection})
        if node[collection] not in ("any", "all"):
            raise RuleError(join(collection), _("Expected “any” or “all”."))
        where = _node(walk, node["where"], COLLECTIONS[collection].scope, join("where"), depth + 1)
        return Each(collection, node[collection], where)
    if "field" in node:
        return _leaf(walk, node, scope, path)
    raise RuleError(path, _("Expected “all”, “any”, “not”, a collection or a “field” condition."))


def rule_check(condition: Any, params: Any = None) -> Condition:
    """Parse and type-check a condition tree against the field registry; raise ``RuleError``."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise RuleError("params", _("Parameters are a JSON object."))
    walk = _Walk(params=params)
    return _node(walk, condition, "order", "", 0)


def now_dependent(condition: Condition) -> bool:
    """Whether the outcome can change with the clock alone (such rules are re-run by the scan)."""
    if isinstance(condition, Leaf):
        return condition.op in ("older_than", "newer_than") or condition.field.type is FieldType.AGE
    if isinstance(condition, Group):
        return any(now_dependent(child) for child in condition.children)
    if isinstance(condition, Not):
        return now_dependent(condition.child)
    return now_dependent(condition.where)


__all__ = [
    "Condition",
    "Each",
    "FieldRef",
    "Group",
    "Leaf",
    "Not",
    "RuleError",
    "now_dependent",
    "parse_duration",
    "rule_check",
]
