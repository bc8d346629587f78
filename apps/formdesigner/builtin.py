"""The forms every database starts with: the (empty) order form and one step form per default
handling step of SPEC §3's grading table. Installed by migration 0003 and published as version 1
of each step form; admins change them in the designer like any other form.
"""

ORDER_FORM_KEY = "order"


def _text(zh: str, en: str) -> dict[str, str]:
    return {"zh-hans": zh, "en": en}


ORDER_FORM = {
    "key": ORDER_FORM_KEY,
    "kind": "order",
    "name": _text("订单自定义字段", "Order custom fields"),
    "fields": [],
}

STEP_FORMS = [
    {
        "key": "payment-check",
        "kind": "step",
        "name": _text("付款核查", "Payment check"),
        "fields": [
            {"key": "payment_found", "type": "boolean", "label": _text("找到付款", "Payment found"), "required": True},
            {
                "key": "bank_reference",
                "type": "text",
                "label": _text("银行流水号", "Bank reference"),
                "max_length": 64,
                "required": True,
                "visible_when": {"field": "payment_found", "op": "eq", "value": True},
            },
            {"key": "note", "type": "textarea", "label": _text("备注", "Note"), "max_length": 1000},
        ],
    },
    {
        "key": "customer-callback",
        "kind": "step",
        "name": _text("客户回访", "Customer call-back"),
        "fields": [
            {"key": "reached", "type": "boolean", "label": _text("联系上客户", "Customer reached"), "required": True},
            {
                "key": "corrected_phone",
                "type": "phone",
                "label": _text("更正后的电话", "Corrected phone"),
                "visible_when": {"field": "reached", "op": "eq", "value": True},
            },
            {
                "key": "corrected_address",
                "type": "textarea",
                "label": _text("更正后的地址", "Corrected address"),
                "max_length": 255,
                "visible_when": {"field": "reached", "op": "eq", "value": True},
            },
            {"key": "note", "type": "textarea", "label": _text("备注", "Note"), "max_length": 1000},
        ],
    },
    {
        "key": "carrier-liaison",
        "kind": "step",
        "name": _text("承运商联络", "Carrier liaison"),
        "fields": [
            {
                "key": "carrier_ticket",
                "type": "text",
                "label": _text("承运商工单号", "Carrier ticket no."),
                "max_length": 64,
                "required": True,
            },
            {"key": "new_promised_date", "type": "date", "label": _text("新的承诺日期", "New promised date")},
            {"key": "note", "type": "textarea", "label": _text("备注", "Note"), "max_length": 1000},
        ],
    },
    {
        "key": "replenishment",
        "kind": "step",
        "name": _text("补货", "Replenishment"),
        "fields": [
            {
                "key": "replenishment_quantity",
                "type": "integer",
                "label": _text("补货数量", "Replenishment quantity"),
                "min": 1,
                "max": 1000000,
                "required": True,
            },
            {"key": "expected_date", "type": "date", "label": _text("预计到货日期", "Expected date"), "required": True},
            {"key": "note", "type": "textarea", "label": _text("备注", "Note"), "max_length": 1000},
        ],
    },
]
