"""The API's edges: unknown paths, filters at the ends of time, and a schema that says what the server does."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from apps.exceptions.services import missing_order_sync
from apps.rules.services import rule_by_code
from tests.orders.payloads import order_body

pytestmark = pytest.mark.django_db

SCHEMA_URL = "/api/v1/schema/"


def _json_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"code", "message", "fields"}, body
    assert body["code"] == code, body
    return body


# --- Every path under /api/v1/ answers JSON (defect 1) -------------------------------------------

UNKNOWN_PATHS = [
    "/api/v1/",
    "/api/v1/nothing-here/",
    "/api/v1/orders",
    "/api/v1/orders/abc/",
    "/api/v1/orders/-1/",
    "/api/v1/orders/1/lines/",
    "/api/v1/shipments/abc/events/",
    "/api/v1/shipments/1/events/extra/",
    "/api/v1/payments/1.5/",
    "/api/v1/exceptions/abc/",
    "/api/v1/products/SKU-1/extra/",
]


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options"])
def test_a_path_no_endpoint_serves_is_a_json_404(api, anon_api, path, method):
    for client in (api, anon_api):
        response = getattr(client, method)(path, {"x": 1}, format="json")
        body = _json_error(response, 404, "not_found")
        assert body["fields"] == {}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/api/v1/orders/"),
        ("put", "/api/v1/orders/bulk/"),
        ("get", "/api/v1/payments/"),
        ("delete", "/api/v1/inventory/SKU-1/"),
        ("post", "/api/v1/exceptions/"),
        ("post", "/api/v1/schema/"),
        ("post", "/api/v1/docs/"),
        ("delete", "/api/v1/redoc/"),
    ],
)
def test_a_method_an_endpoint_does_not_take_is_a_json_405(api, method, path):
    _json_error(getattr(api, method)(path, {}, format="json"), 405, "method_not_allowed")


# --- Filters at the ends of the time range (defect 8) ----------------------------------------------


@pytest.mark.parametrize(
    ("url", "name", "value", "fragment"),
    [
        ("/api/v1/orders/", "placed_after", "0001-01-01T00:00:00", "UTC offset"),
        ("/api/v1/orders/", "placed_after", "0001-01-01T00:00:00Z", "2000-01-01"),
        ("/api/v1/orders/", "placed_before", "9999-12-31T23:59:59-12:00", "2000-01-01"),
        ("/api/v1/orders/", "placed_before", "2026-11-24T10:00:00", "UTC offset"),
        ("/api/v1/orders/", "placed_after", "tomorrow", "2026-11-24T10:00:00+08:00"),
        ("/api/v1/exceptions/", "detected_before", "9999-12-31T23:59:59-12:00", "2000-01-01"),
        ("/api/v1/exceptions/", "detected_after", "0001-01-01T00:00:00+08:00", "2000-01-01"),
        ("/api/v1/exceptions/", "detected_after", "2026-11-24", "UTC offset"),
    ],
)
def test_a_time_filter_out_of_range_or_without_offset_is_a_400_naming_it(api, url, name, value, fragment):
    body = _json_error(api.get(url, {name: value}), 400, "invalid")
    assert any(fragment in message for message in body["fields"][name]), body


def test_time_filters_in_range_still_select(api):
    early = api.post("/api/v1/orders/", order_body(placed_at="2026-11-24T10:00:00+08:00"), format="json").json()
    late = api.post("/api/v1/orders/", order_body(placed_at="2026-11-25T10:00:00Z"), format="json").json()

    def ids(**query):
        response = api.get("/api/v1/orders/", query)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert ids(placed_after="2026-11-25T00:00:00Z") == [late["id"]]
    assert ids(placed_before="2026-11-24T02:00:01Z") == [early["id"]]
    assert ids(placed_after="2000-01-01T00:00:00Z", placed_before="2100-12-31T23:59:59Z") == [late["id"], early["id"]]


# --- Exception answers are RFC 3339 (defect 9) ------------------------------------------------------


def test_exception_times_before_1901_are_shown_in_utc_not_local_mean_time(api):
    """Asia/Shanghai before 1901 is +08:05:43, which RFC 3339 cannot write: such times come out in UTC."""
    detected = datetime(1900, 6, 1, 4, 0, tzinfo=UTC)
    result = missing_order_sync(rule=rule_by_code("MISSING_ORDER"), channel="taobao", external_ids=["X1"], now=detected)
    response = api.get(f"/api/v1/exceptions/{result.created_ids[0]}/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["detected_at"] == "1900-06-01T04:00:00Z"
    assert all(event["at"] == "1900-06-01T04:00:00Z" for event in body["events"])
    assert api.get("/api/v1/exceptions/").json()["results"][0]["detected_at"] == "1900-06-01T04:00:00Z"


# --- The schema says what the server does (defect 10) ----------------------------------------------


@pytest.fixture
def schema(api):
    response = api.get(SCHEMA_URL, HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def _error_refs(operation) -> dict[str, str]:
    return {
        code: answer["content"]["application/json"]["schema"]["$ref"]
        for code, answer in operation["responses"].items()
        if code >= "400"
    }


def test_the_error_shape_is_one_component(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message", "fields"}
    assert error["properties"]["fields"]["additionalProperties"] == {"type": "array", "items": {"type": "string"}}


def test_every_operation_documents_its_error_answers_with_the_error_shape(schema):
    for method, path, operation in _operations(schema):
        refs = _error_refs(operation)
        assert set(refs.values()) == {"#/components/schemas/Error"}, (method, path)
        assert {"401", "403"} <= set(refs), (method, path)
        if method in ("POST", "PUT", "PATCH"):
            assert {"400", "415"} <= set(refs), (method, path)
        if "{" in path and method != "PUT":
            assert "404" in refs, (method, path)


@pytest.mark.parametrize(
    ("method", "path", "codes"),
    [
        ("POST", "/api/v1/payments/", {"400", "401", "403", "409", "415"}),
        ("POST", "/api/v1/shipments/", {"400", "401", "403", "409", "415"}),
        ("GET", "/api/v1/orders/", {"400", "401", "403", "404"}),
        ("GET", "/api/v1/exceptions/", {"400", "401", "403", "404"}),
        ("POST", "/api/v1/shipments/{shipment_id}/events/", {"400", "401", "403", "404", "415"}),
        ("PUT", "/api/v1/inventory/{sku}/", {"400", "401", "403", "415"}),
        ("GET", "/api/v1/orders/{order_id}/", {"401", "403", "404"}),
    ],
)
def test_the_error_answers_of_an_operation_are_the_ones_it_gives(schema, method, path, codes):
    # 429 where throttles apply (all of the API, see test_throttled_operations_document_429).
    assert set(_error_refs(schema["paths"][path][method.lower()])) - {"429"} == codes


def test_throttled_operations_document_429(schema):
    from rest_framework.settings import api_settings

    throttled = bool(api_settings.DEFAULT_THROTTLE_CLASSES)
    for method, path, operation in _operations(schema):
        assert ("429" in operation["responses"]) == throttled, (method, path)


def _money_patterns(schema) -> list[tuple[str, str]]:
    found = []
    for name, component in schema["components"]["schemas"].items():
        if not name.endswith("Request"):
            continue
        for prop, spec in component.get("properties", {}).items():
            if spec.get("format") == "decimal":
                found.append((f"{name}.{prop}", spec["pattern"]))
    return found


def test_money_inputs_are_documented_as_the_plain_decimals_the_server_takes(schema):
    patterns = _money_patterns(schema)
    names = {name for name, _pattern in patterns}
    assert {"OrderInputRequest.total_amount", "LineInputRequest.unit_price", "PaymentInputRequest.amount"} <= names
    assert "ReconciliationOrderInputRequest.total_amount" in names
    for name, pattern in patterns:
        regex = re.compile(pattern)
        for refused in ("", "-1.00", "-", "1e5", "NaN", "1.005", "12,50", " 1", "12345678901"):
            assert not regex.search(refused), (name, refused)
        for accepted in ("0", "129.5", "129.50", "9999999999.99"):
            assert regex.search(accepted), (name, accepted)


def test_list_sizes_are_documented(schema, settings):
    components = schema["components"]["schemas"]
    orders = components["OrderBulkInputRequest"]["properties"]["orders"]
    assert (orders["minItems"], orders["maxItems"]) == (1, settings.ORDERGUARD_BULK_MAX_ORDERS)
    lines = components["OrderInputRequest"]["properties"]["lines"]
    assert (lines["minItems"], lines["maxItems"]) == (1, settings.ORDERGUARD_MAX_LINES_PER_ORDER)
    listed = components["ReconciliationInputRequest"]["properties"]["orders"]
    assert (listed["minItems"], listed["maxItems"]) == (1, settings.ORDERGUARD_RECONCILIATION_MAX_ORDERS)


def test_a_body_that_is_not_json_is_a_415_in_the_error_shape(api):
    response = api.generic(
        "POST", "/api/v1/orders/", b"external_id=1", content_type="application/x-www-form-urlencoded"
    )
    _json_error(response, 415, "unsupported_media_type")


def test_path_ids_are_documented_as_record_ids(schema):
    for _method, path, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter["schema"]["type"] == "integer":
                assert (parameter["schema"]["minimum"], parameter["schema"]["maximum"]) == (1, 2**63 - 1), path


def test_integer_inputs_are_documented_within_their_columns(schema):
    components = schema["components"]["schemas"]
    stock = components["StockLevelInputRequest"]["properties"]
    assert (stock["on_hand"]["minimum"], stock["on_hand"]["maximum"]) == (0, 2**31 - 1)
    assert components["PaymentInputRequest"]["properties"]["order"]["maximum"] == 2**63 - 1
    assert components["LineInputRequest"]["properties"]["quantity"]["maximum"] == 1_000_000


def test_currencies_are_documented_as_the_accepted_list(schema):
    currencies = schema["components"]["schemas"]["CurrencyEnum"]["enum"]
    assert {"CNY", "HKD", "USD", "EUR", "JPY", "GBP"} <= set(currencies)
    assert "ABC" not in currencies
