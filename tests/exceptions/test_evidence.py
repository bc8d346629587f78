"""An exception's summary, evidence and audit trail read in the active language (zh-hans or en),
rendered at read time from the rule and the stored details; the API follows the request's language."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from apps.exceptions.evidence import EvidenceItem, event_text, exception_evidence, exception_summary_text, money_text
from apps.exceptions.models import ExceptionEvent, OrderException
from apps.exceptions.services import exceptions_sync, missing_order_sync
from apps.rules.models import ExceptionRule
from tests.orders.factories import OrderFactory
from tests.rules.test_builtin_rules import ago, catalogue, clean_order, pay_order, post  # noqa: F401

pytestmark = pytest.mark.django_db


def in_language(language: str, render, *args):
    with translation.override(language):
        return render(*args)


def shortage(api) -> OrderException:
    api.put("/api/v1/inventory/SKU-9/", {"on_hand": 5, "reserved": 3}, format="json")
    line = {"sku": "SKU-9", "name": "猫粮", "quantity": 5, "unit_price": "10.00"}
    order_id = post(api, clean_order(status="reviewed", total_amount="50.00", lines=[line]))
    return OrderException.objects.select_related("rule").get(order_id=order_id, rule__code="STOCK_SHORTAGE")


def test_the_summary_names_the_evidence_in_either_language(api):
    exception = shortage(api)
    assert in_language("en", exception_summary_text, exception) == (
        "Stock shortage: SKU-9 short by 3 (ordered 5, available 2)"
    )
    assert in_language("zh-hans", exception_summary_text, exception) == "库存不足：SKU-9 缺货 3 件（订购 5，可用 2）"


def test_the_api_summary_follows_the_request_language(api):
    exception = shortage(api)
    english = api.get("/api/v1/exceptions/", {"order": exception.order_id}, HTTP_ACCEPT_LANGUAGE="en").json()
    chinese = api.get(f"/api/v1/exceptions/{exception.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert english["results"][0]["summary"] == "Stock shortage: SKU-9 short by 3 (ordered 5, available 2)"
    assert chinese["summary"] == "库存不足：SKU-9 缺货 3 件（订购 5，可用 2）"
    assert chinese["details"]["lines"][0]["short"] == 3


def test_the_list_renders_summaries_without_a_query_per_exception(api, django_assert_max_num_queries):
    for _ in range(3):
        shortage(api)
    with django_assert_max_num_queries(12):
        response = api.get("/api/v1/exceptions/", HTTP_ACCEPT_LANGUAGE="en")
    assert len(response.json()["results"]) >= 3


def test_the_stored_summary_is_the_sites_language_for_search(api, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    exception = shortage(api)
    assert exception.summary == "库存不足：SKU-9 缺货 3 件（订购 5，可用 2）"


def test_evidence_items_label_each_fact_and_format_money(api):
    line = {"sku": "SKU-X", "name": "礼盒", "quantity": 1, "unit_price": "1234.50"}
    order_id = post(api, clean_order(total_amount="1234.50", lines=[line]), pay=None)
    pay_order(api, order_id, "1000.00")
    exception = OrderException.objects.select_related("rule").get(
        order_id=order_id, rule__code="PAYMENT_STATUS_MISMATCH"
    )
    assert in_language("en", exception_evidence, exception) == [
        EvidenceItem("Status", "Paid"),
        EvidenceItem("Total amount", "¥1,234.50"),
        EvidenceItem("Paid total (succeeded payments)", "¥1,000.00"),
        EvidenceItem("Missing", "¥234.50"),
    ]
    assert in_language("zh-hans", exception_evidence, exception) == [
        EvidenceItem("状态", "已付款"),
        EvidenceItem("订单总额", "¥1,234.50"),
        EvidenceItem("已付总额（成功的支付）", "¥1,000.00"),
        EvidenceItem("缺少", "¥234.50"),
    ]


def test_the_earlier_duplicate_is_linked(api):
    customer = {"name": "赵六", "phone": "13911112222", "email": ""}
    first = post(api, clean_order(customer=customer, placed_at=ago(minutes=40), paid_at=ago(minutes=39)))
    later = post(api, clean_order(customer=customer, placed_at=ago(minutes=30), paid_at=ago(minutes=29)))
    exception = OrderException.objects.get(order_id=later, rule__code="DUPLICATE_ORDER")
    item = in_language("en", exception_evidence, exception)[0]
    assert (item.label, item.order_id) == ("Earlier order", first)
    assert item.value == api.get(f"/api/v1/orders/{first}/").json()["external_id"]
    assert item.url == f"/admin/orders/order/{first}/change/"
    assert in_language("en", exception_evidence, exception)[2] == EvidenceItem("Placed after it", "10 min")
    assert in_language("zh-hans", exception_evidence, exception)[2].value == "10 分钟"


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (Decimal("1234.5"), "CNY", "¥1,234.50"),
        ("-12", "CNY", "-¥12.00"),
        ("1000000", "USD", "$1,000,000.00"),
        ("7.1", "XYZ", "XYZ 7.10"),
    ],
)
def test_money_reads_for_people(amount, currency, text):
    assert money_text(amount, currency) == text


def test_large_quantities_read_with_thousands_separators(make_rule):
    rule = ExceptionRule.objects.get(code="STOCK_SHORTAGE")
    order = OrderFactory()
    line = {"line_no": 1, "sku": "SKU-1", "quantity": 15000, "on_hand": 12000, "reserved": 0}
    details = {"lines": [{**line, "available": 12000, "short": 3000}]}
    exceptions_sync(rule=rule, scope_order_ids=[order.pk], matched={order.pk: details})
    exception = OrderException.objects.select_related("rule").get()
    assert in_language("en", exception_summary_text, exception) == (
        "Stock shortage: SKU-1 short by 3,000 (ordered 15,000, available 12,000)"
    )


def test_tracking_evidence_in_both_languages(api):
    order_id = post(api, clean_order(status="reviewed"))
    body = {"order": order_id, "carrier": "SF", "tracking_number": "SF12345", "shipped_at": ago(minutes=1)}
    lines = [{"sku": "SKU-1", "quantity": 2}]
    shipment_id = api.post("/api/v1/shipments/", {**body, "lines": lines}, format="json").json()["id"]
    exception = OrderException.objects.get(order_id=order_id, rule__code="TRACKING_INVALID")
    assert in_language("en", exception_evidence, exception) == [
        EvidenceItem(f"Shipment #{shipment_id}", "Tracking number SF12345 does not fit the format of carrier SF")
    ]
    assert in_language("zh-hans", exception_evidence, exception) == [
        EvidenceItem(f"发货单 #{shipment_id}", "运单号 SF12345 不符合承运商 SF 的格式")
    ]


def test_every_built_in_rule_renders_its_details_as_words(api):
    """No raw JSON and no fallback ``key=value`` facts for any built-in rule's real details."""
    api.put("/api/v1/inventory/SKU-9/", {"on_hand": 1, "reserved": 0}, format="json")
    customer = {"name": "", "phone": "12345", "email": "x@"}
    address = {"province": "浙江省", "city": "南京市", "district": "", "detail": "x路1号"}
    line = {"sku": "SKU-9", "name": "猫粮", "quantity": 5, "unit_price": "1.00"}
    body = clean_order(
        status="paid",
        placed_at=ago(hours=50),
        paid_at=ago(hours=49),
        total_amount="99.00",
        customer=customer,
        shipping_address=address,
        lines=[line, {"sku": "SKU-2", "name": "耳机", "quantity": 1, "unit_price": "5.00"}],
    )
    post(api, body, pay=None)
    codes = set(OrderException.objects.values_list("rule__code", flat=True))
    assert codes >= {
        "STOCK_SHORTAGE",
        "CUSTOMER_INFO_INVALID",
        "ADDRESS_INVALID",
        "SHIPPING_DELAY",
        "PRICE_ANOMALY",
        "AMOUNT_MISMATCH",
        "REVIEW_TIMEOUT",
        "PAYMENT_STATUS_MISMATCH",
    }
    for exception in OrderException.objects.select_related("rule"):
        for language in ("en", "zh-hans"):
            items = in_language(language, exception_evidence, exception)
            summary = in_language(language, exception_summary_text, exception)
            assert items, exception.rule.code
            assert all("{" not in item.value and "=" not in item.value for item in items), items
            assert "=" not in summary and summary.startswith(
                exception.rule.name_en if language == "en" else exception.rule.name
            )


def test_a_custom_rules_evidence_reads_its_fields(make_rule):
    rule = make_rule()
    order = OrderFactory()
    details = {"values": {"total_amount": "259.00", "channel": "taobao", "currency": "CNY"}}
    exceptions_sync(rule=rule, scope_order_ids=[order.pk], matched={order.pk: details})
    exception = OrderException.objects.select_related("rule").get()
    assert in_language("en", exception_evidence, exception) == [
        EvidenceItem("Channel", "Taobao"),
        EvidenceItem("Total amount", "¥259.00"),
        EvidenceItem("Currency", "CNY"),
    ]
    assert in_language("zh-hans", exception_evidence, exception)[1] == EvidenceItem("订单总额", "¥259.00")
    assert in_language("en", exception_summary_text, exception) == (
        f"{rule.name_en}: Channel Taobao; Total amount ¥259.00"
    )


def test_a_custom_rules_rows_read_as_labelled_facts(make_rule):
    rule = make_rule()
    order = OrderFactory()
    details = {
        "values": {"status": "paid"},
        "lines": [{"quantity": 7, "sku": "SKU-9", "line_no": 2}],
        "shipments": [{"shipment_id": 5, "tracking_number.valid_tracking": False, "carrier": "SF"}],
    }
    exceptions_sync(rule=rule, scope_order_ids=[order.pk], matched={order.pk: details})
    exception = OrderException.objects.select_related("rule").get()
    assert in_language("en", exception_evidence, exception) == [
        EvidenceItem("Status", "Paid"),
        EvidenceItem("Order line 1", "Line number: 2, SKU: SKU-9, Quantity: 7"),
        EvidenceItem("Shipment 1", "Shipment: #5, Carrier: SF, Tracking number is valid: No"),
    ]
    assert in_language("zh-hans", exception_evidence, exception)[1] == EvidenceItem(
        "订单行 1", "行号：2，SKU：SKU-9，数量：7"
    )


def test_a_missing_orders_evidence_is_its_key_and_listing():
    rule = ExceptionRule.objects.get(code="MISSING_ORDER")
    missing_order_sync(
        rule=rule,
        channel="tmall",
        external_ids=["TM-9"],
        details={"TM-9": {"total_amount": "88.00", "placed_at": "2026-11-24T02:00:00+00:00"}},
    )
    exception = OrderException.objects.select_related("rule").get()
    assert in_language("en", exception_evidence, exception) == [
        EvidenceItem("Channel", "Tmall"),
        EvidenceItem("External ID", "TM-9"),
        EvidenceItem("Total amount (as listed)", "¥88.00"),
        EvidenceItem("Placed at (as listed)", "2026-11-24 10:00"),
    ]


# --- The audit trail ------------------------------------------------------------------------------


def test_each_event_kind_reads_as_a_sentence_in_either_language(api):
    exception = shortage(api)
    api.put("/api/v1/inventory/SKU-9/", {"on_hand": 5, "reserved": 4}, format="json")
    api.put("/api/v1/inventory/SKU-9/", {"on_hand": 50, "reserved": 4}, format="json")
    events = list(ExceptionEvent.objects.filter(exception=exception).select_related("exception__rule"))
    assert [event.kind for event in events] == ["detected", "redetected", "auto_resolved"]
    assert [in_language("en", event_text, event) for event in events] == [
        "Detected: severity High, routed to Warehouse / purchasing.",
        "Detected again with new evidence (occurrence 2): SKU-9 short by 4 (ordered 5, available 1).",
        "Resolved automatically: the condition no longer holds.",
    ]
    assert [in_language("zh-hans", event_text, event) for event in events] == [
        "识别：严重程度 高，分派至 仓储/采购。",
        "再次识别到新的证据（第 2 次）：SKU-9 缺货 4 件（订购 5，可用 1）。",
        "自动解决：条件已不再成立。",
    ]


def test_a_recurrence_and_a_missing_order_arriving_read_as_such(make_rule):
    rule = make_rule()
    order = OrderFactory()
    exceptions_sync(rule=rule, scope_order_ids=[order.pk], matched={order.pk: {}})
    first = OrderException.objects.get()
    exceptions_sync(rule=rule, scope_order_ids=[order.pk], matched={})
    exceptions_sync(rule=rule, scope_order_ids=[order.pk], matched={order.pk: {}})
    again = OrderException.objects.exclude(pk=first.pk).get()
    detected = again.events.get(kind="detected")
    assert in_language("en", event_text, detected).endswith(f"A recurrence of exception #{first.pk}.")
    arrived = ExceptionEvent(exception=first, at=first.detected_at, kind="auto_resolved", data={"order": order.pk})
    assert in_language("en", event_text, arrived) == (f"Resolved automatically: the order arrived (order #{order.pk}).")
    assert in_language("zh-hans", event_text, arrived) == f"自动解决：订单已到达（订单 #{order.pk}）。"


def test_an_event_kind_it_does_not_know_reads_as_its_label(make_rule):
    rule = make_rule()
    order = OrderFactory()
    exceptions_sync(rule=rule, scope_order_ids=[order.pk], matched={order.pk: {}})
    event = ExceptionEvent(exception=OrderException.objects.get(), kind="escalated", data={"note": "SLA breached"})
    assert in_language("en", event_text, event) == "Escalated: SLA breached"
