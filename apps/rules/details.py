"""The evidence of a rule's matches: what, on each matched order, makes its condition hold.

A match's details are stored on its exception (``OrderException.details``, plain JSON); its
summary and its evidence list are rendered from them in the reader's language
(``apps/exceptions/evidence.py``), and a re-detection is a new occurrence only when they differ
(``apps/exceptions/services.py``).

Every rule has a plan: values read per order, rows of its collections (the lines that are short,
the shipments whose number does not fit), at most one related row picked per order (the latest
payment, the earlier duplicate), and a builder that turns what was read into the details. The
built-in rules have plans of their own; any other rule gets the values of the fields its
condition reads and the rows that satisfy its collection conditions.

A plan is read two ways, like the rule fields it is made of: set-based over many orders (one
query per chunk of ids for the order values and one per collection, never one per order), and
from the loaded ``OrderContext`` of the few orders of a write (no query, except one per order
for an earlier duplicate and one for the carriers). tests/rules/test_details.py holds the two
to the same answers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db.models import Exists, F, OuterRef, Subquery

from apps.orders.divisions import divisions
from apps.orders.models import Carrier, Order
from apps.rules.compiler import condition_q
from apps.rules.evaluator import evaluate
from apps.rules.fields import (
    COLLECTIONS,
    Env,
    FieldDef,
    FieldType,
    earlier_duplicate,
    earlier_duplicate_rows,
    fields_of,
    latest_payment,
    latest_payment_rows,
)
from apps.rules.language import Condition, Each, FieldRef, Group, Leaf, Not, RuleError, parse_duration, rule_check

logger = logging.getLogger(__name__)

# SQLite binds at most 32,766 parameters; the collection queries bind the ids once each.
ID_CHUNK = 5000
# Rows kept per collection and order: an order with 300 short lines is evidenced by the first few.
MAX_ROWS = 10
CENT = Decimal("0.01")

Details = dict[str, Any]


# --- Plans --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """One value read per order or per row, both ways: an ORM expression and a Python accessor."""

    key: str
    orm: Callable[[Env], Any]
    py: Callable[[Any, Any], Any]  # (context, row) -> value; row is None at order scope


@dataclass(frozen=True)
class Rows:
    """The rows of a collection that satisfy ``where`` (all of them without it), in a stable order."""

    key: str
    collection: str  # a key of COLLECTIONS
    where: Condition | None
    readings: tuple[Reading, ...]
    # Rows kept per order; None keeps all (rows that are summed, not shown).
    limit: int | None = MAX_ROWS


@dataclass(frozen=True)
class Picked:
    """Columns of one related row per order: the first of ``rows`` (a subquery on the outer order)."""

    key: str
    rows: Callable[[Env], Any]
    py: Callable[[Any], Any]  # context -> the same row, or None
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Facts:
    """What a plan read for one order; the builder's input."""

    values: dict[str, Any]
    rows: dict[str, list[dict[str, Any]]]
    picked: dict[str, dict[str, Any] | None]


@dataclass(frozen=True)
class Plan:
    values: tuple[Reading, ...] = ()
    rows: tuple[Rows, ...] = ()
    picked: tuple[Picked, ...] = ()
    build: Callable[[Facts, Mapping[str, Any], Env], Details] = lambda facts, params, env: {}
    # Shipments' carriers are looked up once per call, not per order.
    needs_carriers: bool = False


def _field(scope: str, name: str, key: str | None = None) -> Reading:
    definition = fields_of(scope)[name]
    return Reading(key or name, definition.orm, definition.py)


def _column(key: str, path: str) -> Reading:
    names = path.split("__")

    def read(ctx, row):
        value = ctx.order if row is None else row
        for name in names:
            value = getattr(value, name)
        return value

    return Reading(key, lambda env: F(path), read)


def _stock_value(attribute: str, key: str) -> Reading:
    def read(ctx, line):
        stock = ctx.stock.get(line.sku)
        return None if stock is None else getattr(stock, attribute)

    return Reading(key, lambda env: F(f"stock__{attribute}"), read)


def _carrier_known() -> Reading:
    def read(ctx, shipment):
        return shipment.carrier in ctx.__dict__.get("_active_carriers", ())

    return Reading(
        "carrier_known", lambda env: Exists(Carrier.objects.filter(code=OuterRef("carrier"), is_active=True)), read
    )


# --- Values as JSON -----------------------------------------------------------------------------


def _json(value: Any) -> Any:
    """A read value as plain JSON, the same whichever way it was read."""
    if isinstance(value, Decimal):
        cents = value.quantize(CENT)
        return str(cents if cents == value else value.normalize())
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    return value


def _money(value: Any) -> str | None:
    return None if value is None else str(Decimal(value).quantize(CENT))


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _param_duration(params: Mapping[str, Any], name: str, default: str) -> timedelta:
    try:
        return parse_duration(params.get(name, default))
    except ValueError:
        return parse_duration(default)


# --- Built-in rules -----------------------------------------------------------------------------


def _collection_where(condition: Condition, collection: str) -> Condition | None:
    """The ``where`` of the first positive "any" quantifier over ``collection`` in the condition."""
    if isinstance(condition, Each):
        return condition.where if condition.collection == collection and condition.quantifier == "any" else None
    if isinstance(condition, Group):
        for child in condition.children:
            found = _collection_where(child, collection)
            if found is not None:
                return found
    return None


def _default_where(tree: dict[str, Any], params: Mapping[str, Any]) -> Condition:
    try:
        checked = rule_check(tree, dict(params))
    except RuleError:
        checked = rule_check(tree, {})
    assert isinstance(checked, Each)
    return checked.where


def _build_stock(facts: Facts, params, env) -> Details:
    lines = []
    for row in facts.rows["lines"]:
        available = row["on_hand"] - row["reserved"]
        lines.append({**row, "available": available, "short": row["quantity"] - available})
    return {"lines": lines}


def _build_tracking(facts: Facts, params, env) -> Details:
    return {"shipments": facts.rows["shipments"]}


def _build_paid(facts: Facts, params, env) -> Details:
    values = facts.values
    total, paid = Decimal(values["total_amount"]), Decimal(values["paid_total"])
    return {
        "status": values["status"],
        "currency": values["currency"],
        "total_amount": _money(total),
        "paid_total": _money(paid),
        "missing_amount": _money(total - paid),
    }


def _build_amount(facts: Facts, params, env) -> Details:
    values = facts.values
    expected = Decimal(values["lines_total"]) + Decimal(values["shipping_fee"]) - Decimal(values["discount"])
    return {
        "currency": values["currency"],
        "total_amount": _money(values["total_amount"]),
        "lines_total": _money(values["lines_total"]),
        "shipping_fee": _money(values["shipping_fee"]),
        "discount": _money(values["discount"]),
        "expected_amount": _money(expected),
        "difference": _money(Decimal(values["total_amount"]) - expected),
    }


def _build_duplicate(facts: Facts, params, env) -> Details:
    earlier = facts.picked["earlier"]
    if earlier is None:
        return {}
    placed_at = datetime.fromisoformat(facts.values["placed_at"])
    return {
        "duplicate_of": earlier["id"],
        "duplicate_of_channel": earlier["channel"],
        "duplicate_of_external_id": earlier["external_id"],
        "duplicate_of_placed_at": earlier["placed_at"],
        "placed_at": facts.values["placed_at"],
        "gap_seconds": int((placed_at - datetime.fromisoformat(earlier["placed_at"])).total_seconds()),
    }


def _build_price(facts: Facts, params, env) -> Details:
    return {
        "currency": facts.values["currency"],
        "min_ratio": str(params.get("min_ratio", "0.5")),
        "max_ratio": str(params.get("max_ratio", "1.5")),
        "lines": facts.rows["lines"],
    }


def _build_items(facts: Facts, params, env) -> Details:
    ordered: dict[str, int] = {}
    for row in facts.rows["ordered"]:
        ordered[row["sku"]] = ordered.get(row["sku"], 0) + row["quantity"]
    shipped: dict[str, int] = {}
    for row in facts.rows["shipped"]:
        shipped[row["sku"]] = shipped.get(row["sku"], 0) + row["quantity"]
    complete = facts.values["status"] in (Order.Status.SHIPPED, Order.Status.DELIVERED)
    skus = [
        {"sku": sku, "ordered": ordered.get(sku, 0), "shipped": shipped.get(sku, 0)}
        for sku in sorted(ordered.keys() | shipped.keys())
        if ordered.get(sku, 0) != shipped.get(sku, 0) and (complete or sku not in ordered)
    ]
    return {"status": facts.values["status"], "skus": skus[:MAX_ROWS]}


def _late(reference: str, reference_at: str, allowed: timedelta, env: Env) -> Details:
    due = datetime.fromisoformat(reference_at) + allowed
    return {
        "reference": reference,
        "reference_at": reference_at,
        "allowed_minutes": _minutes(allowed),
        "due_at": _json(due),
        # As of the detection; a later one that finds the same reference is no new evidence.
        "late_minutes": _minutes(env.now - due),
    }


def _build_shipping_delay(facts: Facts, params, env) -> Details:
    values = facts.values
    if values["status"] == Order.Status.SHIPPED and values["last_tracking_event_at"]:
        stale = _param_duration(params, "tracking_stale_after", "72h")
        details = _late("last_tracking_event", values["last_tracking_event_at"], stale, env)
    elif values["promised_ship_by"]:
        details = _late("promised_ship_by", values["promised_ship_by"], timedelta(0), env)
    else:
        details = _late("placed_at", values["placed_at"], _param_duration(params, "ship_within", "48h"), env)
    return {"status": values["status"], **details}


def _build_review_timeout(facts: Facts, params, env) -> Details:
    values = facts.values
    within = _param_duration(params, "within", "2h")
    if values["paid_at"]:
        return _late("paid_at", values["paid_at"], within, env)
    return _late("status_changed_at", values["status_changed_at"], within, env)


def _build_payment_failed(facts: Facts, params, env) -> Details:
    payment = facts.picked["payment"]
    return {} if payment is None else {"payment": payment}


def _build_customer(facts: Facts, params, env) -> Details:
    values = facts.values
    problems = []
    if not values["name"]:
        problems.append("name_empty")
    if not values["phone"]:
        problems.append("phone_empty")
    elif not values["phone_is_valid"]:
        problems.append("phone_invalid")
    if values["email"] and not values["email_is_valid"]:
        problems.append("email_invalid")
    return {"problems": problems, "name": values["name"], "phone": values["phone"], "email": values["email"]}


def address_problems(*, province: str, city: str, district: str, detail: str) -> list[str]:
    """Which parts of an address are wrong, as codes, judged as ``divisions.address_is_valid`` judges."""
    province, city, district = province.strip(), city.strip(), district.strip()
    problems = [
        code
        for code, value in (("province_empty", province), ("city_empty", city), ("detail_empty", detail.strip()))
        if not value
    ]
    if not province:
        return problems
    table = divisions()
    canonical = table.provinces.get(province)
    if canonical is None:
        return [*problems, "province_unknown"]
    if not city:
        return problems
    city_key = table.cities[canonical].get(city)
    if city_key is None:
        return [*problems, "city_not_in_province"]
    if district and district not in table.districts[(canonical, city_key)]:
        return [*problems, "district_not_in_city"]
    return problems


def _build_address(facts: Facts, params, env) -> Details:
    values = facts.values
    parts = {key: values[key] for key in ("province", "city", "district", "detail")}
    problems = address_problems(**parts)
    if not problems and not values["address_is_valid"]:
        # The stored verdict predates a change of the divisions table.
        problems = ["divisions_mismatch"]
    return {"problems": problems, "province": parts["province"], "city": parts["city"], "district": parts["district"]}


def _builtin_plan(code: str, condition: Condition, params: Mapping[str, Any]) -> Plan | None:
    def where(collection: str, default: dict[str, Any]) -> Condition:
        found = _collection_where(condition, collection)
        return found if found is not None else _default_where({collection: "any", "where": default}, params)

    def order(*names: str) -> tuple[Reading, ...]:
        return tuple(_field("order", name) for name in names)

    if code == "STOCK_SHORTAGE":
        short = where(
            "lines",
            {
                "all": [
                    {"field": "has_stock_record", "op": "eq", "value": True},
                    {"field": "quantity", "op": "gt", "value": {"field": "available_stock"}},
                ]
            },
        )
        readings = (
            _column("line_no", "line_no"),
            _field("line", "sku"),
            _field("line", "quantity"),
            _stock_value("on_hand", "on_hand"),
            _stock_value("reserved", "reserved"),
        )
        return Plan(rows=(Rows("lines", "lines", short, readings),), build=_build_stock)
    if code == "TRACKING_INVALID":
        bad = where("shipments", {"not": {"field": "tracking_number", "op": "valid_tracking"}})
        readings = (
            _column("shipment_id", "id"),
            _field("shipment", "carrier"),
            _field("shipment", "tracking_number"),
            _carrier_known(),
        )
        return Plan(rows=(Rows("shipments", "shipments", bad, readings),), build=_build_tracking, needs_carriers=True)
    if code == "PAYMENT_STATUS_MISMATCH":
        return Plan(values=order("status", "currency", "total_amount", "paid_total"), build=_build_paid)
    if code == "AMOUNT_MISMATCH":
        names = ("currency", "total_amount", "lines_total", "shipping_fee", "discount")
        return Plan(values=order(*names), build=_build_amount)
    if code == "DUPLICATE_ORDER":
        columns = ("id", "channel", "external_id", "placed_at")
        earlier = Picked("earlier", earlier_duplicate_rows, earlier_duplicate, columns)
        return Plan(values=order("placed_at"), picked=(earlier,), build=_build_duplicate)
    if code == "PRICE_ANOMALY":
        off = where(
            "lines",
            {
                "any": [
                    {"field": "price_ratio", "op": "lt", "value": {"param": "min_ratio"}},
                    {"field": "price_ratio", "op": "gt", "value": {"param": "max_ratio"}},
                ]
            },
        )
        readings = (
            _column("line_no", "line_no"),
            _field("line", "sku"),
            _field("line", "unit_price"),
            _field("line", "list_price"),
            _field("line", "price_ratio", "ratio"),
        )
        return Plan(values=order("currency"), rows=(Rows("lines", "lines", off, readings),), build=_build_price)
    if code == "ITEM_MISMATCH":
        ordered = Rows("ordered", "lines", None, (_field("line", "sku"), _field("line", "quantity")), limit=None)
        shipped = Rows(
            "shipped",
            "shipment_lines",
            None,
            (_field("shipment_line", "sku"), _field("shipment_line", "quantity")),
            limit=None,
        )
        return Plan(values=order("status"), rows=(ordered, shipped), build=_build_items)
    if code == "SHIPPING_DELAY":
        names = ("status", "placed_at", "promised_ship_by", "last_tracking_event_at")
        return Plan(values=order(*names), build=_build_shipping_delay)
    if code == "REVIEW_TIMEOUT":
        return Plan(values=order("paid_at", "status_changed_at"), build=_build_review_timeout)
    if code == "PAYMENT_FAILED":
        columns = ("id", "transaction_id", "amount", "currency", "status", "paid_at", "method")
        payment = Picked("payment", latest_payment_rows, latest_payment, columns)
        return Plan(picked=(payment,), build=_build_payment_failed)
    if code == "CUSTOMER_INFO_INVALID":
        values = (
            _field("order", "customer.name", "name"),
            _field("order", "customer_phone", "phone"),
            _column("phone_is_valid", "customer_phone_is_valid"),
            _field("order", "customer.email", "email"),
            _column("email_is_valid", "customer_email_is_valid"),
        )
        return Plan(values=values, build=_build_customer)
    if code == "ADDRESS_INVALID":
        values = (
            _field("order", "address.province", "province"),
            _field("order", "address.city", "city"),
            _field("order", "address.district", "district"),
            _field("order", "address.detail", "detail"),
            _field("order", "address_is_valid"),
        )
        return Plan(values=values, build=_build_address)
    return None


# --- Any other rule: the fields its condition reads ---------------------------------------------


@dataclass
class _Reads:
    """Fields a condition reads, by scope, in the order they first appear."""

    order: dict[str, Reading] = field(default_factory=dict)
    rows: list[Rows] = field(default_factory=list)


_IDENTITY = {
    "line": (("line_no", "line_no"), ("sku", None)),
    "shipment": (("shipment_id", "id"), ("carrier", None), ("tracking_number", None)),
    "shipment_line": (("sku", None), ("quantity", None)),
    "payment": (("transaction_id", None),),
}


def _leaf_readings(leaf: Leaf, scope: str, into: dict[str, Reading]) -> None:
    definitions: list[FieldDef] = [leaf.field]
    values = leaf.value if isinstance(leaf.value, tuple) else (leaf.value,)
    definitions += [value.field for value in values if isinstance(value, FieldRef)]
    for definition in definitions:
        into.setdefault(definition.name, Reading(definition.name, definition.orm, definition.py))
    if leaf.op in leaf.field.verdicts:
        column = leaf.field.verdicts[leaf.op]
        key = f"{leaf.field.name}.{leaf.op}"
        into.setdefault(key, _column(key, column))


def _walk(condition: Condition, scope: str, positive: bool, reads: _Reads, into: dict[str, Reading]) -> None:
    if isinstance(condition, Leaf):
        _leaf_readings(condition, scope, into)
    elif isinstance(condition, Group):
        for child in condition.children:
            _walk(child, scope, positive, reads, into)
    elif isinstance(condition, Not):
        _walk(condition.child, scope, not positive, reads, into)
    elif isinstance(condition, Each):
        row_scope = COLLECTIONS[condition.collection].scope
        readings: dict[str, Reading] = {}
        for key, column in _IDENTITY[row_scope]:
            readings[key] = _column(key, column) if column else _field(row_scope, key)
        _walk(condition.where, row_scope, True, reads, readings)
        # The rows that witness the match: those that satisfy "any", those that break "not all";
        # all rows witness "all", none witnesses "not any".
        if condition.quantifier == "any" and positive:
            where = condition.where
        elif condition.quantifier == "all" and not positive:
            where = Not(condition.where)
        elif condition.quantifier == "all":
            where = None
        else:
            return
        taken = {rows.key for rows in reads.rows}
        key = condition.collection
        number = 2
        while key in taken:
            key, number = f"{condition.collection}_{number}", number + 1
        reads.rows.append(Rows(key, condition.collection, where, tuple(readings.values())))


def _build_generic(facts: Facts, params, env) -> Details:
    details: Details = {"values": facts.values}
    details.update(facts.rows)
    return details


def _generic_plan(condition: Condition) -> Plan:
    reads = _Reads()
    _walk(condition, "order", True, reads, reads.order)
    values = list(reads.order.values())
    decimals = [
        reading.key
        for reading in [*values, *(r for rows in reads.rows for r in rows.readings)]
        if reading.key in _DECIMAL_KEYS
    ]
    if decimals and "currency" not in reads.order:
        # Amounts read as people read them need their currency.
        values.append(_field("order", "currency"))
    return Plan(values=tuple(values), rows=tuple(reads.rows), build=_build_generic)


_DECIMAL_KEYS = frozenset(
    name
    for scope in ("order", "line", "shipment", "shipment_line", "payment")
    for name, definition in fields_of(scope).items()
    if definition.type is FieldType.DECIMAL
)


@lru_cache(maxsize=256)
def _plan(code: str, condition: Condition, params_json: str) -> Plan:
    return _builtin_plan(code, condition, json.loads(params_json)) or _generic_plan(condition)


def plan_for(*, code: str, condition: Condition, params: Mapping[str, Any]) -> Plan:
    """The plan of a rule: its own for a built-in code, else the fields its condition reads.

    Plans are cached per process by code, checked condition and parameters.
    """
    return _plan(code, condition, json.dumps(params, sort_keys=True, default=str))


# --- Reading a plan -----------------------------------------------------------------------------


def _build(plan: Plan, facts: Facts, params: Mapping[str, Any], env: Env) -> Details:
    return _json(plan.build(facts, params, env))


def _row_order(collection: str) -> tuple[str, ...]:
    return ("line_no", "pk") if collection == "lines" else ("pk",)


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), ID_CHUNK):
        yield list(ids[start : start + ID_CHUNK])


def details_from_database(
    *, code: str, condition: Condition, params: Mapping[str, Any], order_ids: Collection[int], env: Env
) -> dict[int, Details]:
    """The details of each of these orders (the matched ones), read set-based.

    Per chunk of 5000 ids: one query for the order values and picked rows, one per collection;
    orders that no longer exist are left out.
    """
    plan = plan_for(code=code, condition=condition, params=params)
    out: dict[int, Details] = {}
    for chunk in _chunks(sorted(set(order_ids))):
        facts = _read_database(plan, chunk, env)
        for pk, fact in facts.items():
            out[pk] = _build(plan, fact, params, env)
    return out


def _read_database(plan: Plan, ids: list[int], env: Env) -> dict[int, Facts]:
    annotations: dict[str, Any] = {}
    for index, reading in enumerate(plan.values):
        annotations[f"ev_{index}"] = reading.orm(env)
    for p_index, picked in enumerate(plan.picked):
        for c_index, column in enumerate(picked.columns):
            annotations[f"ev_p{p_index}_{c_index}"] = Subquery(picked.rows(env).values(column)[:1])
    facts: dict[int, Facts] = {}
    rows = Order.objects.filter(pk__in=ids).order_by().annotate(**annotations).values_list("pk", *annotations)
    for pk, *read in rows:
        values = {reading.key: read[index] for index, reading in enumerate(plan.values)}
        picked_values: dict[str, dict[str, Any] | None] = {}
        offset = len(plan.values)
        for picked in plan.picked:
            row = dict(zip(picked.columns, read[offset : offset + len(picked.columns)], strict=True))
            offset += len(picked.columns)
            picked_values[picked.key] = None if row[picked.columns[0]] is None else _json(row)
        facts[pk] = Facts(values=_json(values), rows={rows.key: [] for rows in plan.rows}, picked=picked_values)
    for spec in plan.rows:
        collection = COLLECTIONS[spec.collection]
        queryset = collection.model.objects.filter(**{f"{collection.order_path}__in": ids})
        if spec.where is not None:
            queryset = queryset.filter(condition_q(spec.where, env))
        names = {f"ev_{index}": reading.orm(env) for index, reading in enumerate(spec.readings)}
        order_key = collection.order_path.replace(".", "__")
        found = (
            queryset.annotate(ev_order=F(order_key), **names)
            .order_by(order_key, *_row_order(spec.collection))
            .values_list("ev_order", *names)
        )
        for order_id, *read in found:
            fact = facts.get(order_id)
            if fact is not None and (spec.limit is None or len(fact.rows[spec.key]) < spec.limit):
                row = {reading.key: read[index] for index, reading in enumerate(spec.readings)}
                fact.rows[spec.key].append(_json(row))
    return facts


def details_from_contexts(
    *, code: str, condition: Condition, params: Mapping[str, Any], contexts: Mapping[int, Any], env: Env
) -> dict[int, Details]:
    """The details of each loaded order in ``contexts`` (the matched ones), read in Python."""
    plan = plan_for(code=code, condition=condition, params=params)
    if plan.needs_carriers:
        codes = {shipment.carrier for ctx in contexts.values() for shipment in ctx.shipments}
        active = set(Carrier.objects.filter(code__in=sorted(codes), is_active=True).values_list("code", flat=True))
        for ctx in contexts.values():
            ctx.__dict__["_active_carriers"] = active
    return {pk: _build(plan, _read_context(plan, ctx), params, env) for pk, ctx in contexts.items()}


def _sorted_rows(ctx, collection: str) -> list[Any]:
    rows = ctx.collection(collection)
    if collection == "lines":
        return sorted(rows, key=lambda row: (row.line_no, row.pk))
    return sorted(rows, key=lambda row: row.pk)


def _read_context(plan: Plan, ctx) -> Facts:
    values = {reading.key: reading.py(ctx, None) for reading in plan.values}
    rows: dict[str, list[dict[str, Any]]] = {}
    for spec in plan.rows:
        found = []
        for row in _sorted_rows(ctx, spec.collection):
            if spec.where is None or evaluate(spec.where, ctx, row):
                found.append(_json({reading.key: reading.py(ctx, row) for reading in spec.readings}))
                if len(found) == spec.limit:
                    break
        rows[spec.key] = found
    picked: dict[str, dict[str, Any] | None] = {}
    for spec in plan.picked:
        row = spec.py(ctx)
        picked[spec.key] = None if row is None else _json({column: getattr(row, column) for column in spec.columns})
    return Facts(values=_json(values), rows=rows, picked=picked)


__all__ = [
    "Details",
    "address_problems",
    "details_from_contexts",
    "details_from_database",
    "plan_for",
]
