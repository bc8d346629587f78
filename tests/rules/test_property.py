"""The compiled query and the Python predicate select the same orders, for random rules and data.

Hypothesis draws a small world of orders (lines, payments, shipments, tracking events, stock
and products around shared SKUs and amounts, so that comparisons hit both ways) and random
condition trees over the whole field registry; each tree's ORM queryset must return exactly
the orders its Python predicate accepts. It runs on SQLite and on PostgreSQL (``make test``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.orders.models import (
    Customer,
    Order,
    OrderLine,
    Payment,
    Product,
    Shipment,
    ShipmentLine,
    StockLevel,
    TrackingEvent,
)
from apps.orders.services import order_verdicts_refresh
from apps.rules.compiler import condition_q
from apps.rules.context import contexts_load
from apps.rules.evaluator import evaluate
from apps.rules.fields import COLLECTIONS, Env, FieldType, fields_of
from apps.rules.language import OPS_BY_TYPE, UNARY, rule_check

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=datetime.now().astimezone().tzinfo).astimezone()
SKUS = ["A", "B", "C", "D"]
# 458.33 + 214.26 = 672.59 is 672.5899… in binary floats (SQLite's decimals); 165 / 188 divides
# as integers on SQLite unless made a float.
MONEY = [
    Decimal(v) for v in ("0.00", "10.00", "10.01", "64.75", "129.50", "259.00", "165.00", "188.00", "214.26", "458.33")
]
TEXTS = ["", "张三", "abc", "ABC", "a.b", "13800138000", "浙江省", "SF123456789012"]
OFFSETS = [timedelta(hours=h) for h in (-80, -73, -72, -3, -2, -1, 0, 1, 5)]
DURATIONS = ["0m", "30m", "1h", "2h", "72h", "3d"]

times = st.sampled_from(OFFSETS).map(lambda delta: NOW + delta)
optional_times = st.none() | times


@st.composite
def worlds(draw):
    """Rows for 1-8 orders plus stock and products for some SKUs."""
    orders = []
    for index in range(draw(st.integers(1, 8))):
        orders.append(
            {
                "index": index,
                "status": draw(st.sampled_from(Order.Status.values)),
                "channel": draw(st.sampled_from(["taobao", "jd"])),
                "total": draw(st.sampled_from(MONEY)),
                "fee": draw(st.sampled_from(MONEY[:2])),
                "discount": draw(st.sampled_from(MONEY[:2])),
                "placed_at": draw(times),
                "paid_at": draw(optional_times),
                "promised": draw(optional_times),
                "changed": draw(times),
                "name": draw(st.sampled_from(TEXTS)),
                "phone": draw(st.sampled_from(TEXTS)),
                "province": draw(st.sampled_from(TEXTS)),
                "lines": draw(
                    st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 4), st.sampled_from(MONEY)), max_size=3)
                ),
                "payments": draw(
                    st.lists(
                        st.tuples(st.sampled_from(Payment.Status.values), st.sampled_from(MONEY), optional_times),
                        max_size=3,
                    )
                ),
                "shipments": draw(
                    st.lists(
                        st.tuples(
                            st.sampled_from(["SF", "JD", "ACME"]),
                            times,
                            st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 4)), max_size=2),
                            st.lists(times, max_size=2, unique=True),
                        ),
                        max_size=2,
                    )
                ),
            }
        )
    stock = draw(st.dictionaries(st.sampled_from(SKUS), st.tuples(st.integers(0, 6), st.integers(0, 3))))
    products = draw(st.dictionaries(st.sampled_from(SKUS), st.sampled_from(MONEY)))
    return orders, stock, products


def _store(world) -> list[int]:
    orders, stock, products = world
    Order.objects.all().delete()
    StockLevel.objects.all().delete()
    Product.objects.all().delete()
    ids = []
    tracking = 0
    for spec in orders:
        customer = Customer.objects.create(channel=spec["channel"], name=spec["name"], phone=spec["phone"])
        order = Order.objects.create(
            channel=spec["channel"],
            external_id=f"P-{spec['index']}",
            status=spec["status"],
            status_changed_at=spec["changed"],
            placed_at=spec["placed_at"],
            paid_at=spec["paid_at"],
            promised_ship_by=spec["promised"],
            total_amount=spec["total"],
            shipping_fee=spec["fee"],
            discount=spec["discount"],
            customer=customer,
            customer_phone=spec["phone"],
            ship_province=spec["province"],
        )
        ids.append(order.pk)
        OrderLine.objects.bulk_create(
            OrderLine(order=order, line_no=n, sku=sku, quantity=qty, unit_price=price)
            for n, (sku, qty, price) in enumerate(spec["lines"], 1)
        )
        for n, (status, amount, paid_at) in enumerate(spec["payments"]):
            Payment.objects.create(
                order=order, transaction_id=f"T-{order.pk}-{n}", amount=amount, status=status, paid_at=paid_at
            )
        for carrier, shipped_at, lines, events in spec["shipments"]:
            tracking += 1
            shipment = Shipment.objects.create(
                order=order, carrier=carrier, tracking_number=f"N{tracking}", shipped_at=shipped_at
            )
            ShipmentLine.objects.bulk_create(ShipmentLine(shipment=shipment, sku=s, quantity=q) for s, q in lines)
            TrackingEvent.objects.bulk_create(
                TrackingEvent(shipment=shipment, occurred_at=at, status="in_transit") for at in events
            )
    StockLevel.objects.bulk_create(StockLevel(sku=s, on_hand=h, reserved=r) for s, (h, r) in stock.items())
    Product.objects.bulk_create(Product(sku=s, name=s, list_price=p) for s, p in products.items())
    # The columns the services store at write time (verdicts, basket and shipped signatures),
    # computed as they are for rows written around the services.
    order_verdicts_refresh(order_ids=ids)
    return ids


def _literal(kind: FieldType, choices: tuple[str, ...]):
    return {
        FieldType.STRING: st.sampled_from(TEXTS),
        FieldType.ENUM: st.sampled_from(choices or ("x",)),
        FieldType.DECIMAL: st.sampled_from([str(m) for m in MONEY] + ["-10.01", "0.01"]),
        FieldType.INTEGER: st.integers(-1, 7),
        FieldType.DATETIME: times.map(lambda t: t.isoformat()),
        FieldType.BOOLEAN: st.booleans(),
        FieldType.AGE: st.sampled_from(DURATIONS),
    }[kind]


@st.composite
def leaves(draw, scope: str):
    registry = fields_of(scope)
    definition = registry[draw(st.sampled_from(sorted(registry)))]
    op = draw(st.sampled_from(sorted(OPS_BY_TYPE[definition.type] | set(definition.verdicts))))
    node = {"field": definition.name, "op": op}
    if op in UNARY:
        return node
    literal = _literal(definition.type, definition.choices)
    same_type = sorted(n for n, d in registry.items() if d.type is definition.type and d.type is not FieldType.AGE)
    if op in ("older_than", "newer_than"):
        node["value"] = draw(st.sampled_from(DURATIONS))
    elif op in ("in", "not_in"):
        node["value"] = draw(st.lists(literal, min_size=1, max_size=3))
    elif op == "between":
        low, high = sorted([draw(literal), draw(literal)], key=_sort_key(definition.type))
        node["value"] = [low, high]
    elif op in ("contains", "startswith"):
        node["value"] = draw(st.sampled_from(["", "a", "A", "张", "138", ".", "SF"]))
    elif op == "matches":
        node["value"] = draw(st.sampled_from(["^SF\\d{12}$", "a", "^$", "\\d+", "^[A-Z]"]))
    elif same_type and draw(st.booleans()):
        node["value"] = {"field": draw(st.sampled_from(same_type))}
    else:
        node["value"] = draw(literal)
    return node


def _sort_key(kind: FieldType):
    if kind is FieldType.DECIMAL:
        return Decimal
    if kind is FieldType.AGE:
        return lambda text: {d: i for i, d in enumerate(DURATIONS)}[text]
    return lambda value: value


def trees(scope: str = "order", depth: int = 3):
    base = leaves(scope)
    if depth == 0:
        return base
    inner = trees(scope, depth - 1)
    options = [
        base,
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"all": xs}),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"any": xs}),
        inner.map(lambda x: {"not": x}),
    ]
    if scope == "order":
        for name, collection in COLLECTIONS.items():
            options.append(
                st.tuples(st.sampled_from(["any", "all"]), trees(collection.scope, 1)).map(
                    lambda pair, name=name: {name: pair[0], "where": pair[1]}
                )
            )
    return st.one_of(options)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(world=worlds(), rules=st.lists(trees(), min_size=1, max_size=12))
def test_the_compiled_query_and_the_predicate_select_the_same_orders(world, rules):
    ids = _store(world)
    env = Env(now=NOW)
    contexts = contexts_load(order_ids=ids, now=NOW)
    # The single-order loader (the detection hot path, fixed SQL) reads the same contexts.
    singles = {pk: contexts_load(order_ids=[pk], now=NOW)[pk] for pk in ids}
    for tree in rules:
        condition = rule_check(tree)
        by_query = set(
            Order.objects.filter(pk__in=ids).filter(condition_q(condition, env)).values_list("pk", flat=True)
        )
        by_predicate = {pk for pk, ctx in contexts.items() if evaluate(condition, ctx)}
        assert by_query == by_predicate, tree
        assert {pk for pk, ctx in singles.items() if evaluate(condition, ctx)} == by_predicate, tree
