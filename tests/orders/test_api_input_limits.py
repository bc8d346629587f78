"""What the order endpoints refuse because it cannot be stored: each a 400 naming the input, never a 500.

Deep JSON, unpaired surrogates, times out of range or without an offset, unknown currencies,
money that is not a plain decimal string, sums that overflow the stored totals, integers
beyond their columns. The refused write stores nothing; the answers' times are RFC 3339.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from apps.common.errors import DomainError
from apps.orders import services
from apps.orders.models import Order, OrderLine, Payment, Shipment, StockLevel, TrackingEvent
from tests.orders.payloads import order_body

pytestmark = pytest.mark.django_db

MAX_MONEY = "9999999999.99"
# RFC 3339 date-time: an offset of whole minutes, or Z.
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _refused(response, field: str, code: str = "invalid") -> dict:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code, body
    assert field in body["fields"], body
    return body


@pytest.fixture
def order_id(api):
    response = api.post("/api/v1/orders/", order_body(), format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.fixture
def shipment_id(api, order_id):
    body = {
        "order": order_id,
        "carrier": "SF",
        "tracking_number": "SF123456789012",
        "shipped_at": "2026-11-25T09:00:00+08:00",
        "lines": [{"sku": "SKU-1", "quantity": 2}],
    }
    response = api.post("/api/v1/shipments/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _payment(order_id: int, **overrides) -> dict:
    return {
        "order": order_id,
        "transaction_id": "ALI-LIMITS-1",
        "amount": "259.00",
        "status": "succeeded",
        "paid_at": "2026-11-24T10:02:00+08:00",
        **overrides,
    }


# Every time input of the order endpoints: (name, how to send a value for it, the path it is named by).
def _send_order(api, ids, value, field):
    return api.post("/api/v1/orders/", order_body(**{field: value}), format="json")


def _send_patch(api, ids, value, field):
    return api.patch(f"/api/v1/orders/{ids['order']}/", {field: value}, format="json")


def _send_bulk(api, ids, value, field):
    response = api.post("/api/v1/orders/bulk/", {"orders": [order_body(**{field: value})]}, format="json")
    assert response.status_code == 200, response.content
    (result,) = response.json()["results"]
    return result


def _send_payment(api, ids, value, field):
    return api.post("/api/v1/payments/", _payment(ids["order"], paid_at=value), format="json")


def _send_shipment(api, ids, value, field):
    lines = [{"sku": "SKU-1", "quantity": 1}]
    body = {"order": ids["order"], "carrier": "YTO", "tracking_number": "YT1", "shipped_at": value, "lines": lines}
    return api.post("/api/v1/shipments/", body, format="json")


def _send_event(api, ids, value, field):
    return api.post(
        f"/api/v1/shipments/{ids['shipment']}/events/", {"occurred_at": value, "status": "in_transit"}, format="json"
    )


def _send_reconciliation(api, ids, value, field):
    body = {"channel": "taobao", "orders": [{"external_id": "R-1", "total_amount": "1.00", "placed_at": value}]}
    return api.post("/api/v1/reconciliations/", body, format="json")


TIME_INPUTS = [
    ("order.placed_at", _send_order, "placed_at", "placed_at"),
    ("order.paid_at", _send_order, "paid_at", "paid_at"),
    ("order.promised_ship_by", _send_order, "promised_ship_by", "promised_ship_by"),
    ("patch.placed_at", _send_patch, "placed_at", "placed_at"),
    ("bulk.paid_at", _send_bulk, "paid_at", "paid_at"),
    ("payment.paid_at", _send_payment, "paid_at", "paid_at"),
    ("shipment.shipped_at", _send_shipment, "shipped_at", "shipped_at"),
    ("event.occurred_at", _send_event, "occurred_at", "occurred_at"),
    ("reconciliation.placed_at", _send_reconciliation, "placed_at", "orders.0.placed_at"),
]


def _assert_refused_anywhere(response_or_result, path: str, fragment: str) -> None:
    if isinstance(response_or_result, dict):  # a bulk item's own result
        assert response_or_result["status"] == 400, response_or_result
        messages = response_or_result["fields"][path]
    else:
        messages = _refused(response_or_result, path)["fields"][path]
    assert any(fragment in message for message in messages), messages


def _nothing_new_stored(before: dict[str, int]) -> None:
    assert _counts() == before


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Order, Payment, Shipment, TrackingEvent, StockLevel)}


# --- Times: range (defect 3) and offset (defect 5) -----------------------------------------------


@pytest.mark.parametrize(("name", "send", "field", "path"), TIME_INPUTS, ids=[t[0] for t in TIME_INPUTS])
@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+08:00",
        "1999-12-31T23:59:59Z",
        "2000-01-01T07:59:59+08:00",
        "2101-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-12:00",
    ],
)
def test_a_time_outside_2000_to_2100_is_refused_naming_the_field(
    api, order_id, shipment_id, name, send, field, path, value
):
    """Placeholder years (0001, 9999) and anything outside 2000-01-01Z..2100-12-31Z are refused, stored nowhere."""
    before = _counts()
    _assert_refused_anywhere(send(api, {"order": order_id, "shipment": shipment_id}, value, field), path, "2000-01-01")
    _nothing_new_stored(before)
    assert not Order.objects.exclude(pk=order_id).exists()
    assert Order.objects.get(pk=order_id).placed_at.year == 2026


@pytest.mark.parametrize(("name", "send", "field", "path"), TIME_INPUTS, ids=[t[0] for t in TIME_INPUTS])
@pytest.mark.parametrize("value", ["2026-11-24T10:00:00", "2026-11-24 10:00:00", "2026-11-24T10:00", "2026-11-24"])
def test_a_time_without_a_utc_offset_is_refused_naming_the_field(
    api, order_id, shipment_id, name, send, field, path, value
):
    """Which zone a time without an offset meant is a guess: the API refuses it instead of guessing."""
    before = _counts()
    _assert_refused_anywhere(send(api, {"order": order_id, "shipment": shipment_id}, value, field), path, "UTC offset")
    _nothing_new_stored(before)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("2000-01-01T00:00:00Z", datetime(2000, 1, 1, tzinfo=UTC)),
        ("2000-01-01T08:00:00+08:00", datetime(2000, 1, 1, tzinfo=UTC)),
        ("2100-12-31T23:59:59Z", datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("2101-01-01T07:59:59+08:00", datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_the_ends_of_the_time_range_are_accepted(api, value, stored):
    response = api.post("/api/v1/orders/", order_body(placed_at=value), format="json")
    assert response.status_code == 201, response.content
    assert Order.objects.get(pk=response.json()["id"]).placed_at == stored


def test_forms_and_files_without_a_request_read_a_time_without_offset_in_the_site_zone():
    """The same serializer without a request (admin forms, imports) reads naive times in TIME_ZONE, in range."""
    from apps.orders.api import OrderInput

    serializer = OrderInput(data=order_body(placed_at="2026-11-24 10:00:00"))
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["placed_at"] == datetime(2026, 11, 24, 2, tzinfo=UTC)
    out_of_range = OrderInput(data=order_body(placed_at="0001-01-01 00:00:00"))
    assert not out_of_range.is_valid()
    assert "placed_at" in out_of_range.errors


# --- Answers are RFC 3339 (defect 9) ---------------------------------------------------------------


def test_answer_times_are_in_the_site_zone_with_a_whole_minute_offset(api, order_id):
    body = api.get(f"/api/v1/orders/{order_id}/").json()
    assert body["placed_at"] == "2026-11-24T10:00:00+08:00"
    for key in ("placed_at", "paid_at", "status_changed_at", "created_at", "updated_at"):
        assert RFC3339.match(body[key]), (key, body[key])


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        # Asia/Shanghai was on local mean time (+08:05:43) before 1901: not writable in RFC 3339.
        (datetime(1900, 1, 1, tzinfo=UTC), "1900-01-01T00:00:00Z"),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00Z"),
        # The site's zone would be past year 9999.
        (datetime(9999, 12, 31, 23, 0, tzinfo=UTC), "9999-12-31T23:00:00Z"),
    ],
)
def test_a_stored_time_the_site_zone_cannot_write_in_rfc_3339_is_shown_in_utc(api, order_id, stored, shown):
    """Rows stored before the range existed (written around the API) still read back as RFC 3339."""
    Order.objects.filter(pk=order_id).update(placed_at=stored, promised_ship_by=stored)
    response = api.get(f"/api/v1/orders/{order_id}/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["placed_at"], body["promised_ship_by"]) == (shown, shown)
    listed = api.get("/api/v1/orders/").json()["results"]
    assert next(item for item in listed if item["id"] == order_id)["placed_at"] == shown


# --- Nesting depth and unpaired surrogates (defect 2) ----------------------------------------------


def _nested(depth: int, leaf=1):
    value = leaf
    for _level in range(depth):
        value = [value]
    return value


def _post_raw(api, url: str, text: str):
    return api.generic("POST", url, text.encode("utf-8"), content_type="application/json")


@pytest.mark.parametrize("url", ["/api/v1/orders/", "/api/v1/orders/bulk/", "/api/v1/payments/"])
def test_a_body_nested_a_thousand_levels_deep_is_a_400(api, url):
    response = _post_raw(api, url, "[" * 1000 + "]" * 1000)
    body = _refused(response, "0." * 31 + "0", code="parse_error")
    assert "32 levels" in body["message"]


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_custom_data_nested_far_too_deep_is_a_400_and_stores_nothing(api, depth):
    text = json.dumps(order_body(data={"x": "PLACEHOLDER"})).replace('"PLACEHOLDER"', "[" * depth + "]" * depth)
    response = _post_raw(api, "/api/v1/orders/", text)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "parse_error"
    assert not Order.objects.exists()


def test_a_far_too_deep_body_is_named_past_brackets_and_escaped_quotes_inside_strings(api):
    """Too deep for the decoder: the path is read from the text, where strings may hold [ { and \\"."""
    key = 'k"[{\\'
    body = order_body(data={"note": '[[{"\\', "list": ["a,b", "]"], key: "PLACEHOLDER"})
    text = json.dumps(body).replace('"PLACEHOLDER"', "[" * 5000 + "]" * 5000)
    response = _post_raw(api, "/api/v1/orders/", text)
    _refused(response, "data." + key + ".0" * 30, code="parse_error")


def test_nesting_up_to_the_limit_is_accepted_and_one_level_more_is_named(api, settings):
    settings.ORDERGUARD_MAX_JSON_DEPTH = 6
    # The order is level 1, data level 2: four more lists reach level 6.
    fits = api.post("/api/v1/orders/", order_body(data={"x": _nested(4)}), format="json")
    assert fits.status_code == 201, fits.content
    assert Order.objects.get(pk=fits.json()["id"]).data == {"x": _nested(4)}
    deeper = api.post("/api/v1/orders/", order_body(data={"x": _nested(5)}), format="json")
    _refused(deeper, "data.x.0.0.0.0", code="parse_error")


def test_a_bulk_item_too_deep_refuses_the_request_before_any_order_is_stored(api):
    items = [order_body(), order_body(data={"x": _nested(40)})]
    response = api.post("/api/v1/orders/bulk/", {"orders": items}, format="json")
    _refused(response, "orders.1.data.x" + ".0" * 28, code="parse_error")
    assert not Order.objects.exists()


def test_an_unpaired_surrogate_in_a_string_is_a_400_naming_it(api):
    text = json.dumps(order_body(customer={"external_id": "C-S", "name": "PLACEHOLDER"}))
    response = _post_raw(api, "/api/v1/orders/", text.replace('"PLACEHOLDER"', '"\\ud800"'))
    _refused(response, "customer.name", code="parse_error")
    assert not Order.objects.exists()


def test_a_surrogate_pair_is_text_and_stored(api):
    text = json.dumps(order_body(customer={"external_id": "C-S", "name": "PLACEHOLDER"}))
    response = _post_raw(api, "/api/v1/orders/", text.replace('"PLACEHOLDER"', '"\\ud83d\\ude00"'))
    assert response.status_code == 201, response.content
    assert Order.objects.get().customer.name == "😀"


def test_custom_data_may_hold_nulls_and_nesting_within_the_limit(api):
    data = {"note": None, "items": [None, {"a": None}], "deep": {"x": {"y": [1, "二"]}}}
    response = api.post("/api/v1/orders/", order_body(data=data), format="json")
    assert response.status_code == 201, response.content
    assert Order.objects.get().data == data


def test_a_nul_character_in_custom_data_is_a_400(api):
    """PostgreSQL's jsonb cannot hold \\u0000: refused on every database alike."""
    for data in ({"note": "a\x00b"}, {"a\x00": 1}, {"x": [{"y": "\x00"}]}):
        response = api.post("/api/v1/orders/", order_body(data=data), format="json")
        assert response.status_code == 400, response.content
        assert any(path.startswith("data") for path in response.json()["fields"]), response.json()
    assert not Order.objects.exists()


# --- Currencies and money (defect 4) ---------------------------------------------------------------


@pytest.mark.parametrize("currency", ["ABC", "XXX", "usd", "RMB", "CN", "CNYY", "", 156, None])
def test_a_currency_the_platform_does_not_take_is_refused(api, order_id, currency):
    _refused(api.post("/api/v1/orders/", order_body(currency=currency), format="json"), "currency")
    _refused(api.post("/api/v1/payments/", _payment(order_id, currency=currency), format="json"), "currency")
    product = {"name": "杯", "list_price": "1.00", "currency": currency}
    _refused(api.put("/api/v1/products/SKU-C/", product, format="json"), "currency")
    assert Order.objects.count() == 1 and not Payment.objects.exists()


@pytest.mark.parametrize("currency", ["CNY", "HKD", "USD", "EUR", "JPY", "GBP"])
def test_the_platforms_currencies_are_accepted(api, currency):
    response = api.post("/api/v1/orders/", order_body(currency=currency), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["currency"] == currency


BAD_MONEY = ["1e5", "1E5", "1e-2", "NaN", "nan", "Infinity", "-Infinity", "+1.00", " 1.00", "1.00 ", "1_000"]
BAD_MONEY += ["0x10", "1.", ".5", "", "-", "12,50", "١٢٣.٠٠", "1.005", "12345678901.00", 129.5, 100, True, None, [1]]


def _money_inputs(order_id: int):
    yield "total_amount", "/api/v1/orders/", lambda v: order_body(total_amount=v), "post"
    yield "shipping_fee", "/api/v1/orders/", lambda v: order_body(shipping_fee=v), "post"
    yield "discount", "/api/v1/orders/", lambda v: order_body(discount=v), "post"
    line = {"sku": "A", "quantity": 1}
    yield "lines.0.unit_price", "/api/v1/orders/", lambda v: order_body(lines=[{**line, "unit_price": v}]), "post"
    yield "amount", "/api/v1/payments/", lambda v: _payment(order_id, amount=v), "post"
    yield "list_price", "/api/v1/products/SKU-M/", lambda v: {"name": "杯", "list_price": v}, "put"
    recon = {"external_id": "R-1", "placed_at": "2026-11-24T10:00:00Z"}
    yield (
        "orders.0.total_amount",
        "/api/v1/reconciliations/",
        lambda v: {
            "channel": "taobao",
            "orders": [{**recon, "total_amount": v}],
        },
        "post",
    )


@pytest.mark.parametrize("value", BAD_MONEY, ids=[repr(v) for v in BAD_MONEY])
def test_money_that_is_not_a_plain_decimal_string_is_refused_everywhere(api, order_id, value):
    before = _counts()
    for path, url, body, method in _money_inputs(order_id):
        response = getattr(api, method)(url, body(value), format="json")
        _refused(response, path)
    _nothing_new_stored(before)


def test_negative_money_is_refused_where_the_column_is_non_negative(api, order_id):
    for path, url, body, method in _money_inputs(order_id):
        messages = _refused(getattr(api, method)(url, body("-1.00"), format="json"), path)["fields"][path]
        assert messages == ["Ensure this value is greater than or equal to 0."]


@pytest.mark.parametrize(("value", "stored"), [("0", "0.00"), ("7", "7.00"), ("12.5", "12.50"), (MAX_MONEY, MAX_MONEY)])
def test_plain_decimal_money_is_accepted(api, value, stored):
    response = api.post("/api/v1/orders/", order_body(total_amount=value), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["total_amount"] == stored
    assert Order.objects.get().total_amount == Decimal(stored)


def test_an_exponent_gets_a_message_saying_how_to_write_money(api):
    body = _refused(api.post("/api/v1/orders/", order_body(total_amount="1e5"), format="json"), "total_amount")
    assert body["fields"]["total_amount"] == [
        'Write money as a plain decimal string such as "129.50": digits and an optional point.'
    ]
    number = _refused(api.post("/api/v1/orders/", order_body(total_amount=129.5), format="json"), "total_amount")
    assert "not as a JSON number" in number["fields"]["total_amount"][0]


# --- Sums that would overflow the stored totals (defect 6) -----------------------------------------


def test_a_line_whose_total_overflows_the_lines_total_is_refused(api):
    lines = [{"sku": "A", "quantity": 2, "unit_price": MAX_MONEY}]
    body = _refused(api.post("/api/v1/orders/", order_body(lines=lines), format="json"), "lines.0.unit_price")
    assert "19999999999.98" in body["fields"]["lines.0.unit_price"][0]
    assert not Order.objects.exists() and not OrderLine.objects.exists()


def test_lines_that_add_up_past_the_lines_total_are_refused_on_lines(api):
    lines = [{"sku": "A", "quantity": 1, "unit_price": MAX_MONEY}, {"sku": "B", "quantity": 1, "unit_price": "0.01"}]
    _refused(api.post("/api/v1/orders/", order_body(lines=lines), format="json"), "lines")
    assert not Order.objects.exists()


def test_lines_adding_up_to_exactly_the_largest_amount_are_stored(api):
    lines = [
        {"sku": "A", "quantity": 1, "unit_price": "9999999999.98"},
        {"sku": "B", "quantity": 1, "unit_price": "0.01"},
    ]
    response = api.post("/api/v1/orders/", order_body(lines=lines), format="json")
    assert response.status_code == 201, response.content
    assert Order.objects.get().lines_total == Decimal(MAX_MONEY)


def test_a_patch_with_overflowing_lines_is_refused_and_the_order_keeps_its_lines(api, order_id):
    lines = [{"sku": "A", "quantity": 3, "unit_price": MAX_MONEY}]
    _refused(api.patch(f"/api/v1/orders/{order_id}/", {"lines": lines}, format="json"), "lines.0.unit_price")
    order = Order.objects.get(pk=order_id)
    assert order.lines_total == Decimal("259.00")
    assert list(order.lines.values_list("sku", "quantity")) == [("SKU-1", 2)]


def test_in_bulk_an_overflowing_order_fails_alone_and_the_good_ones_are_created(api):
    good = [order_body(), order_body()]
    bad = order_body(lines=[{"sku": "A", "quantity": 2, "unit_price": MAX_MONEY}])
    response = api.post("/api/v1/orders/bulk/", {"orders": [good[0], bad, good[1]]}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["existing"], body["failed"]) == (2, 0, 1)
    assert [item["status"] for item in body["results"]] == [201, 400, 201]
    assert "lines.0.unit_price" in body["results"][1]["fields"]
    assert sorted(Order.objects.values_list("external_id", flat=True)) == sorted(o["external_id"] for o in good)


def test_a_second_payment_that_overflows_the_paid_total_is_refused_on_amount(api, order_id):
    first = api.post("/api/v1/payments/", _payment(order_id, amount=MAX_MONEY), format="json")
    assert first.status_code == 201, first.content
    second = api.post(
        "/api/v1/payments/", _payment(order_id, transaction_id="ALI-LIMITS-2", amount="0.01"), format="json"
    )
    _refused(second, "amount")
    assert list(Payment.objects.values_list("transaction_id", flat=True)) == ["ALI-LIMITS-1"]
    assert Order.objects.get(pk=order_id).paid_total == Decimal(MAX_MONEY)


def test_a_pending_payment_may_exceed_but_not_turn_succeeded_past_the_paid_total(api, order_id):
    api.post("/api/v1/payments/", _payment(order_id, amount=MAX_MONEY), format="json")
    pending = _payment(order_id, transaction_id="ALI-LIMITS-2", amount="5.00", status="pending")
    assert api.post("/api/v1/payments/", pending, format="json").status_code == 201
    _refused(api.post("/api/v1/payments/", {**pending, "status": "succeeded"}, format="json"), "amount")
    assert Payment.objects.get(transaction_id="ALI-LIMITS-2").status == "pending"
    # Refunding the first makes room: the second may succeed now.
    assert (
        api.post(
            "/api/v1/payments/", _payment(order_id, amount=MAX_MONEY, status="refunded"), format="json"
        ).status_code
        == 200
    )
    assert api.post("/api/v1/payments/", {**pending, "status": "succeeded"}, format="json").status_code == 200
    assert Order.objects.get(pk=order_id).paid_total == Decimal("5.00")


def test_the_payment_service_refuses_a_paid_total_that_would_not_fit(order_id):
    services.payment_record(order_id=order_id, transaction_id="T-1", amount=Decimal(MAX_MONEY), status="succeeded")
    with pytest.raises(DomainError) as refused:
        services.payment_record(order_id=order_id, transaction_id="T-2", amount=Decimal("1.00"), status="succeeded")
    assert (refused.value.code, refused.value.field, refused.value.status_code) == ("invalid", "amount", 400)
    assert Payment.objects.count() == 1


# --- Integers beyond their columns (defect 7) ------------------------------------------------------


@pytest.mark.parametrize("value", [2**31, 2**63, 2**64, 10**30])
@pytest.mark.parametrize("field", ["on_hand", "reserved"])
def test_stock_beyond_the_column_is_refused_naming_the_field(api, field, value):
    body = {"on_hand": 5, "reserved": 0, field: value}
    _refused(api.put("/api/v1/inventory/SKU-1/", body, format="json"), field)
    assert not StockLevel.objects.exists()


def test_the_largest_stock_the_column_holds_is_stored(api):
    response = api.put("/api/v1/inventory/SKU-1/", {"on_hand": 2**31 - 1, "reserved": 2**31 - 1}, format="json")
    assert response.status_code == 201, response.content
    assert StockLevel.objects.get().on_hand == 2**31 - 1


@pytest.mark.parametrize("value", [1_000_001, 2**31, 2**63, 10**30])
def test_line_and_shipment_quantities_beyond_their_cap_are_refused(api, order_id, value):
    lines = [{"sku": "A", "quantity": value, "unit_price": "1.00"}]
    _refused(api.post("/api/v1/orders/", order_body(lines=lines), format="json"), "lines.0.quantity")
    shipment = {"order": order_id, "carrier": "SF", "tracking_number": "SF1", "shipped_at": "2026-11-25T09:00:00Z"}
    shipment["lines"] = [{"sku": "SKU-1", "quantity": value}]
    _refused(api.post("/api/v1/shipments/", shipment, format="json"), "lines.0.quantity")
    assert Order.objects.count() == 1 and not Shipment.objects.exists()


@pytest.mark.parametrize("value", [2**63, 2**64, 10**30])
def test_an_order_reference_beyond_the_id_column_is_refused(api, value):
    _refused(api.post("/api/v1/payments/", _payment(value), format="json"), "order")
    shipment = {"order": value, "carrier": "SF", "tracking_number": "", "shipped_at": "2026-11-25T09:00:00Z"}
    shipment["lines"] = [{"sku": "SKU-1", "quantity": 1}]
    _refused(api.post("/api/v1/shipments/", shipment, format="json"), "order")


@pytest.mark.parametrize("path", ["/api/v1/orders/{}/", "/api/v1/payments/{}/", "/api/v1/shipments/{}/"])
def test_a_path_id_beyond_the_id_column_is_a_json_404(api, path):
    response = api.get(path.format(2**64))
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("url", ["/api/v1/products/A%00B/", "/api/v1/inventory/A%00B/"])
def test_a_sku_with_a_nul_is_a_404_to_read_and_a_400_to_write(api, url):
    assert api.get(url).status_code == 404
    body = {"name": "杯", "list_price": "1.00"} if "products" in url else {"on_hand": 1}
    _refused(api.put(url, body, format="json"), "sku")
