"""Whatever JSON arrives, the order endpoints answer 2xx or a 400 naming fields, never a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.orders.payloads import order_body

pytestmark = pytest.mark.django_db

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=80),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)
TOP_FIELDS = list(order_body().keys())
NESTED = [("customer", k) for k in ("name", "phone", "email", "tags", "external_id")] + [
    ("shipping_address", k) for k in ("province", "city", "detail")
]


@st.composite
def mutated_orders(draw):
    body = order_body()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        where = draw(st.sampled_from(["top", "nested", "line"]))
        value = draw(json_values)
        if where == "top":
            body[draw(st.sampled_from(TOP_FIELDS))] = value
        elif where == "nested":
            parent, key = draw(st.sampled_from(NESTED))
            if isinstance(body.get(parent), dict):
                body[parent][key] = value
        elif isinstance(body.get("lines"), list) and body["lines"] and isinstance(body["lines"][0], dict):
            body["lines"][0][draw(st.sampled_from(["sku", "quantity", "unit_price", "name"]))] = value
    return body


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=mutated_orders())
def test_a_mutated_order_is_stored_or_refused_with_named_fields(api, body):
    response = api.post("/api/v1/orders/", body, format="json")
    assert response.status_code in (200, 201, 400), response.content
    if response.status_code == 400:
        assert response.json()["fields"], response.json()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(mutated_orders() | json_values, min_size=1, max_size=5))
def test_a_bulk_of_mutated_items_answers_per_item(api, items):
    response = api.post("/api/v1/orders/bulk/", {"orders": items}, format="json")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    assert all(r["status"] in (200, 201, 400) for r in results)
